//! The mlguard vault as an HTTPS server.
//!
//! Every request but `/healthz`, `/metrics` and `/openapi.json` carries a token
//! (`Authorization: Bearer mlg_…`); the vault's policy decides what its role may do, and
//! sensitive actions need a fresh TOTP code (`X-MLGuard-TOTP`). Every decision is an
//! entry in the vault's audit log, written before anything is done or released: when the
//! log cannot be written the request fails with 503 and has no effect.
//!
//! TLS is rustls (aws-lc-rs); plain HTTP only when asked, and only on loopback.

// A refusal is carried as the `Response` to send (`Result<T, Response>`): a small price
// for clear early returns in request handling, where it is sent at once anyway.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use mlguard_vault::identity::Action;
use mlguard_vault::{Actor, Ctx, Vault, VaultError};
use serde_json::{Value, json};

use crate::error::AppError;

mod admin;
pub mod api;
mod datasets;
mod error;
pub mod ui;

pub use api::openapi_document;

pub use datasets::MAX_UPLOAD_BYTES;

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Longest a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a dataset upload (with its ingestion) or download may take.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// Plain HTTP was asked for a non-loopback address.
    #[error("plain HTTP (--insecure-http) is only allowed on a loopback address, not {0}")]
    NotLoopback(SocketAddr),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Request counters for `/metrics`.
#[derive(Default)]
struct Metrics {
    requests: Mutex<HashMap<(String, u16), u64>>,
    predicted_rows: AtomicU64,
    rejected_rows: AtomicU64,
}

/// What the handlers share: the vault (shared, no lock around it: each request carries
/// its own context, and the vault serialises what must be serialised inside) and the
/// request counters.
pub struct AppState {
    vault: Vault,
    metrics: Metrics,
    console: ui::Console,
}

impl AppState {
    /// Serves `vault`, with group commit of its audit log: a request's audit entries are
    /// made durable by one fsync shared with the requests committed at the same time, and
    /// nothing is released before.
    pub fn new(vault: Vault) -> Result<Arc<AppState>, VaultError> {
        vault.use_group_commit()?;
        Ok(Arc::new(AppState {
            vault,
            metrics: Metrics::default(),
            console: ui::Console::default(),
        }))
    }

    /// The vault served.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Signs a checkpoint of the audit log (on shutdown).
    pub fn checkpoint(&self) -> Result<Option<u64>, VaultError> {
        self.vault.checkpoint()
    }
}

/// An error of the HTTP layer as a JSON response.
fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    AppError::new(status, code, message).into_response()
}

/// The request id: the client's `X-Request-Id` (if short and printable) or a fresh one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(mlguard_vault::fresh_id)
}

impl AppState {
    /// The request's context: who asks (authenticated by the vault; a refused token is an
    /// actor too, whose every operation the vault denies and records), the request id,
    /// and the TOTP code sent with it.
    fn context(&self, headers: &HeaderMap) -> Result<Ctx, Response> {
        let actor = match self.vault.authenticate(bearer(headers)) {
            Err(e) => return Err(AppError::vault(&e, &request_id(headers)).into_response()),
            Ok(Ok(who)) => Actor::Token(who),
            Ok(Err(refused)) => Actor::Refused(refused),
        };
        let totp = headers.get("x-mlguard-totp").and_then(|v| v.to_str().ok());
        Ok(Ctx::new(actor, request_id(headers)).with_totp(totp))
    }

    /// Serves one operation: `op` asks the vault (which allows, does and records it).
    fn call(
        &self,
        route: &str,
        headers: &HeaderMap,
        op: impl FnOnce(&Vault, &Ctx) -> Result<Response, VaultError>,
    ) -> Response {
        self.call_split(route, headers, op, Ok)
    }

    /// As [`AppState::call`], in two parts: `op` asks the vault, `release` runs once the
    /// request's audit entries are durable (pure computation, such as predictions, and
    /// the response).
    fn call_split<T>(
        &self,
        route: &str,
        headers: &HeaderMap,
        op: impl FnOnce(&Vault, &Ctx) -> Result<T, VaultError>,
        release: impl FnOnce(T) -> Result<Response, VaultError>,
    ) -> Response {
        let cx = match self.context(headers) {
            Ok(cx) => cx,
            Err(refusal) => return self.stamp(route, &request_id(headers), refusal),
        };
        let failed = |e: VaultError| AppError::vault(&e, cx.request_id()).into_response();
        let result = op(&self.vault, &cx).map_err(failed);
        let response = match self.settle(result) {
            Ok(t) => release(t).unwrap_or_else(failed),
            Err(refusal) => refusal,
        };
        self.stamp(route, cx.request_id(), response)
    }

    /// The first half of a streaming request (an upload): the request's context and what
    /// `op` made (it allows the operation, recorded if refused, before a byte of the body
    /// is read), or the response that refuses.
    fn allow<T>(
        &self,
        route: &str,
        headers: &HeaderMap,
        op: impl FnOnce(&Vault, &Ctx) -> Result<T, VaultError>,
    ) -> Result<(Ctx, T), Response> {
        let cx = self.context(headers).map_err(|r| self.stamp(route, &request_id(headers), r))?;
        let result =
            op(&self.vault, &cx).map_err(|e| AppError::vault(&e, cx.request_id()).into_response());
        match self.settle(result) {
            Ok(t) => Ok((cx, t)),
            Err(refusal) => Err(self.stamp(route, cx.request_id(), refusal)),
        }
    }

    /// The second half: runs `op` in the request's context `cx`, and releases its
    /// response once its audit entries are durable.
    fn as_allowed(
        &self,
        route: &str,
        cx: &Ctx,
        op: impl FnOnce(&Vault, &Ctx) -> Result<Response, VaultError>,
    ) -> Response {
        let result =
            op(&self.vault, cx).map_err(|e| AppError::vault(&e, cx.request_id()).into_response());
        let response = self.settle(result).unwrap_or_else(|r| r);
        self.stamp(route, cx.request_id(), response)
    }

    /// Waits until the request's audit entries are durable: nothing is released before.
    fn settle<T>(&self, result: Result<T, Response>) -> Result<T, Response> {
        match self.vault.sync() {
            Ok(()) => result,
            Err(e) => Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                format!("the audit log could not be made durable ({e}); the result is withheld"),
            )),
        }
    }

    /// Adds the request id to a response and counts it.
    fn stamp(&self, route: &str, id: &str, mut response: Response) -> Response {
        if let Ok(v) = HeaderValue::from_str(id) {
            response.headers_mut().insert("x-request-id", v);
        }
        if let Ok(mut m) = self.metrics.requests.lock() {
            *m.entry((route.to_owned(), response.status().as_u16())).or_default() += 1;
        }
        response
    }
}

/// The token a request presents (empty without one).
fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
}

/// Runs blocking work (SQLite, fsync, decryption) off the async workers.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    blocking_value(f).await.unwrap_or_else(stopped)
}

/// As [`blocking`], for work that returns something else (`None` if it panicked).
async fn blocking_value<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Runs bulk work (an ingest, a training) on a thread of its own at the lowest priority
/// the OS has (Linux `SCHED_IDLE`; elsewhere the lowest for the thread's policy): requests
/// beside it (predictions) get a core whenever they need one, so it adds little to their
/// latency, and it uses every core they leave idle. Threads the work starts inherit the
/// priority. Started at once (not when first awaited); `None` if the work panicked or no
/// thread could be started.
fn bulk<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Option<T>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = std::thread::Builder::new()
        .name("mlguard-bulk".into())
        .spawn(move || {
            lowest_priority();
            let _ = tx.send(f());
        })
        .is_ok();
    async move {
        if !started {
            return None;
        }
        rx.await.ok()
    }
}

/// Lowers the calling thread to the lowest priority it may take (best effort: bulk work
/// still runs if the OS refuses).
fn lowest_priority() {
    use thread_priority::{ThreadPriority, ThreadSchedulePolicy};
    #[cfg(target_os = "linux")]
    let policy = ThreadSchedulePolicy::Normal(thread_priority::NormalThreadSchedulePolicy::Idle);
    #[cfg(all(unix, not(target_os = "linux")))]
    let policy = ThreadSchedulePolicy::Normal(thread_priority::NormalThreadSchedulePolicy::Other);
    #[cfg(unix)]
    let _ = thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        ThreadPriority::Min,
        policy,
    );
    #[cfg(not(unix))]
    let _ = thread_priority::set_current_thread_priority(ThreadPriority::Min);
}

fn stopped() -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "a request handler stopped")
}

fn json_ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

async fn healthz() -> Response {
    json_ok(json!({"status": "ok"}))
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let mut text = String::from(
        "# HELP mlguard_requests_total Requests by route and status.\n# TYPE mlguard_requests_total counter\n",
    );
    if let Ok(m) = s.metrics.requests.lock() {
        let mut rows: Vec<_> = m.iter().collect();
        rows.sort();
        for ((route, status), n) in rows {
            text.push_str(&format!(
                "mlguard_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
            ));
        }
    }
    for (name, help, v) in [
        ("mlguard_predicted_rows_total", "Rows predicted.", &s.metrics.predicted_rows),
        (
            "mlguard_rejected_rows_total",
            "Rows rejected by the training schema.",
            &s.metrics.rejected_rows,
        ),
    ] {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            v.load(Ordering::Relaxed)
        ));
    }
    // The catalog may be a remote database: asked off the async workers.
    let st = Arc::clone(&s);
    if let Some(Ok(n)) = blocking_value(move || st.vault.catalog().audit_len()).await {
        text.push_str(&format!(
            "# HELP mlguard_audit_entries Entries in the audit log.\n# TYPE mlguard_audit_entries gauge\nmlguard_audit_entries {n}\n"
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi() -> Response {
    json_ok(openapi_document())
}

/// The routes: (method, path, action, summary). The router and the OpenAPI document are
/// both built from this list, so neither can miss an endpoint.
pub const ROUTES: &[(&str, &str, Option<Action>, &str)] = &[
    ("get", "/healthz", None, "Liveness"),
    ("get", "/metrics", None, "Prometheus metrics"),
    ("get", "/openapi.json", None, "This document"),
    ("get", "/v1/datasets", Some(Action::DatasetList), "Dataset versions"),
    (
        "post",
        "/v1/datasets/{name}",
        Some(Action::DatasetIngest),
        "Ingest a CSV as the next version (multipart/form-data: `schema` (Table Schema JSON), `data` (CSV), optional `options` JSON: keep_pii, reject_poisoned, k, quasi, max_suppressed, birth_dates, as_of); validated, protected, checked and sealed; 422 with the report when refused",
    ),
    (
        "get",
        "/v1/datasets/{name}",
        Some(Action::DatasetRead),
        "A version's (NAME[@VERSION]) record, schema and ingestion report",
    ),
    (
        "get",
        "/v1/datasets/{name}/data",
        Some(Action::DatasetRead),
        "A version's CSV, verified before it is sent; a version stored with personal data kept (keep_pii) needs dataset.read-raw (and a TOTP code) instead",
    ),
    ("get", "/v1/models", Some(Action::ModelList), "Model versions"),
    (
        "post",
        "/v1/models/train",
        Some(Action::ModelTrain),
        "Train a model on a dataset: {\"dataset\": \"NAME[@VERSION]\", \"name\": \"MODEL\"}",
    ),
    (
        "get",
        "/v1/models/{name}",
        Some(Action::ModelRead),
        "A model (verified): target, classes, features, metrics, provenance",
    ),
    (
        "post",
        "/v1/models/{name}/predict",
        Some(Action::ModelPredict),
        "Predict rows given as JSON objects; rows that break the training schema are rejected by row",
    ),
    (
        "post",
        "/v1/models/{name}/import",
        Some(Action::ModelTrain),
        "Store a model made elsewhere (mlguard's safetensors model file, e.g. a scikit-learn model converted by the Python package) as the next version of NAME, bound to the stored dataset version it was trained on (?dataset=NAME[@VERSION]); 422 when it is not a model or does not fit that version",
    ),
    (
        "post",
        "/v1/models/{name}/export",
        Some(Action::ModelExport),
        "The model as safetensors (needs a TOTP code)",
    ),
    (
        "get",
        "/v1/audit/entries",
        Some(Action::AuditRead),
        "Audit entries (JSON lines), optionally from an index (?from=N)",
    ),
    (
        "get",
        "/v1/audit/checkpoint",
        Some(Action::AuditRead),
        "The latest signed checkpoint (C2SP signed note)",
    ),
    ("get", "/v1/audit/proof/{index}", Some(Action::AuditRead), "Inclusion proof of an entry"),
    (
        "get",
        "/v1/audit/consistency",
        Some(Action::AuditRead),
        "Consistency proof from the tree of the first N entries (?from=N) to the latest checkpoint",
    ),
    ("post", "/v1/audit/verify", Some(Action::AuditVerify), "Recompute the whole log"),
    ("get", "/v1/admin/users", Some(Action::UserManage), "Users (needs a TOTP code)"),
    (
        "post",
        "/v1/admin/users",
        Some(Action::UserManage),
        "Add a user: {\"name\", \"role\"} (needs a TOTP code)",
    ),
    (
        "post",
        "/v1/admin/users/{name}/disable",
        Some(Action::UserManage),
        "Disable a user: their tokens stop working (needs a TOTP code)",
    ),
    (
        "post",
        "/v1/admin/users/{name}/mfa",
        Some(Action::UserManage),
        "Enroll a TOTP second factor ({\"alg\": \"sha1\"|\"sha256\"}); the otpauth URI is shown once (needs a TOTP code)",
    ),
    (
        "get",
        "/v1/admin/tokens",
        Some(Action::TokenManage),
        "Tokens, never their secrets (needs a TOTP code)",
    ),
    (
        "post",
        "/v1/admin/tokens",
        Some(Action::TokenManage),
        "Create a token: {\"user\", \"ttl_secs\"}; the token is shown once (needs a TOTP code)",
    ),
    (
        "delete",
        "/v1/admin/tokens/{id}",
        Some(Action::TokenManage),
        "Revoke a token (needs a TOTP code)",
    ),
    (
        "get",
        "/v1/admin/roles",
        Some(Action::RoleManage),
        "The policy: roles and MFA (needs a TOTP code)",
    ),
    (
        "put",
        "/v1/admin/roles",
        Some(Action::RoleManage),
        "Replace the policy, checked first (needs a TOTP code)",
    ),
];

async fn list_datasets(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/datasets", &headers, |v, cx| {
            let datasets = v.list_datasets(cx)?.into_iter().map(Into::into).collect();
            Ok(axum::Json(api::DatasetList { datasets }).into_response())
        })
    })
    .await
}

async fn list_models(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/models", &headers, |v, cx| {
            let models = v.list_models(cx)?.into_iter().map(Into::into).collect();
            Ok(axum::Json(api::ModelList { models }).into_response())
        })
    })
    .await
}

async fn inspect_model(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.call("/v1/models/{name}", &headers, |v, cx| {
            let (record, model) = v.model(cx, &name)?;
            Ok(axum::Json(api::ModelDescription::from((&record, &model))).into_response())
        })
    })
    .await
}

async fn predict(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rows = match read_rows(&body) {
        Ok(b) => b.rows,
        Err(response) => return response,
    };
    const ROUTE: &str = "/v1/models/{name}/predict";
    // A few rows with everything it needs in memory: served on this task, its audit entry
    // awaited rather than waited for on a thread of its own.
    if rows.len() <= PREDICT_INLINE_ROWS
        && let Some(who) = s.vault.authenticate_cached(bearer(&headers))
    {
        let totp = headers.get("x-mlguard-totp").and_then(|v| v.to_str().ok());
        let cx = Ctx::new(Actor::Token(who), request_id(&headers)).with_totp(totp);
        match s.vault.prediction_model_cached(&cx, &name, rows.len()) {
            Ok(Some((model, receipt))) => {
                let released = match receipt.await {
                    Ok(index) if Vault::checkpoint_due(index) => {
                        let v = Arc::clone(&s);
                        blocking_value(move || v.vault.checkpoint().map(drop))
                            .await
                            .unwrap_or_else(|| Err(VaultError::Internal("stopped".into())))
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
                let response = match released.and_then(|()| s.predictions(&model, &rows)) {
                    Ok(r) => r,
                    Err(e) => AppError::vault(&e, cx.request_id()).into_response(),
                };
                return s.stamp(ROUTE, cx.request_id(), response);
            }
            Ok(None) => {}
            Err(e) => {
                let response = AppError::vault(&e, cx.request_id()).into_response();
                return s.stamp(ROUTE, cx.request_id(), response);
            }
        }
    }
    let count = rows.len();
    drop(rows);
    blocking(move || {
        s.call_split(
            ROUTE,
            &headers,
            |v, cx| v.prediction_model(cx, &name, count),
            // Read again from the body it owns (read once above): rows borrow from it.
            |model| match read_rows(&body) {
                Ok(b) => s.predictions(&model, &b.rows),
                Err(_) => Err(VaultError::Internal("the body read differently".into())),
            },
        )
    })
    .await
}

/// A prediction request's rows, borrowed from its body, or the response refusing it.
fn read_rows(body: &[u8]) -> Result<mlguard_vault::rows::PredictBody<'_>, Response> {
    serde_json::from_slice(body).map_err(|e| {
        if e.classify() == serde_json::error::Category::Data {
            error(StatusCode::BAD_REQUEST, "bad_request", "expected {\"rows\": [{...}, ...]}")
        } else {
            error(StatusCode::BAD_REQUEST, "bad_json", format!("the body is not JSON: {e}"))
        }
    })
}

/// Most rows a prediction request may have to be answered on its async task (when the
/// model and what authorises the request are in memory); more go to a blocking thread.
const PREDICT_INLINE_ROWS: usize = 64;

impl AppState {
    /// The response of `model`'s predictions of `rows` (counted).
    fn predictions(
        &self,
        model: &mlguard_vault::ServingModel,
        rows: &[mlguard_vault::rows::JsonRow<'_>],
    ) -> Result<Response, VaultError> {
        let results = model.predict_rows(rows)?;
        let rejected = results
            .iter()
            .filter(|r| matches!(r, mlguard_vault::RowPrediction::Rejected { .. }))
            .count() as u64;
        self.metrics.rejected_rows.fetch_add(rejected, Ordering::Relaxed);
        self.metrics.predicted_rows.fetch_add(results.len() as u64 - rejected, Ordering::Relaxed);
        Ok(axum::Json(api::PredictResponse {
            model: format!("{}@{}", model.record.name, model.record.version),
            id_column: model.id_column().map(str::to_owned),
            classes: model.classes().to_vec(),
            results,
        })
        .into_response())
    }
}

async fn train(State(s): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(t) = serde_json::from_slice::<api::TrainBody>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected {\"dataset\": \"NAME[@VERSION]\", \"name\": \"MODEL\"} (optional: target, test_size, l2, max_iter, accept_flagged, fixed_seed)",
        );
    };
    bulk(move || {
        s.call("/v1/models/train", &headers, |v, cx| {
            let m = v.train(cx, &t.to_request()?)?;
            Ok((StatusCode::CREATED, axum::Json(api::TrainResponse::from(&m))).into_response())
        })
    })
    .await
    .unwrap_or_else(stopped)
}

/// The query of `POST /v1/models/{name}/import`.
#[derive(serde::Deserialize)]
struct ImportQuery {
    dataset: String,
    #[serde(default)]
    accept_flagged: bool,
}

/// `POST /v1/models/{name}/import`: the body is the model file.
async fn import(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Response {
    blocking(move || {
        s.call("/v1/models/{name}/import", &headers, |v, cx| {
            let req = mlguard_vault::ImportRequest {
                name: name.clone(),
                dataset: q.dataset.clone(),
                accept_flagged: q.accept_flagged,
            };
            let (record, model) = v.import_model(cx, &body, &req)?;
            Ok((StatusCode::CREATED, axum::Json(api::ModelDescription::from((&record, &model))))
                .into_response())
        })
    })
    .await
}

/// `POST /v1/models/{name}/export`: without a body, the plaintext safetensors; with an
/// [`api::ExportRequest`], the model and its OpenSSF signature bundle as JSON.
async fn export(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signed = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<api::ExportRequest>(&body) {
            Ok(r) => Some(r.signed_for),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "expected no body, or {\"signed_for\": \"DIRECTORY NAME\"}",
                );
            }
        }
    };
    blocking(move || {
        s.call("/v1/models/{name}/export", &headers, |v, cx| match &signed {
            None => {
                let (_, model) = v.export_model(cx, &name)?;
                Ok(([(header::CONTENT_TYPE, "application/octet-stream")], model.to_safetensors())
                    .into_response())
            }
            Some(dir) => {
                let e = v.export_signed(cx, &name, dir)?;
                Ok(axum::Json(api::ModelExport::from(&e)).into_response())
            }
        })
    })
    .await
}

#[derive(serde::Deserialize)]
struct Since {
    from: Option<u64>,
}

async fn audit_entries(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<Since>,
) -> Response {
    blocking(move || {
        s.call("/v1/audit/entries", &headers, |v, cx| {
            let mut text = String::new();
            for entry in v.audit_entries(cx, q.from.unwrap_or(0))? {
                text.push_str(&entry);
                text.push('\n');
            }
            Ok(([(header::CONTENT_TYPE, "application/jsonl")], text).into_response())
        })
    })
    .await
}

async fn audit_checkpoint(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/audit/checkpoint", &headers, |v, cx| {
            let note = v.audit_checkpoint(cx)?;
            Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
        })
    })
    .await
}

async fn audit_proof(
    State(s): State<Arc<AppState>>,
    Path(index): Path<u64>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.call("/v1/audit/proof/{index}", &headers, |v, cx| Ok(json_ok(v.audit_proof(cx, index)?)))
    })
    .await
}

#[derive(serde::Deserialize)]
struct From {
    from: u64,
}

async fn audit_consistency(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<From>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "expected ?from=N (a tree size)");
    };
    blocking(move || {
        s.call("/v1/audit/consistency", &headers, |v, cx| {
            Ok(json_ok(v.audit_consistency(cx, q.from)?))
        })
    })
    .await
}

async fn audit_verify(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/audit/verify", &headers, |v, cx| {
            let r: api::AuditVerifyResponse = v.verify_audit(cx)?.into();
            Ok(axum::Json(r).into_response())
        })
    })
    .await
}

/// The handler of a route of [`ROUTES`].
fn handler(method: &str, path: &str) -> Option<axum::routing::MethodRouter<Arc<AppState>>> {
    Some(match (method, path) {
        ("get", "/healthz") => get(healthz),
        ("get", "/metrics") => get(metrics),
        ("get", "/openapi.json") => get(openapi),
        ("get", "/v1/datasets") => get(list_datasets),
        ("post", "/v1/datasets/{name}") => post(datasets::upload),
        ("get", "/v1/datasets/{name}") => get(datasets::metadata),
        ("get", "/v1/datasets/{name}/data") => get(datasets::download),
        ("get", "/v1/models") => get(list_models),
        ("get", "/v1/models/{name}") => get(inspect_model),
        ("post", "/v1/models/train") => post(train),
        ("post", "/v1/models/{name}/predict") => post(predict),
        ("post", "/v1/models/{name}/import") => post(import),
        ("post", "/v1/models/{name}/export") => post(export),
        ("get", "/v1/audit/entries") => get(audit_entries),
        ("get", "/v1/audit/checkpoint") => get(audit_checkpoint),
        ("get", "/v1/audit/proof/{index}") => get(audit_proof),
        ("get", "/v1/audit/consistency") => get(audit_consistency),
        ("post", "/v1/audit/verify") => post(audit_verify),
        ("get", "/v1/admin/users") => get(admin::list_users),
        ("post", "/v1/admin/users") => post(admin::add_user),
        ("post", "/v1/admin/users/{name}/disable") => post(admin::disable_user),
        ("post", "/v1/admin/users/{name}/mfa") => post(admin::enroll_mfa),
        ("get", "/v1/admin/tokens") => get(admin::list_tokens),
        ("post", "/v1/admin/tokens") => post(admin::create_token),
        ("delete", "/v1/admin/tokens/{id}") => delete(admin::revoke_token),
        ("get", "/v1/admin/roles") => get(admin::get_roles),
        ("put", "/v1/admin/roles") => put(admin::put_roles),
        _ => return None,
    })
}

/// Body limit and timeout of a route: uploads and downloads of datasets may be large and
/// slow; everything else gets [`MAX_BODY_BYTES`] and [`REQUEST_TIMEOUT`].
fn limits(method: &str, path: &str) -> (usize, Duration) {
    match (method, path) {
        ("post", "/v1/datasets/{name}") => (MAX_UPLOAD_BYTES, TRANSFER_TIMEOUT),
        ("get", "/v1/datasets/{name}/data") => (MAX_BODY_BYTES, TRANSFER_TIMEOUT),
        _ => (MAX_BODY_BYTES, REQUEST_TIMEOUT),
    }
}

/// The application: the routes of [`ROUTES`] (and only those, so the OpenAPI document
/// describes every endpoint), each with its body limit and timeout ([`limits`]).
pub fn router(state: Arc<AppState>) -> Router {
    let mut by_path: Vec<(&str, axum::routing::MethodRouter<Arc<AppState>>)> = Vec::new();
    for (method, path, _, _) in ROUTES {
        let Some(h) = handler(method, path) else { continue };
        let (body, timeout) = limits(method, path);
        let h = h
            .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(body))
            .layer::<_, std::convert::Infallible>(
            tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            ),
        );
        match by_path.iter_mut().find(|(p, _)| p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(h),
            None => by_path.push((path, h)),
        }
    }
    let mut app = Router::new();
    for (path, h) in by_path {
        app = app.route(path, h);
    }
    // The console's pages answer in HTML, with headers of their own.
    app.layer(axum::middleware::map_response(json_errors)).merge(ui::router()).with_state(state)
}

/// Every error is JSON ([`api::ErrorBody`]), including those of the HTTP layer itself (a
/// path or query that does not parse, a body too large, a timeout), as the document says.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        _ => "error",
    };
    let message = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        t => t.to_owned(),
    };
    let mut out = error(status, code, message);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// A TLS certificate and key (DER).
pub struct Certificate {
    /// The certificate.
    pub cert_der: Vec<u8>,
    /// The private key.
    pub key_der: Vec<u8>,
    /// How the key is encoded: PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE
    /// KEY`, what `openssl genrsa` and many certificate tools write) or SEC1 (`BEGIN EC
    /// PRIVATE KEY`).
    pub key_format: KeyFormat,
}

/// The encoding of a TLS private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// PKCS#8, any algorithm.
    Pkcs8,
    /// PKCS#1, RSA.
    Pkcs1,
    /// SEC1, elliptic curve.
    Sec1,
}

impl Certificate {
    /// A self-signed certificate for `localhost`, `127.0.0.1` and `::1` (development).
    pub fn self_signed() -> Result<Certificate, ServeError> {
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        let c = rcgen::generate_simple_self_signed(names)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        Ok(Certificate {
            cert_der: c.cert.der().to_vec(),
            key_der: c.key_pair.serialize_der(),
            key_format: KeyFormat::Pkcs8,
        })
    }

    /// From PEM files (the first certificate and the private key).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Certificate, ServeError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let pem_error = |what: &str, e: rustls::pki_types::pem::Error| {
            ServeError::Tls(match e {
                rustls::pki_types::pem::Error::NoItemsFound => format!(
                    "the {what} file holds no PEM {what} (a `-----BEGIN {}-----` block)",
                    if what == "certificate" { "CERTIFICATE" } else { "PRIVATE KEY" }
                ),
                other => format!("the {what} file: {other:?}"),
            })
        };
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| pem_error("certificate", e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| pem_error("private key", e))?;
        let key_format = match &key {
            PrivateKeyDer::Pkcs8(_) => KeyFormat::Pkcs8,
            PrivateKeyDer::Pkcs1(_) => KeyFormat::Pkcs1,
            PrivateKeyDer::Sec1(_) => KeyFormat::Sec1,
            _ => return Err(ServeError::Tls("the private key's format is not supported: convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in KEY -out key.pem`".into())),
        };
        let c =
            Certificate { cert_der: cert.to_vec(), key_der: key.secret_der().to_vec(), key_format };
        // Refused now, with what is wrong, rather than at the first connection.
        c.server_config()?;
        Ok(c)
    }

    /// The certificate as PEM (for clients to trust: `mlguard --ca-cert FILE`).
    pub fn cert_pem(&self) -> String {
        let b64 = mlguard_seal::b64(&self.cert_der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// The SHA-256 fingerprint of the certificate, colon-separated hex.
    pub fn fingerprint(&self) -> String {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.cert_der);
        d.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
    }

    /// A rustls client configuration that trusts this certificate only (for clients of a
    /// development server: the demo, tests).
    pub fn client_config(&self) -> Result<rustls::ClientConfig, ServeError> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(self.cert_der.clone()))
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServeError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// A rustls server configuration (TLS 1.2 and 1.3, aws-lc-rs).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, ServeError> {
        use rustls::pki_types::{
            CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer,
            PrivateSec1KeyDer,
        };
        let key = match self.key_format {
            KeyFormat::Pkcs8 => {
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
            }
            KeyFormat::Pkcs1 => {
                PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(self.key_der.clone()))
            }
            KeyFormat::Sec1 => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(self.key_der.clone())),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ServeError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(self.cert_der.clone())], key)
            .map_err(|e| {
                ServeError::Tls(match e {
                    rustls::Error::InconsistentKeys(_) => {
                        "the private key does not belong to the certificate".to_owned()
                    }
                    other => format!("the certificate and key: {other}"),
                })
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// A server started by [`start`], serving until [`Running::stop`].
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Stops it gracefully ([`serve`]'s shutdown) and waits until it has.
    pub async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))?
    }
}

/// Starts [`serve`] on a task and returns once it listens (for the demo and tests).
pub async fn start(
    state: Arc<AppState>,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
) -> Result<Running, ServeError> {
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        state,
        listen,
        tls,
        move |a| {
            let _ = addr_tx.send(a);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    match addr_rx.await {
        Ok(addr) => Ok(Running { addr, stop, task }),
        // It stopped before listening: its error says why.
        Err(_) => match task.await {
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => Err(ServeError::Io(std::io::Error::other("the server stopped at once"))),
            Err(e) => Err(ServeError::Io(std::io::Error::other(e.to_string()))),
        },
    }
}

/// Serves `state` on `listen` until `shutdown` completes, then finishes the requests in
/// flight (up to 10 s) and signs a checkpoint of the audit log. `tls: None` is plain HTTP,
/// refused unless `listen` is a loopback address. Calls `bound` with the bound address.
pub async fn serve(
    state: Arc<AppState>,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_app(router(Arc::clone(&state)), listen, tls, bound, shutdown).await?;
    let _ = state.checkpoint();
    Ok(())
}

/// Serves `app` on `listen` until `shutdown` completes (then up to 10 s for the requests
/// in flight); plain HTTP only on loopback.
async fn serve_app(
    app: Router,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if tls.is_none() && !listen.ip().is_loopback() {
        return Err(ServeError::NotLoopback(listen));
    }
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    bound(listener.local_addr()?);
    let service = app.into_make_service();
    match tls {
        Some(config) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
            axum_server::from_tcp_rustls(listener, rustls).handle(handle).serve(service).await?;
        }
        None => {
            axum_server::from_tcp(listener).handle(handle).serve(service).await?;
        }
    }
    Ok(())
}

/// Serves a witness of audit logs (C2SP tlog-witness): `POST /add-checkpoint`, answered
/// with a cosignature only for a checkpoint the log signed that extends the last one this
/// witness cosigned; `GET /healthz`.
pub async fn serve_witness(
    witness: Arc<mlguard_vault::witness::Witness>,
    listen: SocketAddr,
    tls: Option<rustls::ServerConfig>,
    bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    async fn add(State(w): State<Arc<mlguard_vault::witness::Witness>>, body: Bytes) -> Response {
        let Ok(text) = std::str::from_utf8(&body) else {
            return (StatusCode::BAD_REQUEST, "not UTF-8\n").into_response();
        };
        let text = text.to_owned();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let answered = blocking_value(move || w.add_checkpoint(&text, now)).await;
        match answered {
            Some(Ok(a)) => (
                StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, a.content_type)],
                a.body,
            )
                .into_response(),
            Some(Err(e)) => {
                eprintln!("witness: {}", mlguard_findings::terminal_safe(&e.to_string(), false));
                (StatusCode::INTERNAL_SERVER_ERROR, "the witness failed\n").into_response()
            }
            None => stopped(),
        }
    }
    let app = Router::new()
        .route("/add-checkpoint", post(add))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(128 << 10))
        .with_state(witness);
    serve_app(app, listen, tls, bound, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_route_has_a_handler() {
        for (method, path, _, _) in ROUTES {
            assert!(handler(method, path).is_some(), "{method} {path}");
        }
        let doc = openapi_document();
        assert_eq!(
            doc["paths"]
                .as_object()
                .map(|p| p.values().map(|m| m.as_object().map_or(0, |m| m.len())).sum::<usize>()),
            Some(ROUTES.len())
        );
    }
}
