//! Each technique of hiding code in a pickle, built opcode by opcode (no Python needed),
//! and benign model-like pickles that must stay quiet.

use mlguard_findings::Severity;
use mlguard_pickle::{ScanOptions, scan_bytes};

/// Writes pickle opcodes.
#[derive(Default)]
struct P(Vec<u8>);

impl P {
    fn proto(mut self, v: u8) -> Self {
        self.0.extend([0x80, v]);
        self
    }
    fn global(mut self, m: &str, n: &str) -> Self {
        self.0.push(b'c');
        self.0.extend(format!("{m}\n{n}\n").bytes());
        self
    }
    fn inst(mut self, m: &str, n: &str) -> Self {
        self.0.push(b'i');
        self.0.extend(format!("{m}\n{n}\n").bytes());
        self
    }
    fn s(mut self, v: &str) -> Self {
        self.0.push(0x8c);
        self.0.push(v.len() as u8);
        self.0.extend(v.bytes());
        self
    }
    fn bytes(mut self, v: &[u8]) -> Self {
        self.0.push(b'C');
        self.0.push(v.len() as u8);
        self.0.extend(v);
        self
    }
    fn op(mut self, o: &[u8]) -> Self {
        self.0.extend(o);
        self
    }
    fn stop(self) -> Vec<u8> {
        let mut v = self.0;
        v.push(b'.');
        v
    }
}

const MARK: &[u8] = b"(";
const TUPLE: &[u8] = b"t";
const REDUCE: &[u8] = b"R";
const MEMOIZE: &[u8] = &[0x94];
const STACK_GLOBAL: &[u8] = &[0x93];

fn worst(data: &[u8]) -> Option<(Severity, String)> {
    scan_bytes("t.pkl", data, &ScanOptions::default())
        .into_iter()
        .max_by_key(|f| f.severity)
        .map(|f| (f.severity, f.value.unwrap_or(f.check)))
}

fn call(m: &str, n: &str, arg: &str) -> Vec<u8> {
    P::default().proto(2).global(m, n).op(MARK).s(arg).op(TUPLE).op(REDUCE).stop()
}

#[test]
fn dangerous_calls_via_reduce() {
    for (m, n) in [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("subprocess", "check_output"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("__builtin__", "eval"),
        ("runpy", "_run_code"),
        ("pip", "main"),
        ("webbrowser", "open"),
        ("importlib", "import_module"),
        ("pydoc", "locate"),
        ("socket", "create_connection"),
        ("shutil", "rmtree"),
        ("ctypes", "CDLL"),
    ] {
        // Protocol 2 pickles name Python 2 modules; CPython imports the Python 3 ones.
        let target = if m == "__builtin__" { "builtins" } else { m };
        assert_eq!(
            worst(&call(m, n, "x")),
            Some((Severity::Critical, format!("{target}.{n}"))),
            "{m}.{n}"
        );
    }
}

#[test]
fn getattr_chain() {
    // builtins.getattr(builtins.__import__('os'), 'system')('id')
    let p = P::default()
        .proto(2)
        .global("builtins", "getattr")
        .op(MARK)
        .global("builtins", "__import__")
        .op(MARK)
        .s("os")
        .op(TUPLE)
        .op(REDUCE)
        .s("system")
        .op(TUPLE)
        .op(REDUCE)
        .op(MARK)
        .s("id")
        .op(TUPLE)
        .op(REDUCE)
        .stop();
    let f = scan_bytes("t.pkl", &p, &ScanOptions::default());
    let calls: Vec<String> = f
        .iter()
        .filter(|f| f.check == "model.pickle.dangerous-call")
        .filter_map(|f| f.value.clone())
        .collect();
    assert_eq!(calls, vec!["builtins.getattr", "builtins.__import__"]);
}

#[test]
fn stack_global_from_memoised_strings() {
    // Module and name memoised, fetched back with BINGET, then STACK_GLOBAL.
    let p = P::default()
        .proto(4)
        .s("os")
        .op(MEMOIZE)
        .op(b"0")
        .s("system")
        .op(MEMOIZE)
        .op(b"0")
        .op(&[b'h', 0])
        .op(&[b'h', 1])
        .op(STACK_GLOBAL)
        .op(MARK)
        .s("id")
        .op(TUPLE)
        .op(REDUCE)
        .stop();
    assert_eq!(worst(&p), Some((Severity::Critical, "os.system".into())));
    // DUP'ed strings work too.
    let p = P::default()
        .proto(4)
        .s("subprocess")
        .s("getoutput")
        .op(STACK_GLOBAL)
        .op(MARK)
        .s("id")
        .op(TUPLE)
        .op(REDUCE)
        .stop();
    assert_eq!(worst(&p), Some((Severity::Critical, "subprocess.getoutput".into())));
}

#[test]
fn inst_and_obj() {
    let p = P::default().op(MARK).s("id").inst("os", "system").stop();
    assert_eq!(worst(&p), Some((Severity::Critical, "os.system".into())));
    let p = P::default().proto(2).op(MARK).global("subprocess", "Popen").s("id").op(b"o").stop();
    assert_eq!(worst(&p), Some((Severity::Critical, "subprocess.Popen".into())));
}

#[test]
fn imported_but_not_called_is_still_reported() {
    // As picklescan's broken_model.pkl: GLOBAL builtins.exec, then garbage.
    let mut p = P::default().proto(2).global("builtins", "exec").0;
    p.extend(b"\xff\xfe");
    let f = scan_bytes("t.pkl", &p, &ScanOptions::default());
    assert!(
        f.iter()
            .any(|f| f.check == "model.pickle.dangerous-import" && f.severity == Severity::High)
    );
    assert!(
        f.iter().any(|f| f.check == "model.pickle.unknown-opcode"),
        "the unreadable rest is a finding too"
    );
}

#[test]
fn nested_junk_and_concatenated() {
    let inner = call("os", "system", "id");
    let p = P::default().proto(3).bytes(&inner).stop();
    let f = scan_bytes("t.pkl", &p, &ScanOptions::default());
    // Bytes held by the pickle that are a pickle themselves are scanned as a file of their
    // own, named by where they are.
    assert!(
        f.iter().any(|f| f.check == "model.pickle.dangerous-call"
            && f.location.file.as_deref().is_some_and(|n| n.starts_with("t.pkl@"))),
        "{f:?}"
    );

    let mut junk = P::default().proto(2).op(b"N").stop();
    junk.extend(b"\x00\x01\x02garbage");
    let f = scan_bytes("t.pkl", &junk, &ScanOptions::default());
    assert!(f.iter().any(|f| f.check == "model.pickle.junk-after-stop"), "{f:?}");

    let mut two = P::default().proto(2).op(b"N").stop();
    two.extend(call("os", "system", "id"));
    let f = scan_bytes("t.pkl", &two, &ScanOptions::default());
    assert!(
        f.iter().any(|f| f.check == "model.pickle.dangerous-call"),
        "the second pickle is scanned: {f:?}"
    );
    assert!(f.iter().any(|f| f.check == "model.pickle.concatenated"));

    let truncated = &call("os", "system", "id")[..10];
    let f = scan_bytes("t.pkl", truncated, &ScanOptions::default());
    assert!(f.iter().any(|f| f.check == "model.pickle.truncated"), "{f:?}");
}

#[test]
fn benign_model_pickles_are_quiet() {
    // A PyTorch-style state dict: OrderedDict of tensors rebuilt by torch._utils.
    let state = P::default()
        .proto(2)
        .global("collections", "OrderedDict")
        .op(b")")
        .op(REDUCE)
        .s("weight")
        .global("torch._utils", "_rebuild_tensor_v2")
        .op(MARK)
        .op(MARK)
        .s("storage")
        .global("torch", "FloatStorage")
        .s("0")
        .s("cpu")
        .op(&[b'K', 4])
        .op(TUPLE)
        .op(b"Q")
        .op(&[b'K', 0])
        .op(&[b'K', 4, 0x85])
        .op(&[b'K', 1, 0x85])
        .op(&[0x89])
        .global("collections", "OrderedDict")
        .op(b")")
        .op(REDUCE)
        .op(TUPLE)
        .op(REDUCE)
        .op(b"s")
        .stop();
    // As PyTorch writes it: `archive/data.pkl` in a zip with the storages beside it. The
    // same pickle as a file of its own needs a persistent_load no plain loader has.
    let checkpoint = zip(&[
        ("archive/data.pkl", &state),
        ("archive/data/0", &[0u8; 16]),
        ("archive/version", b"3\n"),
    ]);
    let f = scan_bytes("m.pt", &checkpoint, &ScanOptions::default());
    assert!(f.iter().all(|f| f.severity < Severity::Medium), "state dict: {f:?}");
    assert_eq!(worst(&state).map(|w| w.1), Some("model.pickle.persistent-id".to_owned()));
    // A NumPy array via numpy.core.multiarray._reconstruct, and a scikit-learn estimator.
    let np = P::default()
        .proto(2)
        .global("numpy.core.multiarray", "_reconstruct")
        .op(MARK)
        .global("numpy", "ndarray")
        .op(&[b'K', 0, 0x85])
        .s("b")
        .op(TUPLE)
        .op(REDUCE)
        .op(MARK)
        .op(&[b'K', 1])
        .global("numpy", "dtype")
        .op(MARK)
        .s("f8")
        .op(TUPLE)
        .op(REDUCE)
        .op(TUPLE)
        .op(b"b")
        .stop();
    assert_eq!(worst(&np), None, "numpy array");
    let sk = P::default()
        .proto(4)
        .global("sklearn.linear_model._logistic", "LogisticRegression")
        .op(b")")
        .op(&[0x81])
        .op(b"}")
        .op(b"b")
        .stop();
    assert_eq!(worst(&sk), None, "scikit-learn estimator");
    let plain = P::default().proto(4).op(b"}").s("a").op(&[b'K', 1]).op(b"s").stop();
    assert_eq!(worst(&plain), None, "plain dict");
    // Unknown classes are a medium finding, and --allow clears them.
    let custom = P::default().proto(2).global("mylib.nets", "Net").op(b")").op(REDUCE).stop();
    assert_eq!(worst(&custom).map(|w| w.0), Some(Severity::Medium));
    let f = scan_bytes(
        "t.pkl",
        &custom,
        &ScanOptions { allow: vec!["mylib.nets.Net".into()], ..ScanOptions::default() },
    );
    assert!(f.is_empty());
}

#[test]
fn big_opcode_streams_use_constant_memory() {
    // A list of 2 million floats appended in batches, as pickle writes it.
    let mut p = P::default().proto(4).op(b"]").0;
    for _ in 0..2000 {
        p.push(b'(');
        for _ in 0..1000 {
            p.push(b'G');
            p.extend(1.5f64.to_be_bytes());
        }
        p.push(b'e');
    }
    p.push(b'.');
    let a = mlguard_pickle::analyze(&p, &[]);
    assert!(a.complete);
    assert_eq!(a.opcodes, 2 + 2000 * 1002 + 1);
}

/// The first pickle of a legacy `torch.save` file.
const LEGACY_MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e";

#[test]
fn legacy_torch_layout_needs_all_five_pickles() {
    // Found by fuzzing: the legacy magic followed by junk must not pass as a legacy file.
    let mut p = LEGACY_MAGIC.to_vec();
    p.push(0x02);
    let f = scan_bytes("t.pt", &p, &ScanOptions::default());
    assert!(f.iter().any(|f| f.severity >= Severity::Medium), "{f:?}");
    // Also found by fuzzing: the magic, empty pickles and junk, without torch's protocol
    // version as the second pickle, is not the legacy layout either.
    let mut p = LEGACY_MAGIC.to_vec();
    p.extend(b"......U\x14.\xa8");
    assert_eq!(worst(&p).map(|w| w.0), Some(Severity::Medium));
    // The real layout: magic, 1001, sys_info, the object, the storage keys, raw storages.
    let mut p = LEGACY_MAGIC.to_vec();
    p.extend(b"\x80\x02M\xe9\x03.\x80\x02}.\x80\x02}.\x80\x02].");
    p.extend(2u64.to_le_bytes());
    p.extend([0xffu8; 8]);
    assert_eq!(worst(&p), None);
}

/// A zip archive with stored (uncompressed) members.
fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    mlguard_testkit::stored_zip(members)
}

#[test]
fn pytorch_zips_nested_zips_and_numpy_object_arrays() {
    let evil = call("os", "system", "id");
    let benign =
        P::default().proto(2).global("collections", "OrderedDict").op(b")").op(REDUCE).stop();
    let checks = |data: &[u8]| -> Vec<(String, Severity)> {
        scan_bytes("m.pt", data, &ScanOptions::default())
            .into_iter()
            .map(|f| (f.location.file.unwrap_or_default(), f.severity))
            .collect()
    };
    let clean = zip(&[
        ("archive/data.pkl", &benign),
        ("archive/data/0", b"\x00\x00\x80\x3f"),
        ("archive/version", b"3\n"),
    ]);
    assert!(checks(&clean).iter().all(|(_, s)| *s < Severity::Medium), "{:?}", checks(&clean));
    let bad = zip(&[("archive/data.pkl", &evil)]);
    assert!(checks(&bad).contains(&("m.pt:archive/data.pkl".to_owned(), Severity::Critical)));
    // A pickle under another member name, and a zip inside a zip.
    let renamed = zip(&[("archive/readme.txt", &evil)]);
    assert!(checks(&renamed).iter().any(|(_, s)| *s == Severity::Critical));
    let nested = zip(&[("inner.zip", &bad)]);
    assert!(
        checks(&nested)
            .contains(&("m.pt:inner.zip:archive/data.pkl".to_owned(), Severity::Critical))
    );
    // NumPy: an object array carries a pickle; a numeric one does not.
    let npy = |descr: &str, body: &[u8]| {
        let header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend((header.len() as u16 + 1).to_le_bytes());
        v.extend(header.bytes());
        v.push(b'\n');
        v.extend(body);
        v
    };
    assert!(checks(&npy("|O", &evil)).iter().any(|(_, s)| *s == Severity::Critical));
    assert!(checks(&npy("<f8", &[0; 8])).is_empty());
    // A .npz is a zip of .npy files.
    let npz = zip(&[("arr_0.npy", &npy("|O", &evil))]);
    assert!(checks(&npz).iter().any(|(_, s)| *s == Severity::Critical));
}

#[test]
fn damaged_central_directory_does_not_panic() {
    // Found by fuzzing: an end record whose central-directory offset is cut off.
    let data = b"%\n\x80\x00\x00PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00";
    let mut file = b"PK\x03\x04".to_vec();
    file.extend_from_slice(data);
    let f = scan_bytes("z.zip", &file, &ScanOptions::default());
    assert!(f.iter().any(|f| f.check == "model.archive.malformed"), "{f:?}");
}

#[test]
fn keras_lambda_layers_and_custom_objects() {
    let config = br#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense"}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": {"class_name": "__lambda__"}}},
        {"module": "mylayers", "class_name": "Fancy", "config": {"name": "fancy"}}
    ]}}"#;
    let keras =
        zip(&[("config.json", config), ("metadata.json", b"{}"), ("model.weights.h5", b"\x89HDF")]);
    let f = scan_bytes("m.keras", &keras, &ScanOptions::default());
    assert!(
        f.iter().any(|f| f.check == "model.keras.lambda" && f.severity == Severity::High),
        "{f:?}"
    );
    assert!(
        f.iter().any(|f| f.check == "model.keras.custom-object"
            && f.value.as_deref() == Some("mylayers.Fancy")),
        "{f:?}"
    );
    let allowed = scan_bytes(
        "m.keras",
        &keras,
        &ScanOptions { allow: vec!["mylayers.*".into()], ..ScanOptions::default() },
    );
    assert!(!allowed.iter().any(|f| f.check == "model.keras.custom-object"));
    let plain = br#"{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"module": "keras.layers", "class_name": "Dense"}]}}"#;
    let f = scan_bytes("m.keras", &zip(&[("config.json", plain)]), &ScanOptions::default());
    assert!(f.iter().all(|f| f.severity < Severity::Medium), "{f:?}");
}

#[test]
fn safetensors_are_validated_strictly() {
    let header = br#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
    let file = |h: &[u8], data: &[u8]| {
        let mut v = (h.len() as u64).to_le_bytes().to_vec();
        v.extend(h);
        v.extend(data);
        v
    };
    let good = scan_bytes("m.safetensors", &file(header, &[0; 8]), &ScanOptions::default());
    assert!(
        good.iter().all(|f| f.severity == Severity::Info)
            && good[0].check == "model.safetensors.ok",
        "{good:?}"
    );
    let trailing = scan_bytes("m.safetensors", &file(header, &[0; 9]), &ScanOptions::default());
    assert!(
        trailing
            .iter()
            .any(|f| f.check == "model.safetensors.invalid" && f.severity == Severity::Medium),
        "{trailing:?}"
    );
    let dup = br#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#;
    let dup = scan_bytes("m.safetensors", &file(dup, &[0; 8]), &ScanOptions::default());
    assert!(
        dup.iter()
            .any(|f| f.check == "model.safetensors.invalid" && f.message.contains("duplicate")),
        "{dup:?}"
    );
}

/// A joblib-style pickle: a list holding one `NumpyArrayWrapper` whose `BUILD` is followed
/// by the array (alignment byte, padding, raw bytes), then `tail` opcodes and `STOP`.
fn joblib(dtype: &str, shape: &[u8], raw: &[u8], aligned: bool, tail: &[u8]) -> Vec<u8> {
    let mut p = P::default()
        .proto(4)
        .op(b"]")
        .op(MEMOIZE)
        .global("joblib.numpy_pickle", "NumpyArrayWrapper")
        .op(b")")
        .op(&[0x81])
        .op(MEMOIZE)
        .op(b"}")
        .op(MEMOIZE)
        .op(MARK)
        .s("subclass")
        .global("numpy", "ndarray")
        .s("shape")
        .op(MARK);
    for d in shape {
        p = p.op(&[b'K', *d]);
    }
    p = p
        .op(TUPLE)
        .s("order")
        .s("C")
        .s("dtype")
        .global("numpy", "dtype")
        .s(dtype)
        .op(&[0x89, 0x88, 0x87])
        .op(REDUCE)
        .op(MEMOIZE)
        .op(MARK)
        .op(&[b'K', 3])
        .s("<")
        .op(b"NNN")
        .op(b"J")
        .op(&(-1i32).to_le_bytes())
        .op(b"J")
        .op(&(-1i32).to_le_bytes())
        .op(&[b'K', 0])
        .op(TUPLE)
        .op(b"b")
        .s("allow_mmap")
        .op(&[0x88])
        .s("numpy_array_alignment_bytes");
    p = if aligned { p.op(&[b'K', 16]) } else { p.op(b"N") };
    let mut v = p.op(b"u").op(b"b").0;
    if aligned && !dtype.starts_with('O') {
        // Object arrays are pickled right after the wrapper, without padding.
        let pad = 16 - (v.len() + 1) % 16;
        v.push(pad as u8);
        v.extend(std::iter::repeat_n(0xff, pad));
    }
    v.extend(raw);
    v.extend(b"a");
    v.extend(tail);
    v.push(b'.');
    v
}

#[test]
fn joblib_arrays_are_skipped_exactly() {
    // 3 x 2 float64 full of bytes that are not pickle opcodes.
    let raw = [0xffu8; 48];
    let plain = joblib("f8", &[3, 2], &raw, true, b"");
    let a = mlguard_pickle::analyze(&plain, &[]);
    assert!(a.complete && a.issues.is_empty(), "{a:?}");
    assert_eq!(worst(&plain), None);
    assert_eq!(worst(&joblib("<i4", &[3, 4], &raw, false, b"")), None, "unaligned, old joblib");
    assert_eq!(worst(&joblib("U3", &[2, 2], &raw, true, b"")), None, "unicode: 4 bytes a char");
    // What follows the array is still analysed.
    let tail = P::default().global("os", "system").s("id").op(&[0x85]).op(REDUCE).op(b"a").0;
    let evil = joblib("f8", &[6], &raw, true, &tail);
    assert_eq!(worst(&evil), Some((Severity::Critical, "os.system".into())));
    // A shape that does not match the bytes is never clean.
    let short = joblib("f8", &[7], &raw, true, b"");
    assert_eq!(worst(&short).map(|w| w.0), Some(Severity::Medium));
    // An object array carries a whole pickle, which joblib loads (and runs) too.
    let nested =
        P::default().proto(2).global("builtins", "eval").s("1").op(&[0x85]).op(REDUCE).stop();
    let obj = joblib("O8", &[1], &nested, true, b"");
    assert_eq!(worst(&obj), Some((Severity::Critical, "builtins.eval".into())));
    let benign = P::default().proto(2).op(b"]").stop();
    assert_eq!(worst(&joblib("O8", &[1], &benign, true, b"")), None);
}

fn compress_all(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).expect("zlib");
    let zlib = z.finish().expect("zlib");
    let mut zfile = format!("ZF{:<19}", format!("0x{:x}", data.len())).into_bytes();
    zfile.extend(&zlib);
    let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    g.write_all(data).expect("gzip");
    let mut b = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    b.write_all(data).expect("bz2");
    let (mut xz, mut lzma) = (Vec::new(), Vec::new());
    lzma_rs::xz_compress(&mut std::io::BufReader::new(data), &mut xz).expect("xz");
    lzma_rs::lzma_compress(&mut std::io::BufReader::new(data), &mut lzma).expect("lzma");
    let mut l = lz4_flex::frame::FrameEncoder::new(Vec::new());
    l.write_all(data).expect("lz4");
    vec![
        ("zlib", zlib),
        ("zfile", zfile),
        ("gzip", g.finish().expect("gzip")),
        ("bz2", b.finish().expect("bz2")),
        ("xz", xz),
        ("lzma", lzma),
        ("lz4", l.finish().expect("lz4")),
    ]
}

#[test]
fn compressed_joblib_files_are_opened() {
    let tail = P::default().global("posix", "system").s("id").op(&[0x85]).op(REDUCE).op(b"a").0;
    let raw = [0xffu8; 48];
    for (codec, evil) in compress_all(&joblib("f8", &[6], &raw, true, &tail)) {
        assert_eq!(detect_codec(&evil), Some(codec), "{codec}");
        let f = scan_bytes("m.joblib", &evil, &ScanOptions::default());
        let worst = f.iter().max_by_key(|f| f.severity).expect("a finding");
        assert_eq!(worst.severity, Severity::Critical, "{codec}: {f:?}");
        assert_eq!(worst.location.file.as_deref(), Some(&*format!("m.joblib:{codec}")));
    }
    for (codec, benign) in compress_all(&joblib("f8", &[6], &raw, true, b"")) {
        assert_eq!(worst(&benign), None, "{codec}");
        // Cut short, the stream is not clean.
        let cut = &benign[..benign.len() * 2 / 3];
        assert_eq!(worst(cut).map(|w| w.0), Some(Severity::Medium), "{codec} truncated");
    }
}

fn detect_codec(data: &[u8]) -> Option<&'static str> {
    match mlguard_pickle::detect(data) {
        mlguard_pickle::Format::Compressed(c) => Some(c.name()),
        _ => None,
    }
}

#[test]
fn code_where_joblib_expects_array_bytes_is_found() {
    // joblib.load skips these 24 bytes; pickle.load runs them as opcodes.
    let hidden = P::default().global("os", "system").s("id").op(&[0x85]).op(REDUCE).stop();
    let mut raw = hidden.clone();
    raw.resize(24, 0);
    let f = joblib("u1", &[24], &raw, false, b"");
    assert_eq!(worst(&f), Some((Severity::Critical, "os.system".into())));
}

/// A ustar archive of regular files.
fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, body) in members {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend(h);
        out.extend(*body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend([0u8; 1024]);
    out
}

#[test]
fn legacy_torch_tar_files() {
    let count = P::default().proto(2).op(&[b'K', 1]).stop();
    let sys_info = P::default().proto(2).op(b"}").stop();
    let state =
        P::default().proto(2).global("collections", "OrderedDict").op(b")").op(REDUCE).stop();
    let record = |storage: &str| {
        P::default().proto(2).s("0").s("cpu").global("torch", storage).op(&[0x87]).stop()
    };
    let mut storages = count.clone();
    storages.extend(record("FloatStorage"));
    storages.extend(2u64.to_le_bytes());
    storages.extend([0xffu8; 8]);
    let mut tensors = count.clone();
    tensors.extend(
        P::default().proto(2).s("0").s("0").global("torch", "FloatTensor").op(&[0x87]).stop(),
    );
    tensors.extend(1i32.to_le_bytes());
    tensors.extend([0u8; 4 + 16 + 8]);
    let members = |pickle: &[u8], storages: &[u8]| {
        tar(&[
            ("sys_info", &sys_info),
            ("pickle", pickle),
            ("storages", storages),
            ("tensors", &tensors),
        ])
    };
    let benign = members(&state, &storages);
    assert_eq!(mlguard_pickle::detect(&benign), mlguard_pickle::Format::Tar);
    assert_eq!(worst(&benign), None);
    let evil = call("os", "system", "id");
    let f = scan_bytes("old.pt", &members(&evil, &storages), &ScanOptions::default());
    assert!(
        f.iter().any(|f| f.severity == Severity::Critical
            && f.location.file.as_deref() == Some("old.pt:pickle")),
        "{f:?}"
    );
    // A second storage record carrying code, after the first storage's raw data.
    let mut hidden = storages.clone();
    hidden.extend(call("builtins", "exec", "x"));
    assert_eq!(
        worst(&members(&state, &hidden)),
        Some((Severity::Critical, "builtins.exec".into()))
    );
    // Raw data that does not match the record is not clean.
    let short = &storages[..storages.len() - 3];
    assert_eq!(worst(&members(&state, short)).map(|w| w.0), Some(Severity::Medium));
    // Any tar: every member is scanned by content.
    assert_eq!(worst(&tar(&[("a/b.pkl", &evil)])).map(|w| w.0), Some(Severity::Critical));
}

#[test]
fn an_object_array_pickle_the_loader_cannot_read_ends_the_stream() {
    // Found by fuzzing: a non-UTF-8 GLOBAL inside a joblib object array's pickle.
    let nested = P::default().proto(2).op(b"c\xff\n\xff\n").stop();
    let a = mlguard_pickle::analyze(&joblib("O8", &[1], &nested, true, b""), &[]);
    assert!(!a.complete);
    assert!(a.issues.iter().any(|i| i.kind == mlguard_pickle::IssueKind::NotLoadable), "{a:?}");
}

#[test]
fn harmless_values_are_clean_and_wrappers_judged_by_what_they_hold() {
    // functools.partial(int) holds an inert constructor.
    let harmless = P::default()
        .proto(2)
        .global("functools", "partial")
        .global("builtins", "int")
        .op(&[0x85])
        .op(REDUCE)
        .stop();
    assert_eq!(worst(&harmless), None);
    // partial(os.system) holds a command runner: calling the partial runs it.
    let held = P::default()
        .proto(2)
        .global("functools", "partial")
        .global("os", "system")
        .s("id")
        .op(&[0x86])
        .op(REDUCE)
        .op(b")")
        .op(REDUCE)
        .stop();
    assert_eq!(worst(&held), Some((Severity::Critical, "os.system".to_owned())));
    for (m, n, arg, bad) in [
        ("operator", "itemgetter", "1", false),
        ("operator", "attrgetter", "real", false),
        ("operator", "attrgetter", "__globals__", true),
        ("operator", "attrgetter", "system", true),
        ("fractions", "Fraction", "1/3", false),
        ("decimal", "Decimal", "1.5", false),
    ] {
        let p = call(m, n, arg);
        let w = worst(&p);
        assert_eq!(
            w.as_ref().is_some_and(|w| w.0 >= Severity::High),
            bad,
            "{m}.{n}({arg:?}): {w:?}"
        );
    }
}

#[test]
fn clean_pickles_back_to_back_and_trailing_bytes_are_low() {
    let one = P::default().proto(2).global("collections", "OrderedDict").op(b")").op(REDUCE).stop();
    let mut two = one.clone();
    two.extend(&one);
    let f = scan_bytes("t.pkl", &two, &ScanOptions::default());
    assert!(f.iter().all(|f| f.severity <= Severity::Low), "{f:?}");
    assert!(f.iter().any(|f| f.check == "model.pickle.concatenated"), "{f:?}");
    let mut padded = one.clone();
    padded.extend([0u8; 64]);
    let f = scan_bytes("t.pkl", &padded, &ScanOptions::default());
    assert!(f.iter().all(|f| f.severity <= Severity::Low), "{f:?}");
    assert!(f.iter().any(|f| f.check == "model.pickle.junk-after-stop"), "{f:?}");
}

#[test]
fn protocol_0_escapes_are_decoded_in_findings() {
    // S'o\x73' S'sy\163tem' STACK_GLOBAL: CPython unescapes both and imports os.system.
    let p = b"S'o\\x73'\nS'sy\\163tem'\n\x93(S'id'\ntR.";
    let f = scan_bytes("t.pkl", p, &ScanOptions::default());
    let hit = f.iter().find(|f| f.check == "model.pickle.dangerous-call").expect("found");
    assert_eq!(hit.value.as_deref(), Some("os.system"));
    assert!(hit.message.contains("calls os.system"), "{}", hit.message);
}

#[test]
fn numpy_npz_with_zip64_local_headers_is_read() {
    // np.savez writes zip64 extra fields in every local header (sizes 0xFFFFFFFF there) and
    // plain sizes in the central directory: both views must give the member.
    let evil = call("os", "system", "id");
    let header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((header.len() as u16 + 1).to_le_bytes());
    npy.extend(header.bytes());
    npy.push(b'\n');
    npy.extend(&evil);
    let name = b"y.npy";
    let mut z = b"PK\x03\x04\x2d\x00\x00\x00\x00\x00\x00\x00\x21\x00".to_vec();
    z.extend([0u8; 4]); // crc (not checked)
    z.extend([0xff; 8]); // sizes in the zip64 extra field
    z.extend((name.len() as u16).to_le_bytes());
    z.extend(20u16.to_le_bytes());
    z.extend(name);
    z.extend(1u16.to_le_bytes());
    z.extend(16u16.to_le_bytes());
    z.extend((npy.len() as u64).to_le_bytes());
    z.extend((npy.len() as u64).to_le_bytes());
    z.extend(&npy);
    let cd_offset = z.len() as u32;
    let mut cd = b"PK\x01\x02\x2d\x03\x2d\x00\x00\x00\x00\x00\x00\x00\x21\x00".to_vec();
    cd.extend([0u8; 4]);
    cd.extend((npy.len() as u32).to_le_bytes());
    cd.extend((npy.len() as u32).to_le_bytes());
    cd.extend((name.len() as u16).to_le_bytes());
    cd.extend([0u8; 12]);
    cd.extend(0u32.to_le_bytes());
    cd.extend(name);
    z.extend(&cd);
    z.extend(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    z.extend((cd.len() as u32).to_le_bytes());
    z.extend(cd_offset.to_le_bytes());
    z.extend([0, 0]);
    let f = scan_bytes("a.npz", &z, &ScanOptions::default());
    assert!(f.iter().any(|f| f.severity == Severity::Critical), "{f:?}");
    assert!(!f.iter().any(|f| f.check == "model.archive.malformed"), "{f:?}");
    // The same archive whose central directory points nowhere: a finding, never clean.
    let mut broken = z.clone();
    let at = broken.len() - 6;
    broken[at..at + 4].copy_from_slice(&9999u32.to_le_bytes());
    let f = scan_bytes("a.npz", &broken, &ScanOptions::default());
    assert!(
        f.iter().any(|f| f.check == "model.archive.malformed" && f.severity >= Severity::Medium)
    );
}

#[test]
fn central_directory_and_local_headers_that_disagree_are_both_scanned() {
    let evil = call("os", "system", "id");
    let benign = P::default().proto(2).op(b"N").stop();
    // The central directory lists `a.pkl` (benign); a second local header, not in the
    // directory, carries the payload: a streaming reader would load it.
    let mut hidden = zip(&[("a.pkl", &benign)]);
    let mut extra = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    extra.extend((evil.len() as u32).to_le_bytes());
    extra.extend((evil.len() as u32).to_le_bytes());
    extra.extend(5u16.to_le_bytes());
    extra.extend([0, 0]);
    extra.extend(b"b.pkl");
    extra.extend(&evil);
    // Insert it before the central directory and shift the directory's offset.
    let cd_at = hidden.windows(4).position(|w| w == b"PK\x01\x02").expect("cd");
    hidden.splice(cd_at..cd_at, extra.iter().copied());
    let eocd = hidden.len() - 22;
    let off = u32::from_le_bytes(hidden[eocd + 16..eocd + 20].try_into().expect("4"));
    hidden[eocd + 16..eocd + 20].copy_from_slice(&(off + extra.len() as u32).to_le_bytes());
    let f = scan_bytes("m.zip", &hidden, &ScanOptions::default());
    assert!(f.iter().any(|f| f.severity == Severity::Critical), "{f:?}");
    assert!(
        f.iter().any(|f| f.check == "model.archive.malformed"
            && f.message.contains("not in the central directory")),
        "{f:?}"
    );
    // The local header says the member is shorter than the directory does: each reading
    // is scanned, and the disagreement reported.
    let mut member = benign.clone();
    member.extend(&evil);
    let mut split = zip(&[("m.pkl", &member)]);
    split[18..22].copy_from_slice(&(benign.len() as u32).to_le_bytes());
    let f = scan_bytes("m.zip", &split, &ScanOptions::default());
    assert!(
        f.iter().any(|f| f.check == "model.archive.malformed" && f.message.contains("disagree")),
        "{f:?}"
    );
    assert!(f.iter().any(|f| f.severity == Severity::Critical), "{f:?}");
    let names: Vec<_> = f.iter().filter_map(|f| f.location.file.clone()).collect();
    assert!(names.iter().any(|n| n.contains("central directory")), "{names:?}");
}

#[test]
fn the_none_type_is_inert() {
    // pickle.dumps(type(None)): builtins.type called with None.
    let p = P::default().proto(4).global("builtins", "type").op(b"N").op(&[0x85]).op(REDUCE).stop();
    assert_eq!(worst(&p), None);
    // type() with three arguments makes a class.
    let p = P::default()
        .proto(4)
        .global("builtins", "type")
        .s("X")
        .op(b")}")
        .op(&[0x87])
        .op(REDUCE)
        .stop();
    assert!(worst(&p).is_some_and(|w| w.0 >= Severity::High));
}

#[test]
fn base64_blobs_in_keras_configs_are_scanned() {
    // A config string that is base64 of a pickle: whatever deserialises it runs it.
    let config = br#"{"module": "keras", "class_name": "Sequential", "config": {"blob": "gAJjb3MKc3lzdGVtCiiMAmlkdFIu"}}"#;
    let f = scan_bytes("m.keras", &zip(&[("config.json", config)]), &ScanOptions::default());
    assert!(f.iter().any(|f| f.severity == Severity::Critical), "{f:?}");
}
