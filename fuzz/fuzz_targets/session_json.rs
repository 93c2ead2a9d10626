#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| session_views_fuzz::session_json(data));
