use std::fmt::Write as _;

use crate::finding::Level;
use crate::report::Report;

/// How to render a report as text.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// Use ANSI colours.
    pub color: bool,
}

/// Renders a report for a terminal: a summary per check and field (exact counts), then
/// the first findings in input order, then how many more were counted but not listed.
pub fn render_text(report: &Report, opts: TextOptions) -> String {
    let mut out = String::new();
    if !report.counts.is_empty() {
        out.push_str("summary:\n");
        let width = report.counts.iter().map(|c| c.check.len()).max().unwrap_or(0);
        for c in &report.counts {
            let level = c.severity.level();
            let _ = writeln!(
                out,
                "  {:>7}  {:<width$}  {:<24} {}",
                paint(opts, level, level.as_str()),
                c.check,
                c.field.as_deref().unwrap_or("-"),
                c.count,
            );
        }
        if !report.findings.is_empty() {
            out.push('\n');
        }
    }
    for f in &report.findings {
        let level = paint(opts, f.level, f.level.as_str());
        let _ = write!(out, "{level}[{}] {}: {}", f.check, f.location, f.message);
        if let Some(v) = &f.value {
            let _ = write!(out, " (value: {})", quote(v));
        }
        out.push('\n');
    }
    if report.omitted > 0 {
        let _ =
            writeln!(out, "... {} more not shown (raise --max-errors to see more)", report.omitted);
    }
    out
}

/// Quotes a value for display, escaping control characters so a value can never move the
/// cursor or inject terminal escapes.
fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for ch in v.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if c.is_control() => s.extend(c.escape_default()),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn paint(opts: TextOptions, level: Level, text: &str) -> String {
    if !opts.color {
        return text.to_owned();
    }
    let code = match level {
        Level::Error => "31;1",
        Level::Warning => "33;1",
        Level::Note => "36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, Location, Severity};

    #[test]
    fn text_shows_summary_then_findings() {
        let mut r = Report::new("validation", "x.csv");
        r.push(
            Finding::new("constraint.maximum", Severity::High, "212 > 120")
                .at(Location::file("x.csv").line(7).field("age"))
                .with_value("212"),
        );
        r.push(
            Finding::new("csv.formula", Severity::Low, "may run as a formula")
                .at(Location::file("x.csv").line(9).field("note"))
                .with_value("=cmd|\x1b[2J"),
        );
        let text = render_text(&r, TextOptions::default());
        assert!(text.starts_with("summary:\n"), "{text}");
        assert!(
            text.contains(
                "\nerror[constraint.maximum] x.csv:7 [age]: 212 > 120 (value: \"212\")\n"
            ),
            "{text}"
        );
        assert!(text.find("summary:") < text.find("error[constraint.maximum]"));
        assert!(text.contains("warning[csv.formula]"), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "control chars escaped: {text}");
        assert!(text.contains("summary:"));
        assert!(!text.contains('\x1b'));
    }
}
