use mlguard_findings::Severity;

use crate::engine::{Call, Checker, Lit};
use crate::rules::{FlawClass, KEY_PARAMS, secret_param};

declare_rule! {
    /// ## What it does
    /// Reports a literal key (a string or bytes constant, directly or through a module
    /// constant) passed to `Fernet`, `MultiFernet`, `AESGCM`, `ChaCha20Poly1305`, AES
    /// ciphers, `hmac.new`/`hmac.digest` or `jwt.encode`.
    ///
    /// ## Why is this bad
    /// A key in the source is in every copy of the repository, its history and every
    /// built image: whoever has read access can decrypt and forge.
    ///
    /// ## Example
    /// ```python
    /// cipher = Fernet(b"q0x6YyK0k2mJ8J0M3tq6l1b2Qn5l4c8fJ8g7d2Q6r1E=")
    /// ```
    ///
    /// ## Fix
    /// Load the key from a key manager or the environment at run time; `mlguard init`
    /// keeps keys in the vault, wrapped by a passphrase.
    ///
    /// ## References
    /// CWE-321 (use of hard-coded cryptographic key), CWE-798.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG502",
        name: "hardcoded-key",
        class: FlawClass::StorageAndKeys,
        severity: Severity::High,
        cwe: 321,
        summary: "cryptographic key written in the source",
        fix: "load the key at run time from a key manager or the mlguard vault",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] =
    &["Fernet", "AESGCM", "ChaCha20Poly1305", "AESCCM", "AESSIV", "AES", "new", "digest", "encode"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let Some((param, Some(v))) = secret_param(call, KEY_PARAMS) else { return };
    let literal = match &v.lit {
        Some(Lit::Bytes(n)) => *n > 0,
        Some(Lit::Str(s)) => !s.is_empty(),
        _ => false,
    };
    if literal {
        let leaf = param.callee.rsplit('.').next().unwrap_or(param.callee);
        cx.report(&RULE, call.range(), format!("`{leaf}` gets a key written in the source"));
    }
}
