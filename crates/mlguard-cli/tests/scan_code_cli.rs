//! `mlguard scan code` end to end.

mod common;

use std::path::Path;

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    common::mlguard(dir, args)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn project(d: &Path) {
    std::fs::create_dir_all(d.join("src/vendor")).expect("mkdir");
    std::fs::write(
        d.join("src/train.py"),
        "import pickle\nimport pandas as pd\n\nmodel = pickle.load(open('m.pkl', 'rb'))\n",
    )
    .expect("write");
    std::fs::write(d.join("src/clean.py"), "def add(a, b):\n    return a + b\n").expect("write");
    std::fs::write(d.join("src/vendor/lib.py"), "import yaml\nyaml.load(t)\n").expect("write");
    std::fs::write(d.join("src/notes.txt"), "pickle.loads(x)\n").expect("write");
    std::fs::write(d.join(".gitignore"), "vendor/\n").expect("write");
}

#[test]
fn exit_codes_text_and_gitignore() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    project(d);
    let o = run(d, &["scan", "code", "src/clean.py"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(d, &["scan", "code", "."]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("error[MLG401] ./src/train.py:4:9: pickle-load"), "{text}");
    assert!(text.contains("    4 | model = pickle.load(open('m.pkl', 'rb'))"), "{text}");
    assert!(text.contains("= help: load a format without code"), "{text}");
    assert!(!text.contains("vendor"), ".gitignore is honoured: {text}");
    assert!(!text.contains("notes.txt"), "only Python files in directories: {text}");
    assert!(text.contains("2 file(s), 6 line(s) scanned"), "{text}");
    // An explicitly named file is read whatever it is called.
    let o = run(d, &["scan", "code", "src/vendor/lib.py"]);
    assert!(stdout(&o).contains("MLG404"));
    let o = run(d, &["scan", "code", "src", "--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(d, &["scan", "code", "src", "--ignore", "MLG4,MLG6"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // Usage errors: exit 2 with a message that says what is wrong.
    let o = run(d, &["scan", "code", "nope.py"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.py: no such file"));
    let o = run(d, &["scan", "code", "src", "--select", "MLG999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown rule \"MLG999\""));
}

#[test]
fn sarif_has_cwe_tags_severity_and_fingerprints() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    project(d);
    let o = run(d, &["scan", "code", "src", "--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("sarif json");
    assert_eq!(s["version"], "2.1.0");
    let run0 = &s["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    let pickle = rules.iter().find(|r| r["id"] == "MLG401").expect("MLG401 rule");
    assert_eq!(pickle["name"], "pickle-load");
    assert_eq!(pickle["properties"]["security-severity"], "8.0");
    let tags = pickle["properties"]["tags"].as_array().expect("tags");
    assert!(tags.iter().any(|t| t == "external/cwe/cwe-502"), "{tags:?}");
    assert!(pickle["help"]["markdown"].as_str().is_some_and(|m| m.contains("## Fix")));
    let result = run0["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "MLG401")
        .expect("result");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 4);
    assert!(
        result["partialFingerprints"]["mlguardFingerprint/v1"]
            .as_str()
            .is_some_and(|f| f.len() == 16)
    );
    let o = run(d, &["scan", "code", "src", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["kind"], "scan-code");
    assert_eq!(j["stats"]["files"], 2);
}

#[test]
fn baseline_round_trip_survives_line_moves() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    project(d);
    let o = run(d, &["scan", "code", "src", "--write-baseline", "baseline.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(d, &["scan", "code", "src", "--baseline", "baseline.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("in the baseline not shown"));
    // Lines moved: still in the baseline. A new flaw: reported.
    std::fs::write(
        d.join("src/train.py"),
        "import pickle\nimport pandas as pd\n\n\n\nmodel = pickle.load(open('m.pkl', 'rb'))\nimport torch\nw = torch.load('w.pt')\n",
    )
    .expect("write");
    let o = run(d, &["scan", "code", "src", "--baseline", "baseline.json"]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("MLG402") && !text.contains("MLG401]"), "{text}");
    std::fs::write(d.join("bad.json"), "{}").expect("write");
    let o = run(d, &["scan", "code", "src", "--baseline", "bad.json"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn pyproject_config_and_explain() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    project(d);
    std::fs::write(d.join("src/seeds.py"), "from sklearn.model_selection import train_test_split\ntrain_test_split(X, y, random_state=0)\n").expect("write");
    let o = run(d, &["scan", "code", "src/seeds.py", "--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(1), "fixed seeds reported by default");
    std::fs::write(d.join("pyproject.toml"), "[project]\nname = \"x\"\n\n[tool.mlguard]\nfixed-seeds = \"allow\"\nignore = [\"MLG601\"]\nexclude = [\"src/train.py\"]\n").expect("write");
    let o = run(d, &["scan", "code", "src", "--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = run(d, &["scan", "code", "src", "--fail-on", "low", "--no-config"]);
    assert_eq!(o.status.code(), Some(1));
    std::fs::write(d.join("pyproject.toml"), "[tool.mlguard]\nfail-onn = \"low\"\n")
        .expect("write");
    let o = run(d, &["scan", "code", "src"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("fail-onn"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(d, &["scan", "code", "--explain", "pickle-load"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(
        text.starts_with(
            "MLG401 pickle-load (C4 unsafe deserialization, high by default, CWE-502)"
        ),
        "{text}"
    );
    assert!(text.contains("## Why is this bad"));
}
