//! Training from a CSV file and its schema: features from the schema, a seeded stratified
//! split, L-BFGS logistic regression, metrics on the held-out part.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Read;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use mlguard_data::{
    DataError, FieldType, NumericCells, PiiKind, Protect, Role, Schema, TableReader,
};

use crate::linear::{
    CategoricalColumn, Design, FitOptions, Layout, Logistic, NumericColumn, Sample, Stored, TILE,
    Tile, UNSEEN, Values, chunk_count, chunk_range, fit, fit_rows, warm_sample,
};
use crate::metrics::evaluate;
use crate::model::{CategoricalFeature, Encoding, MODEL_FORMAT, Model, ModelInfo, NumericFeature};
use crate::spill::{Block, Spill, SpillFile, SpillWriter, SpilledRows, write_block};
use crate::split::{Split, draw_groups, number_groups, stratified_split};

/// Categorical columns with more distinct values than this are left out (they identify
/// rows rather than describe them).
pub const MAX_CATEGORIES: usize = 1000;
/// Most classes a target may have.
pub const MAX_CLASSES: usize = 100;
/// Most classes a target of numbers may have: more distinct numbers are a measurement
/// (an age, a price), not a label.
pub const MAX_NUMERIC_CLASSES: usize = 20;

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The target column (default: the schema's field with `role: target`).
    pub target: Option<String>,
    /// Share of rows held out for metrics.
    pub test_size: f64,
    /// Regression options.
    pub fit: FitOptions,
    /// The split seed (from the OS CSPRNG unless reproducing).
    pub seed: [u8; 32],
    /// Field delimiter of the CSV.
    pub delimiter: u8,
    /// Keep rows with the same feature values on one side of the split
    /// ([`crate::grouped_split`]; recorded as `"split": "grouped"`). Off only to reproduce
    /// models trained before it existed: with no copies in the data both splits agree.
    pub group_duplicates: bool,
    /// Rows the table is expected to hold (its recorded count; 0 when unknown), so the
    /// loaded columns are sized once instead of grown by copying. A wrong count costs memory
    /// or copies, never a different model.
    pub expected_rows: usize,
    /// Bytes of feature values training holds in memory: a table whose values take more
    /// is trained from spill files (when [`train_columnar`] is given somewhere to put them),
    /// reading them back once per pass of the fit. The same model either way.
    pub memory_limit: usize,
}

/// The default [`TrainOptions::memory_limit`]: the features of a million rows of thirty
/// columns stay in memory (where training them takes under a second), those of ten million
/// are spilled (where holding them would take 1.2 GB).
pub const DEFAULT_MEMORY_LIMIT: usize = 160 << 20;

/// Most rows [`TrainOptions::expected_rows`] reserves room for.
const MAX_RESERVED_ROWS: usize = 1 << 26;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// No target column was given or marked in the schema.
    #[error("no target: none was given and no field is marked \"role\": \"target\"")]
    NoTarget,
    /// The target is not a field of the schema and a column of the file.
    #[error("target {0:?} is not a field of the schema and a column of the file")]
    UnknownTarget(String),
    /// Columns hold personal data and have no `protect` action.
    #[error("columns marked pii have no protect action: {}; set \"protect\" (drop, pseudonymize, mask, generalize) on each, or \"role\": \"ignore\"", .0.join(", "))]
    UnprotectedPii(Vec<String>),
    /// The data cannot train a classifier.
    #[error("{0}")]
    Unusable(String),
    /// A spill file could not be written or read back.
    #[error("cannot write or read back training's spill files: {0}")]
    Spill(#[from] std::io::Error),
}

/// A trained model and what happened.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model.
    pub model: Model,
    /// Rows used for fitting.
    pub train_rows: usize,
    /// Rows held out.
    pub test_rows: usize,
    /// Things worth telling the user (columns left out and why).
    pub notes: Vec<String>,
    /// The split, as indexes of the labelled rows in file order.
    pub split: Split,
}

enum Kind {
    /// Missing values are NaN (the column is then stored as f32).
    Numeric(NumericCells, Stored),
    Categorical(Vec<u32>, HashMap<String, u32>),
}

struct Column {
    name: String,
    pos: usize,
    kind: Kind,
}

impl Column {
    /// Adds one row's value from its CSV cell.
    fn push_cell(&mut self, cell: &str) {
        match &mut self.kind {
            Kind::Numeric(r, v) => {
                v.extend_from_slice(&[r.read(cell).map_or(f32::NAN, |x| x as f32)], 0);
            }
            Kind::Categorical(v, dict) => {
                if cell.is_empty() {
                    v.push(UNSEEN);
                } else {
                    v.push(number_value(dict, cell));
                }
            }
        }
    }
}

/// What a training run reads: the target, the feature columns planned from the schema and
/// filled row by row, the labels and each labelled row's group (a hash of its features:
/// copies of a row stay on one side of the split).
struct Loaded<'s> {
    target: String,
    target_pos: usize,
    columns: Vec<Column>,
    notes: Vec<String>,
    labels: Vec<u32>,
    groups: Vec<u64>,
    label_dict: HashMap<String, u32>,
    no_label: u64,
    /// Where to put feature values past `limit` bytes.
    spill: Option<&'s dyn Spill>,
    limit: usize,
    /// The feature values of rows loaded so far and no longer in `columns`.
    raw: Option<Raw>,
    /// Spill from the first batch (the table's recorded size is over the limit).
    spill_now: bool,
    /// Rows each column keeps room for.
    reserve: usize,
    /// A numeric column's values of the batch being added.
    batch: Vec<f32>,
}

/// Most rows in one block of spilled feature values (the columnar form's batch size).
const SPILL_ROWS: usize = mlguard_data::columnar::BATCH_ROWS;

/// Loaded feature values in a spill file: blocks of numeric then categorical columns (in
/// the order of [`Loaded::columns`]), no labels.
struct Raw {
    file: Box<dyn SpillFile>,
    out: Box<dyn SpillWriter + Send>,
    bytes: Vec<u8>,
}

impl Column {
    fn len(&self) -> usize {
        match &self.kind {
            Kind::Numeric(_, v) => v.len(),
            Kind::Categorical(v, _) => v.len(),
        }
    }
}

impl<'s> Loaded<'s> {
    /// Plans the features of a table with columns `header` from the schema; `compact`: its
    /// numeric columns arrive a batch at a time and store whole numbers compactly.
    fn plan(
        header: &[String],
        schema: &Schema,
        opts: &TrainOptions,
        spill: Option<&'s dyn Spill>,
        compact: bool,
    ) -> Result<Loaded<'s>, TrainError> {
        if !(0.0..1.0).contains(&opts.test_size) {
            return Err(TrainError::Unusable(format!(
                "the held-out share must be in [0, 1), got {}",
                opts.test_size
            )));
        }
        let target = match &opts.target {
            Some(t) => t.clone(),
            None => schema
                .fields
                .iter()
                .find(|f| f.role == Some(Role::Target))
                .map(|f| f.name.clone())
                .ok_or(TrainError::NoTarget)?,
        };
        let position = |name: &str| header.iter().position(|h| h == name);
        let target_pos = position(&target)
            .filter(|_| schema.field(&target).is_some())
            .ok_or_else(|| TrainError::UnknownTarget(target.clone()))?;
        // mlguard trains classifiers: a continuous target is refused before any work rather
        // than turned into one class per value.
        if schema.field(&target).is_some_and(|f| f.field_type == FieldType::Number) {
            return Err(TrainError::Unusable(format!(
                "the target {target} is a number field: mlguard trains classifiers, and a continuous target would become one class per value; make it categories (bins as a string or integer field) or choose a categorical target"
            )));
        }
        let mut notes = Vec::new();
        let mut unprotected = Vec::new();
        let mut columns: Vec<Column> = Vec::new();
        let mut reserve = opts.expected_rows.min(MAX_RESERVED_ROWS);
        let features = schema.fields.len();
        let spill_now = spill.is_some() && reserve.saturating_mul(4 * features) > opts.memory_limit;
        let labels_reserve = reserve;
        if spill_now {
            reserve = 0; // spilled: values are held one batch at a time
        }
        for f in &schema.fields {
            if f.name == target || matches!(f.role, Some(Role::Id | Role::Ignore)) {
                continue;
            }
            // Quasi-identifiers are features (protection generalises them for k-anonymity);
            // other personal data never is.
            if f.pii.is_some_and(|p| p != PiiKind::Quasi) {
                match f.protect {
                    None => unprotected.push(f.name.clone()),
                    Some(Protect::Drop) => {}
                    Some(p) => notes.push(format!("{}: left out (protect {p} is applied by `mlguard data protect`, not at training)", f.name)),
                }
                continue;
            }
            let Some(pos) = position(&f.name) else {
                notes.push(format!("{}: left out (not a column of the file)", f.name));
                continue;
            };
            let kind = if let Some(reader) = NumericCells::new(schema, f) {
                // The columnar form's whole numbers compactly; a CSV's cells arrive one at a
                // time, and values spilled from the first batch are written as f32: as f32.
                let values = if compact && !spill_now {
                    Stored::growing(reserve)
                } else {
                    Stored::F32(Vec::with_capacity(reserve))
                };
                Kind::Numeric(reader, values)
            } else if f.field_type == FieldType::String || f.field_type == FieldType::Any {
                Kind::Categorical(Vec::with_capacity(reserve), HashMap::new())
            } else {
                notes.push(format!(
                    "{}: left out (type {} is not used as a feature)",
                    f.name, f.field_type
                ));
                continue;
            };
            columns.push(Column { name: f.name.clone(), pos, kind });
        }
        if !unprotected.is_empty() {
            return Err(TrainError::UnprotectedPii(unprotected));
        }
        Ok(Loaded {
            target,
            target_pos,
            columns,
            notes,
            labels: Vec::with_capacity(labels_reserve),
            groups: Vec::with_capacity(labels_reserve),
            label_dict: HashMap::new(),
            no_label: 0,
            spill,
            limit: opts.memory_limit,
            raw: None,
            spill_now,
            reserve,
            batch: Vec::new(),
        })
    }

    /// Moves the feature values held in memory to the spill file once they take more than
    /// the limit, or from the first batch on when the table's recorded size is over it (and
    /// from then on after every batch).
    fn spill_if_full(&mut self) -> Result<(), TrainError> {
        let held = self.columns.first().map_or(0, Column::len);
        if held == 0 {
            return Ok(());
        }
        let full = self.spill_now || held.saturating_mul(4 * self.columns.len()) > self.limit;
        let raw = match (&mut self.raw, self.spill) {
            (Some(raw), _) => raw,
            (None, Some(spill)) if full => {
                let mut file = spill.create()?;
                let out = file.writer()?;
                self.raw.insert(Raw { file, out, bytes: Vec::new() })
            }
            _ => return Ok(()),
        };
        let mut numeric: Vec<Values<'_>> = Vec::new();
        let mut categorical: Vec<&[u32]> = Vec::new();
        for c in &self.columns {
            match &c.kind {
                Kind::Numeric(_, v) => numeric.push(v.view()),
                Kind::Categorical(v, _) => categorical.push(v),
            }
        }
        // In blocks of a batch's size: what was held when the limit was passed is written
        // a piece at a time, not copied whole (spill files hold f32).
        let mut lo = 0;
        let mut block: Vec<Vec<f32>> = vec![Vec::new(); numeric.len()];
        while lo < held {
            let hi = (lo + SPILL_ROWS).min(held);
            for (b, v) in block.iter_mut().zip(&numeric) {
                b.clear();
                v.slice(lo, hi).extend_into(b);
            }
            let numeric: Vec<&[f32]> = block.iter().map(Vec::as_slice).collect();
            let categorical: Vec<&[u32]> = categorical.iter().map(|v| &v[lo..hi]).collect();
            write_block(&mut *raw.out, hi - lo, &numeric, &categorical, None, &mut raw.bytes)?;
            lo = hi;
        }
        for c in &mut self.columns {
            match &mut c.kind {
                Kind::Numeric(_, v) => v.clear(SPILL_ROWS),
                Kind::Categorical(v, _) => {
                    v.clear();
                    v.shrink_to(SPILL_ROWS);
                }
            }
        }
        Ok(())
    }

    fn label(&mut self, y: &str) {
        let label = number_value(&mut self.label_dict, y);
        self.labels.push(label);
    }

    /// Adds one CSV record. Numeric cells are read as f32 (NaN when missing), categorical
    /// ones as dictionary indexes; the group is a hash of the feature cells' text.
    fn add_record(&mut self, fields: &[&str]) {
        let y = fields.get(self.target_pos).copied().unwrap_or("");
        if y.is_empty() {
            self.no_label += 1;
            return;
        }
        let mut h = blake3::Hasher::new();
        for c in &self.columns {
            h.update(fields.get(c.pos).copied().unwrap_or("").as_bytes());
            h.update(&[0x1f]);
        }
        self.groups
            .push(u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().unwrap_or([0; 8])));
        self.label(y);
        for c in &mut self.columns {
            c.push_cell(fields.get(c.pos).copied().unwrap_or(""));
        }
    }

    /// Adds one record batch of a columnar form (see [`mlguard_data::columnar`]): typed
    /// numbers as they are, text cells read as the CSV path reads them, nulls as missing.
    /// The group is a hash of the values the features take (so `1.5` and `1.50` are copies).
    fn add_batch(&mut self, batch: &RecordBatch) -> Result<(), TrainError> {
        let y = batch.column(self.target_pos);
        let labelled: Vec<usize> = (0..batch.num_rows())
            .filter(|&i| y.is_valid(i) && !text_at(y.as_ref(), i).is_some_and(|t| t.is_empty()))
            .collect();
        self.no_label += (batch.num_rows() - labelled.len()) as u64;
        let mut label = String::new();
        // Labels seen in this batch, by their typed value (formatting and hashing each
        // row's label text was a fifth of the loading).
        let mut few: Vec<(u64, u32)> = Vec::new();
        for &i in &labelled {
            let typed = match y.data_type() {
                DataType::Int64 => Some(y.as_primitive::<Int64Type>().value(i) as u64),
                DataType::Boolean => Some(u64::from(y.as_boolean().value(i))),
                DataType::Float64 => Some(y.as_primitive::<Float64Type>().value(i).to_bits()),
                _ => None,
            };
            if let Some(v) = typed
                && let Some(&(_, l)) = few.iter().find(|(k, _)| *k == v)
            {
                self.labels.push(l);
                continue;
            }
            label.clear();
            match y.data_type() {
                DataType::Int64 => {
                    let _ = write!(label, "{}", y.as_primitive::<Int64Type>().value(i));
                }
                DataType::Boolean => {
                    let _ = write!(label, "{}", y.as_boolean().value(i));
                }
                DataType::Float64 => {
                    let _ = write!(label, "{}", y.as_primitive::<Float64Type>().value(i));
                }
                _ => label.push_str(text_at(y.as_ref(), i).unwrap_or_default()),
            }
            let l = number_value(&mut self.label_dict, &label);
            self.labels.push(l);
            if let Some(v) = typed
                && few.len() < FEW
            {
                few.push((v, l));
            }
        }
        let all = labelled.len() == batch.num_rows();
        let first = self.groups.len();
        self.groups.resize(first + labelled.len(), 0x9e37_79b9_7f4a_7c15);
        let groups = &mut self.groups[first..];
        for c in &mut self.columns {
            let array = batch.column(c.pos).as_ref();
            match &mut c.kind {
                Kind::Numeric(reader, stored) => {
                    let values = &mut self.batch;
                    values.clear();
                    match array.data_type() {
                        // Every row labelled and no value missing: the values as they are.
                        DataType::Int64 if all && array.null_count() == 0 => {
                            let a = array.as_primitive::<Int64Type>();
                            values.extend(a.values().iter().map(|&x| x as f64 as f32));
                        }
                        DataType::Float64 if all && array.null_count() == 0 => {
                            let a = array.as_primitive::<Float64Type>();
                            values.extend(a.values().iter().map(|&x| x as f32));
                        }
                        DataType::Int64 => {
                            let a = array.as_primitive::<Int64Type>();
                            values.extend(labelled.iter().map(|&i| {
                                if a.is_valid(i) { a.value(i) as f64 as f32 } else { f32::NAN }
                            }));
                        }
                        DataType::Float64 => {
                            let a = array.as_primitive::<Float64Type>();
                            values.extend(labelled.iter().map(|&i| {
                                if a.is_valid(i) { a.value(i) as f32 } else { f32::NAN }
                            }));
                        }
                        DataType::Boolean => {
                            let a = array.as_boolean();
                            values.extend(labelled.iter().map(|&i| match a.is_valid(i) {
                                true => f32::from(u8::from(a.value(i))),
                                false => f32::NAN,
                            }));
                        }
                        _ => values.extend(labelled.iter().map(|&i| {
                            text_at(array, i)
                                .and_then(|t| reader.read(t))
                                .map_or(f32::NAN, |x| x as f32)
                        })),
                    }
                    for (g, v) in groups.iter_mut().zip(values.iter()) {
                        *g = mix(*g, u64::from(v.to_bits()));
                    }
                    stored.extend_from_slice(values, self.reserve);
                }
                Kind::Categorical(values, dict) => {
                    let start = values.len();
                    let text = array.as_string_opt::<i32>();
                    // The column's first values in this batch, scanned before hashing (a
                    // category column has a handful; comparing a few short strings is
                    // cheaper than hashing one).
                    let mut few: Vec<(&str, u32)> = Vec::new();
                    for &i in &labelled {
                        let index = match text.filter(|a| a.is_valid(i)).map(|a| a.value(i)) {
                            None | Some("") => UNSEEN,
                            Some(t) => match few.iter().find(|(k, _)| *k == t) {
                                Some(&(_, x)) => x,
                                None => {
                                    let x = number_value(dict, t);
                                    if few.len() < FEW {
                                        few.push((t, x));
                                    }
                                    x
                                }
                            },
                        };
                        values.push(index);
                    }
                    for (g, v) in groups.iter_mut().zip(&values[start..]) {
                        *g = mix(*g, u64::from(*v));
                    }
                }
            }
        }
        self.spill_if_full()
    }
}

/// Values of a column or labels looked up in a short list before the dictionary.
const FEW: usize = 8;

/// The number of `t` in `dict`, which numbers values in order of first appearance.
fn number_value(dict: &mut HashMap<String, u32>, t: &str) -> u32 {
    match dict.get(t) {
        Some(&x) => x,
        None => {
            let next = dict.len() as u32;
            *dict.entry(t.to_owned()).or_insert(next)
        }
    }
}

/// The text of row `i` of a Utf8 array (`None` when null or not text).
fn text_at(array: &dyn Array, i: usize) -> Option<&str> {
    let a = array.as_string_opt::<i32>()?;
    a.is_valid(i).then(|| a.value(i))
}

/// One step of a row's feature hash (a multiply-rotate mix: equal rows, equal hashes).
fn mix(h: u64, v: u64) -> u64 {
    (h.rotate_left(23) ^ v).wrapping_mul(0x2127_599b_f432_5c37) ^ (h >> 29)
}

/// Trains on CSV read from `src`, described by `schema`.
pub fn train<R: Read>(src: R, schema: &Schema, opts: &TrainOptions) -> Result<Trained, TrainError> {
    let table = TableReader::new(src, opts.delimiter)?;
    let mut loaded = Loaded::plan(table.header(), schema, opts, None, false)?;
    table.for_each(|_, fields| {
        loaded.add_record(fields);
        Ok(())
    })?;
    fit_loaded(loaded, schema, opts)
}

/// Trains on the columnar form of a table (see [`mlguard_data::columnar`]) read from `src`,
/// described by `schema`: no text is parsed but that of text columns read as numbers.
/// Given `spill`, feature values past [`TrainOptions::memory_limit`] bytes go to its files
/// (see [`crate::spill`]).
pub fn train_columnar<R: Read>(
    src: R,
    schema: &Schema,
    opts: &TrainOptions,
    spill: Option<&dyn Spill>,
) -> Result<Trained, TrainError> {
    let mut loaded: Option<Loaded<'_>> = None;
    let header = mlguard_data::columnar::read(src, |header, batch| {
        let l = match &mut loaded {
            Some(l) => l,
            None => loaded.insert(Loaded::plan(header, schema, opts, spill, true)?),
        };
        l.add_batch(batch)
    })?;
    let loaded = match loaded {
        Some(l) => l,
        None => Loaded::plan(&header, schema, opts, spill, true)?,
    };
    fit_loaded(loaded, schema, opts)
}

/// A feature column standardised (numeric) or renumbered (categorical) on the training
/// rows, gathered into its training and test parts; or why it was left out.
enum Prepared {
    Numeric(NumericFeature, Stored, Stored),
    Categorical(CategoricalFeature, Vec<u32>, Vec<u32>),
    LeftOut(String),
}

/// The sums a numeric column's standardisation is computed from, over the training rows in
/// file order (the same sums whether the values are in memory or spilled).
#[derive(Debug, Default, Clone, Copy)]
struct Moments {
    sum: f64,
    count: u64,
    squares: f64,
}

impl Moments {
    fn add(&mut self, x: f32) {
        if !x.is_nan() {
            self.sum += f64::from(x);
            self.count += 1;
        }
    }

    /// The mean, or why the column is left out.
    fn mean(&self, name: &str) -> Result<f64, String> {
        match self.count {
            0 => Err(format!("{name}: left out (no values in the training rows)")),
            count => Ok(self.sum / count as f64),
        }
    }

    fn add_square(&mut self, x: f32, mean: f64) {
        if !x.is_nan() {
            self.squares += (f64::from(x) - mean).powi(2);
        }
    }

    fn scale(&self) -> f64 {
        let var = self.squares / self.count as f64;
        if var > 0.0 && var.is_finite() { var.sqrt() } else { 1.0 }
    }
}

/// A categorical column's categories: those of `dict` (value -> number) whose numbers are
/// `seen` in the training rows, sorted, with each number's new index ([`UNSEEN`] for the
/// others); or why the column is left out.
fn categories(
    name: &str,
    dict: HashMap<String, u32>,
    seen: &[bool],
) -> Result<(CategoricalFeature, Vec<u32>), String> {
    let distinct = seen.iter().filter(|&&s| s).count();
    if distinct > MAX_CATEGORIES {
        return Err(format!(
            "{name}: left out ({distinct} distinct values: an identifier, not a category)"
        ));
    }
    let mut to_new = vec![UNSEEN; dict.len()];
    let mut names: Vec<(String, u32)> =
        dict.into_iter().filter(|(_, i)| seen.get(*i as usize).copied().unwrap_or(false)).collect();
    names.sort();
    for (new, (_, old)) in names.iter().enumerate() {
        if let Some(slot) = to_new.get_mut(*old as usize) {
            *slot = new as u32;
        }
    }
    let feature = CategoricalFeature {
        name: name.to_owned(),
        categories: names.into_iter().map(|(n, _)| n).collect(),
    };
    Ok((feature, to_new))
}

/// A category number renumbered by `to_new`.
fn renumber(to_new: &[u32], x: u32) -> u32 {
    if x == UNSEEN { UNSEEN } else { to_new.get(x as usize).copied().unwrap_or(UNSEEN) }
}

/// Prepares one loaded column for the fit (see [`Prepared`]).
fn prepare(c: Column, split: &Split) -> Prepared {
    match c.kind {
        Kind::Numeric(_, stored) => {
            let v = stored.view();
            let mut m = Moments::default();
            v.for_rows(&split.train, |x| m.add(x));
            let mean = match m.mean(&c.name) {
                Ok(mean) => mean,
                Err(note) => return Prepared::LeftOut(note),
            };
            v.for_rows(&split.train, |x| m.add_square(x, mean));
            // Missing values (NaN, only in f32 columns) become the mean.
            Prepared::Numeric(
                NumericFeature { name: c.name, mean, scale: m.scale() },
                v.gather(&split.train, mean as f32),
                v.gather(&split.test, mean as f32),
            )
        }
        Kind::Categorical(v, dict) => {
            // Which of the column's values the training rows hold (values are numbered
            // 0..dict.len()).
            let mut seen = vec![false; dict.len()];
            for &i in &split.train {
                if let Some(s) = seen.get_mut(v[i as usize] as usize) {
                    *s = true;
                }
            }
            let (feature, to_new) = match categories(&c.name, dict, &seen) {
                Ok(c) => c,
                Err(note) => return Prepared::LeftOut(note),
            };
            let mapped: Vec<u32> = v.iter().map(|&x| renumber(&to_new, x)).collect();
            Prepared::Categorical(
                feature,
                gather(&mapped, &split.train),
                gather(&mapped, &split.test),
            )
        }
    }
}

/// The values of `v` at `rows`, in order.
fn gather<T: Copy>(v: &[T], rows: &[u32]) -> Vec<T> {
    rows.iter().map(|&i| v[i as usize]).collect()
}

/// Probabilities of a tile's rows (`k` per row, appended to `proba`) from their prepared
/// columns.
fn score(
    tile: &Tile<'_>,
    features: (&[NumericFeature], &[CategoricalFeature]),
    logistic: &Logistic,
    proba: &mut Vec<f64>,
) {
    let (numeric, categorical, rows) = (&tile.numeric, &tile.categorical, tile.y.len());
    let k = logistic.classes;
    let mut x = vec![0.0; logistic.d];
    for i in 0..rows {
        let mut j = 0;
        for (col, f) in numeric.iter().zip(features.0) {
            x[j] = (f64::from(col.get(i)) - f.mean) / f.scale;
            j += 1;
        }
        for (col, f) in categorical.iter().zip(features.1) {
            for c in 0..f.categories.len() {
                x[j + c] = if col[i] == c as u32 { 1.0 } else { 0.0 };
            }
            j += f.categories.len();
        }
        let at = proba.len();
        proba.resize(at + k, 0.0);
        logistic.predict_proba_into(&x, &mut proba[at..]);
    }
}

/// What a fit produced, before it becomes a [`Trained`].
struct Fitted {
    numeric: Vec<NumericFeature>,
    categorical: Vec<CategoricalFeature>,
    logistic: Logistic,
    /// Labels and probabilities of the held-out rows.
    y_test: Vec<u32>,
    proba: Vec<f64>,
}

/// Splits, fits and evaluates what was loaded.
fn fit_loaded(
    mut loaded: Loaded<'_>,
    schema: &Schema,
    opts: &TrainOptions,
) -> Result<Trained, TrainError> {
    if loaded.raw.is_some() {
        loaded.spill_if_full()?;
    }
    let Loaded {
        target,
        columns,
        mut notes,
        mut labels,
        groups,
        label_dict,
        no_label,
        raw,
        spill,
        ..
    } = loaded;
    if no_label > 0 {
        notes.push(format!("{no_label} row(s) without a {target} value were left out"));
    }
    // Classes in a stable order: numerically when every label is a number.
    let mut classes: Vec<String> = label_dict.keys().cloned().collect();
    if classes.iter().all(|c| c.parse::<f64>().is_ok()) {
        classes.sort_by(|a, b| {
            a.parse::<f64>().unwrap_or(0.0).total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    } else {
        classes.sort();
    }
    if classes.len() < 2 {
        return Err(TrainError::Unusable(format!(
            "the target {target} has {} class(es); a classifier needs at least two",
            classes.len()
        )));
    }
    let numeric = classes.iter().all(|c| c.parse::<f64>().is_ok());
    if numeric && classes.len() > MAX_NUMERIC_CLASSES {
        return Err(TrainError::Unusable(format!(
            "the target {target} has {} distinct numbers: that is a measurement, not a label (mlguard trains classifiers); make it categories (bins) or choose a categorical target",
            classes.len()
        )));
    }
    if classes.len() > MAX_CLASSES {
        return Err(TrainError::Unusable(format!(
            "the target {target} has {} classes (limit {MAX_CLASSES}): is it really a label?",
            classes.len()
        )));
    }
    let remap: Vec<u32> = {
        let mut m = vec![0u32; classes.len()];
        for (new, c) in classes.iter().enumerate() {
            m[label_dict[c] as usize] = new as u32;
        }
        m
    };
    for y in &mut labels {
        *y = remap[*y as usize];
    }
    if labels.len() < 10 {
        return Err(TrainError::Unusable(format!(
            "{} labelled rows are too few to train and test",
            labels.len()
        )));
    }

    if u32::try_from(labels.len()).is_err() {
        return Err(TrainError::Unusable(format!(
            "{} labelled rows: mlguard trains on at most {} rows",
            labels.len(),
            u32::MAX
        )));
    }
    let split = if opts.group_duplicates {
        let rows = labels.len();
        // The row keys go as soon as the groups are numbered (80 MB at ten million rows).
        let group_of = number_groups(groups, rows);
        let split = draw_groups(&labels, &group_of, opts.test_size, &opts.seed);
        if split.groups < rows {
            notes.push(format!(
                "{} row(s) repeat another row's features: every copy kept on the same side of the split",
                rows - split.groups
            ));
        }
        split
    } else {
        drop(groups);
        stratified_split(&labels, opts.test_size, &opts.seed)
    };
    let k = classes.len();
    let input = FitInput { labels: &labels, split: &split, k, opts };
    let fitted = match (raw, spill) {
        (Some(Raw { file, out, .. }), Some(spill)) => {
            out.finish()?;
            fit_spilled(spill, &*file, columns, input, &mut notes)?
        }
        _ => fit_in_memory(columns, input, &mut notes)?,
    };
    let Fitted { numeric, categorical, logistic, y_test, proba } = fitted;
    let metrics = evaluate(&y_test, &proba, k);
    let n_test = split.test.len();
    let mut provenance = BTreeMap::new();
    provenance.insert("train_rows".to_owned(), split.train.len().into());
    provenance.insert("test_rows".to_owned(), n_test.into());
    provenance.insert("test_size".to_owned(), opts.test_size.into());
    if opts.group_duplicates {
        provenance.insert("split".to_owned(), "grouped".into());
    }
    provenance.insert("l2".to_owned(), opts.fit.l2.into());
    provenance.insert("max_iter".to_owned(), opts.fit.max_iter.into());
    provenance.insert("tol".to_owned(), opts.fit.tol.into());
    provenance.insert("warm_start".to_owned(), opts.fit.warm_start.into());
    let info = ModelInfo {
        format: MODEL_FORMAT,
        encoding: Encoding { target, classes, numeric, categorical },
        metrics,
        threshold: 0.5,
        schema: schema.to_json(),
        provenance,
    };
    Ok(Trained {
        model: Model { info, logistic },
        train_rows: split.train.len(),
        test_rows: n_test,
        notes,
        split,
    })
}

/// What both fits (in memory, spilled) start from besides the feature columns.
#[derive(Clone, Copy)]
struct FitInput<'a> {
    /// Every labelled row's class.
    labels: &'a [u32],
    split: &'a Split,
    /// Number of classes.
    k: usize,
    opts: &'a TrainOptions,
}

/// The fit of feature columns held in memory: prepared on every core, then fitted.
fn fit_in_memory(
    columns: Vec<Column>,
    input: FitInput<'_>,
    notes: &mut Vec<String>,
) -> Result<Fitted, TrainError> {
    let FitInput { labels, split, k, opts } = input;
    // Standardise on the training rows only; missing values become the mean. One column
    // after another on this thread, which loaded them: each column's training and test
    // parts then reuse the memory of the column before (on other threads the allocator held
    // both, a third more than the fit needs, for the whole fit), and this takes ~50 ms.
    let mut numeric_features = Vec::new();
    let mut numeric_train: Vec<Stored> = Vec::new();
    let mut numeric_test: Vec<Stored> = Vec::new();
    let mut categorical_features = Vec::new();
    let mut cat_train: Vec<Vec<u32>> = Vec::new();
    let mut cat_test: Vec<Vec<u32>> = Vec::new();
    for prepared in columns.into_iter().map(|c| prepare(c, split)) {
        match prepared {
            Prepared::Numeric(f, train, test) => {
                numeric_train.push(train);
                numeric_test.push(test);
                numeric_features.push(f);
            }
            Prepared::Categorical(f, train, test) => {
                cat_train.push(train);
                cat_test.push(test);
                categorical_features.push(f);
            }
            Prepared::LeftOut(note) => notes.push(note),
        }
    }
    if numeric_features.is_empty() && categorical_features.is_empty() {
        return Err(TrainError::Unusable("no usable feature columns".into()));
    }
    let y_train = gather(labels, &split.train);
    let train_design = Design {
        n: split.train.len(),
        numeric: numeric_train
            .iter()
            .zip(&numeric_features)
            .map(|(v, f)| NumericColumn { values: v.view(), mean: f.mean, scale: f.scale })
            .collect(),
        categorical: cat_train
            .iter()
            .zip(&categorical_features)
            .map(|(v, f)| CategoricalColumn { index: v, size: f.categories.len() })
            .collect(),
        y: &y_train,
        k,
    };
    let logistic = fit(&train_design, &opts.fit);
    drop(train_design);
    drop(numeric_train);
    drop(cat_train);
    // Held-out probabilities, from the same encoding a predictor uses.
    let mut proba = Vec::with_capacity(split.test.len() * k);
    let y_test = gather(labels, &split.test);
    let test = Tile {
        numeric: numeric_test.iter().map(Stored::view).collect(),
        categorical: cat_test.iter().map(Vec::as_slice).collect(),
        y: &y_test,
    };
    score(&test, (&numeric_features, &categorical_features), &logistic, &mut proba);
    Ok(Fitted {
        numeric: numeric_features,
        categorical: categorical_features,
        logistic,
        y_test,
        proba,
    })
}

/// The spill file of loaded values does not hold the rows loaded.
fn overlong() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the spilled feature values do not match the rows loaded",
    )
}

/// How a loaded column enters a spilled fit (its index among the kept numeric or
/// categorical columns, and how to prepare its values), or that it is left out.
enum Plan {
    Numeric(usize, f64),
    Categorical(usize, Vec<u32>),
    LeftOut,
}

/// The fit of feature columns spilled to `raw` while loading (see [`Raw`]): the values are
/// read back three times (the training rows' sums; their spread, with the rows prepared and
/// written out by part of the fit; the held-out rows scored), never all held at once. The
/// arithmetic is [`fit_in_memory`]'s, in the same order: the same model.
fn fit_spilled(
    spill: &dyn Spill,
    raw: &dyn SpillFile,
    columns: Vec<Column>,
    input: FitInput<'_>,
    notes: &mut Vec<String>,
) -> Result<Fitted, TrainError> {
    let FitInput { labels, split, k, opts } = input;
    let mut is_test = vec![false; labels.len()];
    for &i in &split.test {
        is_test[i as usize] = true;
    }
    let numeric_count = columns.iter().filter(|c| matches!(c.kind, Kind::Numeric(..))).count();
    let categorical_count = columns.len() - numeric_count;
    // Where each column's values are in a raw block: its index among the numeric or the
    // categorical columns.
    let mut counts = [0usize; 2];
    let slot: Vec<usize> = columns
        .iter()
        .map(|col| {
            let kind = usize::from(matches!(col.kind, Kind::Categorical(..)));
            counts[kind] += 1;
            counts[kind] - 1
        })
        .collect();
    let mut block = Block::new(numeric_count, categorical_count);

    // Pass 1: the training rows' sums and categories.
    let mut moments = vec![Moments::default(); numeric_count];
    let mut seen: Vec<Vec<bool>> = columns
        .iter()
        .filter_map(|c| match &c.kind {
            Kind::Categorical(_, dict) => Some(vec![false; dict.len()]),
            Kind::Numeric(..) => None,
        })
        .collect();
    let mut src = raw.reader()?;
    let mut first = 0;
    while let Some(m) = block.read(&mut *src, false)? {
        let test = is_test.get(first..first + m).ok_or_else(overlong)?;
        for (values, mo) in block.numeric.iter().zip(&mut moments) {
            for (&x, _) in values.iter().zip(test).filter(|(_, t)| !**t) {
                mo.add(x);
            }
        }
        for (values, s) in block.categorical.iter().zip(&mut seen) {
            for (&x, _) in values.iter().zip(test).filter(|(_, t)| !**t) {
                if let Some(s) = s.get_mut(x as usize) {
                    *s = true;
                }
            }
        }
        first += m;
    }
    if first != labels.len() {
        return Err(overlong().into());
    }
    let mut plans = Vec::with_capacity(columns.len());
    let (mut numeric_features, mut categorical_features) = (Vec::new(), Vec::new());
    for (c, &at) in columns.into_iter().zip(&slot) {
        let plan = match c.kind {
            Kind::Numeric(..) => match moments[at].mean(&c.name) {
                Ok(mean) => {
                    numeric_features.push(NumericFeature { name: c.name, mean, scale: 1.0 });
                    Plan::Numeric(numeric_features.len() - 1, mean)
                }
                Err(note) => {
                    notes.push(note);
                    Plan::LeftOut
                }
            },
            Kind::Categorical(_, dict) => match categories(&c.name, dict, &seen[at]) {
                Ok((feature, to_new)) => {
                    categorical_features.push(feature);
                    Plan::Categorical(categorical_features.len() - 1, to_new)
                }
                Err(note) => {
                    notes.push(note);
                    Plan::LeftOut
                }
            },
        };
        plans.push((plan, at));
    }
    if numeric_features.is_empty() && categorical_features.is_empty() {
        return Err(TrainError::Unusable("no usable feature columns".into()));
    }

    // Pass 2: the training rows' spread; every row prepared and written, training rows by
    // chunk of the fit and held-out rows to a file of their own, in tiles; the warm start's
    // sample kept.
    let n_train = split.train.len();
    let chunks = chunk_count(n_train);
    let mut chunk_files: Vec<Box<dyn SpillFile>> = Vec::with_capacity(chunks);
    let mut test_file = spill.create()?;
    let mut test_out = test_file.writer()?;
    let (nf, cf) = (numeric_features.len(), categorical_features.len());
    let mut train_tile = Block::new(nf, cf);
    let mut test_tile = Block::new(nf, cf);
    let sampling = warm_sample(n_train, &opts.fit);
    let mut sample = sampling.map(|_| Sample {
        numeric: vec![Vec::new(); nf],
        categorical: vec![Vec::new(); cf],
        y: Vec::new(),
    });
    let mut chunk = 0;
    let mut chunk_end = chunk_range(n_train, 0).1;
    let mut chunk_out: Option<Box<dyn SpillWriter + Send>> = None;
    let mut t = 0; // training rows so far
    let mut prepared = Block::new(nf, cf);
    let mut src = raw.reader()?;
    let mut first = 0;
    while let Some(m) = block.read(&mut *src, false)? {
        let (Some(test), Some(y)) = (is_test.get(first..first + m), labels.get(first..first + m))
        else {
            return Err(overlong().into());
        };
        // The block prepared column by column.
        for (plan, at) in &plans {
            match plan {
                Plan::Numeric(j, mean) => {
                    let values = &block.numeric[*at];
                    let mo = &mut moments[*at];
                    for (&x, _) in values.iter().zip(test).filter(|(_, t)| !**t) {
                        mo.add_square(x, *mean);
                    }
                    let fill = *mean as f32;
                    let out = &mut prepared.numeric[*j];
                    out.clear();
                    out.extend(values.iter().map(|&x| if x.is_nan() { fill } else { x }));
                }
                Plan::Categorical(j, to_new) => {
                    let out = &mut prepared.categorical[*j];
                    out.clear();
                    out.extend(block.categorical[*at].iter().map(|&x| renumber(to_new, x)));
                }
                Plan::LeftOut => {}
            }
        }
        prepared.y.clear();
        prepared.y.extend_from_slice(y);
        // Then dealt out in runs of rows on one side, cut at tiles and chunks.
        let mut a = 0;
        while a < m {
            let side = test[a];
            let run_end = a + test[a..].iter().take_while(|&&t| t == side).count();
            if side {
                let b = run_end.min(a + TILE - test_tile.y.len());
                test_tile.extend_from(&prepared, a, b);
                if test_tile.y.len() == TILE {
                    test_tile.write(&mut *test_out, TILE, true)?;
                    test_tile.clear();
                }
                a = b;
                continue;
            }
            let b = run_end.min(a + TILE - train_tile.y.len()).min(a + chunk_end - t);
            if let (Some(s), Some((stride, rows))) = (&mut sample, sampling) {
                for r in a..b {
                    let u = t + r - a;
                    if u % stride == 0 && u / stride < rows {
                        s.take_row(&prepared, r);
                    }
                }
            }
            train_tile.extend_from(&prepared, a, b);
            t += b - a;
            a = b;
            let in_tile = train_tile.y.len();
            if in_tile == TILE || t == chunk_end {
                let out = match &mut chunk_out {
                    Some(out) => out,
                    None => {
                        let mut file = spill.create()?;
                        let out = file.writer()?;
                        chunk_files.push(file);
                        chunk_out.insert(out)
                    }
                };
                train_tile.write(&mut **out, in_tile, true)?;
                train_tile.clear();
            }
            if t == chunk_end {
                if let Some(out) = chunk_out.take() {
                    out.finish()?;
                }
                chunk += 1;
                if chunk < chunks {
                    chunk_end = chunk_range(n_train, chunk).1;
                }
            }
        }
        first += m;
    }
    if first != labels.len() {
        return Err(overlong().into());
    }
    drop(src);
    let rest = test_tile.y.len();
    if rest > 0 {
        test_tile.write(&mut *test_out, rest, true)?;
    }
    test_out.finish()?;
    for (plan, at) in &plans {
        if let Plan::Numeric(j, _) = plan {
            numeric_features[*j].scale = moments[*at].scale();
        }
    }
    let layout = Layout {
        n: n_train,
        numeric: numeric_features.iter().map(|f| (f.mean, f.scale)).collect(),
        categorical: categorical_features.iter().map(|f| f.categories.len()).collect(),
        k,
    };
    let rows = SpilledRows { n: n_train, numeric: nf, categorical: cf, chunks: chunk_files };
    let logistic = fit_rows(&layout, &rows, sample.as_ref(), &opts.fit)?;
    drop(rows);

    // Pass 3: the held-out rows scored.
    let mut proba = Vec::with_capacity(split.test.len() * k);
    let mut y_test = Vec::with_capacity(split.test.len());
    let mut src = test_file.reader()?;
    while test_tile.read(&mut *src, true)?.is_some() {
        let features = (&numeric_features[..], &categorical_features[..]);
        score(&test_tile.tile(), features, &logistic, &mut proba);
        y_test.extend_from_slice(&test_tile.y);
    }
    Ok(Fitted {
        numeric: numeric_features,
        categorical: categorical_features,
        logistic,
        y_test,
        proba,
    })
}
