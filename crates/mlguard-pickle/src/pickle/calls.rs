//! Calls followed beyond "it is called": wrappers judged by what they hold, imports in
//! disguise (`getattr` on a class, `_ufunc_reconstruct`), bytes built from text, and the
//! alternative reading of bytes whose length could not be known.

use std::rc::Rc;

use super::{IssueKind, MAX_NAME_BYTES, MAX_NESTING, MAX_PAYLOADS, MAX_RESYNC, Sym, Vm};
use crate::classify::{Behavior, Class, behavior, classify, getter_reaches_danger};

impl Vm<'_> {
    /// Calls whose result depends on their arguments: a wrapped callable
    /// (`functools.partial(f, ...)`, `operator.attrgetter(...)`) is judged by what it holds,
    /// and calling it calls that; a helper that imports by name (`_ufunc_reconstruct(module,
    /// name)`) is the import it makes. `None` for an ordinary call.
    pub(super) fn call_special(&mut self, at: usize, callee: &Sym, args: &Sym) -> Option<Sym> {
        let i = match callee {
            Sym::Wrapped(held) => {
                // Calling a wrapper calls what it holds, with what it is given (a getter
                // applied to a module reaches into it).
                let mut given = Vec::new();
                collect(args, &mut given, &mut Vec::new());
                for &h in held.iter().chain(&given) {
                    if let Some(imp) = self.out.imports.get_mut(h) {
                        imp.wrapped = true;
                    }
                }
                return Some(Sym::Other);
            }
            // A getter applied to an object: an attribute or method of something the
            // pickle built, chosen by name (`attrgetter('query')(DataFrame())`).
            Sym::Getter(g) => {
                let g = *g;
                let mut given = Vec::new();
                collect(args, &mut given, &mut Vec::new());
                for h in given {
                    if let Some(imp) = self.out.imports.get_mut(h) {
                        imp.wrapped = true;
                    }
                }
                if self.out.imports.get(g).is_some_and(|imp| imp.target.1 == "methodcaller") {
                    self.reach(g);
                    return Some(Sym::Other);
                }
                return Some(Sym::Reached(g));
            }
            // Calling it calls any method of any object the pickle built: what a getter
            // reached runs code of the attacker's choosing (DataFrame.query evaluates, Path
            // .write_text writes).
            Sym::Reached(g) => {
                self.reach(*g);
                return Some(Sym::Other);
            }
            Sym::Callable(i) => *i,
            _ => return None,
        };
        let imp = self.out.imports.get(i)?;
        let (module, name) = imp.target.clone();
        if module == "_codecs" && name == "encode" {
            self.latin1_payload(at, args);
            return None;
        }
        // type(None), type(...), type(NotImplemented): how pickle writes those three types
        // (save_type); type() of anything else can make a class.
        if module == "builtins" && name == "type" {
            if let Sym::Tuple(t) = args
                && matches!(&t[..], [Sym::None])
                && let Some(imp) = self.out.imports.get_mut(i)
            {
                imp.class = Class::Safe;
            }
            return None;
        }
        // copyreg._reconstructor(cls, base, state) runs base.__new__ and, for any base but
        // object, base.__init__(obj, state): the base is called.
        if module == "copyreg" && name == "_reconstructor" {
            if let Sym::Tuple(t) = args
                && let Some(base @ Sym::Callable(b)) = t.get(1)
                && self.imported(base) != Some(("builtins", "object"))
                && self.imported(base) != Some(("__builtin__", "object"))
                && let Some(imp) = self.out.imports.get_mut(*b)
            {
                imp.wrapped = true;
            }
            return None;
        }
        match behavior(&module, &name) {
            Behavior::Plain => None,
            Behavior::Attribute => {
                // getattr(imported, 'attr'): the attribute of a known import is judged as
                // an import of its own (zoneinfo.ZoneInfo._unpickle); getattr on anything
                // else can reach anything.
                let reached = match args {
                    Sym::Tuple(t) => match &t[..] {
                        [Sym::Callable(j), Sym::Str(attr)] => self.out.imports.get(*j).map(|b| {
                            let (bm, bn) = b.target.clone();
                            (
                                b.module.clone(),
                                format!("{}.{attr}", b.name),
                                bm,
                                format!("{bn}.{attr}"),
                            )
                        }),
                        _ => None,
                    },
                    _ => None,
                };
                match reached {
                    Some((wm, wn, m, n)) => {
                        let class = classify(&m, &n, self.allow);
                        self.out.imports[i].class = Class::Safe;
                        let j = self.import_resolved(&wm, &wn, (m, n), class, at, "getattr");
                        Some(Sym::Callable(j))
                    }
                    None => None,
                }
            }
            Behavior::Wraps => {
                let mut held = Vec::new();
                let mut names = Vec::new();
                let known = collect(args, &mut held, &mut names);
                // A getter whose names cannot all be read can reach anything.
                let getter = matches!(name.as_str(), "attrgetter" | "methodcaller");
                if (getter_reaches_danger(&name, &names) || (getter && !known))
                    && let Some(imp) = self.out.imports.get_mut(i)
                {
                    imp.class = Class::Dangerous;
                }
                if getter {
                    return Some(Sym::Getter(i));
                }
                // Given a value this reading cannot see into (an object the pickle built),
                // it may call any callable the pickle put there.
                if !known {
                    self.any_dangerous_may_be_called();
                }
                // Some call what they are given at once (numpy's __randomstate_ctor), others
                // when their result is called (partial): either way it counts as called.
                for &h in &held {
                    if let Some(imp) = self.out.imports.get_mut(h) {
                        imp.wrapped = true;
                    }
                    // A wrapper that holds a getter's reach calls it.
                    let is_getter = self.out.imports.get(h).is_some_and(|imp| {
                        matches!(imp.target.1.as_str(), "attrgetter" | "methodcaller")
                    });
                    if is_getter {
                        self.reach(h);
                    }
                }
                Some(Sym::Wrapped(Rc::from(held)))
            }
            Behavior::Resolves => match args {
                Sym::Tuple(t) => match &t[..] {
                    [Sym::Str(m), Sym::Str(n), ..] => {
                        let (m, n) = (m.clone(), n.clone());
                        let j = self.import(&m, &n, at, "REDUCE");
                        Some(Sym::Callable(j))
                    }
                    _ => {
                        self.out.imports[i].class = Class::Dangerous;
                        None
                    }
                },
                _ => {
                    self.out.imports[i].class = Class::Dangerous;
                    None
                }
            },
        }
    }

    /// `_codecs.encode(text, 'latin1')`: the bytes protocols 0–2 write for a `bytes` value.
    /// Kept for scanning when they could be a file (a pickle inside a pickle).
    pub(super) fn latin1_payload(&mut self, at: usize, args: &Sym) {
        let Sym::Tuple(t) = args else { return };
        let [text, Sym::Str(encoding), ..] = &t[..] else { return };
        let enc = encoding.to_ascii_lowercase().replace(['-', '_'], "");
        if !matches!(enc.as_str(), "latin1" | "iso88591" | "l1" | "latin") {
            return;
        }
        let text: &str = match text {
            Sym::Str(s) | Sym::Text(s) => s,
            Sym::Span(start, len) => {
                match self.data.get(*start..start + len).and_then(|b| std::str::from_utf8(b).ok()) {
                    Some(t) => t,
                    None => return,
                }
            }
            _ => return,
        };
        let latin1 = |t: &str, n: usize| -> Option<Vec<u8>> {
            t.chars().take(n).map(|c| u8::try_from(u32::from(c)).ok()).collect()
        };
        let looks = latin1(text, 512).is_some_and(|p| crate::scan::may_be_file(&p));
        if !looks || self.out.decoded.len() >= MAX_PAYLOADS {
            return;
        }
        if let Some(bytes) = latin1(text, usize::MAX) {
            self.out.decoded.push((at as u64, bytes));
        }
    }

    /// Every dangerous import of the pickle counts as called: a callable that calls what it
    /// is given was handed something whose contents are not followed.
    fn any_dangerous_may_be_called(&mut self) {
        for imp in &mut self.out.imports {
            if imp.class == Class::Dangerous {
                imp.wrapped = true;
            }
        }
    }

    /// What a getter reached is called (or handed to something that calls it): the getter
    /// is rated dangerous and called.
    pub(super) fn reach(&mut self, getter: usize) {
        if let Some(imp) = self.out.imports.get_mut(getter) {
            imp.class = Class::Dangerous;
            imp.called = true;
        }
    }

    /// Reads on after bytes whose length could not be known (a joblib array whose dtype or
    /// shape is not understood): every place in the rest of the input where an import
    /// starts (`GLOBAL`/`INST` lines, two strings then `STACK_GLOBAL`) is read from there
    /// as a pickle would be, and the imports and calls found are reported at their own
    /// severity, so code after the unreadable part is still found.
    pub(super) fn resync(&mut self, from: usize) {
        self.resync_keeping(from, |_| true);
    }

    /// `resync` over bytes the loader is not expected to read (after the last `STOP`):
    /// only dangerous imports are kept, since plain data can look like a harmless name.
    pub(super) fn resync_dangerous(&mut self, from: usize) {
        self.resync_keeping(from, |c| c == Class::Dangerous);
    }

    fn resync_keeping(&mut self, from: usize, keep: fn(Class) -> bool) {
        if self.depth >= MAX_NESTING {
            return;
        }
        let mut next = from;
        let mut tried = 0;
        for start in import_starts(self.data, from) {
            if start < next {
                continue;
            }
            tried += 1;
            if tried > MAX_RESYNC {
                self.issue(start, IssueKind::Limit("resynchronisation"));
                return;
            }
            let mut vm = Vm::new(&self.data[start..], self.allow, self.depth + 1);
            vm.run_one();
            next = start + vm.pos.max(1);
            self.adopt_alternative(vm.out.imports, start, keep);
            for (off, n) in vm.out.nested {
                self.out.nested.push((off + start as u64, n));
            }
            for (off, len) in vm.out.payloads {
                self.out.payloads.push((off + start as u64, len));
            }
        }
    }
}

/// Imports and values collected from a wrapping call's arguments.
/// Returns false when some value could not be followed (built by a call, too large to
/// track): a getter's names are then unknown.
pub(super) fn collect(s: &Sym, held: &mut Vec<usize>, names: &mut Vec<Rc<str>>) -> bool {
    match s {
        Sym::Callable(i) => held.push(*i),
        Sym::Wrapped(h) => held.extend(h.iter().copied()),
        Sym::Getter(g) | Sym::Reached(g) => held.push(*g),
        Sym::Str(t) => names.push(t.clone()),
        // Every item is visited (all of them may hold imports), known or not.
        Sym::Tuple(items) => {
            let mut known = true;
            for i in items.iter() {
                known &= collect(i, held, names);
            }
            return known;
        }
        Sym::Dict(d) => {
            let mut known = true;
            for (_, v) in d.borrow().iter() {
                known &= collect(v, held, names);
            }
            return known;
        }
        Sym::Int(_) | Sym::None => {}
        _ => return false,
    }
    true
}

/// Where an import could start in `data` from `from` on: a `GLOBAL` or `INST` whose two
/// lines look like dotted names, or two short strings (each maybe memoised) before a
/// `STACK_GLOBAL`.
fn import_starts(data: &[u8], from: usize) -> impl Iterator<Item = usize> + '_ {
    (from..data.len()).filter(move |&i| match data[i] {
        b'c' | b'i' => {
            let dotted = |at: usize| -> Option<usize> {
                let rest = data.get(at..)?;
                let n = rest.iter().take(MAX_NAME_BYTES).position(|&b| b == b'\n')?;
                let ok = n > 0
                    && (rest[0].is_ascii_alphabetic() || rest[0] == b'_')
                    && rest[..n]
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
                ok.then_some(at + n + 1)
            };
            dotted(i + 1).and_then(dotted).is_some()
        }
        0x8c | b'X' | 0x8d | b'V' => {
            let string = |at: usize| -> Option<usize> {
                let end = match *data.get(at)? {
                    0x8c => at + 2 + usize::from(*data.get(at + 1)?),
                    b'X' => {
                        let b = data.get(at + 1..at + 5)?;
                        at + 5 + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
                    }
                    b'V' => {
                        at + 1
                            + data
                                .get(at + 1..)?
                                .iter()
                                .take(MAX_NAME_BYTES)
                                .position(|&b| b == b'\n')?
                            + 1
                    }
                    _ => return None,
                };
                (end <= data.len() && end - at <= MAX_NAME_BYTES + 9).then_some(end)
            };
            let memo = |at: usize| -> usize {
                match data.get(at) {
                    Some(0x94) => at + 1,
                    Some(b'q') => at + 2,
                    Some(b'r') => at + 5,
                    _ => at,
                }
            };
            string(i)
                .map(memo)
                .and_then(string)
                .map(memo)
                .is_some_and(|at| data.get(at) == Some(&0x93))
        }
        _ => false,
    })
}
