//! `mlguard scan model`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mlguard_findings::{Finding, Location, Report, Severity, TextOptions, render_text};
use mlguard_pickle::{ScanOptions, scan_bytes};

use crate::args::{Format, ScanModelArgs, Threshold};
use crate::output::Out;

/// Largest file read whole for scanning.
const MAX_FILE_BYTES: u64 = 8 << 30;

fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.iter().rev().cloned().collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&p)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            children.sort();
            stack.extend(children.into_iter().rev());
        } else {
            out.push(p);
        }
    }
    out
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
    let all = files(&a.paths);
    let mut report = Report::new(
        "scan-model",
        a.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
    );
    let mut read_errors = 0u64;
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

fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "{len} bytes, over the {MAX_FILE_BYTES}-byte limit"
        )));
    }
    std::fs::read(path)
}
