//! `mlguard init` and `mlguard keys ...`: the vault's keys, and how the CLI unlocks them.

use std::fs;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mlguard_seal::{KeyState, Keystore, Secret, UnlockMethod};
use zeroize::Zeroizing;

use mlguard_vault::store::Backends;

use crate::args::{InitArgs, RotateArgs, VaultArgs};
use crate::output::Out;
use crate::pipeline::local;

/// The secret for a vault unlocked by `method`, from the flags, the environment or a prompt.
pub(crate) fn secret(
    args: &VaultArgs,
    method: UnlockMethod,
    confirm: bool,
) -> anyhow::Result<Secret> {
    secret_given(args, method, confirm, None)
}

/// [`secret`], with the passphrase `given` (by a caller of the library) taking precedence
/// over `--passphrase-file`, `MLGUARD_PASSPHRASE` and the terminal.
pub(crate) fn secret_given(
    args: &VaultArgs,
    method: UnlockMethod,
    confirm: bool,
    given: Option<Zeroizing<String>>,
) -> anyhow::Result<Secret> {
    match method {
        UnlockMethod::KeyFile => match &args.key_file {
            Some(p) => Ok(Secret::from_key_file(p)?),
            None => bail!(
                "this vault is unlocked with a key file: pass --key-file FILE or set MLGUARD_KEY_FILE"
            ),
        },
        // The KMS unwraps the keys; the recovery key file (--key-file) does without it.
        UnlockMethod::Kms => match &args.key_file {
            Some(p) => Ok(Secret::from_key_file(p)?),
            None => mlguard_vault::Vault::kms_secret(&args.vault)?
                .context("this vault's keys are not wrapped by a KMS"),
        },
        UnlockMethod::Passphrase => {
            if let Some(p) = given {
                return Ok(Secret::Passphrase(p));
            }
            if let Some(p) = &args.passphrase_file {
                let text = Zeroizing::new(
                    fs::read_to_string(p)
                        .with_context(|| format!("cannot read {}", p.display()))?,
                );
                let line = text.strip_suffix('\n').unwrap_or(&text);
                let line = line.strip_suffix('\r').unwrap_or(line);
                return Ok(Secret::Passphrase(Zeroizing::new(line.to_owned())));
            }
            if let Ok(p) = std::env::var("MLGUARD_PASSPHRASE") {
                return Ok(Secret::Passphrase(Zeroizing::new(p)));
            }
            if !std::io::stdin().is_terminal() {
                bail!(
                    "no passphrase: set MLGUARD_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal to be asked"
                );
            }
            let first = Zeroizing::new(rpassword::prompt_password(format!(
                "Passphrase for vault {}: ",
                args.vault.display()
            ))?);
            if confirm {
                let again = Zeroizing::new(rpassword::prompt_password("Repeat the passphrase: ")?);
                if *first != *again {
                    bail!("the passphrases do not match");
                }
            }
            Ok(Secret::Passphrase(first))
        }
    }
}

pub(crate) fn init(args: &VaultArgs, init: &InitArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let backends = Backends::new(init.catalog.as_deref(), init.objects.as_deref())?;
    Backends::refuse_existing(&args.vault)?;
    backends.check()?;
    if init.kms.is_some() && args.key_file.is_none() {
        bail!(
            "--kms needs --key-file FILE: the offline recovery key that unlocks the vault if the KMS key is lost or disabled"
        );
    }
    let secret = match &args.key_file {
        Some(p) if p.exists() => Secret::from_key_file(p)?,
        Some(p) => {
            let s = Secret::create_key_file(p)?;
            let what = if init.kms.is_some() {
                "it recovers the vault without the KMS: keep it offline, off the servers"
            } else {
                "keep it safe, it unlocks the vault"
            };
            out.line(&format!(
                "created key file {} (32 random bytes, mode 600): {what}",
                p.display()
            ))?;
            s
        }
        None => secret(args, UnlockMethod::Passphrase, true)?,
    };
    let store = match &init.kms {
        Some(key) => mlguard_vault::Vault::init_with_kms(&args.vault, key, &secret, &backends)?,
        None => mlguard_vault::Vault::init_with(&args.vault, &secret, &backends)?,
    };
    let public = store.signing_public()?;
    out.line(&format!("created vault {}", args.vault.display()))?;
    if !backends.embedded() {
        let shown = |v: &str, local: &str| {
            if v == local { "the vault directory".to_owned() } else { v.to_owned() }
        };
        out.line(&format!(
            "  catalog, audit log and policy: {}",
            shown(&backends.catalog, "sqlite")
        ))?;
        out.line(&format!("  sealed objects: {}", shown(&backends.objects, "directory")))?;
    }
    out.line(&format!(
        "  master key: version 1 (AES-256), wrapped by {}",
        match (store.method(), &init.kms) {
            (UnlockMethod::Kms, Some(key)) =>
                format!("the KMS key {key} (and, for recovery, the key file)"),
            (UnlockMethod::Passphrase, _) => "your passphrase (Argon2id, m=19 MiB, t=2)".into(),
            _ => "the key file".into(),
        }
    ))?;
    out.line(&format!("  signing key: ECDSA P-256, id {}", public.key_id()))?;
    // What the next commands need: the vault and how it is unlocked.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let unlock = match (&args.key_file, &init.kms) {
        (Some(k), None) => {
            format!(" MLGUARD_KEY_FILE={}", shell_quote(&absolute(k).display().to_string()))
        }
        _ => String::new(),
    };
    out.line(&format!(
        "next: export MLGUARD_VAULT={}{unlock}, then `mlguard data ingest FILE --schema S.json --name NAME`",
        shell_quote(&absolute(&args.vault).display().to_string())
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// A path as a POSIX shell word: as it is when it is plain, else single-quoted.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub(crate) fn list(args: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let store = Keystore::open(&args.vault)?;
    out.line(&format!("vault {}", args.vault.display()))?;
    out.line("master keys:")?;
    for k in store.list() {
        let state = match k.state {
            KeyState::Active => "active (seals new artifacts)",
            KeyState::Previous => "previous (opens older artifacts)",
            KeyState::Retired => "retired (destroyed)",
        };
        out.line(&format!("  v{:<4} {:<22} {state}", k.version, k.created))?;
    }
    out.line(&format!("signing key: {}", store.signing_public()?.key_id()))?;
    let trusted = store.trusted()?;
    if trusted.is_empty() {
        out.line("trusted keys: none besides this vault's own")?;
    } else {
        out.line("trusted keys:")?;
        for (name, k) in trusted {
            out.line(&format!("  {name:<20} {}", k.key_id()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn gc(args: &VaultArgs, grace: u64, out: &mut Out) -> anyhow::Result<ExitCode> {
    let vault = crate::pipeline::open_vault(args)?;
    let c = vault.collect_garbage(local(), std::time::Duration::from_secs(grace))?;
    for name in &c.removed {
        out.line(&format!("  removed {name}"))?;
    }
    out.line(&format!(
        "{} object(s) recorded in the catalog; {} orphan(s) removed; {} orphan(s) younger than {grace} s kept",
        c.referenced,
        c.removed.len(),
        c.young.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn migrate(args: &VaultArgs, to: &Path, out: &mut Out) -> anyhow::Result<ExitCode> {
    let target = Backends::read_file(to)?;
    let vault = crate::pipeline::open_vault(args)?;
    let m = vault.migrate(local(), &target)?;
    out.line(&format!(
        "moved vault {} to catalog {}, objects {}: {} object(s) copied and verified, {} audit entries copied (same root)",
        args.vault.display(),
        target.catalog,
        target.objects,
        m.objects,
        m.entries
    ))?;
    out.line("the old stores are left as they were; remove them once the new ones are backed up")?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rotate(a: &RotateArgs, args: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    // The vault rotates, re-wraps and retires, and records it in its audit log first.
    let store = Keystore::open(&args.vault)?;
    let secret = secret(args, store.method(), false)?;
    drop(store);
    let vault = mlguard_vault::Vault::open(&args.vault, &secret)?;
    let r = vault.rotate_keys(local(), &secret, a.rewrap, &a.files)?;
    out.line(&format!("master key v{} is now active", r.version))?;
    if !a.rewrap {
        out.line("earlier versions still open older artifacts; `mlguard keys rotate --rewrap` moves them all to the newest key")?;
        return Ok(ExitCode::SUCCESS);
    }
    for path in &r.rewrapped {
        out.line(&format!("  re-wrapped {path}"))?;
    }
    for (path, why) in &r.failed {
        errln!("error: {path}: {why}");
    }
    if !r.failed.is_empty() {
        errln!(
            "{} artifact(s) could not be re-wrapped; earlier key versions are kept so nothing becomes unreadable",
            r.failed.len()
        );
        return Ok(ExitCode::from(1));
    }
    out.line(&format!(
        "re-wrapped {} artifact(s); retired key version(s) {:?}: artifacts wrapped only for them no longer open",
        r.rewrapped.len(),
        r.retired
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn export_public(
    args: &VaultArgs,
    output: Option<&Path>,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let pem = Keystore::open(&args.vault)?.signing_public()?.to_pem();
    match output {
        Some(p) => mlguard_seal::write_atomic(p, pem.as_bytes(), false)?,
        None => out.write(&pem)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn trust(
    args: &VaultArgs,
    pem: &Path,
    name: Option<&str>,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let v = crate::pipeline::open_vault(args)?;
    let text = fs::read_to_string(pem).with_context(|| format!("cannot read {}", pem.display()))?;
    let default = pem.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.unwrap_or(&default);
    let id = v.trust_signer(local(), &text, name)?;
    out.line(&format!("trusted key {name} ({id}): artifacts it signs will verify"))?;
    Ok(ExitCode::SUCCESS)
}
