//! The tamper-evident audit log.
//!
//! Every action on the vault — allowed, denied or failed — is an entry: compact JSON
//! in a fixed key order with its index, time, actor, action, object, outcome, request id and
//! details (never a secret; sensitive values only as keyed HMACs). Entries are rows of the
//! catalog database, each with an HMAC-SHA256 under the vault's audit key, and the leaves
//! of an RFC 6962 Merkle tree ([`crate::merkle`]). Checkpoints of the tree — origin, size,
//! root, in the C2SP `tlog-checkpoint` format — are signed with Ed25519 as C2SP signed
//! notes, every [`CHECKPOINT_EVERY`] entries and whenever the vault is closed.
//!
//! Verification ([`crate::Vault::verify_audit`]) recomputes everything: each row's index
//! and MAC (an edited, deleted or moved row is named), the tree, and every checkpoint's
//! signature and root (a log cut short after a checkpoint is caught). The log fails closed:
//! an entry is written in the same SQLite transaction (synchronous = FULL) as the catalog
//! change it records, or before the action's result is released, and an action whose entry
//! cannot be written is refused ([`crate::VaultError::AuditUnavailable`]).
//!
//! The signing key and the MAC key derive from one 32-byte seed in the keyring, wrapped
//! like the master keys and never rotated; the public key is written to
//! `audit/checkpoint.vkey` (C2SP note verifier key) so anyone can check checkpoints.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use mlguard_seal::{b64, hex};

use crate::VaultError;
use crate::identity::Action;
use crate::merkle::Hash;

/// A checkpoint is signed after this many entries (and when the vault is closed).
pub const CHECKPOINT_EVERY: u64 = 64;

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Allowed,
    /// Refused by policy (invalid data, personal data without protection, a poisoned batch,
    /// a missing permission).
    Denied,
    /// Attempted and failed (a tampered artifact, an I/O error).
    Failed,
}

impl Outcome {
    /// `allowed`, `denied` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// An action to record.
#[derive(Debug, Clone)]
pub struct Event {
    /// What was done (or refused): a policy action.
    pub action: Action,
    /// What it was done to: `users@2`, a file name, ...
    pub object: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Anything else worth keeping (no secrets).
    pub detail: Value,
}

impl Event {
    /// An event without details.
    pub fn new(action: Action, object: impl Into<String>, outcome: Outcome) -> Event {
        Event { action, object: object.into(), outcome, detail: Value::Null }
    }

    /// The same event with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Event {
        self.outcome = outcome;
        self
    }

    /// With `key` set to `value` in the details.
    pub fn field(self, key: &str, value: impl Into<Value>) -> Event {
        self.with_field(key, value.into())
    }

    /// With details (an object; [`Event::op`] adds to it).
    pub fn detail(mut self, detail: Value) -> Event {
        let op = self.detail.get("op").cloned();
        self.detail = detail;
        if let Some(op) = op {
            self = self.with_field("op", op);
        }
        self
    }

    /// Which operation of the action it was (`add`, `disable`, `download`, `verify`, ...).
    pub fn op(self, op: &str) -> Event {
        self.with_field("op", Value::String(op.to_owned()))
    }

    fn with_field(mut self, key: &str, value: Value) -> Event {
        match &mut self.detail {
            Value::Object(m) => {
                m.insert(key.to_owned(), value);
            }
            Value::Null => self.detail = serde_json::json!({ key: value }),
            other => {
                let previous = other.take();
                self.detail = serde_json::json!({ key: value, "detail": previous });
            }
        }
        self
    }
}

/// The keys of the audit log, derived from the keyring's audit seed.
pub struct AuditKeys {
    mac: hmac::Key,
    signer: Ed25519KeyPair,
    origin: String,
}

impl AuditKeys {
    /// The keys from the 32-byte seed; `origin` names the log in its checkpoints.
    pub fn from_seed(seed: &[u8; 32], origin: String) -> Result<AuditKeys, VaultError> {
        let derive = |label: &[u8]| {
            let k = hmac::Key::new(hmac::HMAC_SHA256, seed);
            let tag = hmac::sign(&k, label);
            let mut out = zeroize::Zeroizing::new([0u8; 32]);
            out.copy_from_slice(tag.as_ref());
            out
        };
        let mac = hmac::Key::new(hmac::HMAC_SHA256, &derive(b"mlguard audit v1 entry mac")[..]);
        let signer = Ed25519KeyPair::from_seed_unchecked(&derive(b"mlguard audit v1 ed25519")[..])
            .map_err(|_| VaultError::Catalog("the audit signing key cannot be derived".into()))?;
        Ok(AuditKeys { mac, signer, origin })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn public(&self) -> &[u8] {
        self.signer.public_key().as_ref()
    }

    /// The C2SP key hash: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
    fn key_hash(&self) -> [u8; 4] {
        crate::note::key_id(&self.origin, self.public())
    }

    /// The C2SP note verifier key: `origin+keyhash+base64(0x01 ‖ public key)`.
    pub fn verifier_key(&self) -> String {
        self.verifier().to_vkey()
    }

    /// The HMAC of an entry's canonical text.
    pub fn mac(&self, entry: &str) -> String {
        hex(hmac::sign(&self.mac, entry.as_bytes()).as_ref())
    }

    /// The keyed HMAC of a sensitive value, for details that must not hold it in clear.
    pub fn keyed(&self, value: &str) -> String {
        format!("hmac:{}", &self.mac(&format!("value\0{value}"))[..32])
    }

    /// A signed checkpoint of a tree of `size` entries with root `root`.
    pub fn checkpoint(&self, size: u64, root: &Hash) -> String {
        let text = format!("{}\n{size}\n{}\n", self.origin, b64(root));
        let sig = self.signer.sign(text.as_bytes());
        let mut blob = self.key_hash().to_vec();
        blob.extend_from_slice(sig.as_ref());
        format!("{text}\n\u{2014} {} {}\n", self.origin, b64(&blob))
    }

    /// This log's note verifier.
    pub fn verifier(&self) -> crate::note::Verifier {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.public());
        crate::note::Verifier { name: self.origin.clone(), id: self.key_hash(), key }
    }

    /// Checks a signed checkpoint against this log's key and origin, strictly (C2SP
    /// signed-note and tlog-checkpoint); returns its size and root, or why it is not valid.
    pub fn open_checkpoint(&self, note: &str) -> Result<(u64, Hash), String> {
        let verifier = [self.verifier()];
        let (text, _) = crate::note::open(note, &verifier)?;
        let c = crate::note::Checkpoint::parse(text)?;
        if c.origin != self.origin {
            return Err("another log's checkpoint (origin differs)".into());
        }
        if !c.extensions.is_empty() {
            return Err("this log's checkpoints have no extension lines".into());
        }
        Ok((c.size, c.root))
    }
}

/// The text of an entry: compact JSON, keys in a fixed order (the MAC and the leaf hash
/// cover exactly these bytes).
pub(crate) fn entry_text(
    index: u64,
    time: &str,
    actor: &str,
    token: Option<&str>,
    request_id: &str,
    e: &Event,
) -> String {
    let mut v = json!({
        "index": index,
        "time": time,
        "actor": actor,
        "action": e.action.as_str(),
        "object": e.object,
        "outcome": e.outcome.as_str(),
        "request_id": request_id,
    });
    if let Some(token) = token {
        v["token"] = token.into();
    }
    if !e.detail.is_null() {
        v["detail"] = e.detail.clone();
    }
    v.to_string()
}

/// What [`crate::Vault::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The first entry that is not what was recorded (edited, deleted, moved), if any.
    pub first_bad_entry: Option<u64>,
    /// Every problem found, in order.
    pub problems: Vec<String>,
    /// The root of the whole log.
    pub root: String,
}

impl AuditVerification {
    /// Whether the log verified.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_signed_notes_that_catch_any_change() {
        let keys = AuditKeys::from_seed(&[5; 32], "mlguard.local/audit/test".into()).expect("keys");
        let root = crate::merkle::leaf_hash(b"x");
        let note = keys.checkpoint(7, &root);
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[0], "mlguard.local/audit/test");
        assert_eq!(lines[1], "7");
        assert_eq!(lines[3], "");
        assert!(lines[4].starts_with("\u{2014} mlguard.local/audit/test "));
        assert_eq!(keys.open_checkpoint(&note), Ok((7, root)));
        assert!(keys.verifier_key().starts_with("mlguard.local/audit/test+"));
        // Any change: the size, the root, the signature; another key.
        assert!(keys.open_checkpoint(&note.replacen("\n7\n", "\n8\n", 1)).is_err());
        let other =
            AuditKeys::from_seed(&[6; 32], "mlguard.local/audit/test".into()).expect("keys");
        assert!(other.open_checkpoint(&note).is_err());
        assert!(keys.open_checkpoint(&other.checkpoint(7, &root)).is_err());
        assert!(keys.open_checkpoint("garbage").is_err());
        // Strictly a signed note: nothing after the signatures, nothing before the text.
        assert!(keys.open_checkpoint(&format!("{note}junk\n")).is_err());
        assert!(keys.open_checkpoint(&format!("{note}\n")).is_err());
        assert!(keys.open_checkpoint(&note.replacen("\n7\n", "\n07\n", 1)).is_err());
        assert_eq!(crate::note::Verifier::parse(&keys.verifier_key()), Ok(keys.verifier()));
        // The MAC and keyed values depend on the key.
        assert_ne!(keys.mac("e"), other.mac("e"));
        assert_ne!(keys.keyed("alice"), keys.keyed("bob"));
    }
}
