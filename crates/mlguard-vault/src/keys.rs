//! Key rotation as a vault operation: it is authorised by who holds the secret, writes its
//! own audit entry before it acts (fail closed: no entry, no rotation), re-wraps the
//! vault's own sealed objects and the files it is given, and retires the earlier master
//! key versions only when every artifact was moved to the new one.

use std::path::PathBuf;

use mlguard_seal::{Keystore, Secret};

use crate::audit::{Event, Outcome};
use crate::context::Ctx;
use crate::identity::Action;
use crate::{Vault, VaultError};

/// What [`Vault::rotate_keys`] did.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// The master key version now active.
    pub version: u32,
    /// Artifacts re-wrapped to it.
    pub rewrapped: Vec<PathBuf>,
    /// Artifacts that could not be re-wrapped, and why (earlier versions are then kept).
    pub failed: Vec<(PathBuf, String)>,
    /// Earlier versions retired (destroyed) once every artifact was re-wrapped.
    pub retired: Vec<u32>,
}

impl Vault {
    /// Creates a new master key version for new seals (`key.rotate`). With `rewrap`, every
    /// sealed object of the vault and each of `files` has its data key re-wrapped to it,
    /// and when all succeeded the earlier versions are retired. One audit entry is written
    /// before anything changes (its detail says what was asked); a failure after it is
    /// recorded as a second, failed entry.
    pub fn rotate_keys(
        &self,
        cx: &Ctx,
        secret: &Secret,
        rewrap: bool,
        files: &[PathBuf],
    ) -> Result<Rotation, VaultError> {
        let asked = Event::new(Action::KeyRotate, "master-key", Outcome::Allowed);
        self.operation(cx, &asked, || {
            let mut targets = if rewrap { self.objects().list() } else { Vec::new() };
            targets.extend(files.iter().cloned());
            // Recorded before anything changes; a failure after it is a second entry.
            let detail = serde_json::json!({"rewrap": rewrap, "artifacts": targets.len()});
            self.record(cx, &asked.clone().detail(detail))?;
            self.rotate_unrecorded(secret, rewrap, targets)
        })
    }

    fn rotate_unrecorded(
        &self,
        secret: &Secret,
        rewrap: bool,
        targets: Vec<PathBuf>,
    ) -> Result<Rotation, VaultError> {
        let mut store = Keystore::open(self.root())?;
        let mut rotation = Rotation { version: store.rotate(secret)?, ..Rotation::default() };
        if !rewrap {
            self.set_keys(store.unlock(secret)?)?;
            return Ok(rotation);
        }
        let keys = store.unlock(secret)?;
        for path in targets {
            let result = std::fs::File::open(&path)
                .map_err(|e| mlguard_seal::SealError::Io {
                    context: format!("cannot open {}", path.display()),
                    source: e,
                })
                .and_then(|mut input| {
                    mlguard_seal::write_atomic_with(&path, true, |f| {
                        mlguard_seal::rewrap(&mut input, f, &keys).map(|_| ())
                    })
                });
            match result {
                Ok(()) => rotation.rewrapped.push(path),
                Err(e) => rotation.failed.push((path, e.to_string())),
            }
        }
        if rotation.failed.is_empty() {
            rotation.retired = store.retire_previous()?;
        }
        self.set_keys(store.unlock(secret)?)?;
        Ok(rotation)
    }
}
