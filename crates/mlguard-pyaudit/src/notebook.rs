//! Jupyter notebooks: code cells joined into one module (later cells see earlier names),
//! each cell parsed on its own, findings located by notebook, cell and line.
//!
//! IPython's syntax is understood: line magics (`%cd`), shell escapes (`!pip install`,
//! `files = !ls`) and help (`obj?`) are parsed as IPython escapes; a cell magic whose body is
//! Python (`%%time`, `%%capture`) keeps its body; any other cell magic (`%%bash`, `%%html`,
//! `%%writefile`, `%%sql`, ...) is not Python and its cell is left out of parsing, its lines
//! kept blank so that findings after it keep their line numbers.

use mlguard_findings::Finding;
use ruff_python_ast::PySourceType;

use crate::audit::{AuditOptions, MAX_SOURCE_BYTES, analyse, on_big_stack};

/// Why a notebook could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotebookError {
    /// Not JSON.
    #[error("not a notebook: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// JSON, but not the nbformat layout (`cells` with `cell_type` and `source`).
    #[error("not a notebook: {0}")]
    Layout(String),
    /// Larger than the auditor reads.
    #[error("notebook larger than {} MiB", MAX_SOURCE_BYTES >> 20)]
    TooLarge,
}

/// Audits a `.ipynb` file: code cells in order; locations are `cell N` and the line in it.
pub fn audit_notebook(
    path: &str,
    bytes: &[u8],
    opts: &AuditOptions,
) -> Result<Vec<Finding>, NotebookError> {
    if bytes.len() > MAX_SOURCE_BYTES {
        return Err(NotebookError::TooLarge);
    }
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        NotebookError::Json { line: e.line(), column: e.column(), message: e.to_string() }
    })?;
    let cells = json
        .get("cells")
        .and_then(|c| c.as_array())
        .ok_or_else(|| NotebookError::Layout("no `cells` list".into()))?;
    let mut source = String::new();
    let mut starts = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        if cell.get("cell_type").and_then(|t| t.as_str()) != Some("code") {
            continue;
        }
        let text = match cell.get("source") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(parts)) => {
                parts.iter().filter_map(|p| p.as_str()).collect()
            }
            _ => return Err(NotebookError::Layout(format!("cell {} has no source", i + 1))),
        };
        let first_line = source.matches('\n').count() as u32 + 1;
        starts.push((i + 1, first_line));
        source.push_str(&python_of_cell(&text));
        if !text.ends_with('\n') {
            source.push('\n');
        }
    }
    let run = || analyse(path, &source, opts, PySourceType::Ipynb, &starts);
    Ok(on_big_stack(run))
}

/// Cell magics whose body is Python run by IPython (timed, captured, profiled, debugged).
const PYTHON_CELL_MAGICS: &[&str] =
    &["time", "timeit", "capture", "prun", "debug", "python", "python3", "ipython"];

/// The Python of a code cell: the cell itself, a Python cell magic's body with the magic
/// line blanked, or blank lines for a cell in another language (`%%bash`).
fn python_of_cell(text: &str) -> String {
    let Some(magic) = text.trim_start().strip_prefix("%%") else { return text.to_owned() };
    let name = magic.split(|c: char| c.is_whitespace()).next().unwrap_or("");
    let blank = |line: &str| if line.ends_with('\n') { "\n" } else { "" };
    let mut lines = text.split_inclusive('\n');
    let mut out = String::with_capacity(text.len());
    if PYTHON_CELL_MAGICS.contains(&name) {
        // Blank up to and including the magic line, keep the body.
        for line in lines.by_ref() {
            out.push_str(blank(line));
            if line.trim_start().starts_with("%%") {
                break;
            }
        }
        out.extend(lines);
    } else {
        out.extend(lines.map(blank));
    }
    out
}
