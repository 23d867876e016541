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
    /// Rows repeating an earlier row's features beyond what the columns' cardinality
    /// explains (0 when there is no duplication finding).
    pub duplicated: u64,
    /// Rows whose label confident learning doubts.
    pub label_issues: usize,
    /// Of those, the most doubted, listed: as many as the expected label noise
    /// ([`PoisonOptions::label_noise`] of the rows) or as exceed what chance explains.
    pub labels_listed: usize,
    /// How many doubts chance explains: the labels the features cannot decide (see
    /// [`mlguard_learn::noise::LabelCheck::by_chance`]); `None` when no label check ran.
    pub labels_by_chance: Option<f64>,
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
    // Doubted labels: the most doubted, as many as the expected label noise or as exceed
    // what chance explains; the rest are counted (a clean survey's labels that its features
    // cannot decide are no reviewer's list).
    let (mut label_issues, mut labels_listed, mut labels_by_chance) = (0, 0, None);
    if let Some(d) = noisy_labels(open()?, schema, opts.delimiter)? {
        let share = (opts.label_noise.clamp(0.0, 1.0) * r.rows as f64).ceil() as usize;
        labels_listed = d.ranked.len().min(share.max(d.excess));
        label_issues = d.ranked.len();
        labels_by_chance = Some(d.by_chance);
        for (row, given, likely) in d.ranked.iter().take(labels_listed) {
            report.push(
                Finding::new(
                    "poison.label-issue",
                    Severity::Low,
                    format!(
                        "labelled {given:?}, but out-of-fold models confidently predict {likely:?} (confident learning, {} classes)",
                        d.classes
                    ),
                )
                .at(Location::file(name).row(*row)),
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
    if let Some(by_chance) = labels_by_chance {
        report.stat("labels_listed", labels_listed);
        report.stat("labels_doubted_by_chance", by_chance.round() as u64);
    }
    Ok(PoisonCheck {
        report,
        rows: r.rows,
        conflicts: r.conflicts.len(),
        floods: r.floods.len(),
        outliers: r.outliers.len(),
        duplicated: r.duplication.as_ref().map_or(0, |d| d.repeated),
        label_issues,
        labels_listed,
        labels_by_chance,
        drifted,
    })
}

/// A doubted label: data row (1-based), the label given, the label predicted.
type LabelIssue = (u64, String, String);

/// What the label check found: doubted rows, most doubted first, and how many of them
/// chance explains (see [`mlguard_learn::noise::LabelCheck`]).
struct DoubtedLabels {
    ranked: Vec<LabelIssue>,
    by_chance: f64,
    excess: usize,
    classes: usize,
}

/// Most levels a category column may have to join the label check (one-hot).
const MAX_LEVELS: usize = 20;

/// Rows whose label confident learning doubts; `None` without a target field, features or
/// 2–50 classes. Features: numbers, and categories of up to [`MAX_LEVELS`] levels one-hot
/// (a survey of categories is checked too); never personal data, ids or ignored fields.
fn noisy_labels(
    src: impl Read,
    schema: &Schema,
    delimiter: u8,
) -> Result<Option<DoubtedLabels>, VaultError> {
    let table = TableReader::new(src, delimiter)?;
    let header = table.header().to_vec();
    let field = |h: &str| schema.field(h);
    let Some(target) =
        header.iter().position(|h| field(h).is_some_and(|f| f.role == Some(Role::Target)))
    else {
        return Ok(None);
    };
    let usable = |i: usize| {
        i != target
            && field(&header[i]).is_some_and(|f| {
                !matches!(f.role, Some(Role::Id | Role::Ignore)) && f.pii.is_none()
            })
    };
    let is_number = |i: usize| {
        field(&header[i])
            .is_some_and(|f| matches!(f.field_type, FieldType::Number | FieldType::Integer))
    };
    let features: Vec<usize> = (0..header.len()).filter(|&i| usable(i) && is_number(i)).collect();
    let categories: Vec<usize> =
        (0..header.len()).filter(|&i| usable(i) && !is_number(i)).collect();
    if features.is_empty() && categories.is_empty() {
        return Ok(None);
    }
    let mut columns: Vec<Vec<f32>> = vec![Vec::new(); features.len()];
    // Per category column: its levels (None once past MAX_LEVELS) and each row's level.
    let mut levels: Vec<Option<Vec<String>>> = vec![Some(Vec::new()); categories.len()];
    let mut coded: Vec<Vec<u8>> = vec![Vec::new(); categories.len()];
    let mut labels: Vec<String> = Vec::new();
    let mut y: Vec<u32> = Vec::new();
    // The data row (1-based) of each labelled row: rows without a label are left out, as
    // training leaves them out.
    let mut file_rows: Vec<u64> = Vec::new();
    let mut too_many = false;
    let mut row = 0u64;
    table.for_each(|_, cells| {
        row += 1;
        let label = cells.get(target).copied().unwrap_or("");
        if label.is_empty() || schema.missing_values.iter().any(|m| m == label) {
            return Ok(());
        }
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
        file_rows.push(row);
        for (c, &i) in columns.iter_mut().zip(&features) {
            c.push(
                cells
                    .get(i)
                    .and_then(|s| s.parse::<f32>().ok())
                    .filter(|v| v.is_finite())
                    .unwrap_or(f32::NAN),
            );
        }
        for ((lv, code), &i) in levels.iter_mut().zip(&mut coded).zip(&categories) {
            let Some(known) = lv else { continue };
            let cell = cells.get(i).copied().unwrap_or("");
            let at = match known.iter().position(|l| l == cell) {
                Some(at) => at,
                None if known.len() < MAX_LEVELS => {
                    known.push(cell.to_owned());
                    known.len() - 1
                }
                None => {
                    *lv = None;
                    code.clear();
                    continue;
                }
            };
            code.push(at as u8);
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
    // Categories one-hot (the first level is the baseline).
    for (lv, code) in levels.iter().zip(&coded) {
        let Some(known) = lv else { continue };
        for level in 1..known.len() {
            columns
                .push(code.iter().map(|&c| f32::from(u8::from(usize::from(c) == level))).collect());
        }
    }
    if columns.is_empty() {
        return Ok(None);
    }
    let check = mlguard_learn::noise::label_check(&columns, &y, labels.len(), 5, LABEL_FOLD_SEED);
    let excess = check.excess();
    let ranked = check
        .issues
        .iter()
        .map(|i| {
            (file_rows[i.row], labels[y[i.row] as usize].clone(), labels[i.likely as usize].clone())
        })
        .collect();
    Ok(Some(DoubtedLabels { ranked, by_chance: check.by_chance, excess, classes: labels.len() }))
}
