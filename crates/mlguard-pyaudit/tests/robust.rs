//! Broken, hostile and unusual input: analysed as far as possible, never a panic, never a
//! clean report for what was not analysed.

use mlguard_pyaudit::{AuditOptions, audit_bytes, audit_notebook, audit_source};
use proptest::prelude::*;

fn codes(src: &str, opts: &AuditOptions) -> Vec<(u64, String)> {
    audit_source("t.py", src, opts)
        .into_iter()
        .map(|f| (f.location.line.unwrap_or(0), f.check))
        .collect()
}

#[test]
fn analysis_continues_after_a_syntax_error() {
    let src = "import pickle\ndef broken(:\n    pass\nx = pickle.loads(blob)\n";
    let got = codes(src, &AuditOptions::default());
    assert!(got.contains(&(2, "MLG001".into())), "{got:?}");
    assert!(got.contains(&(4, "MLG401".into())), "{got:?}");
}

#[test]
fn unterminated_string_and_junk_are_findings() {
    for src in
        ["x = 'abc\nimport pickle\npickle.loads(b)\n", "\u{0}\u{1}}}}}]]]", "def f(\n", "@\n"]
    {
        let got = codes(src, &AuditOptions::default());
        assert!(got.iter().any(|(_, c)| c == "MLG001"), "{src:?}: {got:?}");
    }
}

#[test]
fn invalid_utf8_is_reported_and_the_rest_analysed() {
    let src = b"import pickle\nname = '\xff\xfe'\npickle.loads(b)\n";
    let f = audit_bytes("t.py", src, &AuditOptions::default());
    assert!(f.iter().any(|f| f.check == "MLG001" && f.message.contains("UTF-8")), "{f:?}");
    assert!(f.iter().any(|f| f.check == "MLG401" && f.location.line == Some(3)), "{f:?}");
}

#[test]
fn deep_nesting_is_a_finding_not_a_stack_overflow() {
    let parens =
        format!("import pickle\nx = {}pickle.loads(b){}\n", "(".repeat(50_000), ")".repeat(50_000));
    let chain = format!("x = {}1\n", "1 + ".repeat(200_000));
    let lists = format!("x = {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
    let mut blocks = String::new();
    for depth in 0..3_000 {
        blocks.push_str(&" ".repeat(depth));
        blocks.push_str("if x:\n");
    }
    blocks.push_str(&" ".repeat(3_000));
    blocks.push_str("pass\n");
    let calls = format!("x = {}0{}\n", "f(".repeat(30_000), ")".repeat(30_000));
    // Grouping parentheses add no depth: the call inside is found.
    let got = codes(&parens, &AuditOptions::default());
    assert!(got.contains(&(2, "MLG401".into())), "{got:?}");
    for src in [&chain, &lists, &blocks, &calls] {
        let got = codes(src, &AuditOptions::default());
        assert!(
            got.iter().any(|(_, c)| c == "MLG002" || c == "MLG001"),
            "{}...: {got:?}",
            &src[..40]
        );
    }
}

#[test]
fn suppressions() {
    let src = "import pickle\n\
               a = pickle.loads(b)  # mlguard: ignore[MLG401] reviewed: our own cache\n\
               b = pickle.loads(c)  # mlguard: ignore\n\
               c = pickle.loads(d)  # nosec\n\
               s = '# mlguard: ignore'; d = pickle.loads(e)\n";
    let got = codes(src, &AuditOptions::default());
    assert!(!got.contains(&(2, "MLG401".into())), "{got:?}");
    assert!(got.contains(&(2, "MLG601".into())), "only the named rule: {got:?}");
    assert!(!got.iter().any(|(l, _)| *l == 3), "{got:?}");
    assert!(got.contains(&(4, "MLG401".into())), "nosec needs --honor-nosec: {got:?}");
    assert!(got.contains(&(5, "MLG401".into())), "a string is not a comment: {got:?}");
    let nosec = codes(src, &AuditOptions { honor_nosec: true, ..AuditOptions::default() });
    assert!(!nosec.iter().any(|(l, _)| *l == 4), "{nosec:?}");
    // What did not parse cannot be silenced from inside the file.
    let broken = codes("def f(:  # mlguard: ignore\n", &AuditOptions::default());
    assert!(broken.iter().any(|(_, c)| c == "MLG001"), "{broken:?}");
}

#[test]
fn select_and_ignore() {
    let src = "import pickle, yaml\npickle.loads(b)\nyaml.load(t)\n";
    let only4 = AuditOptions { select: vec!["MLG40".into()], ..AuditOptions::default() };
    let got = codes(src, &only4);
    assert_eq!(got, vec![(2, "MLG401".into()), (3, "MLG404".into())]);
    let ignore = AuditOptions {
        ignore: vec!["pickle-load".into(), "MLG6".into()],
        ..AuditOptions::default()
    };
    assert_eq!(codes(src, &ignore), vec![(3, "MLG404".into())]);
    // --select never hides that part of a file was not analysed.
    let sel = AuditOptions { select: vec!["MLG404".into()], ..AuditOptions::default() };
    assert!(codes("def f(:\n", &sel).iter().any(|(_, c)| c == "MLG001"));
}

#[test]
fn fingerprints_survive_line_moves_and_tell_occurrences_apart() {
    let src = "import pickle\na = pickle.loads(b)\na = pickle.loads(b)\n";
    let moved = format!("\n\n# a comment\n{src}");
    let fp = |s: &str| -> Vec<String> {
        audit_source("t.py", s, &AuditOptions::default())
            .into_iter()
            .filter_map(|f| f.fingerprint)
            .collect()
    };
    let (a, b) = (fp(src), fp(&moved));
    assert_eq!(a, b);
    assert_eq!(a.len(), 4);
    assert_ne!(a[0], a[2], "the two identical lines get different fingerprints");
}

#[test]
fn notebooks_are_scanned_cell_by_cell() {
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "markdown", "source": ["# Title\n"]},
            {"cell_type": "code", "source": ["import pickle\n", "%matplotlib inline\n"]},
            {"cell_type": "code", "source": "x = 1\nmodel = pickle.loads(blob)\n"},
            {"cell_type": "code", "source": ["def broken(:\n"]}
        ],
        "nbformat": 4, "nbformat_minor": 5, "metadata": {}
    });
    let bytes = serde_json::to_vec(&nb).expect("json");
    let f = audit_notebook("nb.ipynb", &bytes, &AuditOptions::default()).expect("notebook");
    let hit = f.iter().find(|f| f.check == "MLG401").expect("pickle.loads in cell 3");
    assert_eq!(hit.location.field.as_deref(), Some("cell 3 of nb.ipynb"));
    assert_eq!(hit.location.line, Some(2));
    let err = f.iter().find(|f| f.check == "MLG001").expect("syntax error in cell 4");
    assert_eq!(err.location.field.as_deref(), Some("cell 4 of nb.ipynb"));
    assert!(audit_notebook("x.ipynb", b"{not json", &AuditOptions::default()).is_err());
    assert!(audit_notebook("x.ipynb", b"{\"cells\": 3}", &AuditOptions::default()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = audit_bytes("t.py", &bytes, &AuditOptions::default());
    }

    #[test]
    fn python_like_text_never_panics(src in "[a-z_()\\[\\]{}:=.,'\"# \n\t+*@0-9]{0,300}") {
        let _ = audit_source("t.py", &src, &AuditOptions::default());
    }
}

/// Functions that name no trigger are not walked; one that reaches a rule only through a
/// module-level name (a digest, an alias, a kwargs dict) still is.
#[test]
fn module_level_names_keep_a_function_analysed() {
    let src = "import hashlib\n\
               from pickle import loads as from_bytes\n\
               EXPECTED = hashlib.md5(b'model').hexdigest()\n\
               KW = {'random_state': 0}\n\
               def check(d):\n    if d != EXPECTED:\n        raise ValueError(d)\n\
               def restore(b):\n    return from_bytes(b)\n\
               def build(cls):\n    return cls(**KW)\n\
               def plain(x):\n    return x + 1\n";
    let got = codes(src, &AuditOptions::default());
    assert!(got.contains(&(6, "MLG604".into())), "{got:?}");
    assert!(got.contains(&(3, "MLG603".into())), "{got:?}");
    assert!(got.contains(&(9, "MLG401".into())), "{got:?}");
    assert!(got.contains(&(11, "MLG301".into())), "{got:?}");
}

#[test]
fn notebook_magics_are_not_parse_errors() {
    // Shell and other cell magics, line magics, shell escapes and help: how real notebooks
    // are written. None is Python to parse; the Python around them is still audited.
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "code", "source": ["%%bash\n", "pip install -r requirements.txt\n", "if [ -f x ]; then echo ok; fi\n"]},
            {"cell_type": "code", "source": ["%cd /data\n", "!wget http://example.org/model.pkl\n", "files = !ls *.csv\n", "import pickle\n"]},
            {"cell_type": "code", "source": ["%%time\n", "model = pickle.load(open('model.pkl', 'rb'))\n"]},
            {"cell_type": "code", "source": ["pickle.load?\n", "??pickle\n", "%%html\n"]},
            {"cell_type": "code", "source": ["%%writefile train.sh\n", "python train.py --lr 0.1 &&\n", "echo done\n"]}
        ],
        "nbformat": 4, "nbformat_minor": 5, "metadata": {}
    });
    let bytes = serde_json::to_vec(&nb).expect("json");
    let f = audit_notebook("nb.ipynb", &bytes, &AuditOptions::default()).expect("notebook");
    assert!(f.iter().all(|f| f.check != "MLG001"), "{f:#?}");
    let hit = f.iter().find(|f| f.check == "MLG401").expect("pickle.load in the %%time cell");
    assert_eq!(hit.location.field.as_deref(), Some("cell 3 of nb.ipynb"));
    assert_eq!(hit.location.line, Some(2));
}

#[test]
fn keras_hdf5_loads_can_run_code() {
    // HDF5 models carry Lambda layers as bytecode that tf.keras runs with no safe mode: an
    // unverified load is the medium finding of a code-running format, a `.keras` file
    // under safe mode the low one of weights.
    let severity = |src: &str| {
        let f = audit_source("m.py", src, &AuditOptions::default());
        f.iter().find(|f| f.check == "MLG601").map(|f| f.severity)
    };
    let h5 = "import tensorflow as tf\nmodel = tf.keras.models.load_model('model.h5')\n";
    let keras = "import keras\nmodel = keras.models.load_model('model.keras')\n";
    assert_eq!(severity(h5), Some(mlguard_findings::Severity::Medium));
    assert_eq!(severity(keras), Some(mlguard_findings::Severity::Low));
}
