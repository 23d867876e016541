//! Files written by the real libraries, not by us. In the test suite's virtualenv (NumPy,
//! SciPy, scikit-learn, pandas, joblib, safetensors from PyPI), `tests/py/realworld.py`
//! writes a labelled corpus: `np.save`/`savez`/`savez_compressed`, joblib with every
//! compressor, scikit-learn estimators and pipelines (pickle on every protocol and joblib),
//! pandas `to_pickle`, SciPy sparse matrices, safetensors and standard-library values —
//! and copies with payloads injected the ways published bypasses do (object arrays, an
//! extra `.npz` member, a hook behind a fitted scaler in joblib, escaped protocol-0 names,
//! `functools.partial`, pickles inside bytes, PyTorch-style zips with zip64 and data
//! descriptors). Every benign file must scan clean (nothing at medium or above) and every
//! tampered one must be caught at high or critical, naming the payload.
//!
//! The census test checks the other side of the same coin: every global those libraries
//! need is on the allowlist (`data/allowlist.tsv`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use mlguard_findings::Severity;
use mlguard_pickle::{Behavior, Class, ScanOptions, behavior, classify, compat_name, scan_bytes};
use serde_json::Value;

use crate::common::python;

fn run(script: &str, out: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py").join(script);
    let o = Command::new(python()).arg(&script).arg(out).output().expect("python");
    assert!(
        o.status.success(),
        "{}: {}{}",
        script.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn real_library_files_are_clean_and_their_tampered_copies_caught() {
    let out = tempfile::tempdir().expect("tempdir");
    run("realworld.py", out.path());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    let files = manifest["files"].as_array().expect("files");
    let (mut benign, mut malicious) = (0, 0);
    let mut wrong = Vec::new();
    for f in files {
        let name = f["file"].as_str().expect("file");
        let data = std::fs::read(out.path().join(name)).expect("read");
        let findings = scan_bytes(name, &data, &ScanOptions::default());
        let worst = findings.iter().map(|f| f.severity).max();
        if f["label"] == "benign" {
            benign += 1;
            if worst.is_some_and(|w| w >= Severity::Medium) {
                let shown: Vec<_> = findings
                    .iter()
                    .filter(|f| f.severity >= Severity::Medium)
                    .map(|f| format!("{} {}", f.check, f.message))
                    .collect();
                wrong.push(format!("benign {name}: {shown:?}"));
            }
        } else {
            malicious += 1;
            let payload = f["payload_resolves_to"]
                .as_str()
                .or_else(|| f["payload"].as_str())
                .expect("payload");
            let named = findings
                .iter()
                .any(|f| f.severity >= Severity::High && f.value.as_deref() == Some(payload));
            if !named {
                let shown: Vec<_> = findings
                    .iter()
                    .map(|f| format!("{:?} {} {:?}", f.severity, f.check, f.value))
                    .collect();
                wrong.push(format!("malicious {name} ({payload}) not caught: {shown:?}"));
            }
        }
    }
    eprintln!("real-library corpus: {benign} benign, {malicious} malicious files");
    assert!(benign >= 200 && malicious >= 55, "{benign} benign, {malicious} malicious");
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn every_global_real_libraries_need_is_allowed() {
    let out = tempfile::tempdir().expect("tempdir");
    let json = out.path().join("census.json");
    run("census.py", &json);
    let census: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("census")).expect("census json");
    let globals = census["globals"].as_array().expect("globals");
    let mut missing = Vec::new();
    for g in globals {
        let (module, name) = (g["module"].as_str().unwrap_or(""), g["name"].as_str().unwrap_or(""));
        // The census records names as written; protocol 0-2 pickles' are mapped on load.
        let old = g["protocols"].as_array().is_some_and(|p| p.iter().all(|v| v.as_u64() < Some(3)));
        let (m, n) = compat_name(module, name, if old { 2 } else { 4 });
        if behavior(&m, &n) == Behavior::Attribute {
            continue;
        }
        let class = classify(&m, &n, &[]);
        // Dangerous by review although real objects need them: SciPy's distributions exec()
        // a source string from their pickled state (data/capabilities.tsv, scipy.stats).
        if m.starts_with("scipy.stats.") && class == Class::Dangerous {
            continue;
        }
        if class != Class::Safe {
            missing.push(format!("{m}.{n} ({class:?}; e.g. {})", g["examples"]));
        }
    }
    assert!(globals.len() >= 400, "{} globals", globals.len());
    assert!(
        missing.is_empty(),
        "{} globals real libraries need are not allowed (add them to data/allowlist.tsv after review):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// PyTorch and Keras files, written by the real libraries (`bench/model_fixtures.sh`) and
/// committed with their provenance, since neither installs within CI's limits.
#[test]
fn pytorch_and_keras_files_as_the_libraries_write_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    let files = manifest.as_array().expect("files");
    let mut wrong = Vec::new();
    for f in files {
        let name = f["file"].as_str().expect("file");
        let data = std::fs::read(root.join(name)).expect("read");
        let findings = scan_bytes(name, &data, &ScanOptions::default());
        let worst = findings.iter().map(|f| f.severity).max();
        let ok = if f["label"] == "benign" {
            worst.is_none_or(|w| w < Severity::Medium)
        } else {
            let payload = f["payload"].as_str().expect("payload");
            findings
                .iter()
                .any(|f| f.severity >= Severity::High && f.value.as_deref() == Some(payload))
        };
        if !ok {
            wrong.push(format!("{name} ({}): {findings:?}", f["label"]));
        }
    }
    assert!(files.len() >= 11, "{}", files.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Installed packages are real code and real data (scikit-learn's bundled datasets,
/// joblib's and NumPy's test pickles written by Python 2 and old releases): scanning them
/// finds nothing, but for joblib < 0.10's array wrappers, which make `joblib.load` read a
/// file whose path the pickle names, and a function of an ancient NumPy that no longer
/// exists (reported for a person to judge, as they should be).
#[test]
fn installed_packages_are_quiet() {
    let python = python();
    let site = Command::new(&python)
        .args([
            "-c",
            "import sklearn, os; print(os.path.dirname(os.path.dirname(sklearn.__file__)))",
        ])
        .output()
        .expect("python");
    let site = PathBuf::from(String::from_utf8_lossy(&site.stdout).trim());
    let mut files = Vec::new();
    for package in ["sklearn", "pandas", "numpy", "scipy", "joblib"] {
        let mut stack = vec![site.join(package)];
        while let Some(p) = stack.pop() {
            match std::fs::read_dir(&p) {
                Ok(entries) => stack.extend(entries.flatten().map(|e| e.path())),
                Err(_) => files.push(p),
            }
        }
    }
    let old_wrappers = [
        "joblib.numpy_pickle.NDArrayWrapper",
        "joblib.numpy_pickle.ZNDArrayWrapper",
        // NumPy's own test file py2-np0-objarr.npy (an object array pickled by an ancient
        // NumPy, `'descr': '|O8'`) names a function no current NumPy has: reported unknown.
        "numpy.core._internal._reconstruct",
    ];
    let mut loud = Vec::new();
    for f in &files {
        let Ok(data) = std::fs::read(f) else { continue };
        for finding in scan_bytes(&f.display().to_string(), &data, &ScanOptions::default()) {
            let expected = finding.value.as_deref().is_some_and(|v| old_wrappers.contains(&v));
            if finding.severity >= Severity::Medium && !expected {
                loud.push(format!("{}: {} {}", f.display(), finding.check, finding.message));
            }
        }
    }
    assert!(files.len() > 5000, "{} files", files.len());
    assert!(loud.is_empty(), "{} findings on installed packages:\n{}", loud.len(), loud.join("\n"));
}
