//! The mlguard vault as a service layer: a catalog of sealed datasets and models, and the
//! pipeline — ingest, train, predict — as operations that verify every artifact before
//! they use a byte of it.
#![warn(missing_docs)]

pub mod api;
mod artifacts;
pub mod audit;
mod context;
pub mod identity;
mod keys;
pub mod kms;
pub mod merkle;
pub mod note;
mod ops;
mod pipeline;
pub mod poison;
pub mod rows;
pub mod store;
pub mod witness;

pub use context::{Actor, Ctx, Meter, Metered, Tally, fresh_id};
pub use keys::Rotation;
pub use ops::{Collected, Migrated, SignedExport};
pub use pipeline::{
    ImportRequest, IngestOptions, IngestSource, Ingested, MAX_ROWS_PER_REQUEST, Prediction,
    RowPrediction, SeedPolicy, ServingModel, TrainRequest, TrainedModel, Vault, csv_cell,
    parse_ref, prediction_header, protection_json, push_probability,
};
pub use store::{AuditEntry, DatasetRecord, ModelRecord, Stores, Table};

use mlguard_findings::Report;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// A sealed artifact or the key store refused the operation.
    #[error(transparent)]
    Seal(#[from] mlguard_seal::SealError),
    /// Reading the data failed.
    #[error(transparent)]
    Data(#[from] mlguard_data::DataError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] mlguard_learn::TrainError),
    /// A stored model could not be loaded.
    #[error(transparent)]
    Model(#[from] mlguard_learn::ModelError),
    /// The input is invalid (the report says why); nothing was stored.
    #[error("{} is invalid: {} error(s); nothing was stored", .0.subject, .0.errors())]
    Invalid(Box<Report>),
    /// The dataset is refused by policy (personal data without a protect action, ...);
    /// nothing was stored.
    #[error("{0}")]
    Refused(String),
    /// A model file offered to the vault is not a consistent mlguard model, or does not fit
    /// the dataset version it names; nothing was stored.
    #[error("{0}")]
    BadModel(String),
    /// Columns marked as personal data have no protect action, and keeping them as they are
    /// was not asked for; nothing was stored.
    #[error("columns marked pii have no protect action: {}; set \"protect\" on each (drop, pseudonymize, mask, generalize), or keep them as they are knowingly (recorded with the dataset); nothing was stored", .0.join(", "))]
    UnprotectedPii(Vec<String>),
    /// The dataset version was flagged by its poisoning checks at ingest, and training on
    /// it anyway was not asked for.
    #[error(
        "{0} was flagged by its poisoning checks at ingest; train on it only knowingly (recorded with who accepted it), or on an earlier version"
    )]
    Flagged(String),
    /// The poisoning checks failed and the caller asked to refuse such data; nothing was
    /// stored.
    #[error("{}: the poisoning checks failed ({} finding(s) of medium severity or worse); nothing was stored", .0.subject, .0.findings.iter().filter(|f| f.severity >= mlguard_findings::Severity::Medium).count())]
    Poisoned(Box<Report>),
    /// The audit log cannot be written: the action was refused and had no effect.
    #[error("the audit log cannot be written ({0}); the action was refused and had no effect")]
    AuditUnavailable(String),
    /// The actor may not take the action (no valid token, a role without it, a second
    /// factor missing, wrong or locked); the refusal is in the audit log.
    #[error(transparent)]
    Denied(identity::AuthError),
    /// No such dataset or model.
    #[error("no {0} in the catalog")]
    NotFound(String),
    /// Another writer made a conflicting change first (another process stored the same
    /// version); nothing was stored, and trying again will take the next version.
    #[error("{0}")]
    Conflict(String),
    /// The catalog failed.
    #[error("catalog: {0}")]
    Catalog(String),
    /// A backing service (the catalog's database, the object store, the key service) cannot
    /// be reached: nothing was done; trying again later may succeed.
    #[error("{0}; nothing was done: try again")]
    Unavailable(String),
    /// What is stored disagrees with what was recorded: an object replaced or edited, the
    /// audit log cut or not matching its signed checkpoint. Integrity failed.
    #[error("{0}")]
    Tampered(String),
    /// The vault cannot do this as it is configured: an invalid policy file, a key it does
    /// not hold, a model without what the operation needs.
    #[error("{0}")]
    Config(String),
    /// An internal failure (a stopped thread, a poisoned lock, serialisation): a bug or the
    /// machine, never the input.
    #[error("internal error: {0}")]
    Internal(String),
    /// Reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// One vault serves concurrent requests: it must stay `Send + Sync` (no `RefCell`, no
/// ambient actor), with what needs serialising serialised inside its ports.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Vault>();
    shared::<store::SqliteCatalog>();
    shared::<store::DirObjects>();
};

/// An I/O failure with what was being done.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> VaultError {
    let context = context.into();
    move |source| VaultError::Io { context, source }
}

/// A lock held by a thread that panicked: the vault cannot trust what it guards.
pub(crate) fn poisoned<T>(_: T) -> VaultError {
    VaultError::Internal("a vault lock is poisoned".into())
}

impl VaultError {
    /// A stable name for the kind of failure: the API's `error` field, and what front ends
    /// map to exit codes, HTTP statuses and hints (the one vocabulary of failures).
    pub fn code(&self) -> &'static str {
        use mlguard_data::DataError;
        match self {
            VaultError::Seal(s) => s.code(),
            VaultError::Data(DataError::Schema(_) | DataError::Input(_)) => "bad_input",
            VaultError::Invalid(_) => "invalid",
            VaultError::UnprotectedPii(_) => "unprotected_pii",
            VaultError::Flagged(_) => "flagged",
            VaultError::Poisoned(_) => "poisoned",
            VaultError::Refused(_) => "refused",
            VaultError::BadModel(_) => "bad_model",
            VaultError::Train(mlguard_learn::TrainError::UnprotectedPii(_)) => "unprotected_pii",
            VaultError::Train(_) if self.is_refusal() => "refused",
            VaultError::AuditUnavailable(_) => "audit_unavailable",
            VaultError::Unavailable(_) => "unavailable",
            VaultError::Denied(a) => a.code(),
            VaultError::NotFound(_) => "not_found",
            VaultError::Conflict(_) => "conflict",
            VaultError::Tampered(_) => "integrity",
            VaultError::Config(_) => "config",
            _ => "internal",
        }
    }

    /// Whether the request or its input was refused — invalid, poisoned or refused data, a
    /// training target or table that cannot train, an unknown dataset or model, a version
    /// taken meanwhile, an action not allowed — rather than anything failing in the vault.
    /// Refusals are recorded as denied and answered 4xx; everything else is a failure.
    pub fn is_refusal(&self) -> bool {
        use mlguard_learn::TrainError;
        match self {
            VaultError::Invalid(_)
            | VaultError::UnprotectedPii(_)
            | VaultError::Flagged(_)
            | VaultError::Refused(_)
            | VaultError::BadModel(_)
            | VaultError::Poisoned(_)
            | VaultError::NotFound(_)
            | VaultError::Conflict(_)
            | VaultError::Denied(_) => true,
            VaultError::Train(t) => matches!(
                t,
                TrainError::NoTarget
                    | TrainError::UnknownTarget(_)
                    | TrainError::UnprotectedPii(_)
                    | TrainError::Unusable(_)
            ),
            _ => false,
        }
    }
}
