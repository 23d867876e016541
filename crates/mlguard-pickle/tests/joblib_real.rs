//! Real joblib files (plain, every compressor, scikit-learn models, every kind of NumPy
//! array joblib writes inline) written by joblib itself: benign ones scan clean, code
//! hidden after an array or inside an object array is found. Runs in the suite's
//! virtualenv (`common::python`).

mod common;

use std::process::Command;

use mlguard_findings::Severity;
use mlguard_pickle::{ScanOptions, scan_bytes};

#[test]
fn real_joblib_files() {
    let python = common::python();
    let out = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/joblib_dump.py");
    let status = Command::new(python).arg(script).arg(out.path()).status().expect("python");
    assert!(status.success(), "joblib_dump.py failed");
    let mut files: Vec<_> = std::fs::read_dir(out.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 14);
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let data = std::fs::read(&path).expect("read");
        let findings = scan_bytes(&name, &data, &ScanOptions::default());
        let worst = findings.iter().map(|f| f.severity).max();
        if name.starts_with("evil_") {
            assert_eq!(worst, Some(Severity::Critical), "{name}: {findings:?}");
            assert!(findings.iter().any(|f| f.value.as_deref() == Some("posix.system")));
        } else {
            assert!(worst.is_none_or(|w| w < Severity::Medium), "{name}: {findings:?}");
        }
    }
}
