use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports `trust_remote_code=True` in any call (`from_pretrained`, `pipeline`,
    /// `load_dataset`, `AutoModel...`), also through constants and `**kwargs`.
    ///
    /// ## Why is this bad
    /// The repository's Python code is downloaded and executed with the user's rights; it
    /// changes whenever the repository does unless a revision is pinned.
    ///
    /// ## Example
    /// ```python
    /// model = AutoModel.from_pretrained("someone/model", trust_remote_code=True)
    /// ```
    ///
    /// ## Fix
    /// Use architectures built into the library; if remote code is needed, review it and
    /// pin `revision=` to a commit hash.
    ///
    /// ## References
    /// CWE-94 (code injection), CWE-829.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG406",
        name: "trust-remote-code",
        class: FlawClass::Deserialization,
        severity: Severity::High,
        cwe: 94,
        summary: "`trust_remote_code=True` runs code downloaded from the model repository",
        fix: "use built-in architectures, or review the code and pin `revision=` to a commit",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &["*"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if call.kw("trust_remote_code").and_then(|v| v.truthy()) == Some(true) {
        let range = call.kw_range("trust_remote_code").unwrap_or(call.range());
        let pinned = super::hf_unpinned::pinned(call);
        let tail = if pinned { "" } else { ", from an unpinned revision" };
        cx.report(
            &RULE,
            range,
            format!("`{}(trust_remote_code=True)` runs the repository's code{tail}", call.method),
        );
    }
}
