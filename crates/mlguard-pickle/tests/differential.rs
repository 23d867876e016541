//! mlguard's view of a pickle equals CPython's. `tests/py/differential.py` writes thousands
//! of random, adversarial and real `pickle.dumps` streams and records, for each, which
//! globals CPython's own unpicklers look up (the C `_pickle` that `pickle.load` uses, and
//! the pure-Python `pickle._Unpickler`, instrumented so nothing is ever imported or called)
//! and which of them they call. The contract is in that script's docstring:
//!
//! - CPython loads the stream: mlguard reports the same globals in the same order, and
//!   marks the same ones called.
//! - CPython refuses it: its globals are a prefix of mlguard's, everything it called is
//!   marked called, and mlguard reports a problem (never "clean") when the refusal is
//!   about the bytes rather than about the objects they build.
//!
//! The pure-Python unpickler is held to the weaker half: what it imports is reported, what
//! it refuses is not clean.
//!
//! Needs `python3` (standard library only). `MLGUARD_DIFF_SEED=N` runs another seed.

use std::collections::BTreeMap;
use std::process::Command;

use mlguard_pickle::analyze;
use serde_json::Value;

/// Opcodes of imports CPython makes through `find_class` (the others are mlguard's own:
/// alternative readings of bytes whose layout is in doubt, names resolved from a helper's
/// arguments, extension codes).
const FIND_CLASS: &[&str] = &["GLOBAL", "INST", "STACK_GLOBAL"];

#[test]
fn every_pickle_is_read_as_cpython_reads_it() {
    let out = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/differential.py");
    let run = Command::new("python3")
        .arg(script)
        .arg(out.path())
        .args(["--count", "3000", "--seed"])
        .arg(std::env::var("MLGUARD_DIFF_SEED").unwrap_or_else(|_| "0".into()))
        .output()
        .expect("python3 must be installed to run the differential test");
    assert!(run.status.success(), "differential.py: {}", String::from_utf8_lossy(&run.stderr));
    let expected = std::fs::read_to_string(out.path().join("expected.jsonl")).expect("expected");
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cases = 0;
    for line in expected.lines() {
        let e: Value = serde_json::from_str(line).expect("json line");
        let case = e["case"].as_str().expect("case");
        let kind = e["kind"].as_str().unwrap_or("?").to_owned();
        let data = std::fs::read(out.path().join(case)).expect("case file");
        cases += 1;
        let mut problems = check(&e["c"], &data);
        problems.extend(check_python(&e["py"], &data));
        let reuse_ok = e.get("c_reuse").is_some_and(|r| check(r, &data).is_empty());
        if !problems.is_empty() && !reuse_ok {
            failures.entry(kind).or_default().push(format!("{case}: {}", problems.join("; ")));
        }
    }
    assert!(cases >= 3000, "{cases} cases");
    let total: usize = failures.values().map(Vec::len).sum();
    let report: Vec<String> = failures
        .iter()
        .map(|(kind, f)| format!("{kind}: {} e.g. {}", f.len(), f[..f.len().min(3)].join(" | ")))
        .collect();
    assert!(total == 0, "{total} of {cases} cases differ from CPython:\n{}", report.join("\n"));
}

/// The pure-Python unpickler (what joblib's loader subclasses) reads some streams
/// differently from the C one: whatever it imports, mlguard reports too (in its own reading
/// or an alternative one), and whatever it refuses for its bytes is not clean.
fn check_python(result: &Value, data: &[u8]) -> Vec<String> {
    let a = analyze(data, &[]);
    let ours: std::collections::HashSet<(String, String)> =
        a.imports.iter().map(|i| (i.module.clone(), i.name.clone())).collect();
    let mut problems = Vec::new();
    for ev in result["events"].as_array().into_iter().flatten().filter(|ev| ev[0] == "global") {
        let g = (ev[1].as_str().unwrap_or("").to_owned(), ev[2].as_str().unwrap_or("").to_owned());
        if !ours.contains(&g) {
            problems.push(format!("pickle.py imports {g:?}, mlguard does not see it"));
        }
    }
    if result["error_class"] == "stream" && a.issues.is_empty() {
        problems
            .push(format!("pickle.py refuses it ({}), mlguard reports no issue", result["error"]));
    }
    problems
}

/// What is wrong with mlguard's reading of `data` against one CPython result.
fn check(result: &Value, data: &[u8]) -> Vec<String> {
    let events = result["events"].as_array().cloned().unwrap_or_default();
    let globals: Vec<(String, String)> = events
        .iter()
        .filter(|ev| ev[0] == "global")
        .map(|ev| {
            (ev[1].as_str().unwrap_or("").to_owned(), ev[2].as_str().unwrap_or("").to_owned())
        })
        .collect();
    let called: Vec<usize> = events
        .iter()
        .filter(|ev| ev[0] == "call")
        .filter_map(|ev| ev[1].as_i64().and_then(|k| usize::try_from(k).ok()))
        .collect();
    let a = analyze(data, &[]);
    let ours: Vec<_> =
        a.imports.iter().filter(|i| !i.alternative && FIND_CLASS.contains(&i.opcode)).collect();
    let names: Vec<(String, String)> =
        ours.iter().map(|i| (i.module.clone(), i.name.clone())).collect();
    let mut problems = Vec::new();
    let loaded = result["error"].is_null();
    if loaded {
        if names != globals {
            problems.push(format!("globals: cpython {globals:?}, mlguard {names:?}"));
        }
        let ours_called: Vec<usize> = (0..ours.len()).filter(|&j| ours[j].called).collect();
        let mut theirs = called.clone();
        theirs.sort_unstable();
        theirs.dedup();
        if ours_called != theirs {
            problems.push(format!("called: cpython {theirs:?}, mlguard {ours_called:?}"));
        }
    } else {
        if names.get(..globals.len()) != Some(&globals[..]) {
            problems.push(format!("cpython's globals {globals:?} not a prefix of {names:?}"));
        }
        for k in called {
            if !ours.get(k).is_some_and(|i| i.called) {
                problems.push(format!("cpython calls global {k}, mlguard does not mark it"));
            }
        }
        if result["error_class"] == "stream" && a.issues.is_empty() {
            problems.push(format!(
                "cpython refuses it ({}), mlguard reports no issue",
                result["error"]
            ));
        }
    }
    problems
}
