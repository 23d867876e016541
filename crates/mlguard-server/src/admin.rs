//! Administration over HTTP: users, tokens, second factors and the policy (roles). Every
//! one of these needs a fresh TOTP code under the default policy.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mlguard_vault::api::{
    EnrollMfa, MfaEnrolled, NewToken, NewUser, TokenCreated, TokenRevoked, UserAdded, UserDisabled,
};
use mlguard_vault::identity::{Policy, TotpAlg};

use crate::{AppState, blocking, error, json_ok};

fn created(v: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, axum::Json(v)).into_response()
}

/// `GET /v1/admin/users`.
pub(crate) async fn list_users(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/admin/users", &headers, |v, cx| {
            Ok(axum::Json(crate::api::UserList { users: v.users(cx)? }).into_response())
        })
    })
    .await
}

/// `POST /v1/admin/users`.
pub(crate) async fn add_user(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(u) = serde_json::from_slice::<NewUser>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected {\"name\": ..., \"role\": ...}",
        );
    };
    blocking(move || {
        s.call("/v1/admin/users", &headers, |v, cx| {
            v.add_user(cx, &u.name, &u.role)?;
            Ok(created(UserAdded { name: u.name, role: u.role }))
        })
    })
    .await
}

/// `POST /v1/admin/users/{name}/disable`.
pub(crate) async fn disable_user(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.call("/v1/admin/users/{name}/disable", &headers, |v, cx| {
            v.disable_user(cx, &name)?;
            Ok(axum::Json(UserDisabled { name, disabled: true }).into_response())
        })
    })
    .await
}

/// `POST /v1/admin/users/{name}/mfa`: a fresh TOTP secret; the `otpauth://` URI is in
/// this response only.
pub(crate) async fn enroll_mfa(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let e = if body.is_empty() {
        Ok(EnrollMfa::default())
    } else {
        serde_json::from_slice::<EnrollMfa>(&body)
    };
    let alg = match e.as_ref().map(|e| e.alg.as_deref()) {
        Ok(None) => TotpAlg::Sha1,
        Ok(Some(a)) => match TotpAlg::parse(a) {
            Some(alg) => alg,
            None => {
                return error(StatusCode::BAD_REQUEST, "bad_request", "alg is sha1 or sha256");
            }
        },
        Err(_) => {
            return error(StatusCode::BAD_REQUEST, "bad_request", "expected {\"alg\": \"sha1\"}");
        }
    };
    blocking(move || {
        s.call("/v1/admin/users/{name}/mfa", &headers, |v, cx| {
            let uri = v.enroll_mfa(cx, &name, alg)?;
            Ok(created(MfaEnrolled { name, otpauth: uri.as_str().to_owned() }))
        })
    })
    .await
}

/// `GET /v1/admin/tokens`: ids, owners and states (never a token).
pub(crate) async fn list_tokens(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/admin/tokens", &headers, |v, cx| {
            Ok(axum::Json(crate::api::TokenList { tokens: v.tokens(cx)? }).into_response())
        })
    })
    .await
}

/// `POST /v1/admin/tokens`: the token is in this response only.
pub(crate) async fn create_token(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let t = match serde_json::from_slice::<NewToken>(&body) {
        Ok(t) if t.ttl_secs.is_none_or(|s| s > 0) => t,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "expected {\"user\": ..., \"ttl_secs\": N (optional, > 0)}",
            );
        }
    };
    blocking(move || {
        s.call("/v1/admin/tokens", &headers, |v, cx| {
            let (id, token) = v.create_token(cx, &t.user, t.ttl_secs)?;
            Ok(created(TokenCreated { id, user: t.user, token: token.as_str().to_owned() }))
        })
    })
    .await
}

/// `DELETE /v1/admin/tokens/{id}`.
pub(crate) async fn revoke_token(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.call("/v1/admin/tokens/{id}", &headers, |v, cx| {
            v.revoke_token(cx, &id)?;
            Ok(axum::Json(TokenRevoked { id, revoked: true }).into_response())
        })
    })
    .await
}

/// `GET /v1/admin/roles`: the policy.
pub(crate) async fn get_roles(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.call("/v1/admin/roles", &headers, |v, cx| {
            Ok(json_ok(serde_json::to_value(&*v.read_policy(cx)?).unwrap_or_default()))
        })
    })
    .await
}

/// `PUT /v1/admin/roles`: replaces the policy (checked first: known roles, patterns that
/// match an action).
pub(crate) async fn put_roles(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = match serde_json::from_slice::<Policy>(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("expected a policy {{\"roles\": {{...}}, \"mfa\": [...]}}: {e}"),
            );
        }
    };
    blocking(move || {
        s.call("/v1/admin/roles", &headers, |v, cx| {
            v.set_policy(cx, &p)?;
            Ok(json_ok(serde_json::to_value(&p).unwrap_or_default()))
        })
    })
    .await
}
