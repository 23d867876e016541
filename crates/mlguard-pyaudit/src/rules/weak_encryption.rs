use mlguard_findings::Severity;
use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::TextRange;

use crate::engine::{Call, Checker, Lit, Val};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports encryption that does not protect what it encrypts:
    /// - ECB mode: `modes.ECB()` (cryptography), `AES.new(key, AES.MODE_ECB)`
    ///   (PyCryptodome);
    /// - an IV or nonce written in the source (directly, through a module constant or as
    ///   `b"\x00" * 12`): `modes.CBC(b"0000000000000000")`, `AESGCM(key).encrypt(b"\x00" *
    ///   12, data, None)`, `AES.new(key, AES.MODE_CBC, iv=IV)`;
    /// - base64 or XOR passed off as encryption: returned by a function named `encrypt…` or
    ///   `obfuscate…`, or kept in a variable named `encrypted…` or `ciphertext`.
    ///
    /// An IV or nonce from `random` is MLG303; a key written in the source is MLG502.
    ///
    /// ## Why is this bad
    /// ECB encrypts equal blocks to equal blocks: the structure of the data (a model's
    /// weights, a table's repeated values) shows through. A fixed IV makes CBC and CTR
    /// deterministic, and a nonce used twice with GCM or ChaCha20-Poly1305 reveals the XOR
    /// of the two plaintexts and lets anyone forge tags. base64 and XOR with a short key are
    /// encodings: anyone can undo them.
    ///
    /// ## Example
    /// ```python
    /// cipher = Cipher(algorithms.AES(key), modes.ECB())
    /// token = AESGCM(key).encrypt(b"\x00" * 12, weights, None)
    /// ```
    ///
    /// ## Fix
    /// Use an AEAD with a fresh random nonce per message (`os.urandom(12)` with `AESGCM`,
    /// stored beside the ciphertext), or `Fernet`, or `mlguard seal`, which does both.
    ///
    /// ## References
    /// CWE-327 (broken or risky cryptographic algorithm), CWE-329 (predictable IV with CBC),
    /// CWE-323 (reusing a nonce); bandit B305, ruff S305.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG505",
        name: "weak-encryption",
        class: FlawClass::StorageAndKeys,
        severity: Severity::High,
        cwe: 327,
        summary: "encryption that does not protect: ECB, a fixed IV or nonce, base64 or XOR",
        fix: "use AES-GCM or Fernet with a fresh random nonce per message (or `mlguard seal`)",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] =
    &["ECB", "CBC", "CTR", "OFB", "CFB", "CFB8", "GCM", "new", "encrypt"];

/// cryptography's modes and the parameter that must be unpredictable.
const MODES: &[&str] = &["CBC", "CTR", "OFB", "CFB", "CFB8", "GCM"];

/// AEAD classes of cryptography whose `encrypt(nonce, data, aad)` takes the nonce first.
const AEADS: &[&str] = &["AESGCM()", "ChaCha20Poly1305()", "AESCCM()", "AESOCB3()", "AESGCMSIV()"];

/// A constant byte or text string (what a fixed IV or nonce is).
fn constant(v: Option<&Val>) -> bool {
    v.is_some_and(|v| match &v.lit {
        Some(Lit::Bytes(n)) => *n > 0,
        Some(Lit::Str(s)) => !s.is_empty(),
        Some(Lit::LongStr) => true,
        _ => false,
    })
}

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let q = call.qual.as_deref().unwrap_or("");
    let cryptography_mode = q.starts_with("cryptography.") && q.contains(".modes.");
    if cryptography_mode && call.method == "ECB" {
        cx.report(
            &RULE,
            call.range(),
            "ECB mode encrypts equal blocks to equal blocks: the data's structure shows through"
                .to_owned(),
        );
        return;
    }
    if cryptography_mode && MODES.contains(&call.method) {
        let param = if call.method == "CTR" { "nonce" } else { "initialization_vector" };
        if constant(call.arg(0, param)) {
            report_fixed(cx, call, call.method);
        }
        return;
    }
    // PyCryptodome: `AES.new(key, AES.MODE_ECB)`, `AES.new(key, AES.MODE_CBC, iv=b"...")`.
    if call.method == "new" && q.starts_with("Crypto.Cipher.") {
        let mode = call.arg(1, "mode").and_then(|m| m.qual.as_deref()).unwrap_or("");
        if mode.ends_with("MODE_ECB") {
            cx.report(&RULE, call.range(), "ECB mode encrypts equal blocks to equal blocks: the data's structure shows through".to_owned());
        } else if constant(call.arg(2, "iv")) || constant(call.kw("nonce")) {
            let leaf = mode.rsplit('.').next().unwrap_or("the cipher");
            report_fixed(cx, call, leaf);
        }
        return;
    }
    // `AESGCM(key).encrypt(b"\x00" * 12, data, aad)`.
    if call.method == "encrypt"
        && let Some(recv) = call.receiver.as_ref().and_then(|r| r.qual.as_deref())
        && AEADS.iter().any(|a| recv.ends_with(a))
        && constant(call.arg(0, "nonce"))
    {
        let class = recv.rsplit('.').next().unwrap_or(recv).trim_end_matches("()");
        report_fixed(cx, call, class);
    }
}

fn report_fixed(cx: &mut Checker<'_>, call: &Call<'_>, what: &str) {
    cx.report(
        &RULE,
        call.range(),
        format!(
            "`{what}` gets an IV or nonce written in the source: the same one for every message"
        ),
    );
}

/// A name that says its value is encrypted, or a function that says it encrypts.
pub(crate) fn encryption_name(name: &str) -> bool {
    let has = |needle: &str| {
        name.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    (has("encrypt") && !has("decrypt"))
        || has("ciphertext")
        || has("cipher_text")
        || has("obfuscat")
}

/// What base64 or XOR makes: `base64.b64encode(...)` (by the value's callee), or an
/// expression that XORs.
pub(crate) fn encoding_only(value: &Val, expr: &Expr) -> Option<&'static str> {
    let q = value.qual.as_deref().unwrap_or("");
    if q.starts_with("base64.") && q.ends_with("encode()") {
        return Some("base64");
    }
    if q.starts_with("codecs.encode") {
        return Some("codecs.encode");
    }
    // Written in the expression: `base64.b64encode(raw).decode()`, `bytes(b ^ k ...)`.
    struct Find(Option<&'static str>);
    impl<'a> Visitor<'a> for Find {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::BinOp(b) if b.op == ast::Operator::BitXor => self.0 = Some("XOR"),
                Expr::Call(c)
                    if crate::engine::dotted(&c.func).is_some_and(|n| {
                        n.starts_with("base64.")
                            && (n.ends_with("encode") || n.ends_with("encodebytes"))
                    }) =>
                {
                    self.0 = Some("base64");
                }
                _ => {}
            }
            if self.0.is_none() {
                walk_expr(self, e);
            }
        }
    }
    let mut found = Find(None);
    found.visit_expr(expr);
    found.0
}

/// `encrypted = base64.b64encode(data)`, `return bytes(b ^ k for b in data)` in
/// `def encrypt(...)`.
pub(crate) fn at_encoding(
    cx: &mut Checker<'_>,
    name: &str,
    value: &Val,
    expr: &Expr,
    range: TextRange,
) {
    if !encryption_name(name) {
        return;
    }
    if let Some(how) = encoding_only(value, expr) {
        cx.report(
            &RULE,
            range,
            format!("`{name}`: {how} is an encoding anyone can undo, not encryption"),
        );
    }
}
