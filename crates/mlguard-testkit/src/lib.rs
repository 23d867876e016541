//! Test helpers shared by mlguard's test suites (not published).
#![warn(missing_docs)]

pub mod browser;
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

/// Runs `command` under GNU time (Debian's `time`, installed first if missing and we are
/// root) and returns its output with its peak resident set size in bytes: the kernel's
/// own high-water mark of the process, exact however short the peak. Panics if it cannot.
#[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
pub fn peak_rss(command: &mut Command) -> (std::process::Output, u64) {
    const TIME: &str = "/usr/bin/time";
    if !Path::new(TIME).is_file() && servers::is_root() {
        let _ = Command::new("apt-get").args(["install", "-y", "-q", "time"]).status();
    }
    if !Path::new(TIME).is_file() {
        panic!("GNU time is not installed ({TIME}): apt-get install time");
    }
    let report = tempfile::NamedTempFile::new()
        .unwrap_or_else(|e| panic!("cannot create a temporary file: {e}"));
    let mut timed = Command::new(TIME);
    timed.args(["-f", "%M", "-o"]).arg(report.path()).arg(command.get_program());
    timed.args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    let output = timed.output().unwrap_or_else(|e| panic!("cannot run {TIME}: {e}"));
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let kib = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("GNU time reported no peak RSS: {text:?}"));
    (output, kib * 1024)
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
