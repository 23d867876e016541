//! Training from a CSV file and its schema: features from the schema, a seeded stratified
//! split, L-BFGS logistic regression, metrics on the held-out part.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use mlguard_data::{
    DataError, FieldType, NumericCells, PiiKind, Protect, Role, Schema, TableReader,
};

use crate::linear::{CategoricalColumn, Design, FitOptions, NumericColumn, UNSEEN, fit};
use crate::metrics::evaluate;
use crate::model::{CategoricalFeature, Encoding, MODEL_FORMAT, Model, ModelInfo, NumericFeature};
use crate::split::{grouped_split, stratified_split};

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
}

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
    pub split: crate::split::Split,
}

enum Kind {
    Numeric(NumericCells, Vec<f32>),
    Categorical(Vec<u32>, HashMap<String, u32>),
}

struct Column {
    name: String,
    pos: usize,
    kind: Kind,
}

/// Trains on CSV read from `src`, described by `schema`.
pub fn train<R: Read>(src: R, schema: &Schema, opts: &TrainOptions) -> Result<Trained, TrainError> {
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
    let table = TableReader::new(src, opts.delimiter)?;
    let position = |name: &str| table.header().iter().position(|h| h == name);
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

    // Plan the features from the schema.
    let mut notes = Vec::new();
    let mut unprotected = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
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
            Kind::Numeric(reader, Vec::new())
        } else if f.field_type == FieldType::String || f.field_type == FieldType::Any {
            Kind::Categorical(Vec::new(), HashMap::new())
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

    // Load: numeric cells as f32 (NaN when missing), categorical ones as dictionary indexes.
    let mut labels: Vec<u32> = Vec::new();
    // Each labelled row's feature values, hashed: copies of a row stay on one side.
    let mut groups: Vec<u64> = Vec::new();
    let mut label_dict: HashMap<String, u32> = HashMap::new();
    let mut no_label = 0u64;
    table.for_each(|_, fields| {
        let y = fields.get(target_pos).copied().unwrap_or("");
        if y.is_empty() {
            no_label += 1;
            return Ok(());
        }
        let mut h = blake3::Hasher::new();
        for c in &columns {
            h.update(fields.get(c.pos).copied().unwrap_or("").as_bytes());
            h.update(&[0x1f]);
        }
        groups.push(u64::from_le_bytes(h.finalize().as_bytes()[..8].try_into().unwrap_or([0; 8])));
        let next = label_dict.len() as u32;
        labels.push(*label_dict.entry(y.to_owned()).or_insert(next));
        for c in &mut columns {
            let cell = fields.get(c.pos).copied().unwrap_or("");
            match &mut c.kind {
                Kind::Numeric(r, v) => v.push(r.read(cell).map_or(f32::NAN, |x| x as f32)),
                Kind::Categorical(v, dict) => {
                    if cell.is_empty() {
                        v.push(UNSEEN);
                    } else {
                        let next = dict.len() as u32;
                        v.push(*dict.entry(cell.to_owned()).or_insert(next));
                    }
                }
            }
        }
        Ok(())
    })?;
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

    let split = if opts.group_duplicates {
        let distinct = groups.iter().collect::<std::collections::HashSet<_>>().len();
        if distinct < groups.len() {
            notes.push(format!(
                "{} row(s) repeat another row's features: every copy kept on the same side of the split",
                groups.len() - distinct
            ));
        }
        grouped_split(&labels, &groups, opts.test_size, &opts.seed)
    } else {
        stratified_split(&labels, opts.test_size, &opts.seed)
    };
    let gather_f = |v: &[f32], rows: &[usize]| rows.iter().map(|&i| v[i]).collect::<Vec<f32>>();
    let gather_u = |v: &[u32], rows: &[usize]| rows.iter().map(|&i| v[i]).collect::<Vec<u32>>();

    // Standardise on the training rows only; missing values become the mean.
    let mut numeric_features = Vec::new();
    let mut numeric_train: Vec<Vec<f32>> = Vec::new();
    let mut numeric_test: Vec<Vec<f32>> = Vec::new();
    let mut categorical_features = Vec::new();
    let mut cat_train: Vec<Vec<u32>> = Vec::new();
    let mut cat_test: Vec<Vec<u32>> = Vec::new();
    for c in columns {
        match c.kind {
            Kind::Numeric(_, mut v) => {
                let (mut sum, mut count) = (0.0f64, 0u64);
                for &i in &split.train {
                    if !v[i].is_nan() {
                        sum += f64::from(v[i]);
                        count += 1;
                    }
                }
                if count == 0 {
                    notes.push(format!("{}: left out (no values in the training rows)", c.name));
                    continue;
                }
                let mean = sum / count as f64;
                let var = split
                    .train
                    .iter()
                    .filter(|&&i| !v[i].is_nan())
                    .map(|&i| (f64::from(v[i]) - mean).powi(2))
                    .sum::<f64>()
                    / count as f64;
                let scale = if var > 0.0 && var.is_finite() { var.sqrt() } else { 1.0 };
                for x in &mut v {
                    if x.is_nan() {
                        *x = mean as f32;
                    }
                }
                numeric_train.push(gather_f(&v, &split.train));
                numeric_test.push(gather_f(&v, &split.test));
                numeric_features.push(NumericFeature { name: c.name, mean, scale });
            }
            Kind::Categorical(v, dict) => {
                let seen: BTreeSet<u32> =
                    split.train.iter().map(|&i| v[i]).filter(|&x| x != UNSEEN).collect();
                if seen.len() > MAX_CATEGORIES {
                    notes.push(format!(
                        "{}: left out ({} distinct values: an identifier, not a category)",
                        c.name,
                        seen.len()
                    ));
                    continue;
                }
                let mut names: Vec<(String, u32)> =
                    dict.into_iter().filter(|(_, i)| seen.contains(i)).collect();
                names.sort();
                let mut to_new = vec![
                    UNSEEN;
                    v.iter()
                        .filter(|&&x| x != UNSEEN)
                        .map(|&x| x as usize + 1)
                        .max()
                        .unwrap_or(0)
                ];
                for (new, (_, old)) in names.iter().enumerate() {
                    to_new[*old as usize] = new as u32;
                }
                let mapped: Vec<u32> = v
                    .iter()
                    .map(|&x| if x == UNSEEN { UNSEEN } else { to_new[x as usize] })
                    .collect();
                cat_train.push(gather_u(&mapped, &split.train));
                cat_test.push(gather_u(&mapped, &split.test));
                categorical_features.push(CategoricalFeature {
                    name: c.name,
                    categories: names.into_iter().map(|(n, _)| n).collect(),
                });
            }
        }
    }
    if numeric_features.is_empty() && categorical_features.is_empty() {
        return Err(TrainError::Unusable("no usable feature columns".into()));
    }
    let k = classes.len();
    let y_train = gather_u(&labels, &split.train);
    let y_test = gather_u(&labels, &split.test);
    let train_design = Design {
        n: split.train.len(),
        numeric: numeric_train
            .iter()
            .zip(&numeric_features)
            .map(|(v, f)| NumericColumn { values: v, mean: f.mean, scale: f.scale })
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

    // Held-out metrics, from the same encoding a predictor uses.
    let n_test = split.test.len();
    let mut proba = vec![0.0; n_test * k];
    let mut x = vec![0.0; logistic.d];
    for i in 0..n_test {
        let mut j = 0;
        for (col, f) in numeric_test.iter().zip(&numeric_features) {
            x[j] = (f64::from(col[i]) - f.mean) / f.scale;
            j += 1;
        }
        for (col, f) in cat_test.iter().zip(&categorical_features) {
            for c in 0..f.categories.len() {
                x[j + c] = if col[i] == c as u32 { 1.0 } else { 0.0 };
            }
            j += f.categories.len();
        }
        logistic.predict_proba_into(&x, &mut proba[i * k..(i + 1) * k]);
    }
    let metrics = evaluate(&y_test, &proba, k);
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
        encoding: Encoding {
            target,
            classes,
            numeric: numeric_features,
            categorical: categorical_features,
        },
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
