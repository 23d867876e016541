//! Learning for mlguard: a secret-but-reproducible stratified split, L2-regularised
//! logistic regression by L-BFGS, and classification metrics. Everything is deterministic
//! for a given seed and data.
#![warn(missing_docs)]

mod cores;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod noise;
/// The safetensors format (strict reader, writer).
pub use mlguard_safetensors as safetensors;
pub mod spill;
pub mod split;
pub mod train;

pub use linear::{
    CategoricalColumn, Design, FitOptions, Logistic, NumericColumn, Stored, UNSEEN, Values, fit,
};
pub use metrics::{Metrics, evaluate};
pub use model::{Model, ModelError, Predictor};
pub use spill::{MemorySpill, Spill, SpillFile, SpillWriter};
pub use split::{SeededStream, Split, grouped_split, stratified_split};
pub use train::{DEFAULT_MEMORY_LIMIT, TrainError, TrainOptions, Trained, train, train_columnar};
