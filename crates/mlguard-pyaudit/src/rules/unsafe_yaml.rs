use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports YAML loading that can construct arbitrary Python objects: `yaml.load` with
    /// no `Loader` or with `Loader`/`UnsafeLoader`/`FullLoader`, `yaml.unsafe_load`,
    /// `yaml.full_load`, `yaml.load_all` likewise. `SafeLoader`/`CSafeLoader`/`BaseLoader`
    /// and `yaml.safe_load` are fine.
    ///
    /// ## Why is this bad
    /// `!!python/object/apply:os.system` in a config file runs a command when it is
    /// loaded. ML configs (experiment files, model cards) are shared and downloaded.
    ///
    /// ## Example
    /// ```python
    /// cfg = yaml.load(open("config.yaml"), Loader=yaml.Loader)
    /// ```
    ///
    /// ## Fix
    /// `yaml.safe_load(...)`.
    ///
    /// ## References
    /// CWE-502; bandit B506, ruff S506.
    pub(crate) const RULE: Rule = Rule {
        code: "MLG404",
        name: "unsafe-yaml",
        class: FlawClass::Deserialization,
        severity: Severity::High,
        cwe: 502,
        summary: "YAML loader that constructs arbitrary Python objects",
        fix: "use `yaml.safe_load`",
    };
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] =
    &["load", "load_all", "unsafe_load", "full_load", "unsafe_load_all", "full_load_all"];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    let Some(q) = call.qual.as_deref() else { return };
    if matches!(
        q,
        "yaml.unsafe_load" | "yaml.full_load" | "yaml.unsafe_load_all" | "yaml.full_load_all"
    ) {
        cx.report(&RULE, call.range(), format!("`{q}` can construct any Python object"));
        return;
    }
    if !matches!(q, "yaml.load" | "yaml.load_all") {
        return;
    }
    let loader = call.arg(1, "Loader").and_then(|v| v.qual.clone());
    let safe = loader.as_deref().is_some_and(|l| {
        let leaf = l.rsplit('.').next().unwrap_or(l);
        matches!(leaf, "SafeLoader" | "CSafeLoader" | "BaseLoader" | "CBaseLoader")
    });
    if !safe {
        let with =
            loader.map_or_else(|| "without a `Loader`".to_owned(), |l| format!("with `{l}`"));
        cx.report(&RULE, call.range(), format!("`{q}` {with} can construct any Python object"));
    }
}
