//! How the CLI reports a failure, in one place: the libraries' errors say what happened;
//! here each is given its exit code (1: findings or refused input; 2: usage or a tool
//! error) and, where a flag or command would change the outcome, a hint naming it. A
//! failure through a server is mapped by the same table, from the `error` code of its
//! answer, so `--server` exits and hints as the local command does.

use std::path::Path;
use std::process::ExitCode;

use mlguard_findings::{TextOptions, render_text};
use mlguard_seal::SealError;
use mlguard_vault::VaultError;

use crate::output::Out;

/// The server answered with an error.
#[derive(Debug, thiserror::Error)]
#[error("the server refused ({status}): {message}")]
pub(crate) struct Refusal {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The API's error code (`error`).
    pub(crate) code: String,
    /// Its message (with the first findings, if it sent a report).
    pub(crate) message: String,
}

/// Refuses to replace `path` unless `force`.
pub(crate) fn no_overwrite<P: AsRef<Path>>(path: Option<P>, force: bool) -> Result<(), SealError> {
    match path {
        Some(p) if !force && p.as_ref().exists() => Err(SealError::Exists(p.as_ref().into())),
        _ => Ok(()),
    }
}

/// The code of the first error in `e`'s chain that has one.
pub(crate) fn code(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| {
        if let Some(v) = c.downcast_ref::<VaultError>() {
            Some(v.code().to_owned())
        } else if let Some(s) = c.downcast_ref::<SealError>() {
            Some(s.code().to_owned())
        } else {
            c.downcast_ref::<Refusal>().map(|r| r.code.clone())
        }
    })
}

/// Findings or refused input (exit 1), rather than usage or a tool error (exit 2).
pub(crate) fn refused(code: &str) -> bool {
    matches!(
        code,
        // The data or the artifact: what was checked and found wanting.
        "integrity" | "malformed" | "too_large" | "untrusted_signer" | "no_key"
            | "model_mismatch" | "bad_signature" | "bad_key" | "invalid" | "poisoned"
            | "unprotected_pii" | "flagged" | "bad_input" | "bad_model"
            // Who asks: no right, no or a wrong second factor.
            | "no_token" | "invalid_token" | "forbidden" | "mfa_required" | "mfa_rejected"
            | "mfa_locked" // Everything else is usage or a tool error: a request that makes no sense as
                           // asked (`refused`: an unknown role, a target that cannot train), a wrong
                           // secret, a name not in the catalog, a file that exists, the machine.
    )
}

/// What would change the outcome, in the CLI's terms.
fn hint(code: &str, e: &anyhow::Error) -> Option<String> {
    let flagged = e.chain().find_map(|c| match c.downcast_ref::<VaultError>() {
        Some(VaultError::Flagged(version)) => Some(version.clone()),
        _ => None,
    });
    Some(match code {
        "exists" => "pass --force to overwrite it".into(),
        "untrusted_signer" => {
            "trust the key with `mlguard keys trust`, or pass --allow-untrusted-signer".into()
        }
        "no_vault" => {
            "create one with `mlguard init`, or pass --vault DIR / set MLGUARD_VAULT".into()
        }
        "unlock_method" => "a key file: --key-file FILE (or MLGUARD_KEY_FILE); a passphrase: --passphrase-file FILE, MLGUARD_PASSPHRASE or the prompt".into(),
        "unprotected_pii" => "--keep-pii stores them as they are".into(),
        "poisoned" => "without --reject-poisoned the dataset is stored with its findings".into(),
        "flagged" => match flagged {
            Some(v) => format!(
                "`mlguard data report {v}` shows why; --accept-flagged trains on it anyway"
            ),
            None => "--accept-flagged trains on it anyway".into(),
        },
        "mfa_required" => "pass --totp CODE".into(),
        "no_token" => "set MLGUARD_TOKEN (or --token)".into(),
        "conflict" => "try again: it will take the next version".into(),
        _ => return None,
    })
}

/// Reports `e` on stderr (a refused table's findings on stdout first) and returns the
/// exit code it means.
pub(crate) fn report(e: &anyhow::Error, out: &mut Out) -> ExitCode {
    for c in e.chain() {
        if let Some(VaultError::Invalid(r) | VaultError::Poisoned(r)) = c.downcast_ref() {
            let _ = out.write(&render_text(r, TextOptions { color: out.color }));
        }
    }
    let first = e.to_string();
    errln!("error: {first}");
    let mut said = first;
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !said.contains(&text) {
            errln!("  caused by: {text}");
            said.push_str(&text);
        }
    }
    let code = code(e);
    if let Some(h) = code.as_deref().and_then(|c| hint(c, e)) {
        errln!("  hint: {h}");
    }
    if code.as_deref().is_some_and(refused) { ExitCode::from(1) } else { ExitCode::from(2) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_for_local_and_remote_failures() {
        let local = anyhow::Error::from(VaultError::UnprotectedPii(vec!["email".into()]));
        let remote = anyhow::Error::from(Refusal {
            status: 422,
            code: "unprotected_pii".into(),
            message: "columns marked pii ...".into(),
        });
        for e in [&local, &remote] {
            assert_eq!(code(e).as_deref(), Some("unprotected_pii"));
            assert!(refused("unprotected_pii"));
            assert!(hint("unprotected_pii", e).is_some_and(|h| h.contains("--keep-pii")));
        }
        assert!(!refused("refused") && !refused("wrong_secret"), "usage");
        let nf = anyhow::Error::from(VaultError::NotFound("dataset x".into()));
        assert_eq!(code(&nf).as_deref(), Some("not_found"));
        assert!(!refused("not_found"));
        let internal = anyhow::Error::from(VaultError::Internal("x".into()));
        assert!(!refused(&code(&internal).unwrap_or_default()));
        let exists =
            anyhow::Error::from(no_overwrite(Some(Path::new("/")), false).expect_err("exists"));
        assert!(hint("exists", &exists).is_some_and(|h| h.contains("--force")));
        assert!(no_overwrite(Some(Path::new("/")), true).is_ok());
    }
}
