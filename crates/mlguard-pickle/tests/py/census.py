"""Global census: which (module, name) pairs do real objects of widely used libraries
need when pickled? This is the evidence the scanner's allowlist is derived from.

    python census.py OUTJSON

Every object below is pickled on every protocol 0..5 and the globals are collected twice:
  * dynamically, by a pickle.Unpickler whose find_class records (module, name) before
    resolving it (safe here: these are benign objects this script has just created);
  * statically, by walking pickletools.genops with a small symbolic stack that resolves
    GLOBAL/INST and STACK_GLOBAL (whose operands may come from memo gets) -- which is what
    a scanner has to do. Both sets must agree; a disagreement is reported and fails the run.
joblib dumps are recorded with joblib's own NumpyUnpickler (arrays are raw bytes inline).

Names are recorded as they are written on the wire: protocols 0-2 write Python 2 names
(`__builtin__`, `copy_reg`) that the unpickler maps back; such entries carry "resolves_to".

Output: {"python", "versions", "globals": [{"module", "name", "kind" (class | function |
ufunc | constant), "protocols", "examples" (up to 3 objects that need it), "sections"
(stdlib | numpy | scipy | pandas | sklearn | joblib)[, "resolves_to"]}], "objects": n,
"unfitted": [...], "failures": [...]}
sorted by module, name. A per-top-level-module summary goes to stdout.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import _compat_pickle
import argparse
import collections
import copyreg
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
import pickletools
import re
import sys
import time
import types
import uuid
import warnings
import zoneinfo

import joblib
import joblib.numpy_pickle
import numpy as np
import pandas as pd
import scipy
import scipy.sparse as sp
import sklearn

warnings.filterwarnings("ignore")

PROTOCOLS = range(6)
START = time.perf_counter()
rng = np.random.default_rng(0)


# --------------------------------------------------------------------------- recording


class Recorder(pickle.Unpickler):
    def __init__(self, data, seen):
        super().__init__(io.BytesIO(data))
        self.seen = seen

    def find_class(self, module, name):
        self.seen.add((module, name))
        return super().find_class(module, name)


class JoblibRecorder(joblib.numpy_pickle.NumpyUnpickler):
    def __init__(self, fobj, seen):
        super().__init__("", fobj, ensure_native_byte_order=False)
        self.seen = seen

    def find_class(self, module, name):
        self.seen.add((module, name))
        return super().find_class(module, name)


_MARK = object()
_UNKNOWN = object()
_STRINGS = {
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8",
}


def static_globals(data):
    """Globals a pickle names, found without executing it (GLOBAL, INST, STACK_GLOBAL, EXT*)."""
    stack, memo, found = [], {}, set()
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in ("GLOBAL", "INST"):
            module, _, attr = arg.partition(" ")
            found.add((module, attr))
        if name == "STACK_GLOBAL":
            attr, module = stack.pop(), stack.pop()
            if not (isinstance(module, str) and isinstance(attr, str)):
                raise ValueError(f"STACK_GLOBAL operands not resolved: {module!r} {attr!r}")
            found.add((module, attr))
            stack.append(_UNKNOWN)
        elif name in ("EXT1", "EXT2", "EXT4"):
            found.add(copyreg._inverted_registry.get(arg, ("<extension>", str(arg))))
            stack.append(_UNKNOWN)
        elif name in _STRINGS:
            stack.append(arg)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name == "MARK":
            stack.append(_MARK)
        elif name == "DUP":
            stack.append(stack[-1])
        else:
            before = op.stack_before
            if pickletools.markobject in before:
                while stack.pop() is not _MARK:
                    pass
                below = before.index(pickletools.markobject)
            else:
                below = len(before)
            for _ in range(below):
                stack.pop()
            stack.extend(_UNKNOWN for _ in op.stack_after)
    return found


def kind_of(module, name):
    try:
        obj = pickle.Unpickler(io.BytesIO(b"")).find_class(module, name)  # proto 0: maps py2 names
    except Exception as exc:
        return f"unresolvable ({type(exc).__name__})"
    if isinstance(obj, type):
        return "class"
    if isinstance(obj, np.ufunc):
        return "ufunc"
    if callable(obj):
        return "function"
    return "constant"


def resolved(module, name):
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return (_compat_pickle.IMPORT_MAPPING.get(module, module), name)


GLOBALS = {}  # (module, name) -> {"protocols": set, "examples": [], "sections": set}
FAILURES = []
MISMATCHES = []
OBJECTS = 0


def note(found, protocol, label, section):
    for key in found:
        entry = GLOBALS.setdefault(key, {"protocols": set(), "examples": [], "sections": set()})
        entry["protocols"].add(protocol)
        entry["sections"].add(section)
        if label not in entry["examples"] and len(entry["examples"]) < 3:
            entry["examples"].append(label)


def census(label, obj, section):
    global OBJECTS
    OBJECTS += 1
    for p in PROTOCOLS:
        try:
            data = pickle.dumps(obj, protocol=p)
        except Exception as exc:
            FAILURES.append(f"{label} protocol {p}: dumps: {type(exc).__name__}: {exc}"[:300])
            continue
        dynamic, loaded = set(), True
        try:
            Recorder(data, dynamic).load()
        except Exception as exc:
            loaded = False
            FAILURES.append(f"{label} protocol {p}: loads: {type(exc).__name__}: {exc}"[:300])
        static = static_globals(data)
        if (static != dynamic) if loaded else not dynamic <= static:
            MISMATCHES.append(
                f"{label} p{p}: static-only {sorted(static - dynamic)} dynamic-only {sorted(dynamic - static)}"
            )
        note(static | dynamic, p, label, section)


def census_joblib(label, obj):
    global OBJECTS
    OBJECTS += 1
    for p in PROTOCOLS:
        buf = io.BytesIO()
        try:
            joblib.dump(obj, buf, protocol=p)
        except Exception as exc:
            FAILURES.append(f"joblib {label} protocol {p}: dump: {type(exc).__name__}: {exc}"[:300])
            continue
        buf.seek(0)
        seen = set()
        try:
            JoblibRecorder(buf, seen).load()
        except Exception as exc:
            FAILURES.append(f"joblib {label} protocol {p}: load: {type(exc).__name__}: {exc}"[:300])
        note(seen, p, f"joblib.dump({label})", "joblib")


# --------------------------------------------------------------------------- objects


def stdlib_objects():
    tz2 = datetime.timezone(datetime.timedelta(hours=2), "CEST")
    return {
        "datetime.datetime": datetime.datetime(2024, 5, 17, 12, 30, 15, 250),
        "datetime.datetime(tz=utc)": datetime.datetime(2024, 5, 17, tzinfo=datetime.timezone.utc),
        "datetime.datetime(tz=+02:00)": datetime.datetime(2024, 5, 17, tzinfo=tz2),
        "datetime.datetime(tz=ZoneInfo)": datetime.datetime(2024, 5, 17, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
        "zoneinfo.ZoneInfo": zoneinfo.ZoneInfo("America/New_York"),
        "datetime.date": datetime.date(2024, 5, 17),
        "datetime.time": datetime.time(12, 30, 15),
        "datetime.timedelta": datetime.timedelta(days=1, seconds=5),
        "datetime.timezone": tz2,
        "datetime.timezone.utc": datetime.timezone.utc,
        "decimal.Decimal": decimal.Decimal("3.14159"),
        "fractions.Fraction": fractions.Fraction(3, 7),
        "complex": complex(1.5, -2),
        "collections.Counter": collections.Counter("mississippi"),
        "collections.deque": collections.deque([1, 2, 3], maxlen=5),
        "collections.defaultdict(list)": collections.defaultdict(list, {"a": [1]}),
        "collections.defaultdict(int)": collections.defaultdict(int, {"a": 1}),
        "collections.OrderedDict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "set": {1, 2, 3},
        "frozenset": frozenset({"x", "y"}),
        "bytes": b"\x00\x01raw\xff",
        "bytearray": bytearray(b"abc"),
        "range": range(0, 10, 2),
        "slice": slice(1, None, 2),
        "argparse.Namespace": argparse.Namespace(lr=0.1, epochs=3),
        "re.Pattern": re.compile(r"\d+", re.IGNORECASE),
        "pathlib.PurePosixPath": pathlib.PurePosixPath("/models/x.pkl"),
        "pathlib.PosixPath": pathlib.PosixPath("/models/x.pkl"),
        "uuid.UUID": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "re.RegexFlag.IGNORECASE": re.RegexFlag.IGNORECASE,
        "http.HTTPStatus.OK": http.HTTPStatus.OK,
        "functools.partial(int, base=2)": functools.partial(int, base=2),
        "operator.itemgetter(1)": operator.itemgetter(1),
        "operator.attrgetter('real')": operator.attrgetter("real"),
        "types.SimpleNamespace": types.SimpleNamespace(a=1),
        "float nan/inf": [float("nan"), float("inf")],
        "int 2**100": 2**100,
        "None/True/Ellipsis/NotImplemented": (None, True, Ellipsis, NotImplemented),
    }


def numpy_objects():
    objs = {}
    dtypes = [
        "?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "g", "c8", "c16", "G",
        "U5", "S5", "V8", "M8[ns]", "M8[D]", "M8[s]", "m8[ns]", "m8[s]", ">i4", ">f8", "O",
    ]
    for dt in dtypes:
        arr = np.zeros(4, dtype=dt)
        if dt == "O":
            arr[:] = [1, "a", None, {"k": 2.5}]
        objs[f"numpy.ndarray dtype={dt}"] = arr
        objs[f"numpy.dtype({dt!r})"] = np.dtype(dt)
        objs[f"numpy.dtype({dt!r}) class"] = type(np.dtype(dt))
        objs[f"numpy scalar {dt}"] = arr[0]
    structured = np.zeros(3, dtype=[("id", "<i4"), ("xy", "<f8", (2,)), ("tag", "S4"), ("sub", [("a", "u1")])])
    objs["numpy.ndarray structured"] = structured
    objs["numpy.void structured scalar"] = structured[0]
    objs["numpy.dtype structured"] = structured.dtype
    objs["numpy.dtype subarray"] = np.dtype(("<f4", (2, 3)))
    objs["numpy.dtype aligned"] = np.dtype({"names": ["a", "b"], "formats": ["u1", "f8"]}, align=True)
    objs["numpy.ndarray StringDType"] = np.array(["a", "bc"], dtype=np.dtypes.StringDType())
    objs["numpy.ndarray fortran"] = np.asfortranarray(np.ones((3, 4)))
    objs["numpy.ndarray noncontiguous"] = np.arange(20.0)[::3]
    objs["numpy.ndarray 0-d"] = np.array(1.5)
    objs["numpy.ndarray empty"] = np.zeros((0, 3))
    objs["numpy.float64(1)"] = np.float64(1)
    objs["numpy.int64(1)"] = np.int64(1)
    objs["numpy.bool_(True)"] = np.bool_(True)
    objs["numpy.str_"] = np.str_("a")
    objs["numpy.datetime64"] = np.datetime64("2024-01-01T12:00")
    objs["numpy.timedelta64"] = np.timedelta64(5, "s")
    for name in ("float64", "float32", "int64", "int32", "uint8", "bool_", "object_", "str_", "ndarray", "dtype", "generic", "number", "integer", "floating"):
        objs[f"numpy.{name} (type)"] = getattr(np, name)
    for name in ("log1p", "add", "sin", "exp", "maximum", "sqrt", "isnan", "expm1", "matmul"):
        objs[f"numpy.{name} (ufunc)"] = getattr(np, name)
    for name in ("mean", "median", "sum", "nanmean", "std", "max", "argmax", "percentile"):
        objs[f"numpy.{name} (function)"] = getattr(np, name)
    objs["numpy.random.default_rng()"] = np.random.default_rng(0)
    objs["numpy.random.RandomState"] = np.random.RandomState(0)
    for bg in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
        objs[f"numpy.random.{bg}"] = getattr(np.random, bg)(0)
        objs[f"numpy.random.Generator({bg})"] = np.random.Generator(getattr(np.random, bg)(0))
    objs["numpy.random.SeedSequence"] = np.random.SeedSequence(0)
    objs["numpy.ma.masked_array"] = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    objs["numpy.ma.masked_array structured"] = np.ma.masked_array(structured, mask=np.zeros(3, bool))
    objs["numpy.ma.masked"] = np.ma.masked
    objs["numpy.matrix"] = np.matrix([[1, 2], [3, 4]])
    objs["numpy.recarray"] = np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
    objs["numpy.record scalar"] = np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])[0]
    objs["numpy.poly1d"] = np.poly1d([1, 2, 3])
    objs["numpy.finfo"] = np.finfo(np.float64)
    objs["numpy.iinfo"] = np.iinfo(np.int32)
    return objs


def scipy_objects():
    import scipy.spatial
    import scipy.stats

    dense = np.where(rng.random((6, 8)) > 0.6, rng.normal(size=(6, 8)), 0.0)
    objs = {}
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "dok", "lil"):
        for api in ("matrix", "array"):
            cls = getattr(sp, f"{fmt}_{api}")
            objs[f"scipy.sparse.{fmt}_{api}"] = cls(dense)
    objs["scipy.sparse.csr_matrix int32"] = sp.csr_matrix(dense.astype(np.int32))
    objs["scipy.sparse.eye (dia_matrix)"] = sp.eye(4)
    objs["scipy.sparse.random (coo_array)"] = sp.random_array((5, 5), density=0.3, rng=0)
    objs["scipy.stats.norm(0, 1)"] = scipy.stats.norm(0, 1)
    objs["scipy.stats.uniform"] = scipy.stats.uniform(0, 1)
    objs["scipy.stats.loguniform"] = scipy.stats.loguniform(1e-3, 1)
    objs["scipy.stats.randint"] = scipy.stats.randint(1, 10)
    objs["scipy.stats.expon"] = scipy.stats.expon()
    objs["scipy.spatial.KDTree"] = scipy.spatial.KDTree(dense)
    objs["scipy.spatial.cKDTree"] = scipy.spatial.cKDTree(dense)
    return objs


def pandas_objects():
    n = 12
    df = pd.DataFrame(
        {
            "int": np.arange(n, dtype=np.int64),
            "float": rng.normal(size=n),
            "str": [f"r{i}" for i in range(n)],
            "object": pd.Series([{"k": i} if i % 3 else None for i in range(n)], dtype=object),
            "category": pd.Categorical(rng.choice(["lo", "hi"], size=n)),
            "dt_paris": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Paris"),
            "dt_utc": pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"),
            "dt_naive": pd.date_range("2024-01-01", periods=n, freq="min"),
            "timedelta": pd.to_timedelta(np.arange(n), unit="s"),
            "bool": np.arange(n) % 2 == 0,
            "Int64": pd.array([i if i % 4 else None for i in range(n)], dtype="Int64"),
            "boolean": pd.array([bool(i % 2) if i % 5 else None for i in range(n)], dtype="boolean"),
            "Float64": pd.array([i / 3 if i % 4 else None for i in range(n)], dtype="Float64"),
            "string": pd.array([f"s{i}" if i % 3 else None for i in range(n)], dtype="string"),
            "period": pd.period_range("2024-01", periods=n, freq="M"),
            "interval": pd.interval_range(0, n),
            "sparse": pd.arrays.SparseArray([0.0] * (n - 1) + [1.0]),
        }
    )
    multi = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["letter", "num"])
    objs = {
        "pandas.DataFrame mixed dtypes": df,
        "pandas.DataFrame MultiIndex": pd.DataFrame(np.ones((4, 2)), index=multi, columns=["u", "v"]),
        "pandas.DataFrame MultiIndex columns": pd.DataFrame(np.ones((2, 4)), columns=multi),
        "pandas.DataFrame empty": pd.DataFrame(),
        "pandas.Series float": pd.Series(rng.normal(size=5), name="s"),
        "pandas.Series datetime index": pd.Series(np.arange(5), index=pd.date_range("2024-01-01", periods=5)),
        "pandas.Series category": pd.Series(["a", "b", "a"], dtype="category"),
        "pandas.Series object": pd.Series([1, "a", None], dtype=object),
        "pandas.Index int": pd.Index([1, 2, 3]),
        "pandas.Index float": pd.Index([1.5, 2.5]),
        "pandas.Index str": pd.Index(["x", "y"]),
        "pandas.Index object": pd.Index(["x", 1], dtype=object),
        "pandas.Index bool": pd.Index([True, False]),
        "pandas.RangeIndex": pd.RangeIndex(0, 10, 2),
        "pandas.DatetimeIndex": pd.date_range("2024-01-01", periods=3, freq="D"),
        "pandas.DatetimeIndex UTC": pd.date_range("2024-01-01", periods=3, tz="UTC"),
        "pandas.DatetimeIndex Europe/Paris": pd.date_range("2024-01-01", periods=3, tz="Europe/Paris"),
        "pandas.DatetimeIndex no freq": pd.DatetimeIndex(["2024-01-01", "2024-03-05"]),
        "pandas.TimedeltaIndex": pd.timedelta_range("1D", periods=3),
        "pandas.CategoricalIndex": pd.CategoricalIndex(["a", "b", "a"]),
        "pandas.MultiIndex": multi,
        "pandas.IntervalIndex": pd.interval_range(0, 5),
        "pandas.PeriodIndex": pd.period_range("2024-01", periods=3, freq="M"),
        "pandas.CategoricalDtype": pd.CategoricalDtype(["a", "b"], ordered=True),
        "pandas.DatetimeTZDtype": pd.DatetimeTZDtype("ns", "UTC"),
        "pandas.DatetimeTZDtype ZoneInfo": pd.DatetimeTZDtype("ns", "Europe/Paris"),
        "pandas.PeriodDtype": pd.PeriodDtype("M"),
        "pandas.IntervalDtype": pd.IntervalDtype("int64", "right"),
        "pandas.SparseDtype": pd.SparseDtype(float, 0.0),
        "pandas.StringDtype()": pd.StringDtype(),
        "pandas.StringDtype(na_value=nan)": pd.StringDtype("python", na_value=np.nan),
        "pandas.BooleanDtype": pd.BooleanDtype(),
        "pandas.Timestamp": pd.Timestamp("2024-01-01 12:00"),
        "pandas.Timestamp UTC": pd.Timestamp("2024-01-01", tz="UTC"),
        "pandas.Timestamp ZoneInfo": pd.Timestamp("2024-01-01", tz="Europe/Paris"),
        "pandas.Timedelta": pd.Timedelta("1 days 2 hours"),
        "pandas.Period": pd.Period("2024-01", freq="M"),
        "pandas.NaT": pd.NaT,
        "pandas.NA": pd.NA,
        "pandas.Interval": pd.Interval(0, 1),
        "pandas.Categorical": pd.Categorical(["a", "b"]),
        "pandas.arrays.IntegerArray": pd.array([1, None], dtype="Int64"),
        "pandas.arrays.BooleanArray": pd.array([True, None], dtype="boolean"),
        "pandas.arrays.FloatingArray": pd.array([1.5, None], dtype="Float64"),
        "pandas.arrays.StringArray": pd.array(["a", None], dtype="string"),
        "pandas.arrays.SparseArray": pd.arrays.SparseArray([0, 0, 1]),
        "pandas.arrays.DatetimeArray": pd.array(pd.date_range("2024-01-01", periods=2, tz="UTC")),
        "pandas.arrays.TimedeltaArray": pd.array(pd.timedelta_range("1D", periods=2)),
        "pandas.arrays.PeriodArray": pd.array(pd.period_range("2024-01", periods=2, freq="M")),
        "pandas.arrays.IntervalArray": pd.arrays.IntervalArray.from_breaks([0, 1, 2]),
        "pandas.arrays.NumpyExtensionArray": pd.arrays.NumpyExtensionArray(np.arange(3)),
    }
    for dt in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64", "Float32", "Float64"):
        objs[f"pandas.{dt}Dtype"] = pd.api.types.pandas_dtype(dt)
    for off in ("Day", "Hour", "Minute", "MonthEnd", "MonthBegin", "YearEnd", "QuarterEnd", "BusinessDay", "Week"):
        objs[f"pandas.offsets.{off}"] = getattr(pd.offsets, off)()
    objs["pandas.DateOffset(months=1)"] = pd.DateOffset(months=1)
    try:
        import pyarrow  # noqa: F401

        objs["pandas.ArrowDtype"] = pd.ArrowDtype(pyarrow.int64())
        objs["pandas.Series[pyarrow string]"] = pd.Series(["a"], dtype="string[pyarrow]")
    except ImportError:
        pass
    return objs


# --------------------------------------------------------------------------- scikit-learn

N = 60
X = rng.random((N, 5)) + 0.01  # strictly positive: fits chi2/MultinomialNB/NMF too
y_bin = np.arange(N) % 2
y_multi = np.arange(N) % 3
y_reg = X @ np.arange(1.0, 6.0) + rng.normal(scale=0.1, size=N)
Y2 = np.column_stack([y_reg, -y_reg])
Y2_cls = np.column_stack([y_bin, y_multi])
TEXTS = [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "eps"], size=5)) for _ in range(N)]
DICTS = [{"a": float(i), "b": "x" if i % 2 else "y"} for i in range(N)]


def public_name(cls):
    """sklearn.ensemble._forest.RandomForestClassifier -> sklearn.ensemble.RandomForestClassifier"""
    parts = []
    for part in cls.__module__.split("."):
        if part.startswith("_"):
            break
        parts.append(part)
    return ".".join(parts + [cls.__name__])


def instances(cls):
    """sklearn's own test instances (meta-estimators get sub-estimators), else defaults."""
    try:
        from sklearn.utils._test_common.instance_generator import _construct_instances

        return list(_construct_instances(cls))
    except BaseException:  # SkipTest derives from Exception; ImportError on other versions
        pass
    try:
        return [cls()]
    except Exception as exc:
        FAILURES.append(f"{public_name(cls)}: cannot construct: {type(exc).__name__}: {exc}"[:300])
        return []


def fit_estimator(est):
    """Fit on the first input the estimator accepts; returns (fitted?, input used)."""
    from sklearn.base import is_classifier, is_regressor

    y = y_reg if is_regressor(est) else y_bin
    attempts = [
        (X, y),
        (X,),
        (X, y_multi),
        (TEXTS,),
        (DICTS,),
        (y,),
        (X[:, 0], y_reg),
        (X, Y2),
        (X, Y2_cls),
        ([["a", "b"], ["b"], ["c"]],),
    ]
    if is_classifier(est):
        attempts.insert(1, (X, y_multi))
    for args in attempts:
        try:
            est.fit(*args)
            return True, args
        except Exception:
            continue
    return False, None


def sklearn_census():
    from sklearn.utils import all_estimators

    unfitted = []
    for name, cls in all_estimators():
        label = public_name(cls)
        for i, est in enumerate(instances(cls)):
            tag = label if i == 0 else f"{label}#{i}"
            census(f"{tag} (unfitted)", est, "sklearn")
            fitted, args = fit_estimator(est)
            if not fitted:
                unfitted.append(tag)
                continue
            census(tag, est, "sklearn")
            if hasattr(est, "transform"):
                try:
                    out = est.transform(args[0])
                except Exception:
                    continue
                if not isinstance(out, np.ndarray) or out.dtype == object:
                    census(f"{tag}.transform() -> {type(out).__name__}", out, "sklearn")
    # Multiclass / multi-output variants that change what fitted models hold.
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    extra = {
        "sklearn.ensemble.HistGradientBoostingClassifier (3 classes)": HistGradientBoostingClassifier(max_iter=5).fit(X, y_multi),
        "sklearn.ensemble.HistGradientBoostingClassifier (categorical)": HistGradientBoostingClassifier(
            max_iter=5, categorical_features=[0]
        ).fit(np.column_stack([np.arange(N) % 4, X[:, 1:]]), y_bin),
        "sklearn.ensemble.RandomForestClassifier (multi-output)": RandomForestClassifier(n_estimators=3).fit(X, Y2_cls),
        "sklearn.linear_model.LogisticRegression (3 classes)": LogisticRegression().fit(X, y_multi),
        "sklearn.frozen.FrozenEstimator(LogisticRegression)": FrozenEstimator(LogisticRegression().fit(X, y_bin)),
        "sklearn.preprocessing.FunctionTransformer(np.log1p)": FunctionTransformer(np.log1p, np.expm1).fit(X),
        "sklearn.preprocessing.StandardScaler set_output(pandas)": StandardScaler().set_output(transform="pandas").fit(
            pd.DataFrame(X, columns=list("abcde"))
        ),
    }
    for label, obj in extra.items():
        census(label, obj, "sklearn")
    return unfitted


def joblib_census():
    from sklearn.ensemble import RandomForestClassifier

    objs = {
        "arrays": {dt: np.zeros(3, dtype=dt) for dt in ("f8", "f4", "i8", "?", "U3", "M8[D]", "O", ">i4")},
        "fortran": np.asfortranarray(np.ones((3, 2))),
        "structured": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
        "RandomForestClassifier": RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y_bin),
        "scipy.sparse.csr_matrix": sp.csr_matrix(np.eye(3)),
        "pandas.DataFrame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    }
    for label, obj in objs.items():
        census_joblib(label, obj)


# --------------------------------------------------------------------------- main


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: census.py OUTJSON")
    timings = {}
    sections = [
        ("stdlib", stdlib_objects),
        ("numpy", numpy_objects),
        ("scipy", scipy_objects),
        ("pandas", pandas_objects),
    ]
    for section, build in sections:
        t = time.perf_counter()
        for label, obj in build().items():
            census(label, obj, section)
        timings[section] = time.perf_counter() - t
    t = time.perf_counter()
    unfitted = sklearn_census()
    timings["sklearn"] = time.perf_counter() - t
    t = time.perf_counter()
    joblib_census()
    timings["joblib"] = time.perf_counter() - t

    rows = []
    for (module, name), entry in sorted(GLOBALS.items()):
        row = {
            "module": module,
            "name": name,
            "kind": kind_of(module, name),
            "protocols": sorted(entry["protocols"]),
            "examples": entry["examples"],
            "sections": sorted(entry["sections"]),
        }
        target = resolved(module, name)
        if target != (module, name):
            row["resolves_to"] = ".".join(target)
        rows.append(row)
    out = {
        "python": sys.version.split()[0],
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "pandas": pd.__version__,
            "joblib": joblib.__version__,
        },
        "objects": OBJECTS,
        "globals": rows,
        "unfitted": unfitted,
        "failures": FAILURES,
    }
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    per_top = collections.Counter(m.split(".")[0] for m, _ in GLOBALS)
    print(f"{len(GLOBALS)} globals from {OBJECTS} objects x protocols 0-5")
    for top, n in sorted(per_top.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {top:24} {n}")
    print(f"{len(unfitted)} estimators left unfitted, {len(FAILURES)} pickling failures")
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()) + f", total {time.perf_counter() - START:.1f}s")
    if MISMATCHES:
        print("static/dynamic MISMATCHES:")
        for m in MISMATCHES:
            print("  " + m)
        sys.exit(1)


if __name__ == "__main__":
    main()
