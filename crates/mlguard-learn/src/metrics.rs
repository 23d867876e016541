//! Classification metrics on held-out data.

use serde::{Deserialize, Serialize};

/// Metrics of a classifier on a labelled set. A metric that is not a number (the ROC AUC of
/// a test set with one class) is stored absent, and read back as NaN: never `null`, which
/// no reader of a number accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Share of correct predictions.
    #[serde(
        default = "nan",
        skip_serializing_if = "not_finite",
        deserialize_with = "number_or_nan"
    )]
    pub accuracy: f64,
    /// Binary: precision of the positive class; more classes: macro average.
    #[serde(
        default = "nan",
        skip_serializing_if = "not_finite",
        deserialize_with = "number_or_nan"
    )]
    pub precision: f64,
    /// Binary: recall of the positive class; more classes: macro average.
    #[serde(
        default = "nan",
        skip_serializing_if = "not_finite",
        deserialize_with = "number_or_nan"
    )]
    pub recall: f64,
    /// Binary: F1 of the positive class; more classes: macro average.
    #[serde(
        default = "nan",
        skip_serializing_if = "not_finite",
        deserialize_with = "number_or_nan"
    )]
    pub f1: f64,
    /// Binary: area under the ROC curve; more classes: macro one-vs-rest over the classes
    /// that have test rows.
    #[serde(
        default = "nan",
        skip_serializing_if = "not_finite",
        deserialize_with = "number_or_nan"
    )]
    pub roc_auc: f64,
    /// Mean negative log-likelihood (probabilities clipped to [1e-15, 1 - 1e-15]).
    #[serde(
        default = "nan",
        skip_serializing_if = "not_finite",
        deserialize_with = "number_or_nan"
    )]
    pub log_loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
    /// Binary: the ROC curve, `[false positive rate, true positive rate]` from `[0, 0]` to
    /// `[1, 1]`, one point per distinct score, thinned to at most [`CURVE_POINTS`]
    /// (empty for more classes, or without both classes in the test rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roc_curve: Vec<[f64; 2]>,
    /// Binary: calibration, `[mean predicted probability, share positive]` for each tenth
    /// of the probability range that has test rows (empty for more classes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<[f64; 2]>,
    /// Rows evaluated.
    pub rows: u64,
}

fn nan() -> f64 {
    f64::NAN
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if signature")]
fn not_finite(x: &f64) -> bool {
    !x.is_finite()
}

/// A number, or NaN for `null` (as models stored before this was fixed wrote it).
fn number_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Computes the metrics from true labels (`0..k`) and predicted class probabilities
/// (`proba[i * k + c]`).
pub fn evaluate(labels: &[u32], proba: &[f64], k: usize) -> Metrics {
    let n = labels.len();
    let mut confusion = vec![vec![0u64; k]; k];
    let mut loss = 0.0;
    let mut correct = 0u64;
    for (i, &y) in labels.iter().enumerate() {
        let p = &proba[i * k..(i + 1) * k];
        let pred = argmax(p);
        confusion[y as usize][pred] += 1;
        if pred == y as usize {
            correct += 1;
        }
        loss -= p[y as usize].clamp(1e-15, 1.0 - 1e-15).ln();
    }
    let per_class = |c: usize| {
        let tp = confusion[c][c] as f64;
        let fp: f64 = (0..k).filter(|&r| r != c).map(|r| confusion[r][c] as f64).sum();
        let fn_: f64 = (0..k).filter(|&p| p != c).map(|p| confusion[c][p] as f64).sum();
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        (precision, recall, f1)
    };
    let auc_of = |c: usize| {
        let scores: Vec<f64> = (0..n).map(|i| proba[i * k + c]).collect();
        let positive: Vec<bool> = labels.iter().map(|&y| y as usize == c).collect();
        roc_auc(&scores, &positive)
    };
    let (precision, recall, f1, roc) = if k == 2 {
        let (p, r, f) = per_class(1);
        (p, r, f, auc_of(1))
    } else {
        let all: Vec<(f64, f64, f64)> = (0..k).map(per_class).collect();
        let mean = |f: fn(&(f64, f64, f64)) -> f64| all.iter().map(f).sum::<f64>() / k as f64;
        let aucs: Vec<f64> = (0..k).map(auc_of).filter(|a| a.is_finite()).collect();
        let auc =
            if aucs.is_empty() { f64::NAN } else { aucs.iter().sum::<f64>() / aucs.len() as f64 };
        (mean(|x| x.0), mean(|x| x.1), mean(|x| x.2), auc)
    };
    let (roc_curve, calibration) = if k == 2 {
        let scores: Vec<f64> = (0..n).map(|i| proba[i * k + 1]).collect();
        let positive: Vec<bool> = labels.iter().map(|&y| y == 1).collect();
        (roc_curve(&scores, &positive), calibration(&scores, &positive))
    } else {
        (Vec::new(), Vec::new())
    };
    Metrics {
        roc_curve,
        calibration,
        accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 },
        precision,
        recall,
        f1,
        roc_auc: roc,
        log_loss: if n > 0 { loss / n as f64 } else { 0.0 },
        confusion,
        rows: n as u64,
    }
}

/// Index of the largest value (the first on ties).
pub fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

/// Most points a stored curve keeps.
pub const CURVE_POINTS: usize = 101;

/// The ROC curve of `scores` for the `positive` rows (see [`Metrics::roc_curve`]).
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Vec<[f64; 2]> {
    let p = positive.iter().filter(|&&x| x).count() as f64;
    let q = positive.len() as f64 - p;
    if p == 0.0 || q == 0.0 {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![[0.0, 0.0]];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (i, &r) in idx.iter().enumerate() {
        if positive[r] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        // A point where the score changes (tied rows move the curve together).
        if idx.get(i + 1).is_none_or(|&next| scores[next] != scores[r]) {
            points.push([fp / q, tp / p]);
        }
    }
    thin(points)
}

/// At most [`CURVE_POINTS`] of `points`, evenly spaced, the first and last kept.
fn thin(points: Vec<[f64; 2]>) -> Vec<[f64; 2]> {
    if points.len() <= CURVE_POINTS {
        return points;
    }
    let last = points.len() - 1;
    (0..CURVE_POINTS).map(|i| points[i * last / (CURVE_POINTS - 1)]).collect()
}

/// Calibration of `scores` (probabilities) against the `positive` rows, by tenths (see
/// [`Metrics::calibration`]).
pub fn calibration(scores: &[f64], positive: &[bool]) -> Vec<[f64; 2]> {
    let mut bins = [(0.0f64, 0.0f64, 0u64); 10];
    for (&s, &y) in scores.iter().zip(positive) {
        if !s.is_finite() {
            continue;
        }
        let b = &mut bins[((s.clamp(0.0, 1.0) * 10.0) as usize).min(9)];
        b.0 += s;
        b.1 += f64::from(u8::from(y));
        b.2 += 1;
    }
    bins.iter().filter(|b| b.2 > 0).map(|b| [b.0 / b.2 as f64, b.1 / b.2 as f64]).collect()
}

/// Area under the ROC curve by the rank statistic (ties get half credit).
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut n_pos) = (0.0, 0u64);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &r in &idx[i..=j] {
            if positive[r] {
                rank_sum += avg_rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = scores.len() as u64 - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return f64::NAN;
    }
    (rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0) / (n_pos * n_neg) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_metrics_by_hand() {
        // labels 1,1,0,0 ; p(1) = .9 .4 .6 .1 -> predictions 1,0,1,0
        let labels = [1, 1, 0, 0];
        let proba = [0.1, 0.9, 0.6, 0.4, 0.4, 0.6, 0.9, 0.1];
        let m = evaluate(&labels, &proba, 2);
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.confusion, vec![vec![1, 1], vec![1, 1]]);
        assert_eq!((m.precision, m.recall, m.f1), (0.5, 0.5, 0.5));
        // Positives score .9 and .4, negatives .6 and .1: 3 of 4 pairs ordered right.
        assert_eq!(m.roc_auc, 0.75);
        let expected = -(0.9f64.ln() + 0.4f64.ln() + 0.4f64.ln() + 0.9f64.ln()) / 4.0;
        assert!((m.log_loss - expected).abs() < 1e-12);
    }

    #[test]
    fn roc_curve_and_calibration_by_hand() {
        // Positives score .9 and .4, negatives .6 and .1.
        let scores = [0.9, 0.4, 0.6, 0.1];
        let positive = [true, true, false, false];
        assert_eq!(
            roc_curve(&scores, &positive),
            vec![[0.0, 0.0], [0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [1.0, 1.0]]
        );
        // Ties move together: one step to the corner.
        assert_eq!(roc_curve(&[0.5, 0.5], &[true, false]), vec![[0.0, 0.0], [1.0, 1.0]]);
        assert!(roc_curve(&[0.5], &[true]).is_empty());
        assert_eq!(
            calibration(&scores, &positive),
            vec![[0.1, 0.0], [0.4, 1.0], [0.6, 0.0], [0.9, 1.0]]
        );
        // A thousand distinct scores: thinned, still from corner to corner and rising.
        let scores: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
        let positive: Vec<bool> = (0..5000).map(|i| (i * 31 + i / 3) % 5 < 2).collect();
        let curve = roc_curve(&scores, &positive);
        assert_eq!(curve.len(), CURVE_POINTS);
        assert_eq!((curve[0], curve[CURVE_POINTS - 1]), ([0.0, 0.0], [1.0, 1.0]));
        assert!(curve.windows(2).all(|w| w[0][0] <= w[1][0] && w[0][1] <= w[1][1]));
    }

    #[test]
    fn auc_ties_and_degenerate() {
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert_eq!(roc_auc(&[0.1, 0.9], &[false, true]), 1.0);
        assert!(roc_auc(&[0.1, 0.9], &[true, true]).is_nan());
        // A test set with one class: no ROC AUC, stored absent and read back (not `null`).
        let m = evaluate(&[1, 1], &[0.2, 0.8, 0.4, 0.6], 2);
        assert!(m.roc_auc.is_nan());
        let json = serde_json::to_string(&m).expect("json");
        assert!(!json.contains("roc_auc") && !json.contains("null"), "{json}");
        let back: Metrics = serde_json::from_str(&json).expect("reads back");
        assert!(back.roc_auc.is_nan() && back.accuracy == m.accuracy);
        let old = json.replacen('{', "{\"roc_auc\":null,", 1);
        assert!(serde_json::from_str::<Metrics>(&old).expect("old form").roc_auc.is_nan());
    }

    #[test]
    fn multiclass_macro() {
        let labels = [0, 1, 2];
        let proba = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
        let m = evaluate(&labels, &proba, 3);
        assert_eq!(m.accuracy, 1.0);
        assert_eq!(m.f1, 1.0);
        assert_eq!(m.roc_auc, 1.0);
    }
}
