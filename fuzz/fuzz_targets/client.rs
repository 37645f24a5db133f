#![no_main]
//! `cargo fuzz run client`: see `confab_fuzz::client` for what it checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| confab_fuzz::client(data));
