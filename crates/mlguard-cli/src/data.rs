//! `mlguard data ...`

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mlguard_data::{InferOptions, Schema, ValidateOptions};
use mlguard_findings::{Report, TextOptions, render_text};

use crate::args::{Format, InferArgs, PiiArgs, PiiFormat, PoisonArgs, ValidateArgs};
use crate::output::{Out, delimiter, thousands};

/// Reads and checks a schema file; errors name the file and the JSON pointer.
pub(crate) fn load_schema(path: &Path) -> anyhow::Result<Schema> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read schema {}", path.display()))?;
    if meta.len() > mlguard_data::MAX_SCHEMA_BYTES as u64 {
        bail!(
            "schema {} is {} bytes; the limit is {}",
            path.display(),
            meta.len(),
            mlguard_data::MAX_SCHEMA_BYTES
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read schema {}", path.display()))?;
    Schema::from_json_str(&text).with_context(|| format!("invalid schema {}", path.display()))
}

pub(crate) fn infer_schema(a: &InferArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let opts = InferOptions {
        target: a.target.clone(),
        sample_rows: a.sample_rows,
        delimiter: delimiter(&a.delimiter)?,
        ..InferOptions::default()
    };
    if let Some(o) = a.output.as_ref().filter(|o| o.exists() && !a.force) {
        bail!("{} exists; pass --force to overwrite it", o.display());
    }
    let inferred = mlguard_data::infer_path(&a.file, &opts)?;
    let mut text = serde_json::to_string_pretty(&inferred.schema.to_json())?;
    text.push('\n');
    match &a.output {
        Some(o) => mlguard_seal::write_atomic(o, text.as_bytes(), a.force)?,
        None => out.write(&text)?,
    }
    let s = &inferred.schema;
    let pii: Vec<String> =
        s.fields.iter().filter_map(|f| f.pii.map(|k| format!("{} ({k})", f.name))).collect();
    eprintln!(
        "drafted {} fields from {} rows{}; personal data: {}.",
        s.fields.len(),
        thousands(inferred.rows),
        if inferred.sampled { " (a sample: the file has more)" } else { "" },
        if pii.is_empty() { "none detected".to_owned() } else { pii.join(", ") }
    );
    eprintln!(
        "review it: ranges and enums describe the rows read, not the rules your data must follow."
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn validate(a: &ValidateArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let schema = load_schema(&a.schema)?;
    let opts = ValidateOptions {
        max_errors: a.max_errors,
        strict: a.strict,
        delimiter: delimiter(&a.delimiter)?,
        max_field_bytes: a.max_field_bytes.max(1),
        threads: a.threads,
    };
    let report = if a.file.as_os_str() == "-" {
        let stdin: Box<dyn Read + Send> = Box::new(io::stdin());
        mlguard_data::validate_reader(stdin, "<stdin>", &schema, &opts)?
    } else {
        mlguard_data::validate_path(&a.file, &schema, &opts)?
    };
    match a.format {
        Format::Json => out.line(&report.to_json())?,
        Format::Sarif => out.line(&mlguard_findings::render_sarif(&report))?,
        Format::Text => {
            out.write(&render_text(&report, TextOptions { color: out.color }))?;
            let verdict = summary_line(&report, out);
            out.line(&verdict)?;
        }
    }
    Ok(if report.errors() == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `users.csv: valid, 10,000 rows × 30 columns, 0 errors, 1 warning`
pub(crate) fn summary_line(report: &Report, out: &Out) -> String {
    let stat = |k: &str| report.stats.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let verdict = if report.errors() == 0 { out.good("valid") } else { out.bad("invalid") };
    let plural = |n: u64, w: &str| format!("{} {w}{}", thousands(n), if n == 1 { "" } else { "s" });
    format!(
        "{}: {verdict}, {} × {}, {}, {}",
        report.subject,
        plural(stat("rows"), "row"),
        plural(stat("columns"), "column"),
        plural(report.errors(), "error"),
        plural(report.warnings(), "warning"),
    )
}

/// `mlguard data pii`: where personal data sits in a CSV file.
pub(crate) fn pii(a: &PiiArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    use mlguard_data::PiiKind;
    use mlguard_data::pii::{ColumnHint, scan_table};

    let schema = a.schema.as_deref().map(load_schema).transpose()?;
    let hints = |name: &str| {
        let mut h = ColumnHint::from_name(name);
        match schema.as_ref().and_then(|s| s.field(name)).and_then(|f| f.pii) {
            Some(PiiKind::Phone) => h.phone = true,
            Some(PiiKind::Ssn) => h.ssn = true,
            _ => {}
        }
        h
    };
    let delim = delimiter(&a.delimiter)?;
    let input: Box<dyn Read> = if a.file.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(io::BufReader::new(
            fs::File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?,
        ))
    };
    let mut write_error: Option<io::Error> = None;
    let columns = scan_table(input, delim, &hints, |row, name, _cell, span| {
        if a.cells && write_error.is_none() {
            let line = serde_json::json!({
                "row": row, "column": name, "kind": span.kind.as_str(),
                "start": span.start, "end": span.end, "score": (f64::from(span.score) * 100.0).round() / 100.0,
            });
            if let Err(e) = out.line(&line.to_string()) {
                write_error = Some(e);
            }
        }
    })
    .with_context(|| format!("reading {}", a.file.display()))?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let found = columns.iter().any(|c| !c.kinds.is_empty());
    let summary = match a.format {
        PiiFormat::Json => {
            let cols: Vec<serde_json::Value> = columns
                .iter()
                .map(|c| {
                    let kinds: Vec<serde_json::Value> = c
                        .kinds
                        .iter()
                        .map(|(k, n)| {
                            serde_json::json!({
                                "kind": k.as_str(), "cells": n.cells, "spans": n.spans,
                                "share": if c.cells == 0 { 0.0 } else { n.cells as f64 / c.cells as f64 },
                                "confidence": (n.confidence() * 100.0).round() / 100.0,
                            })
                        })
                        .collect();
                    serde_json::json!({"name": c.name, "cells": c.cells, "kinds": kinds})
                })
                .collect();
            serde_json::json!({"version": 1, "kind": "pii", "file": a.file.display().to_string(), "columns": cols})
                .to_string()
        }
        PiiFormat::Text => {
            let mut text = String::new();
            let width = columns.iter().map(|c| c.name.len()).max().unwrap_or(6).max(6);
            for c in columns.iter().filter(|c| !c.kinds.is_empty()) {
                for (k, n) in &c.kinds {
                    let share = 100.0 * n.cells as f64 / c.cells.max(1) as f64;
                    text.push_str(&format!(
                        "  {:<width$}  {:<14} {:>10} of {:>10} cells ({share:5.1} %), confidence {:.2}\n",
                        c.name,
                        k.as_str(),
                        thousands(n.cells),
                        thousands(c.cells),
                        n.confidence(),
                    ));
                }
            }
            let clean: Vec<&str> =
                columns.iter().filter(|c| c.kinds.is_empty()).map(|c| c.name.as_str()).collect();
            text.push_str(&format!(
                "{}: {} of {} columns hold personal data{}",
                a.file.display(),
                columns.len() - clean.len(),
                columns.len(),
                if clean.is_empty() {
                    String::new()
                } else {
                    format!("; none found in {}", clean.join(", "))
                }
            ));
            text
        }
    };
    if a.cells {
        eprintln!("{summary}");
    } else {
        out.line(&summary)?;
    }
    Ok(if found { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `mlguard data poison`: model-free signs of a poisoned dataset.
pub(crate) fn poison(a: &PoisonArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    use mlguard_data::poison::{PoisonOptions, check_reader};
    use mlguard_findings::{Finding, Location, Severity};

    if !(a.outlier_z.is_finite() && a.outlier_z > 0.0) {
        bail!("--outlier-z must be a positive number, not {}", a.outlier_z);
    }
    let schema = load_schema(&a.schema)?;
    let open = || {
        fs::File::open(&a.file)
            .map(io::BufReader::new)
            .with_context(|| format!("cannot read {}", a.file.display()))
    };
    let opts = PoisonOptions {
        outlier_z: a.outlier_z,
        delimiter: delimiter(&a.delimiter)?,
        ..PoisonOptions::default()
    };
    let r = check_reader(open()?, open()?, &schema, &opts)
        .with_context(|| format!("reading {}", a.file.display()))?;
    let name = a.file.display().to_string();
    let rows = |rows: &[u64]| rows.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let mut report = Report::new("poison", &name);
    report.set_limit(Some(a.max_errors));
    report.stat("rows", r.rows);
    for c in &r.conflicts {
        report.push(
            Finding::new(
                "poison.conflicting-duplicates",
                Severity::High,
                format!(
                    "the same features with labels {} in rows {}",
                    c.labels.join(" / "),
                    rows(&c.rows)
                ),
            )
            .at(Location::file(name.clone()).row(c.rows[0])),
        );
    }
    for f in &r.floods {
        report.push(
            Finding::new(
                "poison.duplicate-flood",
                Severity::Medium,
                format!(
                    "one feature vector occurs {} times (first rows {})",
                    f.count,
                    rows(&f.rows)
                ),
            )
            .at(Location::file(name.clone()).row(f.rows[0])),
        );
    }
    for o in &r.outliers {
        report.push(
            Finding::new(
                "poison.outlier",
                Severity::Low,
                format!("robust z-score {:.1} (median/MAD)", o.z),
            )
            .at(Location::file(name.clone()).row(o.row).field(o.column.clone()))
            .with_value(o.value.to_string()),
        );
    }
    let mut drifts = 0;
    if let Some(base) = &a.baseline {
        let old = fs::File::open(base)
            .map(io::BufReader::new)
            .with_context(|| format!("cannot read the baseline {}", base.display()))?;
        let target = schema.fields.iter().find(|f| f.role == Some(mlguard_data::Role::Target));
        for d in mlguard_data::poison::drift(old, open()?, &schema, opts.delimiter)
            .with_context(|| format!("comparing with {}", base.display()))?
        {
            drifts += 1;
            let what = if target.is_some_and(|t| t.name == d.column) {
                "label balance"
            } else {
                "distribution"
            };
            let stat = match d.psi {
                Some(psi) => format!("chi² {:.1}, p {:.2e}, PSI {psi:.3}", d.statistic, d.p),
                None => format!("KS D {:.3}, p {:.2e}", d.statistic, d.p),
            };
            report.push(
                Finding::new(
                    "poison.drift",
                    Severity::Medium,
                    format!("{what} changed against {}: {stat}", base.display()),
                )
                .at(Location::file(name.clone()).field(d.column.clone())),
            );
        }
    }
    // Label noise by confident learning, on the number and integer features.
    let mut label_issues = 0;
    if let Some((rows_flagged, classes)) = noisy_labels(open()?, &schema, opts.delimiter)? {
        label_issues = rows_flagged.len();
        for (row, given, likely) in rows_flagged {
            report.push(
                Finding::new(
                    "poison.label-issue",
                    Severity::Low,
                    format!(
                        "labelled {given:?}, but out-of-fold models confidently predict {likely:?} (confident learning, {classes} classes)"
                    ),
                )
                .at(Location::file(name.clone()).row(row)),
            );
        }
    }
    // Outliers and doubted labels are leads to review (low); duplicates with conflicting
    // labels, floods and drift fail the check.
    // Counted, not only listed: --max-errors must not hide a failing finding.
    let found = report.worst().is_some_and(|w| w >= Severity::Medium);
    match a.format {
        Format::Json => out.line(&report.to_json())?,
        Format::Sarif => out.line(&mlguard_findings::render_sarif(&report))?,
        Format::Text => {
            out.write(&render_text(&report, TextOptions { color: out.color }))?;
            let drift = if a.baseline.is_some() {
                format!(", {drifts} drifted column(s)")
            } else {
                String::new()
            };
            out.line(&format!(
                "{name}: {} rows; {} conflicting duplicate group(s), {} flood(s), {} outlier(s), {} label issue(s){drift}",
                thousands(r.rows),
                r.conflicts.len(),
                r.floods.len(),
                r.outliers.len(),
                label_issues
            ))?;
        }
    }
    Ok(if found { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The fold assignment of the label check: fixed, so a report is reproducible.
const LABEL_FOLD_SEED: u64 = 0x6d6c_6775_6172_6400;

/// A doubted label: data row (1-based), the label given, the label predicted.
type LabelIssue = (u64, String, String);

/// Rows whose label confident learning doubts, and the number of classes; `None` without a
/// target field, numeric features or 2–50 classes.
fn noisy_labels(
    src: impl Read,
    schema: &Schema,
    delimiter: u8,
) -> anyhow::Result<Option<(Vec<LabelIssue>, usize)>> {
    use mlguard_data::{FieldType, Role, TableReader};
    const MAX_CLASSES: usize = 50;
    let table = TableReader::new(src, delimiter)?;
    let header = table.header().to_vec();
    let field = |h: &str| schema.field(h);
    let Some(target) =
        header.iter().position(|h| field(h).is_some_and(|f| f.role == Some(Role::Target)))
    else {
        return Ok(None);
    };
    let features: Vec<usize> = (0..header.len())
        .filter(|&i| i != target)
        .filter(|&i| {
            field(&header[i]).is_some_and(|f| {
                matches!(f.field_type, FieldType::Number | FieldType::Integer)
                    && !matches!(f.role, Some(Role::Id | Role::Ignore))
            })
        })
        .collect();
    if features.is_empty() {
        return Ok(None);
    }
    let mut columns: Vec<Vec<f32>> = vec![Vec::new(); features.len()];
    let mut labels: Vec<String> = Vec::new();
    let mut y: Vec<u32> = Vec::new();
    let mut too_many = false;
    table.for_each(|_, cells| {
        let label = cells.get(target).copied().unwrap_or("");
        let index = match labels.iter().position(|l| l == label) {
            Some(i) => i,
            None if labels.len() < MAX_CLASSES => {
                labels.push(label.to_owned());
                labels.len() - 1
            }
            None => {
                too_many = true;
                return Ok(());
            }
        };
        y.push(index as u32);
        for (c, &i) in columns.iter_mut().zip(&features) {
            c.push(
                cells
                    .get(i)
                    .and_then(|s| s.parse::<f32>().ok())
                    .filter(|v| v.is_finite())
                    .unwrap_or(f32::NAN),
            );
        }
        Ok(())
    })?;
    if too_many || labels.len() < 2 {
        return Ok(None);
    }
    // Missing values count as the column mean.
    for c in &mut columns {
        let present: Vec<f32> = c.iter().copied().filter(|v| v.is_finite()).collect();
        let mean = if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f32>() / present.len() as f32
        };
        c.iter_mut().filter(|v| !v.is_finite()).for_each(|v| *v = mean);
    }
    let issues = mlguard_learn::noise::label_issues(&columns, &y, labels.len(), 5, LABEL_FOLD_SEED);
    let flagged = issues
        .into_iter()
        .map(|(i, likely)| {
            (i as u64 + 1, labels[y[i] as usize].clone(), labels[likely as usize].clone())
        })
        .collect();
    Ok(Some((flagged, labels.len())))
}
