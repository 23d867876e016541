use std::io;
use std::path::PathBuf;

/// A schema that cannot be used: malformed JSON, an unknown type, a constraint that does
/// not fit its field. `pointer` is the JSON pointer (RFC 6901) of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema {pointer}: {message}")]
#[non_exhaustive]
pub struct SchemaError {
    /// JSON pointer to the offending value, e.g. `/fields/3/constraints/minimum`.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

impl SchemaError {
    pub(crate) fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        let pointer = pointer.into();
        SchemaError {
            pointer: if pointer.is_empty() { "/".to_owned() } else { pointer },
            message: message.into(),
        }
    }
}

/// Errors that stop a validation or inference run before it can report on the data.
///
/// Problems *in* the data are not errors: they are findings in the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The schema is unusable.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The input could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The input could not be read (a stream without a path).
    #[error("read error: {0}")]
    Io(#[from] io::Error),
    /// The input cannot be used for the operation (an empty file, an unknown column, ...).
    #[error("{0}")]
    Input(String),
    /// A worker thread stopped unexpectedly (a bug; reported instead of panicking).
    #[error("internal error: {0}")]
    Internal(&'static str),
}
