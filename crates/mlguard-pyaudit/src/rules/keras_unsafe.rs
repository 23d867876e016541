use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports Keras loading with safe mode off: `load_model(..., safe_mode=False)` (Keras 3,
    /// `tf.keras`), and `keras.config.enable_unsafe_deserialization()`.
    ///
    /// ## Why is this bad
    /// Safe mode refuses `Lambda` layers that carry Python bytecode; turned off, loading a
    /// `.keras` file runs that code. HDF5 models (`.h5`) carry the same bytecode and
    /// tf.keras (Keras 2) runs it with no safe mode at all: their loads count as loads that
    /// can run code for the integrity rule (MLG601).
    ///
    /// ## Example
    /// ```python
    /// model = keras.models.load_model("model.keras", safe_mode=False)
    /// ```
    ///
    /// ## Fix
    /// Keep `safe_mode=True` (the default); rewrite `Lambda` layers as registered custom
    /// layers; `mlguard scan model` reports Lambda layers in `.keras` files.
    ///
    /// ## References
    /// CWE-502; CVE-2024-3660.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG405",
        name: "keras-unsafe",
        class: FlawClass::Deserialization,
        severity: Severity::High,
        cwe: 502,
        summary: "Keras model loaded with safe mode off: Lambda layers run code",
        fix: "keep `safe_mode=True`; replace Lambda layers with registered custom layers",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &["load_model", "enable_unsafe_deserialization"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let Some(q) = call.qual.as_deref() else { return };
    let keras =
        q.starts_with("keras.") || q.starts_with("tensorflow.keras.") || q.starts_with("tf.keras.");
    if keras && call.method == "enable_unsafe_deserialization" {
        cx.report(
            &RULE,
            call.range(),
            format!("`{q}()` turns off Keras safe mode for every later load"),
        );
        return;
    }
    if keras && call.method == "load_model" {
        if call.kw("safe_mode").and_then(|v| v.truthy()) == Some(false) && !call.verified {
            let range = call.kw_range("safe_mode").unwrap_or(call.range());
            cx.report(
                &RULE,
                range,
                "`load_model(..., safe_mode=False)` runs the code of Lambda layers".to_owned(),
            );
        }
        let unsafe_mode = call.kw("safe_mode").and_then(|v| v.truthy()) == Some(false);
        // An HDF5 model (`.h5`, `.hdf5`) carries Lambda layers as marshalled bytecode, which
        // tf.keras (Keras 2) runs on load with no safe mode to stop it: for the integrity
        // rules it is a load that can run code, like pickle. `.keras` files under safe mode
        // only yield weights and configuration.
        let path = call.arg(0, "filepath").and_then(|v| v.str()).map(str::to_ascii_lowercase);
        let hdf5 = path.as_deref().is_some_and(|p| p.ends_with(".h5") || p.ends_with(".hdf5"));
        cx.record_load(call, q, unsafe_mode || hdf5);
    }
}
