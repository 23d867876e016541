use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports `np.load(..., allow_pickle=True)` (also through constants and `**kwargs`).
    ///
    /// ## Why is this bad
    /// Object arrays in `.npy`/`.npz` files are pickles: allowing them lets the file run
    /// code when it is loaded.
    ///
    /// ## Example
    /// ```python
    /// arrays = np.load("features.npz", allow_pickle=True)
    /// ```
    ///
    /// ## Fix
    /// Save numeric arrays (no object dtype) and load with the default `allow_pickle=False`.
    ///
    /// ## References
    /// CWE-502.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG403",
        name: "numpy-allow-pickle",
        class: FlawClass::Deserialization,
        severity: Severity::High,
        cwe: 502,
        summary: "`np.load(allow_pickle=True)` lets the file run code",
        fix: "keep the default `allow_pickle=False` and store numeric arrays",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &["load"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if !call.is(&["numpy.load", "np.load"]) {
        return;
    }
    if call.kw("allow_pickle").and_then(|v| v.truthy()) == Some(true) {
        if !call.verified {
            let range = call.kw_range("allow_pickle").unwrap_or(call.range());
            cx.report(
                &RULE,
                range,
                "`np.load` with `allow_pickle=True` unpickles object arrays: the file can run code"
                    .to_owned(),
            );
        }
        cx.record_load(call, "numpy.load(allow_pickle=True)", true);
    }
}
