use mlguard_findings::Severity;

use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports a region of a file that does not parse as Python.
    ///
    /// ## Why is this bad
    /// Code that does not parse was not analysed: a flaw in it would go unseen. (Other
    /// linters report such a file as clean.) The parser recovers, so the rest of the file is
    /// still analysed and its findings are reported too.
    ///
    /// ## Example
    /// ```python
    /// if df.isnull()values.all():   # missing `.`: the condition does not parse
    /// ```
    ///
    /// ## Fix
    /// Fix the syntax error (or exclude the file if it is not Python).
    ///
    /// ## References
    /// CWE-1164 (irrelevant or unanalysable code).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG001",
        name: "parse-error",
        class: FlawClass::Analysis,
        severity: Severity::Medium,
        cwe: 1164,
        summary: "this part of the file does not parse and was not analysed",
        fix: "fix the syntax error; the rest of the file was analysed",
    };
}
