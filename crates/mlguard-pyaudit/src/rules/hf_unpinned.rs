use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports Hugging Face downloads from a hub repository without a pinned revision:
    /// `from_pretrained("org/name")`, `pipeline(model="org/name")`, `hf_hub_download`,
    /// `snapshot_download`, `load_dataset("org/name")`, sentence-transformers'
    /// `SentenceTransformer("org/name")` and `CrossEncoder(...)`, with no `revision=` or with a
    /// branch name. A 40-hex commit hash counts as pinned; local paths are not reported.
    ///
    /// ## Why is this bad
    /// Whoever controls the repository (or its account) can replace the weights or code you
    /// load next time; nothing tells you it changed.
    ///
    /// ## Example
    /// ```python
    /// tok = AutoTokenizer.from_pretrained("bert-base-uncased")
    /// ```
    ///
    /// ## Fix
    /// `from_pretrained("org/name", revision="<commit sha>")`.
    ///
    /// ## References
    /// CWE-494 (download of code without integrity check); ruff/bandit B615.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG605",
        name: "hf-unpinned",
        class: FlawClass::Integrity,
        severity: Severity::Low,
        cwe: 494,
        summary: "Hugging Face download without a pinned revision",
        fix: "pass `revision=\"<commit sha>\"`",
    };
}

/// A `revision=` that is a full commit hash.
pub(crate) fn pinned(call: &Call<'_>) -> bool {
    call.kw("revision")
        .and_then(|v| v.str())
        .is_some_and(|r| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &[
    "from_pretrained",
    "hf_hub_download",
    "snapshot_download",
    "pipeline",
    "load_dataset",
    "SentenceTransformer",
    "CrossEncoder",
];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let q = call.qual.as_deref().unwrap_or("");
    let hub = call.method == "from_pretrained"
        || matches!(call.method, "hf_hub_download" | "snapshot_download")
            && q.starts_with("huggingface_hub")
        || call.method == "pipeline" && q.starts_with("transformers")
        || call.method == "load_dataset" && q.starts_with("datasets")
        || matches!(call.method, "SentenceTransformer" | "CrossEncoder")
            && q.starts_with("sentence_transformers");
    if !hub || pinned(call) {
        return;
    }
    let repo = if call.method == "pipeline" {
        call.kw("model").and_then(|v| v.str())
    } else if q.starts_with("sentence_transformers") {
        call.arg(0, "model_name_or_path").and_then(|v| v.str())
    } else {
        call.arg(0, "repo_id")
            .or_else(|| call.kw("pretrained_model_name_or_path"))
            .or_else(|| call.kw("path"))
            .and_then(|v| v.str())
    };
    let Some(repo) = repo else { return };
    // `load_dataset("csv", data_files=...)`: a builder of the library, not a repository.
    const BUILDERS: &[&str] = &[
        "csv",
        "json",
        "parquet",
        "text",
        "arrow",
        "pandas",
        "imagefolder",
        "audiofolder",
        "videofolder",
        "webdataset",
        "sql",
        "generator",
        "xml",
    ];
    if !is_hub_id(repo) || call.method == "load_dataset" && BUILDERS.contains(&repo) {
        return;
    }
    cx.report(
        &RULE,
        call.range(),
        format!(
            "`{}(\"{repo}\")` without `revision=` loads whatever the repository holds today",
            call.method
        ),
    );
}

/// `org/name` or a bare canonical name, not a local path.
fn is_hub_id(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['.', '/', '~'])
        && !s.contains('\\')
        && s.matches('/').count() <= 1
        && !s.ends_with(".json")
        && !s.ends_with(".csv")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}
