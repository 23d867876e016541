use mlguard_findings::Severity;

use crate::engine::{Call, Checker, Digest, Val};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports MD5 or SHA-1 digests (`hashlib.md5`, `hashlib.sha1`, `hashlib.new("md5")`)
    /// and checksums (`zlib.crc32`, `zlib.adler32`, `binascii.crc32`) that are compared:
    /// used to check integrity. Digests used only as cache keys or ids are not reported, nor
    /// those created with `usedforsecurity=False`.
    ///
    /// ## Why is this bad
    /// Collisions for MD5 and SHA-1 are practical: an attacker can make a malicious model
    /// file with the same digest as the one you checked. A CRC is no hash at all: it
    /// catches transmission errors, and anyone can append four bytes to a file to give it
    /// any CRC they like.
    ///
    /// ## Example
    /// ```python
    /// if hashlib.md5(data).hexdigest() != EXPECTED_MD5:
    ///     raise ValueError("corrupt model")
    /// ```
    ///
    /// ## Fix
    /// SHA-256 or BLAKE2 (better: a signature, `mlguard verify`).
    ///
    /// ## References
    /// CWE-328 (use of weak hash); bandit B324, ruff S324.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG603",
        name: "weak-hash",
        class: FlawClass::Integrity,
        severity: Severity::Medium,
        cwe: 328,
        summary: "MD5, SHA-1 or a CRC used to check integrity",
        fix: "use SHA-256 or BLAKE2, or better a signature (`mlguard verify`)",
    };
}

/// A digest computation: hashlib and hmac constructors and one-shot functions.
pub(crate) fn digest_of(call: &Call<'_>) -> Option<Digest> {
    let q = call.qual.as_deref().filter(|q| !q.contains("()"))?;
    if let Some(&(_, name)) = CHECKSUMS.iter().find(|(n, _)| *n == q) {
        return Some(Digest {
            range: call.range(),
            weak: Some(name),
            keyed: false,
            for_security: true,
        });
    }
    let keyed = matches!(q, "hmac.new" | "hmac.digest" | "hmac.HMAC");
    let algo = if keyed {
        call.arg(2, "digestmod")
            .and_then(|v| v.qual.as_deref().or_else(|| v.str()).map(str::to_owned))
    } else if q == "hashlib.new" {
        call.arg(0, "name").and_then(|v| v.str().map(str::to_owned))
    } else {
        q.strip_prefix("hashlib.")
            .or_else(|| q.strip_prefix("Crypto.Hash."))
            .map(str::to_ascii_lowercase)
    };
    if !keyed && algo.is_none() {
        return None;
    }
    let not_security = call.kw("usedforsecurity").and_then(|v| v.truthy()) == Some(false);
    let algo = algo.unwrap_or_default().to_ascii_lowercase();
    let weak = if not_security || keyed {
        None
    } else if algo.ends_with("md5") {
        Some("MD5")
    } else if algo.ends_with("sha1") {
        Some("SHA-1")
    } else {
        None
    };
    Some(Digest { range: call.range(), weak, keyed, for_security: !not_security })
}

/// Checksums: they detect accidents, not tampering.
const CHECKSUMS: &[(&str, &str)] = &[
    ("zlib.crc32", "CRC-32"),
    ("zlib.adler32", "Adler-32"),
    ("binascii.crc32", "CRC-32"),
    ("binascii.crc_hqx", "CRC-16"),
    ("crc32c.crc32c", "CRC-32C"),
    ("google_crc32c.value", "CRC-32C"),
];

/// Whether a weak digest is a checksum (comparing it in constant time protects nothing).
pub(crate) fn is_checksum(d: &Digest) -> bool {
    d.weak.is_some_and(|w| w.starts_with("CRC") || w.starts_with("Adler"))
}

/// `hmac.compare_digest(weak, expected)` is an integrity check too.
/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &["compare_digest"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if call.method == "compare_digest" {
        let args: Vec<Val> = call.args.clone();
        if let Some((first, rest)) = args.split_first() {
            at_compare(cx, first, rest);
        }
    }
}

pub(crate) fn at_compare(cx: &mut Checker<'_>, left: &Val, rights: &[Val]) {
    for v in std::iter::once(left).chain(rights) {
        if let Some(d @ Digest { weak: Some(algo), range, .. }) = v.digest {
            let message = if is_checksum(&d) {
                format!(
                    "{algo} checksum compared as an integrity check: anyone can forge a file with the same {algo}"
                )
            } else {
                format!("{algo} digest compared as an integrity check: collisions are practical")
            };
            cx.report(&RULE, range, message);
        }
    }
}
