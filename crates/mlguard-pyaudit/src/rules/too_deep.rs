use mlguard_findings::Severity;

use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports an expression nested deeper than the analysis follows (2,000 levels).
    ///
    /// ## Why is this bad
    /// Nothing inside it was analysed. Real code is never nested this deep; generated or
    /// hostile input can be, to hide a call from a scanner or to crash it.
    ///
    /// ## Example
    /// ```python
    /// x = ((((((((...pickle.loads(data)...))))))))
    /// ```
    ///
    /// ## Fix
    /// Flatten the expression, or review the file by hand.
    ///
    /// ## References
    /// CWE-674 (uncontrolled recursion).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG002",
        name: "too-deep",
        class: FlawClass::Analysis,
        severity: Severity::Medium,
        cwe: 674,
        summary: "expression nested too deep: its inside was not analysed",
        fix: "flatten the expression or review it by hand",
    };
}
