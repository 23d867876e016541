use mlguard_findings::Severity;
use ruff_python_ast::{CmpOp, ExprCompare};
use ruff_text_size::Ranged;

use crate::engine::{Checker, Val};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports digests, HMACs or signatures compared with `==` or `!=` instead of
    /// `hmac.compare_digest`.
    ///
    /// ## Why is this bad
    /// `==` stops at the first differing byte; timing reveals how much of a forged MAC is
    /// right, so it can be guessed byte by byte. For a keyed MAC this is a real attack
    /// (medium); for a plain file digest it is hygiene (low).
    ///
    /// ## Example
    /// ```python
    /// if loaded_hash != original_hash:
    ///     raise ValueError("Model integrity check failed")
    /// ```
    ///
    /// ## Fix
    /// `if not hmac.compare_digest(loaded_hash, original_hash): raise ...`
    ///
    /// ## References
    /// CWE-208 (observable timing discrepancy).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG604",
        name: "digest-compare",
        class: FlawClass::Integrity,
        severity: Severity::Low,
        cwe: 208,
        summary: "digest compared with `==`/`!=` instead of `hmac.compare_digest`",
        fix: "compare with `hmac.compare_digest(a, b)`",
    };
}

pub(crate) fn check(cx: &mut Checker<'_>, cmp: &ExprCompare, left: &Val, rights: &[Val]) {
    if !cmp.ops.iter().any(|op| matches!(op, CmpOp::Eq | CmpOp::NotEq)) {
        return;
    }
    let digests: Vec<_> = std::iter::once(left)
        .chain(rights)
        .filter_map(|v| v.digest)
        .filter(|d| d.for_security && !super::weak_hash::is_checksum(d))
        .collect();
    if digests.is_empty() {
        return;
    }
    // `digest == None` or a length check is not a comparison of secrets.
    if std::iter::once(left)
        .chain(rights)
        .any(|v| matches!(v.lit, Some(crate::engine::Lit::None | crate::engine::Lit::Int(_))))
    {
        return;
    }
    let keyed = digests.iter().any(|d| d.keyed);
    let severity = if keyed { Severity::Medium } else { Severity::Low };
    let what = if keyed { "an HMAC" } else { "a digest" };
    cx.report_as(
        &RULE,
        severity,
        cmp.range(),
        format!("{what} compared with `==`/`!=`: the time taken reveals how many bytes match"),
    );
}
