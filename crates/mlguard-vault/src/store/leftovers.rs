//! Temporary files that outlive a killed process: scratch plaintext and objects being
//! written. Each is created holding an exclusive lock (`flock`) for as long as its owner
//! has it open; the kernel drops the lock when the owner dies, however it dies. Opening a
//! store sweeps its temporary files: one whose lock can be taken has no living owner and
//! is removed; one still locked belongs to a running process and is left alone.

use std::path::Path;

use crate::{VaultError, io_err};

/// A new temporary file in `dir` named `PREFIX…SUFFIX`, locked by this process.
pub(crate) fn create(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> Result<tempfile::NamedTempFile, VaultError> {
    let file = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .tempfile_in(dir)
        .map_err(io_err(format!("cannot create a temporary file in {}", dir.display())))?;
    file.as_file()
        .try_lock()
        .map_err(|e| VaultError::Internal(format!("cannot lock a new temporary file: {e}")))?;
    Ok(file)
}

/// Removes the files in `dir` whose names start with one of `prefixes` and whose owner
/// is gone (their lock can be taken). Returns how many were removed; files that cannot
/// be opened (another user's) are left.
pub(crate) fn sweep(dir: &Path, prefixes: &[&str]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let Ok(f) = std::fs::OpenOptions::new().read(true).open(e.path()) else { continue };
        if f.try_lock().is_ok() && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}
