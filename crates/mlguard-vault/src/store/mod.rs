//! The vault's storage ports: small traits, each owning its connection or root, wired
//! together by [`crate::Vault`]. No other part of mlguard touches SQL, the vault
//! directory's layout or a write-ahead log: operations go through these.
//!
//! - [`CatalogStore`] (with [`IdentityStore`]): datasets, models, users, tokens, second
//!   factors, the audit log (each recorded change appended in the same transaction as the
//!   change), checkpoints, and a durability barrier for group commit.
//! - [`ObjectStore`]: sealed objects by name: put a stream, get a reader, delete, list.
//! - [`PolicyStore`]: the policy document.
//!
//! The embedded default for one machine ([`Stores::embedded`]) is SQLite (`sqlite`) and
//! a directory (`fs`); other backends implement the same traits.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::VaultError;
use crate::identity::{TokenInfo, User};

mod appender;
mod config;
mod fs;
mod group_commit;
mod leftovers;
mod postgres;
mod s3;
mod scratch;
mod sqlite;

pub use appender::Receipt;
pub use config::Backends;
pub(crate) use fs::publish_certificate;
pub use fs::{DirObjects, PolicyFile};
pub use postgres::{PgCatalog, PgPolicy, PgPool};
pub use s3::S3Objects;
pub use scratch::{Scratch, ScratchReader, ScratchWriter};
pub use sqlite::SqliteCatalog;

/// A dataset version in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// The sealed object's file name in `objects/`.
    pub object: String,
    /// BLAKE3 of the plaintext CSV.
    pub blake3: String,
    /// Plaintext bytes.
    pub size: u64,
    /// Data rows.
    pub rows: u64,
    /// Columns.
    pub columns: u64,
    /// The Table Schema it was validated against (JSON).
    pub schema: String,
    /// When it was ingested.
    pub created: String,
    /// Who ingested it.
    pub actor: String,
    /// What ingestion found and did (JSON): `validation`, `protection`, `pii_kept`,
    /// `poison` (`{}` for datasets stored before reports were kept).
    pub report: String,
    /// The sealed columnar form of the same table ([`mlguard_data::columnar`]) and the
    /// BLAKE3 of its plaintext, for training without parsing CSV (`None` for versions
    /// stored before it existed).
    pub columnar: Option<(String, String)>,
}

impl DatasetRecord {
    /// Every object this version is stored in: the table, then its columnar form.
    pub fn objects(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.object.as_str())
            .chain(self.columnar.as_ref().map(|(object, _)| object.as_str()))
    }

    /// Whether personal data was kept unprotected in this version (`--keep-pii`): reading
    /// it is reading raw data (`dataset.read-raw`).
    pub fn kept_pii(&self) -> bool {
        serde_json::from_str::<serde_json::Value>(&self.report)
            .is_ok_and(|r| r["pii_kept"].as_array().is_some_and(|k| !k.is_empty()))
    }
}

/// A model version in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// The sealed object's file name in `objects/`.
    pub object: String,
    /// BLAKE3 of the plaintext safetensors.
    pub blake3: String,
    /// Dataset it was trained on.
    pub dataset: String,
    /// Version of that dataset.
    pub dataset_version: u32,
    /// Target column.
    pub target: String,
    /// Held-out metrics (JSON).
    pub metrics: String,
    /// When it was trained.
    pub created: String,
    /// Who trained it.
    pub actor: String,
}

/// The catalog's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Datasets.
    Datasets,
    /// Models.
    Models,
}

impl Table {
    /// Its name (a table's, in SQL catalogs).
    pub fn name(self) -> &'static str {
        match self {
            Table::Datasets => "datasets",
            Table::Models => "models",
        }
    }
}

/// Builds an audit entry's canonical text and MAC from its index.
pub type AuditEntry<'a> = &'a dyn Fn(u64) -> (String, String);

/// An [`AuditEntry`] that owns what it needs, so a store may build it on another thread
/// (a batching appender).
pub type OwnedAuditEntry = Box<dyn Fn(u64) -> (String, String) + Send>;

/// A token's stored hash and what its holder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHolder {
    /// The user it belongs to.
    pub user: String,
    /// SHA-256 of the token (hex).
    pub hash: String,
    /// When it expires (Unix seconds), if ever.
    pub expires: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The user's role.
    pub role: String,
    /// Whether the user is disabled.
    pub disabled: bool,
}

/// A user as stored, with its sealed second factor: for copying a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Whether disabled.
    pub disabled: bool,
    /// When created.
    pub created: String,
    /// The sealed TOTP secret and its algorithm, when enrolled.
    pub mfa: Option<(String, String)>,
    /// The last TOTP step accepted.
    pub mfa_last_step: i64,
}

/// A token as stored (its hash, never the token): for copying a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Id.
    pub id: String,
    /// Its user.
    pub user: String,
    /// SHA-256 of the token (hex).
    pub hash: String,
    /// When created.
    pub created: String,
    /// When it expires (Unix seconds), if ever.
    pub expires: Option<i64>,
    /// Whether revoked.
    pub revoked: bool,
    /// Wrong codes since the last right one or lock.
    pub mfa_failures: i64,
    /// Until when its second factor is locked (Unix seconds).
    pub mfa_locked_until: i64,
    /// Locks so far.
    pub mfa_lockouts: i64,
}

/// Everything a catalog holds, for copying it into another (`mlguard vault migrate`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Dataset versions.
    pub datasets: Vec<DatasetRecord>,
    /// Model versions.
    pub models: Vec<ModelRecord>,
    /// Users.
    pub users: Vec<UserRow>,
    /// Tokens.
    pub tokens: Vec<TokenRow>,
    /// The audit log: (index, entry, MAC), in order.
    pub audit: Vec<(u64, String, String)>,
    /// Signed checkpoints: (size, note).
    pub checkpoints: Vec<(u64, String)>,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Entries it covers.
    pub size: u64,
    /// The signed note (with any cosignatures).
    pub note: String,
    /// The Merkle tree's frontier at `size` ([`crate::merkle::Frontier::to_text`]), so a
    /// new process extends the tree without rehashing the whole log; trusted only when its
    /// root is the one the note signs.
    pub frontier: Option<String>,
}

/// A token's second-factor state and its user's enrolled secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaState {
    /// Until when (Unix seconds) the token's second factor is locked.
    pub locked_until: i64,
    /// The sealed secret and its algorithm, when enrolled.
    pub secret: Option<(String, String)>,
    /// The last TOTP step accepted.
    pub last_step: i64,
}

/// The catalog port: datasets, models and the audit log. Implementations serialise what
/// must be (the audit log's next index) themselves, so callers share one handle.
///
/// Every method that takes an [`AuditEntry`] appends that entry in the same transaction
/// as its change: both or neither. Failing to append is [`VaultError::AuditUnavailable`].
pub trait CatalogStore: IdentityStore + Send + Sync {
    /// The next free version of a dataset or model name.
    fn next_version(&self, table: Table, name: &str) -> Result<u32, VaultError>;
    /// Records a dataset version (a version that exists is [`VaultError::Conflict`]).
    fn add_dataset(&self, d: &DatasetRecord, audit: AuditEntry<'_>) -> Result<(), VaultError>;
    /// Records a model version (a version that exists is [`VaultError::Conflict`]).
    fn add_model(&self, m: &ModelRecord, audit: AuditEntry<'_>) -> Result<(), VaultError>;
    /// A dataset version (the latest when `version` is None), or [`VaultError::NotFound`].
    fn dataset(&self, name: &str, version: Option<u32>) -> Result<DatasetRecord, VaultError>;
    /// A model version (the latest when `version` is None), or [`VaultError::NotFound`].
    fn model(&self, name: &str, version: Option<u32>) -> Result<ModelRecord, VaultError>;
    /// Every dataset version, by name then version.
    fn datasets(&self) -> Result<Vec<DatasetRecord>, VaultError>;
    /// Every model version, by name then version.
    fn models(&self) -> Result<Vec<ModelRecord>, VaultError>;

    /// Queues one audit entry to be appended on its own: its receipt answers with its
    /// index once it is appended, and durable when group commit is on. Concurrent appends
    /// are batched into one transaction (each still gets its own consecutive index).
    fn enqueue_audit(&self, audit: OwnedAuditEntry) -> Result<Receipt, VaultError>;
    /// Appends one audit entry on its own ([`CatalogStore::enqueue_audit`], waited for).
    fn append_audit(&self, audit: OwnedAuditEntry) -> Result<u64, VaultError> {
        self.enqueue_audit(audit)?.wait()
    }
    /// Every audit entry from index `from`: (index, entry text, MAC), in index order.
    fn audit_entries(&self, from: u64) -> Result<Vec<(u64, String, String)>, VaultError>;
    /// Number of audit entries (one past the highest index).
    fn audit_len(&self) -> Result<u64, VaultError>;
    /// Stores a signed checkpoint of the first `size` entries (replacing the note of one
    /// of that size, as cosignatures are added), with the tree's frontier at that size when
    /// given (kept when not).
    fn add_checkpoint(
        &self,
        size: u64,
        note: &str,
        frontier: Option<&str>,
    ) -> Result<(), VaultError>;
    /// The latest checkpoint, if any.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, VaultError>;
    /// Every checkpoint: (size, signed note), by size.
    fn checkpoints(&self) -> Result<Vec<(u64, String)>, VaultError>;
    /// Publishes the key that verifies checkpoints, for verifiers outside the vault.
    fn publish_checkpoint_key(&self, verifier_key: &str) -> Result<(), VaultError>;
    /// Replaces the text of audit entry `index` with `edit(text)` and returns the original,
    /// as anyone with write access to the store could: for the demo and for tests of
    /// [`crate::Vault::verify_audit`], which must catch it. The vault never calls this.
    fn rewrite_audit_entry(
        &self,
        index: u64,
        edit: &mut dyn FnMut(&str) -> String,
    ) -> Result<String, VaultError>;

    /// The vault's keyring (every key wrapped) as shared by the machines of a catalog
    /// several of them use; None when none was published. The embedded catalog keeps
    /// none: it lives in the vault directory beside `keyring.json`, which is the keyring.
    fn keyring(&self) -> Result<Option<String>, VaultError>;
    /// Publishes the keyring (after creation and every rotation), for the other machines.
    fn store_keyring(&self, text: &str) -> Result<(), VaultError>;

    /// Everything this catalog holds, read in one transaction.
    fn export(&self) -> Result<Snapshot, VaultError>;
    /// Fills an empty catalog with `snapshot` in one transaction (entries, MACs and
    /// indices as they are: the log's root does not change). A catalog that holds
    /// anything is refused.
    fn import(&self, snapshot: &Snapshot) -> Result<(), VaultError>;

    /// Switches to group commit: a commit no longer waits to be durable; whoever releases
    /// the result of an action calls [`CatalogStore::sync`] first.
    fn use_group_commit(&self) -> Result<(), VaultError>;
    /// The durability barrier: returns once every commit made through this handle so far
    /// is durable (at once without group commit). One barrier covers many commits.
    fn sync(&self) -> Result<(), VaultError>;
}

/// The catalog's identities: users, tokens (as hashes) and TOTP state. The rules are in
/// [`crate::identity`]; this is storage, with the changes that must be atomic (a TOTP step
/// used once, failure counting) done atomically.
pub trait IdentityStore: Send + Sync {
    /// Adds a user ([`VaultError::Refused`] if the name exists).
    fn add_user(
        &self,
        name: &str,
        role: &str,
        created: &str,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError>;
    /// Every user, by name.
    fn users(&self) -> Result<Vec<User>, VaultError>;
    /// Disables a user ([`VaultError::NotFound`] if there is none).
    fn disable_user(&self, name: &str, audit: AuditEntry<'_>) -> Result<(), VaultError>;
    /// Whether `user` is disabled (None: no such user).
    fn user_disabled(&self, user: &str) -> Result<Option<bool>, VaultError>;
    /// Stores a token by its hash.
    fn add_token(
        &self,
        id: &str,
        user: &str,
        hash: &str,
        created: &str,
        expires: Option<i64>,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError>;
    /// Revokes a token ([`VaultError::NotFound`] if there is none).
    fn revoke_token(&self, id: &str, audit: AuditEntry<'_>) -> Result<(), VaultError>;
    /// Every token (never the token itself), by user then creation.
    fn tokens(&self) -> Result<Vec<TokenInfo>, VaultError>;
    /// The token `id` with its holder, if it exists.
    fn token_holder(&self, id: &str) -> Result<Option<TokenHolder>, VaultError>;
    /// Enrols a (sealed) TOTP secret for `user`.
    fn set_mfa(
        &self,
        user: &str,
        sealed: &str,
        alg: &str,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError>;
    /// The second-factor state of `token_id` and its user.
    fn mfa_state(&self, token_id: &str, user: &str) -> Result<MfaState, VaultError>;
    /// Uses TOTP step `step` of `user` through `token_id`: true if it is newer than the
    /// last one used (it becomes the last, and the token's failures are cleared), false if
    /// it was used meanwhile. One compare-and-set: a code is accepted once even by racing
    /// requests or processes.
    fn mfa_accept(&self, user: &str, token_id: &str, step: i64) -> Result<bool, VaultError>;
    /// Counts a wrong code through `token_id`. At `max` failures the token's second factor
    /// is locked until `now + lock(lockouts so far)` and the failures start again; returns
    /// the lock's length then.
    fn mfa_failure(
        &self,
        token_id: &str,
        now: i64,
        max: i64,
        lock: &dyn Fn(i64) -> i64,
    ) -> Result<Option<i64>, VaultError>;
}

/// A new object being written; nothing is visible under its name until
/// [`ObjectWriter::commit`]. Dropped without committing, it leaves nothing behind.
pub trait ObjectWriter: Write + Send {
    /// Makes the object durable and visible under its name (replacing an object of that
    /// name).
    fn commit(self: Box<Self>) -> Result<(), VaultError>;
}

/// The object port: sealed objects by name (`ID.mlseal`). It stores bytes; the vault
/// seals, verifies and records them.
pub trait ObjectStore: Send + Sync {
    /// Starts a new object named `name` (refused if the name is not one an object may
    /// have). Names are chosen before writing so that a remote store can stream the bytes
    /// to their final place.
    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, VaultError>;
    /// A stored object, to read ([`VaultError::NotFound`] if there is none).
    fn get(&self, name: &str) -> Result<Box<dyn Read + Send>, VaultError>;
    /// Removes a stored object.
    fn delete(&self, name: &str) -> Result<(), VaultError>;
    /// Every stored object's name, sorted.
    fn list(&self) -> Result<Vec<String>, VaultError>;
    /// When a stored object was last written (an orphan younger than a grace period may
    /// belong to a change still being recorded, and is left alone by garbage collection).
    fn modified(&self, name: &str) -> Result<std::time::SystemTime, VaultError>;
    /// An owner-only temporary file (removed when dropped) for plaintext that must be read
    /// more than once or that arrives over the network: on the machine that runs the
    /// operation, never in shared storage.
    fn scratch(&self, what: &str) -> Result<tempfile::NamedTempFile, VaultError> {
        leftovers::create(&std::env::temp_dir(), &format!("{TEMP_SCRATCH}{what}-"), "")
    }
}

/// A setting given as an environment variable (`AWS_REGION`, ...): from `settings` if
/// there, else from the environment; empty is unset.
pub(crate) fn setting(settings: &[(&str, &str)], name: &str) -> Option<String> {
    settings
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| (*v).to_owned())
        .or_else(|| std::env::var(name).ok())
        .filter(|v| !v.is_empty())
}

/// Whether `url` is plain HTTP to this machine (a test server, a local gateway): the
/// only place plain HTTP to a store or a key service is allowed without being asked.
pub(crate) fn loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_this_machine_is_loopback() {
        for yes in ["http://127.0.0.1:9000", "http://localhost/x", "http://[::1]:80/"] {
            assert!(super::loopback_http(yes), "{yes}");
        }
        for no in [
            "https://127.0.0.1",
            "http://[2001:db8::1]:80",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com:80",
            "http://evil.com/127.0.0.1",
        ] {
            assert!(!super::loopback_http(no), "{no}");
        }
    }
}

/// Scratch files outside the vault (the default of [`ObjectStore::scratch`]) start with
/// this, in the system's temporary directory.
const TEMP_SCRATCH: &str = "mlguard-scratch-";

/// Removes scratch files that processes killed before they could remove them left in the
/// system's temporary directory (files of running processes stay).
pub(crate) fn sweep_temp_scratch() -> usize {
    leftovers::sweep(&std::env::temp_dir(), &[TEMP_SCRATCH])
}

/// The policy document's store.
pub trait PolicyStore: Send + Sync {
    /// The policy's text and a stamp that changes whenever it changes, or None when no
    /// policy was stored yet.
    fn load(&self) -> Result<Option<(String, PolicyStamp)>, VaultError>;
    /// The stamp of the stored policy (cheap: checked before each use of a cached policy).
    fn stamp(&self) -> Result<Option<PolicyStamp>, VaultError>;
    /// Stores the policy's text (`replace`: over an existing one; otherwise only if none).
    fn store(&self, text: &str, replace: bool) -> Result<(), VaultError>;
    /// Where the policy is, for messages (a path or a URL).
    fn location(&self) -> String;
}

/// What identifies one stored state of the policy (a modification time, a row version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStamp(pub String);

/// The three ports a vault works through.
pub struct Stores {
    /// Catalog, identities and audit log.
    pub catalog: Box<dyn CatalogStore>,
    /// Sealed objects.
    pub objects: Box<dyn ObjectStore>,
    /// The policy.
    pub policy: Box<dyn PolicyStore>,
}

impl Stores {
    /// Creates the embedded stores of a new vault in `root` and records them in its
    /// `config.toml`.
    pub fn create_embedded(root: &Path) -> Result<Stores, VaultError> {
        Stores::create(root, &Backends::default())
    }

    /// Creates the stores of a new vault whose directory is `root` in `backends` (migrating
    /// a new database) and records them in its `config.toml`; checks each can be reached
    /// first, so a vault is not recorded with stores it cannot use.
    pub fn create(root: &Path, backends: &Backends) -> Result<Stores, VaultError> {
        Backends::refuse_existing(root)?;
        let stores = backends.open(root)?;
        backends.write(root, false)?;
        Ok(stores)
    }

    /// The stores recorded in the vault directory `root`'s `config.toml`.
    pub fn open(root: &Path) -> Result<Stores, VaultError> {
        Backends::read(root)?.open(root)
    }

    /// The embedded default for one machine, in the vault directory `root`: SQLite
    /// (`catalog.db`, its audit log, `audit/checkpoint.vkey`), `objects/` and `policy.json`.
    pub fn embedded(root: &Path) -> Result<Stores, VaultError> {
        Ok(Stores {
            catalog: Box::new(SqliteCatalog::open(root)?),
            objects: Box::new(DirObjects::open(root)?),
            policy: Box::new(PolicyFile::new(root)),
        })
    }
}
