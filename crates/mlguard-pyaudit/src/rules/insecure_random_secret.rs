use mlguard_findings::Severity;

use ruff_text_size::TextRange;

use crate::engine::{Call, Checker};
use crate::rules::{FlawClass, KEY_PARAMS, SecretParam, secret_param};

declare_rule! {
    /// ## What it does
    /// Follows values from non-cryptographic generators (`random.random`, `random.choice`,
    /// `random.getrandbits`, `numpy.random.*`, a `default_rng()` generator) into places that
    /// need a secret: keys of `hmac.new`, `Fernet`, `AESGCM`, `ChaCha20Poly1305`, AES
    /// ciphers, nonces and IVs, salts of `pbkdf2_hmac`/`scrypt`/`PBKDF2HMAC`, JWT signing
    /// keys, cookies; and into names that say they hold a secret (`password`, `salt`,
    /// `nonce`, `otp`, `api_key`, `reset_token`, `session_id`, a function `make_token()`
    /// returning one). A bare `token`, `key` or `session` is not enough: they are ordinary
    /// words in ML code (a sampled text token, a sort key, a training session).
    ///
    /// ## Why is this bad
    /// These generators are predictable: a few outputs reveal the state, and then every
    /// key, token and salt they produce.
    ///
    /// ## Example
    /// ```python
    /// salt = bytes(random.getrandbits(8) for _ in range(16))
    /// hashlib.pbkdf2_hmac("sha256", password, salt, 600_000)
    /// ```
    ///
    /// ## Fix
    /// Use the `secrets` module (`secrets.token_bytes(16)`) or `os.urandom`.
    ///
    /// ## References
    /// CWE-338 (cryptographically weak PRNG).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG303",
        name: "insecure-random-secret",
        class: FlawClass::Randomness,
        severity: Severity::High,
        cwe: 338,
        summary: "non-cryptographic random value used as a key, salt, nonce or token",
        fix: "use `secrets.token_bytes()` / `secrets.token_hex()` or `os.urandom()`",
    };
}

/// A PRNG call: the line.
pub(crate) fn source(call: &Call<'_>) -> Option<u32> {
    let q = call.qual.as_deref()?;
    let prng = q.starts_with("random.") && !q.starts_with("random.SystemRandom")
        || q.starts_with("numpy.random.")
        || q.starts_with("np.random.")
        || q.starts_with("torch.rand");
    (prng && !q.ends_with("seed")).then_some(call.line)
}

/// Whether a variable, attribute or function name says it holds a secret: a password, a
/// salt, a nonce, a one-time code, an API key, an authentication or session token. A bare
/// `token` or `session` is not enough in ML code (a sampled text token, a training
/// session): the name must say which (`auth_token`, `session_id`, `make_token`).
pub(crate) fn secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "secret",
        "salt",
        "nonce",
        "iv",
        "otp",
        "csrf",
        "apikey",
        "passphrase",
    ];
    #[rustfmt::skip]
    const PHRASES: &[&str] = &[
        "api_key", "secret_key", "private_key", "reset_code", "verification_code", "auth_code",
        "access_key", "session_id", "sessionid", "session_key", "session_token", "auth_token",
        "access_token", "api_token", "reset_token", "refresh_token", "bearer", "csrf_token",
        "make_token", "create_token",
    ];
    // Whole words and whole runs of words: `new_tokens` (text tokens) is not `new_token`.
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    words.iter().any(|w| WORDS.contains(w))
        || PHRASES.iter().any(|p| {
            let phrase: Vec<&str> = p.split('_').collect();
            words.windows(phrase.len()).any(|w| w == phrase.as_slice())
        })
}

/// A value from a non-cryptographic generator given a secret's name: `token = ...`,
/// `user.password = ...`, `return ...` from `make_token()`.
pub(crate) fn named_secret(
    cx: &mut Checker<'_>,
    name: &str,
    random: Option<u32>,
    range: TextRange,
) {
    if let Some(line) = random
        && secret_name(name)
        && cx.first_sink_report(RULE.code, line)
    {
        cx.report(
            &RULE,
            range,
            format!("`{name}` comes from a non-cryptographic generator (line {line}): it can be predicted"),
        );
    }
}

/// Beyond keys: salts, nonces, IVs and cookie values.
const OTHER_PARAMS: &[SecretParam] = &[
    SecretParam {
        callee: "cryptography.hazmat.primitives.ciphers.modes.GCM",
        index: Some(0),
        keyword: "initialization_vector",
    },
    SecretParam {
        callee: "cryptography.hazmat.primitives.ciphers.modes.CBC",
        index: Some(0),
        keyword: "initialization_vector",
    },
    SecretParam {
        callee: "cryptography.hazmat.primitives.ciphers.modes.CTR",
        index: Some(0),
        keyword: "nonce",
    },
    SecretParam { callee: "hashlib.pbkdf2_hmac", index: Some(2), keyword: "salt" },
    SecretParam { callee: "hashlib.scrypt", index: None, keyword: "salt" },
    SecretParam {
        callee: "cryptography.hazmat.primitives.kdf.pbkdf2.PBKDF2HMAC",
        index: None,
        keyword: "salt",
    },
    SecretParam {
        callee: "cryptography.hazmat.primitives.kdf.scrypt.Scrypt",
        index: None,
        keyword: "salt",
    },
    SecretParam { callee: "set_cookie", index: Some(1), keyword: "value" },
];

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &[
    "new",
    "digest",
    "Fernet",
    "AESGCM",
    "ChaCha20Poly1305",
    "AESCCM",
    "AESSIV",
    "AES",
    "GCM",
    "CBC",
    "CTR",
    "pbkdf2_hmac",
    "scrypt",
    "PBKDF2HMAC",
    "Scrypt",
    "encode",
    "set_cookie",
];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let found = secret_param(call, KEY_PARAMS).or_else(|| secret_param(call, OTHER_PARAMS));
    let Some((param, value)) = found else { return };
    // Once per random value: a `salt = random...` already reported by its name is not
    // reported again where it is used.
    if let Some(line) = value.and_then(|v| v.random)
        && cx.first_sink_report(RULE.code, line)
    {
        let leaf = param.callee.rsplit('.').next().unwrap_or(param.callee);
        cx.report(
            &RULE,
            call.range(),
            format!(
                "the {} of `{leaf}` comes from a non-cryptographic generator (line {line})",
                param.keyword
            ),
        );
    }
}
