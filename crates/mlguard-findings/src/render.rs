use std::fmt::Write as _;

use crate::finding::{Level, Severity};
use crate::report::Report;
use crate::terminal::terminal_safe;

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
        // Locations and messages carry names read from untrusted files (pickle globals, zip
        // member names): control characters are escaped so they cannot drive the terminal.
        let _ = write!(
            out,
            "{level}[{}] {}: {}",
            f.check,
            escape(&f.location.to_string()),
            escape(&f.message)
        );
        if let Some(v) = &f.value {
            let _ = write!(out, " (value: {})", quote(v));
        }
        out.push('\n');
        if let Some(code) = &f.snippet {
            let line = f.location.line.map(|l| l.to_string()).unwrap_or_default();
            let code: String = code
                .trim_end()
                .chars()
                .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                .collect();
            let _ = writeln!(out, "  {line:>5} | {code}");
        }
        if let Some(help) = &f.help {
            let _ = writeln!(out, "        = help: {}", escape(help));
        }
    }
    if report.omitted > 0 {
        let _ =
            writeln!(out, "... {} more not shown (raise --max-errors to see more)", report.omitted);
    }
    out
}

/// Quotes a value for display, escaping quotes, backslashes and control characters so a
/// value can never move the cursor or inject terminal escapes.
fn quote(v: &str) -> String {
    format!("\"{}\"", escape(&v.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// Text with its control characters escaped (see [`terminal_safe`]).
fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(v, false)
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
        assert!(text.contains("\\u001b[2J"), "control chars escaped: {text}");
        assert!(!text.contains('\u{1b}'), "no raw escape anywhere: {text}");
        assert!(text.contains("summary:"));
        assert!(!text.contains('\x1b'));
    }
}

/// Renders a report as SARIF 2.1.0 (for GitHub code scanning and other SARIF viewers):
/// one run, a rule per check (with a numeric `security-severity`), a result per listed
/// finding with its level, message (including the offending value) and location (line,
/// column and byte offset when known).
pub fn render_sarif(report: &Report) -> String {
    use serde_json::{Value, json};
    let score = |s: Severity| match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    };
    let mut rules: Vec<(String, Severity)> = Vec::new();
    for f in &report.findings {
        match rules.iter_mut().find(|(id, _)| *id == f.check) {
            Some((_, s)) => *s = (*s).max(f.severity),
            None => rules.push((f.check.clone(), f.severity)),
        }
    }
    rules.sort();
    let rules: Vec<Value> = rules
        .iter()
        .map(|(id, s)| {
            let mut rule = json!({"id": id, "shortDescription": {"text": id}, "properties": {"security-severity": score(*s)}});
            if let Some(meta) = report.rules.iter().find(|m| m.id == *id) {
                rule["name"] = json!(meta.name);
                rule["shortDescription"] = json!({"text": meta.summary});
                rule["fullDescription"] = json!({"text": meta.summary});
                rule["help"] = json!({"text": meta.help, "markdown": meta.doc});
                let mut tags = vec![json!("security")];
                if let Some(cwe) = meta.cwe {
                    tags.push(json!(format!("external/cwe/cwe-{cwe}")));
                }
                rule["properties"]["tags"] = Value::Array(tags);
            }
            rule
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut text = f.message.clone();
            if let Some(v) = &f.value {
                text.push_str(&format!(" (value: {v})"));
            }
            let mut result = json!({
                "ruleId": f.check,
                "level": f.level.as_str(),
                "message": {"text": text},
                "properties": {"severity": f.severity.as_str()},
            });
            if let Some(fp) = &f.fingerprint {
                result["partialFingerprints"] = json!({"mlguardFingerprint/v1": fp});
            }
            let l = &f.location;
            if let Some(file) = &l.file {
                let mut region = serde_json::Map::new();
                if let Some(line) = l.line {
                    region.insert("startLine".into(), line.into());
                    if let Some(c) = l.column {
                        region.insert("startColumn".into(), c.into());
                    }
                }
                if let Some(o) = l.offset {
                    region.insert("byteOffset".into(), o.into());
                }
                let mut physical = json!({"artifactLocation": {"uri": file}});
                if !region.is_empty() {
                    physical["region"] = Value::Object(region);
                }
                result["locations"] = json!([{"physicalLocation": physical}]);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": report.tool, "version": report.tool_version, "rules": rules}},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod sarif_tests {
    use super::*;
    use crate::{Finding, Location, Severity};

    #[test]
    fn names_from_files_cannot_drive_the_terminal() {
        let mut r = Report::new("scan-model", "m.zip");
        r.push(
            Finding::new(
                "model.pickle.unknown-import",
                Severity::Medium,
                "imports a\x1b[2J\x1b[8m",
            )
            .at(Location::file("m.zip:\x1b]0;title\x07.pkl")),
        );
        let text = render_text(&r, TextOptions::default());
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("\\u001b[2J"), "{text}");
    }

    #[test]
    fn sarif_has_rules_levels_and_locations() {
        let mut r = Report::new("scan-model", "m.pkl");
        r.push(
            Finding::new("model.pickle.dangerous-call", Severity::Critical, "calls os.system")
                .at(Location::file("m.pkl").offset(28))
                .with_value("os.system"),
        );
        r.push(
            Finding::new("cell.type", Severity::High, "not a number")
                .at(Location::file("d.csv").line(3).column(2)),
        );
        let v: serde_json::Value = serde_json::from_str(&render_sarif(&r)).expect("json");
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "mlguard");
        assert_eq!(run["tool"]["driver"]["rules"][1]["id"], "model.pickle.dangerous-call");
        assert_eq!(run["tool"]["driver"]["rules"][1]["properties"]["security-severity"], "9.5");
        let first = &run["results"][0];
        assert_eq!(first["level"], "error");
        assert_eq!(first["message"]["text"], "calls os.system (value: os.system)");
        assert_eq!(first["locations"][0]["physicalLocation"]["region"]["byteOffset"], 28);
        assert_eq!(run["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"], 3);
    }
}
