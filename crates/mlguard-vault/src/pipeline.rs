//! Ingest, train and predict as vault operations.

use std::io::{self, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use mlguard_data::poison::PoisonOptions;
use mlguard_data::protect::{self, ProtectOptions, ProtectReport, PseudonymKey};
use mlguard_data::{DataError, FieldsMatch, Schema, TableReader, ValidateOptions};
use mlguard_learn::{FitOptions, Model, TrainOptions, Trained};
use mlguard_seal::{Keystore, Kind, SealKeys, SealOptions, Secret, SignerPolicy};

use crate::audit::{self, AuditKeys, AuditVerification, Event, Outcome};
use crate::context::{Ctx, Tally};
use crate::identity::Action;
use crate::merkle;
use crate::rows::{JsonCell, JsonRow};
use crate::store::{
    Backends, CatalogStore, DatasetRecord, ModelRecord, ObjectStore, PolicyStamp, Scratch,
    StoredCheckpoint, Stores, Table,
};
use crate::{VaultError, io_err, poisoned};
use mlguard_seal::hex;

/// Parses `NAME` or `NAME@VERSION`.
pub fn parse_ref(s: &str) -> Result<(String, Option<u32>), VaultError> {
    match s.split_once('@') {
        None => Ok((s.to_owned(), None)),
        Some((n, v)) => {
            let v: u32 = v.parse().map_err(|_| {
                VaultError::NotFound(format!("version {v:?} (expected NAME@NUMBER)"))
            })?;
            Ok((n.to_owned(), Some(v)))
        }
    }
}

/// Where the split seed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedPolicy {
    /// 256 bits from the operating system's CSPRNG (the default): nobody can predict the
    /// split; it is recorded inside the sealed model so it can be reproduced.
    Secure,
    /// A fixed number (reproducible by anyone who knows it: for experiments only).
    Fixed(u64),
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// Dataset name.
    pub dataset: String,
    /// Dataset version (latest when None).
    pub version: Option<u32>,
    /// Target column (default: the schema's `role: target`).
    pub target: Option<String>,
    /// Held-out share.
    pub test_size: f64,
    /// Regression options.
    pub fit: FitOptions,
    /// Seed policy.
    pub seed: SeedPolicy,
    /// Model name (default: the dataset name).
    pub name: Option<String>,
    /// Train on a version its poisoning checks flagged (recorded in the model and the
    /// audit log with who accepted it); refused without.
    pub accept_flagged: bool,
}

/// A model made elsewhere to store ([`Vault::import_model`]).
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The model's name (its next version is stored).
    pub name: String,
    /// The stored dataset version it was trained on: `NAME` (the latest) or `NAME@VERSION`.
    pub dataset: String,
    /// Bind it to a version its poisoning checks flagged (recorded with who accepted it).
    pub accept_flagged: bool,
}

/// Most findings of a poisoning check stored with a dataset version (the counts are
/// always complete).
const MAX_STORED_FINDINGS: usize = 1000;

/// How [`Vault::ingest`] checks and protects a dataset.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Validation.
    pub validate: ValidateOptions,
    /// Protection (k, quasi-identifiers, `keep_pii`, ...).
    pub protect: ProtectOptions,
    /// Poisoning checks.
    pub poison: PoisonOptions,
    /// Refuse the dataset when the poisoning checks find anything of medium severity or
    /// worse (by default it is stored and the findings are reported with it).
    pub reject_poisoned: bool,
    /// The file's name in reports and the audit log (default: its path): an upload's own
    /// file name, not the server's scratch file.
    pub source: Option<String>,
}

/// A dataset stored by [`Vault::ingest`].
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The catalog record.
    pub record: DatasetRecord,
    /// The validation report (warnings only: an invalid file is refused).
    pub report: mlguard_findings::Report,
    /// What protection did.
    pub protection: ProtectReport,
    /// Fields marked `pii` kept as they were (by request).
    pub kept_pii: Vec<String>,
    /// The poisoning checks of the protected table.
    pub poison: crate::poison::PoisonCheck,
}

/// A protection report as JSON (stored with the dataset, printed by `data protect --format json`).
pub fn protection_json(r: &ProtectReport) -> serde_json::Value {
    let columns: Vec<serde_json::Value> = r
        .columns
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "action": c.action.describe(),
                "because": format!("{:?}", c.because),
                "quasi_identifier": c.quasi,
            })
        })
        .collect();
    let scrubbed: serde_json::Map<String, serde_json::Value> =
        r.scrubbed.iter().map(|(k, n)| (k.as_str().to_owned(), (*n).into())).collect();
    let anonymity = r.anonymity.as_ref().map(|a| {
        serde_json::json!({
            "k": a.k,
            "achieved_k": a.achieved,
            "groups": a.groups,
            "generalised": a.generalised.iter().map(|(n, what, level, top)| serde_json::json!({
                "column": n, "level": level, "top": top, "generalisation": what,
            })).collect::<Vec<_>>(),
            "l_diversity": a.l_diversity.as_ref().map(|(t, l, single)| serde_json::json!({
                "target": t, "l": l, "groups_with_one_value": single,
            })),
        })
    });
    serde_json::json!({
        "rows_in": r.rows_in,
        "rows_out": r.rows_out,
        "suppressed": r.suppressed.len(),
        "suppressed_rows": &r.suppressed[..r.suppressed.len().min(MAX_STORED_FINDINGS)],
        "columns": columns,
        "scrubbed_spans": scrubbed,
        "redacted_unparsable": r.redacted_unparsable,
        "k_anonymity": anonymity,
        "reidentification_risk": r.risk.as_ref().map(|risk| serde_json::json!({
            "columns": risk.columns,
            "declared": risk.declared,
            "unique_before": risk.unique_before,
            "unique_after": risk.unique_after,
        })),
    })
}

/// Whether a dataset version's poisoning checks flagged it at ingest.
fn flagged(d: &DatasetRecord) -> bool {
    serde_json::from_str::<serde_json::Value>(&d.report)
        .is_ok_and(|r| r["poison_flagged"] == serde_json::Value::Bool(true))
}

/// No model is stored unless it loads back from its bytes as `predict`, `verify` and
/// `export` will load it, compiles a predictor, and gives the same probabilities as the
/// trained model for a row of missing values (the intercept: every weight is read).
fn round_trip(bytes: &[u8], model: &Model) -> Result<(), VaultError> {
    let fail = |why: String| {
        VaultError::Model(mlguard_learn::ModelError::Invalid(format!(
            "the trained model does not load back ({why}); nothing was stored"
        )))
    };
    let back = Model::from_safetensors(bytes).map_err(|e| fail(e.to_string()))?;
    let p = back.predictor().map_err(|e| fail(e.to_string()))?;
    let want = model.predictor().map_err(|e| fail(e.to_string()))?.predict(|_| None);
    let got = p.predict(|_| None);
    let same = got.len() == want.len()
        && got.iter().zip(&want).all(|(a, b)| a.is_finite() && a.to_bits() == b.to_bits());
    if same { Ok(()) } else { Err(fail(format!("probabilities {got:?} instead of {want:?}"))) }
}

/// A model stored by [`Vault::train`].
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The catalog record.
    pub record: ModelRecord,
    /// The training result.
    pub trained: Trained,
}

/// Predictions for an input file.
#[derive(Debug, Clone, Default)]
pub struct Prediction {
    /// The model version that predicted (`NAME@VERSION`).
    pub model: String,
    /// Rows predicted.
    pub predicted: u64,
    /// Lines rejected because they break the training schema.
    pub rejected: Vec<u64>,
    /// The validation report of the input.
    pub report: Option<mlguard_findings::Report>,
}

/// An unlocked vault. Every action on it is recorded in its audit log; a checkpoint of the
/// log is signed when it is dropped (call [`Vault::checkpoint`] to see errors).
///
/// `Send + Sync`: one vault serves concurrent requests, each operation with its own
/// [`Ctx`]; what must be serialised is serialised inside (the catalog's statements, the
/// audit tree's frontier), never around whole operations.
pub struct Vault {
    root: PathBuf,
    /// The unlocked keys, replaced whole after a rotation.
    keys: RwLock<Arc<SealKeys>>,
    /// What unlocked the keys, to unlock a newer keyring another machine published.
    secret: Secret,
    /// When the shared keyring was last looked at, and the text adopted.
    keyring_seen: Mutex<(std::time::Instant, String)>,
    catalog: Box<dyn CatalogStore>,
    objects: Box<dyn ObjectStore>,
    policies: Box<dyn crate::store::PolicyStore>,
    audit: Arc<AuditKeys>,
    /// The witnesses that cosign checkpoints (config.toml), with their URLs.
    witnesses: Vec<(crate::witness::CosignerKey, String)>,
    /// The audit tree's right edge, as far as it was read (checkpoints extend it).
    frontier: Mutex<merkle::Frontier>,
    /// The policy as last read, with its stamp and when the stamp was last compared with
    /// the store's.
    policy: RwLock<Option<(PolicyStamp, Arc<crate::identity::Policy>, std::time::Instant)>>,
    /// The record each model reference served predictions named (see
    /// [`crate::identity::CACHE_TIME`]).
    pub(crate) model_names: crate::identity::TimedCache<ModelRecord>,
    /// Models loaded for predictions, by `NAME@VERSION`.
    serving: RwLock<std::collections::HashMap<String, Arc<ServingModel>>>,
    /// Names whose next version is being made ([`Vault::claim`]).
    claims: Mutex<std::collections::HashSet<(Table, String)>>,
    released: std::sync::Condvar,
    /// Bytes of feature values a training run holds in memory before it spills them to
    /// encrypted scratch files ([`Vault::set_train_memory_limit`]).
    train_memory_limit: usize,
    /// Token holders as the catalog last gave them (see [`crate::identity::CACHE_TIME`]).
    pub(crate) token_cache: crate::identity::TimedCache<crate::store::TokenHolder>,
}

/// Training's spill files: encrypted scratch files of the vault.
struct TrainSpill<'v>(&'v Vault);

impl mlguard_learn::Spill for TrainSpill<'_> {
    fn create(&self) -> io::Result<Box<dyn mlguard_learn::SpillFile>> {
        Ok(Box::new(self.0.sealed_scratch("spill").map_err(io::Error::other)?))
    }
}

/// A name claimed by [`Vault::claim`], released when dropped.
struct Claim<'a> {
    vault: &'a Vault,
    key: (Table, String),
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut claims) = self.vault.claims.lock() {
            claims.remove(&self.key);
        }
        self.vault.released.notify_all();
    }
}

/// How often a process looks for a keyring another machine published.
const KEYRING_RECHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Makes the vault directory's `keyring.json` the one the catalog shares, when machines
/// share one: a rotation on one machine reaches the others. A shared keyring older than
/// this machine's (fewer master key versions) is refused, not adopted; a catalog without
/// one gets this machine's (the embedded catalog keeps none).
fn adopt_shared_keyring(root: &Path, catalog: &dyn CatalogStore) -> Result<(), VaultError> {
    let local = Keystore::open(root)?;
    let Some(text) = catalog.keyring()? else {
        return catalog.store_keyring(&local.to_text()?);
    };
    if local.to_text()? == text {
        return Ok(());
    }
    let shared = Keystore::from_text(root, &text)?;
    if shared.newest_version() < local.newest_version() {
        return Err(VaultError::Tampered(format!(
            "the keyring shared in the catalog (newest master key v{}) is older than this machine's (v{}): refused",
            shared.newest_version(),
            local.newest_version()
        )));
    }
    shared.save_here()?;
    Ok(())
}

/// One `add-checkpoint` request to a witness: its status and body.
fn post_witness(url: &str, body: &str) -> Result<(u16, String), String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let r = client
        .post(format!("{}/add-checkpoint", url.trim_end_matches('/')))
        .body(body.to_owned())
        .send()
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.text().map_err(|e| e.to_string())?;
    if text.len() > 64 << 10 {
        return Err("an oversized answer".into());
    }
    Ok((status, text))
}

impl Drop for Vault {
    fn drop(&mut self) {
        let _ = self.checkpoint();
    }
}

const SEED_KEY: &str = "mlguard.split_seed";

/// Provenance only the vault writes: an imported model's own values for these are dropped.
const VAULT_PROVENANCE: &[&str] = &[
    SEED_KEY,
    "seed_policy",
    "split",
    "test_size",
    "dataset",
    "dataset_version",
    "dataset_blake3",
    "dataset_poison_flagged",
    "accepted_flagged_by",
    "origin",
    "imported_by",
    "imported_blake3",
];

/// Why a model made elsewhere cannot be bound to a dataset of `schema`: its target must be
/// a column, and each feature a column training would have used as one (personal data other
/// than quasi-identifiers, ids and ignored columns never are). Numeric features on
/// non-numeric fields are found when the predictor is compiled against the schema.
fn import_misfits(model: &Model, schema: &Schema) -> Vec<String> {
    let enc = &model.info.encoding;
    let mut misfits = Vec::new();
    if schema.field(&enc.target).is_none() {
        misfits.push(format!("its target {} is not a column", enc.target));
    }
    let features =
        enc.numeric.iter().map(|f| &f.name).chain(enc.categorical.iter().map(|c| &c.name));
    for name in features {
        let Some(f) = schema.field(name) else {
            misfits.push(format!("feature {name} is not a column"));
            continue;
        };
        if name == &enc.target {
            misfits.push(format!("{name} is both its target and a feature"));
        } else if f.pii.is_some_and(|p| p != mlguard_data::PiiKind::Quasi) {
            misfits.push(format!("feature {name} is personal data, never a feature"));
        } else if matches!(f.role, Some(mlguard_data::Role::Id | mlguard_data::Role::Ignore)) {
            misfits.push(format!("feature {name} is an id or ignored column"));
        }
    }
    misfits
}

/// The canonical text and MAC of an audit entry for `event`, given its index; owning what
/// it needs, so a store may build it on another thread (a batching appender).
fn owned_entry(keys: &Arc<AuditKeys>, cx: &Ctx, event: &Event) -> crate::store::OwnedAuditEntry {
    let time = mlguard_seal::now_rfc3339();
    let actor = cx.actor_name();
    let token = cx.principal().map(|p| p.token_id.clone());
    let request = cx.request_id().to_owned();
    let (keys, event) = (Arc::clone(keys), event.clone());
    Box::new(move |index| {
        let text = audit::entry_text(index, &time, &actor, token.as_deref(), &request, &event);
        let mac = keys.mac(&text);
        (text, mac)
    })
}

impl Vault {
    /// Creates a vault in `root`: its keys (wrapped by `secret`) and its embedded stores,
    /// recorded in `config.toml`. Returns the key store (still locked).
    pub fn init(root: &Path, secret: &Secret) -> Result<Keystore, VaultError> {
        Vault::init_with(root, secret, &Backends::default())
    }

    /// As [`Vault::init`], with the stores in `backends` (PostgreSQL, S3): the stores are
    /// checked and prepared before anything is written to `root`.
    pub fn init_with(
        root: &Path,
        secret: &Secret,
        backends: &Backends,
    ) -> Result<Keystore, VaultError> {
        Vault::create(root, backends, || Ok(Keystore::init(root, secret)?))
    }

    /// As [`Vault::init_with`], with the keyring's key-encryption key wrapped by the KMS
    /// key `kms_key` (so no passphrase or key file is needed to unlock it) and, for
    /// recovery if that key is lost or disabled, by the key file `recovery`.
    pub fn init_with_kms(
        root: &Path,
        kms_key: &str,
        recovery: &Secret,
        backends: &Backends,
    ) -> Result<Keystore, VaultError> {
        let kms = crate::kms::Kms::from_env(kms_key)?;
        Vault::create(root, backends, || {
            let kek = zeroize::Zeroizing::new(mlguard_seal::random::<32>()?);
            let vault = hex(&mlguard_seal::random::<16>()?);
            let context = crate::kms::context(&vault);
            let wrapped = kms.encrypt(kek.as_slice(), &context)?;
            // Unwrapping must work before the vault depends on it (the key's policy may
            // allow Encrypt but not Decrypt).
            let back = kms.decrypt(&wrapped, &context)?;
            if back.as_slice() != kek.as_slice() {
                return Err(VaultError::Config(format!(
                    "the KMS key {kms_key} did not give back what it wrapped"
                )));
            }
            let wrap = mlguard_seal::KmsWrap { key_id: kms_key.to_owned(), vault, wrapped };
            Ok(Keystore::init_kms(root, kek.as_slice(), wrap, recovery)?)
        })
    }

    /// Checks `backends`, makes the keyring with `keys`, then the stores.
    fn create(
        root: &Path,
        backends: &Backends,
        keys: impl FnOnce() -> Result<Keystore, VaultError>,
    ) -> Result<Keystore, VaultError> {
        Backends::refuse_existing(root)?;
        backends.check()?;
        let keys = keys()?;
        Stores::create(root, backends)?;
        Ok(keys)
    }

    /// The secret that unlocks the vault at `root` when a KMS wraps its keys: the
    /// key-encryption key, unwrapped by the KMS (None for other vaults).
    pub fn kms_secret(root: &Path) -> Result<Option<Secret>, VaultError> {
        let Some(wrap) = Keystore::open(root)?.kms() else { return Ok(None) };
        let kms = crate::kms::Kms::from_env(&wrap.key_id)?;
        let kek = kms.decrypt(&wrap.wrapped, &crate::kms::context(&wrap.vault))?;
        Ok(Some(Secret::Kek(kek)))
    }

    /// Opens and unlocks the vault at `root`, with the stores its `config.toml` records.
    pub fn open(root: &Path, secret: &Secret) -> Result<Vault, VaultError> {
        Vault::with_stores(root, secret, Stores::open(root)?)
    }

    /// Opens and unlocks the vault whose keys are at `root`, working through `stores`.
    pub fn with_stores(root: &Path, secret: &Secret, stores: Stores) -> Result<Vault, VaultError> {
        adopt_shared_keyring(root, &*stores.catalog)?;
        let mut store = Keystore::open(root)?;
        if !store.has_service_keys() {
            store.add_service_keys(secret)?;
        }
        let keys = store.unlock(secret)?;
        let seed = keys
            .audit_key()
            .ok_or_else(|| VaultError::Config("this vault has no audit key".into()))?;
        let signer = store.signing_public()?.key_id();
        let audit = AuditKeys::from_seed(&seed, format!("mlguard.local/audit/{}", &signer[..16]))?;
        stores.catalog.publish_checkpoint_key(&audit.verifier_key())?;
        let witnesses = Backends::witnesses(root)?
            .into_iter()
            .map(|w| {
                crate::witness::CosignerKey::parse(&w.vkey).map(|k| (k, w.url)).map_err(|e| {
                    VaultError::Config(format!("config.toml: witness {:?}: {e}", w.vkey))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keyring_seen = Mutex::new((std::time::Instant::now(), store.to_text()?));
        Ok(Vault {
            root: root.to_path_buf(),
            keys: RwLock::new(Arc::new(keys)),
            secret: secret.duplicate(),
            keyring_seen,
            catalog: stores.catalog,
            objects: stores.objects,
            policies: stores.policy,
            audit: Arc::new(audit),
            witnesses,
            policy: RwLock::new(None),
            frontier: Mutex::new(merkle::Frontier::default()),
            claims: Mutex::new(std::collections::HashSet::new()),
            serving: RwLock::new(std::collections::HashMap::new()),
            released: std::sync::Condvar::new(),
            train_memory_limit: mlguard_learn::DEFAULT_MEMORY_LIMIT,
            token_cache: crate::identity::TimedCache::default(),
            model_names: crate::identity::TimedCache::default(),
        })
    }

    /// Claims `name` in `table` while its next version is made: concurrent ingests (or
    /// trainings) of one name take turns, so each gets the next version and an ingest is
    /// checked against the version stored just before it. Other names are not held up.
    /// (Another process writing the same name is kept apart by the catalog: the later
    /// insert is a [`VaultError::Conflict`].)
    fn claim(&self, table: Table, name: &str) -> Result<Claim<'_>, VaultError> {
        let key = (table, name.to_owned());
        let mut claims = self.claims.lock().map_err(poisoned)?;
        while claims.contains(&key) {
            claims = self.released.wait(claims).map_err(poisoned)?;
        }
        claims.insert(key.clone());
        Ok(Claim { vault: self, key })
    }

    /// Replaces the unlocked keys (after a rotation: new seals use the new version).
    pub(crate) fn set_keys(&self, keys: SealKeys) -> Result<(), VaultError> {
        *self.keys.write().map_err(poisoned)? = Arc::new(keys);
        Ok(())
    }

    /// The audit log's keys (for keyed HMACs of sensitive values in event details).
    pub fn audit_keys(&self) -> &AuditKeys {
        &self.audit
    }

    /// Runs the operation `run` for `event`'s action on its object: allowed first (a
    /// refusal is recorded and is the call's one entry), then run; `run` records its own
    /// success (in the transaction of its change, or before its result is released), and a
    /// failure is recorded here instead, as `event` with the reason: denied when the input
    /// or the request was refused, failed otherwise. One entry per call either way.
    pub(crate) fn operation<T>(
        &self,
        cx: &Ctx,
        event: &Event,
        run: impl FnOnce() -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.authorize(cx, event.action, &event.object)?;
        run().or_else(|e| {
            let outcome = match &e {
                VaultError::AuditUnavailable(_) | VaultError::Denied(_) => return Err(e),
                e if e.is_refusal() => Outcome::Denied,
                _ => Outcome::Failed,
            };
            let failed = event.clone().outcome(outcome).field("reason", e.to_string());
            self.record(cx, &failed)?;
            Err(e)
        })
    }

    /// An operation that changes nothing: allowed, done, and recorded as `event` before its
    /// result is released (or recorded as failed).
    pub(crate) fn reading<T>(
        &self,
        cx: &Ctx,
        event: &Event,
        read: impl FnOnce() -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        self.operation(cx, event, || {
            let t = read()?;
            self.record(cx, event)?;
            Ok(t)
        })
    }

    /// Records an action in the audit log, durably; when that fails the caller must not
    /// act ([`VaultError::AuditUnavailable`]).
    pub(crate) fn record(&self, cx: &Ctx, event: &Event) -> Result<(), VaultError> {
        let index = self.catalog.append_audit(owned_entry(&self.audit, cx, event))?;
        if Vault::checkpoint_due(index) {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Queues `event`'s entry for the audit log: nothing may be acted on or released before
    /// its receipt answers ([`Vault::checkpoint_due`] then).
    pub(crate) fn record_queued(
        &self,
        cx: &Ctx,
        event: &Event,
    ) -> Result<crate::store::Receipt, VaultError> {
        self.catalog.enqueue_audit(owned_entry(&self.audit, cx, event))
    }

    /// Whether a checkpoint is to be signed ([`Vault::checkpoint`]) once the entry of
    /// `index` is appended: every [`audit::CHECKPOINT_EVERY`] entries.
    pub fn checkpoint_due(index: u64) -> bool {
        (index + 1).is_multiple_of(audit::CHECKPOINT_EVERY)
    }

    /// Makes the change `change` with the audit entry of `event` (given to it to append in
    /// the same transaction); nothing is changed unless the entry is recorded.
    pub(crate) fn recorded<T>(
        &self,
        cx: &Ctx,
        event: &Event,
        change: impl FnOnce(crate::AuditEntry<'_>) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let build = owned_entry(&self.audit, cx, event);
        let t = change(&*build)?;
        drop(build);
        self.maybe_checkpoint()?;
        Ok(t)
    }

    /// Adds a catalog row for stored `objects` and the audit entry of `event` in one
    /// transaction; when that fails, the objects are removed too (not recorded, not stored).
    fn add_recorded(
        &self,
        cx: &Ctx,
        objects: &[&str],
        event: &Event,
        add: impl FnOnce(&dyn CatalogStore, crate::AuditEntry<'_>) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        self.recorded(cx, event, |audit| add(&*self.catalog, audit)).inspect_err(|_| {
            for object in objects {
                let _ = self.objects.delete(object);
            }
        })
    }

    fn maybe_checkpoint(&self) -> Result<(), VaultError> {
        if self.catalog.audit_len()?.is_multiple_of(audit::CHECKPOINT_EVERY) {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Signs a checkpoint of the whole log if it grew since the last one; returns its size.
    /// Only the entries added since the previous call are read, MAC-checked and hashed: an
    /// edited entry is never signed over ([`VaultError::Tampered`]).
    pub fn checkpoint(&self) -> Result<Option<u64>, VaultError> {
        let latest = self.catalog.latest_checkpoint()?;
        let last = latest.as_ref().map_or(0, |c| c.size);
        let mut frontier = self.frontier.lock().map_err(poisoned)?;
        if frontier.size() == 0
            && let Some(resumed) = latest.as_ref().and_then(|c| self.resume(c))
        {
            *frontier = resumed;
        }
        for (idx, text, mac) in self.catalog.audit_entries(frontier.size())? {
            if idx != frontier.size() {
                // A gap: the log was cut; verification will say where. Start over next time.
                let missing = frontier.size();
                *frontier = merkle::Frontier::default();
                return Err(VaultError::Tampered(format!(
                    "the audit log has no entry {missing}; run `mlguard audit verify`"
                )));
            }
            // Never sign over an edited entry: a checkpoint would vouch for the edit.
            if self.audit.mac(&text) != mac {
                *frontier = merkle::Frontier::default();
                return Err(VaultError::Tampered(format!(
                    "audit entry {idx} does not match its MAC; run `mlguard audit verify`"
                )));
            }
            frontier.push(merkle::leaf_hash(text.as_bytes()));
        }
        let size = frontier.size();
        if size == 0 || size <= last {
            return Ok(None);
        }
        let note = self.audit.checkpoint(size, &frontier.root());
        self.catalog.add_checkpoint(size, &note, Some(&frontier.to_text()))?;
        Ok(Some(size))
    }

    /// The tree's frontier stored with checkpoint `c`, if its root is the one `c`'s
    /// signature vouches for (else the log is rehashed from its first entry, every MAC
    /// checked, as when no frontier was stored).
    fn resume(&self, c: &StoredCheckpoint) -> Option<merkle::Frontier> {
        let f = merkle::Frontier::from_text(c.size, c.frontier.as_deref()?)?;
        let (size, root) = self.audit.open_checkpoint(&c.note).ok()?;
        (size == c.size && root == f.root()).then_some(f)
    }

    /// Recomputes the audit log: every entry's index and MAC (the first edited, deleted
    /// or moved entry is named), the Merkle tree, and every checkpoint's signature and root.
    pub(crate) fn verify_log(&self) -> Result<AuditVerification, VaultError> {
        let entries = self.catalog.audit_entries(0)?;
        let mut problems = Vec::new();
        let mut first_bad: Option<u64> = None;
        let mut bad = |i: u64, why: String, problems: &mut Vec<String>| {
            if first_bad.is_none() {
                first_bad = Some(i);
            }
            problems.push(format!("entry {i}: {why}"));
        };
        let mut leaves = Vec::with_capacity(entries.len());
        let mut expected = 0u64;
        for (idx, text, mac) in &entries {
            if *idx != expected {
                let gone = if *idx == expected + 1 {
                    format!("deleted (the next row is entry {idx})")
                } else {
                    format!(
                        "deleted, with the entries up to {} (the next row is entry {idx})",
                        idx - 1
                    )
                };
                bad(expected, gone, &mut problems);
            }
            if self.audit.mac(text) != *mac {
                bad(*idx, "its MAC does not match: edited".into(), &mut problems);
            } else if serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v["index"].as_u64())
                != Some(*idx)
            {
                bad(*idx, "it records another index: moved".into(), &mut problems);
            }
            expected = idx + 1;
            leaves.push(merkle::leaf_hash(text.as_bytes()));
        }
        let checkpoints = self.catalog.checkpoints()?;
        let signed: Vec<_> =
            checkpoints.iter().map(|(_, n)| self.audit.open_checkpoint(n)).collect();
        let roots = merkle::prefix_roots(
            &leaves,
            signed.iter().filter_map(|s| s.as_ref().ok().map(|(n, _)| *n)),
        );
        for ((size, _), signed) in checkpoints.iter().zip(signed) {
            match signed {
                Err(why) => problems.push(format!("checkpoint {size}: {why}")),
                Ok((n, _)) if n != *size => {
                    problems.push(format!("checkpoint {size}: it signs size {n}"))
                }
                Ok((n, _)) if n > leaves.len() as u64 => problems.push(format!(
                    "checkpoint {size}: it signs {n} entries, the log has {} (entries were removed)",
                    leaves.len(),
                )),
                Ok((n, root)) if roots.get(&n) != Some(&root) => {
                    problems.push(format!("checkpoint {size}: the first {n} entries do not have the signed root"))
                }
                Ok(_) => {}
            }
        }
        if first_bad.is_none() && problems.iter().any(|p| p.contains("removed")) {
            first_bad = Some(expected);
        }
        // The witnesses: each must have cosigned the latest checkpoint (asked now if it
        // has not yet; a witness that saw the log longer refuses, and says so).
        if problems.is_empty() && !self.witnesses.is_empty() {
            let asked = self.cosign_latest()?;
            let latest = self.catalog.latest_checkpoint()?;
            for (key, _) in &self.witnesses {
                let verdict = match &latest {
                    Some(c) => key.verify(&c.note).map(drop),
                    None => Err("the log has no checkpoint".into()),
                };
                if let Err(why) = verdict {
                    let said = asked.iter().find(|(n, _)| *n == key.name).map(|(_, w)| w.as_str());
                    problems.push(format!(
                        "witness {}: {why}{}",
                        key.name,
                        said.map(|w| format!(" ({w})")).unwrap_or_default()
                    ));
                }
            }
        }
        Ok(AuditVerification {
            entries: leaves.len() as u64,
            checkpoints: checkpoints.len() as u64,
            first_bad_entry: first_bad,
            problems,
            root: hex(&merkle::root(&leaves)),
        })
    }

    /// Asks every configured witness that has not cosigned the latest checkpoint for its
    /// cosignature (C2SP tlog-witness: from the size it last cosigned, with a consistency
    /// proof), and stores the cosignatures with the checkpoint. Returns what each witness
    /// that did not cosign answered; an unreachable witness is such an answer, not an
    /// error (the log stays writable; `audit verify` reports the missing cosignature).
    pub(crate) fn cosign_latest(&self) -> Result<Vec<(String, String)>, VaultError> {
        if self.witnesses.is_empty() {
            return Ok(Vec::new());
        }
        self.checkpoint()?;
        let (size, mut note, _) = self.latest_checkpoint()?;
        let mut refused = Vec::new();
        let mut leaves: Option<Vec<merkle::Hash>> = None;
        for (key, url) in &self.witnesses {
            if key.verify(&note).is_ok() {
                continue;
            }
            let mut old = 0u64;
            let mut answer = String::new();
            for _ in 0..2 {
                let proof = if old == 0 || old == size {
                    Vec::new()
                } else {
                    if leaves.is_none() {
                        leaves = Some(leaf_hashes(&self.catalog.audit_entries(0)?, size)?);
                    }
                    merkle::consistency_proof(leaves.as_deref().unwrap_or(&[]), old as usize)
                };
                let body = crate::witness::request_body(old, &proof, &note);
                match post_witness(url, &body) {
                    Ok((200, cosignature)) => {
                        let cosigned = format!("{note}{cosignature}");
                        if key.verify(&cosigned).is_ok() && crate::note::parse(&cosigned).is_ok() {
                            note = cosigned;
                            answer.clear();
                        } else {
                            answer = "its answer is not a valid cosignature".into();
                        }
                        break;
                    }
                    Ok((409, seen)) => match seen.trim().parse::<u64>() {
                        Ok(n) if n > size => {
                            answer = format!(
                                "it cosigned {n} entries of this log, which now has {size}: entries were removed (rolled back)"
                            );
                            break;
                        }
                        Ok(n) => old = n,
                        Err(_) => {
                            answer = "a malformed conflict answer".into();
                            break;
                        }
                    },
                    Ok((status, text)) => {
                        answer = format!(
                            "it refused ({status}): {}",
                            mlguard_findings::terminal_safe(text.trim(), false)
                        );
                        break;
                    }
                    Err(e) => {
                        answer = format!("unreachable: {e}");
                        break;
                    }
                }
            }
            if !answer.is_empty() {
                refused.push((key.name.clone(), answer));
            }
        }
        self.catalog.add_checkpoint(size, &note, None)?;
        Ok(refused)
    }

    /// The latest signed checkpoint: its size, note and (signature checked) root.
    fn latest_checkpoint(&self) -> Result<(u64, String, merkle::Hash), VaultError> {
        let c = self
            .catalog
            .latest_checkpoint()?
            .ok_or_else(|| VaultError::NotFound("a checkpoint (the log is empty)".into()))?;
        let (_, root) = self.audit.open_checkpoint(&c.note).map_err(VaultError::Tampered)?;
        Ok((c.size, c.note, root))
    }

    /// The inclusion proof of entry `index` in the latest signed checkpoint that holds it,
    /// checked before it is returned: the entry, its leaf hash, the audit path, and the
    /// checkpoint. Signs a checkpoint first if the entry is newer than the last one.
    pub(crate) fn proof(&self, index: u64) -> Result<serde_json::Value, VaultError> {
        let entries = self.catalog.audit_entries(0)?;
        let Some((_, text, _)) = entries.get(index as usize) else {
            return Err(VaultError::NotFound(format!("audit entry {index}")));
        };
        if self.catalog.latest_checkpoint()?.is_none_or(|c| c.size <= index) {
            self.checkpoint()?;
        }
        let (size, note, root) = self.latest_checkpoint()?;
        let leaves = leaf_hashes(&entries, size)?;
        let leaf = merkle::leaf_hash(text.as_bytes());
        let proof = merkle::inclusion_proof(&leaves, index as usize);
        if !merkle::verify_inclusion(index, size, &leaf, &proof, &root) {
            return Err(VaultError::Tampered(format!(
                "entry {index} is not in the signed checkpoint of size {size}: run `mlguard audit verify`"
            )));
        }
        Ok(serde_json::json!({
            "index": index,
            "entry": serde_json::from_str::<serde_json::Value>(text).unwrap_or_default(),
            "leaf_hash": hex(&leaf),
            "tree_size": size,
            "root": hex(&root),
            "proof": proof.iter().map(|h| hex(h)).collect::<Vec<_>>(),
            "checkpoint": note,
            "verifier_key": self.audit.verifier_key(),
        }))
    }

    /// A consistency proof (RFC 6962) that the log of the first `from` entries is a prefix
    /// of the log in the latest signed checkpoint (signed first if the log grew): what a
    /// client holding an older checkpoint needs to see that nothing it saw was rewritten.
    /// Checked before it is returned.
    pub(crate) fn consistency(&self, from: u64) -> Result<serde_json::Value, VaultError> {
        self.checkpoint()?;
        let (size, note, root) = self.latest_checkpoint()?;
        if from == 0 || from > size {
            return Err(VaultError::Refused(format!(
                "a consistency proof needs 1 <= from <= {size} (the latest checkpoint's size), not {from}"
            )));
        }
        let leaves = leaf_hashes(&self.catalog.audit_entries(0)?, size)?;
        let old_root = merkle::root(&leaves[..from as usize]);
        let proof = merkle::consistency_proof(&leaves, from as usize);
        if !merkle::verify_consistency(from, size, &old_root, &root, &proof) {
            return Err(VaultError::Tampered(format!(
                "the log does not match its checkpoint of size {size}: run `mlguard audit verify`"
            )));
        }
        Ok(serde_json::json!({
            "from": from,
            "from_root": hex(&old_root),
            "tree_size": size,
            "root": hex(&root),
            "proof": proof.iter().map(|h| hex(h)).collect::<Vec<_>>(),
            "checkpoint": note,
            "verifier_key": self.audit.verifier_key(),
        }))
    }

    /// Publishes this machine's keyring to the catalog (after a rotation here).
    pub(crate) fn publish_keyring(&self, store: &Keystore) -> Result<(), VaultError> {
        let text = store.to_text()?;
        self.catalog.store_keyring(&text)?;
        if let Ok(mut seen) = self.keyring_seen.lock() {
            seen.1 = text;
        }
        Ok(())
    }

    /// Adopts a keyring another machine published (at most every [`KEYRING_RECHECK`]):
    /// unlocked with this process's secret, it replaces the keys in use. Nothing changes
    /// when it cannot be read or unlocked (the keys in use stay).
    fn refresh_keys(&self) {
        let Ok(mut seen) = self.keyring_seen.try_lock() else { return };
        if seen.0.elapsed() < KEYRING_RECHECK {
            return;
        }
        seen.0 = std::time::Instant::now();
        let Ok(Some(text)) = self.catalog.keyring() else { return };
        if text == seen.1 {
            return;
        }
        let Ok(store) = Keystore::from_text(&self.root, &text) else { return };
        if let Ok(keys) = store.unlock(&self.secret)
            && let Ok(mut k) = self.keys.write()
        {
            *k = Arc::new(keys);
            let _ = store.save_here();
            seen.1 = text;
        }
    }

    /// Where the policy is stored.
    pub(crate) fn policy_store(&self) -> &dyn crate::store::PolicyStore {
        &*self.policies
    }

    /// The vault's policy, re-read when its store says it changed (shared, not copied,
    /// while it does not).
    pub(crate) fn policy(&self) -> Result<Arc<crate::identity::Policy>, VaultError> {
        let stamp = self.policies.stamp()?;
        if let Some((at, p, checked)) = self.policy.write().map_err(poisoned)?.as_mut()
            && stamp.as_ref() == Some(at)
        {
            *checked = std::time::Instant::now();
            return Ok(Arc::clone(p));
        }
        let (p, stamp) = crate::identity::Policy::load(&*self.policies)?;
        let p = Arc::new(p);
        *self.policy.write().map_err(poisoned)? =
            stamp.map(|s| (s, Arc::clone(&p), std::time::Instant::now()));
        Ok(p)
    }

    /// The policy without reading its store, if its stamp was compared less than
    /// [`crate::identity::CACHE_TIME`] ago.
    pub(crate) fn policy_cached(&self) -> Option<Arc<crate::identity::Policy>> {
        let policy = self.policy.read().ok()?;
        let (_, p, checked) = policy.as_ref()?;
        (checked.elapsed() < crate::identity::CACHE_TIME).then(|| Arc::clone(p))
    }

    /// The policy's store.
    pub(crate) fn policies(&self) -> &dyn crate::store::PolicyStore {
        &*self.policies
    }

    /// Switches this vault's commits to group commit: a commit no longer waits for its own
    /// fsync; the caller must call [`Vault::sync`] before it releases the result of any
    /// action, and must not release it if that fails. One fsync then covers every commit
    /// made before it (the server batches concurrent requests this way).
    pub fn use_group_commit(&self) -> Result<(), VaultError> {
        self.catalog.use_group_commit()
    }

    /// Returns once every change and audit entry made so far is durable (at once unless
    /// [`Vault::use_group_commit`] is on).
    pub fn sync(&self) -> Result<(), VaultError> {
        self.catalog.sync()
    }

    /// Publishes a server's self-signed certificate (public) beside the vault, where its
    /// clients find it (`--ca-cert`); returns where.
    pub fn publish_certificate(&self, pem: &str) -> Result<PathBuf, VaultError> {
        crate::store::publish_certificate(&self.root, pem)
    }

    /// The vault's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalog port.
    pub fn catalog(&self) -> &dyn CatalogStore {
        &*self.catalog
    }

    /// The object port (sealed bytes only: reading them needs the keys).
    pub fn objects(&self) -> &dyn ObjectStore {
        &*self.objects
    }

    /// The unlocked keys (as they are now: a rotation, here or on another machine sharing
    /// the catalog, replaces them for later calls).
    pub fn keys(&self) -> Arc<SealKeys> {
        self.refresh_keys();
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Seals `input` into the object port and returns the object's name and core. Nothing
    /// is left behind when sealing or storing fails.
    fn store<R: Read + io::Seek>(
        &self,
        input: &mut R,
        kind: Kind,
        meta: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(String, mlguard_seal::Core), VaultError> {
        self.store_sealed(kind, meta, |w, keys, opts, id| {
            mlguard_seal::seal_as(input, w, keys, opts, id)
        })
    }

    /// [`Vault::store`] of a finished scratch file, with the digest its writer took: read
    /// and decrypted once instead of twice.
    fn store_scratch(
        &self,
        scratch: &Scratch,
        digest: &mlguard_seal::Digest,
        kind: Kind,
        meta: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(String, mlguard_seal::Core), VaultError> {
        let mut input = BufReader::with_capacity(1 << 20, scratch.reader()?);
        self.store_sealed(kind, meta, |w, keys, opts, id| {
            mlguard_seal::seal_known(&mut input, w, keys, opts, id, digest)
        })
    }

    /// A new object named by a fresh id, written by `seal` and committed.
    fn store_sealed(
        &self,
        kind: Kind,
        meta: serde_json::Map<String, serde_json::Value>,
        seal: impl FnOnce(
            &mut Box<dyn crate::store::ObjectWriter>,
            &SealKeys,
            &SealOptions,
            [u8; 16],
        ) -> Result<mlguard_seal::Core, mlguard_seal::SealError>,
    ) -> Result<(String, mlguard_seal::Core), VaultError> {
        let opts = SealOptions { kind, meta };
        let id: [u8; 16] = mlguard_seal::random()?;
        let name = format!("{}.mlseal", hex(&id));
        let mut w = self.objects.create(&name)?;
        let core = seal(&mut w, &self.keys(), &opts, id)?;
        w.commit()?;
        Ok((name, core))
    }

    /// The key of the keyed pseudonyms of personal data.
    pub(crate) fn pseudonym_key(&self) -> Result<PseudonymKey, VaultError> {
        let bytes = self
            .keys()
            .pseudonym_key()
            .ok_or_else(|| VaultError::Config("this vault has no pseudonym key".into()))?;
        Ok(PseudonymKey::from_bytes(*bytes))
    }

    /// Sets how many bytes of feature values a training run holds in memory (default
    /// [`mlguard_learn::DEFAULT_MEMORY_LIMIT`]); past it they go to encrypted scratch
    /// files and are read back once per pass of the fit: the same model, in bounded memory.
    pub fn set_train_memory_limit(&mut self, bytes: usize) {
        self.train_memory_limit = bytes;
    }

    /// A temporary file inside the vault (owner-only, removed when dropped) for plaintext
    /// that must be read more than once, or that arrives over the network.
    pub fn scratch(&self, what: &str) -> Result<tempfile::NamedTempFile, VaultError> {
        self.objects.scratch(what)
    }

    /// Writes the plaintext of a stored dataset version to `out`, after verifying it
    /// completely (signature, every tag, digest, catalog entry).
    pub(crate) fn read_dataset<W: Write>(
        &self,
        record: &DatasetRecord,
        out: &mut W,
    ) -> Result<(), VaultError> {
        self.verify_object(&record.object, &record.blake3)?;
        let mut src = BufReader::with_capacity(1 << 20, self.objects.get(&record.object)?);
        mlguard_seal::open(&mut src, out, &self.keys(), SignerPolicy::TrustedOnly)?;
        Ok(())
    }

    /// A stored dataset version decrypted into an owner-only scratch file in the vault
    /// (removed when dropped), for reading more than once.
    pub(crate) fn dataset_to_scratch(&self, record: &DatasetRecord) -> Result<Scratch, VaultError> {
        let mut file = self.sealed_scratch("dataset")?;
        let mut w = file.writer()?;
        self.read_dataset(record, &mut w)?;
        w.finish()?;
        Ok(file)
    }

    /// A scratch file encrypted under a key that exists only in this process
    /// ([`Scratch`]): for plaintext the vault makes and reads back.
    pub fn sealed_scratch(&self, what: &str) -> Result<Scratch, VaultError> {
        Scratch::new(self.objects.scratch(what)?)
    }

    /// A stored dataset version (`NAME[@VERSION]`) decrypted for download into an
    /// owner-only scratch file, verified completely first; recorded before it is handed
    /// out as `dataset.read`, or `dataset.read-raw` for a version stored with personal data
    /// kept, with the operation `download`, whether it is raw and its size.
    pub fn download_dataset(
        &self,
        cx: &Ctx,
        reference: &str,
    ) -> Result<(DatasetRecord, Scratch), VaultError> {
        // Which action this is depends on the version, so the version is pinned first
        // (versions never change); an unknown one is decided as a plain read.
        let found = self.dataset_record(reference);
        let event = match &found {
            Ok(d) => {
                let raw = d.kept_pii();
                let action = if raw { Action::DatasetReadRaw } else { Action::DatasetRead };
                Event::new(action, format!("{}@{}", d.name, d.version), Outcome::Allowed)
                    .op("download")
                    .detail(serde_json::json!({"raw": raw, "bytes": d.size}))
            }
            Err(_) => Event::new(Action::DatasetRead, reference, Outcome::Allowed).op("download"),
        };
        self.operation(cx, &event, || {
            let d = found?;
            let file = self.dataset_to_scratch(&d)?;
            self.record(cx, &event)?;
            Ok((d, file))
        })
    }

    /// A stored dataset version decrypted as the baseline of a poisoning check
    /// (`dataset.read`, recorded before a byte is decrypted, with what it is compared with).
    pub fn poison_baseline(
        &self,
        cx: &Ctx,
        reference: &str,
        checked: &str,
    ) -> Result<(DatasetRecord, Scratch), VaultError> {
        let found = self.dataset_record(reference);
        let object = found
            .as_ref()
            .map_or_else(|_| reference.to_owned(), |d| format!("{}@{}", d.name, d.version));
        let event = Event::new(Action::DatasetRead, object, Outcome::Allowed)
            .detail(serde_json::json!({"purpose": "poison baseline", "checked": checked}));
        self.operation(cx, &event, || {
            let d = found?;
            self.record(cx, &event)?;
            let file = self.dataset_to_scratch(&d)?;
            Ok((d, file))
        })
    }

    /// Ingests a CSV file as the next version of `name`:
    ///
    /// 1. validates it against `schema` and refuses it if invalid;
    /// 2. refuses it if a field is marked `pii` without a `protect` action, unless
    ///    [`ProtectOptions::keep_pii`] (then the fields kept are recorded with the version);
    /// 3. protects it ([`mlguard_data::protect`]: each field's action, free-text
    ///    scrubbing, k-anonymity of the quasi-identifiers) with the vault's pseudonym key;
    /// 4. checks the protected table for poisoning, against the previous version when
    ///    there is one, and refuses it on medium or worse findings if
    ///    [`IngestOptions::reject_poisoned`];
    /// 5. seals the protected table and records it with the schema that describes it and
    ///    the report of every step.
    ///
    /// Nothing is stored when any step refuses. The protected plaintext exists only in an
    /// owner-only scratch file inside the vault while it is checked and sealed.
    pub fn ingest(
        &self,
        cx: &Ctx,
        csv: &Path,
        schema: &Schema,
        name: &str,
        opts: &IngestOptions,
    ) -> Result<Ingested, VaultError> {
        self.ingest_from(cx, &IngestSource::Path(csv), schema, name, opts)
    }

    /// [`Vault::ingest`] of a table from any [`IngestSource`] (an upload the server received into
    /// an encrypted scratch file, say).
    pub fn ingest_from(
        &self,
        cx: &Ctx,
        source: &IngestSource<'_>,
        schema: &Schema,
        name: &str,
        opts: &IngestOptions,
    ) -> Result<Ingested, VaultError> {
        let file = opts.source.clone().unwrap_or_else(|| source.name());
        let event = Event::new(Action::DatasetIngest, name, Outcome::Allowed)
            .detail(serde_json::json!({"file": file}));
        self.operation(cx, &event, || self.ingest_unrecorded(cx, source, schema, name, opts))
    }

    /// An upload for an ingest that did not arrive whole (`dataset.ingest`, failed, with
    /// why): the request was allowed, and its failure is its entry.
    pub fn ingest_abandoned(&self, cx: &Ctx, name: &str, why: &str) -> Result<(), VaultError> {
        let event = Event::new(Action::DatasetIngest, name, Outcome::Failed)
            .detail(serde_json::json!({"reason": format!("upload: {why}")}));
        self.authorize(cx, event.action, name)?;
        self.record(cx, &event)
    }

    /// Allows an ingest of `name` before its data arrives (a refusal is recorded); the
    /// ingest that follows in the same request is not asked again.
    pub fn allow_ingest(&self, cx: &Ctx, name: &str) -> Result<(), VaultError> {
        self.authorize(cx, Action::DatasetIngest, name)
    }

    fn ingest_unrecorded(
        &self,
        cx: &Ctx,
        input: &IngestSource<'_>,
        schema: &Schema,
        name: &str,
        opts: &IngestOptions,
    ) -> Result<Ingested, VaultError> {
        let source = opts.source.clone().unwrap_or_else(|| input.name());
        let unprotected: Vec<String> = schema
            .fields
            .iter()
            // Quasi-identifiers need no action: k-anonymity generalises them.
            .filter(|f| {
                f.pii.is_some_and(|p| p != mlguard_data::PiiKind::Quasi) && f.protect.is_none()
            })
            .map(|f| f.name.clone())
            .collect();
        if !unprotected.is_empty() && !opts.protect.keep_pii {
            return Err(VaultError::UnprotectedPii(unprotected));
        }
        let key = self.pseudonym_key()?;
        // The header first (unmetered: a few bytes), for protection's plan. A table without
        // a readable one gets validation's report of why.
        let header = match TableReader::new(input.open(&Tally::default())?, opts.protect.delimiter)
        {
            Ok(t) => t.header().to_vec(),
            Err(e) => {
                let report = mlguard_data::validate_reader(
                    input.open(&Tally::default())?,
                    &source,
                    schema,
                    &opts.validate,
                )?;
                if report.errors() > 0 {
                    return Err(VaultError::Invalid(Box::new(report)));
                }
                return Err(e.into());
            }
        };
        let input_passes =
            if protect::generalises(schema, &header, &opts.protect)? { 2 } else { 1 };
        // Progress: the input is read once by validation and protection together (twice
        // with k-anonymity, whose second pass writes), then the protected table twice (the
        // checks' two passes, the first shared with the columnar form's writer); until
        // protection has written it, it is taken to be the input's size.
        let size = input.size();
        let tally = cx.tally(size.map(|s| s.saturating_mul(input_passes + 2)));
        // The protected table never reaches the disk in clear: encrypted under a key that
        // dies with this process. What protection wrote is only used once validation passed.
        let mut protected = self.sealed_scratch("protected")?;
        let (report, protection) = {
            let mut w = protected.writer()?;
            let second = if input_passes > 1 { Some(input.open(&tally)?) } else { None };
            let (report, protection) = protect::validate_and_protect(
                &header,
                input.open(&tally)?,
                second,
                &mut w,
                schema,
                &key,
                &opts.protect,
                &source,
                &opts.validate,
            )?;
            match protection {
                Some(p) => (report, Some((p, w.finish_digest()?))),
                None => (report, None),
            }
        };
        let (protection, protected_digest) = match protection {
            Some(p) if report.errors() == 0 => p,
            _ => return Err(VaultError::Invalid(Box::new(report))),
        };
        let stored_schema = protect::protected_schema(schema, &protection.columns);
        tally.set_total(size.map(|s| {
            s.saturating_mul(input_passes).saturating_add(protected_digest.size.saturating_mul(2))
        }));

        // Poisoning, against the previous version.
        let _claim = self.claim(Table::Datasets, name)?;
        let version = self.catalog.next_version(Table::Datasets, name)?;
        let previous =
            if version > 1 { Some(self.catalog.dataset(name, Some(version - 1))?) } else { None };
        let baseline = match &previous {
            Some(p) => Some(self.dataset_to_scratch(p)?),
            None => None,
        };
        let open_protected = || protected.reader().map(|r| BufReader::new(tally.reader(r)));
        let base_name = previous.as_ref().map(|p| format!("{}@{}", p.name, p.version));
        let base_reader = match &baseline {
            Some(b) => Some(BufReader::new(b.reader()?)),
            None => None,
        };
        let subject = format!("{name}@{version}");
        let mut meta = serde_json::Map::new();
        meta.insert("name".into(), name.into());
        meta.insert("version".into(), version.into());
        let mut columnar_meta = meta.clone();
        columnar_meta.insert("form".into(), "columnar".into());
        columnar_meta.insert("format".into(), "arrow-ipc-stream".into());
        // The poisoning checks read the protected table twice; their first read is shared
        // with the writer of its columnar form (one decryption and tokenisation for both).
        // Beside them the table is sealed, then its columnar form once written (one upload
        // at a time keeps the memory flat). The sealed objects of a rejected table are
        // removed (they have no catalog row).
        let poison_opts =
            PoisonOptions { expected_rows: Some(protection.rows_out), ..opts.poison.clone() };
        let header = TableReader::new(protected.reader()?, b',')?.header().to_vec();
        let mut form = self.sealed_scratch("columnar")?;
        // Records and the end come on one thread, one after the other: the lock is never
        // contended.
        let columnar_form = Mutex::new(Some(mlguard_data::columnar::Writer::new(
            &header,
            &stored_schema,
            form.writer()?,
        )?));
        let (written, columnar_written) = std::sync::mpsc::sync_channel(1);
        let lost = || DataError::Input("the columnar form's writer failed".into());
        let columnar_form = &columnar_form;
        let beside = crate::poison::Beside {
            row: Box::new(|_, cells| {
                let mut w = columnar_form.lock().map_err(|_| lost())?;
                w.as_mut().ok_or_else(lost)?.push(cells)
            }),
            end: Box::new(move || {
                let w = columnar_form.lock().ok().and_then(|mut w| w.take()).ok_or_else(lost)?;
                let digest = w
                    .finish()
                    .map_err(VaultError::from)
                    .and_then(|(_, scratch)| scratch.finish_digest());
                let failed = digest.as_ref().err().map(|e| DataError::Input(e.to_string()));
                // Gone only when the sealing stopped (an error of its own).
                let _ = written.send(digest);
                failed.map_or(Ok(()), Err)
            }),
        };
        let (poison, (stored, columnar)) = std::thread::scope(|s| {
            let (form, protected, protected_digest) = (&form, &protected, &protected_digest);
            let sealing = s.spawn(move || {
                let stored = self.store_scratch(protected, protected_digest, Kind::Dataset, meta);
                let columnar = match columnar_written.recv() {
                    Ok(digest) => digest.and_then(|digest| {
                        self.store_scratch(form, &digest, Kind::Dataset, columnar_meta)
                    }),
                    Err(_) => Err(VaultError::Internal("the columnar form was not written".into())),
                };
                (stored, columnar)
            });
            let poison = crate::poison::check(
                &open_protected,
                &subject,
                &stored_schema,
                &poison_opts,
                base_name.as_deref().zip(base_reader),
                MAX_STORED_FINDINGS,
                Some(beside),
            );
            (poison, joined(sealing))
        });
        drop(baseline);
        let unwanted = match (&poison, &stored, &columnar) {
            (Ok(p), Ok(_), Ok(_)) => opts.reject_poisoned && p.failed(),
            _ => true,
        };
        if unwanted {
            for (object, _) in [&stored, &columnar].into_iter().flatten() {
                // Left behind if this fails too: `vault gc` finds it (no row points at it).
                let _ = self.objects.delete(object);
            }
        }
        let poison = poison?;
        if opts.reject_poisoned && poison.failed() {
            return Err(VaultError::Poisoned(Box::new(poison.report)));
        }
        let (object, core) = stored?;
        let (columnar_object, columnar_core) = columnar?;
        drop(protected);
        let kept: Vec<String> = protection
            .columns
            .iter()
            .filter(|c| c.because == protect::Because::KeptPii)
            .map(|c| c.name.clone())
            .collect();
        let stored = serde_json::json!({
            "validation": serde_json::from_str::<serde_json::Value>(&report.to_json()).unwrap_or_default(),
            "protection": protection_json(&protection),
            "pii_kept": kept,
            "pii_kept_by": if kept.is_empty() { serde_json::Value::Null } else { cx.actor_name().into() },
            "poison": serde_json::from_str::<serde_json::Value>(&poison.report.to_json()).unwrap_or_default(),
            "poison_flagged": poison.failed(),
            "baseline": base_name,
        });
        let record = DatasetRecord {
            name: name.to_owned(),
            version,
            object,
            blake3: core.blake3,
            size: core.size,
            rows: protection.rows_out,
            columns: stored_schema.fields.len() as u64,
            schema: stored_schema.to_json().to_string(),
            created: core.created,
            actor: cx.actor_name(),
            report: stored.to_string(),
            columnar: Some((columnar_object, columnar_core.blake3)),
        };
        let event =
            Event::new(Action::DatasetIngest, format!("{name}@{version}"), Outcome::Allowed)
                .detail(serde_json::json!({
                    "rows": record.rows,
                    "blake3": record.blake3,
                    "pii_kept": kept,
                    "poison_flagged": poison.failed(),
                }));
        let objects: Vec<&str> = record.objects().collect();
        self.add_recorded(cx, &objects, &event, |c, audit| c.add_dataset(&record, audit))?;
        Ok(Ingested { record, report, protection, kept_pii: kept, poison })
    }

    /// Verifies a stored object completely and checks it is the one the catalog names.
    fn verify_object(&self, object: &str, blake3: &str) -> Result<mlguard_seal::Core, VaultError> {
        let mut f = BufReader::with_capacity(1 << 20, self.objects.get(object)?);
        let v = mlguard_seal::verify(&mut f, &self.keys(), SignerPolicy::TrustedOnly)?;
        if v.core.blake3 != blake3 {
            return Err(VaultError::Tampered(format!(
                "{object} is not the object the catalog recorded"
            )));
        }
        Ok(v.core)
    }

    /// Trains a model on a stored dataset and stores it sealed. The dataset is verified
    /// completely (signature, every tag, digest) before any byte of it is parsed, then
    /// decrypted again straight into the trainer: no plaintext touches the disk.
    pub fn train(&self, cx: &Ctx, req: &TrainRequest) -> Result<TrainedModel, VaultError> {
        let seed = match req.seed {
            SeedPolicy::Secure => mlguard_seal::random::<32>()?,
            SeedPolicy::Fixed(n) => {
                let mut s = [0u8; 32];
                s[..8].copy_from_slice(&n.to_le_bytes());
                s
            }
        };
        let object =
            format!("{}{}", req.dataset, req.version.map(|v| format!("@{v}")).unwrap_or_default());
        let event = Event::new(Action::ModelTrain, object, Outcome::Allowed);
        self.operation(cx, &event, || self.train_with_seed(cx, req, seed))
    }

    fn train_with_seed(
        &self,
        cx: &Ctx,
        req: &TrainRequest,
        seed: [u8; 32],
    ) -> Result<TrainedModel, VaultError> {
        let (dataset, trained) = self.fit_with_seed(req, seed, true, &cx.tally(None))?;
        self.store_model(cx, req, seed, dataset, trained)
    }

    /// Trains on a stored dataset version (verified and decrypted as it is read) with the
    /// split seed `seed`; stores nothing.
    /// `grouped`: copies of a row on one side of the split (every new model; a reproduction
    /// does as its model did). The bytes of the stored form read count in `tally`.
    fn fit_with_seed(
        &self,
        req: &TrainRequest,
        seed: [u8; 32],
        grouped: bool,
        tally: &Tally,
    ) -> Result<(DatasetRecord, Trained), VaultError> {
        let dataset = self.catalog.dataset(&req.dataset, req.version)?;
        if flagged(&dataset) && !req.accept_flagged {
            return Err(VaultError::Flagged(format!("{}@{}", dataset.name, dataset.version)));
        }
        // The columnar form when the version has one (no CSV to parse), else the table.
        let (object, blake3, columnar) = match &dataset.columnar {
            Some((object, blake3)) => (object, blake3, true),
            None => (&dataset.object, &dataset.blake3, false),
        };
        let core = self.verify_object(object, blake3)?;
        tally.set_total(Some(core.size));
        let schema = Schema::from_json_str(&dataset.schema).map_err(DataError::from)?;
        let opts = TrainOptions {
            target: req.target.clone(),
            test_size: req.test_size,
            fit: req.fit,
            seed,
            delimiter: b',',
            group_duplicates: grouped,
            expected_rows: usize::try_from(dataset.rows).unwrap_or(0),
            memory_limit: self.train_memory_limit,
        };
        let stored = self.objects.get(object)?;
        let keys = self.keys();
        let keys = &*keys;
        // 1 MiB chunks through a channel: an OS pipe moved 64 KiB per system call and woke
        // the trainer each time (train 1M rows: 1.57 s -> 1.2 s).
        let (reader, mut writer) = mlguard_data::chunks::pipe(2, 1 << 20);
        let trained = std::thread::scope(|s| -> Result<Trained, VaultError> {
            let decrypt = s.spawn(move || -> Result<(), VaultError> {
                let mut f = BufReader::with_capacity(1 << 20, stored);
                mlguard_seal::open(&mut f, &mut writer, keys, SignerPolicy::TrustedOnly)?;
                Ok(())
            });
            let input = BufReader::with_capacity(1 << 20, tally.reader(reader));
            let result = if columnar {
                mlguard_learn::train_columnar(input, &schema, &opts, Some(&TrainSpill(self)))
            } else {
                mlguard_learn::train(input, &schema, &opts)
            };
            let decrypted = decrypt
                .join()
                .map_err(|_| VaultError::Internal("the decryption thread stopped".into()))?;
            // The trainer's own error comes first: when it stops early, the decryption thread
            // only sees the pipe closed. A decryption failure under a successful training means
            // the trainer saw partial data: the result is void.
            let trained = result?;
            decrypted?;
            Ok(trained)
        })?;
        Ok((dataset, trained))
    }

    /// Seals, signs and records a trained model as the next version of its name.
    fn store_model(
        &self,
        cx: &Ctx,
        req: &TrainRequest,
        seed: [u8; 32],
        dataset: DatasetRecord,
        trained: Trained,
    ) -> Result<TrainedModel, VaultError> {
        let mut model = trained.model.clone();
        let p = &mut model.info.provenance;
        p.insert(
            "seed_policy".into(),
            match req.seed {
                SeedPolicy::Secure => "secure".into(),
                SeedPolicy::Fixed(n) => format!("fixed:{n}").into(),
            },
        );
        p.insert(SEED_KEY.into(), hex(&seed).into());
        let name = req.name.clone().unwrap_or_else(|| dataset.name.clone());
        let record =
            self.store_model_version(cx, &mut model, &name, dataset, None, Default::default())?;
        Ok(TrainedModel { record, trained: Trained { model, ..trained } })
    }

    /// Seals and signs `model` as the next version of `name`, made from `dataset` (its
    /// provenance gets the dataset version, its digest and, for a flagged version, who
    /// accepted it), and records it (`model.train`, with `op` if given, and `detail` beside
    /// the dataset, the model's digest and who accepted a flagged version). Nothing is
    /// stored unless the model loads back from its bytes and predicts as it did.
    fn store_model_version(
        &self,
        cx: &Ctx,
        model: &mut Model,
        name: &str,
        dataset: DatasetRecord,
        op: Option<&str>,
        mut detail: serde_json::Map<String, serde_json::Value>,
    ) -> Result<ModelRecord, VaultError> {
        let p = &mut model.info.provenance;
        p.insert("dataset".into(), dataset.name.clone().into());
        p.insert("dataset_version".into(), dataset.version.into());
        p.insert("dataset_blake3".into(), dataset.blake3.clone().into());
        if flagged(&dataset) {
            p.insert("dataset_poison_flagged".into(), true.into());
            p.insert("accepted_flagged_by".into(), cx.actor_name().into());
        }
        let accepted = p.get("accepted_flagged_by").cloned().unwrap_or_default();
        let model = &*model;
        let bytes = model.to_safetensors();
        round_trip(&bytes, model)?;
        let _claim = self.claim(Table::Models, name)?;
        let version = self.catalog.next_version(Table::Models, name)?;
        let mut meta = serde_json::Map::new();
        meta.insert("name".into(), name.into());
        meta.insert("version".into(), version.into());
        meta.insert("dataset".into(), format!("{}@{}", dataset.name, dataset.version).into());
        let (object, core) = self.store(&mut Cursor::new(&bytes), Kind::Model, meta)?;
        let record = ModelRecord {
            name: name.to_owned(),
            version,
            object,
            blake3: core.blake3,
            dataset: dataset.name,
            dataset_version: dataset.version,
            target: model.info.encoding.target.clone(),
            metrics: serde_json::to_string(&model.info.metrics).unwrap_or_default(),
            created: core.created,
            actor: cx.actor_name(),
        };
        detail.insert(
            "dataset".into(),
            format!("{}@{}", record.dataset, record.dataset_version).into(),
        );
        detail.insert("blake3".into(), record.blake3.clone().into());
        detail.insert("accepted_flagged_by".into(), accepted);
        let mut event = Event::new(
            Action::ModelTrain,
            format!("{}@{}", record.name, record.version),
            Outcome::Allowed,
        );
        if let Some(op) = op {
            event = event.op(op);
        }
        let event = event.detail(detail.into());
        self.add_recorded(cx, &[&record.object], &event, |c, audit| c.add_model(&record, audit))?;
        self.model_names.clear();
        Ok(record)
    }

    /// Stores a model made elsewhere — mlguard's model file (safetensors, no pickle), as
    /// `mlguard.sklearn.to_mlguard` converts a scikit-learn model or `model export` writes
    /// one — as the next version of `req.name`, bound to the stored dataset version it was
    /// trained on (`model.train`, op `import`): from then on it is verified, served,
    /// exported and audited like a model the vault trained.
    ///
    /// Refused (nothing stored) unless the bytes are a consistent model whose target is a
    /// column of that version and whose every feature is a column training would use the
    /// same way (numeric features on numeric fields; never personal data, ids or ignored
    /// columns), and unless the version was not flagged by its poisoning checks or
    /// `req.accept_flagged`. The model's schema becomes the dataset's, so predictions are
    /// validated as a trained model's are. Provenance the vault vouches for (the dataset,
    /// the split seed and policy, who accepted a flagged version) is replaced by the vault's
    /// own; the rest of the file's (its source library, say) is kept, and its metrics are the
    /// file's claim. An imported model records no split seed: it cannot be reproduced.
    pub fn import_model(
        &self,
        cx: &Ctx,
        bytes: &[u8],
        req: &ImportRequest,
    ) -> Result<(ModelRecord, Model), VaultError> {
        let event = Event::new(Action::ModelTrain, req.name.as_str(), Outcome::Allowed)
            .op("import")
            .detail(serde_json::json!({
                "dataset": req.dataset,
                "bytes": bytes.len(),
            }));
        self.operation(cx, &event, || self.import_unrecorded(cx, bytes, req))
    }

    fn import_unrecorded(
        &self,
        cx: &Ctx,
        bytes: &[u8],
        req: &ImportRequest,
    ) -> Result<(ModelRecord, Model), VaultError> {
        if req.name.is_empty()
            || req.name.contains(['@', '/'])
            || req.name.chars().any(char::is_control)
        {
            return Err(VaultError::Refused(format!(
                "{:?} cannot name a model (no @, / or control characters)",
                req.name
            )));
        }
        let mut model = Model::from_safetensors(bytes).map_err(|e| {
            VaultError::BadModel(format!("the file is not an mlguard model file: {e}"))
        })?;
        let dataset = self.dataset_record(&req.dataset)?;
        let version = format!("{}@{}", dataset.name, dataset.version);
        if flagged(&dataset) && !req.accept_flagged {
            return Err(VaultError::Flagged(version));
        }
        let schema = Schema::from_json_str(&dataset.schema).map_err(DataError::from)?;
        let misfits = import_misfits(&model, &schema);
        if !misfits.is_empty() {
            return Err(VaultError::BadModel(format!(
                "the model does not fit {version}: {}; nothing was stored",
                misfits.join("; ")
            )));
        }
        model.info.schema = schema.to_json();
        model.predictor().map_err(|e| {
            VaultError::BadModel(format!(
                "the model does not fit {version}: {e}; nothing was stored"
            ))
        })?;
        let digest = hex(blake3::hash(bytes).as_bytes());
        let p = &mut model.info.provenance;
        for key in VAULT_PROVENANCE {
            p.remove(*key);
        }
        p.insert("origin".into(), "import".into());
        p.insert("imported_by".into(), cx.actor_name().into());
        p.insert("imported_blake3".into(), digest.clone().into());
        let mut detail = serde_json::Map::new();
        detail.insert("imported_blake3".into(), digest.into());
        let record =
            self.store_model_version(cx, &mut model, &req.name, dataset, Some("import"), detail)?;
        Ok((record, model))
    }

    /// Retrains `name@version` from the same dataset version with the same (sealed) seed and
    /// options and returns the result, with the stored record, and whether its weights are
    /// bit-identical to the stored model's. Nothing is stored: the latest version stays.
    pub fn reproduce(
        &self,
        cx: &Ctx,
        name: &str,
        version: Option<u32>,
    ) -> Result<(TrainedModel, bool), VaultError> {
        let object = format!("{name}{}", version.map(|v| format!("@{v}")).unwrap_or_default());
        let asked = Event::new(Action::ModelTrain, object, Outcome::Allowed).op("reproduce");
        self.operation(cx, &asked, || self.reproduce_run(cx, name, version))
    }

    fn reproduce_run(
        &self,
        cx: &Ctx,
        name: &str,
        version: Option<u32>,
    ) -> Result<(TrainedModel, bool), VaultError> {
        let record = self.catalog.model(name, version)?;
        let original = self.load_model(&record)?;
        let p = &original.info.provenance;
        let seed_hex = p.get(SEED_KEY).and_then(|v| v.as_str()).ok_or_else(|| {
            VaultError::Config("the model records no split seed: it cannot be reproduced".into())
        })?;
        let seed = unhex32(seed_hex)
            .ok_or_else(|| VaultError::Tampered("the model's split seed is malformed".into()))?;
        let num = |k: &str| p.get(k).and_then(|v| v.as_f64());
        let req = TrainRequest {
            dataset: record.dataset.clone(),
            version: Some(record.dataset_version),
            target: Some(original.info.encoding.target.clone()),
            test_size: num("test_size").unwrap_or(0.2),
            fit: FitOptions {
                l2: num("l2").unwrap_or(1.0),
                max_iter: num("max_iter").map_or(200, |v| v as usize),
                // Models from before these were recorded: the options of their day.
                tol: num("tol").unwrap_or(1e-6),
                warm_start: p.get("warm_start").and_then(|v| v.as_bool()).unwrap_or(false),
            },
            seed: match p
                .get("seed_policy")
                .and_then(|v| v.as_str())
                .and_then(|s| s.strip_prefix("fixed:"))
                .and_then(|n| n.parse().ok())
            {
                Some(n) => SeedPolicy::Fixed(n),
                None => SeedPolicy::Secure,
            },
            name: Some(record.name.clone()),
            // The stored model was trained, so the version was accepted if it was flagged.
            accept_flagged: true,
        };
        // Verified, not stored: a reproduction is a check of the stored model, and must not
        // become its latest version.
        let grouped = p.get("split").and_then(|v| v.as_str()) == Some("grouped");
        let (_, trained) = self.fit_with_seed(&req, seed, grouped, &cx.tally(None))?;
        let identical = trained.model.logistic.weights == original.logistic.weights
            && trained.model.logistic.intercepts == original.logistic.intercepts;
        self.record(
            cx,
            &Event::new(
                Action::ModelTrain,
                format!("{}@{}", record.name, record.version),
                if identical { Outcome::Allowed } else { Outcome::Failed },
            )
            .op("reproduce")
            .detail(serde_json::json!({
                "bit_identical": identical,
                "stored": false,
            })),
        )?;
        Ok((TrainedModel { record, trained }, identical))
    }

    /// The stored model as it may leave the vault (to be described, exported or signed):
    /// verified like [`Vault::load_model`], with its secret split seed removed. The one
    /// place that removes it.
    pub(crate) fn shareable_model(&self, record: &ModelRecord) -> Result<Model, VaultError> {
        let mut model = self.load_model(record)?;
        model.info.provenance.remove(SEED_KEY);
        Ok(model)
    }

    /// Verifies a stored model completely, then loads it. Nothing of it is parsed before
    /// its signature, every tag and its digest have been checked.
    pub(crate) fn load_model(&self, record: &ModelRecord) -> Result<Model, VaultError> {
        self.verify_object(&record.object, &record.blake3)?;
        let mut f = self.objects.get(&record.object)?;
        let mut bytes = Vec::new();
        mlguard_seal::open(&mut f, &mut bytes, &self.keys(), SignerPolicy::TrustedOnly)?;
        Ok(Model::from_safetensors(&bytes)?)
    }

    /// Predicts every row of `input` that satisfies the model's training schema (rows that
    /// break it are rejected by line), writing CSV: `line`, the id column if the schema has
    /// one, `prediction`, then `p_<class>` per class.
    pub fn predict<W: Write>(
        &self,
        cx: &Ctx,
        reference: &str,
        input: &Path,
        out: &mut W,
    ) -> Result<Prediction, VaultError> {
        let input_name = input.display().to_string();
        let asked = Event::new(Action::ModelPredict, reference, Outcome::Allowed)
            .detail(serde_json::json!({"input": input_name}));
        self.operation(cx, &asked, || {
            let record = self.model_record(reference)?;
            self.predict_run(cx, &record, input, out)
        })
    }

    fn predict_run<W: Write>(
        &self,
        cx: &Ctx,
        record: &ModelRecord,
        input: &Path,
        out: &mut W,
    ) -> Result<Prediction, VaultError> {
        let object = format!("{}@{}", record.name, record.version);
        let input_name = input.display().to_string();
        let model = self.load_model(record)?;
        let predictor = model.predictor()?;
        // Validate against the training schema's feature fields (the target is not expected).
        let train_schema = Schema::from_json(&model.info.schema).map_err(DataError::from)?;
        let features = predictor.columns();
        let id_field = id_column(&train_schema);
        let mut schema = train_schema.clone();
        schema.fields.retain(|f| features.contains(&f.name.as_str()));
        schema.primary_key.clear();
        schema.unique_keys.clear();
        schema.fields_match = FieldsMatch::Partial;
        // One pass: every row is scored, on the validator's workers, right after its
        // checks, into an encrypted scratch file; only once validation has named the rows
        // that break the schema and the prediction is recorded are the others released.
        let (src, _) = mlguard_data::input::open_path(input, None)?;
        let header = TableReader::new(BufReader::new(src), b',')?.header().to_vec();
        let scorer = Scorer::new(&model, &predictor, id_field.as_deref(), &header);
        let mut scored = self.sealed_scratch("predictions")?;
        let report = (|| -> Result<_, VaultError> {
            let mut w = scored.writer()?;
            framed(&mut w, 0, scorer.header.as_bytes())
                .map_err(io_err("cannot write predictions"))?;
            let (src, _) = mlguard_data::input::open_path(input, None)?;
            let batch = |_: &[String], records: mlguard_data::Records<'_>, out: &mut Vec<u8>| {
                scorer.score(records, out);
            };
            let mut take = |bytes: &[u8]| w.write_all(bytes);
            let report = mlguard_data::validate_reader_visiting(
                src,
                &input_name,
                &schema,
                &ValidateOptions { max_errors: 1_000_000, ..ValidateOptions::default() },
                Some(mlguard_data::Visit { batch: &batch, take: &mut take }),
            )?;
            w.finish()?;
            Ok(report)
        })();
        let report = report?;
        if report
            .findings
            .iter()
            .any(|f| f.level == mlguard_findings::Level::Error && f.location.row.is_none())
        {
            return Err(VaultError::Invalid(Box::new(report)));
        }
        let mut bad: Vec<u64> = report
            .findings
            .iter()
            .filter(|f| f.level == mlguard_findings::Level::Error)
            .filter_map(|f| f.location.line)
            .collect();
        bad.sort_unstable();
        bad.dedup();
        // Recorded before a prediction is released; no record, no predictions.
        self.record(
            cx,
            &Event::new(Action::ModelPredict, &object, Outcome::Allowed).detail(
                serde_json::json!({
                    "input": input_name,
                    "rows": report.stats.get("rows"),
                    "rejected": bad.len(),
                }),
            ),
        )?;
        // The scored records (the header, then one per row), but for the rejected rows.
        let mut records = BufReader::new(scored.reader()?);
        let (mut text, mut predicted) = (Vec::new(), 0u64);
        let read_failed = || io_err("cannot read the scored rows");
        loop {
            let mut frame = [0u8; 12];
            match records.read_exact(&mut frame) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(read_failed()(e)),
            }
            let line = u64::from_le_bytes(frame[..8].try_into().unwrap_or_default());
            let len = u32::from_le_bytes(frame[8..].try_into().unwrap_or_default());
            text.resize(len as usize, 0);
            records.read_exact(&mut text).map_err(read_failed())?;
            if line > 0 {
                if bad.binary_search(&line).is_ok() {
                    continue;
                }
                predicted += 1;
            }
            out.write_all(&text).map_err(io_err("cannot write predictions"))?;
        }
        Ok(Prediction { model: object, predicted, rejected: bad, report: Some(report) })
    }
}

/// Scores rows into records of CSV text, each framed by its line number (0 for the
/// header; u64, little endian) and length (u32): a header (`line`, the id column when the
/// file has it, `prediction`, `p_CLASS`...), then per row its line number, id, most
/// probable class and class probabilities. (Framed, because an id cell may hold a line
/// break.)
struct Scorer<'a> {
    predictor: &'a mlguard_learn::Predictor,
    /// The framed header's text.
    header: String,
    /// For each feature column, its position in the input's header.
    bound: Vec<Option<usize>>,
    id_pos: Option<usize>,
    /// Each class as a CSV cell.
    classes: Vec<String>,
}

impl<'a> Scorer<'a> {
    fn new(
        model: &Model,
        predictor: &'a mlguard_learn::Predictor,
        id_field: Option<&str>,
        header: &[String],
    ) -> Scorer<'a> {
        let id_pos = id_field.and_then(|id| header.iter().position(|h| h == id));
        let classes = &model.info.encoding.classes;
        let mut line = prediction_header(id_field.filter(|_| id_pos.is_some()), classes);
        line.push('\n');
        Scorer {
            predictor,
            header: line,
            bound: predictor.bind(header),
            id_pos,
            classes: classes.iter().map(|c| csv_cell(c)).collect(),
        }
    }

    /// Scores `records` into `out`, framed.
    fn score(&self, records: mlguard_data::Records<'_>, out: &mut Vec<u8>) {
        use std::fmt::Write as _;
        let (mut row, mut x, mut p) = (String::new(), Vec::new(), vec![0.0; self.classes.len()]);
        records.for_each(|line, fields| {
            self.predictor.predict_fields_into(&self.bound, fields, &mut x, &mut p);
            let best = mlguard_learn::metrics::argmax(&p);
            row.clear();
            // Writing to a String cannot fail.
            let _ = write!(row, "{line}");
            if let Some(i) = self.id_pos {
                row.push(',');
                row.push_str(&csv_cell(fields.get(i).copied().unwrap_or("")));
            }
            row.push(',');
            row.push_str(&self.classes[best]);
            for v in &p {
                row.push(',');
                push_probability(&mut row, *v);
            }
            row.push('\n');
            // A Vec grows: writing to it cannot fail (a row is far below 4 GiB).
            let _ = framed(out, line, row.as_bytes());
        });
    }
}

/// Writes `text` framed by its line number and length.
fn framed(out: &mut impl Write, line: u64, text: &[u8]) -> io::Result<()> {
    let len = u32::try_from(text.len()).map_err(io::Error::other)?;
    out.write_all(&line.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(text)
}

/// The leaf hashes of the first `size` audit entries.
fn leaf_hashes(
    entries: &[(u64, String, String)],
    size: u64,
) -> Result<Vec<merkle::Hash>, VaultError> {
    let Some(first) = entries.get(..size as usize) else {
        return Err(VaultError::Tampered(format!(
            "the audit log has {} entries, fewer than its checkpoint of size {size}: run `mlguard audit verify`",
            entries.len()
        )));
    };
    Ok(first.iter().map(|(_, t, _)| merkle::leaf_hash(t.as_bytes())).collect())
}

/// The header of prediction CSV: `line`, the id column when the input has it,
/// `prediction`, then `p_<class>` per class.
pub fn prediction_header(id: Option<&str>, classes: &[String]) -> String {
    let mut head = String::from("line");
    if let Some(id) = id {
        head.push(',');
        head.push_str(&csv_cell(id));
    }
    head.push_str(",prediction");
    for c in classes {
        head.push(',');
        head.push_str(&csv_cell(&format!("p_{c}")));
    }
    head
}

/// Appends a probability as prediction CSV writes it: the shortest digits that read back
/// as the same double, as JSON writers print it (`7.065764638936045e-6`, not
/// `0.000007065764638936045`).
pub fn push_probability(out: &mut String, p: f64) {
    out.push_str(ryu::Buffer::new().format(p));
}

/// A CSV cell, quoted when needed and neutralised when a spreadsheet would run it (see
/// [`protect::push_safe_cell`]).
pub fn csv_cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    protect::push_safe_cell(&mut out, s);
    out
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A model verified once and kept loaded, for serving many predictions.
pub struct ServingModel {
    /// The catalog record.
    pub record: ModelRecord,
    model: Model,
    /// The feature fields of the training schema (what a row must satisfy), compiled once.
    validator: mlguard_data::Validator,
    /// The model's encoding, compiled once.
    predictor: mlguard_learn::Predictor,
    features: Vec<String>,
    /// Each feature's position in `features`.
    feature_index: std::collections::HashMap<String, usize>,
    id_column: Option<String>,
}

/// The outcome of one row of [`ServingModel::predict_json`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum RowPrediction {
    /// Predicted.
    Predicted {
        /// The most probable class.
        prediction: String,
        /// Probability per class.
        probabilities: serde_json::Map<String, serde_json::Value>,
    },
    /// Rejected: the row breaks the training schema.
    Rejected {
        /// What is wrong, per field.
        errors: Vec<String>,
    },
}

/// Most rows in one prediction request.
pub const MAX_ROWS_PER_REQUEST: usize = 10_000;

impl ServingModel {
    /// The columns a row should have.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The target's classes, in the order of the model's probabilities.
    pub fn classes(&self) -> &[String] {
        &self.model.info.encoding.classes
    }

    /// The training schema's id column (`role: id`), which prediction output echoes.
    pub fn id_column(&self) -> Option<&str> {
        self.id_column.as_deref()
    }

    /// Predicts rows given as JSON objects (`{"column": value}`; numbers, strings, booleans
    /// or null). Each row is validated against the training schema first; a row that
    /// breaks it is rejected with its errors, the others predicted.
    pub fn predict_json(
        &self,
        rows: &[serde_json::Value],
    ) -> Result<Vec<RowPrediction>, VaultError> {
        let rows: Vec<JsonRow<'_>> = rows.iter().map(JsonRow::of_value).collect();
        self.predict_rows(&rows)
    }

    /// [`ServingModel::predict_json`] of rows read straight from a request's bytes
    /// ([`crate::rows::PredictBody`]).
    pub fn predict_rows(&self, rows: &[JsonRow<'_>]) -> Result<Vec<RowPrediction>, VaultError> {
        use std::fmt::Write as _;
        if rows.len() > MAX_ROWS_PER_REQUEST {
            return Err(VaultError::Refused(format!(
                "{} rows in one request; at most {MAX_ROWS_PER_REQUEST}",
                rows.len()
            )));
        }
        let nf = self.features.len();
        // The rows as a CSV table, so the validator's exact rules apply to them; every
        // cell's text also kept (as a span of `text`) for the predictor.
        let mut csv = String::with_capacity(64 * nf * (rows.len() + 1));
        for (i, f) in self.features.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            push_quoted(&mut csv, f);
        }
        csv.push('\n');
        let mut text = String::with_capacity(16 * nf * rows.len());
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(nf * rows.len());
        let mut shape_errors: Vec<Vec<String>> = vec![Vec::new(); rows.len()];
        let mut slots: Vec<Option<&JsonCell<'_>>> = vec![None; nf];
        for (r, row) in rows.iter().enumerate() {
            slots.iter_mut().for_each(|s| *s = None);
            match row {
                JsonRow::Fields(fields) => {
                    for (k, v) in fields {
                        if let Some(&i) = self.feature_index.get(k.as_ref()) {
                            slots[i] = Some(v);
                        }
                    }
                }
                JsonRow::NotObject => {
                    shape_errors[r].push("a row must be a JSON object of column: value".into())
                }
            }
            for (i, cell) in slots.iter().enumerate() {
                let start = text.len();
                match cell {
                    None | Some(JsonCell::Null) => {}
                    Some(JsonCell::Str(s)) => text.push_str(s),
                    // 45.0 from a client that only has floats is the integer 45.
                    Some(JsonCell::Number(n)) => {
                        let _ = match n.as_f64() {
                            Some(x) if n.is_f64() && x.fract() == 0.0 && x.abs() < 9.0e15 => {
                                write!(text, "{}", x as i64)
                            }
                            _ => write!(text, "{n}"),
                        };
                    }
                    Some(JsonCell::Bool(b)) => text.push_str(if *b { "true" } else { "false" }),
                    Some(JsonCell::Nested(what)) => shape_errors[r]
                        .push(format!("{}: {what} is not a scalar", self.features[i])),
                }
                spans.push((start, text.len()));
                if i > 0 {
                    csv.push(',');
                }
                push_quoted(&mut csv, &text[start..]);
            }
            csv.push('\n');
        }
        let report = self.validator.validate_reader(
            csv.as_bytes(),
            "request",
            // A request is small: one worker, no pool to start per request.
            &ValidateOptions { max_errors: usize::MAX, threads: 1, ..ValidateOptions::default() },
        )?;
        for f in &report.findings {
            if f.level != mlguard_findings::Level::Error {
                continue;
            }
            match f.location.line {
                Some(line) if line >= 2 && ((line - 2) as usize) < rows.len() => {
                    let field = f.location.field.clone().unwrap_or_default();
                    shape_errors[(line - 2) as usize].push(format!("{field}: {}", f.message));
                }
                _ => {
                    return Err(VaultError::Invalid(Box::new(report.clone())));
                }
            }
        }
        let predictor = &self.predictor;
        let classes = &self.model.info.encoding.classes;
        let bound: Vec<Option<usize>> = (0..self.features.len()).map(Some).collect();
        let (mut x, mut p) = (Vec::new(), vec![0.0; classes.len()]);
        let mut out = Vec::with_capacity(rows.len());
        let mut fields: Vec<&str> = Vec::with_capacity(nf);
        for r in 0..rows.len() {
            let row = &spans[r * nf..(r + 1) * nf];
            if !shape_errors[r].is_empty() {
                out.push(RowPrediction::Rejected { errors: std::mem::take(&mut shape_errors[r]) });
                continue;
            }
            // In the predictor's column order.
            fields.clear();
            fields.extend(row.iter().map(|&(a, b)| &text[a..b]));
            predictor.predict_fields_into(&bound, &fields, &mut x, &mut p);
            let best = mlguard_learn::metrics::argmax(&p);
            let probabilities = classes
                .iter()
                .zip(&p)
                .map(|(c, v)| (c.clone(), serde_json::Value::from(*v)))
                .collect();
            out.push(RowPrediction::Predicted { prediction: classes[best].clone(), probabilities });
        }
        Ok(out)
    }
}

/// Appends a CSV cell, always quoted (values of a request are read back by our own
/// tokenizer).
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for (i, part) in s.split('"').enumerate() {
        if i > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

impl Vault {
    /// Verifies a stored model completely and keeps it loaded for serving.
    /// The model of `record` for predictions, verified on first use and kept while the
    /// catalog names the same object.
    pub(crate) fn cached_serving_model(
        &self,
        record: &ModelRecord,
    ) -> Result<Arc<ServingModel>, VaultError> {
        if let Some(m) = self.serving_model_loaded(record) {
            return Ok(m);
        }
        // Loaded outside the lock: other models keep serving meanwhile.
        let m = Arc::new(self.serving_model(record)?);
        let key = format!("{}@{}", record.name, record.version);
        self.serving.write().map_err(poisoned)?.insert(key, Arc::clone(&m));
        Ok(m)
    }

    /// The model of `record` if it is loaded for serving (the same object).
    pub(crate) fn serving_model_loaded(&self, record: &ModelRecord) -> Option<Arc<ServingModel>> {
        let key = format!("{}@{}", record.name, record.version);
        let serving = self.serving.read().ok()?;
        serving.get(&key).filter(|m| m.record.blake3 == record.blake3).map(Arc::clone)
    }

    fn serving_model(&self, record: &ModelRecord) -> Result<ServingModel, VaultError> {
        let model = self.load_model(record)?;
        let p = &model.info.provenance;
        if p.get("dataset_poison_flagged") == Some(&serde_json::Value::Bool(true))
            && p.get("accepted_flagged_by").is_none()
        {
            return Err(VaultError::Refused(format!(
                "{}@{} was trained on a dataset version its poisoning checks flagged, and nobody accepted it: it is not served",
                record.name, record.version
            )));
        }
        let predictor = model.predictor()?;
        let features: Vec<String> = predictor.columns().into_iter().map(str::to_owned).collect();
        let mut schema = Schema::from_json(&model.info.schema).map_err(DataError::from)?;
        let id_column = id_column(&schema);
        schema.fields.retain(|f| features.contains(&f.name));
        schema.primary_key.clear();
        schema.unique_keys.clear();
        schema.fields_match = FieldsMatch::Partial;
        let validator = mlguard_data::Validator::new(schema)?;
        let feature_index = features.iter().enumerate().map(|(i, f)| (f.clone(), i)).collect();
        Ok(ServingModel {
            record: record.clone(),
            model,
            validator,
            predictor,
            features,
            feature_index,
            id_column,
        })
    }
}

/// A training schema's id column (`role: id`): prediction output echoes it.
fn id_column(schema: &Schema) -> Option<String> {
    schema.fields.iter().find(|f| f.role == Some(mlguard_data::Role::Id)).map(|f| f.name.clone())
}

/// Where an ingest reads its table from: it is read once or twice (validation with
/// protection, then k-anonymity's writing pass) and its header once before.
pub enum IngestSource<'a> {
    /// A file (CSV, compressed CSV, Parquet, Arrow, a workbook), opened again for each read.
    Path(&'a Path),
    /// A table received into an encrypted scratch file (a server's upload): its plaintext
    /// never reaches the disk.
    Sealed(&'a Scratch),
}

impl IngestSource<'_> {
    /// What reports name it by when the caller gave no name.
    fn name(&self) -> String {
        match self {
            IngestSource::Path(p) => p.display().to_string(),
            IngestSource::Sealed(_) => "upload".into(),
        }
    }

    /// Its size in bytes as [`IngestSource::open`] counts them (the file's; an upload's
    /// encrypted scratch file's, a little more than its table), when it can be known.
    fn size(&self) -> Option<u64> {
        match self {
            IngestSource::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            IngestSource::Sealed(s) => s.stored_len().ok(),
        }
    }

    /// Its table as CSV text, from the start; the bytes read of the file (or of the
    /// upload's table) count in `tally`.
    fn open(&self, tally: &Tally) -> Result<Box<dyn Read + Send>, VaultError> {
        let (text, _) = match self {
            IngestSource::Path(p) => {
                let (owned, tally) = (p.to_path_buf(), tally.clone());
                mlguard_data::input::open_reopenable(
                    p,
                    Arc::new(move || std::fs::File::open(&owned).map(|f| tally.reader(f))),
                    None,
                )?
            }
            IngestSource::Sealed(s) => {
                let (reopen, tally) = (s.reopener(), tally.clone());
                mlguard_data::input::open_reopenable(
                    Path::new("upload"),
                    Arc::new(move || reopen().map(|r| tally.reader(r))),
                    None,
                )?
            }
        };
        Ok(text)
    }
}

/// The result of a scoped thread; a panic in it goes on in the caller.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}
