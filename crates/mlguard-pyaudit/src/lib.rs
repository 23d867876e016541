//! Python ML code auditor for mlguard: finds the six flaw classes of insecure ML pipelines
//! (data validation, input validation, randomness, unsafe deserialisation, storage and
//! keys, integrity) in Python source and Jupyter notebooks, and keeps analysing files that
//! do not parse completely.
//!
//! ```
//! use mlguard_pyaudit::{AuditOptions, audit_source};
//!
//! let src = "import pickle as p\nmodel = p.load(open('m.pkl', 'rb'))\n";
//! let findings = audit_source("train.py", src, &AuditOptions::default());
//! assert!(findings.iter().any(|f| f.check == "MLG401" && f.location.line == Some(2)));
//! ```
#![warn(missing_docs)]

mod audit;
mod engine;
mod notebook;
pub mod rules;

pub use audit::{AuditOptions, RED_ZONE, SeedPolicy, audit_bytes, audit_source, fingerprint};
pub use notebook::{NotebookError, audit_notebook};
pub use rules::{FlawClass, RULES, Rule, rule};
