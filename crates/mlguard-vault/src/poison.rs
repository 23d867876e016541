//! Signs of a poisoned dataset, as one report: the model-free checks of
//! [`mlguard_data::poison`] (conflicting duplicates, floods, robust outliers, drift against
//! a baseline) and label noise by confident learning ([`mlguard_learn::noise`]). Used by
//! `mlguard data poison` and by ingestion, against the previous version.

use std::io::Read;

use mlguard_data::poison::{PoisonOptions, Profile, Reservoir, Scan};
use mlguard_data::{DataError, Role, Schema, TableReader};
use mlguard_findings::{Finding, Location, Report, Severity};
use mlguard_learn::noise::{LabelCheck, Scorer};

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

/// What [`Beside`] calls with each record.
pub type RecordFn<'a> = dyn FnMut(u64, &[&str]) -> Result<(), DataError> + Send + 'a;

/// Other work on a table's records, riding on [`check`]'s first pass on a thread of its
/// own (the table is read and split once for both): `row` sees every record, then `end`
/// runs after the last (never after a read that stopped).
pub struct Beside<'a> {
    /// Called with each record's line and cells.
    pub row: Box<RecordFn<'a>>,
    /// Called after the last record.
    pub end: Box<dyn FnOnce() -> Result<(), DataError> + Send + 'a>,
}

/// Runs every check on the table `open()` reads, in two passes over it (the model-free
/// checks, the label check and the drift profile ride on the same passes; the table is
/// read and split on a thread of its own); `baseline` is
/// an earlier version to compare distributions with, and its name; `beside` is given the
/// first pass's records as they are read. Findings are listed worst first (a capped list
/// keeps the ones that fail the check).
pub fn check<R: Read + Send, B: Read>(
    open: &dyn Fn() -> Result<R, VaultError>,
    name: &str,
    schema: &Schema,
    opts: &PoisonOptions,
    baseline: Option<(&str, B)>,
    max_findings: usize,
    beside: Option<Beside<'_>>,
) -> Result<PoisonCheck, VaultError> {
    let table = TableReader::new(open()?, opts.delimiter)?;
    let header = table.header().to_vec();
    let mut scan = Scan::new(&header, schema, opts)?;
    let mut labels = LabelPass::new(&header, scan.numeric(), schema, opts);
    let mut profile = baseline.is_some().then(|| Profile::new(&header, schema));
    let first = |_: u64, fields: &[&str]| {
        scan.first(fields);
        if let Some(l) = &mut labels {
            l.first(fields);
        }
        if let Some(p) = &mut profile {
            p.add(fields);
        }
        Ok(())
    };
    match beside {
        Some(Beside { row, end }) => table.for_each_shared(first, row, end)?,
        None => table.for_each_parallel(first)?,
    }
    scan.between();
    if let Some(l) = &mut labels {
        l.between();
    }
    // The second pass judges labels on a thread of its own, a batch of encoded rows at a
    // time, beside the reading and the model-free checks.
    let judging = labels.as_mut().and_then(LabelPass::judging);
    let judged = std::thread::scope(|s| -> Result<Option<LabelCheck>, VaultError> {
        let (batches, to_judge) = std::sync::mpsc::sync_channel::<ToJudge>(2);
        let judge = judging.map(|(scorer, mut check)| {
            s.spawn(move || {
                let mut work = Vec::new();
                for batch in to_judge {
                    batch.judge(&scorer, &mut check, &mut work);
                }
                check
            })
        });
        let mut numbers = Vec::new();
        let read = (|| -> Result<(), VaultError> {
            TableReader::new(open()?, opts.delimiter)?.for_each_parallel(|_, fields| {
                scan.numbers(fields, &mut numbers);
                scan.second(fields, &numbers);
                if let Some(full) = labels.as_mut().and_then(|l| l.second(fields, &numbers)) {
                    // A closed channel: the judge panicked, which the join below reports.
                    let _ = batches.send(full);
                }
                Ok(())
            })?;
            Ok(())
        })();
        if let Some(rest) = labels.as_mut().and_then(LabelPass::rest) {
            let _ = batches.send(rest);
        }
        drop(batches);
        let check = judge.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        read?;
        Ok(check)
    })?;
    if let (Some(l), Some(check)) = (&mut labels, judged) {
        l.judged(check);
    }
    let r = scan.finish();
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
        let old = Profile::of_reader(old, schema, opts.delimiter)?;
        let found = profile.take().map(|p| p.drift_from(old)).unwrap_or_default();
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
    if let Some(d) = labels.and_then(LabelPass::finish) {
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

/// Rows whose label confident learning doubts, as two passes over a table's rows (riding
/// on the other checks' passes). Features: numbers, and categories of up to [`MAX_LEVELS`]
/// levels one-hot (a survey of categories is checked too); never personal data, ids or
/// ignored fields.
///
/// The first pass learns the labels and category levels and keeps a uniform sample of
/// [`PoisonOptions::label_sample`] labelled rows (reservoir sampling with a fixed seed), on
/// which the out-of-fold models and thresholds are fitted between the passes; the second
/// judges every row outside the sample with them. Cost and memory are bounded by the
/// sample, not the table.
struct LabelPass<'s> {
    rows: Rows<'s>,
    capacity: usize,
    sample: Vec<Sampled>,
    reservoir: Reservoir,
    row: u64,
    labelled: u64,
    too_many: bool,
    /// After [`LabelPass::between`]: what the sample taught.
    fitted: Option<Fitted>,
}

/// The label check fitted on the sample, judging the other rows.
struct Fitted {
    means: Vec<f32>,
    /// Until the second pass hands them to the thread that judges ([`LabelPass::judging`]).
    scorer: Option<Scorer>,
    check: LabelCheck,
    /// Second pass: the row, the next sampled row's index, scratch space, the rows encoded
    /// and not yet handed over.
    row: u64,
    next: usize,
    one: Sampled,
    x: Vec<f32>,
    pending: ToJudge,
}

/// Rows to judge per batch handed to the judging thread.
const JUDGE_BATCH: usize = 4096;

/// Rows of the second pass encoded as the sample's were, with their labels and data rows:
/// what the judging thread scores.
#[derive(Default)]
struct ToJudge {
    x: Vec<f32>,
    labels: Vec<u32>,
    rows: Vec<u64>,
}

impl ToJudge {
    fn judge(&self, scorer: &Scorer, check: &mut LabelCheck, work: &mut Vec<f64>) {
        let width = self.x.len() / self.rows.len().max(1);
        for ((x, &label), &row) in
            self.x.chunks_exact(width.max(1)).zip(&self.labels).zip(&self.rows)
        {
            scorer.judge(x, label, row as usize, check, work);
        }
    }
}

impl<'s> LabelPass<'s> {
    /// `None` without a target field or features. `numeric`: the numeric features, as the
    /// model-free checks chose them ([`Scan::numeric`]: the same rule), whose values the
    /// second pass is given parsed.
    fn new(
        header: &[String],
        numeric: &[usize],
        schema: &'s Schema,
        opts: &PoisonOptions,
    ) -> Option<LabelPass<'s>> {
        let field = |h: &str| schema.field(h);
        let target =
            header.iter().position(|h| field(h).is_some_and(|f| f.role == Some(Role::Target)))?;
        let usable = |i: usize| {
            i != target
                && field(&header[i]).is_some_and(|f| {
                    !matches!(f.role, Some(Role::Id | Role::Ignore)) && f.pii.is_none()
                })
        };
        let features = numeric.to_vec();
        let categories: Vec<usize> =
            (0..header.len()).filter(|&i| usable(i) && !features.contains(&i)).collect();
        if features.is_empty() && categories.is_empty() {
            return None;
        }
        let levels = vec![Some(Vec::new()); categories.len()];
        Some(LabelPass {
            rows: Rows {
                target,
                features,
                categories,
                labels: Vec::new(),
                levels,
                missing: &schema.missing_values,
            },
            capacity: opts.label_sample.max(20),
            sample: Vec::new(),
            reservoir: Reservoir::new(LABEL_FOLD_SEED),
            row: 0,
            labelled: 0,
            too_many: false,
            fitted: None,
        })
    }

    fn first(&mut self, cells: &[&str]) {
        self.row += 1;
        let Some(label) = self.rows.learn(cells, &mut self.too_many) else { return };
        self.labelled += 1;
        let Some(slot) = self.reservoir.slot(self.sample.len(), self.capacity, self.labelled)
        else {
            return;
        };
        if slot == self.sample.len() {
            self.sample.push(Sampled::default());
        }
        self.rows.read(cells, self.row, label, &mut self.sample[slot]);
    }

    /// Fits the check on the sample.
    fn between(&mut self) {
        if self.too_many || self.rows.labels.len() < 2 || self.rows.width() == 0 {
            return;
        }
        let sample = &mut self.sample;
        sample.sort_by_key(|s| s.row);
        // Missing numbers count as the sample's mean of the column.
        let means: Vec<f32> = (0..self.rows.features.len())
            .map(|j| {
                let present: Vec<f32> =
                    sample.iter().map(|s| s.numbers[j]).filter(|v| v.is_finite()).collect();
                if present.is_empty() {
                    0.0
                } else {
                    present.iter().sum::<f32>() / present.len() as f32
                }
            })
            .collect();
        let mut columns: Vec<Vec<f32>> = vec![Vec::with_capacity(sample.len()); self.rows.width()];
        let mut x = Vec::new();
        for s in sample.iter() {
            self.rows.encode(s, &means, &mut x);
            for (c, v) in columns.iter_mut().zip(&x) {
                c.push(*v);
            }
        }
        let y: Vec<u32> = sample.iter().map(|s| s.label).collect();
        let k = self.rows.labels.len();
        let Some((mut check, scorer)) =
            mlguard_learn::noise::fit_label_check(&columns, &y, k, 5, LABEL_FOLD_SEED)
        else {
            return;
        };
        // Issues name data rows from here on.
        for issue in &mut check.issues {
            issue.row = sample[issue.row].row as usize;
        }
        self.fitted = Some(Fitted {
            means,
            scorer: Some(scorer),
            check,
            row: 0,
            next: 0,
            one: Sampled::default(),
            x,
            pending: ToJudge::default(),
        });
    }

    /// The fitted models and the sample's findings, for the thread that judges the second
    /// pass's rows (`None` when nothing was fitted, or nothing is left to judge).
    fn judging(&mut self) -> Option<(Scorer, LabelCheck)> {
        if self.sample.len() as u64 >= self.labelled {
            return None;
        }
        let f = self.fitted.as_mut()?;
        Some((f.scorer.take()?, std::mem::take(&mut f.check)))
    }

    /// The rows encoded and not yet handed over, at the end of the second pass.
    fn rest(&mut self) -> Option<ToJudge> {
        let f = self.fitted.as_mut()?;
        (!f.pending.rows.is_empty()).then(|| std::mem::take(&mut f.pending))
    }

    /// What the judging thread found, every row judged.
    fn judged(&mut self, check: LabelCheck) {
        if let Some(f) = &mut self.fitted {
            f.check = check;
        }
    }

    /// Encodes the rows outside the sample to be judged (sampled rows were judged out of
    /// fold): the row's cells and its numeric features parsed ([`Scan::numbers`]). Returns
    /// a full batch for the judging thread.
    fn second(&mut self, cells: &[&str], numbers: &[f64]) -> Option<ToJudge> {
        let f = self.fitted.as_mut()?;
        if self.sample.len() as u64 >= self.labelled {
            return None;
        }
        f.row += 1;
        let row = f.row;
        while f.next < self.sample.len() && self.sample[f.next].row < row {
            f.next += 1;
        }
        if self.sample.get(f.next).is_some_and(|s| s.row == row) {
            return None;
        }
        let label = self.rows.label_of(cells)?;
        f.one.numbers.clear();
        f.one.numbers.extend(numbers.iter().map(|&v| v as f32));
        self.rows.read_codes(cells, &mut f.one);
        self.rows.encode(&f.one, &f.means, &mut f.x);
        f.pending.x.extend_from_slice(&f.x);
        f.pending.labels.push(label);
        f.pending.rows.push(row);
        (f.pending.rows.len() >= JUDGE_BATCH).then(|| std::mem::take(&mut f.pending))
    }

    fn finish(self) -> Option<DoubtedLabels> {
        let Fitted { mut check, .. } = self.fitted?;
        check.issues.sort_by(|a, b| b.margin.total_cmp(&a.margin).then(a.row.cmp(&b.row)));
        let excess = check.excess();
        let labels = &self.rows.labels;
        let ranked = check
            .issues
            .iter()
            .map(|i| {
                (i.row as u64, labels[i.given as usize].clone(), labels[i.likely as usize].clone())
            })
            .collect();
        Some(DoubtedLabels { ranked, by_chance: check.by_chance, excess, classes: labels.len() })
    }
}

/// One labelled row as the label check reads it: its data row (1-based), class, numbers
/// (NaN when missing) and category codes (indexes into [`Rows::levels`]).
#[derive(Debug, Clone, Default)]
struct Sampled {
    row: u64,
    label: u32,
    numbers: Vec<f32>,
    codes: Vec<u8>,
}

/// What the label check reads of a table: which columns, its classes and category levels.
struct Rows<'a> {
    target: usize,
    features: Vec<usize>,
    categories: Vec<usize>,
    labels: Vec<String>,
    /// Per category column its levels, `None` once past [`MAX_LEVELS`] (left out).
    levels: Vec<Option<Vec<String>>>,
    missing: &'a [String],
}

impl Rows<'_> {
    /// The row's label, if it has one (rows without are left out, as training leaves them
    /// out).
    fn label<'c>(&self, cells: &[&'c str]) -> Option<&'c str> {
        let label = cells.get(self.target).copied().unwrap_or("");
        (!label.is_empty() && !self.missing.iter().any(|m| m == label)).then_some(label)
    }

    /// The row's class, learning new classes and category levels (the first pass); `None`
    /// without a label, or past [`MAX_CLASSES`] (then `too_many`).
    fn learn(&mut self, cells: &[&str], too_many: &mut bool) -> Option<u32> {
        let label = self.label(cells)?;
        let index = match self.labels.iter().position(|l| l == label) {
            Some(i) => i,
            None if self.labels.len() < MAX_CLASSES => {
                self.labels.push(label.to_owned());
                self.labels.len() - 1
            }
            None => {
                *too_many = true;
                return None;
            }
        };
        for (lv, &i) in self.levels.iter_mut().zip(&self.categories) {
            let Some(known) = lv else { continue };
            let cell = cells.get(i).copied().unwrap_or("");
            if !known.iter().any(|l| l == cell) {
                if known.len() < MAX_LEVELS {
                    known.push(cell.to_owned());
                } else {
                    *lv = None;
                }
            }
        }
        Some(index as u32)
    }

    /// The row's class once every class is known (the second pass).
    fn label_of(&self, cells: &[&str]) -> Option<u32> {
        let label = self.label(cells)?;
        self.labels.iter().position(|l| l == label).map(|i| i as u32)
    }

    /// Reads a row's numbers and category codes into `into`.
    fn read(&self, cells: &[&str], row: u64, label: u32, into: &mut Sampled) {
        into.row = row;
        into.label = label;
        into.numbers.clear();
        into.numbers.extend(self.features.iter().map(|&i| {
            cells
                .get(i)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .map_or(f32::NAN, |v| v as f32)
        }));
        self.read_codes(cells, into);
    }

    /// Reads a row's category codes into `into`.
    fn read_codes(&self, cells: &[&str], into: &mut Sampled) {
        into.codes.clear();
        into.codes.extend(self.levels.iter().zip(&self.categories).map(|(lv, &i)| {
            let cell = cells.get(i).copied().unwrap_or("");
            lv.as_ref().and_then(|known| known.iter().position(|l| l == cell)).unwrap_or(0) as u8
        }));
    }

    /// Features per row: the numbers, and each kept category one-hot (its first level the
    /// baseline).
    fn width(&self) -> usize {
        self.features.len()
            + self.levels.iter().flatten().map(|known| known.len().saturating_sub(1)).sum::<usize>()
    }

    /// A row's features: missing numbers as the column's mean, categories one-hot.
    fn encode(&self, s: &Sampled, means: &[f32], x: &mut Vec<f32>) {
        x.clear();
        x.extend(s.numbers.iter().zip(means).map(|(&v, &m)| if v.is_finite() { v } else { m }));
        for (lv, &code) in self.levels.iter().zip(&s.codes) {
            let Some(known) = lv else { continue };
            x.extend((1..known.len()).map(|level| f32::from(u8::from(usize::from(code) == level))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two overlapping Gaussian classes in 4 dimensions and a 3-level category, 5 % of
    /// labels flipped at random: F1 of the listed doubts on the flipped rows.
    fn f1_on_flips(rows: usize, sample: usize) -> f64 {
        let mut state = 42u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut csv = String::from("id,a,b,c,d,plan,label\n");
        let mut flipped = std::collections::BTreeSet::new();
        for i in 1..=rows {
            let class = i % 2;
            let mut x = [0.0; 4];
            for (j, v) in x.iter_mut().enumerate() {
                let (u, w) = (next().max(1e-12), next());
                let gauss = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * w).cos();
                let centre =
                    if class == 1 { 1.2 } else { -1.2 } * if j % 2 == 0 { 1.0 } else { 0.5 };
                *v = centre + gauss;
            }
            let plan = ["free", "pro", "team"][(next() * 3.0) as usize % 3];
            let label = if next() < 0.05 {
                flipped.insert(i as u64);
                1 - class
            } else {
                class
            };
            csv.push_str(&format!(
                "{i},{:.6},{:.6},{:.6},{:.6},{plan},{label}\n",
                x[0], x[1], x[2], x[3]
            ));
        }
        let schema = Schema::from_json_str(
            r#"{"fields": [
                {"name": "id", "type": "integer", "role": "id"},
                {"name": "a", "type": "number"}, {"name": "b", "type": "number"},
                {"name": "c", "type": "number"}, {"name": "d", "type": "number"},
                {"name": "plan", "type": "string"},
                {"name": "label", "type": "integer", "role": "target"}]}"#,
        )
        .expect("schema");
        let opts = PoisonOptions { label_noise: 0.05, label_sample: sample, ..Default::default() };
        let open = || Ok(csv.as_bytes());
        let c = check(&open, "t", &schema, &opts, None::<(&str, &[u8])>, usize::MAX, None)
            .expect("check");
        let listed: Vec<u64> = c
            .report
            .findings
            .iter()
            .filter(|f| f.check == "poison.label-issue")
            .filter_map(|f| f.location.row)
            .collect();
        assert_eq!(listed.len(), c.labels_listed);
        let tp = listed.iter().filter(|r| flipped.contains(r)).count() as f64;
        let (precision, recall) = (tp / listed.len() as f64, tp / flipped.len() as f64);
        2.0 * precision * recall / (precision + recall)
    }

    /// Fitting on a sample and judging every row finds flipped labels about as well as
    /// fitting on every row.
    #[test]
    fn a_sampled_label_check_finds_flips_like_a_full_one() {
        let full = f1_on_flips(12_000, 12_000);
        let sampled = f1_on_flips(12_000, 2_000);
        eprintln!("label check F1: full {full:.3}, on a 2,000-row sample {sampled:.3}");
        assert!(full >= 0.75, "{full}");
        assert!(sampled >= full - 0.03, "full {full} sampled {sampled}");
    }
}
