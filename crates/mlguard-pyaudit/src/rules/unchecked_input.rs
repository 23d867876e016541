use mlguard_findings::Severity;
use ruff_text_size::TextRange;

use crate::engine::{Call, Checker, Val};
use crate::rules::{FlawClass, unvalidated_data::SINKS};

declare_rule! {
    /// ## What it does
    /// Follows request data (`request.json`, `request.get_json()`, `request.form`,
    /// `request.args`, parameters of a web route without a pydantic model: Flask, FastAPI,
    /// Django REST, BentoML `@api`, Ray Serve ingress, AWS Lambda `handler(event, context)`,
    /// and `lambda` handlers registered with `add_api_route`/`add_url_rule`), command-line
    /// input (`sys.argv`, `input()`, `parse_args()`, `sys.stdin`) and messages (iterating a
    /// Kafka consumer) to `predict`, `fit` or `partial_fit`, and reports it when nothing
    /// checked it in between (a pydantic model, a schema, a raising check).
    ///
    /// ## Why is this bad
    /// Unchecked input at prediction time crashes the service or yields garbage; at
    /// training time (online learning on labels users send) it lets anyone poison the
    /// model: that case is high severity.
    ///
    /// ## Example
    /// ```python
    /// @app.post("/feedback")
    /// def feedback():
    ///     body = request.get_json()
    ///     model.partial_fit([body["features"]], [body["label"]])
    /// ```
    ///
    /// ## Fix
    /// Parse the input into a pydantic model (types, ranges, lengths) or validate it with a
    /// schema, and keep user labels out of training until reviewed.
    ///
    /// ## References
    /// CWE-20 (improper input validation), CWE-1039; OWASP ML Top 10 ML01, ML02.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG201",
        name: "unchecked-input",
        class: FlawClass::InputValidation,
        severity: Severity::Medium,
        cwe: 20,
        summary: "request, CLI or message data reaches a model unchecked",
        fix: "parse the input into a pydantic model or validate it with a schema first",
    };
}

const REQUEST_ATTRS: &[&str] = &[
    "json",
    "form",
    "args",
    "values",
    "data",
    "files",
    "get_json",
    "body",
    "POST",
    "GET",
    "query_params",
    "get_data",
];

/// `request.json`, `sys.argv`, ...: the line, when the attribute is user input.
pub(crate) fn attribute_source(
    cx: &Checker<'_>,
    base: &Val,
    attr: &str,
    range: TextRange,
) -> Option<u32> {
    let q = base.qual.as_deref().unwrap_or("");
    let is_request = q == "request" || q.ends_with(".request");
    let hit = (is_request && REQUEST_ATTRS.contains(&attr))
        || (q == "sys" && matches!(attr, "argv" | "stdin"));
    hit.then(|| cx.line(range))
}

/// `input()`, `parser.parse_args()`, `consumer.poll()`: the line, when the call is input.
pub(crate) fn call_source(call: &Call<'_>) -> Option<u32> {
    let hit = call.is(&["input", "builtins.input"])
        || matches!(call.method, "parse_args" | "parse_known_args")
        || call.method == "poll"
            && call
                .receiver
                .as_ref()
                .and_then(|r| r.qual.as_deref())
                .is_some_and(|q| q.contains("Consumer"));
    hit.then_some(call.line)
}

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if !SINKS.contains(&call.method) || call.method.starts_with("train_test") {
        return;
    }
    let Some(origin) = call.all_args().filter_map(|a| a.user_input).min() else { return };
    if !cx.first_sink_report(RULE.code, origin) {
        return;
    }
    let trains = matches!(call.method, "fit" | "partial_fit" | "fit_transform" | "train");
    let (severity, why) = if trains {
        (Severity::High, "trains on it: anyone who can send input can poison the model")
    } else {
        (Severity::Medium, "predicts from it")
    };
    cx.report_as(
        &RULE,
        severity,
        call.range(),
        format!(
            "input from line {origin} reaches `{}` unchecked; `{}` {why}",
            call.method, call.method
        ),
    );
}
