//! A pickle opcode parser (protocols 0–5) that never executes anything: it follows the
//! stack and memo symbolically so every import — `GLOBAL`, `STACK_GLOBAL` built from
//! memoised or duplicated strings, `INST`, `OBJ`, `REDUCE`, `NEWOBJ(_EX)`, `EXT1/2/4` — is
//! resolved to the callable it reaches, and whether it is called. Malformed input is
//! evidence: truncation, unknown opcodes, junk after `STOP` and concatenated pickles are
//! reported while the parseable part is still analysed.
//!
//! Memory does not grow with the number of opcodes: the stack and memo hold small symbols
//! (strings up to [`MAX_NAME_BYTES`], byte payloads as offsets), bounded by named limits.

mod calls;
mod inline;
mod text;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::classify::{Class, classify, compat_name};
use inline::Dtype;
pub use inline::{LegacyMember, analyze_legacy};
use text::{
    escape_decode, memo_index, python_float, raw_unicode_escape_decode, text_int,
    utf8_surrogatepass,
};

/// Longest string kept as a possible module or attribute name.
pub const MAX_NAME_BYTES: usize = 1024;
/// Deepest stack followed (deeper is reported and analysis stops).
pub const MAX_STACK: usize = 1 << 20;
/// Most memo entries followed.
pub const MAX_MEMO: usize = 1 << 22;
/// Largest memo index taken as plausible: the C unpickler allocates an array of twice the
/// index (16 bytes an entry), so beyond this the loader itself runs out of memory.
const MAX_MEMO_INDEX: u64 = 1 << 26;
/// Deepest nesting of pickles inside pickled bytes.
pub const MAX_NESTING: usize = 4;

/// An import the pickle makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Module.
    pub module: String,
    /// Attribute.
    pub name: String,
    /// Byte offset of the opcode that imports it.
    pub offset: u64,
    /// The opcode (`GLOBAL`, `STACK_GLOBAL`, `INST`, `EXT1`, ...).
    pub opcode: &'static str,
    /// Whether the callable is reached by a call (`REDUCE`, `OBJ`, `INST`, `NEWOBJ`, ...).
    pub called: bool,
    /// How it is judged.
    pub class: Class,
    /// Handed to a callable that calls it (`functools.partial(f)`, numpy's
    /// `__randomstate_ctor(name, f)`): as good as called, though not by the loader itself.
    pub wrapped: bool,
    /// Found by an alternative reading of bytes whose layout is in doubt (after a joblib
    /// array of unknown size, or an argument that runs past its frame), not by the loader's
    /// own reading.
    pub alternative: bool,
    /// The module and name CPython actually imports (Python 2 names of protocol 0–2
    /// pickles mapped as `_compat_pickle` does: `__builtin__.eval` is `builtins.eval`).
    pub target: (String, String),
}

/// Something wrong with the pickle itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// The stream ends inside an opcode or before `STOP`.
    Truncated,
    /// A byte that is not a pickle opcode.
    UnknownOpcode(u8),
    /// An opcode needs more stack than there is.
    StackUnderflow(&'static str),
    /// A memo index that was never stored.
    MissingMemo(u64),
    /// An opcode argument is malformed.
    BadArgument(&'static str),
    /// `STACK_GLOBAL` on values that are not strings: the callable cannot be resolved.
    UnresolvedGlobal,
    /// An extension-registry code (`EXT1/2/4`): resolved by the loader's registry.
    Extension(u32),
    /// Bytes after the final `STOP` that are not another pickle.
    JunkAfterStop(u64),
    /// A size limit was reached; the rest was not analysed.
    Limit(&'static str),
    /// A `GLOBAL`/`INST` name that is not UTF-8: Python's loader stops there, so nothing
    /// after it can run.
    NotLoadable,
    /// A Python 2 string that is not ASCII: a loader refuses it unless told the encoding
    /// (`encoding='latin1'`); it was read either way.
    NeedsEncoding,
}

/// A pickle issue and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Byte offset.
    pub offset: u64,
    /// What is wrong.
    pub kind: IssueKind,
}

/// What a pickle stream holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// Every import, in order.
    pub imports: Vec<Import>,
    /// Problems with the stream.
    pub issues: Vec<Issue>,
    /// Pickles found (concatenated pickles are all scanned).
    pub pickles: u32,
    /// Opcodes read.
    pub opcodes: u64,
    /// Pickles the loader reads as part of this stream (a joblib object array's pickle,
    /// what a plain `pickle.load` would make of joblib's array bytes), by offset.
    pub nested: Vec<(u64, Analysis)>,
    /// Bytes values that could themselves be a file a loader opens (a nested pickle, zip,
    /// compressed stream, `.npy`...), as (offset, length) in the analysed input: the
    /// caller scans each like a file of its own.
    pub payloads: Vec<(u64, u64)>,
    /// Bytes a pickle builds from text (`_codecs.encode(text, 'latin1')`, how protocols
    /// 0–2 write bytes) that could be a file a loader opens, by the offset of the call.
    pub decoded: Vec<(u64, Vec<u8>)>,
    /// Offset of the first `STOP`, if one was reached.
    pub first_stop: Option<u64>,
    /// Persistent IDs (`PERSID`/`BINPERSID`): resolved by the loader's own
    /// `persistent_load` (PyTorch's storages), refused by a plain unpickler.
    pub persistent_ids: u64,
    /// Whether the whole input was read and understood.
    pub complete: bool,
}

/// Most items kept in a tuple or dict value (larger ones are followed as opaque values).
const MAX_TRACKED_ITEMS: usize = 32;
/// Most tuple and dict items tracked in one pickle (dtypes, joblib array headers and the
/// arguments of wrapping callables are read from them).
const MAX_TRACKED_TOTAL: usize = 1 << 20;
/// Most bytes payloads remembered for scanning as files of their own.
pub const MAX_PAYLOADS: usize = 100_000;
/// Most positions tried when resynchronising on bytes whose length is unknown.
const MAX_RESYNC: usize = 10_000;

#[derive(Debug, Clone)]
enum Sym {
    Mark,
    Str(Rc<str>),
    Callable(usize),
    Int(i64),
    None,
    /// A small tuple (what joblib's array header and a dtype's state are made of).
    Tuple(Rc<[Sym]>),
    /// A small dict with string keys, filled by `SETITEM(S)` through any alias.
    Dict(Rc<RefCell<Entries>>),
    /// `numpy.dtype(code, ...)`; the item size comes from the code or the `BUILD` state.
    Dtype(Rc<Dtype>),
    /// A `joblib.numpy_pickle.NumpyArrayWrapper`: its `BUILD` is followed by raw array bytes.
    JoblibArray,
    /// Text too long to be a name, decoded (protocol 0 `STRING`/`UNICODE`).
    Text(Rc<str>),
    /// Text too long to be a name, as UTF-8 in the input (`BINUNICODE`): offset, length.
    Span(usize, usize),
    /// The result of a callable judged by what it wraps (`functools.partial(f, ...)`):
    /// calling it calls the imports it holds.
    Wrapped(Rc<[usize]>),
    /// `operator.attrgetter(...)`/`methodcaller(...)` (the import's index): applied to an
    /// object it reaches an attribute chosen by name.
    Getter(usize),
    /// What a getter reached: calling it runs a method of the attacker's choosing.
    Reached(usize),
    Other,
}

/// The string-keyed entries of a tracked dict.
type Entries = Vec<(Rc<str>, Sym)>;

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Sym>,
    memo: HashMap<u64, Sym>,
    out: Analysis,
    allow: &'a [String],
    depth: usize,
    /// Tuple and dict items still to be tracked: a fixed budget, so memory stays bounded
    /// whatever the pickle holds (zero for what-if reads, which need no values).
    track: usize,
    /// The protocol the current pickle declared (0 until `PROTO`): below 3, CPython maps
    /// Python 2 names (`__builtin__`) before importing.
    proto: u8,
    /// End of the current `FRAME` (protocol 4+): an opcode may not run past it.
    frame_end: Option<usize>,
    /// What the last pickle loaded to (the top of the stack at its `STOP`).
    result: Option<Sym>,
    /// Where the file is while opcodes are read from the current frame's buffer: the
    /// frame's end, or after the data joblib read from the file meanwhile.
    file_cursor: Option<usize>,
    /// Set when an opcode's argument ran past its frame and was read as the C unpickler
    /// reads it from a file: from the end of the frame on.
    straddled: bool,
}

/// Analyses a byte stream that should be one or more pickles.
pub fn analyze(data: &[u8], allow: &[String]) -> Analysis {
    analyze_at(data, allow, 0)
}

fn analyze_at(data: &[u8], allow: &[String], depth: usize) -> Analysis {
    let mut vm = Vm::new(data, allow, depth);
    vm.run();
    vm.out
}

enum Step {
    Continue,
    Stop,
    Fail,
}

impl<'a> Vm<'a> {
    fn new(data: &'a [u8], allow: &'a [String], depth: usize) -> Self {
        Vm {
            data,
            pos: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
            out: Analysis::default(),
            allow,
            depth,
            track: MAX_TRACKED_TOTAL,
            proto: 0,
            frame_end: None,
            file_cursor: None,
            result: None,
            straddled: false,
        }
    }

    fn issue(&mut self, offset: usize, kind: IssueKind) {
        self.out.issues.push(Issue { offset: offset as u64, kind });
    }

    /// Reads one pickle, up to and including its `STOP`; false when it could not be read.
    fn run_one(&mut self) -> bool {
        self.stack.clear();
        self.memo.clear();
        self.proto = 0;
        self.frame_end = None;
        self.file_cursor = None;
        loop {
            if self.pos >= self.data.len() {
                self.issue(self.pos, IssueKind::Truncated);
                return false;
            }
            let at = self.pos;
            let step = self.step();
            // An argument that runs past its frame: pickle.py refuses it, the C unpickler
            // reading a file drops the rest of the frame and reads the argument from after
            // it (what `take` and `line` followed), and `pickle.loads` on bytes reads it
            // contiguously — read that way too, as a what-if.
            if std::mem::take(&mut self.straddled) {
                self.issue(at, IssueKind::BadArgument("an opcode runs past the end of its frame"));
                let mut vm = Vm::new(&self.data[at..], self.allow, self.depth + 1);
                vm.track = 0;
                vm.run_one();
                self.adopt_alternative(vm.out.imports, at, |c| c != Class::Safe);
            }
            if let Some(end) = self.frame_end.filter(|&end| self.pos >= end) {
                self.frame_end = None;
                // pickle.py's unframer goes on reading the file where the file is: after
                // the frame, or after what joblib read from the file meanwhile.
                if let Some(cursor) = self.file_cursor.take()
                    && cursor > end
                {
                    if self.pos > end {
                        self.issue(
                            at,
                            IssueKind::BadArgument("an opcode runs past the end of its frame"),
                        );
                    }
                    self.pos = cursor;
                }
            }
            match step {
                Step::Continue => {}
                Step::Stop => {
                    self.out.first_stop.get_or_insert(at as u64);
                    return true;
                }
                Step::Fail => return false,
            }
        }
    }

    fn run(&mut self) {
        loop {
            let start = self.pos;
            let issues_before = self.out.issues.len();
            if !self.run_one() {
                if self.out.pickles > 0 {
                    // Bytes after a STOP that are not a whole pickle: the loader never reads
                    // them. Imports found in them are still reported; their parse errors are
                    // one "junk after STOP".
                    self.out.issues.truncate(issues_before);
                    let rest = (self.data.len() - start) as u64;
                    self.out
                        .issues
                        .push(Issue { offset: start as u64, kind: IssueKind::JunkAfterStop(rest) });
                    // If a loader's reading of the stream differs from this one (a joblib
                    // array of another size), the junk is what it reads next.
                    self.resync_dangerous(start);
                }
                self.out.complete = false;
                return;
            }
            self.out.pickles += 1;
            // A new unpickler (the next `pickle.load` on the same file) starts after the
            // frame the STOP was in when the file was read whole into the frame (BytesIO),
            // right after the STOP when the C unpickler only peeked at it (a real file):
            // the first is followed, the second read as an alternative.
            if let Some(end) = self.frame_end.take()
                && end > self.pos
            {
                let tail = self.pos;
                let mut vm =
                    Vm::new(&self.data[tail..end.min(self.data.len())], self.allow, self.depth + 1);
                vm.run();
                self.adopt_alternative(vm.out.imports, tail, |c| c != Class::Safe);
                self.pos = end;
            }
            if self.pos >= self.data.len() {
                self.out.complete = self.out.issues.is_empty();
                return;
            }
            // More bytes after STOP: another pickle, or junk. Both are reported.
            let rest = self.data.len() - self.pos;
            let looks_like_pickle = self.data.get(self.pos).is_some_and(|&b| is_opcode(b));
            if !looks_like_pickle || start == self.pos {
                self.issue(self.pos, IssueKind::JunkAfterStop(rest as u64));
                self.out.complete = false;
                self.resync_dangerous(self.pos);
                return;
            }
        }
    }

    /// Takes in the imports an alternative reading from `base` found, those `keep` accepts,
    /// marked as such and placed in this input.
    fn adopt_alternative(
        &mut self,
        imports: Vec<Import>,
        base: usize,
        keep: impl Fn(Class) -> bool,
    ) {
        for mut imp in imports.into_iter().filter(|i| keep(i.class)) {
            imp.offset += base as u64;
            imp.alternative = true;
            self.out.imports.push(imp);
        }
    }

    /// Where the C unpickler reads an `n`-byte argument: from the end of the current frame
    /// when it would run past it.
    fn frame_check(&mut self, n: usize) {
        if let Some(end) = self.frame_end
            && self.pos < end
            && self.pos.saturating_add(n) > end
        {
            self.straddled = true;
            self.pos = end;
            self.frame_end = None;
        }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        self.frame_check(n);
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn uint(&mut self, n: usize) -> Option<u64> {
        let b = self.take(n)?;
        Some(b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
    }

    fn line(&mut self) -> Option<&'a [u8]> {
        if let Some(end) = self.frame_end {
            let newline =
                self.data.get(self.pos..end).and_then(|f| f.iter().position(|&b| b == b'\n'));
            if newline.is_none() {
                self.frame_check(usize::MAX);
            }
        }
        let rest = self.data.get(self.pos..)?;
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                Some(&rest[..n])
            }
            // The last line of the file without its newline: the C unpickler refuses it,
            // pickle.py drops its last character (`readline()[:-1]`; at the end of the file
            // an empty line) and goes on.
            None => {
                self.issue(self.pos, IssueKind::Truncated);
                self.pos = self.data.len();
                Some(&rest[..rest.len().saturating_sub(1)])
            }
        }
    }

    fn push(&mut self, s: Sym) -> bool {
        if self.stack.len() >= MAX_STACK {
            self.issue(self.pos, IssueKind::Limit("stack depth"));
            return false;
        }
        self.stack.push(s);
        true
    }

    fn pop(&mut self, op: &'static str, at: usize) -> Sym {
        match self.stack.pop() {
            Some(Sym::Mark) | None => {
                self.issue(at, IssueKind::StackUnderflow(op));
                Sym::Other
            }
            Some(s) => s,
        }
    }

    fn pop_mark(&mut self, op: &'static str, at: usize) -> Vec<Sym> {
        match self.stack.iter().rposition(|s| matches!(s, Sym::Mark)) {
            Some(i) => {
                let items = self.stack.split_off(i + 1);
                self.stack.pop();
                items
            }
            None => {
                self.issue(at, IssueKind::StackUnderflow(op));
                std::mem::take(&mut self.stack)
            }
        }
    }

    fn text(bytes: &[u8]) -> Sym {
        if bytes.len() <= MAX_NAME_BYTES {
            Sym::Str(Rc::from(String::from_utf8_lossy(bytes).as_ref()))
        } else {
            Sym::Other
        }
    }

    fn text_str(t: &str) -> Sym {
        if t.len() <= MAX_NAME_BYTES { Sym::Str(Rc::from(t)) } else { Sym::Text(Rc::from(t)) }
    }

    fn import(&mut self, module: &str, name: &str, at: usize, opcode: &'static str) -> usize {
        let (m, n) = compat_name(module, name, self.proto);
        let class = classify(&m, &n, self.allow);
        self.import_resolved(module, name, (m, n), class, at, opcode)
    }

    /// Records an import whose CPython name is already known.
    fn import_resolved(
        &mut self,
        module: &str,
        name: &str,
        (m, n): (String, String),
        class: Class,
        at: usize,
        opcode: &'static str,
    ) -> usize {
        self.out.imports.push(Import {
            module: module.to_owned(),
            name: name.to_owned(),
            offset: at as u64,
            opcode,
            called: false,
            class,
            target: (m, n),
            alternative: false,
            wrapped: false,
        });
        self.out.imports.len() - 1
    }

    fn call(&mut self, callee: &Sym) {
        if let Sym::Callable(i) = callee
            && let Some(imp) = self.out.imports.get_mut(*i)
        {
            imp.called = true;
        }
    }

    /// A bytes payload (its first byte at `start`): remembered for scanning as a file of
    /// its own when it starts like one.
    fn payload(&mut self, at: usize, start: usize, bytes: &[u8]) -> Sym {
        if crate::scan::may_be_file(bytes) {
            if self.out.payloads.len() >= MAX_PAYLOADS {
                self.issue(at, IssueKind::Limit("bytes payloads"));
            } else {
                self.out.payloads.push((start as u64, bytes.len() as u64));
            }
        }
        Sym::Other
    }

    /// Whether calling `s` makes a joblib `NumpyArrayWrapper` (however it is called: joblib's
    /// loader reads the array after BUILD of any instance).
    fn array_wrapper(&self, s: &Sym) -> bool {
        self.imported(s)
            .is_some_and(|(m, n)| n == "NumpyArrayWrapper" && m.ends_with("numpy_pickle"))
    }

    /// The module and name of an imported callable.
    pub(super) fn imported(&self, s: &Sym) -> Option<(&str, &str)> {
        match s {
            Sym::Callable(i) => {
                self.out.imports.get(*i).map(|imp| (imp.module.as_str(), imp.name.as_str()))
            }
            _ => None,
        }
    }

    fn tuple(&mut self, items: Vec<Sym>) -> Sym {
        if self.track > 0 && items.len() <= MAX_TRACKED_ITEMS.min(self.track) {
            self.track -= items.len();
            Sym::Tuple(Rc::from(items))
        } else {
            Sym::Other
        }
    }

    fn dict(&self) -> Sym {
        if self.track > 0 { Sym::Dict(Rc::default()) } else { Sym::Other }
    }

    /// `SETITEM(S)` on the top of the stack: string keys of a small dict are remembered.
    fn set_items(&mut self, items: Vec<Sym>) {
        let Some(Sym::Dict(d)) = self.stack.last() else { return };
        let mut d = d.borrow_mut();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            if let Sym::Str(k) = k
                && d.len() < MAX_TRACKED_ITEMS
                && self.track > 0
            {
                self.track -= 1;
                d.push((k, v));
            }
        }
    }

    /// The top of the stack for `DUP`, `PUT` and `MEMOIZE` (CPython refuses an empty
    /// stack frame: a `MARK` on top).
    fn top(&mut self, op: &'static str, at: usize) -> Sym {
        match self.stack.last() {
            Some(Sym::Mark) | None => {
                self.issue(at, IssueKind::StackUnderflow(op));
                Sym::Other
            }
            Some(s) => s.clone(),
        }
    }

    /// The object `APPEND`, `SETITEM(S)` and the like add to must be on the stack (below a
    /// `MARK` it is out of reach: CPython's stack underflow).
    fn target(&mut self, op: &'static str, at: usize) {
        if matches!(self.stack.last(), None | Some(Sym::Mark)) {
            self.issue(at, IssueKind::StackUnderflow(op));
        }
    }

    fn step(&mut self) -> Step {
        let at = self.pos;
        let op = self.data[self.pos];
        self.pos += 1;
        self.out.opcodes += 1;
        macro_rules! need {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => {
                        self.issue(at, IssueKind::Truncated);
                        return Step::Fail;
                    }
                }
            };
        }
        let pushed = match op {
            b'(' => self.push(Sym::Mark),
            b'.' => {
                // CPython's STOP pops the result: an empty stack (or a MARK) is an error.
                if matches!(self.stack.last(), None | Some(Sym::Mark)) {
                    self.issue(at, IssueKind::StackUnderflow("STOP"));
                }
                self.result = self.stack.last().cloned();
                return Step::Stop;
            }
            b'0' => {
                // CPython: POP on an empty frame of the stack pops the MARK instead.
                match self.stack.last() {
                    Some(Sym::Mark) => {
                        self.stack.pop();
                    }
                    _ => {
                        self.pop("POP", at);
                    }
                }
                true
            }
            b'1' => {
                self.pop_mark("POP_MARK", at);
                true
            }
            b'2' => {
                let top = self.top("DUP", at);
                self.push(top)
            }
            b'I' | b'L' => {
                let l = need!(self.line());
                let v = match (op, l) {
                    (b'I', b"00") => Some(Sym::Int(0)),
                    (b'I', b"01") => Some(Sym::Int(1)),
                    _ => text_int(if op == b'L' { l.strip_suffix(b"L").unwrap_or(l) } else { l }),
                };
                match v {
                    Some(v) => self.push(v),
                    None => {
                        self.issue(at, IssueKind::BadArgument("INT or LONG that is not a number"));
                        self.push(Sym::Other)
                    }
                }
            }
            b'F' => {
                let l = need!(self.line());
                let ok = std::str::from_utf8(l).is_ok_and(python_float);
                if !ok {
                    self.issue(at, IssueKind::BadArgument("FLOAT that is not a number"));
                }
                self.push(Sym::Other)
            }
            b'J' => {
                let b = need!(self.take(4));
                self.push(Sym::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))))
            }
            b'K' => {
                let v = need!(self.uint(1));
                self.push(Sym::Int(v as i64))
            }
            b'M' => {
                let v = need!(self.uint(2));
                self.push(Sym::Int(v as i64))
            }
            b'G' => {
                need!(self.take(8));
                self.push(Sym::Other)
            }
            b'N' => self.push(Sym::None),
            0x88 => self.push(Sym::Int(1)),
            0x89 => self.push(Sym::Int(0)),
            b')' => {
                let t = self.tuple(Vec::new());
                self.push(t)
            }
            b'}' => {
                let d = self.dict();
                self.push(d)
            }
            b']' | 0x8f => self.push(Sym::Other),
            0x97 => {
                // Out-of-band data: only a loader given `buffers=` accepts it.
                self.issue(
                    at,
                    IssueKind::BadArgument(
                        "NEXT_BUFFER: out-of-band data the loader must be given",
                    ),
                );
                self.push(Sym::Other)
            }
            0x98 => true,
            b'P' => {
                let l = need!(self.line());
                if !l.is_ascii() {
                    self.issue(at, IssueKind::BadArgument("PERSID that is not ASCII"));
                }
                self.out.persistent_ids += 1;
                self.push(Sym::Other)
            }
            b'Q' => {
                self.pop("BINPERSID", at);
                self.out.persistent_ids += 1;
                self.push(Sym::Other)
            }
            b'S' => {
                let l = need!(self.line());
                // pickle.py: the argument must be quoted, is unescaped like a bytes
                // literal (`codecs.escape_decode`) and then decoded as ASCII.
                let quoted = l.len() >= 2 && l[0] == l[l.len() - 1] && matches!(l[0], b'\'' | b'"');
                let decoded = quoted.then(|| escape_decode(&l[1..l.len() - 1])).flatten();
                match decoded {
                    Some(bytes) => {
                        if bytes.is_ascii() {
                            let sym = Vm::text(&bytes);
                            self.push(sym)
                        } else {
                            self.issue(at, IssueKind::BadArgument("STRING that is not ASCII"));
                            self.push(Sym::Other)
                        }
                    }
                    None => {
                        let what = if quoted {
                            "STRING with a malformed escape"
                        } else {
                            "STRING is not quoted"
                        };
                        self.issue(at, IssueKind::BadArgument(what));
                        self.push(Sym::Other)
                    }
                }
            }
            b'V' => {
                let l = need!(self.line());
                match raw_unicode_escape_decode(l) {
                    Some(t) => {
                        let sym = Vm::text_str(&t);
                        self.push(sym)
                    }
                    None => {
                        self.issue(at, IssueKind::BadArgument("UNICODE with a malformed escape"));
                        self.push(Sym::Other)
                    }
                }
            }
            b'T' | b'X' | b'U' | 0x8c | 0x8d | b'B' | b'C' | 0x8e | 0x96 => {
                let n = match op {
                    b'U' | 0x8c | b'C' => need!(self.uint(1)),
                    b'T' | b'X' | b'B' => need!(self.uint(4)),
                    _ => need!(self.uint(8)),
                };
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let start = self.pos;
                let body = need!(self.take(n));
                let sym = match op {
                    b'X' | 0x8c | 0x8d => match utf8_surrogatepass(body) {
                        Some(_) if body.len() > MAX_NAME_BYTES => Sym::Span(start, body.len()),
                        Some(t) => Vm::text_str(&t),
                        None => {
                            self.issue(at, IssueKind::BadArgument("text that is not UTF-8"));
                            Sym::Other
                        }
                    },
                    b'T' | b'U' => {
                        // A Python 2 str: decoded as ASCII by default (a possible name; the
                        // loader refuses anything else), and possibly the bytes of a pickle.
                        self.payload(at, start, body);
                        if body.is_ascii() {
                            Vm::text(body)
                        } else {
                            self.issue(at, IssueKind::NeedsEncoding);
                            Sym::Other
                        }
                    }
                    _ => self.payload(at, start, body),
                };
                self.push(sym)
            }
            0x8a | 0x8b => {
                let n = if op == 0x8a { need!(self.uint(1)) } else { need!(self.uint(4)) };
                let b = need!(self.take(usize::try_from(n).unwrap_or(usize::MAX)));
                let v = (1..=8).contains(&b.len()).then(|| {
                    // Two's complement, little-endian, sign-extended from the last byte.
                    let fill = if b[b.len() - 1] & 0x80 != 0 { 0xff } else { 0 };
                    let mut le = [fill; 8];
                    le[..b.len()].copy_from_slice(b);
                    i64::from_le_bytes(le)
                });
                self.push(v.map_or(Sym::Other, Sym::Int))
            }
            b'c' | b'i' => {
                let (m, n) = (need!(self.line()), need!(self.line()));
                // GLOBAL names are UTF-8, INST names ASCII (pickle.py load_global, load_inst).
                let (Ok(module), Ok(name)) = (std::str::from_utf8(m), std::str::from_utf8(n))
                else {
                    self.issue(at, IssueKind::NotLoadable);
                    return Step::Fail;
                };
                if op == b'i' && !(module.is_ascii() && name.is_ascii()) {
                    self.issue(at, IssueKind::NotLoadable);
                    return Step::Fail;
                }
                // The C unpickler refuses an empty line (pickle.py looks up the empty name).
                if module.is_empty() || name.is_empty() {
                    self.issue(at, IssueKind::BadArgument("GLOBAL or INST with an empty name"));
                }
                let (module, name) = (module.to_owned(), name.to_owned());
                let name_op = if op == b'c' { "GLOBAL" } else { "INST" };
                let idx = self.import(&module, &name, at, name_op);
                if op == b'i' {
                    self.pop_mark("INST", at);
                    self.out.imports[idx].called = true;
                    let made = if self.array_wrapper(&Sym::Callable(idx)) {
                        Sym::JoblibArray
                    } else {
                        Sym::Other
                    };
                    self.push(made)
                } else {
                    self.push(Sym::Callable(idx))
                }
            }
            0x93 => {
                let name = self.pop("STACK_GLOBAL", at);
                let module = self.pop("STACK_GLOBAL", at);
                match (module, name) {
                    (Sym::Str(m), Sym::Str(n)) => {
                        let idx = self.import(&m, &n, at, "STACK_GLOBAL");
                        self.push(Sym::Callable(idx))
                    }
                    _ => {
                        self.issue(at, IssueKind::UnresolvedGlobal);
                        let idx = self.import("?", "?", at, "STACK_GLOBAL");
                        self.out.imports[idx].class = Class::Unknown;
                        self.push(Sym::Callable(idx))
                    }
                }
            }
            0x82..=0x84 => {
                let code = match op {
                    0x82 => need!(self.uint(1)),
                    0x83 => need!(self.uint(2)),
                    _ => need!(self.uint(4)),
                } as u32;
                self.issue(at, IssueKind::Extension(code));
                let idx = self.import("copyreg.extension", &code.to_string(), at, "EXT");
                self.out.imports[idx].class = Class::Unknown;
                self.push(Sym::Callable(idx))
            }
            b'R' => {
                let args = self.pop("REDUCE", at);
                let callee = self.pop("REDUCE", at);
                self.call(&callee);
                if self.array_wrapper(&callee) {
                    return if self.push(Sym::JoblibArray) { Step::Continue } else { Step::Fail };
                }
                if let Some(result) = self.call_special(at, &callee, &args) {
                    return if self.push(result) { Step::Continue } else { Step::Fail };
                }
                let result = match (&args, self.imported(&callee)) {
                    (Sym::Tuple(a), Some((m, "dtype"))) if m.starts_with("numpy") => {
                        match a.first() {
                            Some(Sym::Str(code)) => Sym::Dtype(Rc::new(Dtype::new(code.clone()))),
                            _ => Sym::Other,
                        }
                    }
                    _ => Sym::Other,
                };
                self.push(result)
            }
            b'o' => {
                let mut items = self.pop_mark("OBJ", at);
                if items.is_empty() {
                    self.issue(at, IssueKind::StackUnderflow("OBJ"));
                    return if self.push(Sym::Other) { Step::Continue } else { Step::Fail };
                }
                let callee = items.remove(0);
                self.call(&callee);
                let args = self.tuple(items);
                let result = if self.array_wrapper(&callee) {
                    Sym::JoblibArray
                } else {
                    self.call_special(at, &callee, &args).unwrap_or(Sym::Other)
                };
                self.push(result)
            }
            0x81 => {
                let args = self.pop("NEWOBJ", at);
                let cls = self.pop("NEWOBJ", at);
                self.call(&cls);
                let result = if self.array_wrapper(&cls) {
                    Sym::JoblibArray
                } else {
                    self.call_special(at, &cls, &args).unwrap_or(Sym::Other)
                };
                self.push(result)
            }
            0x92 => {
                self.pop("NEWOBJ_EX", at);
                let args = self.pop("NEWOBJ_EX", at);
                let cls = self.pop("NEWOBJ_EX", at);
                self.call(&cls);
                let result = if self.array_wrapper(&cls) {
                    Sym::JoblibArray
                } else {
                    self.call_special(at, &cls, &args).unwrap_or(Sym::Other)
                };
                self.push(result)
            }
            b'b' => {
                let state = self.pop("BUILD", at);
                if matches!(self.stack.last(), None | Some(Sym::Mark)) {
                    self.issue(at, IssueKind::StackUnderflow("BUILD"));
                }
                match (self.stack.last(), &state) {
                    (Some(Sym::Dtype(d)), Sym::Tuple(t)) => {
                        d.set_state(t);
                        true
                    }
                    // BUILD on an imported module or class sets its attributes (pickle's
                    // load_build falls back to setattr): process-wide monkey-patching.
                    (Some(Sym::Callable(i)), _) => {
                        let i = *i;
                        if let Some(imp) = self.out.imports.get_mut(i) {
                            imp.class = Class::Dangerous;
                            imp.wrapped = true;
                        }
                        true
                    }
                    // A wrapper's state (a partial's func, args and keywords) holds what it
                    // will call.
                    (Some(Sym::Wrapped(_)), state) => {
                        let mut held = Vec::new();
                        calls::collect(state, &mut held, &mut Vec::new());
                        for h in held {
                            if let Some(imp) = self.out.imports.get_mut(h) {
                                imp.wrapped = true;
                            }
                        }
                        true
                    }
                    (Some(Sym::JoblibArray), state) => {
                        // BUILD updates the instance's __dict__ with a dict state, or with
                        // both halves of a (state, slotstate) pair; later keys win.
                        let mut entries = Vec::new();
                        let parts: Vec<&Sym> = match state {
                            Sym::Tuple(t) if t.len() == 2 => t.iter().collect(),
                            other => vec![other],
                        };
                        for part in parts {
                            if let Sym::Dict(d) = part {
                                entries.extend(d.borrow().iter().cloned());
                            }
                        }
                        return self.joblib_array(at, &entries);
                    }
                    _ => true,
                }
            }
            b'a' => {
                self.pop("APPEND", at);
                self.target("APPEND", at);
                true
            }
            b's' => {
                let value = self.pop("SETITEM", at);
                let key = self.pop("SETITEM", at);
                self.target("SETITEM", at);
                self.set_items(vec![key, value]);
                true
            }
            b'u' => {
                let items = self.pop_mark("SETITEMS", at);
                if items.len() % 2 == 1 {
                    self.issue(at, IssueKind::BadArgument("an odd number of items for SETITEMS"));
                }
                self.target("SETITEMS", at);
                self.set_items(items);
                true
            }
            b'e' | 0x90 => {
                self.pop_mark("APPENDS", at);
                self.target(if op == b'e' { "APPENDS" } else { "ADDITEMS" }, at);
                true
            }
            b't' => {
                let items = self.pop_mark("TUPLE", at);
                let t = self.tuple(items);
                self.push(t)
            }
            b'd' => {
                let items = self.pop_mark("DICT", at);
                if items.len() % 2 == 1 {
                    self.issue(at, IssueKind::BadArgument("an odd number of items for DICT"));
                }
                let d = self.dict();
                self.push(d);
                self.set_items(items);
                true
            }
            b'l' | 0x91 => {
                self.pop_mark("LIST", at);
                self.push(Sym::Other)
            }
            0x85..=0x87 => {
                let mut items: Vec<Sym> = (0..(op - 0x84)).map(|_| self.pop("TUPLE", at)).collect();
                items.reverse();
                let t = self.tuple(items);
                self.push(t)
            }
            b'p' | b'q' | b'r' | 0x94 => {
                let idx = match op {
                    b'p' => {
                        let l = need!(self.line());
                        match memo_index(l) {
                            Some(i) => i,
                            None => {
                                self.issue(at, IssueKind::BadArgument("PUT index"));
                                return Step::Continue;
                            }
                        }
                    }
                    b'q' => need!(self.uint(1)),
                    b'r' => need!(self.uint(4)),
                    _ => self.memo.len() as u64,
                };
                if self.memo.len() >= MAX_MEMO {
                    self.issue(at, IssueKind::Limit("memo size"));
                    return Step::Fail;
                }
                if idx >= MAX_MEMO_INDEX {
                    // The C unpickler's memo is an array grown to twice the index.
                    self.issue(at, IssueKind::BadArgument("a memo index no loader can allocate"));
                }
                let top = self.top(if op == 0x94 { "MEMOIZE" } else { "PUT" }, at);
                self.memo.insert(idx, top);
                true
            }
            b'g' | b'h' | b'j' => {
                let idx = match op {
                    b'g' => {
                        let l = need!(self.line());
                        memo_index(l).unwrap_or(u64::MAX)
                    }
                    b'h' => need!(self.uint(1)),
                    _ => need!(self.uint(4)),
                };
                let v = match self.memo.get(&idx) {
                    Some(v) => v.clone(),
                    None => {
                        self.issue(at, IssueKind::MissingMemo(idx));
                        Sym::Other
                    }
                };
                self.push(v)
            }
            0x80 => {
                let v = need!(self.uint(1));
                if v > 5 {
                    self.issue(at, IssueKind::BadArgument("unknown protocol version"));
                }
                self.proto = v as u8;
                true
            }
            0x95 => {
                let n = need!(self.uint(8));
                if let Some(outer) = self.frame_end {
                    // pickle.py refuses a frame inside a frame; the C unpickler ignores one
                    // that fits in what is left of the current frame, and reads a longer one
                    // from after the current frame.
                    self.issue(at, IssueKind::BadArgument("a FRAME inside a frame"));
                    if usize::try_from(n)
                        .ok()
                        .and_then(|n| self.pos.checked_add(n))
                        .is_some_and(|e| e <= outer)
                    {
                        return Step::Continue;
                    }
                    self.pos = outer;
                }
                let end = usize::try_from(n).ok().and_then(|n| self.pos.checked_add(n));
                match end.filter(|&e| e <= self.data.len()) {
                    Some(e) => {
                        self.frame_end = Some(e);
                        self.file_cursor = Some(e);
                    }
                    None => {
                        // The C unpickler refuses a frame longer than the data; pickle.py
                        // reads what there is and goes on: so does this reading.
                        self.issue(at, IssueKind::Truncated);
                        self.frame_end = Some(self.data.len());
                        self.file_cursor = Some(self.data.len());
                    }
                }
                true
            }
            other => {
                self.issue(at, IssueKind::UnknownOpcode(other));
                return Step::Fail;
            }
        };
        if pushed { Step::Continue } else { Step::Fail }
    }
}

/// Whether a byte is an opcode of any pickle protocol (0–5).
pub fn is_opcode(b: u8) -> bool {
    matches!(b, b'(' | b'.' | b'0'..=b'2' | b'F' | b'I' | b'J' | b'K' | b'L' | b'M' | b'N' | b'P' | b'Q' | b'R'
        | b'S' | b'T' | b'U' | b'V' | b'X' | b'a' | b'b' | b'c' | b'd' | b'}' | b'e' | b'g' | b'h'
        | b'i' | b'j' | b'l' | b']' | b'o' | b'p' | b'q' | b'r' | b's' | b't' | b')' | b'u'
        | 0x80..=0x98 | b'B' | b'C' | b'G')
}

/// Whether a byte is a pickle opcode, and its name.
pub fn opcode_name(b: u8) -> Option<&'static str> {
    Some(match b {
        b'(' => "MARK",
        b'.' => "STOP",
        b'c' => "GLOBAL",
        b'}' => "EMPTY_DICT",
        b']' => "EMPTY_LIST",
        b')' => "EMPTY_TUPLE",
        b'N' => "NONE",
        b'I' => "INT",
        b'K' => "BININT1",
        b'J' => "BININT",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'l' => "LIST",
        b'd' => "DICT",
        b'i' => "INST",
        b'p' => "PUT",
        0x80 => "PROTO",
        _ => return None,
    })
}
