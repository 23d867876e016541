use std::io;
use std::path::PathBuf;

/// Why an artifact could not be sealed, verified or opened, or a key store used.
///
/// Every cryptographic failure (a bad signature, a failed AEAD tag, a key commitment or
/// digest that does not match, a truncated or extended payload) is the single opaque
/// [`SealError::Crypto`]: which check failed is deliberately not said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The artifact failed verification: modified, truncated, extended, or sealed with
    /// keys other than the ones it names.
    #[error(
        "the artifact failed verification (it was modified, truncated or extended, or its keys do not match)"
    )]
    Crypto,
    /// The artifact is not in the sealed format, or its header is malformed.
    #[error("not a valid sealed artifact: {reason} (at byte {offset})")]
    Malformed {
        /// Byte offset in the file where the problem is.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A size or count limit was exceeded.
    #[error("{what} is {got}, over the limit of {limit}")]
    Limit {
        /// What was too large.
        what: &'static str,
        /// Its size.
        got: u64,
        /// The limit.
        limit: u64,
    },
    /// The artifact is signed by a key that is not trusted by this vault.
    #[error("the artifact is signed by key {key_id}, which this vault does not trust")]
    UntrustedSigner {
        /// The signer's key id (hex SHA-256 of its public key).
        key_id: String,
    },
    /// None of the artifact's wrapped data keys is for a master key this vault holds.
    #[error(
        "the artifact's data key is wrapped only for master key version(s) {versions:?}, which this vault does not hold or has retired"
    )]
    NoKey {
        /// The versions the artifact names.
        versions: Vec<u32>,
    },
    /// The key store could not be unlocked with the given passphrase or key file.
    #[error("wrong passphrase or key file: the vault's keys could not be unlocked")]
    WrongSecret,
    /// There is no vault (no key store) in this directory.
    #[error("no vault at {0}")]
    NoVault(PathBuf),
    /// The vault is unlocked another way than the secret given.
    #[error("this vault is unlocked with {needs}, not {given}")]
    UnlockMethod {
        /// What it needs (`a key file`, `a passphrase`).
        needs: &'static str,
        /// What was given.
        given: &'static str,
    },
    /// A file would be replaced and replacing was not asked for.
    #[error("{} exists", .0.display())]
    Exists(PathBuf),
    /// The key store is unusable (malformed or of an unknown version).
    #[error("key store {path}: {reason}")]
    Keystore {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key or signature bundle in PEM or JSON form is malformed.
    #[error("{0}")]
    Key(String),
    /// An OMS signature bundle is malformed or does not fit the key or the model.
    #[error("model signature: {0}")]
    Bundle(String),
    /// The model's files differ from the signed ones.
    #[error(
        "the model does not match its signature: {}",
        describe_mismatch(extra, missing, changed)
    )]
    ModelMismatch {
        /// Files present but not signed.
        extra: Vec<String>,
        /// Signed files that are absent.
        missing: Vec<String>,
        /// Files whose content changed.
        changed: Vec<String>,
    },
    /// The operation was refused for safety (overwriting, a key file readable by others).
    #[error("{0}")]
    Refused(String),
    /// Reading or writing failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl SealError {
    /// A stable name for the kind of failure (front ends map it to exit codes, HTTP
    /// statuses and hints).
    pub fn code(&self) -> &'static str {
        match self {
            SealError::Crypto => "integrity",
            SealError::Malformed { .. } => "malformed",
            SealError::Limit { .. } => "too_large",
            SealError::UntrustedSigner { .. } => "untrusted_signer",
            SealError::NoKey { .. } => "no_key",
            SealError::WrongSecret => "wrong_secret",
            SealError::NoVault(_) => "no_vault",
            SealError::UnlockMethod { .. } => "unlock_method",
            SealError::Exists(_) => "exists",
            SealError::Keystore { .. } => "keystore",
            SealError::Key(_) => "bad_key",
            SealError::Bundle(_) => "bad_signature",
            SealError::ModelMismatch { .. } => "model_mismatch",
            SealError::Refused(_) => "refused",
            SealError::Io { .. } => "io",
        }
    }

    pub(crate) fn malformed(offset: u64, reason: impl Into<String>) -> SealError {
        SealError::Malformed { offset, reason: reason.into() }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> SealError {
        let context = context.into();
        move |source| SealError::Io { context, source }
    }
}

/// Turns any error from the crypto library into the opaque error.
impl From<aws_lc_rs::error::Unspecified> for SealError {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        SealError::Crypto
    }
}

fn describe_mismatch(extra: &[String], missing: &[String], changed: &[String]) -> String {
    let mut parts = Vec::new();
    for (what, list) in [("extra", extra), ("missing", missing), ("changed", changed)] {
        if !list.is_empty() {
            parts.push(format!("{what}: {}", list.join(", ")));
        }
    }
    parts.join("; ")
}
