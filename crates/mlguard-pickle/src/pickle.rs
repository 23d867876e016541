//! A pickle opcode parser (protocols 0–5) that never executes anything: it follows the
//! stack and memo symbolically so every import — `GLOBAL`, `STACK_GLOBAL` built from
//! memoised or duplicated strings, `INST`, `OBJ`, `REDUCE`, `NEWOBJ(_EX)`, `EXT1/2/4` — is
//! resolved to the callable it reaches, and whether it is called. Malformed input is
//! evidence: truncation, unknown opcodes, junk after `STOP` and concatenated pickles are
//! reported while the parseable part is still analysed.
//!
//! Memory does not grow with the number of opcodes: the stack and memo hold small symbols
//! (strings up to [`MAX_NAME_BYTES`], byte payloads as offsets), bounded by named limits.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::classify::{Class, classify};

/// Longest string kept as a possible module or attribute name.
pub const MAX_NAME_BYTES: usize = 1024;
/// Deepest stack followed (deeper is reported and analysis stops).
pub const MAX_STACK: usize = 1 << 20;
/// Most memo entries followed.
pub const MAX_MEMO: usize = 1 << 22;
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
    /// Pickles nested inside pickled bytes, by the offset of the bytes payload.
    pub nested: Vec<(u64, Analysis)>,
    /// Whether the whole input was read and understood.
    pub complete: bool,
}

/// Most items kept in a tuple or dict value (larger ones are followed as opaque values).
const MAX_TRACKED_ITEMS: usize = 32;
/// Most tuple and dict items tracked in one joblib pickle.
const MAX_TRACKED_TOTAL: usize = 1 << 20;

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
    Other,
}

/// The string-keyed entries of a tracked dict.
type Entries = Vec<(Rc<str>, Sym)>;

#[derive(Debug)]
struct Dtype {
    code: Rc<str>,
    elsize: Cell<i64>,
}

impl Dtype {
    /// Bytes per item, when the dtype is a plain one (`f8`, `<i4`, `U10`, `S3`, `M8`, ...).
    fn itemsize(&self) -> Option<u64> {
        let code = self.code.trim_start_matches(['<', '>', '=', '|']);
        let kind = code.chars().next()?;
        let elsize = self.elsize.get();
        if elsize > 0 && matches!(kind, 'U' | 'S' | 'V' | 'a') {
            return u64::try_from(elsize).ok();
        }
        let digits: String =
            code[kind.len_utf8()..].chars().take_while(char::is_ascii_digit).collect();
        let n: u64 = digits.parse().ok()?;
        Some(if kind == 'U' { n.checked_mul(4)? } else { n })
    }
}

fn dict_get<'d>(d: &'d [(Rc<str>, Sym)], key: &str) -> Option<&'d Sym> {
    d.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Sym>,
    memo: HashMap<u64, Sym>,
    out: Analysis,
    allow: &'a [String],
    depth: usize,
    /// Tuple and dict items still to be tracked: zero until the pickle imports joblib's
    /// array wrapper (only joblib needs values), then a fixed budget, so memory stays
    /// bounded whatever the pickle holds.
    track: usize,
    joblib_seen: bool,
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

/// The record streams of a legacy tar `torch.save` file (torch < 0.1.10), where pickles
/// alternate with raw data the loader reads directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyMember {
    /// `storages`: a count, then per storage a pickled `(key, location, type)`, an int64
    /// element count and the elements.
    Storages,
    /// `tensors`: a count, then per tensor a pickled `(key, storage_id, type)`, an int32
    /// `ndim`, 4 spare bytes, `ndim` sizes and strides (int64) and an int64 offset.
    Tensors,
}

/// Bytes per element of a legacy storage class (`torch.FloatStorage`, ...).
fn storage_element_size(name: &str) -> Option<u64> {
    Some(match name.strip_suffix("Storage")? {
        "Double" | "Long" | "ComplexFloat" => 8,
        "Float" | "Int" => 4,
        "Half" | "Short" | "BFloat16" => 2,
        "Char" | "Byte" | "Bool" => 1,
        "ComplexDouble" => 16,
        _ => return None,
    })
}

/// Analyses a `storages` or `tensors` member of a legacy tar `torch.save` file: every
/// record's pickle is followed, and the raw data between them skipped as the loader does.
pub fn analyze_legacy(data: &[u8], allow: &[String], member: LegacyMember) -> Analysis {
    let mut vm = Vm::new(data, allow, 0);
    let mut first = true;
    while vm.pos < data.len() {
        let imports_before = vm.out.imports.len();
        if !vm.run_one() {
            return vm.out;
        }
        vm.out.pickles += 1;
        if std::mem::take(&mut first) {
            continue;
        }
        let raw = match member {
            LegacyMember::Storages => {
                let size = vm.out.imports[imports_before..]
                    .iter()
                    .rev()
                    .find_map(|i| storage_element_size(&i.name));
                let count = vm.uint(8);
                size.zip(count).and_then(|(s, c)| s.checked_mul(c))
            }
            LegacyMember::Tensors => vm.uint(4).and_then(|ndim| {
                vm.take(4)?;
                (ndim as u32 as u64).checked_mul(16)?.checked_add(8)
            }),
        };
        let skipped = raw.and_then(|n| vm.take(usize::try_from(n).ok()?));
        if skipped.is_none() {
            let at = vm.pos;
            vm.issue(at, IssueKind::BadArgument("legacy torch record whose data cannot be read"));
            return vm.out;
        }
    }
    vm.out.complete = vm.out.pickles > 0 && vm.out.issues.is_empty();
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
            track: 0,
            joblib_seen: false,
        }
    }

    fn issue(&mut self, offset: usize, kind: IssueKind) {
        self.out.issues.push(Issue { offset: offset as u64, kind });
    }

    /// Reads one pickle, up to and including its `STOP`; false when it could not be read.
    fn run_one(&mut self) -> bool {
        self.stack.clear();
        self.memo.clear();
        loop {
            if self.pos >= self.data.len() {
                self.issue(self.pos, IssueKind::Truncated);
                return false;
            }
            match self.step() {
                Step::Continue => {}
                Step::Stop => return true,
                Step::Fail => return false,
            }
        }
    }

    fn run(&mut self) {
        loop {
            let start = self.pos;
            if !self.run_one() {
                self.out.complete = false;
                return;
            }
            self.out.pickles += 1;
            if self.pos >= self.data.len() {
                self.out.complete =
                    self.out.issues.iter().all(|i| matches!(i.kind, IssueKind::Extension(_)));
                return;
            }
            // More bytes after STOP: another pickle, or junk. Both are reported.
            let rest = self.data.len() - self.pos;
            let looks_like_pickle =
                self.data.get(self.pos).is_some_and(|&b| b == 0x80 || opcode_name(b).is_some());
            if !looks_like_pickle || start == self.pos {
                self.issue(self.pos, IssueKind::JunkAfterStop(rest as u64));
                self.out.complete = false;
                return;
            }
        }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
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
        let rest = self.data.get(self.pos..)?;
        let n = rest.iter().position(|&b| b == b'\n')?;
        self.pos += n + 1;
        Some(&rest[..n])
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

    fn import(&mut self, module: &str, name: &str, at: usize, opcode: &'static str) -> usize {
        if name == "NumpyArrayWrapper" && !self.joblib_seen {
            self.joblib_seen = true;
            self.track = MAX_TRACKED_TOTAL;
        }
        let class = classify(module, name, self.allow);
        self.out.imports.push(Import {
            module: module.to_owned(),
            name: name.to_owned(),
            offset: at as u64,
            opcode,
            called: false,
            class,
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

    /// A bytes payload: analysed as a nested pickle when it starts like one.
    fn payload(&mut self, at: usize, bytes: &[u8]) -> Sym {
        if bytes.len() > 2 && bytes[0] == 0x80 && bytes[1] <= 5 {
            if self.depth >= MAX_NESTING {
                self.issue(at, IssueKind::Limit("nesting depth"));
            } else {
                let nested = analyze_at(bytes, self.allow, self.depth + 1);
                self.out.nested.push((at as u64, nested));
            }
        }
        Sym::Other
    }

    /// The module and name of an imported callable.
    fn imported(&self, s: &Sym) -> Option<(&str, &str)> {
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

    /// A plain `pickle.load` of a joblib file does not skip the array: it reads its bytes as
    /// opcodes. Those are followed too (as far as the loader would get), and any dangerous
    /// import they reach is reported, so code hidden where joblib expects array data is
    /// still found. Unknown imports and malformed opcodes there are expected (it is data)
    /// and not reported.
    fn shadow_read(&mut self) {
        if self.depth >= MAX_NESTING {
            return;
        }
        let start = self.pos;
        let mut vm = Vm::new(&self.data[start..], self.allow, self.depth + 1);
        // No value tracking here: this is a what-if read, not a joblib stream.
        vm.joblib_seen = true;
        vm.run_one();
        let mut imports = vm.out.imports;
        imports.retain(|i| i.class == Class::Dangerous);
        if !imports.is_empty() {
            let shadow = Analysis { imports, complete: true, ..Analysis::default() };
            self.out.nested.push((start as u64, shadow));
        }
    }

    /// joblib writes a NumPy array as a `NumpyArrayWrapper` whose `BUILD` is followed by
    /// the array itself, outside the pickle: an optional alignment byte and padding, then
    /// the raw bytes — or, for an object array, a whole pickle that the loader runs too.
    fn joblib_array(&mut self, at: usize, state: &[(Rc<str>, Sym)]) -> Step {
        let Some(Sym::Dtype(dtype)) = dict_get(state, "dtype").cloned() else {
            self.issue(at, IssueKind::BadArgument("joblib array without a dtype"));
            return Step::Fail;
        };
        if dtype.code.trim_start_matches(['<', '>', '=', '|']).starts_with('O') {
            if self.depth >= MAX_NESTING {
                self.issue(at, IssueKind::Limit("nesting depth"));
                return Step::Fail;
            }
            let start = self.pos;
            let mut vm = Vm::new(&self.data[start..], self.allow, self.depth + 1);
            let read = vm.run_one();
            vm.out.pickles = u32::from(read);
            vm.out.complete = read;
            self.pos = start + vm.pos;
            let mut nested = vm.out;
            // The loader stops where the object array's pickle does: that is this stream's
            // end too, reported once, here.
            if let Some(i) = nested.issues.iter().position(|i| i.kind == IssueKind::NotLoadable) {
                let stop = nested.issues.remove(i);
                self.issue(start + stop.offset as usize, IssueKind::NotLoadable);
            }
            self.out.nested.push((start as u64, nested));
            return if read { Step::Continue } else { Step::Fail };
        }
        let count = match dict_get(state, "shape") {
            Some(Sym::Tuple(dims)) => dims.iter().try_fold(1u64, |acc, d| match d {
                Sym::Int(n) => u64::try_from(*n).ok().and_then(|n| acc.checked_mul(n)),
                _ => None,
            }),
            _ => None,
        };
        let Some(size) = count.zip(dtype.itemsize()).and_then(|(c, i)| c.checked_mul(i)) else {
            self.issue(at, IssueKind::BadArgument("joblib array whose size cannot be computed"));
            return Step::Fail;
        };
        self.shadow_read();
        let aligned = matches!(dict_get(state, "numpy_array_alignment_bytes"), Some(Sym::Int(_)));
        if aligned {
            let Some(pad) = self.uint(1) else {
                self.issue(self.pos, IssueKind::Truncated);
                return Step::Fail;
            };
            if self.take(pad as usize).is_none() {
                self.issue(self.pos, IssueKind::Truncated);
                return Step::Fail;
            }
        }
        if self.take(usize::try_from(size).unwrap_or(usize::MAX)).is_none() {
            self.issue(self.pos, IssueKind::Truncated);
            return Step::Fail;
        }
        if let Some(top) = self.stack.last_mut() {
            *top = Sym::Other;
        }
        Step::Continue
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
            b'.' => return Step::Stop,
            b'0' => {
                self.pop("POP", at);
                true
            }
            b'1' => {
                self.pop_mark("POP_MARK", at);
                true
            }
            b'2' => {
                let top = self.stack.last().cloned().unwrap_or(Sym::Other);
                self.push(top)
            }
            b'I' | b'L' => {
                let l = need!(self.line());
                let digits = l.strip_suffix(b"L").unwrap_or(l);
                let v = std::str::from_utf8(digits).ok().and_then(|t| t.trim().parse().ok());
                self.push(v.map_or(Sym::Other, Sym::Int))
            }
            b'F' => {
                need!(self.line());
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
            b']' | 0x8f | 0x97 => self.push(Sym::Other),
            0x98 => true,
            b'P' => {
                need!(self.line());
                self.push(Sym::Other)
            }
            b'Q' => {
                self.pop("BINPERSID", at);
                self.push(Sym::Other)
            }
            b'S' => {
                let l = need!(self.line());
                let inner = l
                    .strip_prefix(b"'")
                    .and_then(|x| x.strip_suffix(b"'"))
                    .or_else(|| l.strip_prefix(b"\"").and_then(|x| x.strip_suffix(b"\"")));
                match inner {
                    Some(s) => {
                        let sym = Vm::text(s);
                        self.push(sym)
                    }
                    None => {
                        self.issue(at, IssueKind::BadArgument("STRING is not quoted"));
                        self.push(Sym::Other)
                    }
                }
            }
            b'V' => {
                let l = need!(self.line());
                let sym = Vm::text(l);
                self.push(sym)
            }
            b'T' | b'X' | b'U' | 0x8c | 0x8d | b'B' | b'C' | 0x8e | 0x96 => {
                let n = match op {
                    b'U' | 0x8c | b'C' => need!(self.uint(1)),
                    b'T' | b'X' | b'B' => need!(self.uint(4)),
                    _ => need!(self.uint(8)),
                };
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                let body = need!(self.take(n));
                let sym = match op {
                    b'X' | 0x8c | 0x8d | b'T' | b'U' => {
                        // Text (or py2 str): a possible name; py2 str may also carry a pickle.
                        if matches!(op, b'T' | b'U') {
                            self.payload(at, body);
                        }
                        Vm::text(body)
                    }
                    _ => self.payload(at, body),
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
                let (Ok(module), Ok(name)) = (std::str::from_utf8(m), std::str::from_utf8(n))
                else {
                    self.issue(at, IssueKind::NotLoadable);
                    return Step::Fail;
                };
                let (module, name) = (module.to_owned(), name.to_owned());
                let name_op = if op == b'c' { "GLOBAL" } else { "INST" };
                let idx = self.import(&module, &name, at, name_op);
                if op == b'i' {
                    self.pop_mark("INST", at);
                    self.out.imports[idx].called = true;
                    self.push(Sym::Other)
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
                let result = match (&args, self.imported(&callee)) {
                    (Sym::Tuple(a), Some((m, "dtype"))) if m.starts_with("numpy") => {
                        match a.first() {
                            Some(Sym::Str(code)) => Sym::Dtype(Rc::new(Dtype {
                                code: code.clone(),
                                elsize: Cell::new(-1),
                            })),
                            _ => Sym::Other,
                        }
                    }
                    _ => Sym::Other,
                };
                self.push(result)
            }
            b'o' => {
                let items = self.pop_mark("OBJ", at);
                if let Some(first) = items.first() {
                    self.call(&first.clone());
                }
                self.push(Sym::Other)
            }
            0x81 => {
                self.pop("NEWOBJ", at);
                let cls = self.pop("NEWOBJ", at);
                self.call(&cls);
                let result = match self.imported(&cls) {
                    Some((m, "NumpyArrayWrapper")) if m.ends_with("numpy_pickle") => {
                        Sym::JoblibArray
                    }
                    _ => Sym::Other,
                };
                self.push(result)
            }
            0x92 => {
                self.pop("NEWOBJ_EX", at);
                self.pop("NEWOBJ_EX", at);
                let cls = self.pop("NEWOBJ_EX", at);
                self.call(&cls);
                self.push(Sym::Other)
            }
            b'b' => {
                let state = self.pop("BUILD", at);
                match (self.stack.last(), &state) {
                    (Some(Sym::Dtype(d)), Sym::Tuple(t)) => {
                        // numpy's dtype state: (version, byteorder, subarray, names, fields,
                        // elsize, alignment, flags[, metadata]).
                        if let Some(Sym::Int(e)) = t.get(5) {
                            d.elsize.set(*e);
                        }
                        true
                    }
                    (Some(Sym::JoblibArray), Sym::Dict(d)) => {
                        let d = d.clone();
                        return self.joblib_array(at, &d.borrow());
                    }
                    _ => true,
                }
            }
            b'a' => {
                self.pop("APPEND", at);
                true
            }
            b's' => {
                let value = self.pop("SETITEM", at);
                let key = self.pop("SETITEM", at);
                self.set_items(vec![key, value]);
                true
            }
            b'u' => {
                let items = self.pop_mark("SETITEMS", at);
                self.set_items(items);
                true
            }
            b'e' | 0x90 => {
                self.pop_mark("APPENDS", at);
                true
            }
            b't' => {
                let items = self.pop_mark("TUPLE", at);
                let t = self.tuple(items);
                self.push(t)
            }
            b'd' => {
                let items = self.pop_mark("DICT", at);
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
                        match std::str::from_utf8(l).ok().and_then(|s| s.trim().parse().ok()) {
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
                let top = self.stack.last().cloned().unwrap_or(Sym::Other);
                self.memo.insert(idx, top);
                true
            }
            b'g' | b'h' | b'j' => {
                let idx = match op {
                    b'g' => {
                        let l = need!(self.line());
                        std::str::from_utf8(l)
                            .ok()
                            .and_then(|s| s.trim().parse().ok())
                            .unwrap_or(u64::MAX)
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
                true
            }
            0x95 => {
                need!(self.take(8));
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
