//! Every rule's fixture: flagged cases carry `# expect: CODE[, CODE]` on their line, secure
//! counterparts carry nothing; the findings must match exactly (no miss, no extra), and a
//! snapshot of the messages is kept per fixture.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mlguard_pyaudit::{AuditOptions, RULES, audit_source};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected(source: &str) -> BTreeSet<(u64, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in source.lines().enumerate() {
        if let Some((_, codes)) = line.split_once("# expect: ") {
            for c in codes.split(',') {
                out.insert((i as u64 + 1, c.trim().to_owned()));
            }
        }
    }
    out
}

fn render(findings: &[mlguard_findings::Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} {} {}",
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
                f.check,
                f.severity,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fixtures_match_their_annotations() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "py") && !p.ends_with("seed_flawed.py"))
        .collect();
    files.sort();
    assert!(files.len() >= 22, "{} fixtures", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let source = std::fs::read_to_string(path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let findings = audit_source(&name, &source, &AuditOptions::default());
        let got: BTreeSet<(u64, String)> =
            findings.iter().map(|f| (f.location.line.unwrap_or(0), f.check.clone())).collect();
        let want = expected(&source);
        for miss in want.difference(&got) {
            failures.push(format!("{name}: missing {} at line {}", miss.1, miss.0));
        }
        for extra in got.difference(&want) {
            failures.push(format!("{name}: unexpected {} at line {}", extra.1, extra.0));
        }
        insta::assert_snapshot!(name.trim_end_matches(".py").to_owned(), render(&findings));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_fixture_with_flagged_and_secure_cases() {
    for rule in RULES.iter().filter(|r| !r.code.starts_with("MLG00")) {
        let file =
            std::fs::read_dir(fixtures()).expect("fixtures").flatten().map(|e| e.path()).find(
                |p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(rule.code))
                },
            );
        let file = file.expect("every rule has a fixture named after its code");
        let source = std::fs::read_to_string(&file).expect("read");
        let flagged = expected(&source).iter().filter(|(_, c)| c == rule.code).count();
        assert!(flagged >= 2, "{}: {flagged} flagged cases", rule.code);
        assert!(
            source.contains("def secure") || source.contains("def strong"),
            "{}: no secure counterpart",
            rule.code
        );
    }
}

/// The classic flawed pipeline: every flaw at its line despite the syntax error on line 7.
#[test]
fn seed_program_findings() {
    let copy = std::fs::read_to_string(fixtures().join("seed_flawed.py")).expect("seed");
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/seed_flawed.py");
    if let Ok(original) = std::fs::read_to_string(&shared) {
        assert_eq!(copy, original, "the fixture is a verbatim copy of {}", shared.display());
    }
    let findings = audit_source("seed_flawed.py", &copy, &AuditOptions::default());
    let got: Vec<(u64, &str)> =
        findings.iter().map(|f| (f.location.line.unwrap_or(0), f.check.as_str())).collect();
    let want = [
        (7, "MLG102"),  // isnull().all(): the validator passes unless every value is missing
        (7, "MLG001"),  // the syntax error (the rest of the file is still analysed)
        (15, "MLG101"), // data read at line 10 reaches train_test_split unvalidated
        (15, "MLG301"), // random_state=46
        (17, "MLG302"), // random_state=os.urandom(16): bytes, the call raises
        (21, "MLG501"), // pickle.dump of the model in the clear
        (23, "MLG503"), // Fernet key generated and never stored
        (29, "MLG401"), // pickle.load of the file
        (29, "MLG602"), // ... whose integrity is only checked at line 38
        (35, "MLG401"), // pickle.loads of the decrypted bytes
        (35, "MLG602"), // ... before the digest comparison at line 38
        (38, "MLG604"), // digests compared with !=
    ];
    assert_eq!(got, want, "\n{}", render(&findings));
    insta::assert_snapshot!("seed_flawed", render(&findings));
}

/// docs/code-audit.md lists every rule with its code, name and CWE.
#[test]
fn the_rule_table_in_the_docs_is_complete() {
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/code-audit.md"),
    )
    .expect("docs/code-audit.md");
    for r in RULES {
        let row = format!("| {} | `{}` | {} |", r.code, r.name, r.class.label());
        assert!(docs.contains(&row), "docs/code-audit.md lacks {row}");
        assert!(docs.contains(&format!("CWE-{} |", r.cwe)), "{}: CWE-{}", r.code, r.cwe);
    }
}
