#!/usr/bin/env bash
# Run every fuzz target for a bounded time, one after the other, on one core.
#   fuzz/run.sh [SECONDS] [TARGET...]     (default: 60 seconds each, all targets)
# Needs the nightly toolchain; installs cargo-fuzz when it is missing. Not part of ./dev.sh test.
# New corpus entries go to fuzz/corpus/<target>/ (ignored by git) next to the committed seeds in
# fuzz/seeds/<target>/; a failing input is written to fuzz/artifacts/<target>/ and stops the run:
# fix it, then keep the input as a regression (plugin/tests/fuzz-regressions/<target>/).
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(webhook mapping ado_responses)
fi

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# Release build with debug assertions and overflow checks (cargo-fuzz's default); no sanitizer:
# the plugin is safe Rust, and AddressSanitizer would only slow the search down.
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s"
  cargo +nightly fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="dict/$target.dict" -print_final_stats=1
done
