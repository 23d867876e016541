//! One file's audit: parse (recovering after errors) on a thread with a large stack, run
//! the rules, report what did not parse, apply suppressions and the rule selection.

use mlguard_findings::{Finding, Location};
use ruff_python_ast::PySourceType;
use ruff_python_parser::parse_unchecked_source;

use crate::engine::{Checker, Hit};
use crate::rules::{self, Rule};

/// Stack the parser and the analysis need at most (they cap nesting and grow on demand).
pub const RED_ZONE: usize = 64 * 1024 * 1024;
/// Stack allocated when a caller has less than [`RED_ZONE`] left.
const STACK_SIZE: usize = 256 * 1024 * 1024;
/// Larger sources are not parsed (a finding says so).
pub(crate) const MAX_SOURCE_BYTES: usize = 64 * 1024 * 1024;

/// What to report.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Only these rules (codes or names); empty = all.
    pub select: Vec<String>,
    /// Never these rules (codes or names).
    pub ignore: Vec<String>,
    /// Policy for fixed seeds (MLG301).
    pub seeds: SeedPolicy,
    /// Also honour `# nosec` and `# noqa: S...` comments (bandit's and ruff's).
    pub honor_nosec: bool,
}

/// What to do about fixed seeds in the source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeedPolicy {
    /// Report them (low severity).
    #[default]
    Report,
    /// Fixed seeds are the team's choice: do not report them.
    Allow,
}

impl AuditOptions {
    fn enabled(&self, rule: &Rule) -> bool {
        let named = |list: &[String]| {
            list.iter().any(|s| {
                s.eq_ignore_ascii_case(rule.code)
                    || s.eq_ignore_ascii_case(rule.name)
                    || (s.len() < rule.code.len()
                        && rule.code.starts_with(s.to_ascii_uppercase().as_str()))
            })
        };
        // The auditor's own findings (did not parse, too deep) are never silenced by
        // --select: a file must not look clean when it was not analysed.
        let own = rule.class == rules::FlawClass::Analysis;
        (self.select.is_empty() || named(&self.select) || own) && !named(&self.ignore)
    }
}

/// Audits Python source bytes: invalid UTF-8 is replaced and reported, and the rest is
/// still analysed.
pub fn audit_bytes(path: &str, bytes: &[u8], opts: &AuditOptions) -> Vec<Finding> {
    match std::str::from_utf8(bytes) {
        Ok(s) => audit_source(path, s, opts),
        Err(e) => {
            let text = String::from_utf8_lossy(bytes);
            let mut findings = audit_source(path, &text, opts);
            let line = text[..e.valid_up_to().min(text.len())].matches('\n').count() as u64 + 1;
            findings.insert(
                0,
                Finding::new(
                    rules::parse_error::RULE.code,
                    rules::parse_error::RULE.severity,
                    format!(
                        "not valid UTF-8 at byte {}: analysed with replacement characters",
                        e.valid_up_to()
                    ),
                )
                .at(Location::file(path).line(line)),
            );
            findings
        }
    }
}

/// Audits one Python source file. Never panics; syntax errors become `MLG001` findings
/// and the rest of the file is analysed.
pub fn audit_source(path: &str, source: &str, opts: &AuditOptions) -> Vec<Finding> {
    if source.len() > MAX_SOURCE_BYTES {
        return vec![
            Finding::new(
                rules::parse_error::RULE.code,
                rules::parse_error::RULE.severity,
                format!("file larger than {} MiB: not analysed", MAX_SOURCE_BYTES >> 20),
            )
            .at(Location::file(path)),
        ];
    }
    let run = || analyse(path, source, opts, PySourceType::Python, &[]);
    on_big_stack(run)
}

/// Runs `f` with at least [`RED_ZONE`] of stack left, growing it (by [`STACK_SIZE`]) only
/// when the calling thread has less: deep (but legal) nesting never overflows, and callers
/// that run on a large stack (the CLI's workers) pay nothing.
pub(crate) fn on_big_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(RED_ZONE, STACK_SIZE, f)
}

/// Where a byte offset is: the line (1-based), its column, and for notebooks the cell.
pub(crate) struct Positions<'a> {
    pub(crate) line_starts: Vec<u32>,
    /// (cell number, first line of the cell in the joined source), for notebooks.
    pub(crate) cells: &'a [(usize, u32)],
}

impl Positions<'_> {
    fn locate(&self, path: &str, offset: u32) -> Location {
        let line = self.line_starts.partition_point(|&s| s <= offset) as u32;
        let col = offset - self.line_starts.get(line as usize - 1).copied().unwrap_or(0) + 1;
        let mut loc = Location::file(path);
        match self.cells.iter().rev().find(|(_, first)| *first <= line) {
            Some((cell, first)) => {
                loc = loc
                    .line(u64::from(line - first + 1))
                    .column(u64::from(col))
                    // The notebook's path in the field too: summaries count per field, and
                    // "cell 3" of one notebook is not "cell 3" of another.
                    .field(format!("cell {cell} of {path}"));
            }
            None => loc = loc.line(u64::from(line)).column(u64::from(col)),
        }
        loc
    }
}

pub(crate) fn line_starts(source: &str) -> Vec<u32> {
    let mut starts = vec![0u32];
    starts.extend(memchr::memchr_iter(b'\n', source.as_bytes()).map(|i| i as u32 + 1));
    starts
}

pub(crate) fn analyse(
    path: &str,
    source: &str,
    opts: &AuditOptions,
    kind: PySourceType,
    cells: &[(usize, u32)],
) -> Vec<Finding> {
    let parsed = parse_unchecked_source(source, kind);
    let positions = Positions { line_starts: line_starts(source), cells };
    let mut checker =
        Checker::new(source, &positions.line_starts, opts.seeds == SeedPolicy::Report);
    checker.module(&parsed.syntax().body);
    let mut hits = std::mem::take(&mut checker.hits);
    // Syntax errors: one finding per line (the parser often reports several there).
    let mut error_lines = Vec::new();
    for e in parsed.errors() {
        // Errors on the same or the next line are one region that did not parse.
        let line = checker.line(e.location);
        let continues = error_lines.last().is_some_and(|&l: &u32| line <= l + 1);
        error_lines.push(line);
        if continues {
            continue;
        }
        hits.push(Hit {
            rule: &rules::parse_error::RULE,
            severity: rules::parse_error::RULE.severity,
            range: e.location,
            message: format!(
                "syntax error: {}; this part was not analysed, the rest of the file was",
                e.error
            ),
        });
    }
    if let Some(range) = checker.too_deep {
        hits.push(Hit {
            rule: &rules::too_deep::RULE,
            severity: rules::too_deep::RULE.severity,
            range,
            message: format!(
                "expression nested more than {} levels deep: its inside was not analysed",
                crate::engine::MAX_DEPTH
            ),
        });
    }
    // A tree this deep would be dropped recursively: leave it to the process exit.
    if checker.too_deep.is_some() {
        std::mem::forget(parsed);
    }
    hits.sort_by_key(|h| (h.range.start(), h.rule.code));
    let suppressions = Suppressions::read(source, &positions.line_starts, opts.honor_nosec);
    let mut seen: Vec<(String, &'static str, u32)> = Vec::new();
    let mut findings = Vec::new();
    for h in hits {
        if !opts.enabled(h.rule) {
            continue;
        }
        let line =
            positions.line_starts.partition_point(|&s| s <= u32::from(h.range.start())) as u32;
        if suppressions.suppresses(line, h.rule) {
            continue;
        }
        let code_line = line_text(source, &positions.line_starts, line);
        let normalised: String = code_line.split_whitespace().collect::<Vec<_>>().join(" ");
        let occurrence =
            seen.iter().filter(|(t, r, _)| *t == normalised && *r == h.rule.code).count();
        seen.push((normalised.clone(), h.rule.code, line));
        let mut f =
            Finding::new(h.rule.code, h.severity, format!("{}: {}", h.rule.name, h.message))
                .at(positions.locate(path, u32::from(h.range.start())));
        f.snippet = Some(code_line.trim_end().chars().take(200).collect());
        f.help = Some(h.rule.fix.to_owned());
        f.fingerprint = Some(fingerprint(h.rule.code, &normalised, occurrence));
        findings.push(f);
    }
    findings
}

fn line_text<'a>(source: &'a str, starts: &[u32], line: u32) -> &'a str {
    let start = starts.get(line as usize - 1).copied().unwrap_or(0) as usize;
    let end = starts.get(line as usize).map_or(source.len(), |&e| e as usize);
    source.get(start..end).unwrap_or("").trim_end_matches(['\n', '\r'])
}

/// A fingerprint of a finding that survives code moving around: the rule, the code on
/// the line (whitespace-normalised) and which occurrence of that pair it is (FNV-1a 64).
pub fn fingerprint(rule: &str, normalised_line: &str, occurrence: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule
        .bytes()
        .chain([0])
        .chain(normalised_line.bytes())
        .chain([0])
        .chain(occurrence.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `# mlguard: ignore[MLG401] reason` (or `ignore` for every rule) on the finding's line;
/// with `honor_nosec`, also `# nosec` and `# noqa: S301`-style comments.
struct Suppressions {
    /// (line, rules; empty = all).
    lines: Vec<(u32, Vec<String>)>,
}

impl Suppressions {
    fn read(source: &str, starts: &[u32], honor_nosec: bool) -> Self {
        let mut lines: Vec<(u32, Vec<String>)> = Vec::new();
        // Only lines with a `#` can hold a suppression: visit those.
        for (pos, _) in source.match_indices('#') {
            let line = starts.partition_point(|&s| s as usize <= pos) as u32;
            if lines.last().is_some_and(|(l, _)| *l == line) {
                continue;
            }
            let start = starts[line as usize - 1] as usize;
            let end = starts.get(line as usize).map_or(source.len(), |&e| e as usize);
            let text = &source[start..end];
            let Some(hash) = comment_start(text) else { continue };
            let comment = &text[hash..];
            if let Some(rest) =
                comment.find("mlguard: ignore").map(|p| &comment[p + "mlguard: ignore".len()..])
            {
                let codes = match rest.strip_prefix('[').and_then(|r| r.split(']').next()) {
                    Some(list) => list
                        .split(',')
                        .map(|c| c.trim().to_owned())
                        .filter(|c| !c.is_empty())
                        .collect(),
                    None => Vec::new(),
                };
                lines.push((line, codes));
            } else if honor_nosec
                && (comment.contains("nosec")
                    || comment.contains("noqa: S")
                    || comment.trim_end().ends_with("noqa"))
            {
                lines.push((line, Vec::new()));
            }
        }
        Suppressions { lines }
    }

    fn suppresses(&self, line: u32, rule: &Rule) -> bool {
        // The auditor's own findings cannot be silenced from inside the file.
        if rule.class == rules::FlawClass::Analysis {
            return false;
        }
        self.lines.iter().any(|(l, codes)| {
            *l == line
                && (codes.is_empty()
                    || codes.iter().any(|c| {
                        c.eq_ignore_ascii_case(rule.code) || c.eq_ignore_ascii_case(rule.name)
                    }))
        })
    }
}

/// Byte index of a `#` that starts a comment (not inside a string literal on the line).
fn comment_start(line: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'#' => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}
