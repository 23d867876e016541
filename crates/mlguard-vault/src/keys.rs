//! Key rotation as a vault operation: it is authorised by who holds the secret, writes its
//! own audit entry before it acts (fail closed: no entry, no rotation), re-wraps the
//! vault's own sealed objects and the files it is given, and retires the earlier master
//! key versions only when every artifact was moved to the new one.

use std::path::{Path, PathBuf};

use mlguard_seal::{Keystore, SealKeys, Secret};

use crate::audit::{Event, Outcome};
use crate::context::Ctx;
use crate::identity::Action;
use crate::{Vault, VaultError};

/// What [`Vault::rotate_keys`] did.
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    /// The master key version now active.
    pub version: u32,
    /// Artifacts re-wrapped to it: the vault's objects (`object ID.mlseal`) and the files
    /// given (their paths).
    pub rewrapped: Vec<String>,
    /// Artifacts that could not be re-wrapped, and why (earlier versions are then kept).
    pub failed: Vec<(String, String)>,
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
            let mut targets: Vec<Target> = if rewrap {
                self.objects().list()?.into_iter().map(Target::Object).collect()
            } else {
                Vec::new()
            };
            targets.extend(files.iter().cloned().map(Target::File));
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
        targets: Vec<Target>,
    ) -> Result<Rotation, VaultError> {
        let mut store = Keystore::open(self.root())?;
        let mut rotation = Rotation { version: store.rotate(secret)?, ..Rotation::default() };
        // Other machines sharing the catalog take the new key before anything is sealed
        // under it.
        self.publish_keyring(&store)?;
        if !rewrap {
            self.set_keys(store.unlock(secret)?)?;
            return Ok(rotation);
        }
        let keys = store.unlock(secret)?;
        for target in targets {
            let result = match &target {
                Target::Object(name) => self.rewrap_object(name, &keys),
                Target::File(path) => rewrap_file(path, &keys),
            };
            match result {
                Ok(()) => rotation.rewrapped.push(target.to_string()),
                Err(e) => rotation.failed.push((target.to_string(), e.to_string())),
            }
        }
        if rotation.failed.is_empty() {
            rotation.retired = store.retire_previous()?;
            self.publish_keyring(&store)?;
        }
        self.set_keys(store.unlock(secret)?)?;
        Ok(rotation)
    }
}

/// What a rotation re-wraps.
enum Target {
    /// A sealed object of the vault, by name.
    Object(String),
    /// A sealed file outside the vault.
    File(PathBuf),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Object(name) => write!(f, "object {name}"),
            Target::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl Vault {
    /// Re-wraps a stored object's data key to the newest master key, replacing it in place.
    fn rewrap_object(&self, name: &str, keys: &SealKeys) -> Result<(), VaultError> {
        let mut input = self.objects().get(name)?;
        let mut out = self.objects().create(name)?;
        mlguard_seal::rewrap(&mut input, &mut out, keys)?;
        out.commit()
    }
}

/// Re-wraps a sealed file's data key to the newest master key, replacing it atomically.
fn rewrap_file(path: &Path, keys: &SealKeys) -> Result<(), VaultError> {
    let mut input = std::fs::File::open(path)
        .map_err(crate::io_err(format!("cannot open {}", path.display())))?;
    mlguard_seal::write_atomic_with(path, true, |f| {
        mlguard_seal::rewrap(&mut input, f, keys).map(|_| ())
    })?;
    Ok(())
}
