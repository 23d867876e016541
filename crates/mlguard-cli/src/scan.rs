//! `mlguard scan model`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mlguard_findings::{Finding, Location, Report, Severity, TextOptions, render_text};
use mlguard_pickle::{ScanOptions, scan_bytes};

use crate::args::{Format, ScanModelArgs, Threshold};
use crate::output::Out;

/// Largest file read whole for scanning.
const MAX_FILE_BYTES: u64 = 8 << 30;

/// What a walk of the paths found: files to scan, and what it could not read or skipped
/// (reported, never silently dropped).
struct Walk {
    files: Vec<PathBuf>,
    problems: Vec<Finding>,
}

/// The regular files under `paths`, in order. Directories are walked once each (a symlink
/// loop is not followed again); FIFOs, sockets and devices are not read (a FIFO would block
/// the scan, `/dev/zero` never ends): named on the command line that is medium, met in a
/// walk low. A directory or entry that cannot be read is medium.
fn files(paths: &[PathBuf]) -> Walk {
    let mut walk = Walk { files: Vec::new(), problems: Vec::new() };
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(PathBuf, bool)> = paths.iter().rev().map(|p| (p.clone(), true)).collect();
    let problem = |p: &Path, check: &str, severity: Severity, message: String| {
        Finding::new(check, severity, message).at(Location::file(p.display().to_string()))
    };
    while let Some((p, named)) = stack.pop() {
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                walk.problems.push(problem(
                    &p,
                    "model.file.unreadable",
                    Severity::Medium,
                    format!("could not be read: {e}"),
                ));
                continue;
            }
        };
        if meta.is_dir() {
            let key = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if !seen.insert(key) {
                continue;
            }
            match std::fs::read_dir(&p) {
                Ok(entries) => {
                    let mut children = Vec::new();
                    for e in entries {
                        match e {
                            Ok(e) => children.push(e.path()),
                            Err(e) => walk.problems.push(problem(
                                &p,
                                "model.file.unreadable",
                                Severity::Medium,
                                format!("an entry of this directory could not be read: {e}"),
                            )),
                        }
                    }
                    children.sort();
                    stack.extend(children.into_iter().rev().map(|c| (c, false)));
                }
                Err(e) => walk.problems.push(problem(
                    &p,
                    "model.file.unreadable",
                    Severity::Medium,
                    format!("directory could not be read: {e}"),
                )),
            }
        } else if meta.is_file() {
            walk.files.push(p);
        } else {
            let severity = if named { Severity::Medium } else { Severity::Low };
            walk.problems.push(problem(
                &p,
                "model.file.not-regular",
                severity,
                "not a regular file (a FIFO, socket or device): not read".into(),
            ));
        }
    }
    walk
}

pub(crate) fn threshold(t: Threshold) -> Severity {
    match t {
        Threshold::Low => Severity::Low,
        Threshold::Medium => Severity::Medium,
        Threshold::High => Severity::High,
        Threshold::Critical => Severity::Critical,
    }
}

pub(crate) fn scan_model(a: &ScanModelArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    for pattern in &a.allow {
        if let Err(e) = mlguard_pickle::check_allow(pattern) {
            anyhow::bail!("--allow {e}");
        }
    }
    let opts = ScanOptions { allow: a.allow.clone(), verbose: a.verbose };
    let walk = files(&a.paths);
    let all = walk.files;
    let mut report = Report::new(
        "scan-model",
        a.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
    );
    let mut read_errors =
        walk.problems.iter().filter(|f| f.severity >= Severity::Medium).count() as u64;
    for f in walk.problems {
        report.push(f);
    }
    for path in &all {
        let name = path.display().to_string();
        match read(path) {
            Ok(data) => {
                for f in scan_bytes(&name, &data, &opts) {
                    report.push(f);
                }
            }
            Err(e) => {
                read_errors += 1;
                report.push(
                    Finding::new(
                        "model.file.unreadable",
                        Severity::Medium,
                        format!("could not be read: {e}"),
                    )
                    .at(Location::file(name)),
                );
            }
        }
    }
    report.stat("files", all.len() as u64);
    report.stat("unreadable", read_errors);
    let worst = report.findings.iter().map(|f| f.severity).max();
    match a.format {
        Format::Json => out.line(&report.to_json())?,
        Format::Sarif => out.line(&mlguard_findings::render_sarif(&report))?,
        Format::Text => {
            let mut shown = report.clone();
            shown.findings.retain(|f| f.severity > Severity::Info);
            out.write(&render_text(&shown, TextOptions { color: out.color }))?;
            let flagged =
                report.findings.iter().filter(|f| f.severity >= threshold(a.fail_on)).count();
            out.line(&format!(
                "{} file(s) scanned: {}",
                all.len(),
                if flagged == 0 {
                    out.good("nothing found at or above the threshold")
                } else {
                    out.bad(
                        &format!("{flagged} finding(s) at or above {:?}", a.fail_on).to_lowercase(),
                    )
                }
            ))?;
        }
    }
    Ok(if worst.is_some_and(|w| w >= threshold(a.fail_on)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A file's bytes, at most [`MAX_FILE_BYTES`] of them whatever its size claims to be.
fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    std::fs::File::open(path)?.take(MAX_FILE_BYTES + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!("over the {MAX_FILE_BYTES}-byte limit")));
    }
    Ok(data)
}
