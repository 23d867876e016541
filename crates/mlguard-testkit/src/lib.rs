//! Test helpers shared by mlguard's test suites (not published).
#![warn(missing_docs)]

pub mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A Python virtualenv at `dir` in which `check` (Python code, e.g. `import numpy`) runs,
/// created and filled with `packages` from PyPI if needed. Returns its `python`. Panics
/// with a clear message when Python or pip fail: a test that needs them cannot run. Tests
/// that share a virtualenv (in one process or several) take turns: a lock file beside it.
#[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
pub fn python_venv(dir: &Path, check: &str, packages: &[&str]) -> PathBuf {
    if let Some(parent) = dir.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let lock = std::fs::File::create(dir.with_extension("lock"))
        .and_then(|f| f.lock().map(|()| f))
        .unwrap_or_else(|e| panic!("cannot lock {}.lock: {e}", dir.display()));
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
    drop(lock);
    python
}

/// A zip archive of stored (uncompressed) members, as the simplest writers make it: local
/// headers, a central directory, an end record. For tests of zip readers.
pub fn stored_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let offset = out.len() as u32;
        let mut header =
            b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        header.extend((data.len() as u32).to_le_bytes());
        header.extend((data.len() as u32).to_le_bytes());
        header.extend((name.len() as u16).to_le_bytes());
        header.extend([0, 0]);
        out.extend(&header);
        out.extend(name.as_bytes());
        out.extend(*data);
        let mut cd =
            b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        cd.extend((data.len() as u32).to_le_bytes());
        cd.extend((data.len() as u32).to_le_bytes());
        cd.extend((name.len() as u16).to_le_bytes());
        cd.extend([0u8; 12]);
        cd.extend(offset.to_le_bytes());
        cd.extend(name.as_bytes());
        central.extend(cd);
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0, 0]);
    out
}
