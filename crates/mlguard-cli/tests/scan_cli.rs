//! `mlguard scan model` end to end.

mod common;

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    common::mlguard(dir, args)
}

#[test]
fn scan_model_exit_codes_formats_and_directories() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    std::fs::create_dir(d.join("models")).expect("mkdir");
    std::fs::write(d.join("models/evil.pkl"), b"\x80\x02cposix\nsystem\n(X\x02\x00\x00\x00idtR.")
        .expect("write");
    std::fs::write(d.join("models/ok.pkl"), b"\x80\x04}\x8c\x01a\x4b\x01s.").expect("write");
    std::fs::write(d.join("models/custom.pkl"), b"\x80\x02cmylib\nNet\n)R.").expect("write");
    std::fs::write(d.join("readme.txt"), b"hello").expect("write");

    let o = run(d, &["scan", "model", "models/ok.pkl", "readme.txt"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let o = run(d, &["scan", "model", "models"]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("models/evil.pkl") && text.contains("calls posix.system (GLOBAL at byte 2)"),
        "{text}"
    );
    assert!(text.contains("mylib.Net"), "{text}");
    assert!(text.contains("3 file(s) scanned"), "{text}");
    // --allow clears the custom class; --fail-on critical ignores medium findings.
    let o = run(d, &["scan", "model", "models/custom.pkl", "--allow", "mylib.Net"]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(d, &["scan", "model", "models/custom.pkl", "--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(d, &["scan", "model", "models", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["kind"], "scan-model");
    let findings = j["findings"].as_array().expect("findings");
    let critical =
        findings.iter().find(|f| f["severity"] == "critical").expect("a critical finding");
    assert_eq!(critical["value"], "posix.system");
    assert_eq!(critical["location"]["offset"], 2);
    let o = run(d, &["scan", "model", "models", "--format", "sarif"]);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("sarif");
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "model.pickle.dangerous-call"
        && r["message"]["text"].as_str().is_some_and(|t| t.contains("posix.system"))));
    let o = run(d, &["scan", "model", "missing.pkl"]);
    assert_eq!(o.status.code(), Some(1), "an unreadable file is a finding, not clean");
    let o = run(d, &["scan", "model"]);
    assert_eq!(o.status.code(), Some(2));
}
