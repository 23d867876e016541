use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports `torch.hub.load("owner/repo", ...)` without a pinned ref (`owner/repo:tag`
    /// or a commit), and any `torch.hub.load` with `trust_repo=True`.
    ///
    /// ## Why is this bad
    /// `torch.hub.load` imports and runs the repository's `hubconf.py`; unpinned, whatever
    /// is on the default branch today runs.
    ///
    /// ## Example
    /// ```python
    /// model = torch.hub.load("ultralytics/yolov5", "yolov5s")
    /// ```
    ///
    /// ## Fix
    /// Pin a reviewed commit: `torch.hub.load("ultralytics/yolov5:<sha>", ...)`, or vendor
    /// the model code.
    ///
    /// ## References
    /// CWE-494 (download of code without integrity check).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG407",
        name: "torch-hub-unpinned",
        class: FlawClass::Deserialization,
        severity: Severity::Medium,
        cwe: 494,
        summary: "`torch.hub.load` runs an unpinned repository's code",
        fix: "pin a reviewed commit (`owner/repo:<sha>`) or vendor the code",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &["load"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if !call.is(&["torch.hub.load"]) {
        return;
    }
    let local = call.kw("source").and_then(|v| v.str()) == Some("local");
    if local {
        return;
    }
    match call.arg(0, "repo_or_dir").and_then(|v| v.str()) {
        Some(repo) if !repo.contains(':') => {
            cx.report(&RULE, call.range(), format!("`torch.hub.load(\"{repo}\")` runs the default branch's hubconf.py: pin a commit"));
        }
        _ if call.kw("trust_repo").and_then(|v| v.truthy()) == Some(true) => {
            cx.report(
                &RULE,
                call.range(),
                "`torch.hub.load(..., trust_repo=True)` runs the repository's code without asking"
                    .to_owned(),
            );
        }
        _ => {}
    }
}
