#![no_main]
//! `cargo fuzz run frame`: see `confab_fuzz::frame` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::frame(data));
