//! Signs of a poisoned dataset, as one report: the model-free checks of
//! [`mlguard_data::poison`] (conflicting duplicates, floods, robust outliers, drift against
//! a baseline) and label noise by confident learning ([`mlguard_learn::noise`]). Used by
//! `mlguard data poison` and by ingestion, against the previous version.

use std::io::Read;

use mlguard_data::poison::{PoisonOptions, check_reader, drift};
use mlguard_data::{FieldType, Role, Schema, TableReader};
use mlguard_findings::{Finding, Location, Report, Severity};

use crate::VaultError;

/// The fold assignment of the label check: fixed, so a report is reproducible.
const LABEL_FOLD_SEED: u64 = 0x6d6c_6775_6172_6400;

/// Most classes the label check handles.
const MAX_CLASSES: usize = 50;

/// What [`check`] found, counted (the report's list may be capped; these never are).
#[derive(Debug, Clone)]
pub struct PoisonCheck {
    /// The findings: conflicting duplicates (high), floods and drift (medium), outliers and
    /// doubted labels (low: leads to review).
    pub report: Report,
    /// Data rows.
    pub rows: u64,
    /// Groups of duplicates with conflicting labels.
    pub conflicts: usize,
    /// Feature vectors repeated suspiciously often.
    pub floods: usize,
    /// Robust outliers.
    pub outliers: usize,
    /// Rows whose label confident learning doubts.
    pub label_issues: usize,
    /// Columns that drifted against the baseline (`None` without one).
    pub drifted: Option<usize>,
}

impl PoisonCheck {
    /// Whether anything of medium severity or worse was found (counted, not only listed:
    /// a cap on the list must not hide a failing finding).
    pub fn failed(&self) -> bool {
        self.report.worst().is_some_and(|w| w >= Severity::Medium)
    }
}

/// Runs every check on the table `open()` reads (it is read several times); `baseline`
/// is an earlier version to compare distributions with, and its name. Findings are listed
/// worst first (a capped list keeps the ones that fail the check).
pub fn check<R: Read, B: Read>(
    open: &dyn Fn() -> Result<R, VaultError>,
    name: &str,
    schema: &Schema,
    opts: &PoisonOptions,
    baseline: Option<(&str, B)>,
    max_findings: usize,
) -> Result<PoisonCheck, VaultError> {
    let r = check_reader(open()?, open()?, schema, opts)?;
    let rows = |rows: &[u64]| rows.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let mut report = Report::new("poison", name);
    report.set_limit(Some(max_findings));
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
            .at(Location::file(name).row(c.rows[0])),
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
            .at(Location::file(name).row(f.rows[0])),
        );
    }
    if let Some(d) = &r.duplication {
        report.push(Finding::new(
            "poison.duplication",
            Severity::Medium,
            format!(
                "{} of {} rows ({:.1} %) repeat an earlier row's features: {} distinct where the columns' values would give about {:.0}; the same rows appended again would sit on both sides of a train/test split (leakage) and outweigh the rest",
                d.repeated,
                r.rows,
                100.0 * d.repeated as f64 / r.rows.max(1) as f64,
                d.distinct,
                d.expected
            ),
        ).at(Location::file(name)));
    }
    let mut drifted = None;
    if let Some((base, old)) = baseline {
        let target = schema.fields.iter().find(|f| f.role == Some(Role::Target));
        let found = drift(old, open()?, schema, opts.delimiter)?;
        drifted = Some(found.len());
        for d in found {
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
                    format!("{what} changed against {base}: {stat}"),
                )
                .at(Location::file(name).field(d.column.clone())),
            );
        }
    }
    for o in &r.outliers {
        report.push(
            Finding::new(
                "poison.outlier",
                Severity::Low,
                format!("robust z-score {:.1} (median/MAD)", o.z),
            )
            .at(Location::file(name).row(o.row).field(o.column.clone()))
            .with_value(o.value.to_string()),
        );
    }
    let mut label_issues = 0;
    if let Some((flagged, classes)) = noisy_labels(open()?, schema, opts.delimiter)? {
        label_issues = flagged.len();
        for (row, given, likely) in flagged {
            report.push(
                Finding::new(
                    "poison.label-issue",
                    Severity::Low,
                    format!(
                        "labelled {given:?}, but out-of-fold models confidently predict {likely:?} (confident learning, {classes} classes)"
                    ),
                )
                .at(Location::file(name).row(row)),
            );
        }
    }
    for (k, v) in [
        ("conflicting_duplicates", r.conflicts.len()),
        ("floods", r.floods.len()),
        ("outliers", r.outliers.len()),
        ("label_issues", label_issues),
    ] {
        report.stat(k, v);
    }
    if let Some(d) = drifted {
        report.stat("drifted_columns", d);
    }
    Ok(PoisonCheck {
        report,
        rows: r.rows,
        conflicts: r.conflicts.len(),
        floods: r.floods.len(),
        outliers: r.outliers.len(),
        label_issues,
        drifted,
    })
}

/// A doubted label: data row (1-based), the label given, the label predicted.
type LabelIssue = (u64, String, String);

/// Rows whose label confident learning doubts, and the number of classes; `None` without a
/// target field, numeric features or 2–50 classes.
fn noisy_labels(
    src: impl Read,
    schema: &Schema,
    delimiter: u8,
) -> Result<Option<(Vec<LabelIssue>, usize)>, VaultError> {
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
