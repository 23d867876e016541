//! The analysis: names resolved through imports, aliases, `getattr`, `import_module` and
//! module constants; values followed through assignments within a function (what they were
//! derived from, and whether they are untrusted data, user input, PRNG output, a fresh key,
//! a digest or a deserialised object); rules called at calls, comparisons, checks and at
//! the end of each scope.

use std::rc::Rc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use mlguard_findings::Severity;
use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::rules::{self, Rule};

/// Expressions nested deeper than this are not analysed (a `too-deep` finding says so).
pub(crate) const MAX_DEPTH: usize = 2_000;
/// Names remembered as the origins of one value.
const MAX_ORIGINS: usize = 16;
/// Longer string constants are not kept (docstrings, templates): only their presence.
const MAX_KEPT_STR: usize = 256;

/// A constant the analysis knows the value of.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Int(i64),
    Str(Rc<str>),
    /// A string constant longer than [`MAX_KEPT_STR`].
    LongStr,
    Bytes(usize),
    Bool(bool),
    None,
}

/// A digest value: where it was computed and with what.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Digest {
    pub(crate) range: TextRange,
    /// `md5` or `sha1` when the algorithm is broken for integrity.
    pub(crate) weak: Option<&'static str>,
    /// An HMAC (a keyed digest): comparing it with `==` leaks it byte by byte.
    pub(crate) keyed: bool,
    /// Not declared `usedforsecurity=False`.
    pub(crate) for_security: bool,
}

/// What the analysis knows about a value.
#[derive(Debug, Clone, Default)]
pub(crate) struct Val {
    /// The module, function or class it refers to (`pickle.loads`).
    pub(crate) qual: Option<Rc<str>>,
    /// A function defined in this file.
    pub(crate) local_fn: Option<Rc<str>>,
    pub(crate) lit: Option<Lit>,
    /// `{"weights_only": False}` and `dict(weights_only=False)`, for `**kwargs`.
    pub(crate) dict: Option<Vec<(Rc<str>, Val)>>,
    /// Line where an external dataset was read (C1), until validated.
    pub(crate) raw_data: Option<u32>,
    /// Line where request/CLI/message data entered (C2), until validated.
    pub(crate) user_input: Option<u32>,
    /// Line of a non-cryptographic PRNG call this value derives from (C3).
    pub(crate) random: Option<u32>,
    /// Line of the `generate_key()` this value is (C5).
    pub(crate) new_key: Option<u32>,
    pub(crate) digest: Option<Digest>,
    /// The result of `compare_digest(...)` or a `verify(...)` that returns a verdict:
    /// `ok = hmac.compare_digest(a, b)` then `if not ok: raise`.
    pub(crate) verdict: bool,
    /// Variables this value was computed from.
    pub(crate) origins: Origins,
}

/// Variables a value was computed from, as interned ids: inline, so copying a value never
/// allocates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Origins {
    ids: [u32; MAX_ORIGINS],
    len: u8,
}

impl Origins {
    pub(crate) fn add(&mut self, id: u32) {
        if (self.len as usize) < MAX_ORIGINS && !self.contains(id) {
            self.ids[self.len as usize] = id;
            self.len += 1;
        }
    }

    pub(crate) fn contains(&self, id: u32) -> bool {
        self.ids[..self.len as usize].contains(&id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.ids[..self.len as usize].iter().copied()
    }

    pub(crate) fn remove(&mut self, id: u32) {
        let len = self.len as usize;
        if let Some(i) = self.ids[..len].iter().position(|&x| x == id) {
            self.ids.copy_within(i + 1..len, i);
            self.len -= 1;
        }
    }

    pub(crate) fn extend(&mut self, other: &Origins) {
        for id in other.iter() {
            self.add(id);
        }
    }
}

impl Val {
    fn qual(q: impl Into<Rc<str>>) -> Val {
        Val { qual: Some(q.into()), ..Val::default() }
    }

    /// Flows `other`'s taints and origins into `self` (not its identity or constant value).
    pub(crate) fn absorb(&mut self, other: &Val) {
        fn first(a: &mut Option<u32>, b: Option<u32>) {
            *a = match (*a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
        }
        first(&mut self.raw_data, other.raw_data);
        first(&mut self.user_input, other.user_input);
        first(&mut self.random, other.random);
        first(&mut self.new_key, other.new_key);
        if self.digest.is_none() {
            self.digest = other.digest;
        }
        self.verdict |= other.verdict;
        self.origins.extend(&other.origins);
    }

    /// Data read from outside (C1) or from a request (C2) that nothing validated yet.
    pub(crate) fn tainted(&self) -> bool {
        self.raw_data.is_some() || self.user_input.is_some()
    }

    fn tainted_only(&self) -> Val {
        let mut v = Val::default();
        v.absorb(self);
        v
    }

    pub(crate) fn int(&self) -> Option<i64> {
        match self.lit {
            Some(Lit::Int(i)) => Some(i),
            _ => None,
        }
    }

    pub(crate) fn truthy(&self) -> Option<bool> {
        match &self.lit {
            Some(Lit::Bool(b)) => Some(*b),
            Some(Lit::Int(i)) => Some(*i != 0),
            Some(Lit::None) => Some(false),
            Some(Lit::Str(s)) => Some(!s.is_empty()),
            Some(Lit::LongStr) => Some(true),
            _ => None,
        }
    }

    pub(crate) fn str(&self) -> Option<&str> {
        match &self.lit {
            Some(Lit::Str(s)) => Some(&**s),
            _ => None,
        }
    }
}

/// One call, with everything the rules need resolved.
pub(crate) struct Call<'a> {
    pub(crate) node: &'a ast::ExprCall,
    /// The callee's qualified name when it resolves (`pickle.load`, `torch.load`).
    pub(crate) qual: Option<Rc<str>>,
    /// The last name of the callee (`load`, `fit`), resolved or not.
    pub(crate) method: &'a str,
    /// The receiver of a method call.
    pub(crate) receiver: Option<Val>,
    pub(crate) args: Vec<Val>,
    /// Keywords by name, including those passed through `**dict` literals or variables.
    pub(crate) kwargs: Vec<(Rc<str>, Val, TextRange)>,
    /// A `**kwargs` whose content is unknown.
    pub(crate) opaque_kwargs: bool,
    /// The call's input was checked (digest, HMAC or signature) earlier in the scope.
    pub(crate) verified: bool,
    pub(crate) line: u32,
}

impl Call<'_> {
    /// The qualified name is one of `names` (exact match).
    pub(crate) fn is(&self, names: &[&str]) -> bool {
        self.qual.as_deref().is_some_and(|q| names.contains(&q))
    }

    /// The keyword `name`, if passed.
    pub(crate) fn kw(&self, name: &str) -> Option<&Val> {
        self.kwargs.iter().find(|(k, _, _)| &**k == name).map(|(_, v, _)| v)
    }

    /// The keyword `name`'s source range.
    pub(crate) fn kw_range(&self, name: &str) -> Option<TextRange> {
        self.kwargs.iter().find(|(k, _, _)| &**k == name).map(|(_, _, r)| *r)
    }

    /// Positional argument `i`, or keyword `name`.
    pub(crate) fn arg(&self, i: usize, name: &str) -> Option<&Val> {
        self.args.get(i).or_else(|| self.kw(name))
    }

    /// Every argument value (positional and keyword).
    pub(crate) fn all_args(&self) -> impl Iterator<Item = &Val> {
        self.args.iter().chain(self.kwargs.iter().map(|(_, v, _)| v))
    }

    pub(crate) fn range(&self) -> TextRange {
        self.node.range()
    }
}

/// A deserialisation waiting for the end of its scope (C6).
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) line: u32,
    pub(crate) range: TextRange,
    pub(crate) what: String,
    pub(crate) origins: Origins,
    /// A digest/signature check of the same data came first (or this scope wrote it).
    pub(crate) verified: bool,
    /// The format runs code when loaded (pickle and its relatives).
    pub(crate) runs_code: bool,
    /// Set when a digest/signature check on the same data follows the load.
    pub(crate) checked_after: Option<u32>,
}

/// A key from `generate_key()`: lost at exit unless it is stored or handed on.
#[derive(Debug, Clone)]
pub(crate) struct KeyGen {
    pub(crate) line: u32,
    pub(crate) range: TextRange,
    pub(crate) persisted: bool,
}

#[derive(Default)]
struct Scope {
    /// Values by interned name.
    env: HashMap<u32, Val>,
    /// Names checked by a digest/HMAC/signature comparison, with the line.
    verified: HashMap<u32, u32>,
    /// Names of files and buffers this scope itself wrote (a model saved, then loaded back).
    written: Origins,
    loads: Vec<Load>,
    keys: Vec<KeyGen>,
    /// Data origins (lines) already reported at a sink, per rule.
    reported_sinks: HashSet<(&'static str, u32)>,
}

/// What a local function does to its argument, for C1/C2.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalFn {
    /// It raises or asserts somewhere: a validator.
    pub(crate) raises: bool,
    /// A weak check in its body (line), which makes it no validator.
    pub(crate) weak: Option<u32>,
    /// It is a web route (its parameters are user input).
    pub(crate) route: bool,
}

/// A raw finding before suppression and rendering.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) rule: &'static Rule,
    pub(crate) severity: Severity,
    pub(crate) range: TextRange,
    pub(crate) message: String,
}

pub(crate) struct Checker<'s> {
    pub(crate) source: &'s str,
    line_starts: &'s [u32],
    pub(crate) hits: Vec<Hit>,
    scopes: Vec<Scope>,
    pub(crate) local_fns: HashMap<String, LocalFn>,
    pydantic: HashSet<String>,
    /// Methods decorated `@property`/`@cached_property`, as `Class.name`.
    properties: HashSet<String>,
    /// marshmallow schemas of this file (`class UserSchema(Schema)`): `.load` validates.
    schemas: HashSet<String>,
    depth: usize,
    pub(crate) too_deep: Option<TextRange>,
    /// Interned variable names (for [`Origins`]).
    ids: HashMap<String, u32>,
    /// Interned keyword names.
    keywords: HashMap<String, Rc<str>>,
    /// Argument vectors to reuse (a call allocates none once the pool is warm).
    arg_pool: Vec<Vec<Val>>,
    /// Module-level names that lead to a rule (see `skippable`).
    relevant_globals: Vec<String>,
    /// Policy for fixed seeds (C3): report them (default) or not.
    pub(crate) report_fixed_seeds: bool,
    /// What each `self.<attr>` was last given by a method of this file (its taints only):
    /// data read in `load` and kept in `self.df` is still unvalidated in `fit`.
    self_attrs: HashMap<String, Val>,
    /// The attributes of `self` the function being analysed reads.
    self_reads: Vec<String>,
    /// The class each method belongs to (by where its `def` starts), and the class whose
    /// body or method is being read: `self.df` of one class is not another's.
    method_class: HashMap<u32, Rc<str>>,
    class: Option<Rc<str>>,
    /// The function being analysed (its returns are named by it: `make_token()`).
    function_name: Option<Rc<str>>,
    /// The function being analysed as callers name it: `helper`, or `Class.method`.
    function_key: Option<Rc<str>>,
    /// Where the function being analysed is in the source.
    function_range: Option<TextRange>,
    /// What each function of this file returns (its taints only): data read in a helper
    /// and returned is still unvalidated where the helper is called.
    fn_returns: HashMap<Rc<str>, Val>,
    /// Functions analysed so far (by key).
    analysed: HashSet<Rc<str>>,
    /// Inside a `try` whose handler swallows failures: checks do not count.
    suppress_checks: u32,
    /// A check was made that did not count for that reason.
    suppressed_check: bool,
    /// Functions called before they were analysed, by the code being analysed now: it
    /// is analysed again if one of them turns out to return tainted data.
    called_early: Vec<Rc<str>>,
}

impl<'s> Checker<'s> {
    pub(crate) fn new(source: &'s str, line_starts: &'s [u32], report_fixed_seeds: bool) -> Self {
        Checker {
            source,
            line_starts,
            hits: Vec::new(),
            scopes: vec![Scope::default()],
            local_fns: HashMap::default(),
            pydantic: HashSet::default(),
            schemas: HashSet::default(),
            properties: HashSet::default(),
            ids: HashMap::default(),
            keywords: HashMap::default(),
            arg_pool: Vec::new(),
            relevant_globals: Vec::new(),
            depth: 0,
            too_deep: None,
            report_fixed_seeds,
            self_attrs: HashMap::default(),
            self_reads: Vec::new(),
            method_class: HashMap::default(),
            class: None,
            function_name: None,
            function_key: None,
            function_range: None,
            fn_returns: HashMap::default(),
            analysed: HashSet::default(),
            called_early: Vec::new(),
            suppress_checks: 0,
            suppressed_check: false,
        }
    }

    /// Reports `rule` at `range` with its default severity.
    pub(crate) fn report(&mut self, rule: &'static Rule, range: TextRange, message: String) {
        self.report_as(rule, rule.severity, range, message);
    }

    pub(crate) fn report_as(
        &mut self,
        rule: &'static Rule,
        severity: Severity,
        range: TextRange,
        message: String,
    ) {
        let line = self.line(range);
        if self.hits.iter().any(|h| h.rule.code == rule.code && self.line(h.range) == line) {
            return;
        }
        self.hits.push(Hit { rule, severity, range, message });
    }

    /// 1-based line of the start of `range`.
    pub(crate) fn line(&self, range: TextRange) -> u32 {
        let off = u32::from(range.start());
        self.line_starts.partition_point(|&s| s <= off) as u32
    }

    /// The source text of the line `range` starts on.
    pub(crate) fn line_text(&self, range: TextRange) -> &'s str {
        let line = self.line(range) as usize;
        let start = self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(0) as usize;
        let end = self.line_starts.get(line).map_or(self.source.len(), |&e| e as usize);
        self.source.get(start..end).unwrap_or("")
    }

    /// The interned id of a variable name.
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(name.to_owned(), id);
        id
    }

    fn keyword(&mut self, name: &str) -> Rc<str> {
        if let Some(k) = self.keywords.get(name) {
            return k.clone();
        }
        let k: Rc<str> = Rc::from(name);
        self.keywords.insert(name.to_owned(), k.clone());
        k
    }

    fn scope(&mut self) -> &mut Scope {
        let last = self.scopes.len() - 1;
        &mut self.scopes[last]
    }

    fn lookup_id(&self, id: u32) -> Option<&Val> {
        self.scopes.iter().rev().find_map(|s| s.env.get(&id))
    }

    fn bind_name(&mut self, name: &str, val: Val) {
        let id = self.id(name);
        self.scope().env.insert(id, val);
    }

    /// The module: a pre-pass for local functions and pydantic models, then the walk.
    pub(crate) fn module(&mut self, body: &[Stmt]) {
        self.collect_defs(body);
        let mut functions = Vec::new();
        self.suite_collect(body, &mut functions);
        let module_early = std::mem::take(&mut self.called_early);
        self.relevant_globals = self.module_names_rules_need();
        let mut again = Vec::new();
        for f in functions {
            self.self_reads.clear();
            self.function(f);
            let reads = std::mem::take(&mut self.self_reads);
            let early = std::mem::take(&mut self.called_early);
            again.push((f, reads, early));
        }
        // Code that called a helper of this file before the helper was analysed (the
        // module body, or a function defined above it) is analysed again if the helper
        // returns tainted data; so is a method that reads an attribute a method analysed
        // after it stored data in (`fit` written before `load`). Findings are kept once
        // per rule and line.
        if self.returns_tainted(&module_early) {
            self.scopes[0] = Scope::default();
            self.suite_collect(body, &mut Vec::new());
            self.called_early.clear();
        }
        for (f, reads, early) in again {
            if reads.iter().any(|r| self.self_attrs.get(r).is_some_and(Val::tainted))
                || self.returns_tainted(&early)
            {
                self.function(f);
                self.called_early.clear();
            }
        }
        self.end_scope();
    }

    /// One of `functions` returns data read from outside, request input or PRNG output.
    fn returns_tainted(&self, functions: &[Rc<str>]) -> bool {
        functions.iter().any(|f| self.fn_returns.contains_key(f))
    }

    /// Module-level names a function body can reach a rule through without naming a
    /// trigger itself: aliases of interesting callables (`from pickle import loads as
    /// from_bytes`), values that carry a taint or a digest, and `**kwargs` dicts.
    fn module_names_rules_need(&self) -> Vec<String> {
        let Some(module) = self.scopes.first() else { return Vec::new() };
        let mut out = Vec::new();
        for (name, id) in &self.ids {
            let Some(v) = module.env.get(id) else { continue };
            let tainted = v.raw_data.is_some()
                || v.user_input.is_some()
                || v.random.is_some()
                || v.new_key.is_some()
                || v.digest.is_some()
                || v.dict.is_some();
            let callable = v.qual.as_deref().is_some_and(|q| {
                q.split(['.', '(', ')']).any(|part| trigger_words().contains(part))
            });
            if tainted || callable {
                out.push(name.clone());
            }
        }
        out
    }

    /// A module-level function (or method) whose text names no trigger — no callee any
    /// rule looks at, no seed keyword, no digest module, no key generation, no null check,
    /// no module-level name that leads to one — cannot produce a finding: it is not walked.
    /// Long functions are always walked (their nesting depth is checked there).
    fn skippable(&self, f: &ast::StmtFunctionDef) -> bool {
        const MAX_SKIPPED_BYTES: usize = 64 * 1024;
        let range = f.range();
        let Some(text) = self.source.get(usize::from(range.start())..usize::from(range.end()))
        else {
            return false;
        };
        if text.len() > MAX_SKIPPED_BYTES
            || rules::weak_encryption::encryption_name(f.name.as_str())
        {
            return false;
        }
        let text = text.as_bytes();
        match trigger_regex() {
            Some(re) if !re.is_match(text) => {}
            _ => return false,
        }
        !self.relevant_globals.iter().any(|name| contains_word(text, name.as_bytes()))
    }

    fn collect_defs(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    let mut info = LocalFn::default();
                    self.scan_fn_body(&f.body, &mut info);
                    info.route = f.decorator_list.iter().any(|d| is_route_decorator(&d.expression));
                    self.local_fns.insert(f.name.as_str().to_owned(), info);
                    self.collect_defs(&f.body);
                }
                Stmt::ClassDef(c) => {
                    let is_model = c.arguments.as_ref().is_some_and(|a| {
                        a.args.iter().any(|b| {
                            let name = dotted(b).unwrap_or_default();
                            name.ends_with("BaseModel") || self.pydantic.contains(&name)
                        })
                    });
                    if is_model {
                        self.pydantic.insert(c.name.as_str().to_owned());
                    }
                    let is_schema = c.arguments.as_ref().is_some_and(|a| {
                        a.args.iter().any(|b| {
                            let name = dotted(b).unwrap_or_default();
                            (name.ends_with("Schema") && !name.ends_with("DataFrameSchema"))
                                || self.schemas.contains(&name)
                        })
                    });
                    if is_schema {
                        self.schemas.insert(c.name.as_str().to_owned());
                    }
                    self.collect_defs(&c.body);
                }
                _ => {}
            }
        }
    }

    fn scan_fn_body(&self, body: &[Stmt], info: &mut LocalFn) {
        for stmt in body {
            match stmt {
                Stmt::Raise(_) => info.raises = true,
                Stmt::Assert(a) => {
                    info.raises = true;
                    if rules::weak_validation::is_weak(self.line_text(a.range())) {
                        info.weak.get_or_insert(self.line(a.range()));
                    }
                }
                Stmt::If(i) => {
                    if rules::weak_validation::is_weak(self.line_text(i.range())) {
                        info.weak.get_or_insert(self.line(i.range()));
                    }
                    self.scan_fn_body(&i.body, info);
                    for c in &i.elif_else_clauses {
                        self.scan_fn_body(&c.body, info);
                    }
                }
                Stmt::For(s) => self.scan_fn_body(&s.body, info),
                Stmt::While(s) => self.scan_fn_body(&s.body, info),
                Stmt::With(s) => self.scan_fn_body(&s.body, info),
                Stmt::Try(t) => {
                    self.scan_fn_body(&t.body, info);
                    self.scan_fn_body(&t.orelse, info);
                    self.scan_fn_body(&t.finalbody, info);
                }
                Stmt::Expr(e) => {
                    if let Expr::Call(c) = &*e.value
                        && dotted(&c.func).is_some_and(|n| {
                            n.ends_with("abort") || n == "sys.exit" || n.ends_with(".validate")
                        })
                    {
                        info.raises = true;
                    }
                }
                _ => {}
            }
        }
    }

    fn end_scope(&mut self) {
        let scope = self.scopes.pop().unwrap_or_default();
        if self.scopes.is_empty() {
            self.scopes.push(Scope::default());
        }
        rules::unverified_load::at_scope_end(self, &scope.loads);
        rules::ephemeral_key::at_scope_end(self, &scope.keys);
    }

    /// Walks `body` in order; function definitions are collected and walked after the
    /// enclosing scope's statements, so they see its final names.
    fn suite_collect<'a>(
        &mut self,
        body: &'a [Stmt],
        functions: &mut Vec<&'a ast::StmtFunctionDef>,
    ) {
        for stmt in body {
            self.stmt(stmt, functions);
        }
    }

    fn function(&mut self, f: &ast::StmtFunctionDef) {
        if self.scopes.len() == 1 && self.skippable(f) {
            return;
        }
        let outer = self.class.clone();
        let method = self.method_class.get(&u32::from(f.range().start())).cloned();
        let key = match &method {
            Some(class) => concat_rc(&[class, ".", f.name.as_str()]),
            None => Rc::from(f.name.as_str()),
        };
        if method.is_some() {
            self.class = method;
        }
        let outer_fn = self.function_name.replace(Rc::from(f.name.as_str()));
        let outer_key = self.function_key.replace(key.clone());
        let outer_range = self.function_range.replace(f.range());
        self.function_body(f);
        self.function_range = outer_range;
        self.analysed.insert(key);
        self.function_name = outer_fn;
        self.function_key = outer_key;
        self.class = outer;
    }

    fn function_body(&mut self, f: &ast::StmtFunctionDef) {
        if self.scopes.len() >= MAX_DEPTH {
            self.too_deep.get_or_insert(f.range());
            return;
        }
        self.scopes.push(Scope::default());
        let route = self.local_fns.get(f.name.as_str()).is_some_and(|i| i.route)
            || is_lambda_handler(f)
            || is_request_handler(f);
        let params = f
            .parameters
            .posonlyargs
            .iter()
            .chain(&f.parameters.args)
            .chain(&f.parameters.kwonlyargs);
        for p in params {
            let name = p.parameter.name.as_str();
            let mut v = Val::default();
            v.origins.add(self.id(name));
            if route && !matches!(name, "self" | "cls") {
                let validated =
                    p.parameter.annotation.as_deref().and_then(dotted).is_some_and(|a| {
                        self.pydantic.contains(a.rsplit('.').next().unwrap_or(&a))
                            || is_scalar_annotation(&a)
                    });
                if !validated {
                    v.user_input = Some(self.line(p.range()));
                }
            }
            self.bind_name(name, v);
        }
        let mut nested = Vec::new();
        self.suite_collect(&f.body, &mut nested);
        for n in nested {
            self.function(n);
        }
        self.end_scope();
    }

    fn stmt<'a>(&mut self, stmt: &'a Stmt, functions: &mut Vec<&'a ast::StmtFunctionDef>) {
        if self.depth >= MAX_DEPTH {
            self.too_deep.get_or_insert(stmt.range());
            return;
        }
        self.depth += 1;
        self.stmt_inner(stmt, functions);
        self.depth -= 1;
    }

    fn stmt_inner<'a>(&mut self, stmt: &'a Stmt, functions: &mut Vec<&'a ast::StmtFunctionDef>) {
        match stmt {
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.eval(&d.expression);
                }
                let params = f.parameters.posonlyargs.iter().chain(&f.parameters.args);
                for p in params.chain(&f.parameters.kwonlyargs) {
                    if let Some(default) = &p.default {
                        let v = self.eval(default);
                        rules::hardcoded_key::at_default(
                            self,
                            f.name.as_str(),
                            p.parameter.name.as_str(),
                            &v,
                            p.range(),
                        );
                    }
                }
                let v = Val { local_fn: Some(Rc::from(f.name.as_str())), ..Val::default() };
                self.bind_name(f.name.as_str(), v);
                if let Some(class) = &self.class {
                    self.method_class.insert(u32::from(f.range().start()), class.clone());
                    let property = f.decorator_list.iter().any(|d| {
                        dotted(&d.expression).is_some_and(|n| {
                            n.ends_with("property") || n.ends_with("cached_property")
                        })
                    });
                    if property {
                        self.properties.insert(format!("{class}.{}", f.name.as_str()));
                    }
                }
                functions.push(f);
            }
            Stmt::ClassDef(c) => {
                self.bind_name(c.name.as_str(), Val::qual(c.name.as_str()));
                // Class bodies share the enclosing scope's view; their methods are functions.
                let outer = self.class.replace(Rc::from(c.name.as_str()));
                for s in &c.body {
                    self.stmt(s, functions);
                }
                self.class = outer;
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let full = a.name.as_str();
                    match &a.asname {
                        Some(asname) => self.bind_name(asname.as_str(), Val::qual(full)),
                        None => {
                            let top = full.split('.').next().unwrap_or(full);
                            self.bind_name(top, Val::qual(top));
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map_or("", |m| m.as_str());
                for a in &i.names {
                    let name = a.name.as_str();
                    if name == "*" {
                        // `from pickle import *`: the names a rule looks at that the
                        // module exports.
                        for export in star_exports(module) {
                            self.bind_name(export, Val::qual(format!("{module}.{export}")));
                        }
                        continue;
                    }
                    let bound = a.asname.as_ref().map_or(name, |n| n.as_str());
                    self.bind_name(bound, Val::qual(format!("{module}.{name}")));
                }
            }
            Stmt::Assign(a) => {
                let v = self.eval(&a.value);
                for t in &a.targets {
                    let name = match t {
                        Expr::Name(n) => Some(n.id.as_str()),
                        Expr::Attribute(at) => Some(at.attr.as_str()),
                        _ => None,
                    };
                    if let Some(name) = name
                        && rules::weak_encryption::encryption_name(name)
                        && !self.real_cipher_nearby(a.range())
                    {
                        rules::weak_encryption::at_encoding(self, name, &v, &a.value, a.range());
                    }
                    self.bind(t, &v);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.eval(value);
                    self.bind(&a.target, &v);
                }
            }
            Stmt::AugAssign(a) => {
                let mut v = self.eval(&a.value);
                let old = self.eval(&a.target);
                v.absorb(&old);
                v.lit = None;
                self.bind(&a.target, &v);
            }
            Stmt::Expr(e) => {
                let v = self.eval(&e.value);
                if rules::ineffective_check::is_dropped_verdict(&e.value)
                    && is_integrity_test(&e.value, &v)
                {
                    self.report(
                        &rules::ineffective_check::RULE,
                        e.range(),
                        "the result of this integrity comparison is thrown away: nothing stops when it fails".to_owned(),
                    );
                    // How the ignored result is computed (`==`, MLG604) is beside the point.
                    let line = self.line(e.range());
                    let lines = self.line_starts;
                    self.hits.retain(|h| {
                        h.rule.code != rules::digest_compare::RULE.code
                            || lines.partition_point(|&s| s <= u32::from(h.range.start())) as u32
                                != line
                    });
                } else if let Expr::Call(c) = &*e.value {
                    let method = callee_name(&c.func).unwrap_or_default();
                    let receiver = match &*c.func {
                        Expr::Attribute(a) if method == "validate" => {
                            self.eval_quiet(&a.value).qual
                        }
                        _ => None,
                    };
                    // DRF's `serializer.is_valid(raise_exception=True)` raises: a validator.
                    let raises = c.arguments.keywords.iter().any(|k| {
                        k.arg.as_ref().is_some_and(|a| a.as_str() == "raise_exception")
                            && matches!(
                                k.value,
                                Expr::BooleanLiteral(ast::ExprBooleanLiteral { value: true, .. })
                            )
                    });
                    if method == "is_valid" && raises {
                        if let Expr::Attribute(a) = &*c.func {
                            for n in names_in(&a.value) {
                                self.validate_name(&n);
                            }
                        }
                    } else if rules::ineffective_check::drops_validation(
                        method,
                        receiver.as_deref(),
                    ) {
                        self.report(
                            &rules::ineffective_check::RULE,
                            e.range(),
                            format!("`{method}(...)` returns whether the data is valid, and the result is thrown away: invalid data goes on"),
                        );
                    } else {
                        self.statement_call(c);
                    }
                }
            }
            Stmt::Return(r) => {
                if let Some(value) = &r.value {
                    let v = self.eval(value);
                    if let Some(function) = self.function_name.clone() {
                        rules::insecure_random_secret::named_secret(
                            self,
                            &function,
                            v.random,
                            value.range(),
                        );
                        if rules::weak_encryption::encryption_name(&function)
                            && !self.real_cipher_nearby(r.range())
                        {
                            rules::weak_encryption::at_encoding(
                                self,
                                &function,
                                &v,
                                value,
                                r.range(),
                            );
                        }
                    }
                    if let Some(key) = self.function_key.clone()
                        && (v.tainted() || v.random.is_some())
                    {
                        let mut kept = Val {
                            raw_data: v.raw_data,
                            user_input: v.user_input,
                            random: v.random,
                            ..Val::default()
                        };
                        if let Some(old) = self.fn_returns.get(&key) {
                            kept.absorb(&old.clone());
                        }
                        self.fn_returns.insert(key, kept);
                    }
                    self.persist(&v);
                }
            }
            Stmt::If(i) => {
                let raising = body_stops(&i.body);
                let reports = rules::ineffective_check::only_reports(&i.body);
                self.check_stmt(&i.test, raising, reports, i.range());
                self.suite_collect(&i.body, functions);
                for c in &i.elif_else_clauses {
                    if let Some(test) = &c.test {
                        let reports = rules::ineffective_check::only_reports(&c.body);
                        self.check_stmt(test, body_stops(&c.body), reports, c.range());
                    }
                    self.suite_collect(&c.body, functions);
                }
            }
            Stmt::Assert(a) => {
                self.check_stmt(&a.test, true, false, a.range());
                if let Some(m) = &a.msg {
                    self.eval(m);
                }
            }
            Stmt::For(f) => {
                let mut v = self.eval(&f.iter);
                if v.qual.as_deref().is_some_and(is_message_consumer) {
                    v.user_input.get_or_insert(self.line(f.iter.range()));
                }
                let v = v.tainted_only();
                self.bind(&f.target, &v);
                self.suite_collect(&f.body, functions);
                self.suite_collect(&f.orelse, functions);
                // `for r in records: Row.model_validate(r)`: every item validated (raising
                // on the first bad one) validates what they came from.
                if self.body_validates(&f.body, &names_in(&f.target)) {
                    for n in names_in(&f.iter) {
                        self.validate_name(&n);
                    }
                }
            }
            Stmt::While(w) => {
                self.eval(&w.test);
                self.suite_collect(&w.body, functions);
                self.suite_collect(&w.orelse, functions);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    let v = self.eval(&item.context_expr);
                    if let Some(target) = &item.optional_vars {
                        let mut v = v.tainted_only();
                        if let Some(q) = self.eval_callee_qual(&item.context_expr) {
                            v.qual = Some(q);
                        }
                        self.bind(target, &v);
                    }
                }
                self.suite_collect(&w.body, functions);
            }
            Stmt::Try(t) => {
                // A handler that catches a validation or signature error and goes on: the
                // checks in the body protect nothing.
                let swallowing = t.handlers.iter().find_map(|h| {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    rules::ineffective_check::swallows(h).then_some(h.range())
                });
                let outer_suppressed = std::mem::take(&mut self.suppressed_check);
                if swallowing.is_some() {
                    self.suppress_checks += 1;
                }
                self.suite_collect(&t.body, functions);
                if let Some(handler) = swallowing {
                    self.suppress_checks -= 1;
                    if self.suppressed_check {
                        self.report(
                            &rules::ineffective_check::RULE,
                            handler,
                            "a failed check is caught here and the code goes on: the data is used as if it had passed".to_owned(),
                        );
                    }
                }
                self.suppressed_check |= outer_suppressed;
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    self.suite_collect(&h.body, functions);
                }
                self.suite_collect(&t.orelse, functions);
                self.suite_collect(&t.finalbody, functions);
            }
            Stmt::Match(m) => {
                self.eval(&m.subject);
                for case in &m.cases {
                    if let Some(g) = &case.guard {
                        self.eval(g);
                    }
                    self.suite_collect(&case.body, functions);
                }
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.eval(e);
                }
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.eval(t);
                }
            }
            Stmt::TypeAlias(_)
            | Stmt::Global(_)
            | Stmt::Nonlocal(_)
            | Stmt::Pass(_)
            | Stmt::Break(_)
            | Stmt::Continue(_)
            | Stmt::IpyEscapeCommand(_) => {}
        }
    }

    /// The qualified name of a call's callee (for `with open(...) as f` and similar).
    fn eval_callee_qual(&mut self, e: &Expr) -> Option<Rc<str>> {
        match e {
            Expr::Call(c) => self.resolve(&c.func),
            _ => None,
        }
    }

    /// A call whose result is validated data: a validator ([`is_validator_call`]) or a
    /// pydantic model of this file built from it.
    fn validates(&self, method: Option<&str>, qual: Option<&str>, local: Option<&LocalFn>) -> bool {
        is_validator_call(method, qual, local) || qual.is_some_and(|q| self.pydantic.contains(q))
    }

    /// Whether a loop body validates its loop variables: a statement-level validator call
    /// (or a pydantic model built) with one of `targets` among its arguments.
    fn body_validates(&mut self, body: &[Stmt], targets: &[String]) -> bool {
        body.iter().any(|stmt| {
            let Stmt::Expr(e) = stmt else { return false };
            let Expr::Call(c) = &*e.value else { return false };
            let qual = self.resolve(&c.func);
            let local = self.local_fn_of(&c.func);
            self.validates(callee_name(&c.func), qual.as_deref(), local.as_ref())
                && c.arguments
                    .args
                    .iter()
                    .chain(c.arguments.keywords.iter().map(|k| &k.value))
                    .any(|a| names_in(a).iter().any(|n| targets.contains(n)))
        })
    }

    /// A statement-level call that validates or verifies its arguments in place:
    /// `schema.validate(df)`, `jsonschema.validate(data, schema)`, `key.verify(sig, data)`.
    fn statement_call(&mut self, c: &ast::ExprCall) {
        let method = callee_name(&c.func);
        let qual = self.resolve(&c.func);
        let args: Vec<&Expr> =
            c.arguments.args.iter().chain(c.arguments.keywords.iter().map(|k| &k.value)).collect();
        let local = self.local_fn_of(&c.func);
        if is_validator_call(method, qual.as_deref(), local.as_ref()) {
            for a in &args {
                for n in names_in(a) {
                    self.validate_name(&n);
                }
            }
        }
        if is_verify_call(method, qual.as_deref()) {
            let mut names = Origins::default();
            for a in &args {
                let v = self.eval_quiet(a);
                names.extend(&v.origins);
            }
            if let Expr::Attribute(at) = &*c.func {
                names.extend(&self.eval_quiet(&at.value).origins);
            }
            self.mark_verified(names, c.range());
        }
    }

    /// An `if`/`assert` test: a raising check validates the data it mentions (C1/C2) and, when
    /// it compares digests or verifies a signature, marks that data verified (C4/C6).
    fn check_stmt(
        &mut self,
        test: &Expr,
        raising: bool,
        only_reports: bool,
        stmt_range: TextRange,
    ) {
        let weak = rules::weak_validation::check(self, stmt_range);
        let v = self.eval(test);
        if !raising {
            if only_reports
                && rules::ineffective_check::negative(test)
                && is_integrity_test(test, &v)
            {
                self.report(
                    &rules::ineffective_check::RULE,
                    stmt_range,
                    "when this integrity check fails the code only goes on: nothing raises or returns".to_owned(),
                );
            }
            return;
        }
        if !weak {
            for n in names_in(test) {
                self.validate_name(&n);
            }
        }
        if is_integrity_test(test, &v) {
            self.mark_verified(v.origins, stmt_range);
        }
    }

    fn validate_name(&mut self, name: &str) {
        let id = self.id(name);
        let suppressed = self.suppress_checks > 0;
        for scope in self.scopes.iter_mut().rev() {
            if let Some(v) = scope.env.get_mut(&id) {
                // In a `try` whose handler goes on, a check of untrusted data protects
                // nothing (and a check of anything else is no concern here).
                if suppressed {
                    self.suppressed_check |= v.tainted();
                    return;
                }
                v.raw_data = None;
                v.user_input = None;
                return;
            }
        }
    }

    /// Origins are transitive (a value carries the names of everything it was computed
    /// from), so the names in the check are all there is to mark.
    fn mark_verified(&mut self, all: Origins, range: TextRange) {
        if self.suppress_checks > 0 {
            self.suppressed_check = true;
            return;
        }
        let line = self.line(range);
        let scope = self.scope();
        for n in all.iter() {
            scope.verified.entry(n).or_insert(line);
        }
        for load in &mut scope.loads {
            if !load.verified
                && load.checked_after.is_none()
                && load.origins.iter().any(|o| all.contains(o))
            {
                load.checked_after = Some(line);
            }
        }
        let loads: Vec<Load> = self.scope().loads.clone();
        rules::verify_after_load::at_check(self, &loads, range);
    }

    fn is_verified(&self, origins: &Origins) -> bool {
        self.scopes.last().is_some_and(|s| {
            origins.iter().any(|o| s.verified.contains_key(&o) || s.written.contains(o))
        })
    }

    /// Records a deserialisation for C6.
    /// `runs_code`: the format can run code when loaded (pickle), or only yields data.
    pub(crate) fn record_load(&mut self, call: &Call<'_>, what: &str, runs_code: bool) {
        let mut origins = Origins::default();
        for a in call.all_args() {
            origins.extend(&a.origins);
        }
        let load = Load {
            line: call.line,
            range: call.range(),
            what: what.to_owned(),
            origins,
            verified: call.verified,
            runs_code,
            checked_after: None,
        };
        self.scope().loads.push(load);
    }

    /// The key of `self.<attr>` in [`Checker::self_attrs`]: the class and the attribute.
    fn attr_key(&self, attr: &str) -> String {
        format!("{}.{attr}", self.class.as_deref().unwrap_or(""))
    }

    /// Records a fresh key for C5.
    pub(crate) fn record_key(&mut self, range: TextRange) -> u32 {
        let line = self.line(range);
        self.scope().keys.push(KeyGen { line, range, persisted: false });
        line
    }

    /// A value leaves the cipher: stored, returned or handed to other code.
    fn persist(&mut self, v: &Val) {
        if let Some(line) = v.new_key {
            for s in &mut self.scopes {
                for k in &mut s.keys {
                    if k.line == line {
                        k.persisted = true;
                    }
                }
            }
        }
    }

    pub(crate) fn first_sink_report(&mut self, rule: &'static str, origin: u32) -> bool {
        self.scope().reported_sinks.insert((rule, origin))
    }

    fn bind(&mut self, target: &Expr, v: &Val) {
        if v.random.is_some() {
            let name = match target {
                Expr::Name(n) => Some(n.id.as_str()),
                Expr::Attribute(a) => Some(a.attr.as_str()),
                _ => None,
            };
            if let Some(name) = name {
                rules::insecure_random_secret::named_secret(self, name, v.random, target.range());
            }
        }
        match target {
            Expr::Name(n) => {
                let mut v = v.clone();
                // The name itself is the origin of what is read from it later; a new value
                // under an old name is not what was written under it.
                let id = self.id(n.id.as_str());
                self.scope().written.remove(id);
                v.origins.add(id);
                self.bind_name(n.id.as_str(), v);
            }
            Expr::Tuple(t) => {
                for e in &t.elts {
                    self.bind(e, &v.tainted_only());
                }
            }
            Expr::List(l) => {
                for e in &l.elts {
                    self.bind(e, &v.tainted_only());
                }
            }
            Expr::Starred(s) => self.bind(&s.value, v),
            // Stored in an attribute or a container: it outlives this scope.
            Expr::Attribute(a) => {
                if let Expr::Name(n) = &*a.value
                    && n.id.as_str() == "self"
                {
                    let mut kept = v.tainted_only();
                    kept.origins = Origins::default();
                    let key = self.attr_key(a.attr.as_str());
                    self.self_attrs.insert(key, kept);
                }
                self.eval(target);
                self.persist(v);
            }
            Expr::Subscript(_) => {
                self.eval(target);
                self.persist(v);
            }
            _ => {}
        }
    }

    /// Resolves a callee or attribute chain to a qualified name.
    pub(crate) fn resolve(&mut self, e: &Expr) -> Option<Rc<str>> {
        self.eval_quiet(e).qual
    }

    /// The function around `range` (or its line, in the module body) uses a real cipher:
    /// base64 there encodes ciphertext rather than passing for encryption.
    fn real_cipher_nearby(&self, range: TextRange) -> bool {
        let text = match self.function_range {
            Some(f) => self.source.get(usize::from(f.start())..usize::from(f.end())).unwrap_or(""),
            None => self.line_text(range),
        };
        [
            ".encrypt(",
            "encryptor(",
            "Fernet",
            "AESGCM",
            "ChaCha20",
            "Cipher(",
            "seal(",
            "AES.new",
            "nacl",
        ]
        .iter()
        .any(|w| text.contains(w))
    }

    /// The key of a function of this file a call reaches: `helper(...)` (a local function)
    /// or `self.helper(...)` in a method (`Class.helper`).
    fn callee_key(&self, func: &Expr, local: bool) -> Option<Rc<str>> {
        match func {
            Expr::Name(n) if local => Some(Rc::from(n.id.as_str())),
            Expr::Attribute(a) => match (&*a.value, &self.class) {
                (Expr::Name(n), Some(class)) if matches!(n.id.as_str(), "self" | "cls") => {
                    Some(concat_rc(&[class, ".", a.attr.as_str()]))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn local_fn_of(&mut self, func: &Expr) -> Option<LocalFn> {
        let Expr::Name(n) = func else { return None };
        let id = self.id(n.id.as_str());
        let name = self.lookup_id(id)?.local_fn.clone()?;
        self.local_fns.get(&*name).cloned()
    }

    /// Evaluates without reporting (for re-reading an expression already analysed).
    fn eval_quiet(&mut self, e: &Expr) -> Val {
        let hits = self.hits.len();
        let scope_loads = self.scope().loads.len();
        let scope_keys = self.scope().keys.len();
        let v = self.eval(e);
        self.hits.truncate(hits);
        self.scope().loads.truncate(scope_loads);
        self.scope().keys.truncate(scope_keys);
        v
    }

    pub(crate) fn eval(&mut self, e: &Expr) -> Val {
        if self.depth >= MAX_DEPTH {
            self.too_deep.get_or_insert(e.range());
            return Val::default();
        }
        self.depth += 1;
        let v = self.eval_inner(e);
        self.depth -= 1;
        v
    }

    fn eval_inner(&mut self, e: &Expr) -> Val {
        match e {
            Expr::Name(n) => {
                let name = n.id.as_str();
                let id = self.id(name);
                let mut v = match self.lookup_id(id) {
                    Some(v) => v.clone(),
                    None => Val::qual(name),
                };
                v.origins.add(id);
                v
            }
            Expr::Attribute(a) => {
                let base = self.eval(&a.value);
                let attr = a.attr.as_str();
                let mut v = base.tainted_only();
                v.qual = base.qual.as_deref().and_then(|q| member(q, attr));
                if let Expr::Name(n) = &*a.value
                    && n.id.as_str() == "self"
                {
                    let key = self.attr_key(attr);
                    if let Some(kept) = self.self_attrs.get(&key) {
                        let kept = kept.clone();
                        v.absorb(&kept);
                    }
                    // A `@property`/`@cached_property` of the class: what it returns.
                    if let Some(returned) = self.fn_returns.get(key.as_str()) {
                        let returned = returned.clone();
                        v.absorb(&returned);
                    } else if self.properties.contains(key.as_str())
                        && !self.analysed.contains(key.as_str())
                    {
                        self.called_early.push(Rc::from(key.as_str()));
                    }
                    self.self_reads.push(key);
                }
                if let Some(line) =
                    rules::unchecked_input::attribute_source(self, &base, attr, a.range())
                {
                    v.user_input.get_or_insert(line);
                }
                v
            }
            Expr::Call(c) => self.call(c),
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                let lit = if text.len() <= MAX_KEPT_STR {
                    Lit::Str(Rc::from(text))
                } else {
                    Lit::LongStr
                };
                Val { lit: Some(lit), ..Val::default() }
            }
            Expr::BytesLiteral(b) => Val { lit: Some(Lit::Bytes(b.value.len())), ..Val::default() },
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => Val { lit: i.as_i64().map(Lit::Int), ..Val::default() },
                _ => Val::default(),
            },
            Expr::BooleanLiteral(b) => Val { lit: Some(Lit::Bool(b.value)), ..Val::default() },
            Expr::NoneLiteral(_) => Val { lit: Some(Lit::None), ..Val::default() },
            Expr::Dict(d) => {
                let mut v = Val::default();
                let mut entries = Vec::new();
                let mut known = true;
                for item in &d.items {
                    let value = self.eval(&item.value);
                    v.absorb(&value);
                    match &item.key {
                        Some(Expr::StringLiteral(k)) => {
                            entries.push((Rc::from(k.value.to_str()), value))
                        }
                        Some(k) => {
                            let kv = self.eval(k);
                            v.absorb(&kv);
                            known = false;
                        }
                        None => {
                            // `{**other}`: merge a known dict.
                            match value.dict {
                                Some(inner) => entries.extend(inner),
                                None => known = false,
                            }
                        }
                    }
                }
                if known {
                    v.dict = Some(entries);
                }
                v
            }
            Expr::Compare(c) => {
                let left = self.eval(&c.left);
                let rights: Vec<Val> = c.comparators.iter().map(|r| self.eval(r)).collect();
                rules::digest_compare::check(self, c, &left, &rights);
                rules::weak_hash::at_compare(self, &left, &rights);
                let mut v = left;
                v.lit = None;
                v.qual = None;
                for r in &rights {
                    v.absorb(r);
                }
                v
            }
            // `b"\x00" * 12`, `b"iv" + b"..."`: still a constant.
            Expr::BinOp(b) => {
                let left = self.eval(&b.left);
                let right = self.eval(&b.right);
                let lit = match (&left.lit, b.op, &right.lit) {
                    (Some(Lit::Bytes(n)), ast::Operator::Mult, Some(Lit::Int(k)))
                    | (Some(Lit::Int(k)), ast::Operator::Mult, Some(Lit::Bytes(n))) => {
                        Some(Lit::Bytes(n.saturating_mul(usize::try_from(*k).unwrap_or(0))))
                    }
                    (Some(Lit::Bytes(a)), ast::Operator::Add, Some(Lit::Bytes(c))) => {
                        Some(Lit::Bytes(a.saturating_add(*c)))
                    }
                    (Some(Lit::Int(a)), op, Some(Lit::Int(c))) => match op {
                        ast::Operator::Add => a.checked_add(*c).map(Lit::Int),
                        ast::Operator::Mult => a.checked_mul(*c).map(Lit::Int),
                        ast::Operator::Sub => a.checked_sub(*c).map(Lit::Int),
                        _ => None,
                    },
                    _ => None,
                };
                let mut v = left;
                v.qual = None;
                v.absorb(&right);
                v.lit = lit;
                v
            }
            Expr::Named(n) => {
                let v = self.eval(&n.value);
                self.bind(&n.target, &v);
                v
            }
            // What a comprehension yields is what its element is, with the loop variables
            // holding what the iterables hold: `[Row(**r) for r in rows]` is validated.
            Expr::ListComp(l) => self.comprehension(&l.generators, &[&l.elt]),
            Expr::SetComp(l) => self.comprehension(&l.generators, &[&l.elt]),
            Expr::Generator(g) => self.comprehension(&g.generators, &[&g.elt]),
            Expr::DictComp(d) => {
                let mut elements: Vec<&Expr> = vec![&d.value];
                elements.extend(d.key.as_deref());
                self.comprehension(&d.generators, &elements)
            }
            _ => {
                // Everything else: what flows out is what flows in.
                let mut children = EvalChildren { cx: self, v: Val::default() };
                walk_expr(&mut children, e);
                children.v
            }
        }
    }

    /// `lambda req: model.predict(req.query_params["x"])` registered as a web handler: its
    /// body analysed with its parameters as request data.
    fn lambda_handlers(&mut self, c: &ast::ExprCall) {
        let handlers = c.arguments.args.iter().chain(c.arguments.keywords.iter().map(|k| &k.value));
        for h in handlers {
            let Expr::Lambda(l) = h else { continue };
            self.scopes.push(Scope::default());
            if let Some(params) = &l.parameters {
                for p in params.posonlyargs.iter().chain(&params.args).chain(&params.kwonlyargs) {
                    let name = p.parameter.name.as_str();
                    let mut v = Val::default();
                    v.origins.add(self.id(name));
                    v.user_input = Some(self.line(p.range()));
                    self.bind_name(name, v);
                }
            }
            self.eval(&l.body);
            self.scopes.pop();
        }
    }

    fn comprehension(&mut self, generators: &[ast::Comprehension], elements: &[&Expr]) -> Val {
        for g in generators {
            let it = self.eval(&g.iter).tainted_only();
            self.bind(&g.target, &it);
            for cond in &g.ifs {
                self.eval(cond);
            }
        }
        let mut out = Val::default();
        for e in elements {
            let v = self.eval(e);
            out.absorb(&v);
        }
        out
    }

    fn call(&mut self, c: &ast::ExprCall) -> Val {
        let method = callee_name(&c.func).unwrap_or_default();
        let (func_val, receiver) = match &*c.func {
            Expr::Attribute(a) => {
                let recv = self.eval(&a.value);
                let q = recv.qual.as_deref().and_then(|q| member(q, a.attr.as_str()));
                (Val { qual: q, ..recv.tainted_only() }, Some(recv))
            }
            f => (self.eval(f), None),
        };
        let mut args = self.arg_pool.pop().unwrap_or_default();
        for a in c.arguments.args.iter() {
            let v = self.eval(a);
            args.push(v);
        }
        let mut kwargs = Vec::new();
        let mut opaque_kwargs = false;
        let mut spread = Val::default();
        for k in &c.arguments.keywords {
            let v = self.eval(&k.value);
            match &k.arg {
                Some(name) => kwargs.push((self.keyword(name.as_str()), v, k.range())),
                None => match &v.dict {
                    Some(entries) => {
                        for (name, ev) in entries {
                            kwargs.push((name.clone(), ev.clone(), k.range()));
                        }
                        spread.absorb(&v);
                    }
                    None => {
                        opaque_kwargs = true;
                        spread.absorb(&v);
                    }
                },
            }
        }
        let mut qual = func_val.qual.clone();
        // getattr(module, "name"), importlib.import_module("m"), __import__("m").
        match qual.as_deref() {
            Some("getattr") if args.len() >= 2 => {
                if let (Some(base), Some(attr)) = (&args[0].qual, args[1].str()) {
                    return Val::qual(format!("{base}.{attr}"));
                }
                // `getattr(pickle, name)`: a name known only at run time reaches every
                // loader of a deserialising module.
                if let Some(base) = args[0].qual.clone()
                    && rules::pickle_load::DESERIALISING_MODULES.contains(&&*base)
                {
                    self.report(
                        &rules::pickle_load::RULE,
                        c.range(),
                        format!("`getattr({base}, …)` with a name known only at run time can be `{base}.load`"),
                    );
                }
            }
            Some("importlib.import_module" | "__import__" | "builtins.__import__") => {
                if let Some(m) = args.first().and_then(Val::str) {
                    return Val::qual(m);
                }
            }
            Some("dict") if args.is_empty() && !opaque_kwargs => {
                let mut v = Val {
                    dict: Some(kwargs.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect()),
                    ..Val::default()
                };
                for (_, kv, _) in &kwargs {
                    v.absorb(kv);
                }
                return v;
            }
            _ => {}
        }
        // A class or function from an unresolved import keeps its written name.
        if qual.is_none() {
            qual = dotted(&c.func).map(Rc::from);
        }
        let mut origins = Origins::default();
        for a in args.iter().chain(kwargs.iter().map(|(_, v, _)| v)).chain(receiver.iter()) {
            origins.extend(&a.origins);
        }
        if registers_route(method) {
            self.lambda_handlers(c);
        }
        let verified = self.is_verified(&origins);
        let line = self.line(c.range());
        let call =
            Call { node: c, qual, method, receiver, args, kwargs, opaque_kwargs, verified, line };
        let local = self.local_fn_of(&c.func);
        self.dispatch(&call);
        if let Some(target) = written_file(&call) {
            // What this scope writes it may read back: that is not untrusted input.
            let written = target.origins;
            self.scope().written.extend(&written);
        }

        // What the call returns.
        let mut out = Val::default();
        if let Some(r) = &call.receiver {
            out.absorb(r);
        }
        for a in call.all_args() {
            out.absorb(a);
        }
        out.absorb(&spread);
        // Handing a fresh key to anything but a cipher keeps it alive elsewhere; what a
        // cipher returns is not the key.
        if rules::ephemeral_key::is_cipher(&call) {
            out.new_key = None;
        } else {
            let keyed: Vec<Val> =
                call.all_args().filter(|a| a.new_key.is_some()).cloned().collect();
            for k in &keyed {
                self.persist(k);
            }
        }
        // A helper of this file: what it returns (`df = read_data(path)`).
        if let Some(key) = self.callee_key(&c.func, local.is_some()) {
            match self.fn_returns.get(&key) {
                Some(r) => out.absorb(&r.clone()),
                None if !self.analysed.contains(&key) => self.called_early.push(key),
                None => {}
            }
        }
        if let Some(recv) = &call.receiver
            && let Some(line) =
                rules::unchecked_input::attribute_source(self, recv, call.method, c.range())
        {
            out.user_input.get_or_insert(line);
        }
        // `UserSchema().load(payload)`: a marshmallow schema of this file validates.
        let schema_load = matches!(call.method, "load" | "loads")
            && call
                .receiver
                .as_ref()
                .and_then(|r| r.qual.as_deref())
                .is_some_and(|q| self.schemas.contains(q.trim_end_matches("()")));
        if schema_load || self.validates(Some(call.method), call.qual.as_deref(), local.as_ref()) {
            if self.suppress_checks > 0 {
                self.suppressed_check |= out.tainted();
            } else {
                out.raw_data = None;
                out.user_input = None;
            }
        }
        if let Some(line) = rules::unvalidated_data::source(&call) {
            out.raw_data.get_or_insert(line);
        }
        if let Some(line) = rules::unchecked_input::call_source(&call) {
            out.user_input.get_or_insert(line);
        }
        if let Some(line) = rules::insecure_random_secret::source(&call) {
            out.random.get_or_insert(line);
        }
        if rules::ephemeral_key::is_generate_key(&call) {
            out.new_key = Some(self.record_key(call.range()));
        }
        if let Some(d) = rules::weak_hash::digest_of(&call) {
            out.digest = Some(d);
        }
        if call.method == "compare_digest"
            || is_verify_call(Some(call.method), call.qual.as_deref())
        {
            out.verdict = true;
        }
        // Constant bytes: `bytes(16)` (zeros), `bytes.fromhex("00ff...")`.
        match (call.qual.as_deref(), call.args.first().map(|a| &a.lit)) {
            (Some("bytes" | "bytearray"), Some(Some(Lit::Int(n)))) if *n > 0 => {
                out.lit = Some(Lit::Bytes(usize::try_from(*n).unwrap_or(0)));
            }
            (Some("bytes.fromhex"), Some(Some(Lit::Str(h)))) if !h.is_empty() => {
                out.lit = Some(Lit::Bytes(h.len() / 2));
            }
            _ => {}
        }
        // A call's result keeps its callee's name with `()` appended (`os.urandom()`,
        // `io.BytesIO()`, `kafka.KafkaConsumer()`): what some rules ask of a value.
        if let Some(q) = &call.qual {
            out.qual = Some(concat_rc(&[q, "()"]));
        }
        let mut args = call.args;
        args.clear();
        self.arg_pool.push(args);
        out
    }

    fn dispatch(&mut self, call: &Call<'_>) {
        let table = call_rules();
        let leaf =
            call.qual.as_deref().map_or(call.method, |q| q.rsplit_once('.').map_or(q, |(_, l)| l));
        if let Some(rules) = table.by_callee.get(leaf) {
            for rule in rules {
                rule(self, call);
            }
        }
        if !call.kwargs.is_empty() {
            for rule in &table.any_keyword {
                rule(self, call);
            }
        }
    }
}

/// Identifiers without which no rule can fire in a function: every callee a call rule
/// looks at, the keywords the keyword rules read, digest modules, key generation and the
/// null checks of the weak-validation rule.
fn trigger_words() -> &'static HashSet<&'static str> {
    static WORDS: std::sync::OnceLock<HashSet<&'static str>> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut w: HashSet<&'static str> = HashSet::default();
        // Callee names too common to say anything alone (`dict.get`): the functions that
        // send data name their library or a URL scheme instead.
        const GENERIC: &[&str] = &["get", "post", "put", "request", "download"];
        for (callees, _) in rules::CALL_RULES {
            w.extend(callees.iter().copied().filter(|c| *c != "*" && !GENERIC.contains(c)));
        }
        w.extend(rules::fixed_seed::SEED_KWARGS);
        w.extend(["trust_remote_code", "generate_key", "hashlib", "hmac", "Crypto", "random"]);
        w.extend([
            "crc32",
            "adler32",
            "crc_hqx",
            "crc32c",
            "base64",
            "b64encode",
            "getenv",
            "environ",
        ]);
        w.extend(["requests", "httpx", "aiohttp", "urllib", "urllib3", "http", "ftp", "wget"]);
        // `getattr(pickle, name)`: the function names the module.
        w.extend(rules::pickle_load::DESERIALISING_MODULES);
        w.extend(["isnull", "isna", "notnull", "notna"]);
        // A verdict thrown away (`form.is_valid()`, cerberus' `v.validate(doc)`).
        w.extend(["is_valid", "validate"]);
        // Airflow's `Variable.get(name, default_var=...)`.
        w.extend(["Variable"]);
        // A helper that returns a dataset it read (`return pd.read_csv(p)`).
        w.extend(rules::unvalidated_data::READERS);
        w
    })
}

/// What `from MODULE import *` binds that a rule looks at (each module's public names
/// among the callees of the rules and the readers of datasets).
fn star_exports(module: &str) -> &'static [&'static str] {
    const PICKLE: &[&str] = &["load", "loads", "Unpickler", "dump", "dumps"];
    match module {
        "pickle" | "cPickle" | "_pickle" | "dill" | "cloudpickle" | "marshal" => PICKLE,
        "joblib" => &["load", "dump"],
        "torch" => &["load", "save"],
        "numpy" => &["load", "save", "savez", "loadtxt", "genfromtxt", "fromfile"],
        "yaml" => &["load", "load_all", "unsafe_load", "full_load", "Loader", "UnsafeLoader"],
        "pandas" => &[
            "read_csv",
            "read_parquet",
            "read_json",
            "read_excel",
            "read_sql",
            "read_table",
            "read_feather",
            "read_pickle",
        ],
        "keras.models" | "tensorflow.keras.models" | "keras.saving" => &["load_model"],
        "random" => &[
            "random",
            "randint",
            "randrange",
            "choice",
            "choices",
            "randbytes",
            "getrandbits",
            "sample",
            "seed",
        ],
        "hashlib" => &["md5", "sha1", "sha256", "new"],
        "cryptography.hazmat.primitives.ciphers.modes" => &["ECB", "CBC", "GCM", "CTR"],
        "shelve" => &["open"],
        _ => &[],
    }
}

/// [`trigger_words`] as one regular expression on word boundaries (a literal prefilter
/// finds candidates at memory speed). `None` if it could not be built: nothing is skipped.
fn trigger_regex() -> Option<&'static regex::bytes::Regex> {
    static RE: std::sync::OnceLock<Option<regex::bytes::Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let mut words: Vec<&str> = trigger_words().iter().copied().collect();
        words.sort_unstable();
        let alternation: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
        let pattern = format!(r"(?-u:\b)(?:{})(?-u:\b)", alternation.join("|"));
        regex::bytes::Regex::new(&pattern).ok()
    })
    .as_ref()
}

/// `word` occurs in `text` as a whole identifier.
fn contains_word(text: &[u8], word: &[u8]) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(text, word).any(|i| {
        let before = i.checked_sub(1).map(|j| text[j]);
        let after = text.get(i + word.len()).copied();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The call rules indexed by callee name, built once.
struct CallRules {
    by_callee: HashMap<&'static str, Vec<rules::CallRule>>,
    any_keyword: Vec<rules::CallRule>,
}

fn call_rules() -> &'static CallRules {
    static TABLE: std::sync::OnceLock<CallRules> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = CallRules { by_callee: HashMap::default(), any_keyword: Vec::new() };
        for (callees, rule) in rules::CALL_RULES {
            for c in *callees {
                if *c == "*" {
                    t.any_keyword.push(*rule);
                } else {
                    t.by_callee.entry(c).or_default().push(*rule);
                }
            }
        }
        t
    })
}

/// Evaluates the direct children of an expression and joins what flows out of them.
struct EvalChildren<'c, 's> {
    cx: &'c mut Checker<'s>,
    v: Val,
}

impl<'a> Visitor<'a> for EvalChildren<'_, '_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        let cv = self.cx.eval(expr);
        self.v.absorb(&cv);
    }
}

/// `base.attr`: the qualified name of a member. Members of call results are not named
/// (no rule needs `Fernet(key).decrypt`; what flows through them is still followed).
fn member(base: &str, attr: &str) -> Option<Rc<str>> {
    if base.ends_with("()") {
        return None;
    }
    Some(concat_rc(&[base, ".", attr]))
}

/// The parts joined, in one allocation (a reused buffer, then the `Rc`).
fn concat_rc(parts: &[&str]) -> Rc<str> {
    thread_local! {
        static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUF.with(|b| match b.try_borrow_mut() {
        Ok(mut b) => {
            b.clear();
            parts.iter().for_each(|p| b.push_str(p));
            Rc::from(b.as_str())
        }
        Err(_) => Rc::from(parts.concat()),
    })
}

/// `a.b.c` as written, for names that do not resolve through imports.
pub(crate) fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.id.as_str().to_owned()),
        Expr::Attribute(a) => dotted(&a.value).map(|b| format!("{b}.{}", a.attr.as_str())),
        _ => None,
    }
}

/// The last name of a callee: `fit` in `model.fit`, `load` in `pickle.load`.
fn callee_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// Every variable name read in an expression.
pub(crate) fn names_in(e: &Expr) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'a> Visitor<'a> for Names {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Name(n) = expr {
                self.0.push(n.id.as_str().to_owned());
            }
            if self.0.len() < 64 {
                walk_expr(self, expr);
            }
        }
    }
    let mut n = Names(Vec::new());
    n.visit_expr(e);
    n.0
}

/// A call that ends the program or the request: `sys.exit()`, `exit()`, `os._exit()`,
/// `abort()`.
pub(crate) fn exits(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if dotted(&c.func).is_some_and(|n| {
        n == "sys.exit" || n == "exit" || n.ends_with("abort") || n == "os._exit"
    }))
}

/// A body that stops the program or the request: `raise`, `sys.exit`, `abort`, `return`
/// of an error response.
fn body_stops(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Raise(_) => true,
        Stmt::Expr(e) => exits(&e.value),
        // `return` / `return None`: the function gives up.
        Stmt::Return(r) => r.value.as_deref().is_none_or(|v| {
            matches!(v, Expr::NoneLiteral(_)) ||
            matches!(v, Expr::Tuple(t) if t.elts.iter().any(|e| matches!(e, Expr::NumberLiteral(_))))
                || matches!(v, Expr::Call(c) if dotted(&c.func).is_some_and(|n| n.contains("Response") || n.contains("jsonify")))
        }),
        _ => false,
    })
}

/// A test that checks integrity: a comparison involving a digest, `compare_digest`, or a
/// signature verification call.
fn is_integrity_test(test: &Expr, v: &Val) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(c) = expr
                && callee_name(&c.func)
                    .is_some_and(|n| n == "compare_digest" || n.starts_with("verify"))
            {
                self.0 = true;
            }
            if !self.0 {
                walk_expr(self, expr);
            }
        }
    }
    let mut f = Finder(false);
    f.visit_expr(test);
    // A checksum compared is no integrity check (MLG603 says so): it protects nothing.
    if v.digest.is_some_and(|d| rules::weak_hash::is_checksum(&d)) {
        return false;
    }
    f.0 || v.verdict || (v.digest.is_some() && contains_compare(test))
}

fn contains_compare(e: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if matches!(expr, Expr::Compare(_)) {
                self.0 = true;
            }
            if !self.0 {
                walk_expr(self, expr);
            }
        }
    }
    let mut f = Finder(false);
    f.visit_expr(e);
    f.0
}

/// Validation by a library or by a local function that raises (and has no weak check).
fn is_validator_call(method: Option<&str>, qual: Option<&str>, local: Option<&LocalFn>) -> bool {
    if let Some(l) = local {
        return l.raises && l.weak.is_none();
    }
    let m = method.unwrap_or("");
    matches!(
        m,
        "validate"
            | "model_validate"
            | "model_validate_json"
            | "parse_obj"
            | "parse_raw"
            | "validate_python"
            | "validate_json"
    ) || m.starts_with("validate_")
        || m.starts_with("expect_")
        || qual.is_some_and(|q| {
            q.starts_with("pandera.")
                || q.starts_with("great_expectations.")
                || q == "jsonschema.validate"
        })
}

/// A call that verifies a signature or MAC and raises when it does not match.
fn is_verify_call(method: Option<&str>, qual: Option<&str>) -> bool {
    let m = method.unwrap_or("");
    m == "verify"
        || m.starts_with("verify_")
        || qual.is_some_and(|q| q.starts_with("model_signing.") && q.contains("verify"))
}

/// The file argument of a call that writes a model or data to a file: `pickle.dump(obj, f)`,
/// `torch.save(obj, path)`, `np.save(path, arr)`, `model.save(path)`, `df.to_pickle(path)`.
fn written_file<'c>(call: &'c Call<'_>) -> Option<&'c Val> {
    let q = call.qual.as_deref().unwrap_or(call.method);
    let leaf = q.rsplit_once('.').map_or(q, |(_, l)| l);
    let numpy = q.starts_with("numpy.") || q.starts_with("np.");
    let index = match leaf {
        "save" | "savez" | "savez_compressed" if numpy => 0,
        "dump" | "save_file" => 1,
        "save" if matches!(q, "torch.save" | "paddle.save") => 1,
        "save" | "save_model" | "save_weights" | "to_pickle" => 0,
        _ => return None,
    };
    ["f", "file", "filename", "path", "filepath"]
        .iter()
        .find_map(|k| call.kw(k))
        .or_else(|| call.args.get(index))
}

fn is_route_decorator(e: &Expr) -> bool {
    let target = match e {
        Expr::Call(c) => &*c.func,
        other => other,
    };
    matches!(
        callee_name(target),
        Some(
            "route"
                | "get"
                | "post"
                | "put"
                | "patch"
                | "delete"
                | "websocket"
                | "api_view"
                // BentoML (`@bentoml.api`, `@svc.api(...)`), Ray Serve ingress.
                | "api"
                | "ingress"
        )
    )
}

/// The names of a function's positional parameters, in order.
fn positional_names(f: &ast::StmtFunctionDef) -> impl Iterator<Item = &str> {
    f.parameters.posonlyargs.iter().chain(&f.parameters.args).map(|p| p.parameter.name.as_str())
}

/// An AWS Lambda handler: `def handler(event, context)`, the event being the request.
fn is_lambda_handler(f: &ast::StmtFunctionDef) -> bool {
    let mut names = positional_names(f);
    matches!((names.next(), names.next(), names.next()), (Some("event"), Some("context"), None))
}

/// A Django view (`def view(request, ...)`, registered in `urls.py`, or a class-based
/// view's `def post(self, request)`) or a Ray Serve deployment's `async def
/// __call__(self, request)`: the request is user input.
fn is_request_handler(f: &ast::StmtFunctionDef) -> bool {
    let mut names = positional_names(f);
    match (names.next(), names.next()) {
        (Some("request"), _) => true,
        // Ray Serve's `__call__`; Django's class-based views (`def post(self, request)`).
        (Some("self"), Some("request")) => {
            matches!(f.name.as_str(), "__call__" | "get" | "post" | "put" | "patch" | "delete")
        }
        _ => false,
    }
}

/// Registering a handler with a web framework: `app.add_api_route(path, handler)`,
/// `app.add_url_rule(path, view_func=...)`, `router.add_route(...)`.
fn registers_route(method: &str) -> bool {
    matches!(
        method,
        "add_api_route"
            | "add_url_rule"
            | "add_route"
            | "add_websocket_route"
            | "add_api_websocket_route"
    )
}

fn is_scalar_annotation(a: &str) -> bool {
    matches!(a, "int" | "float" | "bool")
}

fn is_message_consumer(q: &str) -> bool {
    q.ends_with("KafkaConsumer()") || q.ends_with("Consumer()") || q.ends_with(".subscribe()")
}
