use mlguard_findings::Severity;

use crate::engine::{Call, Checker, Load};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports a model deserialised (`pickle`, `joblib`, `torch.load`, Keras `load_model`,
    /// `np.load(allow_pickle=True)`, TorchScript `torch.jit.load`, `mlflow.*.load_model`,
    /// `skops.io.load`, ONNX `onnx.load` and `onnxruntime.InferenceSession`, safetensors
    /// `load_file`, ...) with no digest, HMAC or signature check of the
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

/// Loaders of other formats, and whether loading runs code: TorchScript is code, MLflow's
/// pyfunc and sklearn flavours unpickle, skops runs what its `trusted` list allows; ONNX
/// and safetensors carry a graph or weights only.
const OTHER_LOADERS: &[(&str, bool)] = &[
    ("torch.jit.load", true),
    ("mlflow.pyfunc.load_model", true),
    ("mlflow.sklearn.load_model", true),
    ("mlflow.pytorch.load_model", true),
    ("mlflow.keras.load_model", true),
    ("mlflow.tensorflow.load_model", true),
    ("skops.io.load", true),
    ("onnx.load", false),
    ("onnx.load_model", false),
    ("onnxruntime.InferenceSession", false),
    ("safetensors.torch.load_file", false),
    ("safetensors.numpy.load_file", false),
    ("safetensors.safe_open", false),
];

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] =
    &["load", "load_model", "InferenceSession", "load_file", "safe_open"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let Some(q) = call.qual.as_deref() else { return };
    if let Some(&(name, runs_code)) = OTHER_LOADERS.iter().find(|(n, _)| *n == q) {
        cx.record_load(call, name, runs_code);
    }
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
