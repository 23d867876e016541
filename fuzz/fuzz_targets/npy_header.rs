//! The `.npy` header parser (a Python literal dict) behind a valid magic, so every input
//! reaches it: never panics, and a header it cannot read is never reported clean.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_findings::Severity;
use mlguard_pickle::{ScanOptions, scan_bytes};

fuzz_target!(|data: &[u8]| {
    let Ok(len) = u16::try_from(data.len()) else { return };
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    file.extend(len.to_le_bytes());
    file.extend_from_slice(data);
    let findings = scan_bytes("fuzz.npy", &file, &ScanOptions::default());
    // Without a string literal there is no 'descr' key: numpy refuses the file, and the
    // scanner reports it at medium.
    if !data.iter().any(|b| matches!(b, b'\'' | b'"')) {
        assert!(findings.iter().any(|f| f.severity >= Severity::Medium), "{findings:?}");
    }
});
