//! Which imports a model file may legitimately make.
//!
//! An **allowlist** decides: what real model files use (NumPy array reconstruction,
//! `collections.OrderedDict`, PyTorch tensor and storage rebuilding, scikit-learn
//! estimators, harmless builtins) is safe; known code-execution and system-access
//! callables are dangerous; everything else is unknown and reported for a person to judge.

/// How an import is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// On the allowlist.
    Safe,
    /// Not on either list: reported at medium severity.
    Unknown,
    /// Code execution or system access.
    Dangerous,
}

/// Builtins a model file may construct (`builtins` in Python 3, `__builtin__` in Python 2,
/// which also had `unicode` and `long`).
const SAFE_BUILTINS: &[&str] = &[
    "set",
    "frozenset",
    "slice",
    "range",
    "complex",
    "bytearray",
    "dict",
    "list",
    "tuple",
    "int",
    "float",
    "bool",
    "str",
    "bytes",
    "unicode",
    "long",
];

const SAFE: &[(&str, &[&str])] = &[
    ("collections", &["OrderedDict", "defaultdict", "deque", "Counter"]),
    ("numpy", &["ndarray", "dtype", "float64", "float32", "int64", "int32", "bool_", "uint8"]),
    ("numpy.core.multiarray", &["_reconstruct", "scalar"]),
    ("numpy._core.multiarray", &["_reconstruct", "scalar"]),
    ("numpy.core.numeric", &["_frombuffer"]),
    ("numpy._core.numeric", &["_frombuffer"]),
    ("joblib.numpy_pickle", &["NumpyArrayWrapper", "NDArrayWrapper", "ZNDArrayWrapper"]),
    (
        "sklearn.externals.joblib.numpy_pickle",
        &["NumpyArrayWrapper", "NDArrayWrapper", "ZNDArrayWrapper"],
    ),
    ("_codecs", &["encode"]),
    ("copy_reg", &["_reconstructor"]),
    ("copyreg", &["_reconstructor", "__newobj__"]),
    ("datetime", &["datetime", "date", "time", "timedelta", "timezone"]),
    ("decimal", &["Decimal"]),
    ("uuid", &["UUID"]),
    (
        "torch._utils",
        &[
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_tensor_v3",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_sparse_tensor",
            "_rebuild_qtensor",
        ],
    ),
    ("torch._tensor", &["_rebuild_from_type_v2"]),
    ("torch.nn.parameter", &["Parameter"]),
    (
        "torch",
        &[
            "FloatStorage",
            "DoubleStorage",
            "HalfStorage",
            "BFloat16Storage",
            "LongStorage",
            "IntStorage",
            "ShortStorage",
            "CharStorage",
            "ByteStorage",
            "BoolStorage",
            "ComplexFloatStorage",
            "ComplexDoubleStorage",
            // Tensor types, named by legacy (tar) torch.save files and _rebuild_from_type_v2.
            "Tensor",
            "FloatTensor",
            "DoubleTensor",
            "HalfTensor",
            "LongTensor",
            "IntTensor",
            "ShortTensor",
            "CharTensor",
            "ByteTensor",
            "BoolTensor",
            "Size",
            "float32",
            "float64",
            "float16",
            "bfloat16",
            "int64",
            "int32",
            "int16",
            "int8",
            "uint8",
            "bool",
            "device",
        ],
    ),
];

const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "socket",
    "shutil",
    "runpy",
    "pip",
    "importlib",
    "pydoc",
    "webbrowser",
    "ctypes",
    "marshal",
    "types",
    "code",
    "codeop",
    "pty",
    "commands",
    "popen2",
    "multiprocessing",
    "asyncio",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "shelve",
    "io",
    "_io",
    "pathlib",
    "tempfile",
    "logging",
    "urllib",
    "http",
    "ftplib",
    "smtplib",
    "telnetlib",
    "requests",
    "bdb",
    "pdb",
    "timeit",
    "trace",
    "cProfile",
    "profile",
    "imp",
    "zipimport",
    "ensurepip",
    "venv",
    "distutils",
    "setuptools",
    "site",
    "signal",
    "_thread",
    "threading",
    "torch.hub",
    "torch.serialization",
    "numpy.testing",
    "gc",
    "inspect",
    "ast",
];

const DANGEROUS_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "open",
    "input",
    "breakpoint",
    "globals",
    "locals",
    "vars",
    "apply",
    "execfile",
    "file",
    "reload",
    "memoryview",
    "help",
    "exit",
    "quit",
];

const DANGEROUS_NAMES: &[(&str, &[&str])] = &[
    ("operator", &["methodcaller"]),
    ("_operator", &["methodcaller"]),
    ("functools", &["reduce", "partialmethod"]),
    ("_functools", &["reduce"]),
    ("torch.storage", &["_load_from_bytes"]),
    ("numpy", &["load", "loads", "fromfile"]),
];

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
}

/// How calls of `module.name` are followed.
pub fn behavior(module: &str, name: &str) -> Behavior {
    match (module, name) {
        ("functools" | "_functools", "partial")
        | ("operator" | "_operator", "itemgetter" | "attrgetter" | "methodcaller") => {
            Behavior::Wraps
        }
        (
            "numpy.core" | "numpy._core" | "numpy.core._internal" | "numpy._core._internal",
            "_ufunc_reconstruct",
        ) => Behavior::Resolves,
        _ => Behavior::Plain,
    }
}

/// Whether a getter (`operator.attrgetter`/`methodcaller`) made with these names reaches
/// something dangerous: a dunder (`__globals__`, `__builtins__`) or a dangerous name.
pub fn getter_reaches_danger(getter: &str, names: &[std::rc::Rc<str>]) -> bool {
    getter != "itemgetter"
        && names.iter().any(|n| {
            n.split('.').any(|part| {
                part.starts_with("__")
                    || DANGEROUS_BUILTINS.contains(&part)
                    || DANGEROUS_MODULES.contains(&part)
                    || [
                        "system",
                        "popen",
                        "spawn",
                        "execv",
                        "load",
                        "loads",
                        "run",
                        "call",
                        "check_output",
                        "fork",
                    ]
                    .contains(&part)
            })
        })
}

/// The names CPython imports for `module.name` in a pickle of `protocol` (below 3, Python 2
/// names are mapped as `_compat_pickle` does).
pub fn compat_name(module: &str, name: &str, protocol: u8) -> (String, String) {
    if protocol < 3 {
        let m = match module {
            "__builtin__" | "exceptions" => "builtins",
            "copy_reg" => "copyreg",
            other => other,
        };
        return (m.to_owned(), name.to_owned());
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

/// Judges `module.name`, with `extra` user-allowed dotted names (`--allow`).
pub fn classify(module: &str, name: &str, extra: &[String]) -> Class {
    let root = |m: &str| m.split('.').next().unwrap_or(m).to_owned();
    if DANGEROUS_MODULES
        .iter()
        .any(|d| module == *d || module.starts_with(&format!("{d}.")) || root(module) == *d)
    {
        return Class::Dangerous;
    }
    if matches!(module, "builtins" | "__builtin__" | "__builtins__")
        && DANGEROUS_BUILTINS.contains(&name)
    {
        return Class::Dangerous;
    }
    if DANGEROUS_NAMES.iter().any(|(m, names)| *m == module && names.contains(&name)) {
        return Class::Dangerous;
    }
    if allowed(module, name, extra) {
        return Class::Safe;
    }
    if matches!(module, "builtins" | "__builtin__") && SAFE_BUILTINS.contains(&name) {
        return Class::Safe;
    }
    if SAFE.iter().any(|(m, names)| *m == module && names.contains(&name)) {
        return Class::Safe;
    }
    // scikit-learn estimators and their parts: classes (capitalised) of sklearn modules.
    if module.starts_with("sklearn.") && name.chars().next().is_some_and(char::is_uppercase) {
        return Class::Safe;
    }
    Class::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(classify("os", "system", &[]), Class::Dangerous);
        assert_eq!(classify("posix", "system", &[]), Class::Dangerous);
        assert_eq!(classify("subprocess", "Popen", &[]), Class::Dangerous);
        assert_eq!(classify("builtins", "eval", &[]), Class::Dangerous);
        assert_eq!(classify("builtins", "set", &[]), Class::Safe);
        assert_eq!(classify("operator", "methodcaller", &[]), Class::Dangerous);
        assert_eq!(classify("importlib.util", "spec_from_file_location", &[]), Class::Dangerous);
        assert_eq!(classify("collections", "OrderedDict", &[]), Class::Safe);
        assert_eq!(classify("torch._utils", "_rebuild_tensor_v2", &[]), Class::Safe);
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
            "--allow never overrides the denylist"
        );
    }
}
