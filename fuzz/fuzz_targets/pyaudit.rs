//! The Python auditor on arbitrary bytes (as source and as a notebook): never panics,
//! every finding points inside the file, invalid UTF-8 is always reported, and the result
//! does not depend on anything but the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_pyaudit::{AuditOptions, audit_bytes, audit_notebook};

fuzz_target!(|data: &[u8]| {
    let opts = AuditOptions::default();
    let findings = audit_bytes("fuzz.py", data, &opts);
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    for f in &findings {
        let line = f.location.line.unwrap_or(1);
        assert!(line >= 1 && line <= lines, "line {line} of {lines}: {f:?}");
    }
    if std::str::from_utf8(data).is_err() {
        assert!(findings.iter().any(|f| f.check == "MLG001"), "invalid UTF-8 reported clean");
    }
    assert_eq!(findings, audit_bytes("fuzz.py", data, &opts), "not deterministic");
    let _ = audit_notebook("fuzz.ipynb", data, &opts);
});
