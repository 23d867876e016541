//! Bypasses found by reviewing the scanner as an attacker would (`tests/py/bypasses.py`,
//! `tests/py/bypasses2.py` from a second review):
//! files a real loader uses to run a command, each built where the scanner's reading once
//! differed from the loader's (zip directories, `.npy` headers, joblib array layouts,
//! frames, text sniffing, legacy `torch.save` records, wrappers). Each must be reported at
//! the severity its payload deserves. Needs `python3` (standard library only).

use std::process::Command;

use mlguard_findings::Severity;
use mlguard_pickle::{ScanOptions, scan_bytes};
use serde_json::Value;

#[test]
fn first_review_bypasses_are_caught() {
    check("bypasses.py", 28);
}

#[test]
fn second_review_bypasses_are_caught() {
    check("bypasses2.py", 15);
}

fn check(script: &str, at_least: usize) {
    let out = tempfile::tempdir().expect("tempdir");
    let script = format!("{}/tests/py/{script}", env!("CARGO_MANIFEST_DIR"));
    let run = Command::new("python3").arg(&script).arg(out.path()).output().expect("python3");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).expect("manifest"))
            .expect("json");
    let mut missed = Vec::new();
    let cases = manifest.as_array().expect("cases");
    for case in cases {
        // A case that is a directory to scan is the CLI's (crates/mlguard-cli/tests).
        if case.get("scan").is_some() {
            continue;
        }
        let name = case["file"].as_str().expect("file");
        let expect = match case["expect"].as_str() {
            Some("medium") => Severity::Medium,
            Some("high") => Severity::High,
            _ => Severity::Critical,
        };
        let data = std::fs::read(out.path().join(name)).expect("read");
        let findings = scan_bytes(name, &data, &ScanOptions::default());
        let worst = findings.iter().map(|f| f.severity).max();
        if worst.is_none_or(|w| w < expect) {
            let shown: Vec<_> = findings
                .iter()
                .map(|f| format!("{:?} {} {}", f.severity, f.check, f.message))
                .collect();
            missed.push(format!("{} ({name}, want {expect:?}): {shown:?}", case["generator"]));
        }
    }
    assert!(cases.len() >= at_least, "{}", cases.len());
    assert!(
        missed.is_empty(),
        "{} of {} missed:\n{}",
        missed.len(),
        cases.len(),
        missed.join("\n")
    );
}
