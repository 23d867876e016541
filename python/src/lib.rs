//! `mlguard._mlguard`: the native module of the `mlguard` Python package. Thin by design:
//! each function calls the same Rust the `mlguard` command calls and hands back what it
//! reports as the JSON the command prints (`--format json`), which the package's Python
//! layer wraps in objects; the logic stays in Rust. Long work runs with the GIL released.

use std::path::PathBuf;

use mlguard_data::{InferOptions, Schema, ValidateOptions};
use mlguard_findings::{Report, Severity};
use mlguard_pickle::ScanOptions;
use mlguard_pyaudit::AuditOptions;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(_mlguard, Error, PyException, "Every error mlguard raises.");
create_exception!(
    _mlguard,
    SchemaError,
    Error,
    "A schema that is not valid JSON or not a valid mlguard schema."
);
create_exception!(
    _mlguard,
    InputError,
    Error,
    "Input that cannot be read: a file that is missing, not a table, or malformed past reading."
);

/// Table input: a path to a file (CSV, TSV, Parquet, Arrow, Excel, compressed), or the
/// bytes of a CSV table.
#[derive(FromPyObject)]
enum Table {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

fn input_error(e: impl std::fmt::Display) -> PyErr {
    InputError::new_err(e.to_string())
}

fn schema_of(json: &str) -> PyResult<Schema> {
    Schema::from_json_str(json).map_err(|e| SchemaError::new_err(e.to_string()))
}

fn severity(name: &str) -> PyResult<Severity> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{name:?} is not a severity: info, low, medium, high or critical"
        ))
    })
}

/// Runs the `mlguard` command line `argv` (the first item is the program's name) in this
/// process, as the `mlguard` binary does: same output, and its exit status is returned.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| mlguard_cli::status(mlguard_cli::main_with_args(argv)))
}

/// Scans the bytes of a model file (`name` names it in findings and gives its extension)
/// as `mlguard scan model` does. Returns `(report JSON, failed)`: `failed` when a finding
/// is at or above `fail_on`.
#[pyfunction]
#[pyo3(signature = (name, data, allow = Vec::new(), fail_on = "medium"))]
fn scan_model(
    py: Python<'_>,
    name: &str,
    data: &[u8],
    allow: Vec<String>,
    fail_on: &str,
) -> PyResult<(String, bool)> {
    for pattern in &allow {
        mlguard_pickle::check_allow(pattern)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("allow: {e}")))?;
    }
    let threshold = severity(fail_on)?;
    let opts = ScanOptions { allow, verbose: false };
    let findings = py.detach(|| mlguard_pickle::scan_bytes(name, data, &opts));
    let mut report = Report::new("scan-model", name);
    for f in findings {
        report.push(f);
    }
    report.stat("files", 1u64);
    let failed = report.findings.iter().any(|f| f.severity >= threshold);
    Ok((report.to_json(), failed))
}

/// Audits Python source or a notebook's JSON (`name` ending in `.ipynb`) as `mlguard scan
/// code` does with its default rules. Returns `(report JSON, failed)`.
#[pyfunction]
#[pyo3(signature = (name, source, fail_on = "medium"))]
fn scan_code(py: Python<'_>, name: &str, source: &[u8], fail_on: &str) -> PyResult<(String, bool)> {
    let threshold = severity(fail_on)?;
    let opts = AuditOptions::default();
    let findings = py.detach(|| {
        if name.ends_with(".ipynb") {
            mlguard_pyaudit::audit_notebook(name, source, &opts).map_err(|e| e.to_string())
        } else {
            Ok(mlguard_pyaudit::audit_bytes(name, source, &opts))
        }
    });
    let findings = findings.map_err(input_error)?;
    let mut report = Report::new("scan-code", name);
    for f in findings {
        report.push(f);
    }
    report.stat("files", 1u64);
    let failed = report.findings.iter().any(|f| f.severity >= threshold);
    Ok((report.to_json(), failed))
}

/// Validates a table against a schema (JSON text) as `mlguard data validate` does.
/// Returns the report's JSON.
#[pyfunction]
#[pyo3(signature = (data, schema, name = None, max_errors = None))]
fn validate(
    py: Python<'_>,
    data: Table,
    schema: &str,
    name: Option<String>,
    max_errors: Option<usize>,
) -> PyResult<String> {
    let schema = schema_of(schema)?;
    let mut opts = ValidateOptions::default();
    if let Some(n) = max_errors {
        opts.max_errors = n;
    }
    let report = py.detach(|| match &data {
        Table::Path(p) => mlguard_data::validate_path(p, &schema, &opts),
        Table::Bytes(b) => mlguard_data::validate_reader(
            b.as_slice(),
            name.as_deref().unwrap_or("<data>"),
            &schema,
            &opts,
        ),
    });
    Ok(report.map_err(input_error)?.to_json())
}

/// Drafts a schema for a table as `mlguard data infer-schema` does. Returns the schema's
/// JSON.
#[pyfunction]
#[pyo3(signature = (data, target = None))]
fn infer_schema(py: Python<'_>, data: Table, target: Option<String>) -> PyResult<String> {
    let opts = InferOptions { target, ..InferOptions::default() };
    let inferred = py.detach(|| match &data {
        Table::Path(p) => mlguard_data::infer_path(p, &opts),
        Table::Bytes(b) => mlguard_data::infer_reader(b.as_slice(), &opts),
    });
    Ok(inferred.map_err(input_error)?.schema.to_json().to_string())
}

/// Finds personal data in every cell of a CSV table as `mlguard data pii --format json
/// --cells` does. Returns `(columns JSON, cells JSON lines)`: per column the kinds found,
/// and per span its row, column, kind, character offsets and score.
#[pyfunction]
fn find_pii(py: Python<'_>, data: Table) -> PyResult<(String, String)> {
    use mlguard_data::pii::{ColumnHint, scan_table};
    let result = py.detach(|| -> Result<_, String> {
        let (reader, delimiter): (Box<dyn std::io::Read + Send + '_>, u8) = match &data {
            Table::Path(p) => {
                let (src, _) =
                    mlguard_data::input::open_path(p, None).map_err(|e| e.to_string())?;
                (Box::new(src), b',')
            }
            Table::Bytes(b) => (Box::new(b.as_slice()), b','),
        };
        let mut cells = String::new();
        let columns = scan_table(
            std::io::BufReader::new(reader),
            delimiter,
            &ColumnHint::from_name,
            |row, column, _cell, span| {
                let line = serde_json::json!({
                    "row": row, "column": column, "kind": span.kind.as_str(),
                    "start": span.start, "end": span.end,
                    "score": (f64::from(span.score) * 100.0).round() / 100.0,
                });
                cells.push_str(&line.to_string());
                cells.push('\n');
            },
        )
        .map_err(|e| e.to_string())?;
        let columns: Vec<serde_json::Value> = columns.iter().map(|c| c.to_json()).collect();
        Ok((serde_json::Value::Array(columns).to_string(), cells))
    });
    result.map_err(input_error)
}

/// `text` safe to print on a terminal: control characters, escape sequences and
/// bidirectional overrides escaped as the command's own output escapes them.
#[pyfunction]
fn terminal_safe(text: &str) -> String {
    mlguard_findings::terminal_safe(text, false).into_owned()
}

#[pymodule]
fn _mlguard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("SchemaError", m.py().get_type::<SchemaError>())?;
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(terminal_safe, m)?)?;
    m.add_function(wrap_pyfunction!(scan_model, m)?)?;
    m.add_function(wrap_pyfunction!(scan_code, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(infer_schema, m)?)?;
    m.add_function(wrap_pyfunction!(find_pii, m)?)?;
    Ok(())
}
