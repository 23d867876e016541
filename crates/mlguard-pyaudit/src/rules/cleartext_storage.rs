use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Observes models and datasets written to disk in the clear: `pickle.dump`,
    /// `joblib.dump`, `torch.save`, `np.save`, Keras `model.save`, and `to_csv`/`to_parquet`
    /// of a frame read from a dataset (a copy of possibly sensitive data). Writing to an
    /// in-memory buffer (`pickle.dumps`) is not reported.
    ///
    /// ## Why is this bad
    /// Anyone who can read the directory gets the model (and what it memorised about the
    /// training data) or a copy of the data; anyone who can write it can swap the model.
    /// An observation (low), since not every artifact is sensitive.
    ///
    /// ## Example
    /// ```python
    /// pickle.dump(model, open("model.sav", "wb"))
    /// ```
    ///
    /// ## Fix
    /// Seal it: `mlguard seal model.sav` (AES-256-GCM + signature), or store it in the
    /// mlguard vault (`mlguard train` does).
    ///
    /// ## References
    /// CWE-312 (cleartext storage of sensitive information), CWE-311.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG501",
        name: "cleartext-storage",
        class: FlawClass::StorageAndKeys,
        severity: Severity::Low,
        cwe: 312,
        summary: "model or data written to disk in the clear",
        fix: "seal it (`mlguard seal FILE`) or keep it in the mlguard vault",
    };
}

const WRITERS: &[&str] = &[
    "pickle.dump",
    "_pickle.dump",
    "cPickle.dump",
    "dill.dump",
    "cloudpickle.dump",
    "joblib.dump",
    "torch.save",
    "numpy.save",
    "numpy.savez",
    "np.save",
    "np.savez",
];

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] =
    &["dump", "save", "savez", "to_csv", "to_parquet", "to_json", "to_pickle"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    // `pickle.dump(obj, io.BytesIO())` stays in memory.
    let in_memory = call
        .arg(1, "file")
        .and_then(|v| v.qual.as_deref())
        .is_some_and(|q| q.ends_with("BytesIO()"));
    if let Some(q) = call.qual.as_deref().filter(|q| WRITERS.contains(q) && !in_memory) {
        cx.report(
            &RULE,
            call.range(),
            format!("`{q}` writes the object to disk unencrypted and unsigned"),
        );
        return;
    }
    let frame_from_dataset =
        call.receiver.as_ref().and_then(|r| r.raw_data.or(r.user_input)).is_some();
    if matches!(call.method, "to_csv" | "to_parquet" | "to_json" | "to_pickle")
        && frame_from_dataset
    {
        cx.report(
            &RULE,
            call.range(),
            format!("`{}` writes a copy of the dataset unencrypted", call.method),
        );
    }
}
