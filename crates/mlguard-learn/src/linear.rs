//! L2-regularised logistic regression fitted by L-BFGS: binary (sigmoid) and multinomial
//! (softmax), deterministic for given data (every sum runs in a fixed order).
//!
//! Objective, as scikit-learn's `LogisticRegression(C = 1 / l2)` but divided by n:
//! `(1/n) Σ loss_i + (l2 / 2n) ‖W‖²`, the intercepts not penalised.

use serde::{Deserialize, Serialize};

/// A dense design matrix with labels.
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    /// Features, row-major, `n × d`.
    pub x: &'a [f64],
    /// Rows.
    pub n: usize,
    /// Features per row.
    pub d: usize,
    /// Labels in `0..k`.
    pub y: &'a [u32],
    /// Number of classes (at least 2).
    pub k: usize,
}

/// How to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// L2 penalty (scikit-learn's 1/C). Default 1.
    pub l2: f64,
    /// Most L-BFGS iterations. Default 200.
    pub max_iter: usize,
    /// Stop when the largest gradient component is below this. Default 1e-8.
    pub tol: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { l2: 1.0, max_iter: 200, tol: 1e-8 }
    }
}

/// A fitted model: `outputs` linear functions of the features (1 for binary, k for more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// Number of classes.
    pub classes: usize,
    /// Features.
    pub d: usize,
    /// Weights, `outputs × d`, row-major.
    pub weights: Vec<f64>,
    /// Intercepts, one per output.
    pub intercepts: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the gradient tolerance was reached.
    pub converged: bool,
}

impl Logistic {
    /// Number of linear outputs: 1 for two classes (sigmoid), else one per class.
    pub fn outputs(&self) -> usize {
        if self.classes == 2 { 1 } else { self.classes }
    }

    /// Class probabilities of one row, written to `out` (length `classes`).
    pub fn predict_proba_into(&self, x: &[f64], out: &mut [f64]) {
        let d = self.d;
        if self.classes == 2 {
            let z = self.intercepts[0] + dot(&self.weights[..d], x);
            let p = sigmoid(z);
            out[0] = 1.0 - p;
            out[1] = p;
        } else {
            for (c, o) in out.iter_mut().enumerate() {
                *o = self.intercepts[c] + dot(&self.weights[c * d..(c + 1) * d], x);
            }
            softmax_in_place(out);
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// log(1 + e^z) without overflow.
fn log1pexp(z: f64) -> f64 {
    if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() }
}

fn softmax_in_place(z: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}

/// Objective and gradient at `theta` = [W (outputs × d) | b (outputs)].
fn objective(data: &Data<'_>, l2: f64, outputs: usize, theta: &[f64], grad: &mut [f64]) -> f64 {
    let (n, d) = (data.n, data.d);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let (gw, gb) = grad.split_at_mut(outputs * d);
    let (w, b) = theta.split_at(outputs * d);
    let mut loss = 0.0;
    let mut z = vec![0.0; outputs];
    for i in 0..n {
        let x = &data.x[i * d..(i + 1) * d];
        let y = data.y[i] as usize;
        if outputs == 1 {
            let zi = b[0] + dot(&w[..d], x);
            let t = if y == 1 { 1.0 } else { 0.0 };
            loss += log1pexp(zi) - t * zi;
            let r = sigmoid(zi) - t;
            for (g, xv) in gw.iter_mut().zip(x) {
                *g += r * xv;
            }
            gb[0] += r;
        } else {
            for (c, zc) in z.iter_mut().enumerate() {
                *zc = b[c] + dot(&w[c * d..(c + 1) * d], x);
            }
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            loss += lse - z[y];
            for c in 0..outputs {
                let r = (z[c] - lse).exp() - if c == y { 1.0 } else { 0.0 };
                for (g, xv) in gw[c * d..(c + 1) * d].iter_mut().zip(x) {
                    *g += r * xv;
                }
                gb[c] += r;
            }
        }
    }
    let inv_n = 1.0 / n as f64;
    let mut penalty = 0.0;
    for (g, wv) in gw.iter_mut().zip(w) {
        *g = (*g + l2 * wv) * inv_n;
        penalty += wv * wv;
    }
    for g in gb.iter_mut() {
        *g *= inv_n;
    }
    (loss + 0.5 * l2 * penalty) * inv_n
}

/// Fits the model. Deterministic: the same data and options give bit-identical weights.
pub fn fit(data: &Data<'_>, opts: &FitOptions) -> Logistic {
    let outputs = if data.k == 2 { 1 } else { data.k };
    let dim = outputs * (data.d + 1);
    let mut theta = vec![0.0; dim];
    let mut grad = vec![0.0; dim];
    let mut f = objective(data, opts.l2, outputs, &theta, &mut grad);
    const MEMORY: usize = 10;
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut iterations = 0;
    let mut converged = false;
    let mut new_theta = vec![0.0; dim];
    let mut new_grad = vec![0.0; dim];
    let inf_norm = |g: &[f64]| g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    while iterations < opts.max_iter {
        if inf_norm(&grad) <= opts.tol {
            converged = true;
            break;
        }
        iterations += 1;
        // Two-loop recursion: direction = -H grad.
        let mut q = grad.clone();
        let mut alpha = vec![0.0; s_hist.len()];
        for j in (0..s_hist.len()).rev() {
            let rho = 1.0 / dot(&y_hist[j], &s_hist[j]);
            alpha[j] = rho * dot(&s_hist[j], &q);
            for (qv, yv) in q.iter_mut().zip(&y_hist[j]) {
                *qv -= alpha[j] * yv;
            }
        }
        if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for j in 0..s_hist.len() {
            let rho = 1.0 / dot(&y_hist[j], &s_hist[j]);
            let beta = rho * dot(&y_hist[j], &q);
            for (qv, sv) in q.iter_mut().zip(&s_hist[j]) {
                *qv += (alpha[j] - beta) * sv;
            }
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            dir = grad.iter().map(|v| -v).collect();
            slope = dot(&grad, &dir);
        }
        // Backtracking line search (Armijo).
        let mut step = if s_hist.is_empty() { 1.0 / inf_norm(&grad).max(1.0) } else { 1.0 };
        let mut accepted = false;
        let mut f_new = f;
        for _ in 0..50 {
            for ((nt, t), dv) in new_theta.iter_mut().zip(&theta).zip(&dir) {
                *nt = t + step * dv;
            }
            f_new = objective(data, opts.l2, outputs, &new_theta, &mut new_grad);
            if f_new <= f + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            break; // no progress possible at machine precision
        }
        let s: Vec<f64> = new_theta.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = new_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        if dot(&s, &y) > 1e-12 * dot(&y, &y).max(f64::MIN_POSITIVE) {
            if s_hist.len() == MEMORY {
                s_hist.remove(0);
                y_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
        }
        let rel = (f - f_new) / f.abs().max(f_new.abs()).max(1.0);
        std::mem::swap(&mut theta, &mut new_theta);
        std::mem::swap(&mut grad, &mut new_grad);
        f = f_new;
        if rel <= 1e-15 {
            converged = inf_norm(&grad) <= opts.tol.max(1e-6);
            break;
        }
    }
    if !converged && inf_norm(&grad) <= opts.tol {
        converged = true;
    }
    let (w, b) = theta.split_at(outputs * data.d);
    Logistic {
        classes: data.k,
        d: data.d,
        weights: w.to_vec(),
        intercepts: b.to_vec(),
        iterations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::SeededStream;

    /// Data from a known linear model with label noise.
    fn synthetic(n: usize, d: usize, k: usize, seed: u8) -> (Vec<f64>, Vec<u32>) {
        let mut rng = SeededStream::new(&[seed; 32], "test data");
        let mut unif = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let true_w: Vec<f64> = (0..k * d).map(|i| ((i * 7 % 5) as f64 - 2.0) * 0.8).collect();
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..d).map(|_| unif() * 4.0 - 2.0).collect();
            let scores: Vec<f64> = (0..k).map(|c| dot(&true_w[c * d..(c + 1) * d], &row)).collect();
            let best = crate::metrics::argmax(&scores);
            y.push(if unif() < 0.1 { (best as u32 + 1) % k as u32 } else { best as u32 });
            x.extend(row);
        }
        (x, y)
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for k in [2, 3] {
            let (x, y) = synthetic(50, 4, k, 1);
            let data = Data { x: &x, n: 50, d: 4, y: &y, k };
            let outputs = if k == 2 { 1 } else { k };
            let dim = outputs * 5;
            let theta: Vec<f64> = (0..dim).map(|i| (i as f64 * 0.37).sin()).collect();
            let mut g = vec![0.0; dim];
            objective(&data, 0.7, outputs, &theta, &mut g);
            for i in 0..dim {
                let h = 1e-6;
                let mut tp = theta.clone();
                tp[i] += h;
                let mut tm = theta.clone();
                tm[i] -= h;
                let mut scratch = vec![0.0; dim];
                let fd = (objective(&data, 0.7, outputs, &tp, &mut scratch)
                    - objective(&data, 0.7, outputs, &tm, &mut scratch))
                    / (2.0 * h);
                assert!((fd - g[i]).abs() < 1e-6, "k={k} i={i}: {fd} vs {}", g[i]);
            }
        }
    }

    #[test]
    fn fits_reach_the_optimum_deterministically() {
        for k in [2, 3] {
            let (x, y) = synthetic(2000, 5, k, 2);
            let data = Data { x: &x, n: 2000, d: 5, y: &y, k };
            let m = fit(&data, &FitOptions::default());
            assert!(m.converged, "k={k} after {} iterations", m.iterations);
            let outputs = m.outputs();
            let mut theta = m.weights.clone();
            theta.extend(&m.intercepts);
            let mut g = vec![0.0; theta.len()];
            objective(&data, 1.0, outputs, &theta, &mut g);
            assert!(g.iter().all(|v| v.abs() < 1e-6), "gradient at the optimum: {g:?}");
            assert_eq!(m, fit(&data, &FitOptions::default()), "bit-identical on refit");
            let mut p = vec![0.0; k];
            let correct = (0..2000)
                .filter(|&i| {
                    m.predict_proba_into(&x[i * 5..(i + 1) * 5], &mut p);
                    crate::metrics::argmax(&p) == y[i] as usize
                })
                .count();
            assert!(correct > 1600, "k={k}: {correct}/2000 (10% label noise)");
        }
    }

    #[test]
    fn stronger_penalty_shrinks_weights() {
        let (x, y) = synthetic(500, 3, 2, 3);
        let data = Data { x: &x, n: 500, d: 3, y: &y, k: 2 };
        let weak = fit(&data, &FitOptions { l2: 0.01, ..FitOptions::default() });
        let strong = fit(&data, &FitOptions { l2: 100.0, ..FitOptions::default() });
        let norm = |m: &Logistic| m.weights.iter().map(|w| w * w).sum::<f64>();
        assert!(norm(&strong) < norm(&weak) / 4.0);
    }
}
