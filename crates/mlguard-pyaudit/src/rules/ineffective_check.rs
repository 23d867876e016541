use mlguard_findings::Severity;
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::engine::{dotted, exits};
use crate::rules::FlawClass;

declare_rule! {
    /// ## What it does
    /// Reports checks that look like protection but stop nothing:
    /// - a validation or signature error caught and only logged: `try:
    ///   schema.validate(df)` / `key.verify(sig, blob)` with an `except` that neither raises
    ///   nor returns (reported on the `except` line; the data then counts as unchecked, so
    ///   its use is reported too);
    /// - a digest comparison or `hmac.compare_digest(...)` whose result is thrown away;
    /// - `if digest != expected:` (or `if not verify(...)`) whose body only logs or prints.
    ///
    /// A check over other bytes than those loaded leaves the load unverified (MLG601); a
    /// CRC or MD5 compared as an integrity check is MLG603.
    ///
    /// ## Why is this bad
    /// The failure is noticed and then ignored: the invalid rows are trained on, the
    /// tampered model is loaded. A log line nobody reads is not a control.
    ///
    /// ## Example
    /// ```python
    /// try:
    ///     schema.validate(df)
    /// except pa.errors.SchemaError as e:
    ///     logger.warning("invalid data: %s", e)
    /// model.fit(df)
    /// ```
    ///
    /// ## Fix
    /// Let the error propagate, or `raise`/`return` in the handler (skipping the item with
    /// `continue` in a loop is fine); use the result of a comparison in an `if` that stops.
    ///
    /// ## References
    /// CWE-390 (detection of error condition without action), CWE-354 (improper
    /// validation of integrity check value).
    pub(crate) const RULE: Rule = Rule {
        code: "MLG606",
        name: "ineffective-check",
        class: FlawClass::Integrity,
        severity: Severity::Medium,
        cwe: 390,
        summary: "validation or integrity check whose failure is only logged or ignored",
        fix: "raise or return when the check fails instead of logging and going on",
    };
}

/// Exceptions that a validation or signature failure is not: catching them lets those
/// failures through.
const UNRELATED: &[&str] = &[
    "FileNotFoundError",
    "OSError",
    "IOError",
    "ImportError",
    "ModuleNotFoundError",
    "KeyError",
    "IndexError",
    "AttributeError",
    "TimeoutError",
    "ConnectionError",
    "PermissionError",
    "UnicodeDecodeError",
    "StopIteration",
    "KeyboardInterrupt",
    "NotImplementedError",
];

/// An `except` clause that can catch a validation or verification error and lets the
/// code go on: it neither raises, returns, exits, nor skips the item (`continue`/`break`).
pub(crate) fn swallows(h: &ast::ExceptHandlerExceptHandler) -> bool {
    let catches = match h.type_.as_deref() {
        None => true,
        Some(Expr::Tuple(t)) => t.elts.iter().any(catches_checks),
        Some(e) => catches_checks(e),
    };
    catches && !stops(&h.body)
}

fn catches_checks(e: &Expr) -> bool {
    let name = dotted(e).unwrap_or_default();
    let leaf = name.rsplit('.').next().unwrap_or(&name);
    !UNRELATED.contains(&leaf)
}

/// A body that leaves the normal flow on some path: `raise`, `return`, `continue`,
/// `break`, `sys.exit()`, `abort()`.
fn stops(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Raise(_) | Stmt::Return(_) | Stmt::Continue(_) | Stmt::Break(_) => true,
        Stmt::Expr(e) => exits(&e.value),
        Stmt::If(i) => stops(&i.body) || i.elif_else_clauses.iter().any(|c| stops(&c.body)),
        Stmt::With(w) => stops(&w.body),
        Stmt::Try(t) => stops(&t.body) || stops(&t.finalbody),
        _ => false,
    })
}

/// A body that only reports: `print`, `logger.warning(...)`, `logging.*`, `warnings.warn`,
/// `pass` (and `...`).
pub(crate) fn only_reports(body: &[Stmt]) -> bool {
    body.iter().all(|s| match s {
        Stmt::Pass(_) => true,
        Stmt::Expr(e) => match &*e.value {
            Expr::EllipsisLiteral(_) | Expr::StringLiteral(_) => true,
            Expr::Call(c) => dotted(&c.func).is_some_and(|n| {
                let leaf = n.rsplit('.').next().unwrap_or(&n);
                let base = n.split('.').next().unwrap_or(&n).to_ascii_lowercase();
                n == "print"
                    || n == "warnings.warn"
                    || base.contains("log")
                        && matches!(
                            leaf,
                            "debug"
                                | "info"
                                | "warning"
                                | "warn"
                                | "error"
                                | "exception"
                                | "critical"
                                | "log"
                        )
            }),
            _ => false,
        },
        _ => false,
    })
}

/// A test that is true when the check fails: `a != b`, `not compare_digest(...)`.
pub(crate) fn negative(test: &Expr) -> bool {
    match test {
        Expr::UnaryOp(u) => u.op == ast::UnaryOp::Not,
        Expr::Compare(c) => {
            c.ops.iter().any(|op| matches!(op, ast::CmpOp::NotEq | ast::CmpOp::IsNot))
        }
        Expr::BoolOp(b) => b.values.iter().any(negative),
        _ => false,
    }
}

/// A bare call whose only effect is a verdict it returns: `form.is_valid()`,
/// `validator.is_valid(doc)`, cerberus' `Validator(schema).validate(doc)` (which returns
/// `False` instead of raising).
pub(crate) fn drops_validation(method: &str, receiver: Option<&str>) -> bool {
    method == "is_valid"
        || method == "validate" && receiver.is_some_and(|r| r.starts_with("cerberus."))
}

/// A bare expression statement that computes an integrity verdict and drops it.
pub(crate) fn is_dropped_verdict(e: &Expr) -> bool {
    match e {
        Expr::Compare(_) => true,
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Attribute(a) if a.attr.as_str() == "compare_digest")
                || matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "compare_digest")
        }
        _ => false,
    }
}
