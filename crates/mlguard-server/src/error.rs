//! The one error type of the HTTP layer: every failure becomes an [`ErrorBody`] with a
//! status, in one place. A vault failure keeps its code ([`VaultError::code`]); refusals
//! say what was refused; internal failures (which may name the server's paths) tell the
//! client only the request id, and the details go to the server's log under it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mlguard_vault::VaultError;
use mlguard_vault::api::ErrorBody;
use mlguard_vault::identity::AuthError;

/// An error answer.
#[derive(Debug)]
pub(crate) struct AppError {
    status: StatusCode,
    body: ErrorBody,
    retry_after: Option<i64>,
}

impl AppError {
    /// An answer of the HTTP layer itself (a malformed request, an upload cut short).
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> AppError {
        let body = ErrorBody {
            error: code.into(),
            message: message.into(),
            report: None,
            request_id: None,
        };
        AppError { status, body, retry_after: None }
    }

    /// The status it answers with.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// A vault operation's failure in the request `request_id`.
    pub(crate) fn vault(e: &VaultError, request_id: &str) -> AppError {
        let code = e.code();
        let (status, message) = match e {
            VaultError::Denied(a) => (
                match a {
                    AuthError::Forbidden { .. } => StatusCode::FORBIDDEN,
                    AuthError::MfaLocked(_) => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::UNAUTHORIZED,
                },
                match a {
                    AuthError::NoToken => format!("{a}: send `Authorization: Bearer mlg_...`"),
                    AuthError::MfaRequired(_) => {
                        format!("{a}: send it in the X-MLGuard-TOTP header")
                    }
                    _ => a.to_string(),
                },
            ),
            VaultError::AuditUnavailable(_) | VaultError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            VaultError::NotFound(_) => (StatusCode::NOT_FOUND, e.to_string()),
            VaultError::Conflict(_) => (StatusCode::CONFLICT, e.to_string()),
            e if e.is_refusal() || code == "bad_input" => {
                (StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            // Integrity failures name the vault's objects, never its paths.
            VaultError::Tampered(_) | VaultError::Seal(mlguard_seal::SealError::Crypto) => {
                (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
            // The rest (I/O, the catalog, configuration, internal failures) may name the
            // server's paths: the details go to the server's log under the request id.
            _ => {
                eprintln!(
                    "error [request {request_id}]: {}",
                    mlguard_findings::terminal_safe(&e.to_string(), false)
                );
                let mut out = AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!(
                        "internal error: the server's log has the details (request id {request_id})"
                    ),
                );
                out.body.request_id = Some(request_id.to_owned());
                return out;
            }
        };
        let mut out = AppError::new(status, code, message);
        if let VaultError::Invalid(r) | VaultError::Poisoned(r) = e {
            out.body.report = serde_json::to_value(&**r).ok();
        }
        if let VaultError::Denied(AuthError::MfaLocked(secs)) = e {
            out.retry_after = Some(*secs);
        }
        out
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        if let Some(v) = self.retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}
