//! Atomic file writes: a temporary file in the same directory, fsync, rename, fsync of the
//! directory. A crash leaves the old file or the new one, never a torn one.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::SealError;

/// Writes a file atomically by letting `fill` write its content, and returns what `fill`
/// returned; when `fill` fails (with its own error type), nothing is written. Refuses to
/// replace an existing file unless `overwrite`.
pub fn write_atomic_with<T, E: From<SealError>>(
    path: &Path,
    overwrite: bool,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
) -> Result<T, E> {
    if !overwrite && path.exists() {
        return Err(SealError::Exists(path.to_path_buf()).into());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".mlguard-tmp-")
        .tempfile_in(dir)
        .map_err(SealError::io(format!("cannot create a temporary file in {}", dir.display())))?;
    let made = fill(tmp.as_file_mut())?;
    finish(tmp, dir, path, overwrite)?;
    Ok(made)
}

/// Makes the filled temporary file `tmp` durable as `path`.
fn finish(
    mut tmp: tempfile::NamedTempFile,
    dir: &Path,
    path: &Path,
    overwrite: bool,
) -> Result<(), SealError> {
    tmp.as_file_mut().flush().map_err(SealError::io(format!("cannot write {}", path.display())))?;
    tmp.as_file().sync_all().map_err(SealError::io(format!("cannot sync {}", path.display())))?;
    if overwrite {
        tmp.persist(path).map_err(|e| SealError::Io {
            context: format!("cannot write {}", path.display()),
            source: e.error,
        })?;
    } else {
        // Fails if the file appeared meanwhile: never replace what we were told to keep.
        tmp.persist_noclobber(path).map_err(|e| SealError::Io {
            context: format!("cannot write {}", path.display()),
            source: e.error,
        })?;
    }
    sync_dir(dir)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), SealError> {
    write_atomic_with(path, overwrite, |f| {
        f.write_all(bytes).map_err(SealError::io(format!("cannot write {}", path.display())))
    })
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), SealError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(SealError::io(format!("cannot sync directory {}", dir.display())))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
