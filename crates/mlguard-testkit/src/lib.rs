//! Test helpers shared by mlguard's test suites (not published).
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python virtualenv at `dir` in which `check` (Python code, e.g. `import numpy`) runs,
/// created and filled with `packages` from PyPI if needed. Returns its `python`. Panics
/// with a clear message when Python or pip fail: a test that needs them cannot run.
#[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
pub fn python_venv(dir: &Path, check: &str, packages: &[&str]) -> PathBuf {
    let python = dir.join("bin/python");
    if Command::new(&python).args(["-c", check]).output().is_ok_and(|o| o.status.success()) {
        return python;
    }
    if !Command::new("python3").arg("-m").arg("venv").arg(dir).status().is_ok_and(|s| s.success()) {
        panic!("python3 -m venv {} failed", dir.display());
    }
    let installed = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(packages)
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        panic!("pip install {} failed", packages.join(" "));
    }
    python
}
