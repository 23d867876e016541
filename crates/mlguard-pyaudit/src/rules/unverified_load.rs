use mlguard_findings::Severity;

use crate::engine::{Checker, Load};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports a model deserialised (`pickle`, `joblib`, `torch.load`, Keras `load_model`,
    /// `np.load(allow_pickle=True)`, ...) with no digest, HMAC or signature check of the
    /// same file or bytes anywhere in the same function. (A check that comes *after* the
    /// load is MLG602.)
    ///
    /// ## Why is this bad
    /// Nothing ties the file to the model you trained: a swapped or poisoned file is loaded
    /// and served. For pickle-based formats the swap also runs code (MLG401): medium; for
    /// formats that only carry weights (`weights_only=True`, Keras in safe mode): low.
    /// Loading back a file the same function wrote is not reported.
    ///
    /// ## Example
    /// ```python
    /// model = joblib.load("model.joblib")
    /// ```
    ///
    /// ## Fix
    /// Verify before loading: `mlguard verify model.sealed` / `mlguard open`, OpenSSF model
    /// signing, or at least `hmac.compare_digest(sha256(file), expected)` from a trusted
    /// source, then load.
    ///
    /// ## References
    /// CWE-345 (insufficient verification of data authenticity), CWE-494.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG601",
        name: "unverified-load",
        class: FlawClass::Integrity,
        severity: Severity::Medium,
        cwe: 345,
        summary: "model loaded with no prior digest or signature check",
        fix: "verify a signature or digest of the file before loading it (`mlguard verify`)",
    };
}

pub(crate) fn at_scope_end(cx: &mut Checker<'_>, loads: &[Load]) {
    for l in loads {
        if l.verified || l.checked_after.is_some() {
            continue;
        }
        // Tampered weights still change what the model does, but a format that cannot run
        // code is a lesser risk.
        if l.runs_code {
            cx.report(&RULE, l.range, format!("`{}` loads a model nothing verified first", l.what));
        } else {
            cx.report_as(
                &RULE,
                Severity::Low,
                l.range,
                format!("`{}` loads weights nothing verified first (no code runs, but tampered weights change the model)", l.what),
            );
        }
    }
}
