use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports `torch.load` without `weights_only=True` — including `weights_only=False`
    /// passed through a constant or a `**kwargs` dict, and calls whose `**kwargs` cannot be
    /// read. Quiet when a signature or digest check of the file comes first.
    ///
    /// ## Why is this bad
    /// Without `weights_only=True`, `torch.load` is `pickle.load`: the checkpoint runs code.
    /// (PyTorch 2.6 changed the default; code pinned to older versions, or passing
    /// `weights_only=False` to silence the new error, is still exposed.)
    ///
    /// ## Example
    /// ```python
    /// state = torch.load("checkpoint.pt")
    /// ```
    ///
    /// ## Fix
    /// `torch.load(path, weights_only=True)`, or safetensors' `load_file`.
    ///
    /// ## References
    /// CWE-502; ruff S614 (pytorch-unsafe-load).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG402",
        name: "torch-load",
        class: FlawClass::Deserialization,
        severity: Severity::High,
        cwe: 502,
        summary: "`torch.load` without `weights_only=True` unpickles the checkpoint",
        fix: "pass `weights_only=True`, or use `safetensors.torch.load_file`",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &["load"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if !call.is(&["torch.load", "torch.serialization.load"]) {
        return;
    }
    let safe = call.kw("weights_only").and_then(|v| v.truthy());
    let message = match safe {
        Some(true) => None,
        Some(false) => {
            Some("`torch.load(..., weights_only=False)` unpickles the checkpoint: it runs code")
        }
        None if call.opaque_kwargs => Some(
            "`torch.load` with `**kwargs` that cannot be read: `weights_only=True` is not certain",
        ),
        None if call.kw("weights_only").is_some() => {
            Some("`torch.load` with a `weights_only` whose value is not known: pass `True`")
        }
        None => {
            Some("`torch.load` without `weights_only=True` unpickles the checkpoint: it runs code")
        }
    };
    if let Some(m) = message
        && !call.verified
    {
        cx.report(&RULE, call.range(), m.to_owned());
    }
    cx.record_load(call, "torch.load", safe != Some(true));
}
