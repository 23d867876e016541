//! The national-identifier checks against python-stdnum, the reference implementation:
//! for thousands of candidates per kind (valid ones built with stdnum's check-digit
//! functions, valid ones with one character changed, random values of the same shape),
//! mlguard and stdnum (with the published rules it leaves out, see the script) agree.
//! Another sample: `MLGUARD_IDS_SEED=K`.

use std::path::PathBuf;
use std::process::Command;

use mlguard_data::pii::{Kind, national_id_valid};

fn kind(name: &str) -> Kind {
    let found = Kind::ALL.into_iter().find(|k| k.as_str() == name);
    found.expect("the script prints mlguard's kind names")
}

#[test]
fn national_id_checks_agree_with_python_stdnum() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stdnum-venv");
    let python = mlguard_testkit::python_venv(&dir, "import stdnum", &["python-stdnum==2.1"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/national_ids.py");
    let seed = std::env::var("MLGUARD_IDS_SEED").unwrap_or_else(|_| "15".into());
    let out = Command::new(python).args([script, &seed, "3000"]).output().expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (mut cases, mut valid, mut wrong) = (0, 0, Vec::new());
    for line in text.lines() {
        let mut parts = line.split('\t');
        let (k, v, expect) = (parts.next(), parts.next(), parts.next());
        let (Some(k), Some(v), Some(expect)) = (k, v, expect) else {
            unreachable!("a line is KIND<TAB>VALUE<TAB>0|1: {line:?}");
        };
        let expect = expect == "1";
        cases += 1;
        valid += usize::from(expect);
        if national_id_valid(kind(k), v) != expect {
            wrong.push(format!("{k} {v}: stdnum says {expect}"));
        }
    }
    assert!(cases >= 7 * 3000 && valid > 7 * 1000, "{cases} cases, {valid} valid");
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(30)].join("\n")
    );
}
