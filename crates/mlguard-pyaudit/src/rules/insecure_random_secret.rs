use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::{FlawClass, leaf_is, same_callable};

declare_rule! {
    /// ## What it does
    /// Follows values from non-cryptographic generators (`random.random`, `random.choice`,
    /// `random.getrandbits`, `numpy.random.*`, a `default_rng()` generator) into places that
    /// need a secret: keys of `hmac.new`, `Fernet`, `AESGCM`, `ChaCha20Poly1305`, AES
    /// ciphers, nonces and IVs, salts of `pbkdf2_hmac`/`scrypt`/`PBKDF2HMAC`, JWT signing
    /// keys, cookies. Decided by data flow, not by variable names: "token" and "key" are
    /// ordinary words in ML code.
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

/// Secret sinks: (qualified name or method, positional index, keyword).
const SINKS: &[(&str, usize, &str)] = &[
    ("hmac.new", 0, "key"),
    ("hmac.digest", 0, "key"),
    ("cryptography.fernet.Fernet", 0, "key"),
    ("cryptography.hazmat.primitives.ciphers.aead.AESGCM", 0, "key"),
    ("cryptography.hazmat.primitives.ciphers.aead.ChaCha20Poly1305", 0, "key"),
    ("cryptography.hazmat.primitives.ciphers.aead.AESCCM", 0, "key"),
    ("cryptography.hazmat.primitives.ciphers.aead.AESSIV", 0, "key"),
    ("cryptography.hazmat.primitives.ciphers.algorithms.AES", 0, "key"),
    ("cryptography.hazmat.primitives.ciphers.modes.GCM", 0, "initialization_vector"),
    ("cryptography.hazmat.primitives.ciphers.modes.CBC", 0, "initialization_vector"),
    ("cryptography.hazmat.primitives.ciphers.modes.CTR", 0, "nonce"),
    ("hashlib.pbkdf2_hmac", 2, "salt"),
    ("hashlib.scrypt", usize::MAX, "salt"),
    ("cryptography.hazmat.primitives.kdf.pbkdf2.PBKDF2HMAC", usize::MAX, "salt"),
    ("cryptography.hazmat.primitives.kdf.scrypt.Scrypt", usize::MAX, "salt"),
    ("jwt.encode", 1, "key"),
    ("set_cookie", 1, "value"),
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
    let q = call.qual.as_deref().unwrap_or("");
    let qleaf = q.rsplit_once('.').map_or(q, |(_, l)| l);
    for (name, index, kw) in SINKS {
        // Cheap first: the resolved callee's last name must be the sink's.
        if !leaf_is(name, qleaf) && !leaf_is(name, call.method) {
            continue;
        }
        if !(same_callable(q, name) || call.method == *name) {
            continue;
        }
        let v = if *index == usize::MAX { call.kw(kw) } else { call.arg(*index, kw) };
        if let Some(line) = v.and_then(|v| v.random) {
            let leaf = name.rsplit('.').next().unwrap_or(name);
            cx.report(
                &RULE,
                call.range(),
                format!(
                    "the {kw} of `{leaf}` comes from a non-cryptographic generator (line {line})"
                ),
            );
        }
        return;
    }
}
