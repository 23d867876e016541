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

#[test]
fn allow_patterns_and_quiet_projects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("proj/src")).expect("mkdir");
    // A Python project with no model file: `import` starts with the INST opcode, which must
    // not make source code a "pickle".
    std::fs::write(
        d.join("proj/src/train.py"),
        "import os\nimport pickle\n\ndef f():\n    return 1\n",
    )
    .expect("write");
    std::fs::write(d.join("proj/README.md"), "# project\n").expect("write");
    std::fs::write(d.join("proj/data.csv"), "a,b\n1,2\n").expect("write");
    let o = run(d, &["scan", "model", "proj"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("3 file(s) scanned: nothing found"), "{out}");
    assert!(!out.contains("warning"), "a project without models is quiet: {out}");
    let o = run(d, &["scan", "model", "proj", "--verbose"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("model.format.not-a-model"));
    // `--allow pkg.*` clears a package's names; a bare module or a malformed pattern is
    // refused with a hint.
    std::fs::write(d.join("custom.pkl"), b"\x80\x02cmylib.nets\nNet\n)R.").expect("write");
    assert_eq!(run(d, &["scan", "model", "custom.pkl"]).status.code(), Some(1));
    assert_eq!(
        run(d, &["scan", "model", "custom.pkl", "--allow", "mylib.*"]).status.code(),
        Some(0)
    );
    assert_eq!(
        run(d, &["scan", "model", "custom.pkl", "--allow", "mylib.nets.Net"]).status.code(),
        Some(0)
    );
    for bad in ["mylib", "*", "my lib.*", "mylib.*.x", ""] {
        let o = run(d, &["scan", "model", "custom.pkl", "--allow", bad]);
        assert_eq!(o.status.code(), Some(2), "--allow {bad:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("--allow"), "{bad:?}");
    }
    // A dangerous name stays dangerous whatever is allowed.
    std::fs::write(d.join("evil.pkl"), b"\x80\x02cposix\nsystem\n(X\x02\x00\x00\x00idtR.")
        .expect("write");
    let o = run(d, &["scan", "model", "evil.pkl", "--allow", "posix.*"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn walks_end_and_say_what_they_skip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("proj/sub")).expect("mkdir");
    // Two symlinks back to the top: the walk must end, each directory read once.
    std::os::unix::fs::symlink(d.join("proj"), d.join("proj/sub/up")).expect("symlink");
    std::os::unix::fs::symlink(d.join("proj"), d.join("proj/sub/up2")).expect("symlink");
    // A FIFO would block a read forever; /dev/zero never ends.
    let fifo = d.join("proj/pipe.pkl");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()));
    std::os::unix::fs::symlink("/dev/zero", d.join("proj/zero.pkl")).expect("symlink");
    std::fs::write(d.join("proj/sub/ok.pkl"), b"\x80\x04}\x8c\x01a\x4b\x01s.").expect("write");
    let o = run(d, &["scan", "model", "proj", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let checks: Vec<_> = j["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or("").to_owned(),
                f["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        checks.iter().filter(|(c, _)| c == "model.file.not-regular").count(),
        2,
        "{checks:?}"
    );
    assert_eq!(j["stats"]["files"], 1, "{j}");
    // Named on the command line, a FIFO is not skipped quietly.
    let o = run(d, &["scan", "model", "proj/pipe.pkl"]);
    assert_eq!(o.status.code(), Some(1));
    // An unzipped Keras model: its config.json names a Lambda layer.
    std::fs::create_dir(d.join("model_dir")).expect("mkdir");
    std::fs::write(
        d.join("model_dir/config.json"),
        br#"{"class_name": "Functional", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l"}}]}}"#,
    )
    .expect("write");
    let o = run(d, &["scan", "model", "model_dir"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("model.keras.lambda"));
}
