//! Data a loader reads between opcodes: the arrays joblib writes after each
//! `NumpyArrayWrapper`, and the records of legacy tar `torch.save` files.

use std::cell::Cell;
use std::rc::Rc;

use super::{Analysis, IssueKind, MAX_NESTING, Step, Sym, Vm};
use crate::classify::Class;

#[derive(Debug)]
pub(super) struct Dtype {
    pub(super) code: Rc<str>,
    pub(super) elsize: Cell<i64>,
    /// Whether arrays of it hold objects (joblib then pickles them): `None` until known.
    objects: Cell<Option<bool>>,
}

impl Dtype {
    /// `numpy.dtype(code, ...)`.
    pub(super) fn new(code: Rc<str>) -> Dtype {
        let kind = code.trim_start_matches(['<', '>', '=', '|']).chars().next();
        let objects = match kind {
            Some('O') => Some(true),
            // A void dtype may be structured: its fields come with BUILD.
            Some('V') => None,
            _ => Some(false),
        };
        Dtype { code, elsize: Cell::new(-1), objects: Cell::new(objects) }
    }

    /// Whether arrays of this dtype hold objects, if that is known.
    pub(super) fn objects(&self) -> Option<bool> {
        self.objects.get()
    }

    /// numpy's dtype `__setstate__`, by the length of the state: 9, 8 or 7 items are
    /// (version, byteorder, subarray, names, fields, elsize, alignment[, flags[, metadata]]),
    /// 6 drop names, 5 also the version.
    pub(super) fn set_state(&self, t: &[Sym]) {
        let (subarray, fields, elsize) = match t.len() {
            7..=9 => (2, 4, 5),
            6 => (2, 3, 4),
            5 => (1, 2, 3),
            _ => {
                self.objects.set(None);
                return;
            }
        };
        if let Some(Sym::Int(e)) = t.get(elsize) {
            self.elsize.set(*e);
        }
        let holds = |s: &Sym| -> Option<bool> {
            match s {
                Sym::None => Some(false),
                Sym::Dtype(d) => d.objects(),
                _ => None,
            }
        };
        let sub = match &t[subarray] {
            Sym::None => Some(false),
            Sym::Tuple(st) => st.first().and_then(holds),
            _ => None,
        };
        let fields = match &t[fields] {
            Sym::None => Some(false),
            Sym::Dict(d) => d.borrow().iter().try_fold(false, |acc, (_, v)| match v {
                Sym::Tuple(f) => f.first().and_then(holds).map(|h| acc || h),
                _ => None,
            }),
            _ => None,
        };
        let own = self.code.trim_start_matches(['<', '>', '=', '|']).starts_with('O');
        self.objects.set(match (own, sub, fields) {
            (true, _, _) | (_, Some(true), _) | (_, _, Some(true)) => Some(true),
            (false, Some(false), Some(false)) => Some(false),
            _ => None,
        });
    }

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

/// A key of a state dict: the last one wins, as in the `__dict__` BUILD updates.
fn dict_get<'d>(d: &'d [(Rc<str>, Sym)], key: &str) -> Option<&'d Sym> {
    d.iter().rev().find(|(k, _)| &**k == key).map(|(_, v)| v)
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
        if !vm.run_one() {
            return vm.out;
        }
        vm.out.pickles += 1;
        if std::mem::take(&mut first) {
            continue;
        }
        let raw = match member {
            LegacyMember::Storages => {
                // torch unpacks the record as (key, location, storage_type) and sizes the
                // elements by storage_type.
                let size = match &vm.result {
                    Some(Sym::Tuple(t)) if t.len() == 3 => match &t[2] {
                        Sym::Callable(i) => {
                            vm.out.imports.get(*i).and_then(|imp| storage_element_size(&imp.name))
                        }
                        _ => None,
                    },
                    _ => None,
                };
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

impl Vm<'_> {
    /// A plain `pickle.load` of a joblib file does not skip the array: it reads its bytes as
    /// opcodes. Those are followed too (as far as the loader would get), and any dangerous
    /// import they reach is reported, so code hidden where joblib expects array data is
    /// still found. Unknown imports and malformed opcodes there are expected (it is data)
    /// and not reported.
    pub(super) fn shadow_read(&mut self) {
        if self.depth >= MAX_NESTING {
            return;
        }
        let start = self.pos;
        let mut vm = Vm::new(&self.data[start..], self.allow, self.depth + 1);
        // No value tracking here: this is a what-if read, not a joblib stream.
        vm.track = 0;
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
    pub(super) fn joblib_array(&mut self, at: usize, state: &[(Rc<str>, Sym)]) -> Step {
        // joblib reads the array from the file itself: inside a frame, the file is past the
        // frame (pickle.py read it whole), and the frame's remaining opcodes come first.
        let in_frame = self.frame_end.is_some_and(|e| self.pos < e);
        let resume = self.pos;
        if in_frame && let Some(cursor) = self.file_cursor {
            self.pos = cursor;
        }
        let step = self.joblib_array_at(at, state);
        if in_frame {
            self.file_cursor = Some(self.pos);
            self.pos = resume;
        }
        step
    }

    fn joblib_array_at(&mut self, at: usize, state: &[(Rc<str>, Sym)]) -> Step {
        let Some(Sym::Dtype(dtype)) = dict_get(state, "dtype").cloned() else {
            self.issue(at, IssueKind::BadArgument("joblib array without a dtype"));
            self.resync(self.pos);
            return Step::Fail;
        };
        let Some(objects) = dtype.objects() else {
            self.issue(at, IssueKind::BadArgument("joblib array whose dtype may hold objects"));
            self.resync(self.pos);
            return Step::Fail;
        };
        if objects {
            if self.depth >= MAX_NESTING {
                self.issue(at, IssueKind::Limit("nesting depth"));
                return Step::Fail;
            }
            let start = self.pos;
            let mut vm = Vm::new(&self.data[start..], self.allow, self.depth + 1);
            let read = vm.run_one();
            vm.out.pickles = u32::from(read);
            vm.out.complete = read;
            // After a framed pickle, the file is at the end of its last frame.
            self.pos = start + vm.pos.max(vm.frame_end.unwrap_or(0));
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
            self.resync(self.pos);
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
}
