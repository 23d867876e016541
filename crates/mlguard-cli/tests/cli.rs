//! The `mlguard` binary end to end: arguments in; stdout, stderr and exit code checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mlguard(args: &[&str], dir: &Path) -> Output {
    common::mlguard(dir, args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture { dir: tempfile::tempdir().expect("tempdir") }
    }

    fn file(&self, name: &str, body: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, body).expect("write fixture");
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        mlguard(args, self.dir.path())
    }
}

const SCHEMA: &str = r#"{
  "fields": [
    {"name": "id", "type": "integer"},
    {"name": "email", "type": "string", "format": "email", "pii": "email"},
    {"name": "age", "type": "integer", "constraints": {"required": true, "minimum": 0, "maximum": 120}},
    {"name": "plan", "type": "string", "constraints": {"enum": ["free", "pro"]}}
  ],
  "primaryKey": "id"
}"#;

#[test]
fn validate_valid_file_exits_0() {
    let f = Fixture::new();
    f.file("s.json", SCHEMA);
    f.file("ok.csv", "id,email,age,plan\n1,a@x.org,30,free\n2,b@x.org,41,pro\n");
    let o = f.run(&["data", "validate", "ok.csv", "--schema", "s.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "ok.csv: valid, 2 rows × 4 columns, 0 errors, 0 warnings\n");
}

#[test]
fn validate_invalid_file_exits_1_with_locations_and_masking() {
    let f = Fixture::new();
    f.file("s.json", SCHEMA);
    f.file("bad.csv", "id,email,age,plan\n1,alice@x.org,130,free\n1,bob@,,gold\n");
    let o = f.run(&["data", "validate", "bad.csv", "--schema", "s.json"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains(
            "error[constraint.maximum] bad.csv:2:3 [age]: above the maximum 120 (value: \"130\")"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "error[cell.type] bad.csv:3:2 [email]: not an e-mail address (value: \"xxx@\")"
        ),
        "{out}"
    );
    assert!(out.contains("error[constraint.required] bad.csv:3:3 [age]"), "{out}");
    assert!(out.contains("error[constraint.enum] bad.csv:3:4 [plan]: not one of the allowed values [\"free\", \"pro\"] (value: \"gold\")"), "{out}");
    assert!(out.contains("error[key.primary] bad.csv:3:1 [id]"), "{out}");
    assert!(out.ends_with("bad.csv: invalid, 2 rows × 4 columns, 5 errors, 0 warnings\n"), "{out}");
    assert!(!out.contains("alice") && !out.contains("bob"), "personal data masked: {out}");
}

#[test]
fn validate_json_is_versioned_and_machine_readable() {
    let f = Fixture::new();
    f.file("s.json", SCHEMA);
    f.file(
        "bad.csv",
        "id,email,age,plan\n1,a@x.org,130,free\n2,b@x.org,131,free\n3,c@x.org,132,free\n",
    );
    let o = f.run(&[
        "data",
        "validate",
        "bad.csv",
        "--schema",
        "s.json",
        "--format",
        "json",
        "--max-errors",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json output");
    assert_eq!(v["version"], 1);
    assert_eq!(v["kind"], "validation");
    assert_eq!(v["errors"], 3);
    assert_eq!(v["omitted"], 1);
    assert_eq!(v["stats"]["valid"], false);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["findings"][0]["location"]["line"], 2);
    assert_eq!(v["findings"][0]["location"]["field"], "age");
    assert_eq!(v["counts"][0]["check"], "constraint.maximum");
    assert_eq!(v["counts"][0]["count"], 3);
}

#[test]
fn strict_turns_formula_warnings_into_errors() {
    let f = Fixture::new();
    f.file("s.json", SCHEMA);
    f.file("f.csv", "id,email,age,plan\n1,a@x.org,3,free\n");
    let plain = r#"{"fields": [{"name": "note", "type": "string"}]}"#;
    f.file("p.json", plain);
    f.file("n.csv", "note\n=cmd|' /C calc'!A0\n");
    let o = f.run(&["data", "validate", "n.csv", "--schema", "p.json"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("warning[cell.formula-injection]"));
    let o = f.run(&["data", "validate", "n.csv", "--schema", "p.json", "--strict"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("error[cell.formula-injection]"));
}

#[test]
fn stdin_is_accepted() {
    let f = Fixture::new();
    f.file("s.json", r#"{"fields": [{"name": "a", "type": "integer"}]}"#);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(["data", "validate", "-", "--schema", "s.json"])
        .current_dir(f.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"a\n1\nx\n").expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("<stdin>:3:1 [a]"), "{}", text(&o.stdout));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let f = Fixture::new();
    f.file("s.json", SCHEMA);
    f.file("ok.csv", "id\n1\n");
    let o = f.run(&["data", "validate", "missing.csv", "--schema", "s.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("error: cannot read missing.csv"), "{}", text(&o.stderr));
    let o = f.run(&["data", "validate", "ok.csv"]);
    assert_eq!(o.status.code(), Some(2), "--schema is required");
    assert!(text(&o.stderr).contains("--schema"));
    let o = f.run(&["data", "validate", "ok.csv", "--schema", "nope.json"]);
    assert_eq!(o.status.code(), Some(2));
    f.file("bad.json", r#"{"fields": [{"name": "a", "type": "strng"}]}"#);
    let o = f.run(&["data", "validate", "ok.csv", "--schema", "bad.json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("invalid schema bad.json")
            && err.contains("/fields/0/type")
            && err.contains("\"strng\""),
        "{err}"
    );
    let o = f.run(&["data", "validate", "ok.csv", "--schema", "s.json", "--delimiter", "ab"]);
    assert_eq!(o.status.code(), Some(2));
    let o = f.run(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_and_version_exit_0() {
    let f = Fixture::new();
    let o = f.run(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("demo"));
    let o = f.run(&["data", "validate", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("--max-errors"));
    // Global options only in the help of the commands that use them, in their own sections.
    for (args, vault, server) in [
        (&["data", "validate", "--help"][..], false, false),
        (&["scan", "model", "--help"], false, false),
        (&["data", "ingest", "--help"], true, true),
        (&["seal", "--help"], true, false),
        (&["audit", "show", "--help"], true, true),
        (&["--help"], true, true),
    ] {
        let help = text(&f.run(args).stdout);
        assert_eq!(
            help.contains("Vault options (global):\n  --vault <DIR>"),
            vault,
            "{args:?}: {help}"
        );
        assert_eq!(help.contains("--key-file"), vault, "{args:?}");
        assert_eq!(help.contains("Server client options"), server, "{args:?}");
        assert_eq!(help.contains("--token"), server, "{args:?}");
    }
    // Hidden from the help, still accepted anywhere.
    let o = f.run(&["--vault", "nowhere", "data", "validate", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let o = f.run(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn infer_schema_drafts_a_schema_that_validates_its_file() {
    let f = Fixture::new();
    let mut csv = String::from("customer_id,email,age,segment,churned\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "{i},u{i}@example.org,{},{},{}\n",
            20 + i % 50,
            ["a", "b", "c"][i % 3],
            i % 2
        ));
    }
    f.file("d.csv", &csv);
    let o = f.run(&["data", "infer-schema", "d.csv", "--target", "churned"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).expect("schema json");
    assert_eq!(schema["primaryKey"], "customer_id");
    assert_eq!(schema["fields"][1]["pii"], "email");
    // In a table about people, age is a quasi-identifier (personal data: no range kept).
    assert_eq!(schema["fields"][2]["pii"], "quasi");
    assert_eq!(schema["fields"][2]["constraints"]["maximum"], serde_json::Value::Null);
    assert_eq!(schema["fields"][2]["x-observed"], serde_json::Value::Null);
    assert_eq!(schema["fields"][3]["constraints"]["enum"], serde_json::json!(["a", "b", "c"]));
    assert_eq!(schema["fields"][4]["role"], "target");
    let err = text(&o.stderr);
    assert!(err.contains("personal data: email (email, protect: pseudonymize)"), "{err}");
    assert!(err.contains("target: churned (given;"), "{err}");
    assert_eq!(schema["fields"][1]["protect"], "pseudonymize");

    let o = f.run(&["data", "infer-schema", "d.csv", "-o", "s.json"]);
    assert_eq!(o.status.code(), Some(0));
    let o = f.run(&["data", "infer-schema", "d.csv", "-o", "s.json"]);
    assert_eq!(o.status.code(), Some(2), "no silent overwrite");
    assert!(text(&o.stderr).contains("--force"));
    let o = f.run(&["data", "validate", "d.csv", "--schema", "s.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));

    let o = f.run(&["data", "infer-schema", "d.csv", "--target", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("\"nope\" is not a column"));
}

#[test]
fn demo_catches_every_corruption() {
    let f = Fixture::new();
    let o = f.run(&["demo", "--rows", "500", "--out", "demo"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    assert_eq!(out.lines().filter(|l| l.starts_with("  caught")).count(), 7, "{out}");
    assert!(!out.contains("MISSED"));
    assert!(
        out.contains("user_data.csv: valid, 500 rows × 30 columns, 0 errors, 0 warnings"),
        "{out}"
    );
    // One screen of a laptop terminal (nine steps, two or three lines each).
    assert!(out.lines().count() <= 40, "fits on one screen:\n{out}");
    assert!(out.contains("refused") && out.contains("verified;"), "{out}");
    assert!(out.contains("HMAC pseudonyms") && out.contains("k ≥ 5"), "{out}");
    assert!(out.contains("FLAGGED: 25/25 conflicting pairs"), "the poisoned batch:\n{out}");
    assert!(out.contains("may not train [403]; export without TOTP [401], with [200"), "{out}");
    assert!(
        out.contains(": verified (also via the API); one entry rewritten: caught at entry"),
        "{out}"
    );
    assert!(out.contains("the auditor signs in [303] and reads it [200, "), "{out}");
    assert!(out.contains("the consumer may not sign in [403]"), "{out}");
    // A person can open the kept vault's console with these tokens (owner-only).
    let tokens = f.dir.path().join("demo/console-tokens.txt");
    assert_eq!(std::fs::read_to_string(&tokens).expect("tokens").matches("mlg_").count(), 3);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner may read the tokens");
    }
    assert!(f.dir.path().join("demo/schema.json").exists());
    // The drafted schema validates the generated file from the command line too.
    let o = f.run(&["data", "validate", "demo/user_data.csv", "--schema", "demo/schema.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

#[test]
fn closed_pipe_is_quiet() {
    let f = Fixture::new();
    let mut csv = String::from("a\n");
    for _ in 0..50_000 {
        csv.push_str("x\n");
    }
    f.file("d.csv", &csv);
    f.file("s.json", r#"{"fields": [{"name": "a", "type": "integer"}]}"#);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(["data", "validate", "d.csv", "--schema", "s.json", "--max-errors", "50000"])
        .current_dir(f.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // the reader goes away, as with `| head`
    let o = child.wait_with_output().expect("wait");
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
    assert!(text(&o.stderr).is_empty(), "{}", text(&o.stderr));
}

#[test]
fn data_pii_reports_columns_and_cells() {
    let f = Fixture::new();
    std::fs::write(
        f.dir.path().join("people.csv"),
        "id,contact,notes,ver\n1,jane@example.org,\"call +44 20 7946 0958, card 4111 1111 1111 1111\",1.2.3.4\n2,,ORD-2024-000123 on 2024-01-15,10.0.0.1\n",
    )
    .expect("write");
    let o = f.run(&["data", "pii", "people.csv"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("contact") && out.contains("EMAIL") && out.contains("CREDIT_CARD"),
        "{out}"
    );
    assert!(out.contains("2 of 4 columns hold personal data; none found in id, ver"), "{out}");
    let o = f.run(&["data", "pii", "people.csv", "--cells"]);
    let lines: Vec<serde_json::Value> =
        text(&o.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["kind"], "CREDIT_CARD");
    assert_eq!(lines[2]["row"], 1);
    assert_eq!(lines[2]["column"], "notes");
    assert_eq!((lines[2]["start"].as_u64(), lines[2]["end"].as_u64()), (Some(28), Some(47)));
    std::fs::write(f.dir.path().join("clean.csv"), "a,b\n1,2\n").expect("write");
    assert_eq!(f.run(&["data", "pii", "clean.csv"]).status.code(), Some(0));
    assert_eq!(f.run(&["data", "pii", "missing.csv"]).status.code(), Some(2));
}

#[test]
fn data_poison_reports_conflicts_and_exit_codes() {
    let f = Fixture::new();
    std::fs::write(
        f.dir.path().join("s.json"),
        r#"{"fields":[{"name":"id","type":"integer","role":"id"},{"name":"a","type":"number"},{"name":"label","type":"integer","role":"target"}]}"#,
    )
    .expect("write");
    std::fs::write(f.dir.path().join("bad.csv"), "id,a,label\n1,1.5,0\n2,2.5,1\n3,1.5,1\n")
        .expect("write");
    let o = f.run(&["data", "poison", "bad.csv", "--schema", "s.json"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("poison.conflicting-duplicates] bad.csv row 1: the same features with labels 0 / 1 in rows 1, 3"), "{out}");
    std::fs::write(f.dir.path().join("ok.csv"), "id,a,label\n1,1.5,0\n2,2.5,1\n").expect("write");
    assert_eq!(f.run(&["data", "poison", "ok.csv", "--schema", "s.json"]).status.code(), Some(0));
    let o = f.run(&["data", "poison", "ok.csv", "--schema", "s.json", "--outlier-z", "-1"]);
    assert_eq!(o.status.code(), Some(2));
    // Drift: the label balance of a new batch against the previous one.
    let mut old = String::from("id,a,label\n");
    let mut new = String::from("id,a,label\n");
    for i in 0..400 {
        old.push_str(&format!("{i},{i}.5,{}\n", i % 2));
        new.push_str(&format!("{i},{i}.5,{}\n", u32::from(i % 10 != 0)));
    }
    std::fs::write(f.dir.path().join("old.csv"), old).expect("write");
    std::fs::write(f.dir.path().join("new.csv"), new).expect("write");
    let o = f.run(&["data", "poison", "new.csv", "--schema", "s.json", "--baseline", "old.csv"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("poison.drift] new.csv [label]: label balance changed against old.csv: chi²"),
        "{out}"
    );
    assert!(out.contains("1 drifted column(s)"), "{out}");
    let o = f.run(&["data", "poison", "old.csv", "--schema", "s.json", "--baseline", "old.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

/// Nothing a file holds can reach the terminal raw: a header that retitles the window (OSC
/// 0), one with a C1 control sequence introducer, one with a bidi override, and a file name
/// with an escape, through the text and JSON outputs of every data command that names them.
#[test]
fn untrusted_names_never_reach_the_terminal_raw() {
    let f = Fixture::new();
    let header = "id,\x1b]0;owned\x07email,\u{9b}2Jage,plan\u{202e}";
    let body = format!("{header}\n1,a@x.org,30,free\n2,b@x.org,41,pro\n3,c@x.org,,pro\n");
    f.file("d.csv", &body);
    f.file("evil\x1b[2J.csv", &body);
    f.file("s.json", SCHEMA);
    let raw = |b: &[u8]| {
        let t = String::from_utf8_lossy(b);
        t.chars().find(|&c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}')
    };
    let runs: [&[&str]; 8] = [
        &["data", "pii", "d.csv"],
        &["data", "pii", "d.csv", "--cells"],
        &["data", "pii", "d.csv", "--format", "json"],
        &["data", "infer-schema", "d.csv"],
        &["data", "validate", "d.csv", "--schema", "s.json"],
        &["data", "validate", "d.csv", "--schema", "s.json", "--format", "json"],
        &["data", "pii", "evil\x1b[2J.csv"],
        &["data", "validate", "missing\x1b]0;x\x07.csv", "--schema", "s.json"],
    ];
    for args in runs {
        let o = f.run(args);
        assert_eq!(raw(&o.stdout), None, "{args:?} stdout: {}", text(&o.stdout));
        assert_eq!(raw(&o.stderr), None, "{args:?} stderr: {}", text(&o.stderr));
    }
    // JSON stays JSON, and says what the file holds.
    let o = f.run(&["data", "pii", "d.csv", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["columns"][1]["name"], "\x1b]0;owned\x07email");
    assert_eq!(v["columns"][3]["name"], "plan\u{202e}");
    let o = f.run(&["data", "pii", "d.csv", "--cells"]);
    let first = text(&o.stdout).lines().next().map(str::to_owned).unwrap_or_default();
    let cell: serde_json::Value = serde_json::from_str(&first).expect("json line");
    assert_eq!(cell["column"], "\x1b]0;owned\x07email");
}

/// Files as customers send them: a gzip-compressed, Latin-1, semicolon-separated table with
/// decimal commas goes from draft to valid without an option; binary files are refused with
/// what they are; pandas' index column is named in the error.
#[test]
fn tables_as_they_come_compressed_latin1_semicolons_decimal_commas() {
    let f = Fixture::new();
    let mut table = String::from("name;height;city;year\n");
    for i in 0..60 {
        table.push_str(&format!(
            "{};{},{:02};{};{}\n",
            ["Zoë", "José"][i % 2],
            1 + i % 2,
            i,
            ["Köln", "Málaga"][i % 2],
            2007 + i % 3
        ));
    }
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&table);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &latin1).expect("gzip");
    std::fs::write(f.dir.path().join("eu.csv.gz"), gz.finish().expect("gzip")).expect("write");
    std::fs::write(f.dir.path().join("eu.csv"), &latin1).expect("write");
    let o = f.run(&["data", "infer-schema", "eu.csv.gz", "-o", "eu.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("gzip-compressed, windows-1252 text") && err.contains("delimiter ';'"),
        "{err}"
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.dir.path().join("eu.json")).expect("schema"),
    )
    .expect("json");
    assert_eq!(schema["fields"][1]["type"], "number");
    assert_eq!(schema["fields"][1]["decimalChar"], ",");
    assert_eq!(schema["fields"][2]["constraints"]["enum"], serde_json::json!(["Köln", "Málaga"]));
    for file in ["eu.csv.gz", "eu.csv"] {
        let o = f.run(&["data", "validate", file, "--schema", "eu.json"]);
        assert_eq!(o.status.code(), Some(0), "{file}: {}{}", text(&o.stdout), text(&o.stderr));
    }
    // A delimiter given wrong is pointed out.
    let o = f.run(&["data", "validate", "eu.csv", "--schema", "eu.json", "--delimiter", ","]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("did you mean --delimiter ';'?"), "{}", text(&o.stderr));
    let o = f.run(&["data", "pii", "eu.csv.gz", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["columns"][2]["name"], "city");
    // A broken Parquet file, and a file that is no table at all.
    f.file("p.csv", "PAR1\u{15}\u{4}whatever");
    let o = f.run(&["data", "pii", "p.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(
            "this Parquet file cannot be read: Parquet error: Invalid Parquet file. Corrupt footer"
        ),
        "{}",
        text(&o.stderr)
    );
    std::fs::write(f.dir.path().join("h.csv"), b"\x89HDF\r\n\x1a\n\0\0").expect("write");
    let o = f.run(&["data", "pii", "h.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("not a CSV file: it looks like an HDF5 file"),
        "{}",
        text(&o.stderr)
    );
    // pandas' index.
    f.file("ix.csv", ",a,b\n0,x,1\n1,y,2\n2,z,3\n");
    let o = f.run(&["data", "infer-schema", "ix.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("(pandas' index, R's row names)"), "{}", text(&o.stderr));
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(schema["fields"][0]["name"], "row_name");
}

/// The messages of the first hour on real files, as a snapshot (`cargo insta review` after
/// a deliberate change): R and pandas exports, dialects, encodings, binary files, schema
/// typos, drafts and their notes. Each command with its exit code, stdout and stderr.
#[test]
fn first_hour_messages() {
    let f = Fixture::new();
    f.file("r-export.csv", "\"\",\"a\",\"b\"\n\"1\",NA,2.5\n\"2\",3,NA\n");
    f.file("pandas-index.csv", ",a,b\n0,1,2.5\n1,3,4.5\n");
    f.file("eu.csv", "id;price;city\n1;3,75;Lyon\n2;4,10;Nice\n3;12,00;Brest\n");
    std::fs::write(f.dir.path().join("latin1.csv"), b"id,city\n1,Besan\xe7on\n2,Orl\xe9ans\n")
        .expect("write");
    std::fs::write(f.dir.path().join("array.csv"), b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}")
        .expect("write");
    f.file(
        "na.csv",
        "species,bill,year,sex\nAdelie,39.1,2007,male\nGentoo,NA,2008,NA\nAdelie,40.3,2009,female\n",
    );
    f.file(
        "typo.json",
        r#"{"fields": [{"name": "price", "type": "number", "constraints": {"min": 0}}]}"#,
    );
    f.file("sv.json", r#"{"fields": [{"name": "id", "type": "integer"}, {"name": "price", "type": "number"}, {"name": "city", "type": "string"}]}"#);
    f.file("title.csv", "id,\u{1b}]0;pwned\u{7}\n1,2\n");
    let mut transcript = String::new();
    for args in [
        &["data", "infer-schema", "r-export.csv", "-o", "r.json"][..],
        &["data", "infer-schema", "pandas-index.csv", "-o", "ix.json"],
        &["data", "validate", "eu.csv", "--schema", "sv.json", "--delimiter", ","],
        &["data", "infer-schema", "eu.csv", "-o", "eu.json"],
        &["data", "infer-schema", "latin1.csv", "-o", "latin1.json"],
        &["data", "validate", "array.csv", "--schema", "sv.json"],
        &["data", "infer-schema", "na.csv", "-o", "na.json"],
        &["data", "validate", "eu.csv", "--schema", "typo.json"],
        &["data", "pii", "title.csv"],
    ] {
        let o = f.run(args);
        transcript.push_str(&format!(
            "$ mlguard {}\n[exit {}]\n{}{}\n",
            args.join(" "),
            o.status.code().unwrap_or(-1),
            text(&o.stdout),
            text(&o.stderr)
        ));
    }
    insta::assert_snapshot!(transcript);
}
