//! A trained model: feature encoding, logistic weights, metrics and provenance, stored as
//! safetensors (weights as F64 tensors; everything else in `__metadata__`). No pickle.
//!
//! Tensors: `weight` (outputs × d), `bias` (outputs), `scaler.mean` and `scaler.scale`
//! (one per numeric feature). `__metadata__["mlguard.model"]` is a JSON document with the
//! encoding (numeric features, categorical features with their categories in one-hot
//! order), the classes, the target, the schema, the metrics and the dataset digest, so a
//! Python user can rebuild the features and compute `softmax/sigmoid(X @ weight.T + bias)`.

use std::collections::{BTreeMap, HashMap};

use mlguard_data::{NumericCells, Schema};
use serde::{Deserialize, Serialize};

use crate::linear::Logistic;
use crate::metrics::Metrics;
use crate::safetensors::{self, SafetensorsError};

/// Format version of the model document.
pub const MODEL_FORMAT: u32 = 1;

/// A numeric feature: `(x - mean) / scale`; a missing value counts as the mean (0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericFeature {
    /// Column name.
    pub name: String,
    /// Training mean.
    pub mean: f64,
    /// Training standard deviation (1 when it was 0).
    pub scale: f64,
}

/// A categorical feature: one-hot over `categories`; anything else is a zero vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalFeature {
    /// Column name.
    pub name: String,
    /// Categories seen in training, in one-hot order.
    pub categories: Vec<String>,
}

/// How rows become feature vectors: numeric features first, then each categorical one-hot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// The target column.
    pub target: String,
    /// Class labels, in output order.
    pub classes: Vec<String>,
    /// Numeric features.
    pub numeric: Vec<NumericFeature>,
    /// Categorical features.
    pub categorical: Vec<CategoricalFeature>,
}

impl Encoding {
    /// Width of the feature vector.
    pub fn width(&self) -> usize {
        self.numeric.len() + self.categorical.iter().map(|c| c.categories.len()).sum::<usize>()
    }
}

/// Everything about a trained model but the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// [`MODEL_FORMAT`].
    pub format: u32,
    /// Feature encoding.
    pub encoding: Encoding,
    /// Held-out metrics.
    pub metrics: Metrics,
    /// Probability threshold of the positive class (binary models).
    pub threshold: f64,
    /// The training schema (Table Schema JSON).
    pub schema: serde_json::Value,
    /// Free provenance: dataset name, version and digest, split sizes, fit options, ...
    pub provenance: BTreeMap<String, serde_json::Value>,
}

/// A trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Encoding, metrics, schema, provenance.
    pub info: ModelInfo,
    /// The fitted weights.
    pub logistic: Logistic,
}

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Not a valid safetensors file.
    #[error(transparent)]
    Safetensors(#[from] SafetensorsError),
    /// Valid safetensors, but not a consistent mlguard model.
    #[error("not a usable mlguard model: {0}")]
    Invalid(String),
}

impl Model {
    /// The model as safetensors bytes.
    pub fn to_safetensors(&self) -> Vec<u8> {
        let l = &self.logistic;
        let mut tensors = BTreeMap::new();
        tensors.insert("weight".to_owned(), (vec![l.outputs(), l.d], l.weights.clone()));
        tensors.insert("bias".to_owned(), (vec![l.outputs()], l.intercepts.clone()));
        let enc = &self.info.encoding;
        tensors.insert(
            "scaler.mean".to_owned(),
            (vec![enc.numeric.len()], enc.numeric.iter().map(|f| f.mean).collect()),
        );
        tensors.insert(
            "scaler.scale".to_owned(),
            (vec![enc.numeric.len()], enc.numeric.iter().map(|f| f.scale).collect()),
        );
        let mut meta = BTreeMap::new();
        meta.insert(
            "mlguard.model".to_owned(),
            serde_json::to_string(&self.info).unwrap_or_default(),
        );
        meta.insert(
            "mlguard.fit".to_owned(),
            serde_json::json!({"iterations": l.iterations, "converged": l.converged}).to_string(),
        );
        safetensors::write(&tensors, &meta)
    }

    /// Reads a model from safetensors bytes, strictly.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Model, ModelError> {
        let file = safetensors::read(bytes)?;
        let bad = |m: &str| ModelError::Invalid(m.to_owned());
        let info: ModelInfo = serde_json::from_str(
            file.metadata.get("mlguard.model").ok_or_else(|| bad("no mlguard.model metadata"))?,
        )
        .map_err(|e| ModelError::Invalid(format!("mlguard.model metadata: {e}")))?;
        if info.format != MODEL_FORMAT {
            return Err(bad("unknown model format"));
        }
        let fit: serde_json::Value = file
            .metadata
            .get("mlguard.fit")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let k = info.encoding.classes.len();
        if k < 2 {
            return Err(bad("fewer than two classes"));
        }
        let outputs = if k == 2 { 1 } else { k };
        let d = info.encoding.width();
        let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f64>, ModelError> {
            let t = file
                .tensors
                .get(name)
                .ok_or_else(|| ModelError::Invalid(format!("no {name} tensor")))?;
            if t.dtype != safetensors::Dtype::F64 || t.shape != shape {
                return Err(ModelError::Invalid(format!("{name} must be F64 of shape {shape:?}")));
            }
            Ok(t.values.clone())
        };
        let weights = tensor("weight", &[outputs, d])?;
        let intercepts = tensor("bias", &[outputs])?;
        let means = tensor("scaler.mean", &[info.encoding.numeric.len()])?;
        let scales = tensor("scaler.scale", &[info.encoding.numeric.len()])?;
        for (f, (m, s)) in info.encoding.numeric.iter().zip(means.iter().zip(&scales)) {
            if f.mean.to_bits() != m.to_bits()
                || f.scale.to_bits() != s.to_bits()
                || !(f.scale.is_finite() && f.scale > 0.0)
            {
                return Err(bad("scaler tensors and metadata disagree"));
            }
        }
        if file.tensors.len() != 4 || weights.iter().chain(&intercepts).any(|v| !v.is_finite()) {
            return Err(bad("unexpected tensors or non-finite weights"));
        }
        let logistic = Logistic {
            classes: k,
            d,
            weights,
            intercepts,
            iterations: fit.get("iterations").and_then(|v| v.as_u64()).unwrap_or(0) as usize,
            converged: fit.get("converged").and_then(|v| v.as_bool()).unwrap_or(false),
        };
        Ok(Model { info, logistic })
    }

    /// A predictor: the encoding compiled against the training schema.
    pub fn predictor(&self) -> Result<Predictor, ModelError> {
        let schema = Schema::from_json(&self.info.schema)
            .map_err(|e| ModelError::Invalid(format!("training schema: {e}")))?;
        let mut readers = Vec::new();
        for f in &self.info.encoding.numeric {
            let field = schema.field(&f.name).ok_or_else(|| {
                ModelError::Invalid(format!("feature {} is not in the schema", f.name))
            })?;
            readers.push(NumericCells::new(&schema, field).ok_or_else(|| {
                ModelError::Invalid(format!("feature {} is not numeric", f.name))
            })?);
        }
        let lookups = self
            .info
            .encoding
            .categorical
            .iter()
            .map(|c| c.categories.iter().enumerate().map(|(i, s)| (s.clone(), i)).collect())
            .collect();
        Ok(Predictor {
            encoding: self.info.encoding.clone(),
            logistic: self.logistic.clone(),
            readers,
            lookups,
        })
    }
}

/// Turns raw cells into class probabilities.
pub struct Predictor {
    encoding: Encoding,
    logistic: Logistic,
    readers: Vec<NumericCells>,
    lookups: Vec<HashMap<String, usize>>,
}

impl Predictor {
    /// Column names the predictor reads, numeric then categorical.
    pub fn columns(&self) -> Vec<&str> {
        let e = &self.encoding;
        e.numeric
            .iter()
            .map(|f| f.name.as_str())
            .chain(e.categorical.iter().map(|c| c.name.as_str()))
            .collect()
    }

    /// The feature vector of a row; `cell(name)` gives the raw cell of a column (None when
    /// the column is absent, which counts as missing).
    pub fn encode<'c>(&self, cell: impl Fn(&str) -> Option<&'c str>) -> Vec<f64> {
        let names = self.columns();
        let mut x = Vec::new();
        self.encode_into(|k| names.get(k).and_then(|n| cell(n)), &mut x);
        x
    }

    /// The feature vector of a row into `x` (cleared first); `cell(k)` gives the raw cell
    /// of the `k`-th column of [`Predictor::columns`].
    pub fn encode_into<'c>(&self, cell: impl Fn(usize) -> Option<&'c str>, x: &mut Vec<f64>) {
        let e = &self.encoding;
        x.clear();
        x.reserve(e.width());
        for (k, (f, r)) in e.numeric.iter().zip(&self.readers).enumerate() {
            x.push(cell(k).and_then(|s| r.read(s)).map_or(0.0, |v| (v - f.mean) / f.scale));
        }
        let first = e.numeric.len();
        for (k, (c, lookup)) in e.categorical.iter().zip(&self.lookups).enumerate() {
            let hit = cell(first + k).and_then(|s| lookup.get(s)).copied();
            x.extend((0..c.categories.len()).map(|i| if hit == Some(i) { 1.0 } else { 0.0 }));
        }
    }

    /// For each feature column (in [`Predictor::columns`] order), its position in `header`.
    pub fn bind(&self, header: &[String]) -> Vec<Option<usize>> {
        self.columns().iter().map(|c| header.iter().position(|h| h == c)).collect()
    }

    /// Class probabilities of a row given as fields, with positions from [`Predictor::bind`],
    /// written to `p` (one per class); `x` is scratch space for the encoded row.
    pub fn predict_fields_into(
        &self,
        bound: &[Option<usize>],
        fields: &[&str],
        x: &mut Vec<f64>,
        p: &mut [f64],
    ) {
        self.encode_into(
            |k| bound.get(k).copied().flatten().and_then(|i| fields.get(i).copied()),
            x,
        );
        self.logistic.predict_proba_into(x, p);
    }

    /// Class probabilities of a row, in the order of `classes`.
    pub fn predict<'c>(&self, cell: impl Fn(&str) -> Option<&'c str>) -> Vec<f64> {
        let x = self.encode(cell);
        let mut p = vec![0.0; self.encoding.classes.len()];
        self.logistic.predict_proba_into(&x, &mut p);
        p
    }
}
