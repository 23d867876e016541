use mlguard_findings::Severity;
use ruff_text_size::TextRange;

use crate::engine::{Checker, Load};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports a digest, HMAC or signature check whose data was already deserialised
    /// earlier in the same function. The finding is placed on the load, and names the
    /// check.
    ///
    /// ## Why is this bad
    /// Deserialising is what runs a malicious pickle's code; checking afterwards only
    /// reports what already happened, and the check often hashes a re-serialisation that
    /// always matches.
    ///
    /// ## Example
    /// ```python
    /// model = pickle.loads(blob)
    /// if hashlib.sha256(blob).hexdigest() != expected:
    ///     raise ValueError("integrity check failed")
    /// ```
    ///
    /// ## Fix
    /// Compute and compare the digest of the bytes *before* `loads`, with
    /// `hmac.compare_digest`, against a value from a trusted place.
    ///
    /// ## References
    /// CWE-696 (incorrect behavior order), CWE-345.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG602",
        name: "verify-after-load",
        class: FlawClass::Integrity,
        severity: Severity::High,
        cwe: 696,
        summary: "integrity check comes after the model was deserialised",
        fix: "check the digest or signature of the bytes before deserialising them",
    };
}

pub(crate) fn at_check(cx: &mut Checker<'_>, loads: &[Load], check: TextRange) {
    let check_line = cx.line(check);
    for l in loads {
        if l.checked_after == Some(check_line) && l.line < check_line {
            cx.report(
                &RULE,
                l.range,
                format!("`{}` deserialises the model before its integrity is checked at line {check_line}", l.what),
            );
        }
    }
}
