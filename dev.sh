#!/usr/bin/env bash
# ado-sync developer entry point. Each command does its own set-up.
#   ./dev.sh demo [--json]   build everything and run the demo (simulated ADO, SQLite file)
#   ./dev.sh test            build the component, then run formatting, lints and every test
#   ./dev.sh component       only build the release component
set -euo pipefail
cd "$(dirname "$0")"

component() {
  rustup target add wasm32-wasip2 >/dev/null
  cargo build -p ado-sync-plugin --release --target wasm32-wasip2
}

case "${1:-}" in
  demo)
    shift
    component
    # The harness is built in the dev profile (its dependencies optimised, see Cargo.toml): it
    # shares the test build and avoids a long fully-LTO release build of wasmtime.
    cargo run -p ado-sync-host --bin ado-sync -- demo "$@"
    ;;
  test)
    component
    rustup component add rustfmt clippy >/dev/null 2>&1 || true
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy -p ado-sync-plugin --target wasm32-wasip2 -- -D warnings
    cargo test --workspace
    ;;
  component)
    component
    ;;
  *)
    echo "usage: ./dev.sh demo [--json] | test | component" >&2
    exit 64
    ;;
esac
