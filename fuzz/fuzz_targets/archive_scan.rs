//! The zip walker on arbitrary bytes behind a zip signature (so every input takes the
//! archive path): never panics, never decompresses past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_pickle::{ScanOptions, scan_bytes};

fuzz_target!(|data: &[u8]| {
    let mut file = b"PK\x03\x04".to_vec();
    file.extend_from_slice(data);
    let _ = scan_bytes("fuzz.zip", &file, &ScanOptions::default());
    let mut tail = data.to_vec();
    tail.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00\x2e\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    let _ = scan_bytes("fuzz.zip", &tail, &ScanOptions::default());
});
