//! Learning for mlguard: a secret-but-reproducible stratified split, L2-regularised
//! logistic regression by L-BFGS, and classification metrics. Everything is deterministic
//! for a given seed and data.
#![warn(missing_docs)]

pub mod linear;
pub mod metrics;
pub mod safetensors;
pub mod split;

pub use linear::{CategoricalColumn, Design, FitOptions, Logistic, NumericColumn, UNSEEN, fit};
pub use metrics::{Metrics, evaluate};
pub use split::{SeededStream, Split, stratified_split};
