//! The reviewed tables behind the scanner's verdicts stay well-formed and complete:
//! `tests/py/check_capabilities.py` checks `data/capabilities.tsv` (four fields a row, known
//! verdicts, no duplicates, every standard-library module of the running Python covered,
//! private ones included) and `data/compat_pickle.tsv`; and no allowlisted name is one the
//! capability table rates dangerous by name. Needs `python3`.

use std::process::Command;

use mlguard_pickle::{Class, classify};

#[test]
fn capability_table_covers_the_standard_library() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/check_capabilities.py");
    let o = Command::new("python3").arg(script).output().expect("python3");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn allowlisted_names_are_safe() {
    let table = include_str!("../data/allowlist.tsv");
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 3, "module, name, example: {line:?}");
        assert_eq!(classify(fields[0], fields[1], &[]), Class::Safe, "{line:?}");
        rows += 1;
    }
    assert!(rows > 400, "{rows}");
}
