use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Follows a dataset read from a file or database (`pd.read_csv`, `read_parquet`,
    /// `read_json`, `read_sql`, `np.loadtxt`, `np.genfromtxt`, ...) to the point where it is
    /// trained on or predicted from (`fit`, `predict`, `train_test_split`,
    /// `cross_val_score`, ...) and reports it when nothing validated it in between.
    ///
    /// Validation is a schema (`pandera` `schema.validate(df)`, pydantic, Great
    /// Expectations `expect_*`), `jsonschema.validate`, or an explicit check that raises
    /// (`if df[...].isnull().any(): raise ...`, `assert ...`, a local function that raises).
    /// A local function whose only check is weak (MLG102) does not count.
    ///
    /// ## Why is this bad
    /// Training data decides what the model does. Missing values, wrong types, out-of-range
    /// values and injected rows go straight into the model: silently wrong predictions, or
    /// a poisoned model.
    ///
    /// ## Example
    /// ```python
    /// data = pd.read_csv("user_data.csv")
    /// X_train, X_test, y_train, y_test = train_test_split(data.iloc[:, :-1], data.iloc[:, -1])
    /// ```
    ///
    /// ## Fix
    /// Validate against a schema first: `schema.validate(data)` (pandera) or
    /// `mlguard data validate user_data.csv --schema schema.json` before loading.
    ///
    /// ## References
    /// CWE-20 (improper input validation); OWASP ML Top 10 ML02 (data poisoning).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG101",
        name: "unvalidated-data",
        class: FlawClass::DataValidation,
        severity: Severity::Medium,
        cwe: 20,
        summary: "dataset reaches training or prediction without validation",
        fix: "validate the data against a schema (pandera, `mlguard data validate`) before using it",
    };
}

pub(crate) const READERS: &[&str] = &[
    "read_csv",
    "read_parquet",
    "read_json",
    "read_excel",
    "read_sql",
    "read_sql_query",
    "read_sql_table",
    "read_table",
    "read_feather",
    "read_orc",
    "read_hdf",
    "read_fwf",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "load_dataset",
];

/// Method or function names that train on or predict from their arguments.
pub(crate) const SINKS: &[&str] = &[
    "fit",
    "fit_transform",
    "partial_fit",
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "train_test_split",
    "cross_val_score",
    "cross_validate",
    "cross_val_predict",
    "fit_predict",
    "train",
    // `model.score(X, y)` predicts X.
    "score",
];

/// A dataset read: the line, when the call reads one.
pub(crate) fn source(call: &Call<'_>) -> Option<u32> {
    let q = call.qual.as_deref()?;
    let from_lib = ["pandas.", "numpy.", "polars.", "datasets.", "pd.", "np.", "pl."]
        .iter()
        .any(|p| q.starts_with(p));
    (from_lib && READERS.contains(&call.method)).then_some(call.line)
}

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if !SINKS.contains(&call.method) {
        return;
    }
    let Some(origin) = call.all_args().filter_map(|a| a.raw_data).min() else { return };
    if !cx.first_sink_report(RULE.code, origin) {
        return;
    }
    let what = call.method;
    cx.report(
        &RULE,
        call.range(),
        format!("data read at line {origin} reaches `{what}` without validation"),
    );
}
