//! The rule table: one file per rule, each with its documentation (shown by
//! `mlguard scan code --explain CODE`), its check and its message.

use mlguard_findings::Severity;

use crate::engine::{Call, Checker, Val};

/// The six flaw classes of insecure ML pipelines (and the auditor's own findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FlawClass {
    /// The file could not be analysed completely.
    Analysis,
    /// C1: datasets reach training or prediction without validation.
    DataValidation,
    /// C2: request, CLI or message data reaches a model unchecked.
    InputValidation,
    /// C3: seeds and randomness.
    Randomness,
    /// C4: deserialisation that can run code.
    Deserialization,
    /// C5: models, data and keys stored or handled in the clear.
    StorageAndKeys,
    /// C6: integrity of what is loaded.
    Integrity,
}

impl FlawClass {
    /// A short label, e.g. `C4 unsafe deserialization`.
    pub fn label(self) -> &'static str {
        match self {
            FlawClass::Analysis => "analysis",
            FlawClass::DataValidation => "C1 data validation",
            FlawClass::InputValidation => "C2 input validation",
            FlawClass::Randomness => "C3 randomness",
            FlawClass::Deserialization => "C4 unsafe deserialization",
            FlawClass::StorageAndKeys => "C5 storage and keys",
            FlawClass::Integrity => "C6 integrity",
        }
    }
}

/// A rule's identity and documentation.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable code, e.g. `MLG401`: what `--select`, `--ignore` and suppressions name.
    pub code: &'static str,
    /// Short kebab-case name, e.g. `pickle-load`.
    pub name: &'static str,
    /// Flaw class.
    pub class: FlawClass,
    /// Default severity (a finding may be raised above it, e.g. training on user input).
    pub severity: Severity,
    /// CWE number.
    pub cwe: u32,
    /// One line: what is wrong.
    pub summary: &'static str,
    /// One line: how to fix it (shown under each finding).
    pub fix: &'static str,
    /// The full documentation: what it does, why it is bad, example, fix, references.
    pub doc: &'static str,
}

impl Rule {
    /// The documentation as markdown (the doc comment without its leading spaces).
    pub fn documentation(&self) -> String {
        self.doc.lines().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect::<Vec<_>>().join("\n")
    }
}

/// Declares a rule: the doc comment on the constant is its `--explain` text.
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* pub(crate) const $name:ident: Rule = Rule { $($field:ident: $value:expr,)* };) => {
        $(#[doc = $doc])*
        pub(crate) const $name: $crate::rules::Rule = $crate::rules::Rule {
            $($field: $value,)*
            doc: concat!($($doc, "\n"),*),
        };
    };
}

pub(crate) mod bytes_seed;
pub(crate) mod cleartext_storage;
pub(crate) mod digest_compare;
pub(crate) mod ephemeral_key;
pub(crate) mod fixed_seed;
pub(crate) mod hardcoded_key;
pub(crate) mod hf_unpinned;
pub(crate) mod ineffective_check;
pub(crate) mod insecure_random_secret;
pub(crate) mod insecure_transport;
pub(crate) mod keras_unsafe;
pub(crate) mod numpy_allow_pickle;
pub(crate) mod parse_error;
pub(crate) mod pickle_load;
pub(crate) mod too_deep;
pub(crate) mod torch_hub_unpinned;
pub(crate) mod torch_load;
pub(crate) mod trust_remote_code;
pub(crate) mod unchecked_input;
pub(crate) mod unsafe_yaml;
pub(crate) mod unvalidated_data;
pub(crate) mod unverified_load;
pub(crate) mod verify_after_load;
pub(crate) mod weak_encryption;
pub(crate) mod weak_hash;
pub(crate) mod weak_validation;

/// What a rule does at a call.
pub(crate) type CallRule = fn(&mut Checker<'_>, &Call<'_>);

/// The rules that look at calls, with the callee names each looks at (`*`: every call
/// that has keyword arguments): the engine runs a rule only for its callees.
pub(crate) const CALL_RULES: &[(&[&str], CallRule)] = &[
    (unvalidated_data::SINKS, unvalidated_data::at_call),
    (unvalidated_data::SINKS, unchecked_input::at_call),
    (fixed_seed::CALLEES, fixed_seed::at_call),
    (bytes_seed::CALLEES, bytes_seed::at_call),
    (insecure_random_secret::CALLEES, insecure_random_secret::at_call),
    (pickle_load::CALLEES, pickle_load::at_call),
    (torch_load::CALLEES, torch_load::at_call),
    (numpy_allow_pickle::CALLEES, numpy_allow_pickle::at_call),
    (unsafe_yaml::CALLEES, unsafe_yaml::at_call),
    (keras_unsafe::CALLEES, keras_unsafe::at_call),
    (trust_remote_code::CALLEES, trust_remote_code::at_call),
    (torch_hub_unpinned::CALLEES, torch_hub_unpinned::at_call),
    (cleartext_storage::CALLEES, cleartext_storage::at_call),
    (hardcoded_key::CALLEES, hardcoded_key::at_call),
    (hf_unpinned::CALLEES, hf_unpinned::at_call),
    (weak_hash::CALLEES, weak_hash::at_call),
    (insecure_transport::CALLEES, insecure_transport::at_call),
    (weak_encryption::CALLEES, weak_encryption::at_call),
    (unverified_load::CALLEES, unverified_load::at_call),
];

/// Every rule, in code order.
pub const RULES: &[Rule] = &[
    parse_error::RULE,
    too_deep::RULE,
    unvalidated_data::RULE,
    weak_validation::RULE,
    unchecked_input::RULE,
    fixed_seed::RULE,
    bytes_seed::RULE,
    insecure_random_secret::RULE,
    pickle_load::RULE,
    torch_load::RULE,
    numpy_allow_pickle::RULE,
    unsafe_yaml::RULE,
    keras_unsafe::RULE,
    trust_remote_code::RULE,
    torch_hub_unpinned::RULE,
    cleartext_storage::RULE,
    hardcoded_key::RULE,
    ephemeral_key::RULE,
    insecure_transport::RULE,
    weak_encryption::RULE,
    unverified_load::RULE,
    verify_after_load::RULE,
    weak_hash::RULE,
    digest_compare::RULE,
    hf_unpinned::RULE,
    ineffective_check::RULE,
];

/// `qual` names `name`: exactly, or the same class or function reached through another
/// path of the same top-level package (`cryptography.fernet.Fernet` vs a re-export).
pub(crate) fn same_callable(qual: &str, name: &str) -> bool {
    fn leaf(s: &str) -> &str {
        s.rsplit_once('.').map_or(s, |(_, l)| l)
    }
    fn top(s: &str) -> &str {
        s.split_once('.').map_or(s, |(t, _)| t)
    }
    qual == name || (leaf(qual) == leaf(name) && name.contains('.') && top(qual) == top(name))
}

/// The last dotted part of `name` is `leaf` (`cryptography.fernet.Fernet`, `Fernet`),
/// without searching the string.
pub(crate) fn leaf_is(name: &str, leaf: &str) -> bool {
    name == leaf
        || (name.len() > leaf.len()
            && name.ends_with(leaf)
            && name.as_bytes()[name.len() - leaf.len() - 1] == b'.')
}

/// A parameter of a cryptographic call that must be secret (a key), or unpredictable (a
/// salt, nonce, IV, cookie value): positional `index` (if it has one) or `keyword`.
pub(crate) struct SecretParam {
    /// Qualified callee (`hmac.new`), or a bare method name (`set_cookie`).
    pub(crate) callee: &'static str,
    pub(crate) index: Option<usize>,
    pub(crate) keyword: &'static str,
}

const fn key(callee: &'static str, index: usize) -> SecretParam {
    SecretParam { callee, index: Some(index), keyword: "key" }
}

/// The key parameters: where a literal key (MLG502) or a predictable one (MLG303) goes.
pub(crate) const KEY_PARAMS: &[SecretParam] = &[
    key("hmac.new", 0),
    key("hmac.digest", 0),
    key("cryptography.fernet.Fernet", 0),
    key("cryptography.hazmat.primitives.ciphers.aead.AESGCM", 0),
    key("cryptography.hazmat.primitives.ciphers.aead.ChaCha20Poly1305", 0),
    key("cryptography.hazmat.primitives.ciphers.aead.AESCCM", 0),
    key("cryptography.hazmat.primitives.ciphers.aead.AESSIV", 0),
    key("cryptography.hazmat.primitives.ciphers.algorithms.AES", 0),
    key("jwt.encode", 1),
];

/// The entry of `table` this call is, and the value it passes for that parameter.
pub(crate) fn secret_param<'c>(
    call: &'c Call<'_>,
    table: &'static [SecretParam],
) -> Option<(&'static SecretParam, Option<&'c Val>)> {
    let q = call.qual.as_deref().unwrap_or("");
    let qleaf = q.rsplit_once('.').map_or(q, |(_, l)| l);
    let param = table.iter().find(|p| {
        // Cheap first: the resolved callee's last name must be the entry's.
        (leaf_is(p.callee, qleaf) || leaf_is(p.callee, call.method))
            && (same_callable(q, p.callee) || call.method == p.callee)
    })?;
    let value = match param.index {
        Some(i) => call.arg(i, param.keyword),
        None => call.kw(param.keyword),
    };
    Some((param, value))
}

/// Looks a rule up by code (`MLG401`) or name (`pickle-load`), case-insensitively.
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| {
        r.code.eq_ignore_ascii_case(code_or_name) || r.name.eq_ignore_ascii_case(code_or_name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.name, b.name);
            }
            for section in ["What it does", "Why is this bad", "Example", "Fix", "References"] {
                assert!(a.doc.contains(section), "{} lacks {section}", a.code);
            }
            assert!(a.code < "MLG700" && a.cwe > 0);
        }
    }

    #[test]
    fn key_parameters_are_among_the_callees_their_rules_look_at() {
        for p in KEY_PARAMS {
            let leaf = p.callee.rsplit('.').next().unwrap_or(p.callee);
            assert!(hardcoded_key::CALLEES.contains(&leaf), "{leaf}");
            assert!(insecure_random_secret::CALLEES.contains(&leaf), "{leaf}");
        }
    }
}
