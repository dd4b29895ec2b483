#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgeseg_fuzz::beacon(data));
