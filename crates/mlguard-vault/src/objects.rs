//! The object port: the vault's sealed objects by name, and the scratch files plaintext
//! passes through. The only place that knows where they live (`objects/` in the vault's
//! directory); the vault seals, verifies and records, this stores.
//!
//! An object is written to a temporary name, synced, and renamed to its final name (its
//! artifact id) with the directory synced: a reader never sees a partial object, and a
//! crash leaves at most an orphan temporary file, never a catalog row without its object
//! (rows are added after the object is stored).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{VaultError, io_err};

/// Sealed objects in one directory.
pub struct Objects {
    dir: PathBuf,
}

/// A name an object may have: what [`Objects::put`] gives (`ID.mlseal`), nothing that
/// leaves the directory.
fn valid(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(VaultError::Tampered(format!("{name:?} is not the name of a stored object")))
    }
}

impl Objects {
    /// The objects under the vault directory `root` (created if missing).
    pub fn open(root: &Path) -> Result<Objects, VaultError> {
        let dir = root.join("objects");
        std::fs::create_dir_all(&dir).map_err(io_err("cannot create the objects directory"))?;
        Ok(Objects { dir })
    }

    /// Stores an object written by `write` (to a file opened for it) under the name `name`
    /// returns with what `write` made: atomically (temporary name, sync, rename, sync of
    /// the directory). Nothing is left behind when `write` or storing fails.
    pub fn put<T>(
        &self,
        write: impl FnOnce(&mut File) -> Result<T, VaultError>,
        name: impl FnOnce(&T) -> String,
    ) -> Result<(String, T), VaultError> {
        let tmp_name =
            format!("incoming-{}.mlseal", mlguard_seal::hex(&mlguard_seal::random::<8>()?));
        let tmp = self.dir.join(&tmp_name);
        let mut made = None;
        let mut failed = None;
        let written = mlguard_seal::write_atomic_with(&tmp, false, |f| match write(f) {
            Ok(t) => {
                made = Some(t);
                Ok(())
            }
            Err(e) => {
                failed = Some(e);
                Err(mlguard_seal::SealError::Refused("not stored".into()))
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        written?;
        let t =
            made.ok_or_else(|| VaultError::Internal("the object writer made nothing".into()))?;
        let object = name(&t);
        valid(&object)?;
        std::fs::rename(&tmp, self.dir.join(&object))
            .map_err(io_err("cannot store the sealed object"))?;
        mlguard_seal::sync_dir(&self.dir)?;
        Ok((object, t))
    }

    /// A stored object, to read (the vault verifies it).
    pub fn get(&self, name: &str) -> Result<File, VaultError> {
        valid(name)?;
        File::open(self.dir.join(name)).map_err(io_err(format!("cannot read the object {name}")))
    }

    /// Removes a stored object (one whose catalog row could not be added).
    pub fn delete(&self, name: &str) -> Result<(), VaultError> {
        valid(name)?;
        std::fs::remove_file(self.dir.join(name))
            .map_err(io_err(format!("cannot remove the object {name}")))
    }

    /// Every stored object's path, sorted (for re-wrapping after a key rotation).
    pub fn list(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_file()
                            && p.extension().is_some_and(|x| x == "mlseal")
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| !n.starts_with("incoming-"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    }

    /// An owner-only temporary file beside the objects (removed when dropped), for
    /// plaintext that must be read more than once or that arrives over the network.
    pub fn scratch(&self, what: &str) -> Result<tempfile::NamedTempFile, VaultError> {
        tempfile::Builder::new()
            .prefix(&format!("scratch-{what}-"))
            .tempfile_in(&self.dir)
            .map_err(io_err("cannot create a scratch file in the vault"))
    }
}
