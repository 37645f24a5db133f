#![no_main]
//! `cargo fuzz run form`: see `confab_fuzz::form` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::form(data));
