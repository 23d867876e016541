//! Checkpoints a client keeps, so that a log cut back and re-signed is caught: the latest
//! checkpoint verified of each log (by origin) is remembered in the state directory, and
//! every later `audit verify` proves the log still extends it (C2SP tlog-checkpoint
//! consistency, as transparency-log clients do).

use std::path::PathBuf;

use anyhow::Context;
use mlguard_vault::merkle;
use mlguard_vault::note::{self, Checkpoint, Verifier};

use crate::client::Client;

/// Where this client keeps what it remembers: `MLGUARD_STATE_DIR`, else
/// `$XDG_STATE_HOME/mlguard`, else `~/.local/state/mlguard`.
fn state_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("MLGUARD_STATE_DIR")
        .or_else(|| var("XDG_STATE_HOME").map(|d| d.join("mlguard")))
        .or_else(|| var("HOME").map(|h| h.join(".local/state/mlguard")))
}

/// The remembered checkpoint of one log.
pub(crate) struct Remembered {
    path: Option<PathBuf>,
}

impl Remembered {
    /// The one of the log whose latest checkpoint is `latest` (named by its origin).
    pub(crate) fn for_log(latest: &str) -> anyhow::Result<Remembered> {
        let parsed =
            note::parse(latest).map_err(|e| anyhow::anyhow!("the latest checkpoint: {e}"))?;
        let origin = parsed.text.split('\n').next().unwrap_or("");
        let id = blake3::hash(origin.as_bytes()).to_hex();
        Ok(Remembered { path: state_dir().map(|d| d.join("checkpoints").join(&id[..32])) })
    }

    /// The checkpoint remembered, if any.
    pub(crate) fn load(&self) -> anyhow::Result<Option<String>> {
        let Some(path) = &self.path else { return Ok(None) };
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Remembers `latest` (verified and consistent with what was remembered).
    pub(crate) fn store(&self, latest: &str) -> anyhow::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        mlguard_seal::write_atomic(path, latest.as_bytes(), true)?;
        Ok(())
    }
}

/// Whether the log whose latest checkpoint is `latest` extends the checkpoint `earlier`:
/// both signed by the log's key, `earlier` no larger, and a consistency proof from one to
/// the other. Err says why not.
pub(crate) fn consistent(c: &dyn Client, earlier: &str, latest: &str) -> Result<(), String> {
    let unsigned =
        |n: &str| -> Result<Checkpoint, String> { Checkpoint::parse(note::parse(n)?.text) };
    let old = unsigned(earlier).map_err(|e| format!("not a checkpoint ({e})"))?;
    let new = unsigned(latest).map_err(|e| format!("the log's latest checkpoint: {e}"))?;
    if old.origin != new.origin {
        return Err(format!("it is a checkpoint of another log ({:?})", old.origin));
    }
    if old.size > new.size {
        return Err(format!(
            "the log has {} entries but an earlier checkpoint signed {}: entries were removed (rolled back)",
            new.size, old.size
        ));
    }
    if old.size == 0 {
        return Ok(());
    }
    let answer = c
        .audit_consistency(old.size)
        .map_err(|e| format!("no consistency proof from size {}: {e:#}", old.size))?;
    let field = |k: &str| answer[k].as_str().unwrap_or("").to_owned();
    let key = Verifier::parse(&field("verifier_key")).map_err(|e| format!("the log's key: {e}"))?;
    let keys = [key];
    note::open(earlier, &keys).map_err(|e| format!("not signed by this log's key ({e})"))?;
    let proved = answer["checkpoint"].as_str().unwrap_or("");
    let (text, _) =
        note::open(proved, &keys).map_err(|e| format!("the proof's checkpoint: {e}"))?;
    let to = Checkpoint::parse(text).map_err(|e| format!("the proof's checkpoint: {e}"))?;
    let proof: Option<Vec<merkle::Hash>> = answer["proof"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().and_then(mlguard_seal::unhex::<32>)).collect())
        .unwrap_or(Some(Vec::new()));
    let proof = proof.ok_or("the consistency proof is malformed")?;
    if to.origin != old.origin
        || !merkle::verify_consistency(old.size, to.size, &old.root, &to.root, &proof)
    {
        return Err(format!(
            "the log does not extend it: its first {} entries are not the ones it signed (rewritten or rolled back)",
            old.size
        ));
    }
    Ok(())
}
