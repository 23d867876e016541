//! Findings and reports shared by every mlguard check.
//!
//! A [`Finding`] is one problem at one place: what was checked (a stable id such as
//! `constraint.maximum` or `csv.ragged-row`), how bad it is ([`Severity`]), a message for a
//! person, and a [`Location`]. A [`Report`] gathers the findings of one run together with
//! per-check counts (which stay exact even when the list of findings is truncated) and
//! renders itself as text for a terminal or as versioned JSON for machines.
//!
//! ```
//! use mlguard_findings::{Finding, Location, Report, Severity};
//!
//! let mut report = Report::new("validation", "users.csv");
//! report.push(
//!     Finding::new("constraint.maximum", Severity::High, "212 is above the maximum 120")
//!         .at(Location::file("users.csv").line(7).field("age"))
//!         .with_value("212"),
//! );
//! assert_eq!(report.errors(), 1);
//! let json = report.to_json();
//! assert!(json.contains("\"version\": 1"));
//! ```
#![warn(missing_docs)]

mod finding;
mod render;
mod report;
mod terminal;

pub use finding::{Finding, Level, Location, Severity};
pub use render::{TextOptions, render_sarif, render_text};
pub use report::{CheckCount, REPORT_VERSION, Report, RuleMeta};
pub use terminal::terminal_safe;
