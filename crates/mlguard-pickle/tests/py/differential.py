#!/usr/bin/env python3
"""Differential corpus: what CPython's own unpicklers import and call, for mlguard to match.

Usage: differential.py OUTDIR [--count N] [--seed S]      (stdlib only, Python >= 3.11)

Writes OUTDIR/case_00000.pkl ... and OUTDIR/expected.jsonl (one line per case, same order).
The output is deterministic for a given seed and Python version: the script re-executes
itself with PYTHONHASHSEED=0 so set ordering in `pickle.dumps` output is stable.

Nothing is ever imported or executed from a pickle. Both unpicklers (the C `_pickle.Unpickler`
that `pickle.load` uses, and the pure-Python `pickle._Unpickler`) are subclassed so that
`find_class(module, name)` only RECORDS its raw arguments and returns a fresh stub class;
calling that class (REDUCE, INST, OBJ) or `cls.__new__` on it (NEWOBJ, NEWOBJ_EX, INST/OBJ
with no arguments) only records a call. `persistent_load` records and returns a stub. The
extension registry (EXT1/2/4) is left empty, so CPython raises there, as a stock install does.

Each stream is loaded as `pickle.load(f)` called repeatedly on one file would: a FRESH
Unpickler per pickle on the same BytesIO, until EOF or the first error.

expected.jsonl line:
  {"case": "case_00042.pkl", "kind": "stack_global_memo", "agree": true,
   "c": RESULT, "py": RESULT[, "c_reuse": RESULT]}
RESULT:
  "events":  in order: ["global", module, name] (each find_class call, raw arguments),
             ["call", k] (k = 0-based index, among this RESULT's "global" events, of the
             find_class whose returned stub class is the callee; -1 when the callee is
             anything else: the result of a call, a persistent-load stub, ...), ["persid"].
             "call" is recorded for REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, whenever CPython
             actually reaches the callee (C's REDUCE refuses non-tuple arguments before
             calling: no event; pure-Python's accepts any iterable: event).
  "pickles": pickles fully loaded (STOP reached).
  "error": null or "ExceptionType: message" of the first error (addresses masked).
  "error_class": null, "stream" (structure: truncation, unknown opcode, bad argument text,
             stack/MARK underflow, missing memo, bad protocol, FRAME, EXT, MemoryError from a
             hostile size...) or "value" (TypeError, AttributeError and the UnpicklingErrors
             about object types: "state is not a dictionary", "NEWOBJ args argument must be a
             tuple"...: errors from what the objects are, not from the bytes).
  "error_offset": file.tell() when it was raised (how far the loader had read; with FRAME
             this is the end of the frame, not the failing opcode), or null.
  "consumed": file.tell() after the last complete pickle (0 if none).
  "trailing": true when at least one pickle loaded and the bytes after it did not load.
  "mapped":  one entry per "global" event: null, or the [module, name] stock find_class
             would really import after its protocol<3 `_compat_pickle` renaming (e.g.
             ["__builtin__","eval"] -> ["builtins","eval"], ["copy_reg", x] -> ["copyreg", x]).
"c_reuse" is present only when one C Unpickler reused for all concatenated pickles (memo kept,
leftover bytes of a FRAME read) sees something different from "c". "agree": c and py have the
same events, pickles and error presence.

Names are JSON strings; a name holding a lone surrogate (BINUNICODE is decoded with
'surrogatepass') is written as `name.encode('utf-8','surrogatepass').decode('utf-8','replace')`,
which equals Rust's String::from_utf8_lossy of the same UTF-8 bytes.

CONTRACT checked by the Rust differential test (reference: "c", the loader pickle.load uses)
------------------------------------------------------------------------------------------
Let G = [(module, name) of every "global" event of "c"] and CALLED = {k | ["call", k] in
"c", k >= 0}. Let M = mlguard's imports for the whole file, in order, (module, name, called);
mlguard's nested analyses (pickles inside bytes payloads) are NOT part of M: CPython never
loads them.
 1. c.error is null (every concatenated pickle loaded, no junk):
      [(m.module, m.name) for m in M] == G           (same globals, same order, exactly)
      {j | M[j].called} == CALLED                     (same set of called globals)
 2. c.error is not null:
      G is a prefix of [(m.module, m.name) for m in M]  (mlguard saw at least what ran)
      every k in CALLED has M[k].called
      if c.error_class is "stream": mlguard reports at least one issue (never calls the
      stream clean). For "value" errors this is only required with contract.py --strict:
      knowing that CPython would fail there needs a model of Python's object types.
 When the line has "c_reuse", satisfying the rules against "c" OR "c_reuse" is enough.
tests/py/contract.py implements this check (and the JSON shape mlguard's side would emit).

Also printed: cases by kind, load/error counts, and C vs pure-Python disagreements.
"""

import argparse
import codecs
import collections
import copyreg
import datetime
import decimal
import fractions
import functools
import io
import json
import operator
import os
import pickle
import pickletools
import random
import re
import resource
import struct
import sys
import tempfile
import time
import warnings

import _compat_pickle

if os.environ.get("PYTHONHASHSEED") != "0":
    # Stable str/bytes hashing, hence stable set order in pickle.dumps output.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

warnings.simplefilter("ignore")  # invalid \escapes in STRING warn (never raise) by default

# --------------------------------------------------------------------------------------------
# Instrumented unpicklers
# --------------------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.events = []
        self.nglobals = 0
        self.mapped = []

    def glob(self, module, name, proto_lt3):
        self.events.append(["global", module, name])
        k = self.nglobals
        self.nglobals += 1
        m = None
        if proto_lt3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                m = list(_compat_pickle.NAME_MAPPING[(module, name)])
            elif module in _compat_pickle.IMPORT_MAPPING:
                m = [_compat_pickle.IMPORT_MAPPING[module], name]
        self.mapped.append(m)
        return k

    def call(self, k):
        self.events.append(["call", k])


REC = Recorder()


def _noop(*args, **kwargs):
    return None


class Anything:
    """A non-data descriptor giving a no-op callable whether read on the class or an
    instance, so BUILD (__setstate__), APPEND (append / C's extend), APPENDS, ADDITEMS work
    on stub classes and stub instances alike, without running anything."""

    def __get__(self, obj, owner=None):
        return _noop


class StubMeta(type):
    def __call__(cls, *args, **kwargs):  # REDUCE, INST/OBJ with args: cls(*args)
        REC.call(cls._k)
        return object.__new__(cls)

    def __setitem__(cls, key, value):  # SETITEM(S) on a stub class
        return None

    def __repr__(cls):
        return "<stub class %d>" % cls._k


class StubBase(metaclass=StubMeta):
    _k = -1

    def __new__(cls, *args, **kwargs):  # NEWOBJ(_EX): cls.__new__(cls, ...) / tp_new
        if not isinstance(cls, StubMeta):
            # What object.__new__ says when handed a non-type (pure-Python NEWOBJ on an
            # instance looks __new__ up on it and calls it with the instance).
            raise TypeError("object.__new__(X): X is not a type object (%s)"
                            % type(cls).__name__)
        REC.call(cls._k)
        return object.__new__(cls)

    def __call__(self, *args, **kwargs):  # calling the result of a call
        REC.call(-1)
        return object.__new__(StubBase)

    def __setitem__(self, key, value):
        return None

    def __repr__(self):
        return "<stub instance of %d>" % type(self)._k

    __setstate__ = Anything()
    append = Anything()
    extend = Anything()
    add = Anything()


def new_stub_class(k):
    return StubMeta("Stub", (StubBase,), {"_k": k, "__module__": "stub", "__qualname__": "Stub"})


def persistent_stub(pid):
    REC.events.append(["persid"])
    return object.__new__(StubBase)


# With this, the stock C find_class fails fast on an un-renamed "__builtin__" (no path search,
# nothing imported), which is how the C unpickler's protocol (not exposed) is probed below.
sys.modules.setdefault("__builtin__", None)


def c_proto_lt3(unpickler):
    try:
        pickle.Unpickler.find_class(unpickler, "__builtin__", "xrange")  # -> builtins.range
        return True
    except ImportError:
        return False


class CUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return new_stub_class(REC.glob(module, name, c_proto_lt3(self)))

    def persistent_load(self, pid):
        return persistent_stub(pid)


class PyUnpickler(pickle._Unpickler):
    def find_class(self, module, name):
        return new_stub_class(REC.glob(module, name, self.proto < 3))

    def persistent_load(self, pid):
        return persistent_stub(pid)


_ADDR = re.compile(r"0x[0-9a-fA-F]+")


def describe(exc):
    msg = _ADDR.sub("0x?", str(exc))
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return "%s: %s" % (type(exc).__name__, msg)


# Errors that come from what the objects ARE (calling a str, BUILD with a dict on None, NEWOBJ
# on a non-type, list.add ...) rather than from the byte stream's structure. A symbolic reader
# cannot know these without modelling Python objects; they depend partly on how permissive the
# stubs are. Everything else (truncation, bad opcode or argument, stack/MARK underflow, missing
# memo, bad protocol, frame errors, EXT, MemoryError from a hostile size) is "stream".
_VALUE_UNPICKLING = ("state is not a dictionary", "slot state is not a dictionary",
                     "class argument must be a type", "args argument must be a tuple",
                     "kwargs argument must be a dict", "doesn't have __new__")


def error_class(exc):
    if isinstance(exc, (TypeError, AttributeError)):
        return "value"
    if isinstance(exc, pickle.UnpicklingError) and any(m in str(exc) for m in _VALUE_UNPICKLING):
        return "value"
    return "stream"


def clean(s):
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class TrackedFile:
    """BytesIO seen through read/readline/readinto only, logging whether the first request of
    each load() came back empty: that is how a reused C Unpickler that has nothing buffered
    (no leftover frame bytes) is told apart from one still parsing buffered bytes."""

    def __init__(self, data):
        self.f = io.BytesIO(data)
        self.first = None

    def _log(self, got):
        if self.first is None:
            self.first = got

    def read(self, n=-1):
        b = self.f.read(n)
        self._log(len(b))
        return b

    def readline(self):
        b = self.f.readline()
        self._log(len(b))
        return b

    def readinto(self, buf):
        n = self.f.readinto(buf)
        self._log(n)
        return n

    def tell(self):
        return self.f.tell()


def run(data, cls, reuse=False):
    global REC
    REC = Recorder()
    f = TrackedFile(data) if reuse else io.BytesIO(data)
    pickles, consumed, error, error_offset, eclass = 0, 0, None, None, None
    unpickler = None
    while True:
        if unpickler is None or not reuse:
            unpickler = cls(f)
        if reuse:
            f.first = None
        try:
            unpickler.load()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # MemoryError, RecursionError, anything: recorded
            if reuse and pickles and isinstance(e, EOFError) and f.first == 0:
                break  # nothing was buffered and the file is exhausted: a clean end
            error, error_offset, eclass = describe(e), f.tell(), error_class(e)
            break
        pickles += 1
        consumed = f.tell()
        if consumed >= len(data) and not reuse:
            break
    events = [[e[0], clean(e[1]), clean(e[2])] if e[0] == "global" else e for e in REC.events]
    mapped = [None if m is None else [clean(m[0]), clean(m[1])] for m in REC.mapped]
    return {
        "events": events,
        "pickles": pickles,
        "error": error,
        "error_class": eclass,
        "error_offset": error_offset,
        "consumed": consumed,
        "trailing": error is not None and pickles > 0,
        "mapped": mapped,
    }


def same(a, b):
    return (a["events"] == b["events"] and a["pickles"] == b["pickles"]
            and (a["error"] is None) == (b["error"] is None))


# --------------------------------------------------------------------------------------------
# Objects for pickle.dumps
# --------------------------------------------------------------------------------------------


class Reduce:
    """Pickles as whatever its reduce value says (callable because the pickler checks)."""

    def __init__(self, rv):
        self.rv = rv

    def __reduce__(self):
        rv = list(self.rv)
        for i in (3, 4):
            if len(rv) > i and rv[i] is not None:
                rv[i] = iter(rv[i])
        return tuple(rv)

    def __call__(self):
        return None


class Point:
    def __init__(self, x=0, y=0):
        self.x, self.y = x, y


class Stateful:
    def __init__(self, v=None):
        self.v = v

    def __getstate__(self):
        return {"v": self.v, "tag": "state"}

    def __setstate__(self, state):
        self.__dict__.update(state)


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a=1, b=2):
        self.a, self.b = a, b


class KwNew:
    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, a=1, *, b=2):
        self.a, self.b = a, b

    def __getnewargs_ex__(self):
        return (self.a,), {"b": self.b}


class Outer:
    class Inner:
        pass


class Singleton:
    def __reduce__(self):
        return "SINGLETON"


SINGLETON = Singleton()


class MyList(list):
    pass


class MyDict(dict):
    pass


TRICKY_STRINGS = [
    "", "a", "os", "system", "it's", 'say "hi"', "back\\slash", "new\nline", "cr\rlf\r\n",
    "tab\t", "\x00nul", "\x7f", "caf\u00e9", "\u20ac", "\U0001f600", "\u0100\u0101", "'\"'",
    "\\x73", "\\u0073", "\\163", "S'x'\n", "c\nos\nsystem\n", "\ud800", "a" * 300,
    "\x80\x81", "\xff", "L10\n", "I01\n",
]

REDUCERS = [
    lambda r: (os.system, ("echo pwned",)),
    lambda r: (eval, ("1+1",)),
    lambda r: (exec, ("x=1",)),
    lambda r: (getattr, (Reduce((__import__, ("builtins",))), "eval")),
    lambda r: (Reduce((getattr, (Reduce((__import__, ("os",))), "system"))), ("id",)),
    lambda r: (collections.OrderedDict, ()),
    lambda r: (collections.OrderedDict, (), None, None, [("a", 1), ("b", [2])]),
    lambda r: (list, (), None, [1, "x", None]),
    lambda r: (functools.partial, (int,)),
    lambda r: (functools.partial, (int, "10"), None),
    lambda r: (operator.attrgetter, ("a.b",)),
    lambda r: (operator.methodcaller, ("system", "x")),
    lambda r: (copyreg._reconstructor, (Point, object, None), {"x": 1}),
    lambda r: (copyreg.__newobj__, (Point, 1, 2), {"x": 1, "y": 2}),
    lambda r: (copyreg.__newobj__, (collections.OrderedDict,), None, None, [("k", "v")]),
    lambda r: (copyreg.__newobj_ex__, (KwNew, (1,), {"b": 3}), {"a": 1}),
    lambda r: (copyreg.__newobj_ex__, (Point, (), {}), None),
    lambda r: (codecs.encode, ("abc", "rot13")),
    lambda r: (__import__, ("subprocess",)),
    lambda r: (os.path.join, ("a", "b")),
    lambda r: (Point, (1, 2), ({"x": 1}, {"y": 2})),
    lambda r: (Stateful, (), {"v": 3}),
    lambda r: (dict, (), None, None, [("k", Reduce((os.system, ("x",))))]),
]


def rand_text(rng):
    if rng.random() < 0.5:
        return rng.choice(TRICKY_STRINGS)
    n = rng.randint(0, 12)
    alphabet = "abcxyz019 '\"\\\n\r\t\x00\x7f\u00e9\u20ac\U0001f600.()cSVIL"
    return "".join(rng.choice(alphabet) for _ in range(n))


def rand_scalar(rng):
    c = rng.randrange(12)
    if c == 0:
        return None
    if c == 1:
        return rng.random() < 0.5
    if c == 2:
        return rng.randint(-300, 300)
    if c == 3:
        return rng.choice([2**31 - 1, -2**31, 2**31, 2**32, 2**63, -2**63 - 1, 2**64, 10**50,
                           -(10**80), 255, 256, 65535, 65536])
    if c == 4:
        return rng.randint(-10**rng.randint(1, 900), 10**rng.randint(1, 900))
    if c == 5:
        return rng.choice([0.0, -0.0, 1.5, 1e300, -1e-300, float("inf"), float("-inf"),
                           float("nan"), 3.141592653589793])
    if c in (6, 7):
        return rand_text(rng)
    if c == 8:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 20)))
    if c == 9:
        return bytearray(rng.randrange(256) for _ in range(rng.randint(0, 5)))
    if c == 10:
        return complex(rng.randint(-5, 5), 1.5)
    return rng.choice([Ellipsis, NotImplemented, type(None), int, len, os.system,
                       collections.OrderedDict, Point, Outer.Inner, Outer, str.upper,
                       operator.itemgetter, eval, getattr, SINGLETON, ValueError("boom"),
                       range(3), slice(1, 5, 2), datetime.date(2020, 1, 2),
                       datetime.datetime(2021, 3, 4, 5, 6, 7), decimal.Decimal("1.5"),
                       fractions.Fraction(1, 3), KeyError, OSError(2, "x")])


def hashable(rng, depth):
    c = rng.randrange(5)
    if c == 0:
        return rng.randint(-1000, 1000)
    if c == 1:
        return rand_text(rng)
    if c == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 4)))
    if c == 3:
        return rng.choice([1.5, -2.0, 0.25])
    return tuple(hashable(rng, depth + 1) for _ in range(rng.randint(0, 3))) if depth < 3 else 7


def rand_obj(rng, depth=0, pool=None):
    if pool is None:
        pool = []
    if depth >= 4 or rng.random() < 0.3:
        o = rand_scalar(rng)
    else:
        c = rng.randrange(14)
        n = rng.randint(0, 5)
        if c == 0:
            o = [rand_obj(rng, depth + 1, pool) for _ in range(n)]
        elif c == 1:
            o = tuple(rand_obj(rng, depth + 1, pool) for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 8])))
        elif c == 2:
            o = {hashable(rng, 0): rand_obj(rng, depth + 1, pool) for _ in range(n)}
        elif c == 3:
            o = set(hashable(rng, 0) for _ in range(n))
        elif c == 4:
            o = frozenset(hashable(rng, 0) for _ in range(n))
        elif c in (5, 6, 7):
            rv = rng.choice(REDUCERS)(rng)
            o = Reduce(rv)
        elif c == 8:
            o = Point(rand_obj(rng, depth + 1, pool), rand_scalar(rng))
        elif c == 9:
            o = Stateful(rand_obj(rng, depth + 1, pool))
        elif c == 10:
            o = rng.choice([Slotted(1, rand_scalar(rng)), KwNew(2, b=rand_scalar(rng)),
                            MyList([1, 2]), MyDict(a=1)])
        elif c == 11:  # recursive structures (memo references to self)
            if rng.random() < 0.5:
                o = [1]
                o.append(o)
            else:
                o = {"a": 1}
                o["self"] = o
                o["t"] = (o, [o])
        elif c == 12 and pool:
            o = rng.choice(pool)  # shared reference -> GET
        else:
            o = functools.partial(rng.choice([int, float, os.system]), *[rand_scalar(rng)][:rng.randint(0, 1)])
    if rng.random() < 0.2:
        pool.append(o)
    return o


def gen_dumps(rng):
    proto = rng.randint(0, 5)
    obj = rand_obj(rng)
    if rng.random() < 0.3:
        obj = [obj, rand_obj(rng), obj]
    if proto == 5 and rng.random() < 0.2:
        obj = [obj, pickle.PickleBuffer(bytearray(b"writable")), pickle.PickleBuffer(b"readonly")]
    dumps = pickle._dumps if rng.random() < 0.3 else pickle.dumps
    return "dumps_p%d" % proto, safe_dumps(obj, proto, dumps, rng.random() < 0.8)


def safe_dumps(obj, proto, dumps=pickle.dumps, fix=True):
    try:
        return dumps(obj, protocol=proto, fix_imports=fix)
    except Exception:  # e.g. __slots__ below protocol 2, recursion through reduce args
        return pickle.dumps([1, "fallback", os.system], protocol=proto)


def gen_dumps_large(rng):
    proto = rng.choice([4, 5])
    n = rng.randint(70_000, 200_000)
    parts = [
        "x" * n,
        bytes(rng.randrange(256) for _ in range(1000)) * (n // 1000),
        [Reduce((os.system, ("echo %d" % i,))) for i in range(rng.randint(1, 3))],
        list(range(n // 8)),
        [rand_text(rng) for _ in range(n // 40)],
    ]
    rng.shuffle(parts)
    dumps = pickle._dumps if rng.random() < 0.5 else pickle.dumps
    return "dumps_large", dumps(parts, protocol=proto)


# --------------------------------------------------------------------------------------------
# Opcode-level builders
# --------------------------------------------------------------------------------------------

def enc(s):
    return s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s


def sbu(s):
    b = enc(s)
    return b"\x8c" + bytes([len(b)]) + b if len(b) < 256 else bu(s)


def bu(s):
    b = enc(s)
    return b"X" + struct.pack("<I", len(b)) + b


def bu8(s):
    b = enc(s)
    return b"\x8d" + struct.pack("<Q", len(b)) + b


def sbinstr(b):
    return b"U" + bytes([len(b)]) + b


def binstr(b):
    return b"T" + struct.pack("<i", len(b)) + b


def sbb(b):
    return b"C" + bytes([len(b)]) + b


def bb(b):
    return b"B" + struct.pack("<I", len(b)) + b


def bb8(b):
    return b"\x8e" + struct.pack("<Q", len(b)) + b


def ba8(b):
    return b"\x96" + struct.pack("<Q", len(b)) + b


def glob(m, n):
    return b"c" + enc(m) + b"\n" + enc(n) + b"\n"


def inst(m, n):
    return b"i" + enc(m) + b"\n" + enc(n) + b"\n"


def proto(n):
    return b"\x80" + bytes([n])


def frame(n):
    return b"\x95" + struct.pack("<Q", n)


def binput(i):
    return b"q" + bytes([i])


def long_binput(i):
    return b"r" + struct.pack("<I", i)


def binget(i):
    return b"h" + bytes([i])


def long_binget(i):
    return b"j" + struct.pack("<I", i)


def k1(v):
    return b"K" + bytes([v & 0xFF])


MARK, STOP, POP, POP_MARK, DUP = b"(", b".", b"0", b"1", b"2"
REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, OBJ = b"R", b"b", b"\x81", b"\x92", b"o"
STACK_GLOBAL, MEMOIZE, TUPLE, TUPLE1, TUPLE2, TUPLE3 = b"\x93", b"\x94", b"t", b"\x85", b"\x86", b"\x87"
EMPTY_TUPLE, EMPTY_LIST, EMPTY_DICT, EMPTY_SET = b")", b"]", b"}", b"\x8f"
APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS = b"a", b"e", b"s", b"u", b"\x90"
LIST, DICT, FROZENSET, NONE, TRUE, FALSE = b"l", b"d", b"\x91", b"N", b"\x88", b"\x89"

NAME_PAIRS = [
    ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
    ("__builtin__", "eval"), ("__builtin__", "getattr"), ("builtins", "getattr"),
    ("subprocess", "Popen"), ("collections", "OrderedDict"), ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"), ("torch._utils", "_rebuild_tensor_v2"),
    ("numpy.core.multiarray", "_reconstruct"), ("operator", "attrgetter"),
    ("functools", "partial"), ("os.path", "join"), ("__main__", "Evil"), ("urllib2", "urlopen"),
    ("UserDict", "UserDict"), ("exceptions", "ValueError"), ("__builtin__", "xrange"),
    ("builtins", "getattr.__call__"), ("os", "system.__self__"), ("webbrowser", "open"),
]
ODD_PAIRS = [
    ("", "system"), ("os", ""), ("o s", "sys tem"), (" os", "system "), ("os\r", "system\r"),
    ("m\u00f3dulo", "n\u00e4m\u00e9"), ("os", "sys\x00tem"), ("\u20ac", "\U0001f600"),
    ("os.", ".system"), ("..", "."), ("\t", "\t"),
]


def pair(rng, odd=0.15):
    return rng.choice(ODD_PAIRS if rng.random() < odd else NAME_PAIRS)


def args_tuple(rng):
    c = rng.randrange(5)
    if c == 0:
        return EMPTY_TUPLE
    if c == 1:
        return sbu("id") + TUPLE1
    if c == 2:
        return MARK + sbu("a") + k1(1) + NONE + TUPLE
    if c == 3:
        return k1(1) + k1(2) + TUPLE2
    return sbu("x") + sbu("y") + sbu("z") + TUPLE3


def head(rng):
    return proto(rng.choice([2, 3, 4, 5])) if rng.random() < 0.6 else b""


# Each generator returns bytes; its name (minus gen_) is the case kind.

def gen_text_string(rng):
    """STRING (S) names with escapes and quotes, then STACK_GLOBAL + REDUCE."""
    def esc(s):
        out = []
        for ch in s:
            c = rng.randrange(6)
            if c == 0:
                out.append("\\x%02x" % ord(ch))
            elif c == 1:
                out.append("\\%03o" % ord(ch))
            elif c == 2 and ch == "s":
                out.append("\\163")
            else:
                out.append(ch)
        return "".join(out).encode("latin-1")
    m, n = pair(rng, 0.05)
    parts = []
    for s in (m, n):
        try:
            raw = esc(s)
        except UnicodeEncodeError:
            raw = s.encode("utf-8")
        q = rng.choice([b"'", b'"', b"'", b"bad"])
        if q == b"bad":
            parts.append(b"S" + rng.choice([b"'" + raw + b'"', raw, b"'", b"'" + raw]) + b"\n")
        else:
            if rng.random() < 0.2:
                raw = raw + rng.choice([b"\\'", b'\\"', b"\\q", b"\\x7", b"\\\\", b"\\n", b"\xe9"])
            parts.append(b"S" + q + raw + q + b"\n")
    return head(rng) + parts[0] + parts[1] + STACK_GLOBAL + args_tuple(rng) + REDUCE + STOP


def gen_text_unicode(rng):
    """UNICODE (V, raw-unicode-escape) names, incl. \\u escapes and raw Latin-1/UTF-8 bytes."""
    def esc(s):
        out = b""
        for ch in s:
            c = rng.randrange(5)
            if c == 0 and ord(ch) < 0x10000:
                out += b"\\u%04x" % ord(ch)
            elif c == 1:
                out += b"\\U%08x" % ord(ch)
            elif ord(ch) < 256 and rng.random() < 0.5:
                out += bytes([ord(ch)])
            else:
                out += ch.encode("utf-8", "surrogatepass")
        if rng.random() < 0.15:
            out += rng.choice([b"\\u12", b"\\", b"\\x73", b"\xc3\xa9", b"\\ud800", b"\\U00110000"])
        return out
    m, n = pair(rng, 0.2)
    return (head(rng) + b"V" + esc(m) + b"\n" + b"V" + esc(n) + b"\n" + STACK_GLOBAL
            + args_tuple(rng) + REDUCE + STOP)


def gen_binstring(rng):
    """py2 str opcodes (T, U: decoded ASCII-strict to str) and bytes as STACK_GLOBAL operands."""
    m, n = pair(rng, 0.2)
    ops = [lambda s: sbinstr(enc(s)), lambda s: binstr(enc(s)), sbu, bu, bu8,
           lambda s: sbb(enc(s)), lambda s: bb(enc(s))]
    a, b = rng.choice(ops), rng.choice(ops)
    return head(rng) + a(m) + b(n) + STACK_GLOBAL + args_tuple(rng) + REDUCE + STOP


def gen_int_text(rng):
    """INT/LONG text forms (I01 bools, octal, hex, underscores, L suffix, >4300 digits)."""
    forms = [b"I01\n", b"I00\n", b"I1\n", b"I0\n", b"I010\n", b"I0x10\n", b"I 5\n", b"I5 \n",
             b"I1_000\n", b"I-0\n", b"I+7\n", b"I99999999999999999999\n", b"I\n", b"I0o17\n",
             b"L10L\n", b"L10\n", b"L\n", b"LL\n", b"L-5L\n", b"L0x1fL\n", b"L010L\n",
             b"I" + b"9" * 5000 + b"\n", b"L" + b"7" * 4301 + b"L\n", b"L0x" + b"f" * 5000 + b"L\n",
             b"I1", b"L5L", b"I01\r\n", b"I\xe9\n"]
    m, n = pair(rng)
    body = b"".join(rng.choice(forms) + POP for _ in range(rng.randint(1, 3)))
    return head(rng) + body + glob(m, n) + MARK + rng.choice(forms) + TUPLE + REDUCE + STOP


def gen_float_text(rng):
    forms = [b"F1.5\n", b"F 1.5\n", b"F1_0\n", b"Fnan\n", b"F-inf\n", b"Finfinity\n", b"F1e999\n",
             b"F\n", b"F0x10\n", b"F1.5 \n", b"F1,5\n", b"F.5\n", b"F1.\n", b"F1.5"]
    m, n = pair(rng)
    return head(rng) + glob(m, n) + rng.choice(forms) + TUPLE1 + REDUCE + STOP


def gen_persid(rng):
    m, n = pair(rng)
    c = rng.randrange(5)
    if c == 0:
        p = b"Pstorage_0\n"
    elif c == 1:
        p = b"P\xe9\n"
    elif c == 2:
        p = MARK + sbu("storage") + glob(m, n) + sbu("0") + TUPLE + b"Q"
    elif c == 3:
        p = b"Q"
    else:
        p = b"Pno newline"
    tail = rng.choice([b"", TUPLE1 + glob(m, n) + b"\x8c\x01x" + TUPLE1 + REDUCE + POP,
                       EMPTY_TUPLE + REDUCE])
    return head(rng) + p + tail + STOP


def gen_inst(rng):
    m, n = pair(rng, 0.3)
    c = rng.randrange(6)
    if c == 0:
        body = MARK + sbu("echo") + inst(m, n)
    elif c == 1:
        body = inst(m, n)  # no MARK: C fails before find_class, Python after
    elif c == 2:
        body = MARK + inst(m, n)  # no args: cls.__new__(cls)
    elif c == 3:
        body = MARK + b"i" + enc(m) + b"\n" + enc(n)  # missing final newline
    elif c == 4:
        body = MARK + b"i\xc3\xa9\nx\n"  # non-ASCII: INST decodes ASCII
    else:
        body = MARK + glob(m, n) + sbu("x") + OBJ  # OBJ sibling
    return head(rng) + body + STOP


def gen_global_lines(rng):
    m, n = pair(rng, 0.5)
    c = rng.randrange(7)
    if c == 0:
        g = glob(m, n)
    elif c == 1:
        g = b"c" + enc(m) + b"\n" + enc(n)  # no final newline (py chops the last char)
    elif c == 2:
        g = b"c" + enc(m) + b"\r\n" + enc(n) + b"\r\n"
    elif c == 3:
        g = b"c\xff\xfe\n" + enc(n) + b"\n"  # module not UTF-8
    elif c == 4:
        g = b"c" + enc(m) + b"\n\xed\xa0\x80\n"  # name is an encoded surrogate
    elif c == 5:
        g = b"c" + enc(m)
    else:
        g = b"c\n\n"
    call = rng.choice([args_tuple(rng) + REDUCE, b"", EMPTY_TUPLE + REDUCE + POP + NONE])
    return head(rng) + g + call + STOP


def gen_stack_global_memo(rng):
    """STACK_GLOBAL whose strings come back from the memo (all PUT/GET forms, DUP)."""
    m, n = pair(rng, 0.05)
    c = rng.randrange(8)
    if c == 0:
        body = sbu(m) + binput(1) + POP + sbu(n) + binput(2) + POP + binget(1) + binget(2)
    elif c == 1:
        body = sbu(m) + long_binput(70000) + POP + sbu(n) + long_binput(5) + POP + long_binget(70000) + long_binget(5)
    elif c == 2:
        put = rng.choice([b"3", b" 3", b"+3", b"03", b"3 ", b"3_0", b"-0", b"0x3", b"\xd9\xa3"])
        get = rng.choice([b"3", b" 3", b"+3", b"03", b"3_0", b"30", b"0"])
        body = sbu(m) + b"p" + put + b"\n" + POP + sbu(n) + b"p9\n" + POP + b"g" + get + b"\n" + b"g9\n"
    elif c == 3:
        body = sbu(m) + MEMOIZE + POP + sbu(n) + MEMOIZE + POP + binget(0) + binget(1)
    elif c == 4:  # memo key overwritten: the later string wins
        body = (sbu("harmless") + binput(0) + POP + sbu(m) + binput(0) + POP + sbu(n) + binput(1)
                + POP + binget(0) + binget(1))
    elif c == 5:  # PUT at an odd index, then MEMOIZE collides with len(memo)
        body = (sbu(n) + binput(1) + POP + sbu(m) + MEMOIZE + POP + sbu("x") + binput(0) + POP
                + binget(1) + binget(0))
    elif c == 6:
        body = rng.choice([sbu(m) + DUP + POP + sbu(n) + DUP + POP,  # m n
                           sbu(m) + DUP,                                 # m m
                           sbu(m) + sbu(n) + DUP + STACK_GLOBAL + POP + sbu(m) + sbu(n)])
    else:
        body = sbu(m) + binput(7) + sbu(n) + binput(8) + STACK_GLOBAL + POP + binget(7) + binget(8)
    return head(rng) + body + STACK_GLOBAL + args_tuple(rng) + REDUCE + STOP


def gen_stack_global_types(rng):
    m, n = pair(rng)
    ops = [sbu(m) + sbu(n), sbu(m) + k1(1), NONE + sbu(n), sbu(m) + sbb(b"system"),
           sbinstr(enc(m)) + sbinstr(enc(n)), sbu(n), b"", MARK + sbu(m) + sbu(n),
           sbu(m) + MARK + sbu(n), sbu(m) + sbu(n) + TUPLE2 + MARK + POP_MARK,
           glob(m, n) + sbu(n), EMPTY_LIST + sbu(n)]
    return head(rng) + rng.choice(ops) + STACK_GLOBAL + args_tuple(rng) + REDUCE + STOP


def gen_pop_tricks(rng):
    """POP/POP_MARK to drop imported (uncalled) callables, POP on a MARK, DUP'ed callables."""
    m, n = pair(rng)
    m2, n2 = pair(rng)
    ops = [
        glob(m, n) + POP + glob(m2, n2) + args_tuple(rng) + REDUCE,
        MARK + glob(m, n) + args_tuple(rng) + POP_MARK + NONE,
        MARK + glob(m, n) + POP + POP + glob(m2, n2),  # 2nd POP pops the MARK
        MARK + POP + glob(m, n) + EMPTY_TUPLE + REDUCE,
        glob(m, n) + DUP + EMPTY_TUPLE + REDUCE + POP + EMPTY_TUPLE + REDUCE,
        glob(m, n) + MARK + DUP,
        POP_MARK + glob(m, n),
        NONE + POP + POP + glob(m, n),
        glob(m, n) + binput(0) + POP + binget(0) + EMPTY_TUPLE + REDUCE,
        MARK + MARK + glob(m, n) + POP_MARK + POP_MARK + NONE,
        MARK + glob(m, n) + EMPTY_TUPLE + REDUCE + STOP,  # STOP inside a MARK
    ]
    return head(rng) + rng.choice(ops) + STOP


def gen_mark(rng):
    m, n = pair(rng)
    ops = [MARK + glob(m, n) + EMPTY_TUPLE, TUPLE, LIST, DICT, FROZENSET, APPENDS, SETITEMS,
           ADDITEMS, MARK, MARK + MARK + TUPLE, MARK + k1(1) + DICT, MARK + TUPLE + TUPLE,
           MARK + glob(m, n) + MARK + EMPTY_TUPLE + REDUCE, OBJ, MARK + OBJ, EMPTY_LIST + MARK + APPEND]
    body = b"".join(rng.choice(ops) for _ in range(rng.randint(1, 3)))
    return head(rng) + body + glob(m, n) + EMPTY_TUPLE + REDUCE + STOP


def inner_pickle(rng):
    m, n = pair(rng)
    return proto(rng.choice([2, 4])) + glob(m, n) + sbu("id") + TUPLE1 + REDUCE + STOP


def gen_nested(rng):
    """A pickle inside a bytes payload: CPython never loads it (it is just bytes) unless
    something is called with it."""
    inner = inner_pickle(rng)
    wrap = rng.choice([sbb, bb, bb8, ba8, lambda b: sbinstr(b), lambda b: binstr(b)])
    c = rng.randrange(3)
    if c == 0:
        body = wrap(inner)
    elif c == 1:
        body = glob("pickle", "loads") + wrap(inner) + TUPLE1 + REDUCE
    else:
        body = glob("_pickle", "loads") + MARK + wrap(inner) + TUPLE + REDUCE + POP + wrap(inner[:-1])
    return head(rng) + body + STOP


def gen_ext(rng):
    c = rng.choice([b"\x82\x01", b"\x82\x00", b"\x83\x01\x02", b"\x83\x00\x00",
                    b"\x84\x01\x00\x00\x00", b"\x84\xff\xff\xff\xff", b"\x84\x00\x00\x00\x80",
                    b"\x82", b"\x84\x01"])
    m, n = pair(rng)
    return head(rng) + glob(m, n) + POP + c + EMPTY_TUPLE + REDUCE + STOP


def op_bounds(body):
    """Offsets where an opcode starts (walks the body with pickletools; stops at garbage)."""
    out = []
    try:
        for _, _, pos in pickletools.genops(body):
            out.append(pos)
    except Exception:
        pass
    return out or [0]


def framed(body, rng):
    mode = rng.randrange(9)
    n = len(body)
    if mode == 0:
        return frame(n) + body
    if mode == 1:
        return frame(max(0, n - rng.randint(1, min(n, 12)))) + body  # too short: straddles
    if mode == 2:
        return frame(n + rng.randint(1, 50)) + body  # longer than the data
    if mode == 3:
        return frame(0) + body
    if mode == 4:
        return frame(2**62) + body
    if mode == 5:  # a frame header inside a frame, at an opcode boundary
        cut = rng.choice(op_bounds(body))
        inner = rng.choice([n - cut, max(0, n - cut - rng.randint(1, 5)), n - cut + 3])
        return frame(cut + 9 + n - cut) + body[:cut] + frame(inner) + body[cut:]
    if mode == 6:  # bytes after STOP inside the frame (skipped by a fresh Unpickler)
        extra = glob("os", "system") + sbu("x") + TUPLE1 + REDUCE + STOP
        return frame(n + len(extra)) + body + extra
    if mode == 7:  # two frames split at an opcode boundary (valid) or anywhere
        cut = rng.choice(op_bounds(body)) if rng.random() < 0.6 else rng.randint(0, n)
        return frame(cut) + body[:cut] + frame(n - cut) + body[cut:]
    return frame(n)[:rng.randint(1, 8)]  # truncated frame header


def gen_frame(rng):
    m, n = pair(rng)
    body = glob(m, n) + sbu("echo hi") + TUPLE1 + REDUCE + STOP
    if rng.random() < 0.5:
        body = sbu(m) + sbu(n) + STACK_GLOBAL + sbu("x") + TUPLE1 + REDUCE + STOP
    return proto(rng.choice([4, 5, 2])) + framed(body, rng)


def gen_frame_straddle(rng):
    """The frame ends inside an opcode's argument. The C unpickler then DROPS the rest of the
    frame and reads the whole argument (or line) afresh from after the frame; pure Python
    raises "pickle exhausted before end of frame"; a linear reader sees a third thing."""
    m, n = pair(rng, 0.0)
    decoy = rng.choice(["len", "abc", "dir", "x", "sys"])
    c = rng.randrange(4)
    if c == 0:  # GLOBAL name line split: C imports (m, n), a linear reader (m, decoy + n)
        inside = glob(m, "")[:-1] + decoy.encode()
        after = enc(n) + b"\n"
    elif c == 1:  # SHORT_BINUNICODE payload split: C reads the name whole from after the frame
        nb = enc(n)
        k = rng.randint(1, max(1, len(nb) - 1))
        inside = sbu(m) + b"\x8c" + bytes([len(nb)]) + decoy.encode()[:k]
        after = nb
    elif c == 2:  # module line split
        inside = b"c" + decoy.encode()
        after = enc(m) + b"\n" + enc(n) + b"\n"
    else:  # BINUNICODE length itself split
        nb = enc(n)
        inside = sbu(m) + b"X" + struct.pack("<I", len(nb))[:2]
        after = struct.pack("<I", len(nb)) + nb
    tail = (STACK_GLOBAL if c in (1, 3) else b"") + sbu("id") + TUPLE1 + REDUCE + STOP
    return proto(4) + frame(len(inside)) + inside + after + tail


def gen_concat(rng):
    """Several pickles back to back (any first opcode), possibly junk or a truncated one after."""
    parts = []
    for _ in range(rng.randint(2, 4)):
        c = rng.randrange(6)
        m, n = pair(rng)
        if c == 0:
            parts.append(safe_dumps(rand_obj(rng), rng.randint(0, 5)) if rng.random() < 0.5
                         else inner_pickle(rng))
        elif c == 1:
            parts.append(glob(m, n) + EMPTY_TUPLE + REDUCE + STOP)  # starts with 'c'
        elif c == 2:
            parts.append(rng.choice([k1(1), EMPTY_LIST, NONE, b"I5\n", sbu("x"), EMPTY_DICT, TRUE])
                         + POP + glob(m, n) + STOP)
        elif c == 3:
            parts.append(MARK + glob(m, n) + sbu("a") + OBJ + STOP)
        elif c == 4:
            parts.append(NONE + STOP)
        else:
            parts.append(proto(4) + frame(3) + NONE + STOP + glob(m, n) + STOP)
    tail = rng.choice([b"", b"", b"\x00", b"junk", b"\n", b"garbage" * 3, STOP,
                       inner_pickle(rng)[:-3], b"\x80", b"\x80\x09N."])
    return b"".join(parts) + tail


def gen_memo_reuse(rng):
    """A second pickle that GETs what the first memoized (only a reused Unpickler has it)."""
    m, n = pair(rng)
    first = proto(2) + sbu(m) + binput(0) + sbu(n) + binput(1) + TUPLE2 + STOP
    second = proto(4) + binget(0) + binget(1) + STACK_GLOBAL + EMPTY_TUPLE + REDUCE + STOP
    return first + second


def gen_junk(rng):
    base = inner_pickle(rng)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    return base + junk


def gen_unknown_opcode(rng):
    bad = rng.choice([0x00, 0x01, 0x0A, ord("A"), ord("D"), ord("E"), ord("H"), ord("O"), ord("W"),
                      ord("Y"), ord("Z"), ord("["), ord("\\"), ord("^"), ord("f"), ord("k"),
                      ord("m"), ord("n"), ord("v"), ord("w"), ord("x"), ord("y"), ord("z"),
                      0x7F, 0x99, 0xA0, 0xFF])
    m, n = pair(rng)
    pre = glob(m, n) if rng.random() < 0.5 else b""
    return head(rng) + pre + bytes([bad]) + glob(m, n) + EMPTY_TUPLE + REDUCE + STOP


def gen_reduce(rng):
    """REDUCE on non-callables, non-tuple args, and on results of calls (getattr pattern)."""
    m, n = pair(rng)
    ops = [
        k1(1) + EMPTY_TUPLE + REDUCE,
        NONE + EMPTY_TUPLE + REDUCE,
        sbu("os") + EMPTY_TUPLE + REDUCE,
        glob(m, n) + EMPTY_LIST + REDUCE,                     # list args
        glob(m, n) + sbu("abc") + REDUCE,                     # str args: iterable
        glob(m, n) + EMPTY_DICT + REDUCE,
        glob(m, n) + NONE + REDUCE,
        glob(m, n) + EMPTY_LIST + sbu("a") + APPEND + REDUCE,
        glob("builtins", "getattr") + MARK + glob("builtins", "__import__") + sbu("os") + TUPLE1
        + REDUCE + sbu("system") + TUPLE + REDUCE + sbu("id") + TUPLE1 + REDUCE,
        glob(m, n) + EMPTY_TUPLE + REDUCE + EMPTY_TUPLE + REDUCE + EMPTY_TUPLE + REDUCE,
        glob(m, n) + REDUCE,
        REDUCE,
        glob(m, n) + EMPTY_TUPLE + EMPTY_TUPLE + REDUCE,       # () called
    ]
    return head(rng) + rng.choice(ops) + STOP


def gen_newobj(rng):
    m, n = pair(rng)
    g = glob(m, n)
    ops = [
        g + EMPTY_TUPLE + NEWOBJ,
        g + sbu("x") + TUPLE1 + NEWOBJ,
        g + EMPTY_LIST + NEWOBJ,                             # list args: C refuses, py calls
        g + EMPTY_TUPLE + REDUCE + EMPTY_TUPLE + NEWOBJ,     # on an instance
        k1(1) + EMPTY_TUPLE + NEWOBJ,
        g + EMPTY_TUPLE + EMPTY_DICT + NEWOBJ_EX,
        g + EMPTY_TUPLE + EMPTY_DICT + sbu("k") + k1(1) + SETITEM + NEWOBJ_EX,
        g + EMPTY_TUPLE + EMPTY_LIST + NEWOBJ_EX,             # kwargs not a dict
        g + EMPTY_TUPLE + EMPTY_DICT + k1(1) + k1(1) + SETITEM + NEWOBJ_EX,  # non-str key
        g + EMPTY_DICT + NEWOBJ_EX,
        g + NEWOBJ,
        g + binput(0) + EMPTY_TUPLE + NEWOBJ + binget(0) + EMPTY_TUPLE + NEWOBJ + TUPLE2,
        MARK + g + OBJ,                                       # OBJ no args -> __new__
        MARK + g + k1(1) + OBJ,
        MARK + g + EMPTY_TUPLE + REDUCE + OBJ,                 # OBJ on an instance
        MARK + k1(3) + OBJ,
        MARK + OBJ,
        b"P0\n" + EMPTY_TUPLE + REDUCE,                       # call a persistent stub
    ]
    return head(rng) + rng.choice(ops) + STOP


def gen_build(rng):
    m, n = pair(rng)
    target = rng.choice([glob(m, n), glob(m, n) + EMPTY_TUPLE + REDUCE, EMPTY_DICT, EMPTY_LIST,
                         k1(1), NONE, sbu("s"), glob(m, n) + EMPTY_TUPLE + NEWOBJ])
    state = rng.choice([NONE, k1(0), EMPTY_DICT, EMPTY_DICT + sbu("a") + k1(1) + SETITEM,
                        NONE + EMPTY_DICT + sbu("__class__") + glob(m, n) + SETITEM + TUPLE2,
                        EMPTY_TUPLE, sbu(""), k1(1), glob(m, n),
                        EMPTY_DICT + sbu("x") + glob(m, n) + EMPTY_TUPLE + REDUCE + SETITEM])
    return head(rng) + target + state + BUILD + rng.choice([b"", BUILD, state + BUILD]) + STOP


def gen_containers(rng):
    """SETITEM(S)/APPEND(S)/ADDITEMS on the wrong types, odd item counts, empty batches."""
    m, n = pair(rng)
    g = glob(m, n)
    target = rng.choice([EMPTY_DICT, EMPTY_LIST, EMPTY_SET, k1(1), sbu("s"), NONE, g,
                         g + EMPTY_TUPLE + REDUCE, EMPTY_TUPLE, MARK + FROZENSET])
    op = rng.choice([
        sbu("k") + g + SETITEM, MARK + sbu("k") + g + SETITEMS, MARK + SETITEMS,
        MARK + sbu("k") + SETITEMS, g + APPEND, MARK + g + k1(1) + APPENDS, MARK + APPENDS,
        MARK + g + ADDITEMS, MARK + ADDITEMS, EMPTY_LIST + g + SETITEM, SETITEM, APPEND,
        MARK + MARK + APPENDS,
    ])
    return head(rng) + target + op + rng.choice([b"", g + EMPTY_TUPLE + REDUCE + POP]) + STOP


def gen_proto_header(rng):
    m, n = pair(rng)
    h = rng.choice([proto(0), proto(1), proto(2), proto(3), proto(5), proto(6), proto(0xFF),
                    b"\x80", proto(2) + proto(4), proto(4) + proto(2)])
    mid = rng.choice([b"", proto(3), proto(2), proto(9)])
    g1 = glob("__builtin__", "eval")
    return h + g1 + POP + mid + glob(m, n) + EMPTY_TUPLE + REDUCE + STOP


def gen_buffers(rng):
    m, n = pair(rng)
    op = rng.choice([b"\x97", sbb(b"abc") + b"\x98", k1(1) + b"\x98", b"\x98", ba8(b"xy") + b"\x98",
                     EMPTY_LIST + b"\x98", ba8(b"") + POP])
    return proto(5) + op + POP + glob(m, n) + EMPTY_TUPLE + REDUCE + STOP


def gen_memo_odd(rng):
    m, n = pair(rng)
    op = rng.choice([
        sbu(m) + long_binput(0xFFFFFFFF) + POP, sbu(m) + long_binput(0x80000000) + POP,
        sbu(m) + b"p99999999999999999999\n" + POP, sbu(m) + b"p-1\n" + POP,
        sbu(m) + b"p\n" + POP, b"p0\n", binput(0), MEMOIZE, MARK + MEMOIZE,
        MARK + binput(0), b"g0\n", binget(0), long_binget(0xFFFFFFFF),
        sbu(m) + b"p1" + POP, sbu(m) + b"pa\n" + POP + b"ga\n",
        sbu(m) + binput(0) + POP + b"g0\n" + b"g00\n" + b"g 0\n" + POP + POP + POP,
    ])
    return head(rng) + op + glob(m, n) + EMPTY_TUPLE + REDUCE + STOP


def gen_empty_stop(rng):
    return rng.choice([STOP, MARK + STOP, EMPTY_LIST + POP + STOP, proto(4) + STOP, b"",
                       MARK + k1(1) + STOP, k1(1) + MARK + STOP, NONE + MARK + POP + STOP,
                       glob("os", "system") + MARK + STOP, proto(2), b"\x80\x02\x95"])


# --------------------------------------------------------------------------------------------
# Random opcode programs over a typed stack model (mostly valid, sometimes not)
# --------------------------------------------------------------------------------------------

def gen_random_ops(rng):
    out = [proto(rng.choice([0, 2, 3, 4, 5]))] if rng.random() < 0.7 else []
    stack = []  # types: str int none tup list dict set callable obj mark bytes
    memo = {}
    strpool = [p for pr in NAME_PAIRS for p in pr] + ["", "x", "\u20ac", "a.b"]

    def top_ok(k=1):
        if len(stack) < k:
            return False
        return all(t != "mark" for t in stack[-k:])

    def push_str():
        s = rng.choice(strpool)
        c = rng.randrange(9)
        if c <= 3:
            out.append(sbu(s))
        elif c == 4:
            out.append(bu(s))
        elif c == 5:
            out.append(bu8(s))
        elif c == 6 and "\n" not in s:
            out.append(b"V" + s.encode("raw_unicode_escape") + b"\n")
        elif c == 7 and s.isascii() and "\n" not in s and "\\" not in s:
            out.append(b"S'" + s.encode() + b"'\n")
        else:
            out.append(sbinstr(s.encode("utf-8")) if s.isascii() else sbu(s))
        stack.append("str")

    steps = rng.randint(3, 40)
    for _ in range(steps):
        cands = []
        cands += ["str"] * 6 + ["int", "none", "emptytup", "emptylist", "emptydict", "bytes", "mark",
                                "global"] * 2
        if top_ok(2) and stack[-1] == "str" and stack[-2] == "str":
            cands += ["stack_global"] * 8
        if top_ok(2) and stack[-2] == "callable" and stack[-1] in ("tup",):
            cands += ["reduce"] * 6 + ["newobj"] * 3
        if top_ok(3) and stack[-3] == "callable" and stack[-2] == "tup" and stack[-1] == "dict":
            cands += ["newobj_ex"] * 4
        if top_ok(2) and stack[-2] in ("callable", "obj") and stack[-1] in ("tup", "obj"):
            cands += ["reduce"] * 2
        if "mark" in stack:
            cands += ["tuple", "list", "obj", "inst", "pop_mark"]
            mi = len(stack) - 1 - stack[::-1].index("mark")
            if mi > 0 and stack[mi - 1] == "list":
                cands += ["appends"] * 3
            if mi > 0 and stack[mi - 1] == "dict" and (len(stack) - mi - 1) % 2 == 0:
                cands += ["setitems"] * 3
            if mi < len(stack) - 1 and stack[mi + 1] == "callable":
                cands += ["obj"] * 3
        if top_ok(1):
            cands += ["put", "dup", "pop", "tuple1"]
        if top_ok(2):
            cands += ["tuple2", "build"]
            if stack[-2] == "list":
                cands += ["append"] * 3
        if top_ok(3):
            cands += ["tuple3"]
            if stack[-3] == "dict" and stack[-2] in ("str", "int", "none"):
                cands += ["setitem"] * 3
        if memo:
            cands += ["get"] * 3
        if rng.random() < 0.06:
            cands = ["any"]
        op = rng.choice(cands)
        if op == "any":
            op = rng.choice(["stack_global", "reduce", "newobj", "tuple", "append", "setitem",
                             "build", "pop", "pop_mark", "dup", "put", "get", "obj", "inst",
                             "setitems", "appends", "tuple3", "newobj_ex", "persid", "frame"])
        m, n = pair(rng, 0.1)
        if op == "str":
            push_str()
        elif op == "int":
            out.append(rng.choice([k1(rng.randrange(256)), b"I%d\n" % rng.randint(-9, 99),
                                   b"M\x01\x02", b"J\xff\xff\xff\xff", TRUE, FALSE, b"\x8a\x01\x05"]))
            stack.append("int")
        elif op == "none":
            out.append(NONE)
            stack.append("none")
        elif op == "emptytup":
            out.append(EMPTY_TUPLE)
            stack.append("tup")
        elif op == "emptylist":
            out.append(EMPTY_LIST)
            stack.append("list")
        elif op == "emptydict":
            out.append(EMPTY_DICT)
            stack.append("dict")
        elif op == "bytes":
            out.append(sbb(b"data"))
            stack.append("bytes")
        elif op == "mark":
            out.append(MARK)
            stack.append("mark")
        elif op == "global":
            out.append(glob(m, n))
            stack.append("callable")
        elif op == "stack_global":
            out.append(STACK_GLOBAL)
            del stack[-2:]
            stack.append("callable")
        elif op in ("reduce", "newobj"):
            out.append(REDUCE if op == "reduce" else NEWOBJ)
            del stack[-2:]
            stack.append("obj")
        elif op == "newobj_ex":
            out.append(NEWOBJ_EX)
            del stack[-3:]
            stack.append("obj")
        elif op in ("tuple", "list", "obj", "inst", "pop_mark", "appends", "setitems"):
            if op == "inst":
                out.append(inst(m.replace("\n", ""), n.replace("\n", "")) if (m + n).isascii() else inst("os", "system"))
            else:
                out.append({"tuple": TUPLE, "list": LIST, "obj": OBJ, "pop_mark": POP_MARK,
                            "appends": APPENDS, "setitems": SETITEMS}[op])
            if "mark" in stack:
                mi = len(stack) - 1 - stack[::-1].index("mark")
                del stack[mi:]
            else:
                stack.clear()
            if op in ("tuple", "list", "obj", "inst"):
                stack.append({"tuple": "tup", "list": "list", "obj": "obj", "inst": "obj"}[op])
        elif op == "put":
            c = rng.randrange(4)
            i = rng.choice([0, 1, 2, 3, 300])
            if c == 0:
                out.append(binput(i % 256))
                i %= 256
            elif c == 1:
                out.append(long_binput(i))
            elif c == 2:
                out.append(b"p%d\n" % i)
            else:
                i = len(memo)
                out.append(MEMOIZE)
            memo[i] = stack[-1] if stack else "none"
        elif op == "get":
            i = rng.choice(list(memo) or [0])
            c = rng.randrange(3)
            out.append(binget(i) if c == 0 and i < 256 else long_binget(i) if c == 1 else b"g%d\n" % i)
            stack.append(memo.get(i, "none"))
        elif op == "dup":
            out.append(DUP)
            stack.append(stack[-1] if stack else "none")
        elif op == "pop":
            out.append(POP)
            if stack:
                stack.pop()
        elif op in ("tuple1", "tuple2", "tuple3"):
            k = int(op[-1])
            out.append({1: TUPLE1, 2: TUPLE2, 3: TUPLE3}[k])
            del stack[-k:]
            stack.append("tup")
        elif op == "build":
            out.append(BUILD)
            if stack:
                stack.pop()
        elif op == "append":
            out.append(APPEND)
            if stack:
                stack.pop()
        elif op == "setitem":
            out.append(SETITEM)
            del stack[-2:]
        elif op == "persid":
            out.append(b"Ppid\n")
            stack.append("obj")
        elif op == "frame":
            out.append(frame(rng.randint(0, 40)))
    if stack and stack[-1] == "mark" and rng.random() < 0.7:
        out.append(NONE)
    out.append(STOP)
    data = b"".join(out)
    if rng.random() < 0.15 and data[:1] == b"\x80":  # wrap in a correct frame
        data = data[:2] + frame(len(data) - 2) + data[2:]
    return data


# --------------------------------------------------------------------------------------------
# Mutations
# --------------------------------------------------------------------------------------------

OPCODE_BYTES = bytes(sorted({op[0] for op in (pickle.__dict__[k] for k in dir(pickle) if k.isupper())
                             if isinstance(op, bytes) and len(op) == 1}))


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        c = rng.randrange(6)
        if not data:
            data.append(rng.choice(OPCODE_BYTES))
            continue
        i = rng.randrange(len(data))
        if c == 0:
            data[i] = rng.randrange(256)
        elif c == 1:
            data[i] = rng.choice(OPCODE_BYTES)
        elif c == 2:
            data.insert(i, rng.choice(OPCODE_BYTES))
        elif c == 3:
            del data[i:i + rng.randint(1, 4)]
        elif c == 4:
            j = rng.randrange(len(data))
            data[i:i] = data[j:j + rng.randint(1, 12)]
        else:
            data[i] ^= 1 << rng.randrange(8)
    return bytes(data)


HANDCRAFTED = [
    (gen_text_string, 6), (gen_text_unicode, 5), (gen_binstring, 4), (gen_int_text, 4),
    (gen_float_text, 2), (gen_persid, 3), (gen_inst, 4), (gen_global_lines, 5),
    (gen_stack_global_memo, 7), (gen_stack_global_types, 4), (gen_pop_tricks, 5), (gen_mark, 4),
    (gen_nested, 3), (gen_ext, 2), (gen_frame, 6), (gen_frame_straddle, 3), (gen_concat, 6), (gen_memo_reuse, 1),
    (gen_junk, 2), (gen_unknown_opcode, 2), (gen_reduce, 5), (gen_newobj, 5), (gen_build, 4),
    (gen_containers, 4), (gen_proto_header, 3), (gen_buffers, 2), (gen_memo_odd, 3),
    (gen_empty_stop, 1),
]


def generate(count, seed):
    rng = random.Random(seed)
    cases = []
    n_large = max(1, count // 400)
    n_dumps = int(count * 0.30) - n_large
    n_hand = int(count * 0.33)
    n_rand = int(count * 0.17)
    n_mut = count - n_large - n_dumps - n_hand - n_rand
    for _ in range(n_large):
        cases.append(gen_dumps_large(rng))
    for _ in range(n_dumps):
        cases.append(gen_dumps(rng))
    funcs, weights = zip(*HANDCRAFTED)
    for _ in range(n_hand):
        f = rng.choices(funcs, weights)[0]
        cases.append((f.__name__[4:], f(rng)))
    for _ in range(n_rand):
        cases.append(("random_ops", gen_random_ops(rng)))
    bases = [d for _, d in cases if len(d) < 5000]
    for _ in range(n_mut):
        base = rng.choice(bases)
        if rng.random() < 0.25:
            cases.append(("truncate", base[:rng.randrange(len(base) + 1)]))
        else:
            cases.append(("mutate", mutate(rng, base)))
    order = list(range(len(cases)))
    rng.shuffle(order)
    return [cases[i] for i in order]


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--examples", type=int, default=6, help="disagreement examples to print")
    args = ap.parse_args()

    # Guards: no allocation CPython attempts for a hostile length may take the machine down
    # (the C memo is an array sized by the largest PUT index; BINBYTES allocates up front).
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = 1 << 30
    if hard == resource.RLIM_INFINITY or hard > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    sys.setrecursionlimit(3000)
    assert not copyreg._inverted_registry and not copyreg._extension_cache, \
        "the extension registry must be empty (stock CPython)"

    t0 = time.monotonic()
    os.makedirs(args.outdir, exist_ok=True)
    cases = generate(args.count, args.seed)
    t_gen = time.monotonic() - t0

    by_kind = collections.Counter()
    stats = collections.Counter()
    disagree = []
    reuse_diff = []
    modules_before = set(sys.modules)
    # CPython's C code prints some things straight to fd 2 (3.11's bytearray_dealloc says
    # "deallocated bytearray object has exported buffers" after a failed huge BYTEARRAY8
    # allocation): collected here and summarised instead of interleaved with the report.
    sys.stderr.flush()
    noise = tempfile.TemporaryFile()
    saved_fd2 = os.dup(2)
    os.dup2(noise.fileno(), 2)
    try:
        write_cases(args, cases, by_kind, stats, disagree, reuse_diff)
    finally:
        os.dup2(saved_fd2, 2)
        os.close(saved_fd2)
    noise.seek(0)
    noise_lines = noise.read().decode("utf-8", "replace").splitlines()
    new_modules = set(sys.modules) - modules_before
    assert not new_modules, "loading imported modules: %s" % sorted(new_modules)
    elapsed = time.monotonic() - t0
    report(args, cases, elapsed, t_gen, by_kind, stats, disagree, reuse_diff, noise_lines)


def write_cases(args, cases, by_kind, stats, disagree, reuse_diff):
    with open(os.path.join(args.outdir, "expected.jsonl"), "w", encoding="utf-8") as out:
        for i, (kind, data) in enumerate(cases):
            name = "case_%05d.pkl" % i
            with open(os.path.join(args.outdir, name), "wb") as f:
                f.write(data)
            c = run(data, CUnpickler)
            py = run(data, PyUnpickler)
            cr = run(data, CUnpickler, reuse=True)
            agree = same(c, py)
            line = {"case": name, "kind": kind, "agree": agree, "c": c, "py": py}
            if not same(c, cr):
                line["c_reuse"] = cr
                reuse_diff.append((name, kind))
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            by_kind[kind] += 1
            for impl, r in (("c", c), ("py", py)):
                stats[impl, "ok" if r["error"] is None else "error"] += 1
                stats[impl, "globals"] += sum(1 for e in r["events"] if e[0] == "global")
                stats[impl, "calls"] += sum(1 for e in r["events"] if e[0] == "call" and e[1] >= 0)
                stats[impl, "persid"] += any(e[0] == "persid" for e in r["events"])
                stats[impl, "trailing"] += r["trailing"]
                stats[impl, "multi"] += r["pickles"] > 1
            if not agree:
                disagree.append((name, kind, c, py))


def report(args, cases, elapsed, t_gen, by_kind, stats, disagree, reuse_diff, noise_lines):
    print("wrote %d cases to %s in %.1fs (generation %.1fs)" % (len(cases), args.outdir, elapsed, t_gen))
    print("\ncases by kind:")
    for kind, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
        print("  %-22s %5d" % (kind, n))
    for impl in ("c", "py"):
        print("\n%s: loaded fully %d, errored %d; %d global events, %d calls on a global, "
              "%d need persistent_load, %d with >1 pickle, %d with trailing non-pickle bytes"
              % (impl, stats[impl, "ok"], stats[impl, "error"], stats[impl, "globals"],
                 stats[impl, "calls"], stats[impl, "persid"], stats[impl, "multi"],
                 stats[impl, "trailing"]))
    cats = collections.Counter()
    for name, kind, c, py in disagree:
        if c["events"] != py["events"]:
            cats["events differ"] += 1
        if (c["error"] is None) != (py["error"] is None):
            cats["only C errors" if py["error"] is None else "only Python errors"] += 1
        if c["pickles"] != py["pickles"]:
            cats["pickle counts differ"] += 1
    print("\nC vs pure-Python disagreements (events, pickles or error presence): %d  %s"
          % (len(disagree), dict(cats)))
    kinds = collections.Counter(k for _, k, _, _ in disagree)
    print("  by kind:", dict(kinds.most_common()))
    shown = set()
    for name, kind, c, py in disagree:
        if len(shown) >= args.examples:
            break
        if kind in shown:
            continue
        shown.add(kind)
        data = open(os.path.join(args.outdir, name), "rb").read()
        print("  %s [%s] %r" % (name, kind, data[:90]))
        for impl, r in (("c ", c), ("py", py)):
            print("     %s events=%s pickles=%d error=%s" % (impl, json.dumps(r["events"])[:150],
                                                            r["pickles"], r["error"]))
    print("\nreused C Unpickler differs from fresh ones in %d cases %s"
          % (len(reuse_diff), dict(collections.Counter(k for _, k in reuse_diff))))
    classes = collections.Counter()
    for line in open(os.path.join(args.outdir, "expected.jsonl"), encoding="utf-8"):
        classes[json.loads(line)["c"]["error_class"]] += 1
    print("C error classes:", {str(k): v for k, v in classes.items()})
    print("nothing was imported while loading; CPython wrote %d line(s) to stderr%s"
          % (len(noise_lines), (": " + repr(collections.Counter(noise_lines).most_common(2)))
             if noise_lines else ""))


if __name__ == "__main__":
    main()
