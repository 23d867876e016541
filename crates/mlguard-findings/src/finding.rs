use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
///
/// Ordered from least to most serious, so `max()` over findings gives the worst one.
/// Validation uses [`Severity::High`] for data that breaks the schema and
/// [`Severity::Low`]/[`Severity::Medium`] for warnings; scanners use the whole range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never a failure.
    Info,
    /// A weakness that is unlikely to matter alone.
    Low,
    /// A weakness that should be looked at.
    Medium,
    /// A definite problem: the input is rejected.
    High,
    /// A problem that allows code execution or disclosure.
    Critical,
}

impl Severity {
    /// The coarse level (as in SARIF): note, warning or error.
    pub fn level(self) -> Level {
        match self {
            Severity::Info => Level::Note,
            Severity::Low | Severity::Medium => Level::Warning,
            Severity::High | Severity::Critical => Level::Error,
        }
    }

    /// Lower-case name, as used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The coarse level of a finding, as SARIF defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Informational.
    Note,
    /// Should be looked at; does not fail a run unless asked to.
    Warning,
    /// Fails the run.
    Error,
}

impl Level {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding is. Every part is optional: a finding about a whole file has only `file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Path of the file, as given by the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based physical line in the file (for a CSV record: the line it starts on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based data row of a table (the header is row 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// 1-based column (character position in source code, or field position in a table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Name of the table field or code object the finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// 0-based byte offset in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Location {
    /// A location in `file`.
    pub fn file(file: impl Into<String>) -> Self {
        Location { file: Some(file.into()), ..Location::default() }
    }

    /// Sets the 1-based line.
    #[must_use]
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the 1-based data row.
    #[must_use]
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }

    /// Sets the 1-based column.
    #[must_use]
    pub fn column(mut self, column: u64) -> Self {
        self.column = Some(column);
        self
    }

    /// Sets the field name.
    #[must_use]
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the byte offset.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            f.write_str(file)?;
            wrote = true;
        }
        if let Some(line) = self.line {
            write!(f, "{}{line}", if wrote { ":" } else { "line " })?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
            wrote = true;
        } else if let Some(row) = self.row {
            write!(f, "{}row {row}", if wrote { " " } else { "" })?;
            wrote = true;
        }
        if let Some(field) = &self.field {
            write!(f, "{}[{field}]", if wrote { " " } else { "" })?;
        }
        Ok(())
    }
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id of the check or rule, e.g. `constraint.maximum`, `csv.ragged-row`.
    pub check: String,
    /// How serious it is.
    pub severity: Severity,
    /// The coarse level derived from the severity (kept in JSON for consumers).
    pub level: Level,
    /// What is wrong, for a person.
    pub message: String,
    /// Where it is.
    pub location: Location,
    /// The offending value as it appears in the input (masked when it is personal data,
    /// truncated when long).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The source line the finding points at (code scanners), for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// How to fix it, in one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// A fingerprint that stays the same when the code around moves (SARIF
    /// `partialFingerprints`, baselines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl Finding {
    /// A finding with no location yet.
    pub fn new(check: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            check: check.into(),
            severity,
            level: severity.level(),
            message: message.into(),
            location: Location::default(),
            value: None,
            snippet: None,
            help: None,
            fingerprint: None,
        }
    }

    /// Sets the location.
    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// Sets the offending value.
    #[must_use]
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_maps_to_levels() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!(Severity::High.level(), Level::Error);
        assert_eq!(Severity::Medium.level(), Level::Warning);
        assert_eq!(Severity::Info.level(), Level::Note);
    }

    #[test]
    fn location_display() {
        let l = Location::file("a.csv").line(3).field("age");
        assert_eq!(l.to_string(), "a.csv:3 [age]");
        assert_eq!(Location::default().line(4).to_string(), "line 4");
        assert_eq!(Location::default().field("x").to_string(), "[x]");
    }
}
