//! The sealed-artifact header parser on arbitrary bytes: never panics, and a header that
//! parses has a payload offset within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_seal::{Header, MAX_HEADER_BYTES};

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    if let Ok(h) = Header::read(&mut input) {
        assert!(h.payload_offset <= 12 + u64::from(MAX_HEADER_BYTES));
        assert!(h.payload_offset <= data.len() as u64);
        let _ = h.unverified_core();
    }
});
