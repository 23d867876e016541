//! Phone validation against the reference: Google's libphonenumber metadata as the Python
//! `phonenumbers` package ships it. For every region, its example numbers of every type in
//! international, national and E.164 form, and tens of thousands of one-digit changes of
//! them: mlguard's verdict (`rlibphonenumber`) equals the reference's. The two carry
//! metadata releases of different dates, so numbering-plan changes between them may
//! differ: at most 0.2 % of cases, each printed.

use std::path::PathBuf;
use std::process::Command;

use mlguard_data::pii::phone_valid_in;

#[test]
fn phone_validity_agrees_with_libphonenumber_metadata() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("phonenumbers-venv");
    let python =
        mlguard_testkit::python_venv(&dir, "import phonenumbers", &["phonenumbers==9.0.21"]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/phones.py");
    let seed = std::env::var("MLGUARD_PHONES_SEED").unwrap_or_else(|_| "15".into());
    let out = Command::new(python).args([script, &seed, "30000"]).output().expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (mut cases, mut valid, mut wrong) = (0usize, 0usize, Vec::new());
    for line in text.lines() {
        let mut parts = line.split('\t');
        let (region, number, expect) = (parts.next(), parts.next(), parts.next());
        let (Some(region), Some(number), Some(expect)) = (region, number, expect) else {
            unreachable!("a line is REGION<TAB>TEXT<TAB>0|1: {line:?}");
        };
        let expect = expect == "1";
        cases += 1;
        valid += usize::from(expect);
        if phone_valid_in(number, region) != expect {
            wrong.push(format!("{region} {number}: reference says {expect}"));
        }
    }
    assert!(cases == 30000 && valid > 3000, "{cases} cases, {valid} valid");
    assert!(
        wrong.len() * 500 <= cases,
        "{} disagreements:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(40)].join("\n")
    );
    eprintln!("{} of {cases} differ (metadata releases):\n{}", wrong.len(), wrong.join("\n"));
}
