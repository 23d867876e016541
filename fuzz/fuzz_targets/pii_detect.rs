//! The personal-data detectors on arbitrary text and the table scan on arbitrary bytes:
//! never panic; spans are in bounds, on character boundaries, ordered and disjoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_data::pii::{ColumnHint, detect, scan_table};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let all = ColumnHint { phone: true, ssn: true, version: false, dob: true, name: true, postal: true };
    for hint in [None, Some(all)] {
        let mut last = 0;
        for s in detect(&text, hint) {
            assert!(s.start >= last && s.start < s.end && s.end <= text.len(), "{s:?}");
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            last = s.end;
        }
    }
    let _ = scan_table(data, b',', &ColumnHint::from_name, |_, _, cell, s| {
        assert!(s.end <= cell.len());
    });
});
