//! `mlguard._mlguard`: the native module of the `mlguard` Python package. Thin by design:
//! each function calls the same Rust the `mlguard` command calls and hands back what it
//! reports as the JSON the command prints (`--format json`), which the package's Python
//! layer wraps in objects; the logic stays in Rust. Long work runs with the GIL released.

use std::path::PathBuf;
use std::sync::Arc;

use mlguard_data::{InferOptions, Schema, ValidateOptions};
use mlguard_findings::{Report, Severity};
use mlguard_pickle::ScanOptions;
use mlguard_pyaudit::AuditOptions;
use pyo3::prelude::*;

mod progress;
use progress::Progress;

/// An exception of the package's hierarchy (`mlguard._errors`, where they are defined
/// once, with their attributes): `class` called with `message` and, for a failure that
/// comes with one, a report's JSON.
fn raise(class: &str, message: String, report: Option<String>) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("mlguard._errors")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.call1((message, report)));
        match made {
            Ok(e) => PyErr::from_value(e),
            Err(e) => e,
        }
    })
}

/// Table input: a path to a file (CSV, TSV, Parquet, Arrow, Excel, compressed), or the
/// bytes of a CSV table.
#[derive(FromPyObject)]
enum Table {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// A table's CSV text, from the start: a file read as every data command reads it, or the
/// bytes given; the bytes read (of the file, of the bytes) count towards `progress`.
fn read_table<'a>(
    t: &'a Table,
    progress: &Progress,
) -> Result<Box<dyn std::io::Read + Send + 'a>, mlguard_vault::VaultError> {
    // A file, or an Arrow IPC file's bytes (a DataFrame, as the package sends one), is read
    // where it lies by the reader every data command uses, its reads counted.
    fn reopened<R: std::io::Read + std::io::Seek + Send + 'static>(
        name: &std::path::Path,
        progress: &Progress,
        open: impl Fn() -> std::io::Result<R> + Send + Sync + 'static,
    ) -> Result<Box<dyn std::io::Read + Send>, mlguard_vault::VaultError> {
        let progress = progress.clone();
        let open = move || open().map(|r| progress.counted(r));
        Ok(mlguard_data::input::open_reopenable(name, Arc::new(open), None)?.0)
    }
    Ok(match t {
        Table::Path(p) => {
            let owned = p.clone();
            reopened(p, progress, move || std::fs::File::open(&owned))?
        }
        Table::Bytes(b) if b.starts_with(ARROW_MAGIC) => {
            let bytes = Arc::<[u8]>::from(b.as_slice());
            reopened(std::path::Path::new("<data>"), progress, move || {
                Ok(std::io::Cursor::new(bytes.clone()))
            })?
        }
        Table::Bytes(b) => Box::new(progress.counted(b.as_slice())),
    })
}

/// The first bytes of an Arrow IPC file.
const ARROW_MAGIC: &[u8] = b"ARROW1";

/// The size of a table's input, for its progress.
fn size(t: &Table) -> Option<u64> {
    match t {
        Table::Path(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        Table::Bytes(b) => Some(b.len() as u64),
    }
}

/// The work's own error, or the exception its progress callback raised (which stopped it).
fn failed(progress: &Progress, e: impl std::fmt::Display) -> PyErr {
    progress.raised().unwrap_or_else(|| input_error(e))
}

fn input_error(e: impl std::fmt::Display) -> PyErr {
    raise("InputError", e.to_string(), None)
}

fn schema_of(json: &str) -> PyResult<Schema> {
    Schema::from_json_str(json).map_err(|e| raise("SchemaError", e.to_string(), None))
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
    Ok(one_file_report("scan-model", name, findings, threshold))
}

/// The report of a scan of one file, as the command writes it, and whether a finding
/// reached `threshold`.
fn one_file_report(
    kind: &str,
    name: &str,
    findings: Vec<mlguard_findings::Finding>,
    threshold: Severity,
) -> (String, bool) {
    let mut report = Report::new(kind, name);
    for f in findings {
        report.push(f);
    }
    report.stat("files", 1u64);
    let failed = report.findings.iter().any(|f| f.severity >= threshold);
    (report.to_json(), failed)
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
    Ok(one_file_report("scan-code", name, findings, threshold))
}

/// Validates a table against a schema (JSON text) as `mlguard data validate` does.
/// Returns the report's JSON.
#[pyfunction]
#[pyo3(signature = (data, schema, name = None, max_errors = None, progress = None))]
fn validate(
    py: Python<'_>,
    data: Table,
    schema: &str,
    name: Option<String>,
    max_errors: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let schema = schema_of(schema)?;
    let mut opts = ValidateOptions::default();
    if let Some(n) = max_errors {
        opts.max_errors = n;
    }
    let progress = Progress::new(progress, size(&data), 1);
    let name = match (&data, name) {
        (Table::Path(p), _) => p.display().to_string(),
        (Table::Bytes(_), name) => name.unwrap_or_else(|| "<data>".to_owned()),
    };
    let report = py.detach(|| {
        mlguard_data::validate_reader(read_table(&data, &progress)?, &name, &schema, &opts)
            .map_err(mlguard_vault::VaultError::from)
    });
    let report = report.map_err(|e| failed(&progress, e))?;
    progress.finish(py)?;
    Ok(report.to_json())
}

/// Drafts a schema for a table as `mlguard data infer-schema` does. Returns the schema's
/// JSON.
#[pyfunction]
#[pyo3(signature = (data, target = None, progress = None))]
fn infer_schema(
    py: Python<'_>,
    data: Table,
    target: Option<String>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let opts = InferOptions { target, ..InferOptions::default() };
    let progress = Progress::new(progress, size(&data), 1);
    let inferred = py.detach(|| {
        mlguard_data::infer_reader(read_table(&data, &progress)?, &opts)
            .map_err(mlguard_vault::VaultError::from)
    });
    let inferred = inferred.map_err(|e| failed(&progress, e))?;
    progress.finish(py)?;
    Ok(inferred.schema.to_json().to_string())
}

/// Finds personal data in every cell of a CSV table as `mlguard data pii --format json
/// --cells` does. Returns `(columns JSON, cells JSON lines)`: per column the kinds found,
/// and per span its row, column, kind, character offsets and score.
#[pyfunction]
#[pyo3(signature = (data, progress = None))]
fn find_pii(
    py: Python<'_>,
    data: Table,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, String)> {
    use mlguard_data::pii::{ColumnHint, scan_table};
    let progress = Progress::new(progress, size(&data), 1);
    let result = py.detach(|| -> Result<_, String> {
        let reader = read_table(&data, &progress).map_err(|e| e.to_string())?;
        let mut cells = String::new();
        let columns = scan_table(
            std::io::BufReader::new(reader),
            b',',
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
    let result = result.map_err(|e| failed(&progress, e))?;
    progress.finish(py)?;
    Ok(result)
}

/// `text` safe to print on a terminal: control characters, escape sequences and
/// bidirectional overrides escaped as the command's own output escapes them.
#[pyfunction]
fn terminal_safe(text: &str) -> String {
    mlguard_findings::terminal_safe(text, false).into_owned()
}

/// A Python exception for a failure of the vault or a server, by its API error code.
fn front_error(e: &anyhow::Error) -> PyErr {
    let code = mlguard_cli::error_code(e).unwrap_or_default();
    let message = mlguard_findings::terminal_safe(&format!("{e:#}"), false).into_owned();
    // A report (an invalid table, poisoning) goes with the exception as its JSON.
    let report = e.chain().find_map(|c| match c.downcast_ref::<mlguard_vault::VaultError>() {
        Some(mlguard_vault::VaultError::Invalid(r) | mlguard_vault::VaultError::Poisoned(r)) => {
            Some(r.to_json())
        }
        _ => None,
    });
    let class = match code.as_str() {
        "invalid" => "ValidationError",
        "integrity" | "malformed" | "untrusted_signer" | "no_key" | "model_mismatch"
        | "bad_signature" | "bad_key" => "IntegrityError",
        "no_token" | "invalid_token" | "forbidden" | "mfa_required" | "mfa_rejected"
        | "mfa_locked" => "AccessDenied",
        "poisoned" | "unprotected_pii" | "flagged" | "bad_model" => "RefusedError",
        _ => "Error",
    };
    raise(class, message, report)
}

/// The answer of a front-door call as its API type's JSON.
fn answer<T: serde::Serialize>(r: anyhow::Result<T>) -> PyResult<String> {
    let value = r.map_err(|e| front_error(&e))?;
    serde_json::to_string(&value).map_err(|e| raise("Error", e.to_string(), None))
}

/// [`answer`] of work a progress callback followed: the callback's own exception if it
/// raised one (which stopped the work), else the answer, after the callback's last call.
fn metered_answer<T: serde::Serialize>(
    py: Python<'_>,
    progress: &Progress,
    r: anyhow::Result<T>,
) -> PyResult<String> {
    if let Some(e) = progress.raised() {
        return Err(e);
    }
    let text = answer(r)?;
    progress.finish(py)?;
    Ok(text)
}

/// One front door to a vault: the vault on this machine, or a server. Every call goes
/// through the same typed operations the command line and the server use (and is
/// authorised and audited as they are); answers are the API's JSON.
#[pyclass(module = "mlguard._mlguard")]
struct Front {
    door: Door,
}

/// Where the vault is.
enum Door {
    /// On this machine (shared by threads: the vault takes its own locks).
    Local(Box<mlguard_vault::Vault>),
    /// Behind a server: one request at a time on this client.
    Remote(std::sync::Mutex<mlguard_cli::Remote>),
}

impl Front {
    fn local(&self, what: &str) -> PyResult<&mlguard_vault::Vault> {
        match &self.door {
            Door::Local(v) => Ok(v),
            Door::Remote(_) => Err(raise(
                "Error",
                format!("{what} uses the vault's keys: it runs with the vault on this machine"),
                None,
            )),
        }
    }

    fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&dyn mlguard_cli::Client) -> anyhow::Result<T> + Send,
    ) -> anyhow::Result<T> {
        py.detach(|| match &self.door {
            Door::Local(v) => f(v.as_ref()),
            Door::Remote(r) => {
                let guard = r.lock().map_err(|_| anyhow::anyhow!("an earlier call panicked"))?;
                f(&*guard)
            }
        })
    }
}

#[pymethods]
impl Front {
    /// Opens the vault at `path` with its key file or passphrase.
    #[staticmethod]
    #[pyo3(signature = (path, key_file = None, passphrase = None))]
    fn open(
        py: Python<'_>,
        path: PathBuf,
        key_file: Option<PathBuf>,
        passphrase: Option<String>,
    ) -> PyResult<Front> {
        let passphrase = passphrase.map(zeroize::Zeroizing::new);
        let vault = py
            .detach(|| mlguard_cli::open_vault(&path, key_file.as_deref(), passphrase))
            .map_err(|e| front_error(&e))?;
        Ok(Front { door: Door::Local(Box::new(vault)) })
    }

    /// A client of the server at `url` with `token`.
    #[staticmethod]
    #[pyo3(signature = (url, token, ca_cert = None, totp = None))]
    fn connect(
        url: &str,
        token: String,
        ca_cert: Option<PathBuf>,
        totp: Option<String>,
    ) -> PyResult<Front> {
        let token = zeroize::Zeroizing::new(token);
        let remote = mlguard_cli::connect(url, &token, ca_cert.as_deref(), totp.as_deref())
            .map_err(|e| front_error(&e))?;
        Ok(Front { door: Door::Remote(std::sync::Mutex::new(remote)) })
    }

    /// Every dataset version: a JSON list.
    fn datasets(&self, py: Python<'_>) -> PyResult<String> {
        answer(self.call(py, |c| c.datasets()))
    }

    /// A dataset version's record and ingestion report.
    fn dataset_report(&self, py: Python<'_>, reference: &str) -> PyResult<String> {
        answer(self.call(py, |c| c.dataset_report(reference)))
    }

    /// Every model version: a JSON list.
    fn models(&self, py: Python<'_>) -> PyResult<String> {
        answer(self.call(py, |c| c.models()))
    }

    /// A model version, verified.
    fn model(&self, py: Python<'_>, reference: &str) -> PyResult<String> {
        answer(self.call(py, |c| c.model(reference)))
    }

    /// Stores the model file `data` as the next version of `name`, bound to the stored
    /// dataset version `dataset`: the verified model's description.
    #[pyo3(signature = (name, data, dataset, accept_flagged = false))]
    fn import_model(
        &self,
        py: Python<'_>,
        name: &str,
        data: &[u8],
        dataset: &str,
        accept_flagged: bool,
    ) -> PyResult<String> {
        let req = mlguard_vault::ImportRequest {
            name: name.to_owned(),
            dataset: dataset.to_owned(),
            accept_flagged,
        };
        answer(self.call(py, |c| c.import_model(data, &req)))
    }

    /// A model version as it leaves the vault (`model.export`): its safetensors (never the
    /// split seed) and an OpenSSF model-signing bundle for a directory named `dir_name`.
    fn export_model(&self, py: Python<'_>, reference: &str, dir_name: &str) -> PyResult<String> {
        answer(self.call(py, |c| c.export_model(reference, dir_name)))
    }

    /// Ingests a table (a path, or CSV bytes named `source`) as the next version of
    /// `name`; `options` is the API's ingest options JSON.
    #[pyo3(signature = (data, schema, name, options, source = None, progress = None))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn ingest(
        &self,
        py: Python<'_>,
        data: Table,
        schema: &str,
        name: &str,
        options: &str,
        source: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        let opts: mlguard_vault::api::IngestBody = serde_json::from_str(options)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("options: {e}")))?;
        let progress = Progress::new(progress, None, 1);
        let meter = progress.meter();
        let r = self.call(py, |c| {
            let upload = match &data {
                Table::Path(p) => mlguard_cli::Upload::Path(p),
                Table::Bytes(b) => mlguard_cli::Upload::Csv {
                    name: source.as_deref().unwrap_or("<data>"),
                    bytes: b,
                },
            };
            c.ingest(&upload, schema, name, &opts, meter.as_ref())
        });
        metered_answer(py, &progress, r)
    }

    /// Trains a model: `body` is the API's train request JSON.
    #[pyo3(signature = (body, progress = None))]
    fn train(&self, py: Python<'_>, body: &str, progress: Option<Py<PyAny>>) -> PyResult<String> {
        let body: mlguard_vault::api::TrainBody = serde_json::from_str(body)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("train: {e}")))?;
        let progress = Progress::new(progress, None, 1);
        let meter = progress.meter();
        let r = self.call(py, |c| c.train(&body, meter.as_ref()));
        metered_answer(py, &progress, r)
    }

    /// Predicts rows (JSON list of objects) with a model.
    fn predict(&self, py: Python<'_>, model: &str, rows: &str) -> PyResult<String> {
        let rows: Vec<serde_json::Value> = serde_json::from_str(rows)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("rows: {e}")))?;
        answer(self.call(py, |c| c.predict_rows(model, &rows)))
    }

    /// A dataset version's CSV, verified completely first: (version, bytes).
    fn download<'py>(
        &self,
        py: Python<'py>,
        reference: &str,
    ) -> PyResult<(String, Bound<'py, pyo3::types::PyBytes>)> {
        let mut data = Vec::new();
        let (version, _) =
            self.call(py, |c| c.download(reference, &mut data)).map_err(|e| front_error(&e))?;
        Ok((version, pyo3::types::PyBytes::new(py, &data)))
    }

    /// The audit log recomputed and checked against its signed checkpoints.
    fn verify_audit(&self, py: Python<'_>) -> PyResult<String> {
        answer(self.call(py, |c| c.verify_audit()))
    }

    /// Protects a CSV table (bytes) as `mlguard data protect` does, with this vault's
    /// pseudonym key (recorded in its audit log first): `(protected CSV, protection report
    /// JSON)`. Only a vault on this machine holds the key.
    #[pyo3(signature = (data, schema, options, source = None))]
    fn protect<'py>(
        &self,
        py: Python<'py>,
        data: Table,
        schema: &str,
        options: &str,
        source: Option<String>,
    ) -> PyResult<(Bound<'py, pyo3::types::PyBytes>, String)> {
        let vault =
            self.local("protection with the vault's pseudonym key (a server ingests instead)")?;
        let schema = schema_of(schema)?;
        let body: mlguard_vault::api::IngestBody = serde_json::from_str(options)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("options: {e}")))?;
        let opts = body.to_options().map_err(|e| front_error(&e.into()))?.protect;
        let result = py.detach(|| -> anyhow::Result<_> {
            let name = match &data {
                Table::Path(p) => p.display().to_string(),
                Table::Bytes(_) => source.clone().unwrap_or_else(|| "<data>".into()),
            };
            let key =
                vault.protection_key(&mlguard_vault::Ctx::local(), &name, "<python>", opts.k)?;
            let open = || read_table(&data, &Progress::default());
            let mut out = Vec::new();
            let report = mlguard_data::protect::protect(
                std::io::BufReader::new(open()?),
                Some(std::io::BufReader::new(open()?)),
                &mut out,
                &schema,
                &key,
                &opts,
            )?;
            Ok((out, mlguard_vault::protection_json(&report).to_string()))
        });
        let (out, report) = result.map_err(|e| front_error(&e))?;
        Ok((pyo3::types::PyBytes::new(py, &out), report))
    }

    /// Seals `data` (bytes, or a file) with this vault's keys, as `mlguard seal` does
    /// (AES-256-GCM in segments, signed; recorded in the audit log): the sealed bytes.
    #[pyo3(signature = (data, name, kind = "file", meta = "{}"))]
    fn seal<'py>(
        &self,
        py: Python<'py>,
        data: Table,
        name: &str,
        kind: &str,
        meta: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let vault = self.local("sealing")?;
        let kind = match kind {
            "file" => mlguard_seal::Kind::File,
            "dataset" => mlguard_seal::Kind::Dataset,
            "model" => mlguard_seal::Kind::Model,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "kind is file, dataset or model, not {other:?}"
                )));
            }
        };
        let meta: serde_json::Map<String, serde_json::Value> = serde_json::from_str(meta)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("meta: {e}")))?;
        let opts = mlguard_seal::SealOptions { kind, meta };
        let sealed = py.detach(|| -> anyhow::Result<Vec<u8>> {
            let mut out = Vec::new();
            match &data {
                Table::Path(p) => {
                    let mut f = std::fs::File::open(p)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
                    vault.seal_artifact(
                        &mlguard_vault::Ctx::local(),
                        name,
                        &mut f,
                        &mut out,
                        &opts,
                    )?;
                }
                Table::Bytes(b) => {
                    let mut c = std::io::Cursor::new(b.as_slice());
                    vault.seal_artifact(
                        &mlguard_vault::Ctx::local(),
                        name,
                        &mut c,
                        &mut out,
                        &opts,
                    )?;
                }
            }
            Ok(out)
        });
        let sealed = sealed.map_err(|e| front_error(&e))?;
        Ok(pyo3::types::PyBytes::new(py, &sealed))
    }

    /// Verifies sealed bytes completely (signature, key, every segment) and decrypts
    /// them, as `mlguard open` does: `(plaintext, verification JSON)`. Nothing is returned
    /// unless every check passed.
    #[pyo3(signature = (sealed, name, allow_untrusted_signer = false))]
    fn open_sealed<'py>(
        &self,
        py: Python<'py>,
        sealed: Table,
        name: &str,
        allow_untrusted_signer: bool,
    ) -> PyResult<(Bound<'py, pyo3::types::PyBytes>, String)> {
        let vault = self.local("opening a sealed file")?;
        let pol = signer_policy(allow_untrusted_signer);
        let opened = py.detach(|| -> anyhow::Result<_> {
            let mut input = read_sealed(&sealed)?;
            let mut out = Vec::new();
            let v = vault.open_artifact(
                &mlguard_vault::Ctx::local(),
                name,
                &mut input,
                &mut out,
                pol,
            )?;
            Ok((out, verified_json(&v)))
        });
        let (out, v) = opened.map_err(|e| front_error(&e))?;
        Ok((pyo3::types::PyBytes::new(py, &out), v))
    }

    /// Verifies sealed bytes completely without decrypting them to the caller, as
    /// `mlguard verify` does: the verification JSON.
    #[pyo3(signature = (sealed, name, allow_untrusted_signer = false))]
    fn verify_sealed(
        &self,
        py: Python<'_>,
        sealed: Table,
        name: &str,
        allow_untrusted_signer: bool,
    ) -> PyResult<String> {
        let vault = self.local("verifying a sealed file")?;
        let pol = signer_policy(allow_untrusted_signer);
        let verified = py.detach(|| -> anyhow::Result<_> {
            let mut input = read_sealed(&sealed)?;
            Ok(verified_json(&vault.verify_artifact(
                &mlguard_vault::Ctx::local(),
                name,
                &mut input,
                pol,
            )?))
        });
        verified.map_err(|e| front_error(&e))
    }
}

fn signer_policy(allow_untrusted: bool) -> mlguard_seal::SignerPolicy {
    if allow_untrusted {
        mlguard_seal::SignerPolicy::AllowUntrusted
    } else {
        mlguard_seal::SignerPolicy::TrustedOnly
    }
}

fn read_sealed(t: &Table) -> anyhow::Result<Box<dyn std::io::Read + Send + '_>> {
    Ok(match t {
        Table::Path(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?,
        )),
        Table::Bytes(b) => Box::new(b.as_slice()),
    })
}

fn verified_json(v: &mlguard_seal::Verified) -> String {
    serde_json::json!({"valid": true, "signer": v.signer, "signer_trusted": v.signer_trusted, "core": v.core})
        .to_string()
}

/// The poisoning checks of `mlguard data poison` on a table (a path or CSV bytes),
/// against a `baseline` table when given: `(report JSON, failed, counts JSON)`.
#[pyfunction]
#[pyo3(signature = (data, schema, baseline = None, label_noise = None, outlier_z = None, max_findings = 100, progress = None))]
#[allow(clippy::too_many_arguments)] // Python's keyword arguments
fn check_poisoning(
    py: Python<'_>,
    data: Table,
    schema: &str,
    baseline: Option<Table>,
    label_noise: Option<f64>,
    outlier_z: Option<f64>,
    max_findings: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, bool, String)> {
    let schema = schema_of(schema)?;
    let mut opts = mlguard_data::poison::PoisonOptions::default();
    if let Some(z) = outlier_z {
        if !(z.is_finite() && z > 0.0) {
            return Err(pyo3::exceptions::PyValueError::new_err("outlier_z must be positive"));
        }
        opts.outlier_z = z;
    }
    if let Some(n) = label_noise {
        if !(0.0..=0.5).contains(&n) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "label_noise is a share of the rows between 0 and 0.5",
            ));
        }
        opts.label_noise = n;
    }
    let name = match &data {
        Table::Path(p) => p.display().to_string(),
        Table::Bytes(_) => "<data>".to_owned(),
    };
    // Two passes over the table (the baseline is read once more, not counted).
    let progress = Progress::new(progress, size(&data), 2);
    let checked = py.detach(|| -> Result<_, mlguard_vault::VaultError> {
        let open = || read_table(&data, &progress).map(std::io::BufReader::new);
        let mut base = match &baseline {
            Some(b) => Some(std::io::BufReader::new(read_table(b, &Progress::default())?)),
            None => None,
        };
        mlguard_vault::poison::check(
            &open,
            &name,
            &schema,
            &opts,
            base.as_mut().map(|r| ("baseline", r)),
            max_findings,
            None,
        )
    });
    let c = checked.map_err(|e| progress.raised().unwrap_or_else(|| front_error(&e.into())))?;
    progress.finish(py)?;
    let counts = serde_json::json!({
        "rows": c.rows,
        "conflicts": c.conflicts,
        "floods": c.floods,
        "outliers": c.outliers,
        "duplicated": c.duplicated,
        "label_issues": c.label_issues,
        "labels_listed": c.labels_listed,
        "labels_by_chance": c.labels_by_chance,
        "drifted": c.drifted,
    });
    Ok((c.report.to_json(), c.failed(), counts.to_string()))
}

/// A model from elsewhere (scikit-learn) in mlguard's terms: its encoding, weights and
/// training schema (the JSON `mlguard.sklearn` builds).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelParts {
    target: String,
    classes: Vec<String>,
    numeric: Vec<mlguard_learn::model::NumericFeature>,
    #[serde(default)]
    categorical: Vec<mlguard_learn::model::CategoricalFeature>,
    /// Outputs × features, row-major (one output for two classes: the second's logit).
    weights: Vec<f64>,
    intercepts: Vec<f64>,
    schema: serde_json::Value,
    #[serde(default)]
    provenance: std::collections::BTreeMap<String, serde_json::Value>,
}

fn bad_model(e: impl std::fmt::Display) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(e.to_string())
}

/// mlguard's safetensors model of `parts` (JSON of [`ModelParts`]), checked by reading it
/// back and compiling its predictor against its schema.
#[pyfunction]
fn model_from_parts<'py>(
    py: Python<'py>,
    parts: &str,
) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    use mlguard_learn::model::{Encoding, MODEL_FORMAT, Model, ModelInfo};
    let p: ModelParts = serde_json::from_str(parts).map_err(bad_model)?;
    let encoding = Encoding {
        target: p.target,
        classes: p.classes,
        numeric: p.numeric,
        categorical: p.categorical,
    };
    let k = encoding.classes.len();
    if k < 2 {
        return Err(bad_model("a model needs at least two classes"));
    }
    let outputs = if k == 2 { 1 } else { k };
    let d = encoding.width();
    if p.weights.len() != outputs * d || p.intercepts.len() != outputs {
        return Err(bad_model(format!(
            "{} weights and {} intercepts for {outputs} output(s) of {d} features",
            p.weights.len(),
            p.intercepts.len()
        )));
    }
    let nan = f64::NAN;
    let model = Model {
        info: ModelInfo {
            format: MODEL_FORMAT,
            encoding,
            metrics: mlguard_learn::Metrics {
                accuracy: nan,
                precision: nan,
                recall: nan,
                f1: nan,
                roc_auc: nan,
                log_loss: nan,
                confusion: Vec::new(),
                rows: 0,
                roc_curve: Vec::new(),
                calibration: Vec::new(),
            },
            threshold: 0.5,
            schema: p.schema,
            provenance: p.provenance,
        },
        logistic: mlguard_learn::Logistic {
            classes: k,
            d,
            weights: p.weights,
            intercepts: p.intercepts,
            iterations: 0,
            converged: true,
        },
    };
    let bytes = model.to_safetensors();
    let back = Model::from_safetensors(&bytes).map_err(bad_model)?;
    back.predictor().map_err(bad_model)?;
    Ok(pyo3::types::PyBytes::new(py, &bytes))
}

/// The parts of an mlguard model (safetensors bytes, read strictly): its encoding,
/// weights and schema as [`ModelParts`] JSON (and its metrics and provenance).
#[pyfunction]
fn model_parts(data: &[u8]) -> PyResult<String> {
    let m = mlguard_learn::model::Model::from_safetensors(data).map_err(bad_model)?;
    let e = &m.info.encoding;
    Ok(serde_json::json!({
        "target": e.target,
        "classes": e.classes,
        "numeric": e.numeric,
        "categorical": e.categorical,
        "weights": m.logistic.weights,
        "intercepts": m.logistic.intercepts,
        "schema": m.info.schema,
        "provenance": m.info.provenance,
        "metrics": m.info.metrics,
    })
    .to_string())
}

/// Class probabilities of `rows` (a JSON list of objects of column: value) by an mlguard
/// model (safetensors bytes), as the vault's predictor computes them: a JSON list of
/// lists, in the model's class order.
#[pyfunction]
fn model_predict_proba(py: Python<'_>, data: &[u8], rows: &str) -> PyResult<String> {
    let m = mlguard_learn::model::Model::from_safetensors(data).map_err(bad_model)?;
    let predictor = m.predictor().map_err(bad_model)?;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(rows).map_err(bad_model)?;
    let out = py.detach(|| {
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let cells: std::collections::HashMap<&str, String> = row
                .iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k.as_str(), s.clone())),
                    serde_json::Value::Number(n) => Some((k.as_str(), n.to_string())),
                    serde_json::Value::Bool(b) => Some((k.as_str(), b.to_string())),
                    _ => None,
                })
                .collect();
            out.push(predictor.predict(|name| cells.get(name).map(String::as_str)));
        }
        out
    });
    serde_json::to_string(&out).map_err(bad_model)
}

#[pymodule]
fn _mlguard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Front>()?;
    m.add_function(wrap_pyfunction!(model_from_parts, m)?)?;
    m.add_function(wrap_pyfunction!(check_poisoning, m)?)?;
    m.add_function(wrap_pyfunction!(model_parts, m)?)?;
    m.add_function(wrap_pyfunction!(model_predict_proba, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(terminal_safe, m)?)?;
    m.add_function(wrap_pyfunction!(scan_model, m)?)?;
    m.add_function(wrap_pyfunction!(scan_code, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(infer_schema, m)?)?;
    m.add_function(wrap_pyfunction!(find_pii, m)?)?;
    Ok(())
}
