use mlguard_findings::Severity;

use ruff_text_size::TextRange;

use crate::engine::{Call, Checker, Lit, Val};
use crate::rules::{FlawClass, KEY_PARAMS, secret_param};

declare_rule! {
    /// ## What it does
    /// Reports a literal key (a string or bytes constant, directly or through a module
    /// constant) passed to `Fernet`, `MultiFernet`, `AESGCM`, `ChaCha20Poly1305`, AES
    /// ciphers, `hmac.new`/`hmac.digest` or `jwt.encode`; a literal fallback for a secret
    /// read from the environment (`os.environ.get("MODEL_KEY", "dev-key")`,
    /// `os.getenv("SECRET_KEY", "changeme")`); and a literal default for a parameter named
    /// as a key or password (`def encrypt(data, key=b"...")`, `api_key="..."`).
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
pub(crate) const CALLEES: &[&str] = &[
    "Fernet",
    "AESGCM",
    "ChaCha20Poly1305",
    "AESCCM",
    "AESSIV",
    "AES",
    "new",
    "digest",
    "encode",
    "get",
    "getenv",
];

/// A non-empty string or bytes constant.
fn literal(v: &Val) -> bool {
    match &v.lit {
        Some(Lit::Bytes(n)) => *n > 0,
        Some(Lit::Str(s)) => !s.is_empty(),
        _ => false,
    }
}

/// A name that says it holds a key or password (`MODEL_KEY`, `api_key`, `db_password`;
/// `key` itself only in a function that encrypts, signs or hashes).
pub(crate) fn key_name(name: &str, function: Option<&str>) -> bool {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> =
        lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    const SECRET: &[&str] = &["password", "passwd", "passphrase", "secret", "apikey", "pwd"];
    const KEYISH: &[&str] = &[
        "api",
        "hmac",
        "encryption",
        "enc",
        "signing",
        "sign",
        "aes",
        "fernet",
        "master",
        "private",
        "access",
        "crypto",
        "cipher",
        "jwt",
        "auth",
        "secret",
    ];
    if words.iter().any(|w| SECRET.contains(w)) {
        return true;
    }
    if let [.., before, "key" | "token"] = words.as_slice() {
        return KEYISH.contains(before);
    }
    words == ["key"]
        && function.is_some_and(|f| {
            f.to_ascii_lowercase().split('_').any(|w| {
                ["encrypt", "decrypt", "crypt", "cipher", "hmac", "jwt", "seal", "unseal"]
                    .iter()
                    .any(|p| w.starts_with(p))
                    || matches!(w, "sign" | "verify" | "signature" | "mac")
            })
        })
}

/// An environment variable whose name says it holds a secret (`MODEL_KEY`, `API_TOKEN`).
fn env_secret(var: &str) -> bool {
    let lower = var.to_ascii_lowercase();
    lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        matches!(
            w,
            "key" | "secret" | "token" | "password" | "passwd" | "passphrase" | "pwd" | "apikey"
        )
    })
}

/// `def encrypt(data, key=b"...")`: a parameter named as a key with a literal default.
pub(crate) fn at_default(
    cx: &mut Checker<'_>,
    function: &str,
    param: &str,
    default: &Val,
    range: TextRange,
) {
    if literal(default) && key_name(param, Some(function)) {
        cx.report(&RULE, range, format!("`{param}` defaults to a key written in the source"));
    }
}

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    // A secret read from the environment or a config store, with a literal fallback:
    // `os.environ.get("MODEL_KEY", "dev-key")`, `os.getenv("SECRET_KEY", "changeme")`,
    // Airflow's `Variable.get("signing_key", default_var="dev-key")`.
    let fallback = if call.is(&["os.environ.get", "os.getenv", "os.environ.setdefault"]) {
        Some("default")
    } else if call.method == "get"
        && call.qual.as_deref().is_some_and(|q| q.ends_with("Variable.get"))
    {
        Some("default_var")
    } else {
        None
    };
    if let Some(keyword) = fallback {
        if let (Some(var), Some(default)) =
            (call.arg(0, "key").and_then(Val::str), call.arg(1, keyword))
            && env_secret(var)
            && literal(default)
        {
            cx.report(
                &RULE,
                call.range(),
                format!(
                    "`{var}` falls back to a key written in the source when the variable is unset"
                ),
            );
        }
        return;
    }
    let Some((param, Some(v))) = secret_param(call, KEY_PARAMS) else { return };
    if literal(v) {
        let leaf = param.callee.rsplit('.').next().unwrap_or(param.callee);
        cx.report(&RULE, call.range(), format!("`{leaf}` gets a key written in the source"));
    }
}
