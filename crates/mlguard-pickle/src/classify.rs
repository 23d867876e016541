//! Which imports a model file may legitimately make, judged from reviewed data:
//!
//! - `data/capabilities.tsv` rates callables by what they can do, module by module (every
//!   standard-library module, including the private ones, and the loaders and helpers of
//!   popular packages), each row with its reason: anything that can run code, start
//!   processes, import modules, evaluate strings, touch files or sockets, or deserialise
//!   further is **dangerous**; inert value types are **safe**; a few callables are judged
//!   by their arguments (**wraps**: `functools.partial`) or are imports in disguise
//!   (**resolves**: NumPy's `_ufunc_reconstruct(module, name)`).
//! - `data/allowlist.tsv` lists what real model files of widely used libraries need, as a
//!   census of pickles of their objects finds it (`tests/allowlist.rs` keeps it true).
//! - `data/compat_pickle.tsv` maps Python 2 names as CPython does for protocols 0–2.
//!
//! An exact row beats a module-wide (`*`) row, and the longest module wins among those: so
//! `types *` is dangerous while `types SimpleNamespace` is safe. A dangerous verdict is never
//! overridden by a user's `--allow`. Everything else is unknown: reported for a person to
//! judge.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::OnceLock;

/// How an import is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// On the allowlist, or inert by review.
    Safe,
    /// Neither: reported at medium severity.
    Unknown,
    /// Can run code, reach the system, import by name or deserialise further.
    Dangerous,
}

/// How a call of an import is followed, beyond marking it called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// An ordinary callable.
    Plain,
    /// Judged by what it wraps: its arguments (`functools.partial(f, ...)`), and calling
    /// its result calls them.
    Wraps,
    /// Imports the module and attribute named by its two string arguments
    /// (`numpy.core._ufunc_reconstruct`): the call is that import.
    Resolves,
    /// `getattr(obj, name)`: on an imported class or function, the attribute it reaches is
    /// judged as an import of its own; on anything else it is dangerous.
    Attribute,
}

/// A verdict of the capability table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Safe,
    Dangerous,
    Wraps,
    Resolves,
    Unknown,
}

/// The reviewed tables, parsed once.
struct Rules {
    /// Exact `(module, name)` rows of the capability table.
    exact: HashMap<(String, String), Verdict>,
    /// Module-wide rows (`*`) by module.
    modules: HashMap<String, Verdict>,
    /// The allowlist.
    allow: HashSet<(String, String)>,
    /// Every module the table names, and the top-level package of each: an attribute of
    /// that name is most likely the module itself (`getopt.os` is `os`).
    module_names: HashSet<String>,
    /// Names of exact dangerous rows (`system`, `loads`...): a getter that names one reaches
    /// something dangerous.
    dangerous_names: HashSet<String>,
    /// Python 2 names: exact `(module, name)` renames, then whole-module renames.
    compat_exact: HashMap<(String, String), (String, String)>,
    compat_modules: HashMap<String, String>,
}

const CAPABILITIES: &str = include_str!("../data/capabilities.tsv");
const ALLOWLIST: &str = include_str!("../data/allowlist.tsv");
const COMPAT: &str = include_str!("../data/compat_pickle.tsv");

/// The data lines of a table: comments and blank lines skipped, fields split on tabs.
fn rows(table: &str) -> impl Iterator<Item = Vec<&str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::trim).collect())
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut r = Rules {
            exact: HashMap::new(),
            modules: HashMap::new(),
            allow: HashSet::new(),
            dangerous_names: HashSet::new(),
            module_names: HashSet::new(),
            compat_exact: HashMap::new(),
            compat_modules: HashMap::new(),
        };
        for f in rows(CAPABILITIES) {
            let [module, name, verdict, ..] = f[..] else { continue };
            r.module_names.insert(module.to_owned());
            if let Some((top, _)) = module.split_once('.') {
                r.module_names.insert(top.to_owned());
            }
            let verdict = match verdict {
                "safe" => Verdict::Safe,
                "dangerous" => Verdict::Dangerous,
                "wraps" => Verdict::Wraps,
                "resolves" => Verdict::Resolves,
                _ => Verdict::Unknown,
            };
            if name == "*" {
                r.modules.insert(module.to_owned(), verdict);
            } else {
                if verdict == Verdict::Dangerous {
                    r.dangerous_names.insert(name.to_owned());
                }
                r.exact.insert((module.to_owned(), name.to_owned()), verdict);
            }
        }
        for f in rows(ALLOWLIST) {
            if let [module, name, ..] = f[..] {
                r.allow.insert((module.to_owned(), name.to_owned()));
            }
        }
        for f in rows(COMPAT) {
            if let [old_m, old_n, new_m, new_n] = f[..] {
                if old_n == "*" {
                    r.compat_modules.insert(old_m.to_owned(), new_m.to_owned());
                } else {
                    r.compat_exact.insert(
                        (old_m.to_owned(), old_n.to_owned()),
                        (new_m.to_owned(), new_n.to_owned()),
                    );
                }
            }
        }
        r
    })
}

/// The capability table's verdict on `module.name`, by the lookup rules in the table's
/// header: an exact row wins; otherwise, for a plain name, the `*` row of the longest module
/// prefix. A dotted name (`A.b`, reached through attributes) without an exact row takes the
/// most severe of: dangerous when `(module, A)` is; the lookup of `(module.A, b)`; and the
/// module's `*` row, where safe counts as unknown (so it is safe only through an exact row).
fn verdict(module: &str, name: &str) -> Option<Verdict> {
    let r = rules();
    if let Some(v) = r.exact.get(&(module.to_owned(), name.to_owned())) {
        return Some(*v);
    }
    let Some((first, rest)) = name.split_once('.') else {
        // A dunder (`__builtins__`, `__loader__`) reaches the interpreter.
        if name.starts_with("__") && name.ends_with("__") {
            return Some(Verdict::Dangerous);
        }
        // A module-wide row speaks for what the module defines, not for the modules it
        // imports (`getopt.os` is `os`).
        if r.module_names.contains(name) {
            return Some(most_severe(star(name).unwrap_or(Verdict::Unknown), Verdict::Unknown));
        }
        // Nor for lower-case names: functions and constants, but also module aliases a
        // module keeps (`np`, `_re`) that no table can list. Classes are what safe modules
        // are listed for; anything else a real file needs has an exact row.
        return match star(module) {
            Some(Verdict::Safe | Verdict::Wraps | Verdict::Resolves)
                if !name.starts_with(char::is_uppercase) =>
            {
                Some(Verdict::Unknown)
            }
            v => v,
        };
    };
    if r.exact.get(&(module.to_owned(), first.to_owned())) == Some(&Verdict::Dangerous) {
        return Some(Verdict::Dangerous);
    }
    let mut inner = verdict(&format!("{module}.{first}"), rest).unwrap_or(Verdict::Unknown);
    // An attribute that is a module (`np._pytesttester.os`): what is reached through it is
    // that module's.
    if r.module_names.contains(first)
        && let Some(v) = verdict(first, rest)
    {
        inner = most_severe(inner, v);
    }
    let outer = match star(module) {
        Some(Verdict::Dangerous) => Verdict::Dangerous,
        _ => Verdict::Unknown,
    };
    Some(most_severe(inner, outer))
}

/// The `*` row of the longest prefix of `module`.
fn star(module: &str) -> Option<Verdict> {
    let r = rules();
    let mut m = module;
    loop {
        if let Some(v) = r.modules.get(m) {
            return Some(*v);
        }
        m = m.rsplit_once('.')?.0;
    }
}

/// Severity order of the table: dangerous, unknown, resolves, wraps, safe.
fn most_severe(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v: Verdict| match v {
        Verdict::Dangerous => 4,
        Verdict::Unknown => 3,
        Verdict::Resolves => 2,
        Verdict::Wraps => 1,
        Verdict::Safe => 0,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// Whether the name is exactly a reviewed `(module, name)` of the capability table.
fn exact_row(module: &str, name: &str) -> bool {
    rules().exact.contains_key(&(module.to_owned(), name.to_owned()))
}

/// How calls of `module.name` are followed.
pub fn behavior(module: &str, name: &str) -> Behavior {
    if module == "builtins" && name == "getattr" {
        return Behavior::Attribute;
    }
    match verdict(module, name) {
        Some(Verdict::Wraps) => Behavior::Wraps,
        Some(Verdict::Resolves) => Behavior::Resolves,
        _ => Behavior::Plain,
    }
}

/// Attribute names of module-wide dangerous modules (whose functions have no exact rows):
/// a getter naming one reaches process, code or file access on the module it is given.
const GETTER_DANGER: &[&str] = &[
    "system",
    "popen",
    "spawnl",
    "spawnv",
    "execl",
    "execv",
    "execve",
    "fork",
    "Popen",
    "run",
    "call",
    "check_call",
    "check_output",
    "getoutput",
    "getstatusoutput",
    "exec",
    "eval",
    "compile",
    "open",
    "load",
    "loads",
    "import_module",
    "remove",
    "unlink",
    "rmtree",
    "kill",
    "modules",
    "builtins",
    "globals",
    "locals",
    "f_globals",
    "gi_frame",
    "tb_frame",
];

/// Whether a getter (`operator.attrgetter`/`methodcaller`) made with these names reaches
/// something dangerous: a dunder (`__globals__`, `__builtins__`) or a name the capability
/// table rates dangerous in some module (`system`, `loads`). `itemgetter` only indexes.
pub fn getter_reaches_danger(getter: &str, names: &[Rc<str>]) -> bool {
    let r = rules();
    getter != "itemgetter"
        && names.iter().any(|n| {
            n.split('.').any(|part| {
                part.starts_with("__")
                    || r.dangerous_names.contains(part)
                    || r.module_names.contains(part)
                    || GETTER_DANGER.contains(&part)
                    || ["spawn", "exec", "popen", "system", "fork", "load"]
                        .iter()
                        .any(|p| part.to_ascii_lowercase().starts_with(p))
            })
        })
}

/// The names CPython imports for `module.name` in a pickle of `protocol`: below 3, Python 2
/// names are mapped as `_compat_pickle` does (an exact rename first, then the module's).
pub fn compat_name(module: &str, name: &str, protocol: u8) -> (String, String) {
    if protocol < 3 {
        let r = rules();
        if let Some((m, n)) = r.compat_exact.get(&(module.to_owned(), name.to_owned())) {
            return (m.clone(), n.clone());
        }
        if let Some(m) = r.compat_modules.get(module) {
            return (m.clone(), name.to_owned());
        }
    }
    (module.to_owned(), name.to_owned())
}

/// Whether `module.name` matches a user's `--allow` patterns: an exact dotted name, or
/// `pkg.*` for everything in `pkg` and its submodules.
pub fn allowed(module: &str, name: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix(".*") {
        Some(m) => module == m || module.strip_prefix(m).is_some_and(|rest| rest.starts_with('.')),
        None => p.strip_suffix(name).and_then(|m| m.strip_suffix('.')) == Some(module),
    })
}

/// Judges `module.name` (as CPython imports it, after [`compat_name`]), with the user's
/// `--allow` patterns.
pub fn classify(module: &str, name: &str, extra: &[String]) -> Class {
    // Not a dotted Python identifier: no import of it can succeed (`mport os`, read from
    // Python source as an INST opcode). Reported, but never rated by what a real module
    // of a similar name could do.
    if !dotted_identifier(module) || !dotted_identifier(name) {
        return Class::Unknown;
    }
    // Dunders reached through a dotted name (`OrderedDict.__init__.__globals__`) are the
    // classic way from an inert class to the interpreter.
    if name.split('.').skip(1).any(|p| p.starts_with("__")) {
        return Class::Dangerous;
    }
    let v = verdict(module, name);
    let listed = rules().allow.contains(&(module.to_owned(), name.to_owned()));
    // An exact row of the capability table always wins; a module-wide one loses to an exact
    // allowlist row (the census found a real library needing that very name, and it was
    // reviewed): `pandas *` is dangerous, `pandas DataFrame` is not.
    if exact_row(module, name) {
        return match v {
            Some(Verdict::Dangerous) => Class::Dangerous,
            Some(Verdict::Safe | Verdict::Wraps | Verdict::Resolves) => Class::Safe,
            _ if listed || allowed(module, name, extra) => Class::Safe,
            _ => Class::Unknown,
        };
    }
    if v == Some(Verdict::Dangerous) && !listed {
        return Class::Dangerous;
    }
    if listed || allowed(module, name, extra) {
        return Class::Safe;
    }
    match v {
        Some(Verdict::Safe | Verdict::Wraps) => Class::Safe,
        Some(Verdict::Resolves) => Class::Safe,
        Some(Verdict::Dangerous) => Class::Dangerous,
        _ if sklearn_class(module, name) => Class::Safe,
        _ => Class::Unknown,
    }
}

/// Whether `s` is a dotted Python identifier (`numpy.core`, `ZoneInfo._unpickle`).
pub(crate) fn dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            p.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// scikit-learn estimators and their parts from versions the census did not see: classes
/// (capitalised names) of public scikit-learn modules.
fn sklearn_class(module: &str, name: &str) -> bool {
    module.starts_with("sklearn.")
        && !name.contains('.')
        && name.chars().next().is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(classify("os", "system", &[]), Class::Dangerous);
        assert_eq!(classify("posix", "system", &[]), Class::Dangerous);
        assert_eq!(classify("subprocess", "Popen", &[]), Class::Dangerous);
        assert_eq!(classify("builtins", "eval", &[]), Class::Dangerous);
        assert_eq!(classify("builtins", "set", &[]), Class::Safe);
        assert_eq!(classify("operator", "methodcaller", &[]), Class::Dangerous);
        assert_eq!(classify("importlib.util", "spec_from_file_location", &[]), Class::Dangerous);
        assert_eq!(classify("collections", "OrderedDict", &[]), Class::Safe);
        assert_eq!(classify("fractions", "Fraction", &[]), Class::Safe);
        assert_eq!(classify("types", "SimpleNamespace", &[]), Class::Safe);
        assert_eq!(classify("types", "FunctionType", &[]), Class::Dangerous);
        assert_eq!(classify("torch._utils", "_rebuild_tensor_v2", &[]), Class::Safe);
        assert_eq!(classify("pandas", "read_pickle", &[]), Class::Dangerous);
        assert_eq!(classify("numpy", "load", &[]), Class::Dangerous);
        assert_eq!(classify("joblib", "load", &[]), Class::Dangerous);
        assert_eq!(classify("collections", "OrderedDict.__init__", &[]), Class::Dangerous);
        assert_eq!(
            classify("sklearn.linear_model._logistic", "LogisticRegression", &[]),
            Class::Safe
        );
        assert_eq!(classify("mylib.models", "Net", &[]), Class::Unknown);
        assert_eq!(classify("mylib.models", "Net", &["mylib.models".into()]), Class::Unknown);
        assert_eq!(classify("mylib.models", "Net", &["mylib.*".into()]), Class::Safe);
        assert_eq!(classify("mylib.models", "Net", &["mylib.models.Net".into()]), Class::Safe);
        assert_eq!(classify("mylibx", "Net", &["mylib.*".into()]), Class::Unknown);
        assert_eq!(
            classify("os", "system", &["os.system".into()]),
            Class::Dangerous,
            "--allow never overrides a dangerous verdict"
        );
        assert_eq!(classify("os", "system", &["os.*".into()]), Class::Dangerous);
    }

    #[test]
    fn python2_names_are_mapped_below_protocol_3() {
        assert_eq!(compat_name("__builtin__", "eval", 2), ("builtins".into(), "eval".into()));
        assert_eq!(compat_name("__builtin__", "eval", 3), ("__builtin__".into(), "eval".into()));
        assert_eq!(compat_name("copy_reg", "_reconstructor", 0).0, "copyreg");
        assert_eq!(compat_name("__builtin__", "unicode", 2), ("builtins".into(), "str".into()));
    }

    #[test]
    fn wrappers_and_getters() {
        assert_eq!(behavior("functools", "partial"), Behavior::Wraps);
        assert_eq!(behavior("builtins", "getattr"), Behavior::Attribute);
        let names = |v: &[&str]| v.iter().map(|s| Rc::from(*s)).collect::<Vec<Rc<str>>>();
        assert!(getter_reaches_danger("attrgetter", &names(&["__globals__"])));
        assert!(getter_reaches_danger("attrgetter", &names(&["system"])));
        assert!(!getter_reaches_danger("attrgetter", &names(&["real"])));
        assert!(!getter_reaches_danger("itemgetter", &names(&["system"])));
    }
}
