//! Witnesses of the audit log: the C2SP `tlog-witness` protocol with Ed25519
//! cosignatures (`tlog-cosignature`, signature type 0x04).
//!
//! A witness keeps, per log it trusts, the latest checkpoint it cosigned, and cosigns a
//! new one only if it is signed by the log and provably extends that one (an RFC 6962
//! consistency proof). A log cut back can never again get a cosignature from a witness
//! that saw it longer, so `audit verify` — which requires every configured witness's
//! cosignature on the latest checkpoint — catches it even when the database was rewritten
//! with its checkpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use mlguard_seal::{b64, hex, unb64};

use crate::merkle::{self, Hash};
use crate::note::{self, Checkpoint, Verifier};
use crate::{VaultError, io_err, poisoned};

/// The signature type of Ed25519 cosignatures.
pub const COSIGNATURE_V1: u8 = 0x04;

/// Most consistency proof lines a request may carry.
const MAX_PROOF_LINES: usize = 63;

fn key_id(name: &str, key: &[u8]) -> [u8; 4] {
    note::typed_key_id(name, COSIGNATURE_V1, key)
}

/// What a cosignature signs: the header, the time, and the checkpoint's text.
fn signed_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A witness's signing key.
pub struct Cosigner {
    name: String,
    pair: Ed25519KeyPair,
}

impl Cosigner {
    /// The key named `name` from a 32-byte seed.
    pub fn from_seed(name: &str, seed: &[u8]) -> Result<Cosigner, VaultError> {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(VaultError::Config(format!("{name:?} is not a key name")));
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| VaultError::Config("a witness key is 32 bytes".into()))?;
        Ok(Cosigner { name: name.to_owned(), pair })
    }

    /// Its verifier key: `name+id+base64(0x04 ‖ public key)`.
    pub fn vkey(&self) -> String {
        let public = self.pair.public_key().as_ref();
        let mut key = vec![COSIGNATURE_V1];
        key.extend_from_slice(public);
        format!("{}+{}+{}", self.name, hex(&key_id(&self.name, public)), b64(&key))
    }

    /// The cosignature line of a checkpoint's `text` at `timestamp` (Unix seconds).
    pub fn cosign(&self, text: &str, timestamp: u64) -> String {
        let sig = self.pair.sign(signed_message(text, timestamp).as_bytes());
        let mut blob = key_id(&self.name, self.pair.public_key().as_ref()).to_vec();
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(sig.as_ref());
        format!("\u{2014} {} {}\n", self.name, b64(&blob))
    }
}

/// A witness's public key, to check its cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignerKey {
    /// Its name.
    pub name: String,
    id: [u8; 4],
    key: [u8; 32],
}

impl CosignerKey {
    /// Parses a cosigner verifier key (type 0x04) strictly.
    pub fn parse(vkey: &str) -> Result<CosignerKey, String> {
        let (name, id, key) = note::parse_vkey(vkey, COSIGNATURE_V1)?;
        Ok(CosignerKey { name, id, key })
    }

    /// The time of this witness's valid cosignature on `note`, or why there is none.
    pub fn verify(&self, note: &str) -> Result<u64, String> {
        let parsed = note::parse(note)?;
        let mut found = None;
        for s in parsed.signatures.iter().filter(|s| s.name == self.name && s.id == self.id) {
            if s.sig.len() != 8 + 64 {
                return Err(format!("a malformed cosignature by {}", self.name));
            }
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&s.sig[..8]);
            let ts = u64::from_be_bytes(ts);
            let msg = signed_message(parsed.text, ts);
            UnparsedPublicKey::new(&signature::ED25519, self.key)
                .verify(msg.as_bytes(), &s.sig[8..])
                .map_err(|_| format!("the cosignature by {} does not verify", self.name))?;
            found = Some(ts);
        }
        found.ok_or_else(|| format!("no cosignature by the witness {}", self.name))
    }
}

/// The body of an `add-checkpoint` request.
pub fn request_body(old: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&b64(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// A witness's answer: an HTTP status, a content type and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// Its content type.
    pub content_type: &'static str,
    /// Its body.
    pub body: String,
}

fn answer(status: u16, body: impl Into<String>) -> Answer {
    Answer { status, content_type: "text/plain; charset=utf-8", body: body.into() }
}

/// What a witness keeps per log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Seen {
    size: u64,
    root: String,
}

/// A witness: its key, the logs it trusts, and its state file.
pub struct Witness {
    cosigner: Cosigner,
    logs: Vec<Verifier>,
    state_path: PathBuf,
    state: Mutex<BTreeMap<String, Seen>>,
}

impl Witness {
    /// A witness signing with `cosigner` for the logs whose note verifier keys are
    /// `logs`, keeping its state in `state_path` (created if missing).
    pub fn open(
        cosigner: Cosigner,
        logs: &[String],
        state_path: &Path,
    ) -> Result<Witness, VaultError> {
        let logs = logs
            .iter()
            .map(|k| {
                Verifier::parse(k).map_err(|e| VaultError::Config(format!("log key {k:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let state = match std::fs::read_to_string(state_path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| {
                VaultError::Config(format!("{} is not a witness state: {e}", state_path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(io_err(format!("cannot read {}", state_path.display()))(e)),
        };
        Ok(Witness {
            cosigner,
            logs,
            state_path: state_path.to_path_buf(),
            state: Mutex::new(state),
        })
    }

    /// This witness's verifier key.
    pub fn vkey(&self) -> String {
        self.cosigner.vkey()
    }

    /// `POST /add-checkpoint`: checks the request per the protocol and, when it passes,
    /// records the checkpoint (before answering) and answers its cosignature.
    pub fn add_checkpoint(&self, body: &str, now: u64) -> Result<Answer, VaultError> {
        let bad = |why: &str| Ok(answer(400, format!("{why}\n")));
        let Some((head, note)) = body.split_once("\n\n") else {
            return bad("no empty line before the checkpoint");
        };
        let mut lines = head.split('\n');
        let Some(old) = lines.next().and_then(|l| l.strip_prefix("old ")) else {
            return bad("the first line is not an old size line");
        };
        let Some(old) = old.parse::<u64>().ok().filter(|_| {
            old == "0" || (!old.starts_with('0') && old.bytes().all(|b| b.is_ascii_digit()))
        }) else {
            return bad("the old size is not a decimal number");
        };
        let mut proof = Vec::new();
        for l in lines {
            match unb64(l).and_then(|h| <Hash>::try_from(h.as_slice()).ok()) {
                Some(h) => proof.push(h),
                None => return bad("a consistency proof line is not a base64 hash"),
            }
        }
        if proof.len() > MAX_PROOF_LINES {
            return bad("too many consistency proof lines");
        }
        let Ok(parsed) = note::parse(note) else {
            return bad("the checkpoint is not a signed note");
        };
        let Ok(cp) = Checkpoint::parse(parsed.text) else {
            return bad("the note is not a checkpoint");
        };
        let keys: Vec<Verifier> =
            self.logs.iter().filter(|v| v.name == cp.origin).cloned().collect();
        if keys.is_empty() {
            return Ok(answer(404, "unknown log\n"));
        }
        if note::open(note, &keys).is_err() {
            return Ok(answer(403, "not signed by the log\n"));
        }
        if old > cp.size {
            return bad("the old size is larger than the checkpoint's");
        }
        // Checked and recorded under one lock: no concurrent request rolls it back.
        let mut state = self.state.lock().map_err(poisoned)?;
        let seen = state.get(&cp.origin).cloned().unwrap_or_default();
        if old != seen.size {
            return Ok(Answer {
                status: 409,
                content_type: "text/x.tlog.size",
                body: format!("{}\n", seen.size),
            });
        }
        let empty: Hash = {
            let d = digest(&SHA256, b"");
            <Hash>::try_from(d.as_ref()).map_err(|_| VaultError::Internal("SHA-256".into()))?
        };
        let consistent = if cp.size == 0 {
            cp.root == empty && proof.is_empty()
        } else if old == 0 {
            proof.is_empty()
        } else {
            let old_root = unb64(&seen.root).and_then(|r| <Hash>::try_from(r.as_slice()).ok());
            match old_root {
                Some(r) if old == cp.size => r == cp.root && proof.is_empty(),
                Some(r) => merkle::verify_consistency(old, cp.size, &r, &cp.root, &proof),
                None => false,
            }
        };
        if !consistent {
            return Ok(answer(422, "not consistent with the checkpoint this witness cosigned\n"));
        }
        let mut next = state.clone();
        next.insert(cp.origin.clone(), Seen { size: cp.size, root: b64(&cp.root) });
        let text =
            serde_json::to_string_pretty(&next).map_err(|e| VaultError::Internal(e.to_string()))?;
        mlguard_seal::write_atomic(&self.state_path, text.as_bytes(), true)?;
        *state = next;
        Ok(Answer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: self.cosigner.cosign(parsed.text, now),
        })
    }
}

/// A witness a vault asks for cosignatures: its key and its submission URL prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Its verifier key (type 0x04).
    pub vkey: String,
    /// Its submission prefix (`https://witness.example/`): requests go to
    /// `PREFIX/add-checkpoint`.
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditKeys;

    #[test]
    fn a_witness_cosigns_only_what_extends_what_it_saw() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditKeys::from_seed(&[1; 32], "mlguard.local/audit/t".into()).expect("keys");
        let w = Cosigner::from_seed("witness.test/w1", &[2; 32]).expect("cosigner");
        let key = CosignerKey::parse(&w.vkey()).expect("vkey");
        let state = dir.path().join("state.json");
        let witness = Witness::open(w, &[log.verifier_key()], &state).expect("witness");
        let leaves: Vec<Hash> = (0..10u8).map(|i| merkle::leaf_hash(&[i])).collect();
        let note = |n: usize| log.checkpoint(n as u64, &merkle::root(&leaves[..n]));

        // First contact: old 0, no proof; then from 4 to 10 with a proof.
        let a = witness.add_checkpoint(&request_body(0, &[], &note(4)), 100).expect("add");
        assert_eq!(a.status, 200, "{a:?}");
        let cosigned = format!("{}{}", note(4), a.body);
        assert_eq!(key.verify(&cosigned), Ok(100));
        assert!(log.open_checkpoint(&cosigned).is_ok(), "the log's own check ignores it");
        let proof = merkle::consistency_proof(&leaves, 4);
        let a = witness.add_checkpoint(&request_body(4, &proof, &note(10)), 101).expect("add");
        assert_eq!(a.status, 200, "{a:?}");
        // It remembers (on disk): a stale old size is a conflict naming its size ...
        let again = Witness::open(
            Cosigner::from_seed("witness.test/w1", &[2; 32]).expect("c"),
            &[log.verifier_key()],
            &state,
        )
        .expect("reopen");
        let a = again.add_checkpoint(&request_body(4, &proof, &note(10)), 102).expect("add");
        assert_eq!((a.status, a.content_type, a.body.as_str()), (409, "text/x.tlog.size", "10\n"));
        // ... a log cut back to 6 cannot be cosigned: no proof from 10 to 6 exists.
        let a = again.add_checkpoint(&request_body(10, &[], &note(6)), 103).expect("add");
        assert_eq!(a.status, 400);
        // Another tree of the same size, a forged note, an unknown log, junk.
        let other: Vec<Hash> = (0..10u8).map(|i| merkle::leaf_hash(&[i, 1])).collect();
        let forked = log.checkpoint(10, &merkle::root(&other));
        assert_eq!(
            again.add_checkpoint(&request_body(10, &[], &forked), 104).expect("add").status,
            422
        );
        let stranger = AuditKeys::from_seed(&[9; 32], "mlguard.local/audit/t".into()).expect("k");
        let unsigned = stranger.checkpoint(10, &merkle::root(&leaves));
        assert_eq!(
            again.add_checkpoint(&request_body(10, &[], &unsigned), 105).expect("add").status,
            403
        );
        let elsewhere = AuditKeys::from_seed(&[9; 32], "other/log".into()).expect("k");
        let unknown = elsewhere.checkpoint(1, &leaves[0]);
        assert_eq!(
            again.add_checkpoint(&request_body(0, &[], &unknown), 106).expect("add").status,
            404
        );
        assert_eq!(again.add_checkpoint("junk", 107).expect("add").status, 400);
        assert_eq!(
            again.add_checkpoint(&format!("old 010\n\n{}", note(10)), 108).expect("add").status,
            400
        );
        // A cosignature by another key or on another checkpoint does not verify.
        let impostor = Cosigner::from_seed("witness.test/w1", &[3; 32]).expect("c");
        assert!(
            key.verify(&format!(
                "{}{}",
                note(4),
                impostor.cosign(&note(4)[..note(4).find("\n\n").unwrap_or(0) + 1], 1)
            ))
            .is_err()
        );
        assert!(key.verify(&note(4)).is_err());
    }
}
