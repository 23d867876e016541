//! `mlguard seal | open | verify | inspect`.

use std::fs::{self, File};
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, bail};
use mlguard_seal::{Header, Kind, SealError, SealOptions, SignerPolicy, Verified};

use crate::args::{InspectArgs, KindArg, OpenArgs, SealArgs, VaultArgs, VerifyArgs};
use crate::output::{Out, thousands};
use crate::pipeline::local;

fn kind(k: KindArg) -> Kind {
    match k {
        KindArg::Dataset => Kind::Dataset,
        KindArg::Model => Kind::Model,
        KindArg::File => Kind::File,
    }
}

fn meta(pairs: &[String]) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut m = serde_json::Map::new();
    for p in pairs {
        let (k, v) =
            p.split_once('=').with_context(|| format!("--meta {p:?}: expected KEY=VALUE"))?;
        if k.is_empty() {
            bail!("--meta {p:?}: the key is empty");
        }
        m.insert(k.to_owned(), v.into());
    }
    Ok(m)
}

fn stamp(path: &Path) -> anyhow::Result<(u64, Option<SystemTime>)> {
    let m = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((m.len(), m.modified().ok()))
}

pub(crate) fn seal(a: &SealArgs, vault: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let output = a.output.clone().unwrap_or_else(|| {
        let mut p = a.file.clone().into_os_string();
        p.push(".mlseal");
        PathBuf::from(p)
    });
    crate::errors::no_overwrite(Some(&output), a.force)?;
    let opts = SealOptions { kind: kind(a.kind), meta: meta(&a.meta)? };
    let v = crate::pipeline::open_vault(vault)?;
    let name = a.file.display().to_string();
    let before = stamp(&a.file)?;
    let mut input =
        File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let sealed = mlguard_seal::write_atomic_with(&output, a.force, |f| {
        // Whole segments are written at once: no buffering layer (it would only copy).
        let core = v.seal_artifact(local(), &name, &mut input, f, &opts)?;
        // The file must not have changed while it was read twice.
        if stamp(&a.file).ok() != Some(before) {
            return Err(SealError::Refused(format!(
                "{} changed while it was being sealed; nothing was written",
                a.file.display()
            ))
            .into());
        }
        Ok::<_, mlguard_vault::VaultError>(core)
    });
    let core = match sealed {
        Ok(core) => core,
        Err(e) => return rejected(e, &a.file),
    };
    out.line(&format!(
        "sealed {} -> {} ({} bytes, {}, id {}, signed by {})",
        a.file.display(),
        output.display(),
        thousands(core.size),
        core.kind.as_str(),
        core.id,
        &v.keys().signer_public().key_id()[..16],
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn policy(allow: bool) -> SignerPolicy {
    if allow { SignerPolicy::AllowUntrusted } else { SignerPolicy::TrustedOnly }
}

fn warn_untrusted(v: &Verified) {
    if !v.signer_trusted {
        errln!(
            "WARNING: this artifact is signed by key {}, which this vault does NOT trust.",
            v.signer
        );
        errln!(
            "WARNING: it is intact, but authentic only if you trust that key (`mlguard keys trust` makes it so)."
        );
    }
}

/// A failure about the artifact at `path`, named by it (the exit code is the failure's).
fn rejected(e: impl Into<anyhow::Error>, path: &Path) -> anyhow::Result<ExitCode> {
    let e = e.into();
    let message = format!("{}: {e}", path.display());
    Err(e.context(message))
}

pub(crate) fn open(a: &OpenArgs, vault: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let to_stdout = a.output.as_os_str() == "-";
    if to_stdout && io::stdout().is_terminal() {
        bail!("refusing to write binary plaintext to a terminal; use -o FILE or a pipe");
    }
    if !to_stdout {
        crate::errors::no_overwrite(Some(&a.output), a.force)?;
    }
    let v = crate::pipeline::open_vault(vault)?;
    let name = a.file.display().to_string();
    let mut input =
        File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let pol = policy(a.allow_untrusted_signer);
    if to_stdout {
        // Nothing reaches the pipe before every check passed: spool, then copy.
        let mut spool = tempfile::tempfile().context("cannot create a temporary file")?;
        let mut w = io::BufWriter::new(&mut spool);
        let verified = match v.open_artifact(local(), &name, &mut input, &mut w, pol) {
            Ok(v) => v,
            Err(e) => return rejected(e, &a.file),
        };
        io::Write::flush(&mut w)?;
        drop(w);
        warn_untrusted(&verified);
        io::Seek::rewind(&mut spool)?;
        let mut plain = Vec::new();
        io::Read::read_to_end(&mut spool, &mut plain)?;
        crate::output::write_stdout(&plain)?;
        return Ok(ExitCode::SUCCESS);
    }
    let result = mlguard_seal::write_atomic_with(&a.output, a.force, |f| {
        // Plaintext segments are 1 MiB - 16 bytes; a 4 MiB buffer keeps writes page-aligned.
        let mut w = io::BufWriter::with_capacity(4 << 20, f);
        let opened = v.open_artifact(local(), &name, &mut input, &mut w, pol)?;
        io::Write::flush(&mut w).map_err(|e| mlguard_vault::VaultError::Io {
            context: "cannot write the output".into(),
            source: e,
        })?;
        Ok::<_, mlguard_vault::VaultError>(opened)
    });
    let opened = match result {
        Ok(o) => o,
        Err(e) => return rejected(e, &a.file),
    };
    warn_untrusted(&opened);
    out.line(&format!(
        "opened {} -> {} ({} bytes, verified)",
        a.file.display(),
        a.output.display(),
        thousands(opened.core.size)
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify(a: &VerifyArgs, vault: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let vault = crate::pipeline::open_vault(vault)?;
    let mut input = io::BufReader::with_capacity(
        mlguard_seal::SEGMENT_SIZE,
        File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?,
    );
    let name = a.file.display().to_string();
    let signers = policy(a.allow_untrusted_signer);
    match vault.verify_artifact(local(), &name, &mut input, signers) {
        Ok(v) => {
            warn_untrusted(&v);
            if a.json {
                let j = serde_json::json!({"file": a.file.display().to_string(), "valid": true, "signer": v.signer, "signer_trusted": v.signer_trusted, "core": v.core});
                out.line(&serde_json::to_string_pretty(&j)?)?;
            } else {
                out.line(&format!(
                    "{}: {} ({} bytes, {}, signature, key and every segment checked)",
                    a.file.display(),
                    out.good("verified"),
                    thousands(v.core.size),
                    v.core.kind.as_str()
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if a.json && crate::errors::refused(e.code()) => {
            let j = serde_json::json!({"file": a.file.display().to_string(), "valid": false, "error": e.to_string()});
            out.line(&serde_json::to_string_pretty(&j)?)?;
            Ok(ExitCode::from(1))
        }
        Err(e) => rejected(e, &a.file),
    }
}

pub(crate) fn inspect(a: &InspectArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let mut input =
        File::open(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let header = match Header::read(&mut input) {
        Ok(h) => h,
        Err(e) => return rejected(e, &a.file),
    };
    let core = match header.unverified_core() {
        Ok(c) => c,
        Err(e) => return rejected(e, &a.file),
    };
    let versions: Vec<u32> = header.recipients.iter().map(|r| r.key_version).collect();
    if a.json {
        let j = serde_json::json!({
            "file": a.file.display().to_string(),
            "verified": false,
            "core": core,
            "signature": {"alg": header.signature.alg, "key_id": header.signature.key_id},
            "recipients": versions,
            "payload_offset": header.payload_offset,
        });
        out.line(&serde_json::to_string_pretty(&j)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    out.line(&format!("{} (header only, not verified: run `mlguard verify`)", a.file.display()))?;
    out.line(&format!("  id          {}", core.id))?;
    out.line(&format!("  kind        {}", core.kind.as_str()))?;
    out.line(&format!("  created     {}", core.created))?;
    out.line(&format!("  size        {} bytes", thousands(core.size)))?;
    out.line(&format!("  blake3      {}", core.blake3))?;
    out.line(&format!(
        "  encryption  {} ({} byte segments)",
        core.aead.alg,
        thousands(core.aead.segment_size)
    ))?;
    out.line(&format!("  signed by   {} ({})", header.signature.key_id, header.signature.alg))?;
    out.line(&format!("  wrapped for master key version(s) {versions:?}"))?;
    if !core.meta.is_empty() {
        out.line(&format!("  meta        {}", serde_json::Value::Object(core.meta.clone())))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn sign_model(
    path: &Path,
    output: &Path,
    force: bool,
    vault: &VaultArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    crate::errors::no_overwrite(Some(&output), force)?;
    let v = crate::pipeline::open_vault(vault)?;
    // A signature written inside the model must not sign itself.
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let inside = match (fs::canonicalize(path), fs::canonicalize(parent)) {
        (Ok(model), Ok(dir)) if model.is_dir() => dir.strip_prefix(&model).ok().map(|rel| {
            rel.join(output.file_name().unwrap_or_default()).to_string_lossy().replace('\\', "/")
        }),
        _ => None,
    };
    let (bundle, key_id) = v.sign_model_files(local(), path, inside.as_deref())?;
    mlguard_seal::write_atomic(output, bundle.as_bytes(), force)?;
    let files = mlguard_seal::hash_model(path, &[]).map(|m| m.files.len()).unwrap_or(0);
    out.line(&format!(
        "signed {} ({} file{}) -> {} (OpenSSF model signing v1.0, key {})",
        path.display(),
        files,
        if files == 1 { "" } else { "s" },
        output.display(),
        &key_id[..16]
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn verify_model(
    path: &Path,
    signature: &Path,
    public_key: Option<&Path>,
    vault: &VaultArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let key = match public_key {
        Some(p) => {
            let pem =
                fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            mlguard_seal::PublicKey::from_pem(&pem)
                .with_context(|| format!("{} is not a usable public key", p.display()))?
        }
        None => mlguard_seal::Keystore::open(&vault.vault)?.signing_public()?,
    };
    let meta =
        fs::metadata(signature).with_context(|| format!("cannot read {}", signature.display()))?;
    if meta.len() > 64 << 20 {
        bail!("{} is too large to be a signature bundle", signature.display());
    }
    let bundle = fs::read_to_string(signature)
        .with_context(|| format!("cannot read {}", signature.display()))?;
    match mlguard_seal::verify_model(path, &bundle, &key) {
        Ok(m) => {
            out.line(&format!(
                "{}: {} ({} {} the signature by {})",
                path.display(),
                out.good("verified"),
                m.files.len(),
                if m.files.len() == 1 { "file matches" } else { "files match" },
                &key.key_id()[..16]
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => rejected(e, path),
    }
}
