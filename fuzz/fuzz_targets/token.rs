#![no_main]
//! `cargo fuzz run token`: see `confab_fuzz::token` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::token(data));
