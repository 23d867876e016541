//! The embedded object and policy stores: sealed objects as files in `objects/` and the
//! policy as `policy.json`, both in the vault directory.
//!
//! An object is written to a temporary name, synced, and renamed to its final name with the
//! directory synced: a reader never sees a partial object, and a crash leaves at most an
//! orphan temporary file, never a catalog row without its object (rows are added after the
//! object is stored).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::{ObjectStore, ObjectWriter, PolicyStamp, PolicyStore};
use crate::{VaultError, io_err};

/// Sealed objects in one directory.
pub struct DirObjects {
    dir: PathBuf,
}

/// Temporary files of objects being written start with this (never listed or read).
const INCOMING: &str = "incoming-";
/// Scratch files start with this.
const SCRATCH: &str = "scratch-";

/// A name an object may have (`ID.mlseal`): nothing that leaves the directory, nothing
/// being written.
pub(crate) fn valid(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.')
        && !name.starts_with(INCOMING)
        && !name.starts_with(SCRATCH);
    if ok {
        Ok(())
    } else {
        Err(VaultError::Tampered(format!("{name:?} is not the name of a stored object")))
    }
}

impl DirObjects {
    /// The objects of the vault directory `root` (`objects/`, created if missing).
    pub fn open(root: &Path) -> Result<DirObjects, VaultError> {
        let dir = root.join("objects");
        std::fs::create_dir_all(&dir).map_err(io_err("cannot create the objects directory"))?;
        // What killed processes left: objects half written, scratch plaintext.
        super::leftovers::sweep(&dir, &[INCOMING, SCRATCH]);
        Ok(DirObjects { dir })
    }
}

/// An object being written to a temporary file in the directory (removed when dropped
/// uncommitted).
struct Incoming {
    file: io::BufWriter<File>,
    tmp: Option<tempfile::TempPath>,
    dir: PathBuf,
    name: String,
}

impl Write for Incoming {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl ObjectWriter for Incoming {
    fn commit(mut self: Box<Self>) -> Result<(), VaultError> {
        let stored =
            |source| VaultError::Io { context: "cannot store the sealed object".into(), source };
        self.file.flush().map_err(stored)?;
        self.file.get_ref().sync_all().map_err(stored)?;
        let tmp = self.tmp.take().ok_or_else(|| VaultError::Internal("committed twice".into()))?;
        tmp.persist(self.dir.join(&self.name)).map_err(|e| stored(e.error))?;
        mlguard_seal::sync_dir(&self.dir)?;
        Ok(())
    }
}

impl ObjectStore for DirObjects {
    fn create(&self, name: &str) -> Result<Box<dyn ObjectWriter>, VaultError> {
        valid(name)?;
        let (file, tmp) = super::leftovers::create(&self.dir, INCOMING, ".mlseal")?.into_parts();
        Ok(Box::new(Incoming {
            file: io::BufWriter::with_capacity(1 << 20, file),
            tmp: Some(tmp),
            dir: self.dir.clone(),
            name: name.to_owned(),
        }))
    }

    fn get(&self, name: &str) -> Result<Box<dyn Read + Send>, VaultError> {
        valid(name)?;
        match File::open(self.dir.join(name)) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(VaultError::Tampered(format!(
                "the object {name} recorded in the catalog is missing"
            ))),
            Err(e) => {
                Err(VaultError::Io { context: format!("cannot read the object {name}"), source: e })
            }
        }
    }

    fn delete(&self, name: &str) -> Result<(), VaultError> {
        valid(name)?;
        std::fs::remove_file(self.dir.join(name))
            .map_err(io_err(format!("cannot remove the object {name}")))
    }

    fn list(&self) -> Result<Vec<String>, VaultError> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(io_err("cannot list the objects directory"))?;
        let mut found = Vec::new();
        for e in entries {
            let e = e.map_err(io_err("cannot list the objects directory"))?;
            let Some(name) = e.file_name().to_str().map(str::to_owned) else { continue };
            if name.ends_with(".mlseal") && valid(&name).is_ok() && e.path().is_file() {
                found.push(name);
            }
        }
        found.sort();
        Ok(found)
    }

    fn modified(&self, name: &str) -> Result<std::time::SystemTime, VaultError> {
        valid(name)?;
        std::fs::metadata(self.dir.join(name))
            .and_then(|m| m.modified())
            .map_err(io_err(format!("cannot read the object {name}")))
    }

    /// Scratch files go beside the objects: inside the vault (owner-only), on the same
    /// file system.
    fn scratch(&self, what: &str) -> Result<tempfile::NamedTempFile, VaultError> {
        super::leftovers::create(&self.dir, &format!("{SCRATCH}{what}-"), "")
    }
}

/// The policy as `policy.json` in the vault directory (an administrator may edit it; it is
/// re-read when its modification time changes).
pub struct PolicyFile {
    path: PathBuf,
}

impl PolicyFile {
    /// The policy file of the vault directory `root`.
    pub fn new(root: &Path) -> PolicyFile {
        PolicyFile { path: root.join("policy.json") }
    }
}

impl PolicyStore for PolicyFile {
    fn load(&self) -> Result<Option<(String, PolicyStamp)>, VaultError> {
        let stamp = self.stamp()?;
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(stamp.map(|s| (text, s))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VaultError::Io {
                context: format!("cannot read {}", self.path.display()),
                source: e,
            }),
        }
    }

    fn stamp(&self) -> Result<Option<PolicyStamp>, VaultError> {
        match std::fs::metadata(&self.path) {
            Ok(m) => {
                let at =
                    m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                let at = at.map(|d| d.as_nanos()).unwrap_or_default();
                // A replacement is a new file (written aside and renamed): its inode tells
                // it apart even within one tick of the clock; an edit in place moves mtime.
                #[cfg(unix)]
                let file = std::os::unix::fs::MetadataExt::ino(&m);
                #[cfg(not(unix))]
                let file = 0u64;
                Ok(Some(PolicyStamp(format!("{at}:{}:{file}", m.len()))))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VaultError::Io {
                context: format!("cannot read {}", self.path.display()),
                source: e,
            }),
        }
    }

    fn store(&self, text: &str, replace: bool) -> Result<(), VaultError> {
        if !replace && self.path.exists() {
            return Ok(());
        }
        match mlguard_seal::write_atomic(&self.path, text.as_bytes(), replace) {
            // Another request or process stored one first: that one stands.
            Err(_) if !replace && self.path.exists() => Ok(()),
            r => Ok(r?),
        }
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// Writes a server's self-signed certificate (public) as `root/server-cert.pem`.
pub(crate) fn publish_certificate(root: &Path, pem: &str) -> Result<PathBuf, VaultError> {
    let path = root.join("server-cert.pem");
    mlguard_seal::write_atomic(&path, pem.as_bytes(), true)?;
    Ok(path)
}
