use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports deserialisation with a pickle-based loader: `pickle`/`cPickle`/`_pickle`
    /// `load`/`loads`/`Unpickler`, `dill`, `cloudpickle`, `joblib.load`, `shelve.open`,
    /// `marshal.load(s)`, `jsonpickle.decode`, `pandas.read_pickle` — however they are
    /// imported or aliased (`import pickle as p`, `from pickle import loads as l`,
    /// `getattr(pickle, "loads")`, `importlib.import_module("pickle")`), and
    /// `getattr(pickle, name)` with a name known only at run time. Quiet when a
    /// digest, HMAC or signature check of the same data verifiably comes first in the same
    /// function, and on `loads` of bytes `dumps` just produced (an in-memory copy).
    ///
    /// ## Why is this bad
    /// Unpickling runs whatever code the file names: a model file from a shared drive, a
    /// bucket or the internet is a remote code execution.
    ///
    /// ## Example
    /// ```python
    /// model = pickle.load(open("model.pkl", "rb"))
    /// ```
    ///
    /// ## Fix
    /// Store weights in a format without code (safetensors, ONNX, `mlguard train` models);
    /// if pickle is unavoidable, verify a signature first (`mlguard verify`, OpenSSF
    /// model signing) and scan the file (`mlguard scan model`).
    ///
    /// ## References
    /// CWE-502 (deserialization of untrusted data); bandit B301, ruff S301.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG401",
        name: "pickle-load",
        class: FlawClass::Deserialization,
        severity: Severity::High,
        cwe: 502,
        summary: "pickle-based deserialisation runs code from the file",
        fix: "load a format without code (safetensors), or verify a signature first and `mlguard scan model` the file",
    };
}

const LOADERS: &[&str] = &[
    "pickle.load",
    "pickle.loads",
    "pickle.Unpickler",
    "_pickle.load",
    "_pickle.loads",
    "_pickle.Unpickler",
    "cPickle.load",
    "cPickle.loads",
    "cPickle.Unpickler",
    "dill.load",
    "dill.loads",
    "dill.Unpickler",
    "cloudpickle.load",
    "cloudpickle.loads",
    "joblib.load",
    "sklearn.externals.joblib.load",
    "shelve.open",
    "marshal.load",
    "marshal.loads",
    "jsonpickle.decode",
    "jsonpickle.loads",
    "pandas.read_pickle",
    "pickle5.load",
    "pickle5.loads",
    "torch.serialization.pickle.load",
];

/// Modules whose loaders run code: `getattr(module, name)` with a name not known before run
/// time may be one of them.
pub(crate) const DESERIALISING_MODULES: &[&str] = &[
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "joblib",
    "shelve",
    "marshal",
    "jsonpickle",
    "pickle5",
];

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] =
    &["load", "loads", "Unpickler", "open", "decode", "read_pickle"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let Some(q) = call.qual.as_deref() else { return };
    let leaf = q.rsplit_once('.').map_or(q, |(_, l)| l);
    if !matches!(leaf, "load" | "loads" | "Unpickler" | "open" | "decode" | "read_pickle") {
        return;
    }
    let hit = LOADERS.contains(&q) || (q.starts_with("pd.") && call.method == "read_pickle");
    if !hit {
        return;
    }
    // `pickle.loads(pickle.dumps(obj))` copies an object in memory: nothing untrusted.
    let own_bytes =
        call.args.first().and_then(|v| v.qual.as_deref()).is_some_and(|a| a.ends_with(".dumps()"));
    if own_bytes {
        return;
    }
    let what = q.to_owned();
    if !call.verified {
        cx.report(
            &RULE,
            call.range(),
            format!("`{what}` runs any code the data names when it is loaded"),
        );
    }
    cx.record_load(call, &what, true);
}
