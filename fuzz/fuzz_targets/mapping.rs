//! Fuzz target `mapping`: see `plugin/tests/fuzz_support/mod.rs` (shared with the native replay
//! in `plugin/tests/fuzz_regressions.rs`).
#![no_main]

#[path = "../../plugin/tests/fuzz_support/mod.rs"]
mod fuzz_support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::mapping(data));
