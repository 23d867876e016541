//! Datasets for mlguard: Frictionless Table Schema, strict streaming CSV validation and
//! schema inference.
//!
//! ```
//! use mlguard_data::{Schema, ValidateOptions, validate_reader};
//!
//! let schema = Schema::from_json_str(r#"{
//!     "fields": [
//!         {"name": "id", "type": "integer"},
//!         {"name": "age", "type": "integer", "constraints": {"maximum": 120}}
//!     ],
//!     "primaryKey": "id"
//! }"#).unwrap();
//! let csv = "id,age\n1,30\n2,212\n2,40\n";
//! let report = validate_reader(csv.as_bytes(), "users.csv", &schema, &ValidateOptions::default()).unwrap();
//! assert_eq!(report.errors(), 2); // 212 > 120, and id 2 twice
//! assert_eq!(report.findings[0].location.line, Some(3));
//! ```
#![warn(missing_docs)]

pub mod arrow_csv;
mod check;
pub mod chunks;
pub mod columnar;
mod csv;
mod error;
mod infer;
pub mod input;
pub mod parquet_csv;
mod pattern;
pub mod pii;
pub mod poison;
pub mod protect;
mod schema;
pub mod synth;
mod types;
mod validate;
pub mod workbook_csv;

pub use check::NumericCells;
pub use csv::{DEFAULT_MAX_FIELD_BYTES, MAX_FIELDS_PER_RECORD, MAX_RECORD_BYTES, TableReader};
pub use error::{DataError, SchemaError};
pub use infer::{
    DEFAULT_ENUM_MAX, InferOptions, Inferred, MISSING_MARKERS, TARGET_NAMES, infer_path,
    infer_reader,
};
pub use schema::{
    Constraints, Field, FieldType, FieldsMatch, MAX_FIELDS, MAX_SCHEMA_BYTES, PiiKind, Protect,
    Role, Schema,
};
pub use validate::{
    Records, ValidateOptions, Validator, Visit, VisitBatch, validate_path, validate_reader,
    validate_reader_visiting,
};
