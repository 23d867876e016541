//! L2-regularised logistic regression fitted by L-BFGS: binary (sigmoid) and multinomial
//! (softmax), deterministic for given data (every sum runs in a fixed order).
//!
//! Objective, as scikit-learn's `LogisticRegression(C = 1 / l2)` on standardised features
//! but divided by n: `(1/n) Σ loss_i + (l2 / 2n) ‖W‖²`, the intercepts not penalised.
//!
//! Data is column-major and never materialised as a scaled matrix: numeric columns are kept
//! raw (f32, or whole numbers in one or two bytes: [`Values`]) with their mean and scale,
//! and standardisation is folded into the linear
//! function, `z = b + Σ_j w_j (x_j − m_j) / s_j + Σ_c w_c[category]`. Categorical columns
//! are category indexes (one-hot without the zeros); [`UNSEEN`] contributes nothing.

use serde::{Deserialize, Serialize};

/// Category index of a missing or unseen category: a zero one-hot vector.
pub const UNSEEN: u32 = u32::MAX;

/// A numeric column's raw values as stored: f32, or whole numbers as their distance from
/// the column's smallest (`base`) in one or two bytes. Every form reads back the same f32
/// values, so a fit on either is bit-identical; most columns of counts, scores and days are
/// a quarter or half the memory.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// Any values.
    F32(&'a [f32]),
    /// `base + v` for each byte `v`.
    U8(f32, &'a [u8]),
    /// `base + v` for each `v`.
    U16(f32, &'a [u16]),
}

impl<'a> From<&'a [f32]> for Values<'a> {
    fn from(v: &'a [f32]) -> Values<'a> {
        Values::F32(v)
    }
}

impl<'a> From<&'a Vec<f32>> for Values<'a> {
    fn from(v: &'a Vec<f32>) -> Values<'a> {
        Values::F32(v)
    }
}

impl<'a> Values<'a> {
    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::U8(_, v) => v.len(),
            Values::U16(_, v) => v.len(),
        }
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of row `i`.
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Values::F32(v) => v[i],
            Values::U8(base, v) => base + f32::from(v[i]),
            Values::U16(base, v) => base + f32::from(v[i]),
        }
    }

    /// Rows `a..b`.
    pub fn slice(&self, a: usize, b: usize) -> Values<'a> {
        match *self {
            Values::F32(v) => Values::F32(&v[a..b]),
            Values::U8(base, v) => Values::U8(base, &v[a..b]),
            Values::U16(base, v) => Values::U16(base, &v[a..b]),
        }
    }

    /// Appends its values, as f32, to `out`.
    pub fn extend_into(&self, out: &mut Vec<f32>) {
        match *self {
            Values::F32(v) => out.extend_from_slice(v),
            Values::U8(base, v) => out.extend(v.iter().map(|&x| base + f32::from(x))),
            Values::U16(base, v) => out.extend(v.iter().map(|&x| base + f32::from(x))),
        }
    }

    /// `f(x)` for the value of each of `rows`, in order.
    pub fn for_rows(&self, rows: &[u32], mut f: impl FnMut(f32)) {
        match *self {
            Values::F32(v) => rows.iter().for_each(|&i| f(v[i as usize])),
            Values::U8(base, v) => rows.iter().for_each(|&i| f(base + f32::from(v[i as usize]))),
            Values::U16(base, v) => rows.iter().for_each(|&i| f(base + f32::from(v[i as usize]))),
        }
    }

    /// The values of `rows`, in order, NaN replaced by `fill`, stored compactly: in the same
    /// form when it is one already, else as [`Stored::compact`] finds them.
    pub fn gather(&self, rows: &[u32], fill: f32) -> Stored {
        match *self {
            Values::F32(v) => Stored::compact(
                rows.iter()
                    .map(|&i| match v[i as usize] {
                        x if x.is_nan() => fill,
                        x => x,
                    })
                    .collect(),
            ),
            Values::U8(base, v) => Stored::U8(base, rows.iter().map(|&i| v[i as usize]).collect()),
            Values::U16(base, v) => {
                Stored::U16(base, rows.iter().map(|&i| v[i as usize]).collect())
            }
        }
    }

    /// `z[i] += a · x[i]` over the rows (as many as `z` has).
    fn axpy(&self, a: f64, z: &mut [f64]) {
        fn add(z: &mut [f64], a: f64, xs: impl Iterator<Item = f64>) {
            z.iter_mut().zip(xs).for_each(|(zi, x)| *zi += a * x);
        }
        match *self {
            Values::F32(v) => add(z, a, v.iter().map(|&x| f64::from(x))),
            Values::U8(base, v) => add(z, a, offsets(base, v)),
            Values::U16(base, v) => add(z, a, offsets(base, v)),
        }
    }

    /// `Σ r[i] · x[i]` over the rows, summed as [`sum4`] does.
    fn dot(&self, r: &[f64]) -> f64 {
        fn dot(r: &[f64], xs: impl Iterator<Item = f64>) -> f64 {
            sum4(r.iter().zip(xs).map(|(ri, x)| ri * x))
        }
        match *self {
            Values::F32(v) => dot(r, v.iter().map(|&x| f64::from(x))),
            Values::U8(base, v) => dot(r, offsets(base, v)),
            Values::U16(base, v) => dot(r, offsets(base, v)),
        }
    }
}

/// `base + v` for each `v`, in f64: whole numbers below 2^24 are exact in f32 and f64 alike,
/// so this is the stored f32 value widened.
fn offsets<T: Copy + Into<f64>>(base: f32, v: &[T]) -> impl Iterator<Item = f64> + '_ {
    let base = f64::from(base);
    v.iter().map(move |&x| base + x.into())
}

/// Whole numbers f32 holds exactly are those below 2^24 in magnitude.
const EXACT: f32 = 16_777_216.0;

/// Whether `x` can be stored as a distance from a whole-number base and read back the same:
/// a whole number below 2^24 in magnitude, and not -0.0 (it would read back as 0.0).
fn whole(x: f32) -> bool {
    x.fract() == 0.0 && x.abs() < EXACT && !(x == 0.0 && x.is_sign_negative())
}

/// Owned [`Values`], in the smallest form that holds them exactly.
#[derive(Debug, Clone)]
pub enum Stored {
    /// Any values.
    F32(Vec<f32>),
    /// `base + v` for each byte `v`.
    U8(f32, Vec<u8>),
    /// `base + v` for each `v`.
    U16(f32, Vec<u16>),
}

impl Stored {
    /// `values` as one or two bytes each when they are whole numbers (below 2^24 in
    /// magnitude, where f32 holds every one) spanning fewer than 256 or 65,536; as they are
    /// otherwise.
    pub fn compact(values: Vec<f32>) -> Stored {
        Stored::compact_with_room(values, false, 0)
    }

    /// A column to fill with [`Stored::extend_from_slice`], room reserved for `rows`.
    pub fn growing(rows: usize) -> Stored {
        Stored::U8(0.0, Vec::with_capacity(rows))
    }

    /// [`Stored::compact`], with `room` half the unused span below the smallest value (so
    /// values appended later, a little smaller or larger, still fit) and `rows` reserved.
    fn compact_with_room(values: Vec<f32>, room: bool, rows: usize) -> Stored {
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for &x in &values {
            if !whole(x) {
                return Stored::F32(values);
            }
            lo = lo.min(x);
            hi = hi.max(x);
        }
        if values.is_empty() {
            return Stored::F32(values);
        }
        let rows = rows.max(values.len());
        // Exact: both ends are whole numbers below 2^24, and so is the base.
        let span = hi - lo;
        let base = |top: f32| {
            if room { (lo - ((top - span) / 2.0).floor()).max(-EXACT + 1.0) } else { lo }
        };
        if span < 256.0 {
            let base = base(255.0);
            let mut v = Vec::with_capacity(rows);
            v.extend(values.iter().map(|&x| (x - base) as u8));
            Stored::U8(base, v)
        } else if span < 65_536.0 {
            let base = base(65_535.0);
            let mut v = Vec::with_capacity(rows);
            v.extend(values.iter().map(|&x| (x - base) as u16));
            Stored::U16(base, v)
        } else {
            Stored::F32(values)
        }
    }

    /// Appends `values`: as they are stored when they all fit, else everything is stored
    /// again in the form that holds it all (wider, or with a lower base; f32 from the first
    /// value that is not a whole number, such as a missing one's NaN), room for `rows` kept.
    pub fn extend_from_slice(&mut self, values: &[f32], rows: usize) {
        let fits =
            |base: f32, top: f32| values.iter().all(|&x| whole(x) && x >= base && x - base <= top);
        match self {
            Stored::F32(v) => v.extend_from_slice(values),
            Stored::U8(base, v) if fits(*base, 255.0) => {
                let base = *base;
                v.extend(values.iter().map(|&x| (x - base) as u8));
            }
            Stored::U16(base, v) if fits(*base, 65_535.0) => {
                let base = *base;
                v.extend(values.iter().map(|&x| (x - base) as u16));
            }
            _ => {
                let view = self.view();
                let mut all = Vec::with_capacity(view.len() + values.len());
                view.extend_into(&mut all);
                all.extend_from_slice(values);
                *self = Stored::compact_with_room(all, true, rows);
            }
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties it, keeping its form and at most `rows` of room.
    pub fn clear(&mut self, rows: usize) {
        match self {
            Stored::F32(v) => {
                v.clear();
                v.shrink_to(rows);
            }
            Stored::U8(_, v) => {
                v.clear();
                v.shrink_to(rows);
            }
            Stored::U16(_, v) => {
                v.clear();
                v.shrink_to(rows);
            }
        }
    }

    /// Its values.
    pub fn view(&self) -> Values<'_> {
        match self {
            Stored::F32(v) => Values::F32(v),
            Stored::U8(base, v) => Values::U8(*base, v),
            Stored::U16(base, v) => Values::U16(*base, v),
        }
    }
}

/// A numeric column with its standardisation.
#[derive(Debug, Clone, Copy)]
pub struct NumericColumn<'a> {
    /// Raw values (missing values already replaced by `mean`).
    pub values: Values<'a>,
    /// Mean subtracted.
    pub mean: f64,
    /// Scale divided by (never 0).
    pub scale: f64,
}

/// A categorical column.
#[derive(Debug, Clone, Copy)]
pub struct CategoricalColumn<'a> {
    /// Category of each row in `0..size`, or [`UNSEEN`].
    pub index: &'a [u32],
    /// Number of categories (one-hot width).
    pub size: usize,
}

/// Training data, column-major, with labels in `0..k`.
#[derive(Debug, Clone)]
pub struct Design<'a> {
    /// Rows.
    pub n: usize,
    /// Numeric columns.
    pub numeric: Vec<NumericColumn<'a>>,
    /// Categorical columns.
    pub categorical: Vec<CategoricalColumn<'a>>,
    /// Labels.
    pub y: &'a [u32],
    /// Number of classes (at least 2).
    pub k: usize,
}

impl Design<'_> {
    /// Width of the feature vector: numeric columns plus one-hot widths.
    pub fn width(&self) -> usize {
        self.numeric.len() + self.categorical.iter().map(|c| c.size).sum::<usize>()
    }
}

/// How to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// L2 penalty (scikit-learn's 1/C). Default 1.
    pub l2: f64,
    /// Most L-BFGS iterations. Default 200.
    pub max_iter: usize,
    /// Stop when the largest component of the mean loss's gradient is below this. Default
    /// 1e-4, scikit-learn's `tol` (whose lbfgs objective is also the mean loss): past it the
    /// loss moves in its seventh significant digit while iterations cost a full pass each.
    pub tol: f64,
    /// Start a fit of many rows from a fit on a fixed sample of them (see [`fit`]). Default
    /// on; off reproduces models fitted before it existed.
    #[serde(default)]
    pub warm_start: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { l2: 1.0, max_iter: 200, tol: 1e-4, warm_start: true }
    }
}

/// A fitted model on standardised, one-hot features: `outputs` linear functions
/// (1 for binary, k for more classes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// Number of classes.
    pub classes: usize,
    /// Feature width.
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

    /// Class probabilities of one encoded feature vector, written to `out`.
    pub fn predict_proba_into(&self, x: &[f64], out: &mut [f64]) {
        let d = self.d;
        if self.classes == 2 {
            let p = sigmoid(self.intercepts[0] + dot(&self.weights[..d], x));
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

/// Dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The logistic function, without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Softmax in place, stabilised.
pub fn softmax_in_place(z: &mut [f64]) {
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

/// Rows are processed in this many chunks (on as many threads), summed in chunk order: a
/// fixed number, so the result is bit-identical whatever the machine.
const CHUNKS: usize = 4;

/// Rows of a chunk processed together: their linear outputs stay in the first-level cache
/// while every column adds to them, and their feature values in the second while the
/// gradient reads them back, so each evaluation reads the table from memory once.
pub(crate) const TILE: usize = 2048;

/// Scratch buffers for the objective: per chunk, the linear outputs and residuals of one
/// tile of rows, and the raw gradient sums.
struct Work {
    chunks: Vec<Chunk>,
}

struct Chunk {
    start: usize,
    end: usize,
    z: Vec<f64>,
    g: Vec<f64>,
}

/// The rows of chunk `c` when `n` rows are fitted (see [`CHUNKS`]).
pub(crate) fn chunk_range(n: usize, c: usize) -> (usize, usize) {
    let parts = CHUNKS.min(n.max(1));
    (c * n / parts, (c + 1) * n / parts)
}

/// Number of chunks `n` rows are processed in.
pub(crate) fn chunk_count(n: usize) -> usize {
    CHUNKS.min(n.max(1))
}

impl Work {
    fn new(n: usize, outputs: usize, d: usize) -> Work {
        let chunks = (0..chunk_count(n))
            .map(|c| {
                let (start, end) = chunk_range(n, c);
                Chunk {
                    start,
                    end,
                    z: vec![0.0; outputs * TILE.min(end - start)],
                    g: vec![0.0; outputs * (d + 1)],
                }
            })
            .collect();
        Work { chunks }
    }
}

/// What a fit needs to know of its data besides the rows: the standardisation of each
/// numeric column, the width of each categorical one, and the classes.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) n: usize,
    /// Mean and scale of each numeric column.
    pub(crate) numeric: Vec<(f64, f64)>,
    /// Categories of each categorical column.
    pub(crate) categorical: Vec<usize>,
    pub(crate) k: usize,
}

impl Layout {
    fn width(&self) -> usize {
        self.numeric.len() + self.categorical.iter().sum::<usize>()
    }
}

/// Up to [`TILE`] consecutive rows: each numeric column's values, each categorical column's
/// indexes and the labels.
pub(crate) struct Tile<'a> {
    pub(crate) numeric: Vec<Values<'a>>,
    pub(crate) categorical: Vec<&'a [u32]>,
    pub(crate) y: &'a [u32],
}

/// Where the rows of a fit are read from: memory (a [`Design`]) or files the training wrote
/// (see `crate::spill`). Whatever the source, rows are taken in the same tiles and summed in
/// the same order, so the fit is the same.
pub(crate) trait Rows: Sync {
    /// Why reading failed (never, for rows in memory).
    type Error: Send;
    /// Calls `f` with rows `start..end` of one chunk (see [`chunk_range`]), [`TILE`] rows at
    /// a time from `start`, in order.
    fn tiles(
        &self,
        start: usize,
        end: usize,
        f: &mut dyn FnMut(&Tile<'_>),
    ) -> Result<(), Self::Error>;
}

impl Rows for Design<'_> {
    type Error = std::convert::Infallible;

    fn tiles(
        &self,
        start: usize,
        end: usize,
        f: &mut dyn FnMut(&Tile<'_>),
    ) -> Result<(), Self::Error> {
        let mut lo = start;
        while lo < end {
            let hi = (lo + TILE).min(end);
            f(&Tile {
                numeric: self.numeric.iter().map(|c| c.values.slice(lo, hi)).collect(),
                categorical: self.categorical.iter().map(|c| &c.index[lo..hi]).collect(),
                y: &self.y[lo..hi],
            });
            lo = hi;
        }
        Ok(())
    }
}

impl Design<'_> {
    fn layout(&self) -> Layout {
        Layout {
            n: self.n,
            numeric: self.numeric.iter().map(|c| (c.mean, c.scale)).collect(),
            categorical: self.categorical.iter().map(|c| c.size).collect(),
            k: self.k,
        }
    }
}

/// Loss and raw gradient sums of rows `chunk.start..chunk.end`: `g` holds, per output,
/// Σ r·x for numeric columns, Σ r per category, then Σ r (for the intercept), where r is
/// the residual p - y. Standardisation and the penalty are applied by the caller. Rows are
/// taken [`TILE`] at a time (the sums are still in a fixed order).
fn partial<R: Rows + ?Sized>(
    layout: &Layout,
    rows: &R,
    outputs: usize,
    w: &[f64],
    b: &[f64],
    chunk: &mut Chunk,
) -> Result<f64, R::Error> {
    let d = layout.width();
    let p = layout.numeric.len();
    // Standardisation folded into the weights: z = shift + Σ (w / scale) x.
    let mut scaled = vec![0.0; outputs * p];
    let mut shift = vec![0.0; outputs];
    for c in 0..outputs {
        let wc = &w[c * d..(c + 1) * d];
        shift[c] = b[c];
        for (j, &(mean, scale)) in layout.numeric.iter().enumerate() {
            scaled[c * p + j] = wc[j] / scale;
            shift[c] -= wc[j] * mean / scale;
        }
    }
    chunk.g.iter_mut().for_each(|v| *v = 0.0);
    let mut loss = 0.0;
    let Chunk { start, end, z: zbuf, g } = chunk;
    rows.tiles(*start, *end, &mut |tile| {
        let m = tile.y.len();
        let z = &mut zbuf[..outputs * m];
        for c in 0..outputs {
            let zc = &mut z[c * m..(c + 1) * m];
            zc.iter_mut().for_each(|v| *v = shift[c]);
            for (j, values) in tile.numeric.iter().enumerate() {
                values.axpy(scaled[c * p + j], zc);
            }
            let wc = &w[c * d..(c + 1) * d];
            let mut off = p;
            for (index, &size) in tile.categorical.iter().zip(&layout.categorical) {
                let wcat = &wc[off..off + size];
                for (zi, &idx) in zc.iter_mut().zip(index.iter()) {
                    if idx != UNSEEN {
                        *zi += wcat[idx as usize];
                    }
                }
                off += size;
            }
        }
        loss += residuals(z, tile.y, outputs);
        // Raw gradient sums.
        let (gw, gb) = g.split_at_mut(outputs * d);
        for c in 0..outputs {
            let rc = &z[c * m..(c + 1) * m];
            gb[c] += sum4(rc.iter().copied());
            let gc = &mut gw[c * d..(c + 1) * d];
            for (j, values) in tile.numeric.iter().enumerate() {
                gc[j] += values.dot(rc);
            }
            let mut off = p;
            for (index, &size) in tile.categorical.iter().zip(&layout.categorical) {
                let gcat = &mut gc[off..off + size];
                for (&ri, &idx) in rc.iter().zip(index.iter()) {
                    if idx != UNSEEN {
                        gcat[idx as usize] += ri;
                    }
                }
                off += size;
            }
        }
    })?;
    Ok(loss)
}

/// The loss of rows whose linear outputs are `z` (per output, one run of the rows) and
/// labels `y`; their residuals are written over `z`.
fn residuals(z: &mut [f64], y: &[u32], outputs: usize) -> f64 {
    let m = y.len();
    let mut loss = 0.0;
    if outputs == 1 {
        for (zi, &yi) in z.iter_mut().zip(y) {
            let t = if yi == 1 { 1.0 } else { 0.0 };
            // One exp serves both log(1 + e^z) and the sigmoid.
            let e = (-zi.abs()).exp();
            loss += zi.max(0.0) + e.ln_1p() - t * *zi;
            let sig = if *zi >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
            *zi = sig - t;
        }
    } else {
        for i in 0..m {
            let mx = (0..outputs).map(|c| z[c * m + i]).fold(f64::NEG_INFINITY, f64::max);
            let lse = mx + (0..outputs).map(|c| (z[c * m + i] - mx).exp()).sum::<f64>().ln();
            let yi = y[i] as usize;
            loss += lse - z[yi * m + i];
            for c in 0..outputs {
                z[c * m + i] = (z[c * m + i] - lse).exp() - if c == yi { 1.0 } else { 0.0 };
            }
        }
    }
    loss
}

/// A sum with four independent accumulators (vectorisable, and still a fixed order).
fn sum4(it: impl Iterator<Item = f64>) -> f64 {
    let mut acc = [0.0f64; 4];
    for (k, v) in it.enumerate() {
        acc[k & 3] += v;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Objective and gradient at `theta` = [W (outputs × d) | b (outputs)], where a row of W
/// is [numeric weights | one-hot weights of each categorical column in order].
fn objective<R: Rows + ?Sized>(
    layout: &Layout,
    rows: &R,
    l2: f64,
    outputs: usize,
    theta: &[f64],
    grad: &mut [f64],
    work: &mut Work,
) -> Result<f64, R::Error> {
    let (n, d) = (layout.n, layout.width());
    let (w, b) = theta.split_at(outputs * d);
    let losses: Vec<Result<f64, R::Error>> = std::thread::scope(|s| {
        let mut rest = work.chunks.iter_mut();
        let first = rest.next();
        let handles: Vec<_> = rest
            .map(|chunk| s.spawn(move || partial(layout, rows, outputs, w, b, chunk)))
            .collect();
        let mut out = Vec::with_capacity(CHUNKS);
        if let Some(chunk) = first {
            out.push(partial(layout, rows, outputs, w, b, chunk));
        }
        // A panicking chunk cannot happen on valid data; count it as an infinite loss so the
        // line search rejects the step instead of propagating a panic.
        out.extend(handles.into_iter().map(|h| h.join().unwrap_or(Ok(f64::INFINITY))));
        out
    });
    // Combine in chunk order.
    grad.iter_mut().for_each(|v| *v = 0.0);
    let mut loss = 0.0;
    for (chunk, l) in work.chunks.iter().zip(losses) {
        loss += l?;
        for (gv, cv) in grad.iter_mut().zip(&chunk.g) {
            *gv += cv;
        }
    }
    let inv_n = 1.0 / n as f64;
    let p = layout.numeric.len();
    let (gw, gb) = grad.split_at_mut(outputs * d);
    let mut penalty = 0.0;
    for c in 0..outputs {
        let rsum = gb[c];
        gb[c] = rsum * inv_n;
        let gc = &mut gw[c * d..(c + 1) * d];
        let wc = &w[c * d..(c + 1) * d];
        for (j, &(mean, scale)) in layout.numeric.iter().enumerate() {
            gc[j] = ((gc[j] - mean * rsum) / scale + l2 * wc[j]) * inv_n;
        }
        for j in p..d {
            gc[j] = (gc[j] + l2 * wc[j]) * inv_n;
        }
        penalty += wc.iter().map(|v| v * v).sum::<f64>();
    }
    Ok((loss + 0.5 * l2 * penalty) * inv_n)
}

/// Rows of the sample a large fit starts from (see [`fit`]).
const WARM_ROWS: usize = 65_536;

/// Fits the model. Deterministic: the same data and options give bit-identical weights.
///
/// With `warm_start`, on more than eight times [`WARM_ROWS`] rows, L-BFGS first runs on every
/// `n / WARM_ROWS`-th row (a fixed stride: no randomness) and the full fit starts where that
/// one ended: the objective is convex, so the optimum and the stopping rule are the full
/// data's, and most of the early iterations, which only find the neighbourhood of the
/// optimum, are run on a sixteenth of the rows or less. `iterations` counts the full-data
/// ones.
pub fn fit(data: &Design<'_>, opts: &FitOptions) -> Logistic {
    let sample = warm_sample(data.n, opts).map(|(stride, rows)| {
        let numeric: Vec<Vec<f32>> = data
            .numeric
            .iter()
            .map(|c| (0..rows).map(|i| c.values.get(i * stride)).collect())
            .collect();
        let categorical: Vec<Vec<u32>> = data
            .categorical
            .iter()
            .map(|c| (0..rows).map(|i| c.index[i * stride]).collect())
            .collect();
        let y: Vec<u32> = (0..rows).map(|i| data.y[i * stride]).collect();
        Sample { numeric, categorical, y }
    });
    match fit_rows(&data.layout(), data, sample.as_ref(), opts) {
        Ok(m) => m,
        Err(never) => match never {},
    }
}

/// [`fit`] starting from `start`'s parameters instead of zero (a model of the same layout,
/// fitted on rows overlapping these: a fold's model from the whole sample's): the
/// objective is convex, so the optimum and the stopping rule are the same, reached in
/// fewer iterations. A `start` of another shape is ignored.
pub fn fit_from(data: &Design<'_>, opts: &FitOptions, start: &Logistic) -> Logistic {
    let layout = data.layout();
    let outputs = if layout.k == 2 { 1 } else { layout.k };
    let d = layout.width();
    let mut theta = start.weights.clone();
    theta.extend_from_slice(&start.intercepts);
    if start.classes != layout.k || start.d != d || theta.len() != outputs * (d + 1) {
        return fit(data, opts);
    }
    match lbfgs(&layout, data, opts, outputs, theta) {
        Ok(reached) => model(&layout, reached),
        Err(never) => match never {},
    }
}

/// The warm start's sample of `n` rows under `opts` (see [`fit`]): every `stride`-th row,
/// `rows` of them, as `(stride, rows)`; `None` when the fit starts cold.
pub(crate) fn warm_sample(n: usize, opts: &FitOptions) -> Option<(usize, usize)> {
    (opts.warm_start && n > 8 * WARM_ROWS).then(|| {
        let stride = n / WARM_ROWS;
        (stride, n / stride)
    })
}

/// The rows of a warm start's sample (see [`warm_sample`]), column by column.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    pub(crate) numeric: Vec<Vec<f32>>,
    pub(crate) categorical: Vec<Vec<u32>>,
    pub(crate) y: Vec<u32>,
}

impl Sample {
    /// Adds row `r` of `block`.
    pub(crate) fn take_row(&mut self, block: &crate::spill::Block, r: usize) {
        for (v, c) in self.numeric.iter_mut().zip(&block.numeric) {
            v.push(c[r]);
        }
        for (v, c) in self.categorical.iter_mut().zip(&block.categorical) {
            v.push(c[r]);
        }
        self.y.push(block.y[r]);
    }
}

/// [`fit`] of the rows `rows` laid out as `layout`, warm-started from `sample` (the rows
/// [`warm_sample`] names, when it names any).
pub(crate) fn fit_rows<R: Rows + ?Sized>(
    layout: &Layout,
    rows: &R,
    sample: Option<&Sample>,
    opts: &FitOptions,
) -> Result<Logistic, R::Error> {
    let outputs = if layout.k == 2 { 1 } else { layout.k };
    let d = layout.width();
    let dim = outputs * (d + 1);
    let mut start = vec![0.0; dim];
    if let Some(sample) = sample {
        let n = sample.y.len();
        let design = Design {
            n,
            numeric: layout
                .numeric
                .iter()
                .zip(&sample.numeric)
                .map(|(&(mean, scale), values)| NumericColumn {
                    values: values.into(),
                    mean,
                    scale,
                })
                .collect(),
            categorical: layout
                .categorical
                .iter()
                .zip(&sample.categorical)
                .map(|(&size, index)| CategoricalColumn { index, size })
                .collect(),
            y: &sample.y,
            k: layout.k,
        };
        // The sample's penalty is weighed as the full data's would be, so both fits aim at
        // nearly the same optimum.
        let l2 = opts.l2 * n as f64 / layout.n as f64;
        match lbfgs(&design.layout(), &design, &FitOptions { l2, ..*opts }, outputs, start) {
            Ok((theta, _, _)) => start = theta,
            Err(never) => match never {},
        }
    }
    Ok(model(layout, lbfgs(layout, rows, opts, outputs, start)?))
}

/// The model of what [`lbfgs`] reached: parameters, iterations, convergence.
fn model(layout: &Layout, (theta, iterations, converged): (Vec<f64>, usize, bool)) -> Logistic {
    let d = layout.width();
    let (w, b) = theta.split_at((theta.len() / (d + 1)) * d);
    Logistic {
        classes: layout.k,
        d,
        weights: w.to_vec(),
        intercepts: b.to_vec(),
        iterations,
        converged,
    }
}

/// L-BFGS from `theta`: the parameters reached, the iterations run and whether the
/// gradient tolerance was met.
fn lbfgs<R: Rows + ?Sized>(
    layout: &Layout,
    rows: &R,
    opts: &FitOptions,
    outputs: usize,
    mut theta: Vec<f64>,
) -> Result<(Vec<f64>, usize, bool), R::Error> {
    let dim = theta.len();
    let mut work = Work::new(layout.n, outputs, layout.width());
    let mut grad = vec![0.0; dim];
    let mut f = objective(layout, rows, opts.l2, outputs, &theta, &mut grad, &mut work)?;
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
            f_new =
                objective(layout, rows, opts.l2, outputs, &new_theta, &mut new_grad, &mut work)?;
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
            break;
        }
    }
    if inf_norm(&grad) <= opts.tol.max(1e-6) {
        converged = true;
    }
    Ok((theta, iterations, converged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::SeededStream;

    /// Columns from a known linear model with 10% label noise: `d` numeric columns
    /// (shifted and scaled) and one categorical column of 3 categories.
    struct Synthetic {
        numeric: Vec<Vec<f32>>,
        cat: Vec<u32>,
        y: Vec<u32>,
    }

    fn synthetic(n: usize, d: usize, k: usize, seed: u8) -> Synthetic {
        let mut rng = SeededStream::new(&[seed; 32], "test data");
        let mut unif = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let mut numeric = vec![Vec::with_capacity(n); d];
        let mut cat = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..d).map(|_| unif() * 4.0 - 2.0).collect();
            let c = (unif() * 3.0) as u32;
            let scores: Vec<f64> = (0..k)
                .map(|cl| {
                    (0..row.len())
                        .map(|j| ((j * 7 + cl * 3) % 5) as f64 * 0.5 - 1.0)
                        .zip(&row)
                        .map(|(w, x)| w * x)
                        .sum::<f64>()
                        + if c as usize == cl { 0.8 } else { 0.0 }
                })
                .collect();
            let best = crate::metrics::argmax(&scores) as u32;
            y.push(if unif() < 0.1 { (best + 1) % k as u32 } else { best });
            for (j, v) in row.iter().enumerate() {
                numeric[j].push((v * 10.0 + 50.0) as f32);
            }
            cat.push(c);
        }
        Synthetic { numeric, cat, y }
    }

    fn design<'a>(s: &'a Synthetic, k: usize) -> Design<'a> {
        Design {
            n: s.y.len(),
            numeric: s
                .numeric
                .iter()
                .map(|v| NumericColumn { values: v.into(), mean: 50.0, scale: 10.0 })
                .collect(),
            categorical: vec![CategoricalColumn { index: &s.cat, size: 3 }],
            y: &s.y,
            k,
        }
    }

    /// Whole numbers are stored in one or two bytes when their span allows, read back as the
    /// same f32 values, and a fit on them is bit-identical to one on the f32 values.
    #[test]
    fn compact_columns_read_back_exactly_and_fit_identically() {
        let form = |v: Vec<f32>| {
            let st = Stored::compact(v.clone());
            let view = st.view();
            assert_eq!(view.len(), v.len());
            for (i, x) in v.iter().enumerate() {
                assert_eq!(view.get(i).to_bits(), x.to_bits(), "{x}");
            }
            match st {
                Stored::F32(_) => "f32",
                Stored::U8(..) => "u8",
                Stored::U16(..) => "u16",
            }
        };
        assert_eq!(form(vec![-3.0, 252.0, 0.0]), "u8");
        assert_eq!(form(vec![-3.0, 253.0]), "u16");
        assert_eq!(form(vec![100_000.0, 165_535.0]), "u16");
        assert_eq!(form(vec![100_000.0, 165_536.0]), "f32");
        assert_eq!(form(vec![1.0, 2.5]), "f32");
        assert_eq!(form(vec![1.0, f32::NAN]), "f32");
        assert_eq!(form(vec![1.0, f32::INFINITY]), "f32");
        assert_eq!(form(vec![1.0, -0.0]), "f32");
        assert_eq!(form(vec![16_777_216.0, 16_777_217.0]), "f32");
        assert_eq!(form(vec![16_777_215.0, 16_777_214.0]), "u8");
        assert_eq!(form(vec![]), "f32");

        // Grown a batch at a time: widened, re-based below, f32 from a NaN on; always the
        // values appended, read back the same.
        let batches: [&[f32]; 6] =
            [&[300.0, 310.0], &[250.0, 420.0], &[-40.0], &[60_000.0], &[7.0, f32::NAN], &[1.5]];
        let forms = ["u8", "u8", "u16", "u16", "f32", "f32"];
        let mut grown = Stored::growing(4);
        let mut all: Vec<f32> = Vec::new();
        for (batch, want) in batches.iter().zip(forms) {
            grown.extend_from_slice(batch, 16);
            all.extend_from_slice(batch);
            let view = grown.view();
            assert_eq!(view.len(), all.len());
            for (i, x) in all.iter().enumerate() {
                assert_eq!(view.get(i).to_bits(), x.to_bits(), "{x} after {batch:?}");
            }
            let form = match grown {
                Stored::F32(_) => "f32",
                Stored::U8(..) => "u8",
                Stored::U16(..) => "u16",
            };
            assert_eq!(form, want, "after {batch:?}");
        }
        grown.clear(4);
        assert!(grown.is_empty());

        // Rounded synthetic features: whole numbers spanning under 256 and under 65,536.
        for k in [2, 3] {
            let mut s = synthetic(3000, 3, k, 5);
            s.numeric[1].iter_mut().for_each(|x| *x = x.round());
            s.numeric[2].iter_mut().for_each(|x| *x = (*x * 100.0).round());
            let stored: Vec<Stored> =
                s.numeric.iter().map(|v| Stored::compact(v.clone())).collect();
            assert!(matches!(stored[0], Stored::F32(_)));
            assert!(matches!(stored[1], Stored::U8(..)));
            assert!(matches!(stored[2], Stored::U16(..)));
            let plain = design(&s, k);
            let mut compact = plain.clone();
            for (c, st) in compact.numeric.iter_mut().zip(&stored) {
                c.values = st.view();
            }
            let opts = FitOptions::default();
            assert_eq!(fit(&plain, &opts), fit(&compact, &opts), "k={k}");
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for k in [2, 3] {
            let s = synthetic(60, 3, k, 1);
            let data = design(&s, k);
            let outputs = if k == 2 { 1 } else { k };
            let dim = outputs * (data.width() + 1);
            let theta: Vec<f64> = (0..dim).map(|i| (i as f64 * 0.37).sin()).collect();
            let mut work = Work::new(60, outputs, data.width());
            let mut g = vec![0.0; dim];
            let layout = data.layout();
            let f = |t: &[f64], g: &mut [f64], work: &mut Work| match objective(
                &layout, &data, 0.7, outputs, t, g, work,
            ) {
                Ok(v) => v,
                Err(never) => match never {},
            };
            f(&theta, &mut g, &mut work);
            for i in 0..dim {
                let h = 1e-6;
                let (mut tp, mut tm) = (theta.clone(), theta.clone());
                tp[i] += h;
                tm[i] -= h;
                let mut scratch = vec![0.0; dim];
                let fd =
                    (f(&tp, &mut scratch, &mut work) - f(&tm, &mut scratch, &mut work)) / (2.0 * h);
                assert!((fd - g[i]).abs() < 1e-6, "k={k} i={i}: {fd} vs {}", g[i]);
            }
        }
    }

    #[test]
    fn fits_reach_the_optimum_deterministically() {
        for k in [2, 3] {
            let s = synthetic(3000, 4, k, 2);
            let data = design(&s, k);
            let m = fit(&data, &FitOptions::default());
            assert!(m.converged, "k={k} after {} iterations", m.iterations);
            assert_eq!(m, fit(&data, &FitOptions::default()), "bit-identical on refit");
            // Predictions from the encoded rows agree with the training objective's model.
            let mut p = vec![0.0; k];
            let correct = (0..3000)
                .filter(|&i| {
                    let mut x: Vec<f64> =
                        s.numeric.iter().map(|c| (f64::from(c[i]) - 50.0) / 10.0).collect();
                    let mut onehot = vec![0.0; 3];
                    onehot[s.cat[i] as usize] = 1.0;
                    x.extend(onehot);
                    m.predict_proba_into(&x, &mut p);
                    crate::metrics::argmax(&p) == s.y[i] as usize
                })
                .count();
            assert!(correct > 2400, "k={k}: {correct}/3000 (10% label noise)");
        }
    }

    #[test]
    fn a_warm_start_reaches_the_same_optimum_in_no_more_full_passes() {
        for k in [2, 3] {
            let s = synthetic(8 * WARM_ROWS + 1000, 4, k, 4);
            let data = design(&s, k);
            let strict = FitOptions { tol: 1e-7, ..FitOptions::default() };
            let cold = fit(&data, &FitOptions { warm_start: false, ..strict });
            let warm = fit(&data, &strict);
            assert!(cold.converged && warm.converged);
            assert!(
                warm.iterations <= cold.iterations,
                "k={k}: {} full-data iterations warm, {} cold",
                warm.iterations,
                cold.iterations
            );
            for (a, b) in warm
                .weights
                .iter()
                .chain(&warm.intercepts)
                .zip(cold.weights.iter().chain(&cold.intercepts))
            {
                assert!((a - b).abs() < 1e-4, "k={k}: {a} vs {b}");
            }
            assert_eq!(warm, fit(&data, &strict), "bit-identical on refit");
        }
    }

    #[test]
    fn stronger_penalty_shrinks_weights_and_unseen_is_zero() {
        let s = synthetic(500, 3, 2, 3);
        let data = design(&s, 2);
        let weak = fit(&data, &FitOptions { l2: 0.01, ..FitOptions::default() });
        let strong = fit(&data, &FitOptions { l2: 100.0, ..FitOptions::default() });
        let norm = |m: &Logistic| m.weights.iter().map(|w| w * w).sum::<f64>();
        assert!(norm(&strong) < norm(&weak) / 4.0);
        let unseen: Vec<u32> = vec![UNSEEN; 500];
        let blind = Design {
            categorical: vec![CategoricalColumn { index: &unseen, size: 3 }],
            ..design(&s, 2)
        };
        let m = fit(&blind, &FitOptions::default());
        assert!(
            m.weights[3..6].iter().all(|w| w.abs() < 1e-9),
            "no data, no weight: {:?}",
            &m.weights[3..6]
        );
    }
}
