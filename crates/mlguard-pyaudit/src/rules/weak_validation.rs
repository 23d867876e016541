use mlguard_findings::Severity;
use ruff_text_size::TextRange;

use crate::engine::Checker;
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Finds null checks that can only fail when *every* value is missing:
    /// `isnull().all()` (or `isna()`) where `.any()` is meant, and `notnull().any()` where
    /// `.all()` is meant.
    ///
    /// ## Why is this bad
    /// The check looks like validation but lets through a dataset with missing values in
    /// all rows but one; data that reaches training through it counts as unvalidated.
    /// The text of the condition is read, so the rule works even when the line does not
    /// parse.
    ///
    /// ## Example
    /// ```python
    /// if df.isnull().values.all():
    ///     raise ValueError("Dataset contains null values")
    /// ```
    ///
    /// ## Fix
    /// `if df.isnull().values.any(): raise ...`, or a schema (pandera, `mlguard data validate`).
    ///
    /// ## References
    /// CWE-1287 (improper validation of specified type of input), CWE-697.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG102",
        name: "weak-validation",
        class: FlawClass::DataValidation,
        severity: Severity::Medium,
        cwe: 1287,
        summary: "null check that passes unless every value is missing",
        fix: "use `.any()` with isnull()/isna() (or `.all()` with notnull()/notna())",
    };
}

/// Is the condition on this source line a weak null check?
pub(crate) fn is_weak(line: &str) -> bool {
    if !(line.contains("null") || line.contains("isna") || line.contains("notna")) {
        return false;
    }
    let code = line.split('#').next().unwrap_or(line);
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let has = |s: &str| compact.contains(s);
    let null = has("isnull()") || has("isna()");
    let notnull = has("notnull()") || has("notna()");
    (null && has(".all(") && !has(".any(")) || (notnull && has(".any(") && !has(".all("))
}

/// Reports the `if`/`assert` at `range` when its condition is weak; true when it is.
pub(crate) fn check(cx: &mut Checker<'_>, range: TextRange) -> bool {
    let line = cx.line_text(range);
    if !is_weak(line) {
        return false;
    }
    let msg = if line.contains("notn") {
        "`notnull().any()` passes if a single value is present: use `.all()`"
    } else {
        "`isnull().all()` only fails when every value is missing: use `.any()`"
    };
    cx.report(&RULE, range, msg.to_owned());
    true
}

#[cfg(test)]
mod tests {
    use super::is_weak;

    #[test]
    fn weak_and_strong_checks() {
        assert!(is_weak("    if df.isnull()values.all():"));
        assert!(is_weak("assert not df.isna().all().all()"));
        assert!(is_weak("if df.notna().any():"));
        assert!(!is_weak("if df.isnull().values.any():"));
        assert!(!is_weak("assert df.notnull().all().all()"));
        assert!(!is_weak("if x.all():  # isnull() in a comment"));
    }
}
