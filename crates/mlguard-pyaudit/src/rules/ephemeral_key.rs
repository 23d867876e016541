use mlguard_findings::Severity;

use crate::engine::{Call, Checker, KeyGen};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports a key from `Fernet.generate_key()` (or `AESGCM.generate_key`,
    /// `ChaCha20Poly1305.generate_key`, ...) that is only handed to a cipher: never
    /// returned, stored in an attribute or container, written, or passed to other code.
    ///
    /// ## Why is this bad
    /// When the process exits the key is gone, and so is everything encrypted with it:
    /// the encrypted model cannot be loaded again. The usual next step is to stop
    /// encrypting.
    ///
    /// ## Example
    /// ```python
    /// key = Fernet.generate_key()
    /// cipher = Fernet(key)
    /// open("model.enc", "wb").write(cipher.encrypt(pickle.dumps(model)))
    /// ```
    ///
    /// ## Fix
    /// Keep the key in a key manager (or `mlguard init`'s vault) and load it when needed.
    ///
    /// ## References
    /// CWE-320 (key management errors).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG503",
        name: "ephemeral-key",
        class: FlawClass::StorageAndKeys,
        severity: Severity::Medium,
        cwe: 320,
        summary: "generated key is never stored: what it encrypts is lost at exit",
        fix: "store the key in a key manager (or the mlguard vault) and load it when needed",
    };
}

/// `X.generate_key()` from `cryptography`.
pub(crate) fn is_generate_key(call: &Call<'_>) -> bool {
    call.method == "generate_key"
        && call.qual.as_deref().is_some_and(|q| {
            q.starts_with("cryptography") || q.contains("Fernet") || q.contains("AESGCM")
        })
}

/// Constructors that consume a key without keeping it anywhere else.
pub(crate) fn is_cipher(call: &Call<'_>) -> bool {
    let leaf = call.qual.as_deref().map(|q| q.rsplit('.').next().unwrap_or(q)).unwrap_or("");
    matches!(
        leaf,
        "Fernet"
            | "MultiFernet"
            | "AESGCM"
            | "ChaCha20Poly1305"
            | "AESCCM"
            | "AESSIV"
            | "AESOCB3"
            | "AES"
    )
}

pub(crate) fn at_scope_end(cx: &mut Checker<'_>, keys: &[KeyGen]) {
    for k in keys.iter().filter(|k| !k.persisted) {
        cx.report(&RULE, k.range, "the generated key is only given to a cipher and never stored: data encrypted with it is lost when the process exits".to_owned());
    }
}
