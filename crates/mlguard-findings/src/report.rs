use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Level, Severity};

/// Version of the JSON report format. Bumped on any incompatible change; see
/// `docs/report-format.md`.
pub const REPORT_VERSION: u32 = 1;

/// How often one check failed for one field (or file), counted over the whole input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCount {
    /// The check id.
    pub check: String,
    /// The field (or file) it is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Severity of the findings counted here.
    pub severity: Severity,
    /// How many times it failed.
    pub count: u64,
}

/// What a rule is, for reports that name rules (SARIF `tool.driver.rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMeta {
    /// The rule id findings use as `check`.
    pub id: String,
    /// Short kebab-case name.
    pub name: String,
    /// One line: what it finds.
    pub summary: String,
    /// One line: how to fix it.
    pub help: String,
    /// Full documentation (markdown).
    pub doc: String,
    /// CWE number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwe: Option<u32>,
}

/// The findings of one run over one subject, with exact counts.
///
/// The list of findings may be capped ([`Report::set_limit`]); the counts never are, so a
/// summary is always complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Format version, always [`REPORT_VERSION`] when written by this crate.
    pub version: u32,
    /// The tool that wrote it.
    pub tool: String,
    /// Version of the tool.
    pub tool_version: String,
    /// What kind of run: `validation`, `scan-model`, ...
    pub kind: String,
    /// What was examined (a path, usually).
    pub subject: String,
    /// Facts about the subject (rows, columns, bytes, ...), in insertion order.
    pub stats: serde_json::Map<String, serde_json::Value>,
    /// Counts per check and field, sorted by check then field.
    pub counts: Vec<CheckCount>,
    /// The first findings, in input order.
    pub findings: Vec<Finding>,
    /// How many findings were counted but not listed because of the limit.
    pub omitted: u64,
    /// The rules findings refer to, when the scanner has documented rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleMeta>,
    #[serde(skip)]
    limit: Option<usize>,
    #[serde(skip)]
    tally: BTreeMap<(String, Option<String>, Severity), u64>,
}

impl Report {
    /// An empty report about `subject`.
    pub fn new(kind: impl Into<String>, subject: impl Into<String>) -> Self {
        Report {
            version: REPORT_VERSION,
            tool: "mlguard".to_owned(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            kind: kind.into(),
            subject: subject.into(),
            stats: serde_json::Map::new(),
            counts: Vec::new(),
            findings: Vec::new(),
            omitted: 0,
            rules: Vec::new(),
            limit: None,
            tally: BTreeMap::new(),
        }
    }

    /// Lists at most `limit` findings; later ones are only counted.
    pub fn set_limit(&mut self, limit: Option<usize>) {
        self.limit = limit;
    }

    /// Records a fact about the subject.
    pub fn stat(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.stats.insert(key.to_owned(), value.into());
    }

    /// Counts a finding and lists it unless the limit is reached.
    pub fn push(&mut self, finding: Finding) {
        self.count(&finding.check, finding.location.field.as_deref(), finding.severity, 1);
        self.list(finding);
    }

    /// Lists a finding that has already been counted with [`Report::count`] (or drops it,
    /// counting it as omitted, when the limit is reached).
    pub fn list(&mut self, finding: Finding) {
        if self.limit.is_some_and(|limit| self.findings.len() >= limit) {
            self.omitted += 1;
        } else {
            self.findings.push(finding);
        }
    }

    /// Adds `n` to the count of `check` on `field` without listing a finding.
    pub fn count(&mut self, check: &str, field: Option<&str>, severity: Severity, n: u64) {
        if n == 0 {
            return;
        }
        *self.tally.entry((check.to_owned(), field.map(str::to_owned), severity)).or_default() += n;
        self.counts = self
            .tally
            .iter()
            .map(|((check, field, severity), count)| CheckCount {
                check: check.clone(),
                field: field.clone(),
                severity: *severity,
                count: *count,
            })
            .collect();
    }

    /// Number of counted findings at level error.
    pub fn errors(&self) -> u64 {
        self.total(Level::Error)
    }

    /// Number of counted findings at level warning.
    pub fn warnings(&self) -> u64 {
        self.total(Level::Warning)
    }

    /// Number of counted findings at `level`.
    pub fn total(&self, level: Level) -> u64 {
        self.tally.iter().filter(|((_, _, s), _)| s.level() == level).map(|(_, n)| n).sum()
    }

    /// The worst severity counted, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.tally.keys().map(|(_, _, s)| *s).max()
    }

    /// The report as pretty-printed JSON (format version [`REPORT_VERSION`]).
    pub fn to_json(&self) -> String {
        let mut value = match serde_json::to_value(self) {
            Ok(v) => v,
            // A Report holds only strings, numbers and JSON values: serialising cannot fail.
            Err(e) => serde_json::json!({ "version": REPORT_VERSION, "error": e.to_string() }),
        };
        if let Some(obj) = value.as_object_mut() {
            obj.insert("errors".to_owned(), self.errors().into());
            obj.insert("warnings".to_owned(), self.warnings().into());
        }
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;

    #[test]
    fn limit_caps_the_list_not_the_counts() {
        let mut r = Report::new("validation", "x.csv");
        r.set_limit(Some(2));
        for i in 0..5 {
            r.push(
                Finding::new("constraint.required", Severity::High, "missing").at(Location::file(
                    "x.csv",
                )
                .line(i + 2)
                .field("a")),
            );
        }
        r.push(Finding::new("csv.formula", Severity::Low, "formula"));
        assert_eq!(r.findings.len(), 2);
        assert_eq!(r.omitted, 4);
        assert_eq!(r.errors(), 5);
        assert_eq!(r.warnings(), 1);
        assert_eq!(r.worst(), Some(Severity::High));
        assert_eq!(r.counts.len(), 2);
        assert_eq!(r.counts[0].check, "constraint.required");
        assert_eq!(r.counts[0].count, 5);
    }

    #[test]
    fn json_is_versioned_and_round_trips() {
        let mut r = Report::new("validation", "x.csv");
        r.stat("rows", 10);
        r.push(Finding::new("csv.bom", Severity::Info, "bom").with_value("\u{feff}"));
        let json = r.to_json();
        let v: serde_json::Value = serde_json::from_str(&json).expect("valid json");
        assert_eq!(v["version"], 1);
        assert_eq!(v["stats"]["rows"], 10);
        assert_eq!(v["errors"], 0);
        assert_eq!(v["findings"][0]["level"], "note");
        let back: Report = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back.findings, r.findings);
        assert_eq!(back.counts, r.counts);
    }
}
