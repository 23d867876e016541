use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;
use crate::rules::fixed_seed::{SEED_KWARGS, SEEDERS};

declare_rule! {
    /// ## What it does
    /// Reports `os.urandom(...)` (or `secrets.token_bytes(...)`) passed as a seed:
    /// `random_state=os.urandom(16)`, `np.random.seed(os.urandom(4))`.
    ///
    /// ## Why is this bad
    /// scikit-learn and NumPy want an integer: bytes make the call raise, so the intent to
    /// use a secure seed fails, and the usual "fix" under pressure is a fixed seed.
    ///
    /// ## Example
    /// ```python
    /// train_test_split(X, y, random_state=os.urandom(16))   # ValueError
    /// ```
    ///
    /// ## Fix
    /// `random_state=secrets.randbits(32)` (an int in range), recorded with the model.
    ///
    /// ## References
    /// CWE-335 (incorrect usage of seeds in PRNG).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG302",
        name: "bytes-seed",
        class: FlawClass::Randomness,
        severity: Severity::Medium,
        cwe: 335,
        summary: "bytes passed as a seed: the call raises",
        fix: "use `secrets.randbits(32)`: an integer seed from a secure source",
    };
}

/// The callee names (last part) this rule looks at: the seed keywords and seeders.
pub(crate) const CALLEES: &[&str] = crate::rules::fixed_seed::CALLEES;

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    for name in SEED_KWARGS {
        if let Some(v) = call.kw(name)
            && is_bytes_source(v.qual.as_deref())
        {
            let range = call.kw_range(name).unwrap_or(call.range());
            cx.report(
                &RULE,
                range,
                format!(
                    "`{name}` gets bytes from `os.urandom`: the call raises (a seed must be an int)"
                ),
            );
            return;
        }
    }
    if crate::rules::fixed_seed::is_seeder_name(call.qual.as_deref())
        && call.is(SEEDERS)
        && call.args.first().is_some_and(|v| is_bytes_source(v.qual.as_deref()))
    {
        cx.report(
            &RULE,
            call.range(),
            "seeded with bytes from `os.urandom`: the call raises (a seed must be an int)"
                .to_owned(),
        );
    }
}

fn is_bytes_source(q: Option<&str>) -> bool {
    // The value of a call keeps its callee's name with `()` appended.
    matches!(q, Some("os.urandom()" | "secrets.token_bytes()"))
}
