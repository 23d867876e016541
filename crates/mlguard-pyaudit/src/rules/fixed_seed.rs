use mlguard_findings::Severity;

use crate::engine::{Call, Checker};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports a fixed integer seed: `random_state=46`, `seed=0`, `np.random.seed(42)`,
    /// `random.seed(1)`, `torch.manual_seed(0)`, `tf.random.set_seed(0)`,
    /// `np.random.default_rng(7)` — also through a module constant (`SEED = 42`).
    ///
    /// ## Why is this bad
    /// A seed in the source makes the split and the initialisation known to anyone who
    /// reads the code: an attacker can choose which rows land in the test set, or predict
    /// the model's randomness. Reproducibility is better served by a random seed that is
    /// recorded with the model (`mlguard train --seed-policy secure` does this). A low
    /// severity observation; `--fixed-seeds allow` (or `fixed-seeds = "allow"` in
    /// `[tool.mlguard]`) turns it off for teams that decide otherwise.
    ///
    /// ## Example
    /// ```python
    /// train_test_split(X, y, test_size=0.2, random_state=46)
    /// ```
    ///
    /// ## Fix
    /// Draw the seed with `secrets.randbits(32)` and record it with the model.
    ///
    /// ## References
    /// CWE-337 (predictable seed in PRNG).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG301",
        name: "fixed-seed",
        class: FlawClass::Randomness,
        severity: Severity::Low,
        cwe: 337,
        summary: "fixed seed in the source",
        fix: "draw the seed with `secrets.randbits(32)` and record it with the model",
    };
}

/// Functions whose first argument is a seed.
pub(crate) const SEEDERS: &[&str] = &[
    "numpy.random.seed",
    "numpy.random.default_rng",
    "numpy.random.RandomState",
    "numpy.random.Generator",
    "random.seed",
    "random.Random",
    "torch.manual_seed",
    "torch.cuda.manual_seed",
    "torch.cuda.manual_seed_all",
    "tensorflow.random.set_seed",
    "tf.random.set_seed",
    "np.random.seed",
    "np.random.default_rng",
    "np.random.RandomState",
    "keras.utils.set_random_seed",
    "transformers.set_seed",
    "set_seed",
    "lightning.seed_everything",
    "lightning.pytorch.seed_everything",
    "pytorch_lightning.seed_everything",
    "lightning_fabric.utilities.seed.seed_everything",
];

/// Keyword arguments that are seeds.
pub(crate) const SEED_KWARGS: &[&str] = &["random_state", "seed", "random_seed"];

/// A cheap filter before the list: the last name of every seeder (its [`CALLEES`]).
pub(crate) fn is_seeder_name(qual: Option<&str>) -> bool {
    let Some(q) = qual else { return false };
    let leaf = q.rsplit_once('.').map_or(q, |(_, l)| l);
    CALLEES.iter().any(|c| *c != "*" && *c == leaf)
}

/// The callee names (last part) this rule looks at; `*`: every call with keywords.
pub(crate) const CALLEES: &[&str] = &[
    "*",
    "seed",
    "default_rng",
    "RandomState",
    "Generator",
    "Random",
    "manual_seed",
    "manual_seed_all",
    "set_seed",
    "set_random_seed",
    "seed_everything",
];

pub(crate) fn at_call(cx: &mut Checker<'_>, call: &Call<'_>) {
    if !cx.report_fixed_seeds {
        return;
    }
    for name in SEED_KWARGS {
        if let Some(v) = call.kw(name).and_then(|v| v.int()) {
            let range = call.kw_range(name).unwrap_or(call.range());
            cx.report(&RULE, range, format!("`{name}={v}` fixes the seed in the source"));
            return;
        }
    }
    if is_seeder_name(call.qual.as_deref())
        && call.is(SEEDERS)
        && let Some(v) = call.args.first().and_then(|v| v.int())
    {
        let what = call.qual.as_deref().unwrap_or("seed");
        cx.report(&RULE, call.range(), format!("`{what}({v})` fixes the seed in the source"));
    }
}
