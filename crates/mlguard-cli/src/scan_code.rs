//! `mlguard scan code`: the Python ML code auditor over files and directories.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use mlguard_findings::{Finding, Location, Report, RuleMeta, Severity, TextOptions, render_text};
use mlguard_pyaudit::{AuditOptions, RULES, SeedPolicy, audit_bytes, audit_notebook};
use serde::Deserialize;

use crate::args::{Format, ScanCodeArgs, SeedPolicyArg, Threshold};
use crate::output::Out;

/// Larger files are reported, not read.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// Version of the baseline file format.
const BASELINE_VERSION: u32 = 1;

/// `[tool.mlguard]` in pyproject.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Config {
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    fail_on: Option<Threshold>,
    fixed_seeds: Option<SeedPolicyArg>,
    #[serde(default)]
    honor_nosec: bool,
    /// Glob patterns (gitignore syntax) of paths not to scan.
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct Baseline {
    version: u32,
    findings: Vec<BaselineEntry>,
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
struct BaselineEntry {
    file: String,
    rule: String,
    fingerprint: String,
}

pub(crate) fn scan_code(a: &ScanCodeArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    if let Some(name) = &a.explain {
        let Some(rule) = mlguard_pyaudit::rule(name) else {
            let codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
            bail!("unknown rule {name:?}; rules are {}", codes.join(", "));
        };
        out.line(&format!(
            "{} {} ({}, {} by default, CWE-{})\n",
            rule.code,
            rule.name,
            rule.class.label(),
            rule.severity,
            rule.cwe
        ))?;
        out.line(rule.documentation().trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = if a.no_config { None } else { find_config(&a.paths)? };
    let (config_path, config) = config.unwrap_or_default();
    for r in a.select.iter().chain(&a.ignore).chain(&config.select).chain(&config.ignore) {
        let known = RULES.iter().any(|rule| {
            rule.code.eq_ignore_ascii_case(r)
                || rule.name.eq_ignore_ascii_case(r)
                || rule.code.starts_with(r.to_ascii_uppercase().as_str())
        });
        if !known {
            bail!(
                "unknown rule {r:?} in --select/--ignore or [tool.mlguard]; `--explain CODE` shows one"
            );
        }
    }
    let opts = AuditOptions {
        select: if a.select.is_empty() { config.select.clone() } else { a.select.clone() },
        ignore: a.ignore.iter().chain(&config.ignore).cloned().collect(),
        seeds: match a.fixed_seeds.or(config.fixed_seeds) {
            Some(SeedPolicyArg::Allow) => SeedPolicy::Allow,
            _ => SeedPolicy::Report,
        },
        honor_nosec: a.honor_nosec || config.honor_nosec,
    };
    let fail_on = crate::scan::threshold(a.fail_on.or(config.fail_on).unwrap_or(Threshold::Medium));
    let baseline = match &a.baseline {
        Some(p) => Some(read_baseline(p)?),
        None => None,
    };

    let files = python_files(&a.paths, &config.exclude, config_path.as_deref())?;
    let results = audit_all(&files, &opts);

    let mut report = Report::new(
        "scan-code",
        a.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
    );
    let (mut lines, mut unreadable, mut baselined) = (0u64, 0u64, 0u64);
    let mut all = Vec::new();
    for r in results {
        lines += r.lines;
        unreadable += u64::from(r.unreadable);
        all.extend(r.findings);
    }
    if let Some(b) = &baseline {
        let before = all.len();
        all.retain(|f| !in_baseline(b, f));
        baselined = (before - all.len()) as u64;
    }
    for f in &all {
        report.push(f.clone());
    }
    report.rules = RULES
        .iter()
        .filter(|r| all.iter().any(|f| f.check == r.code))
        .map(|r| RuleMeta {
            id: r.code.to_owned(),
            name: r.name.to_owned(),
            summary: r.summary.to_owned(),
            help: r.fix.to_owned(),
            doc: r.documentation(),
            cwe: Some(r.cwe),
        })
        .collect();
    report.stat("files", files.len() as u64);
    report.stat("lines", lines);
    report.stat("unreadable", unreadable);
    report.stat("baselined", baselined);

    if let Some(path) = &a.write_baseline {
        let entries = all
            .iter()
            .filter_map(|f| {
                Some(BaselineEntry {
                    file: f.location.file.clone()?,
                    rule: f.check.clone(),
                    fingerprint: f.fingerprint.clone()?,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&Baseline {
            version: BASELINE_VERSION,
            findings: entries,
        })?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the baseline {}", path.display()))?;
    }

    let flagged = all.iter().filter(|f| f.severity >= fail_on).count();
    match a.format {
        Format::Json => out.line(&report.to_json())?,
        Format::Sarif => out.line(&mlguard_findings::render_sarif(&report))?,
        Format::Text => {
            out.write(&render_text(&report, TextOptions { color: out.color }))?;
            let mut tail = format!("{} file(s), {lines} line(s) scanned: ", files.len());
            tail.push_str(&if flagged == 0 {
                out.good("nothing found at or above the threshold")
            } else {
                out.bad(&format!("{flagged} finding(s) at or above {fail_on}"))
            });
            if baselined > 0 {
                tail.push_str(&format!(" ({baselined} in the baseline not shown)"));
            }
            out.line(&tail)?;
        }
    }
    if a.write_baseline.is_some() {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(if flagged > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The nearest pyproject.toml with a `[tool.mlguard]` table, from the first path (or the
/// current directory) upwards.
fn find_config(paths: &[PathBuf]) -> anyhow::Result<Option<(Option<PathBuf>, Config)>> {
    let start = paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
    let start = std::fs::canonicalize(&start).unwrap_or(start);
    let mut dir = if start.is_dir() { Some(start.as_path()) } else { start.parent() };
    while let Some(d) = dir {
        let candidate = d.join("pyproject.toml");
        if candidate.is_file() {
            let text = std::fs::read_to_string(&candidate)
                .with_context(|| format!("reading {}", candidate.display()))?;
            let doc: toml::Table = toml::from_str(&text)
                .with_context(|| format!("{}: not valid TOML", candidate.display()))?;
            let Some(section) = doc.get("tool").and_then(|t| t.get("mlguard")) else {
                return Ok(None);
            };
            let config: Config = section
                .clone()
                .try_into()
                .with_context(|| format!("{}: [tool.mlguard]", candidate.display()))?;
            return Ok(Some((Some(d.to_path_buf()), config)));
        }
        dir = d.parent();
    }
    Ok(None)
}

fn read_baseline(path: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the baseline {}", path.display()))?;
    let b: Baseline = serde_json::from_str(&text).with_context(|| {
        format!("{}: not a baseline written by --write-baseline", path.display())
    })?;
    if b.version != BASELINE_VERSION {
        bail!(
            "{}: baseline version {} (this mlguard reads {BASELINE_VERSION})",
            path.display(),
            b.version
        );
    }
    Ok(b)
}

fn in_baseline(b: &Baseline, f: &Finding) -> bool {
    b.findings.iter().any(|e| {
        Some(&e.file) == f.location.file.as_ref()
            && e.rule == f.check
            && Some(&e.fingerprint) == f.fingerprint.as_ref()
    })
}

fn is_python(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("py" | "pyi" | "ipynb"))
}

/// Files to audit: explicit files as given; directories walked honouring .gitignore,
/// .ignore and the configured excludes.
fn python_files(
    paths: &[PathBuf],
    exclude: &[String],
    root: Option<&Path>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            bail!("{}: no such file or directory", p.display());
        }
        if !p.is_dir() {
            files.push(p.clone());
            continue;
        }
        let mut walk = ignore::WalkBuilder::new(p);
        walk.hidden(true)
            .git_ignore(true)
            .git_exclude(true)
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b));
        if !exclude.is_empty() {
            let mut ov = ignore::overrides::OverrideBuilder::new(root.unwrap_or(p));
            for pattern in exclude {
                ov.add(&format!("!{pattern}"))
                    .with_context(|| format!("exclude pattern {pattern:?}"))?;
            }
            walk.overrides(ov.build()?);
        }
        for entry in walk.build() {
            let entry = entry.with_context(|| format!("walking {}", p.display()))?;
            if entry.file_type().is_some_and(|t| t.is_file()) && is_python(entry.path()) {
                files.push(entry.into_path());
            }
        }
    }
    Ok(files)
}

struct FileResult {
    findings: Vec<Finding>,
    lines: u64,
    unreadable: bool,
}

/// Audits every file on all cores; results keep the input order.
fn audit_all(files: &[PathBuf], opts: &AuditOptions) -> Vec<FileResult> {
    // Largest files first, so no worker is left alone with a big file at the end.
    let mut order: Vec<usize> = (0..files.len()).collect();
    let sizes: Vec<u64> =
        files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileResult>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let workers =
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            // A stack the auditor never needs to grow (it would allocate one per file).
            let builder = std::thread::Builder::new().stack_size(2 * mlguard_pyaudit::RED_ZONE);
            let spawned = builder.spawn_scoped(s, || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    let path = &files[i];
                    let r = audit_file(path, opts);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
            // Without a thread of its own the work is done by the others (or below).
            drop(spawned);
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    // Files no worker took (no thread could be started): audited here.
    for (slot, path) in results.iter_mut().zip(files) {
        if slot.is_none() {
            *slot = Some(audit_file(path, opts));
        }
    }
    results.into_iter().flatten().collect()
}

fn audit_file(path: &Path, opts: &AuditOptions) -> FileResult {
    let name = path.display().to_string();
    let unreadable = |message: String| FileResult {
        findings: vec![
            Finding::new("code.file.unreadable", Severity::Medium, message)
                .at(Location::file(name.clone())),
        ],
        lines: 0,
        unreadable: true,
    };
    let bytes = match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return unreadable(format!(
                "{} bytes, over the {MAX_FILE_BYTES}-byte limit: not analysed",
                m.len()
            ));
        }
        Ok(_) => match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return unreadable(format!("could not be read: {e}")),
        },
        Err(e) => return unreadable(format!("could not be read: {e}")),
    };
    let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
    if path.extension().and_then(|e| e.to_str()) == Some("ipynb") {
        return match audit_notebook(&name, &bytes, opts) {
            Ok(findings) => FileResult { findings, lines, unreadable: false },
            Err(e) => unreadable(format!("{e}: not analysed")),
        };
    }
    FileResult { findings: audit_bytes(&name, &bytes, opts), lines, unreadable: false }
}
