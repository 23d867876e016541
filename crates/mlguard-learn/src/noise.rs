//! Label noise by confident learning (Northcutt et al., 2021): out-of-fold class
//! probabilities from our own logistic regression (k folds; the features and their
//! squares), a per-class threshold (the
//! mean probability of the class among rows labelled with it), and a row is a label issue
//! when another class is confidently predicted for it: its probability is at or above that
//! class's threshold and it is the most probable such class.
//!
//! ```
//! use mlguard_learn::noise::label_issues;
//!
//! // Two separated groups; row 3 carries the other group's label.
//! let x: Vec<f32> = vec![0.0, 0.1, 0.2, 0.15, 5.0, 5.1, 5.2, 4.9, 0.05, 5.05, 0.12, 4.95];
//! let y: Vec<u32> = vec![0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1];
//! let issues = label_issues(&[x], &y, 2, 3, 7);
//! assert_eq!(issues, vec![(3, 0)]); // row 3, most likely class 0
//! ```

use crate::cores::map_on_cores;
use crate::linear::{Design, FitOptions, Logistic, NumericColumn, fit, fit_from};

/// Rows whose label looks wrong, in row order: (0-based row, the class confidently
/// predicted for it). See [`label_check`] for the arguments.
pub fn label_issues(
    columns: &[Vec<f32>],
    y: &[u32],
    k: usize,
    folds: usize,
    seed: u64,
) -> Vec<(usize, u32)> {
    let mut issues = label_check(columns, y, k, folds, seed).issues;
    issues.sort_by_key(|i| i.row);
    issues.into_iter().map(|i| (i.row, i.likely)).collect()
}

/// A row whose label looks wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelIssue {
    /// 0-based row.
    pub row: usize,
    /// Its label.
    pub given: u32,
    /// The class confidently predicted for it.
    pub likely: u32,
    /// Out-of-fold probability of that class minus that of the given label (the ranking:
    /// cleanlab's "normalized margin").
    pub margin: f64,
}

/// What the label check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelCheck {
    /// Doubted rows, most doubted first.
    pub issues: Vec<LabelIssue>,
    /// How many rows would be doubted if every label were drawn from the out-of-fold
    /// probabilities themselves: the labels the features cannot decide (a survey's vote, a
    /// noisy outcome), not someone's edits. Σ over rows with a confident class c of
    /// 1 − p(c). Doubts beyond this are the ones worth a reviewer's time.
    pub by_chance: f64,
}

impl LabelCheck {
    /// Doubted rows beyond what chance explains, by more than chance's own spread (three
    /// times √`by_chance`, the standard deviation of a count of that many rare doubts), at
    /// least none: a clean table's doubts come out a little above or below the chance
    /// figure, and that is no finding.
    pub fn excess(&self) -> usize {
        let spread = 3.0 * self.by_chance.sqrt();
        (self.issues.len() as f64 - self.by_chance - spread).max(0.0).round() as usize
    }
}

/// Confident learning on `columns`: numeric features, column-major (missing values already
/// imputed; one-hot columns of categories welcome); `y`: labels in `0..k`; `folds`: how
/// many out-of-fold models (2 or more); `seed`: the fold assignment (a fixed seed gives a
/// reproducible report).
pub fn label_check(
    columns: &[Vec<f32>],
    y: &[u32],
    k: usize,
    folds: usize,
    seed: u64,
) -> LabelCheck {
    fit_label_check(columns, y, k, folds, seed).map(|(check, _)| check).unwrap_or_default()
}

/// [`label_check`] on a sample of a table, and a [`Scorer`] that judges the table's other
/// rows with the same thresholds: the fold models' mean probabilities against the
/// thresholds learnt out of fold on the sample. `None` when the sample is too small (fewer
/// than two rows per fold), has fewer than two classes, or its columns differ in length.
/// The fold models are fitted on both cores.
pub fn fit_label_check(
    columns: &[Vec<f32>],
    y: &[u32],
    k: usize,
    folds: usize,
    seed: u64,
) -> Option<(LabelCheck, Scorer)> {
    let n = y.len();
    let folds = folds.clamp(2, n.max(2));
    if n < 2 * folds || k < 2 || columns.iter().any(|c| c.len() != n) {
        return None;
    }
    // The squares of the standardised features join them: still a logistic regression,
    // but one that can bend its boundary around classes made of several clusters, whose
    // out-of-fold probabilities separate flipped labels much better (F1 0.73 -> 0.79 on
    // scikit-learn's make_classification, `bench/label_noise.sh`), and no worse when the
    // classes are linearly separable. (A two-valued column's square is the column again,
    // up to scale.)
    let two_valued = |c: &[f32]| {
        let other = c.iter().find(|&&v| v != c[0]).copied().unwrap_or(c[0]);
        c.iter().all(|&v| v == c[0] || v == other)
    };
    let squared: Vec<(usize, f64, f64)> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !two_valued(c))
        .map(|(j, c)| {
            let (mean, scale) = standardise(c);
            (j, mean, scale)
        })
        .collect();
    let mut expanded: Vec<Vec<f32>> = columns.to_vec();
    for &(j, mean, scale) in &squared {
        expanded.push(
            columns[j].iter().map(|&v| ((f64::from(v) - mean) / scale).powi(2) as f32).collect(),
        );
    }
    let columns = &expanded[..];
    let stats: Vec<(f64, f64)> = columns.iter().map(|c| standardise(c)).collect();
    // Fold of each row: a seeded shuffle, so classes are spread over the folds.
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut fold_of = vec![0usize; n];
    for (pos, &row) in order.iter().enumerate() {
        fold_of[row] = pos % folds;
    }

    // One model per fold, fitted on the other folds, as many at a time as there are cores
    // (each holds a copy of its training rows), each starting from the whole sample's
    // model: a fold's optimum is near it, so most of a cold start's iterations are saved.
    let opts = FitOptions { tol: 1e-4, ..FitOptions::default() };
    fn design<'a>(
        cols: &'a [Vec<f32>],
        stats: &[(f64, f64)],
        ys: &'a [u32],
        k: usize,
    ) -> Design<'a> {
        Design {
            n: ys.len(),
            numeric: cols
                .iter()
                .zip(stats)
                .map(|(values, &(mean, scale))| NumericColumn {
                    values: values.into(),
                    mean,
                    scale,
                })
                .collect(),
            categorical: Vec::new(),
            y: ys,
            k,
        }
    }
    let whole = fit(&design(columns, &stats, y, k), &opts);
    let fit_fold = |f: usize| {
        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
        let cols: Vec<Vec<f32>> =
            columns.iter().map(|c| train.iter().map(|&i| c[i]).collect()).collect();
        let ys: Vec<u32> = train.iter().map(|&i| y[i]).collect();
        fit_from(&design(&cols, &stats, &ys, k), &opts, &whole)
    };
    let models: Vec<Logistic> = map_on_cores((0..folds).collect(), fit_fold);

    // Out-of-fold probabilities.
    let mut probs = vec![0.0f64; n * k];
    let mut x = vec![0.0; columns.len()];
    for i in 0..n {
        for (j, c) in columns.iter().enumerate() {
            x[j] = (f64::from(c[i]) - stats[j].0) / stats[j].1;
        }
        models[fold_of[i]].predict_proba_into(&x, &mut probs[i * k..(i + 1) * k]);
    }

    // Per-class thresholds: mean self-confidence.
    let mut sum = vec![0.0; k];
    let mut count = vec![0usize; k];
    for i in 0..n {
        let c = y[i] as usize;
        if c < k {
            sum[c] += probs[i * k + c];
            count[c] += 1;
        }
    }
    let threshold: Vec<f64> = (0..k)
        .map(|c| if count[c] > 0 { sum[c] / count[c] as f64 } else { f64::INFINITY })
        .collect();

    let mut check = LabelCheck::default();
    for i in 0..n {
        judge(&probs[i * k..(i + 1) * k], y[i], &threshold, i, &mut check);
    }
    check.issues.sort_by(|a, b| b.margin.total_cmp(&a.margin).then(a.row.cmp(&b.row)));
    let scorer =
        Scorer { raw: expanded.len() - squared.len(), squared, stats, models, threshold, k };
    Some((check, scorer))
}

/// The mean and standard deviation (1 when constant) of a column.
fn standardise(c: &[f32]) -> (f64, f64) {
    let n = c.len().max(1) as f64;
    let mean = c.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = c.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
}

/// Judges one row by its class probabilities `p`: another class at or above its threshold
/// and the most probable such class makes it an issue; a confident class adds its doubt
/// (1 − p) to what chance explains.
fn judge(p: &[f64], label: u32, threshold: &[f64], row: usize, check: &mut LabelCheck) {
    let Some(confident) =
        (0..p.len()).filter(|&c| p[c] >= threshold[c]).max_by(|&a, &b| p[a].total_cmp(&p[b]))
    else {
        return;
    };
    check.by_chance += 1.0 - p[confident];
    if confident != label as usize {
        check.issues.push(LabelIssue {
            row,
            given: label,
            likely: confident as u32,
            margin: p[confident] - p.get(label as usize).copied().unwrap_or(0.0),
        });
    }
}

/// Judges rows outside the sample a [`fit_label_check`] learnt from.
#[derive(Debug, Clone)]
pub struct Scorer {
    /// Raw features per row.
    raw: usize,
    /// Raw columns whose standardised squares are features too: (column, mean, scale).
    squared: Vec<(usize, f64, f64)>,
    /// Standardisation of every feature, raw then squares.
    stats: Vec<(f64, f64)>,
    models: Vec<Logistic>,
    threshold: Vec<f64>,
    k: usize,
}

impl Scorer {
    /// Raw features a row must have (the columns given to [`fit_label_check`]).
    pub fn features(&self) -> usize {
        self.raw
    }

    /// Judges one row (its raw features, imputed and encoded as the sample's were, and its
    /// label) into `check`, as row `row`: the fold models' mean probabilities against the
    /// sample's thresholds. `work` is scratch space reused between calls.
    pub fn judge(
        &self,
        raw: &[f32],
        label: u32,
        row: usize,
        check: &mut LabelCheck,
        work: &mut Vec<f64>,
    ) {
        let (k, d) = (self.k, self.stats.len());
        work.clear();
        work.resize(d + 2 * k, 0.0);
        let (x, rest) = work.split_at_mut(d);
        let (p, mean) = rest.split_at_mut(k);
        for (j, &v) in raw.iter().take(self.raw).enumerate() {
            x[j] = f64::from(v);
        }
        for (s, &(j, m, sc)) in self.squared.iter().enumerate() {
            x[self.raw + s] = (((x[j] - m) / sc).powi(2) as f32).into();
        }
        for (v, &(m, sc)) in x.iter_mut().zip(&self.stats) {
            *v = (*v - m) / sc;
        }
        for model in &self.models {
            model.predict_proba_into(x, p);
            for (a, b) in mean.iter_mut().zip(p.iter()) {
                *a += b / self.models.len() as f64;
            }
        }
        judge(mean, label, &self.threshold, row, check);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two overlapping Gaussian classes in 4 dimensions, 5 % of labels flipped at random.
    #[test]
    fn finds_flipped_labels_with_f1_above_the_goal() {
        let n = 4000;
        let mut state = 42u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut gauss = || {
            let (u, v) = (next().max(1e-12), next());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        };
        let mut cols: Vec<Vec<f32>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let class = (i % 2) as u32;
            for (j, c) in cols.iter_mut().enumerate() {
                let centre =
                    if class == 1 { 1.2 } else { -1.2 } * if j % 2 == 0 { 1.0 } else { 0.5 };
                c.push((centre + gauss()) as f32);
            }
            y.push(class);
        }
        let mut flipped = Vec::new();
        let mut noisy = y.clone();
        let mut s2 = 7u64;
        for (i, label) in noisy.iter_mut().enumerate() {
            s2 = s2.wrapping_mul(6364136223846793005).wrapping_add(1);
            if (s2 >> 33) % 100 < 5 {
                *label = 1 - *label;
                flipped.push(i);
            }
        }
        // Ranked: the most doubted half are all flips; margins fall down the list.
        let check = label_check(&cols, &noisy, 2, 5, 1);
        let half = check.issues.len() / 2;
        assert!(check.issues[..half].iter().all(|i| flipped.binary_search(&i.row).is_ok()));
        assert!(check.issues.windows(2).all(|w| w[0].margin >= w[1].margin));
        // Uniform flips look like labels the features cannot decide: chance explains them.
        assert!((check.by_chance - check.issues.len() as f64).abs() < 0.2 * check.by_chance);
        let found = label_issues(&cols, &noisy, 2, 5, 1);
        assert!(found.iter().all(|&(i, c)| c == 1 - noisy[i]));
        let tp = found.iter().filter(|(i, _)| flipped.binary_search(i).is_ok()).count() as f64;
        let precision = tp / found.len() as f64;
        let recall = tp / flipped.len() as f64;
        let f1 = 2.0 * precision * recall / (precision + recall);
        eprintln!(
            "label noise: {} flipped, {} found, precision {precision:.3} recall {recall:.3} f1 {f1:.3}",
            flipped.len(),
            found.len()
        );
        assert!(f1 >= 0.75, "precision {precision:.3} recall {recall:.3} f1 {f1:.3}");
    }

    #[test]
    fn too_little_data_or_one_class_finds_nothing() {
        assert!(label_issues(&[vec![1.0, 2.0]], &[0, 1], 2, 5, 1).is_empty());
        assert!(label_issues(&[vec![1.0; 20]], &[0; 20], 1, 5, 1).is_empty());
    }
}
