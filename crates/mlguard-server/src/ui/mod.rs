//! The web console at `/ui/`: server-rendered pages for auditors, data stewards and
//! admins, behind the same TLS, tokens, roles, TOTP codes and audit log as the API.
//!
//! - **Pages** are HTML written by [`maud`] templates compiled into the binary: every value
//!   from the vault is escaped as it is interpolated. No script at all; the stylesheet is
//!   one file served from here. Charts are SVG drawn on the server.
//! - **Headers**: a Content-Security-Policy that allows only this origin's stylesheet and
//!   images (no script, no inline style, no other origin, no framing), `nosniff`, no
//!   referrer, no caching.
//! - **Sessions**: signing in with a token (and a TOTP code where the policy asks for one,
//!   `console.sign-in`) starts a session whose random id is the only thing the browser
//!   keeps, in a `__Host-` cookie (`HttpOnly`, `Secure`, `SameSite=Strict`); the server
//!   keeps only the id's SHA-256. A session ends when signed out, after
//!   [`SESSION_IDLE`] unused or [`SESSION_MAX`] in all, or when its token stops
//!   authenticating (revoked, expired, user disabled: checked on every page).
//! - **Forgery**: every form that changes anything carries the session's anti-forgery
//!   token, compared in constant time; the sign-in form carries one bound to a cookie of
//!   its own. A post without it is refused and recorded.
//! - **Policy and audit**: each page asks the vault for what it shows through the same
//!   operations as the API, with the session holder's token: allowed or refused by the
//!   policy, and recorded, before anything is shown.

mod chart;
mod pages;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use mlguard_vault::identity::{Action, AuthError};
use mlguard_vault::{Actor, Ctx, Vault, VaultError};
use zeroize::Zeroizing;

use crate::{AppState, blocking, request_id};
use pages::Answer;

/// A session unused this long ends.
pub const SESSION_IDLE: Duration = Duration::from_secs(15 * 60);
/// A session ends this long after sign-in, used or not.
pub const SESSION_MAX: Duration = Duration::from_secs(8 * 3600);
/// The session cookie (`__Host-`: only over HTTPS, for this host, path `/`).
const SESSION_COOKIE: &str = "__Host-mlguard-session";
/// The sign-in form's anti-forgery cookie.
const SIGN_IN_COOKIE: &str = "__Host-mlguard-sign-in";
/// Most sessions at once; the oldest is ended to make room.
const MAX_SESSIONS: usize = 10_000;

/// What every console answer carries.
const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's sessions.
pub(crate) struct Console {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    idle_ms: AtomicU64,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            sessions: Mutex::default(),
            idle_ms: AtomicU64::new(SESSION_IDLE.as_millis() as u64),
        }
    }
}

struct Session {
    /// The token signed in with: every page authenticates it again (revocation ends the
    /// session).
    token: Zeroizing<String>,
    csrf: String,
    started: Instant,
    seen: Instant,
}

/// A page's visitor: the request's context, with the session's anti-forgery token.
pub(crate) struct Visit {
    pub(crate) cx: Ctx,
    pub(crate) user: String,
    pub(crate) role: String,
    pub(crate) csrf: String,
}

fn key(id: &str) -> [u8; 32] {
    let mut k = [0u8; 32];
    k.copy_from_slice(digest(&SHA256, id.as_bytes()).as_ref());
    k
}

fn random_hex() -> Result<String, VaultError> {
    Ok(mlguard_seal::hex(&mlguard_seal::random::<32>()?))
}

/// Whether two anti-forgery tokens are the same (constant time; empty never matches).
fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A cookie's value in the request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, clear: bool) -> (header::HeaderName, String) {
    let age = if clear { "; Max-Age=0" } else { "" };
    (header::SET_COOKIE, format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict{age}"))
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Why a visitor is sent to sign in.
fn to_sign_in(why: &str) -> Response {
    see_other(&format!("/ui/sign-in?why={why}"))
}

impl Console {
    /// Ends sessions past their time; returns the ones that expired (their tokens, to
    /// record).
    fn expire(&self, now: Instant) -> Vec<Zeroizing<String>> {
        let idle = Duration::from_millis(self.idle_ms.load(Ordering::Relaxed));
        let Ok(mut s) = self.sessions.lock() else { return Vec::new() };
        let dead: Vec<[u8; 32]> = s
            .iter()
            .filter(|(_, v)| now - v.seen > idle || now - v.started > SESSION_MAX)
            .map(|(k, _)| *k)
            .collect();
        dead.iter().filter_map(|k| s.remove(k)).map(|v| v.token).collect()
    }
}

impl AppState {
    /// Sessions unused for `idle` end (default [`SESSION_IDLE`]).
    pub fn set_session_idle(&self, idle: Duration) {
        self.console.idle_ms.store(idle.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    /// The context of a token's holder (a refused token is an actor too: what it asks for
    /// is denied and recorded).
    fn token_context(&self, token: &str, headers: &HeaderMap) -> Result<Ctx, VaultError> {
        let actor = match self.vault.authenticate(token)? {
            Ok(who) => Actor::Token(who),
            Err(refused) => Actor::Refused(refused),
        };
        Ok(Ctx::new(actor, request_id(headers)))
    }

    /// The visitor of a console page: their session, still in time and whose token still
    /// authenticates; else where to send them.
    fn visit(&self, headers: &HeaderMap) -> Result<Visit, Response> {
        let now = Instant::now();
        for token in self.console.expire(now) {
            if let Ok(cx) = self.token_context(&token, headers) {
                let _ = self.vault.console_sign_out(&cx, "expired");
            }
        }
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Err(to_sign_in("none"));
        };
        let k = key(id);
        let (token, csrf) = {
            let Ok(mut s) = self.console.sessions.lock() else {
                return Err(to_sign_in("none"));
            };
            let Some(session) = s.get_mut(&k) else { return Err(to_sign_in("expired")) };
            session.seen = now;
            (session.token.clone(), session.csrf.clone())
        };
        let cx = self.token_context(&token, headers).map_err(|e| self.failure(&e, headers))?;
        match cx.principal().cloned() {
            Some(who) => Ok(Visit { cx, user: who.user, role: who.role, csrf }),
            None => {
                if let Ok(mut s) = self.console.sessions.lock() {
                    s.remove(&k);
                }
                let _ = self.vault.console_sign_out(&cx, "token-refused");
                Err(to_sign_in("token"))
            }
        }
    }

    /// A page of the console: `body` asks the vault (allowed, refused and recorded there)
    /// for what it shows; nothing is shown before its audit entries are durable.
    pub(crate) fn page(
        &self,
        headers: &HeaderMap,
        title: &str,
        body: impl FnOnce(&Vault, &Visit) -> Result<Answer, VaultError>,
    ) -> Response {
        let visit = match self.visit(headers) {
            Ok(v) => v,
            Err(r) => return r,
        };
        self.answer(visit, title, body)
    }

    fn answer(
        &self,
        visit: Visit,
        title: &str,
        body: impl FnOnce(&Vault, &Visit) -> Result<Answer, VaultError>,
    ) -> Response {
        let result = body(&self.vault, &visit);
        let (status, content) = match self.vault.sync().map(|()| result) {
            Ok(Ok(Answer::Page(m))) => (StatusCode::OK, m),
            Ok(Ok(Answer::File(r))) => return r,
            Ok(Err(e)) | Err(e) => refusal(&e, visit.cx.request_id()),
        };
        let markup = layout(&self.vault, Some(&visit), title, content);
        (status, html_response(markup)).into_response()
    }

    /// A form's post: refused (and recorded as a refusal of `action` on `object`) unless
    /// it carries the session's anti-forgery token; then as [`AppState::page`].
    pub(crate) fn post(
        &self,
        headers: &HeaderMap,
        csrf: &str,
        (action, object): (Action, &str),
        title: &str,
        body: impl FnOnce(&Vault, &Visit) -> Result<Answer, VaultError>,
    ) -> Response {
        let visit = match self.visit(headers) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if !same(csrf, &visit.csrf) {
            let reason = "the form did not carry this session's anti-forgery token";
            let refused = self.vault.refuse(&visit.cx, action, object, reason);
            let recorded = match refused {
                VaultError::Refused(_) => Ok(()),
                e => Err(e),
            };
            let content = match recorded.and_then(|()| self.vault.sync()) {
                Ok(()) => html! {
                    section.refused {
                        h2 { "Refused" }
                        p { "This form did not come from this session's page (no anti-forgery token). The refusal was recorded. Open the page again and resubmit." }
                    }
                },
                Err(e) => refusal(&e, visit.cx.request_id()).1,
            };
            let markup = layout(&self.vault, Some(&visit), title, content);
            return (StatusCode::FORBIDDEN, html_response(markup)).into_response();
        }
        self.answer(visit, title, body)
    }

    fn failure(&self, e: &VaultError, headers: &HeaderMap) -> Response {
        let (status, content) = refusal(e, &request_id(headers));
        (status, html_response(layout(&self.vault, None, "Error", content))).into_response()
    }
}

/// How a vault error is shown: its status and a panel saying what was refused and why.
/// Internal failures (which may name the server's paths) say only the request id.
pub(crate) fn refusal(e: &VaultError, request_id: &str) -> (StatusCode, Markup) {
    let status = crate::error::AppError::vault(e, request_id).status();
    let message = match e {
        VaultError::Denied(AuthError::MfaRequired(_)) => {
            format!("{e}: enter a code from your authenticator app in the form and submit again")
        }
        _ if status == StatusCode::INTERNAL_SERVER_ERROR
            && !matches!(e, VaultError::Tampered(_)) =>
        {
            format!("internal error: the server's log has the details (request id {request_id})")
        }
        _ => e.to_string(),
    };
    let title = match e {
        VaultError::Denied(_) => "Refused",
        VaultError::NotFound(_) => "Not found",
        _ => "Failed",
    };
    (
        status,
        html! {
            section.refused {
                h2 { (title) }
                p { (message) }
                p.small { "Request " code { (request_id) } "; this decision is in the audit log." }
            }
        },
    )
}

fn html_response(markup: Markup) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string())
}

/// The console's sections: link, title and the action that lets a role see it (a role
/// whose policy does not allow it is refused the page, and the refusal recorded).
pub const SECTIONS: [(&str, &str, Action); 4] = [
    ("/ui/datasets", "Datasets", Action::DatasetList),
    ("/ui/models", "Models", Action::ModelList),
    ("/ui/audit", "Audit log", Action::AuditRead),
    ("/ui/admin", "Admin", Action::UserManage),
];

/// A page around `content`: the sections the visitor's role may see, who is signed in,
/// and the sign-out form.
fn layout(vault: &Vault, visit: Option<&Visit>, title: &str, content: Markup) -> Markup {
    let sections: Vec<(&str, &str)> = match visit {
        Some(v) => SECTIONS
            .iter()
            .filter(|(_, _, a)| vault.may(v.cx.actor(), *a).unwrap_or(false))
            .map(|(href, name, _)| (*href, *name))
            .collect(),
        None => Vec::new(),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mlguard" }
                link rel="stylesheet" href="/ui/console.css";
            }
            body {
                header {
                    a.brand href="/ui/" { "mlguard" }
                    nav {
                        @for (href, name) in &sections {
                            a href=(href) class=[(*name == title).then_some("current")] { (name) }
                        }
                    }
                    @if let Some(v) = visit {
                        form.who method="post" action="/ui/sign-out" {
                            span { (v.user) " · " (v.role) }
                            input type="hidden" name="csrf" value=(v.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// Adds the console's security headers to every answer under `/ui/`.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("cache-control", "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("console.css"))
        .into_response()
}

/// `/ui/`: the first section the visitor may see.
async fn home(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || match s.visit(&headers) {
        Err(r) => r,
        Ok(v) => {
            let viewed = s.vault.console_view(&v.cx, "/ui/").and_then(|()| s.vault.sync());
            if let Err(e) = viewed {
                let (status, content) = refusal(&e, v.cx.request_id());
                return (status, html_response(layout(&s.vault, Some(&v), "mlguard", content)))
                    .into_response();
            }
            let first =
                SECTIONS.iter().find(|(_, _, a)| s.vault.may(v.cx.actor(), *a).unwrap_or(false));
            match first {
                Some((href, _, _)) => see_other(href),
                None => {
                    let content = html! {
                        p { "Your role (" (v.role) ") may see none of the console's pages." }
                    };
                    html_response(layout(&s.vault, Some(&v), "mlguard", content)).into_response()
                }
            }
        }
    })
    .await
}

/// Any other address under `/ui/`: an HTML answer, with the console's headers.
async fn not_found() -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Not found · mlguard" } link rel="stylesheet" href="/ui/console.css"; }
            body { header { a.brand href="/ui/" { "mlguard" } } main { h1 { "Not found" } p { "The console has no such page." } } }
        }
    };
    (StatusCode::NOT_FOUND, html_response(markup)).into_response()
}

#[derive(serde::Deserialize, Default)]
struct Why {
    why: Option<String>,
}

/// The sign-in page, with a fresh anti-forgery token bound to a cookie of its own.
fn sign_in_page(status: StatusCode, message: Option<&str>) -> Response {
    let token = match random_hex() {
        Ok(t) => t,
        Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "no randomness").into_response(),
    };
    let content = html! {
        @if let Some(m) = message {
            p.notice { (m) }
        }
        form.sign-in method="post" action="/ui/sign-in" {
            input type="hidden" name="csrf" value=(token);
            label { "API token" input type="password" name="token" autocomplete="off" required; }
            label { "TOTP code (if your role needs one)" input type="text" name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6"; }
            button type="submit" { "Sign in" }
        }
        p.small { "Signing in is recorded in the vault's audit log, and so is every page you open." }
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign in · mlguard" }
                link rel="stylesheet" href="/ui/console.css";
            }
            body { header { a.brand href="/ui/" { "mlguard" } } main { h1 { "Sign in" } (content) } }
        }
    };
    (status, [set_cookie(SIGN_IN_COOKIE, &token, false)], html_response(markup)).into_response()
}

async fn sign_in_form(Query(q): Query<Why>) -> Response {
    let message = match q.why.as_deref() {
        Some("expired") => Some("Your session ended. Sign in again."),
        Some("signed-out") => Some("You are signed out."),
        Some("token") => {
            Some("Your token no longer authenticates (revoked, expired or its user disabled).")
        }
        _ => None,
    };
    sign_in_page(StatusCode::OK, message)
}

#[derive(serde::Deserialize)]
struct SignIn {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: Zeroizing<String>,
    #[serde(default)]
    totp: String,
}

async fn sign_in(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    form: axum::extract::Form<SignIn>,
) -> Response {
    let form = form.0;
    blocking(move || {
        let bound = cookie(&headers, SIGN_IN_COOKIE).unwrap_or("");
        let cx = match s.token_context(&form.token, &headers) {
            Ok(cx) => cx,
            Err(e) => return s.failure(&e, &headers),
        };
        if !same(&form.csrf, bound) {
            let reason = "the sign-in form did not carry its anti-forgery token";
            let _ = s.vault.refuse(&cx, Action::ConsoleSignIn, "console", reason);
            let _ = s.vault.sync();
            return sign_in_page(
                StatusCode::FORBIDDEN,
                Some("This sign-in did not come from this server's form. Try again."),
            );
        }
        let totp = form.totp.trim();
        let cx = cx.with_totp((!totp.is_empty()).then_some(totp));
        let signed = s.vault.console_sign_in(&cx).and_then(|()| s.vault.sync());
        if let Err(e) = signed {
            let (status, _) = refusal(&e, cx.request_id());
            let message = match &e {
                VaultError::Denied(AuthError::MfaRequired(_)) => {
                    "Your role needs a TOTP code to sign in: enter one from your authenticator app."
                        .to_owned()
                }
                VaultError::Denied(a) => format!("Refused: {a}."),
                _ => "The server could not sign you in; its log has the details.".to_owned(),
            };
            return sign_in_page(status, Some(&message));
        }
        let (id, csrf) = match (random_hex(), random_hex()) {
            (Ok(i), Ok(c)) => (i, c),
            _ => return sign_in_page(StatusCode::SERVICE_UNAVAILABLE, Some("No randomness.")),
        };
        let now = Instant::now();
        if let Ok(mut sessions) = s.console.sessions.lock() {
            // A session this browser had before ends: a sign-in never keeps an old id.
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                sessions.remove(&key(old));
            }
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions.iter().min_by_key(|(_, v)| v.seen).map(|(k, _)| *k)
            {
                sessions.remove(&oldest);
            }
            let session = Session { token: form.token.clone(), csrf, started: now, seen: now };
            sessions.insert(key(&id), session);
        }
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/ui/".to_owned())],
            // Appended: two cookies (an array of pairs would keep only the last).
            AppendHeaders([
                set_cookie(SESSION_COOKIE, &id, false),
                set_cookie(SIGN_IN_COOKIE, "", true),
            ]),
        )
            .into_response()
    })
    .await
}

#[derive(serde::Deserialize)]
pub(crate) struct Csrf {
    #[serde(default)]
    pub(crate) csrf: String,
}

async fn sign_out(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    form: axum::extract::Form<Csrf>,
) -> Response {
    blocking(move || {
        let visit = match s.visit(&headers) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if !same(&form.csrf, &visit.csrf) {
            let reason = "the sign-out form did not carry this session's anti-forgery token";
            let _ = s.vault.refuse(&visit.cx, Action::ConsoleSignIn, "console", reason);
            let _ = s.vault.sync();
            return (StatusCode::FORBIDDEN, "refused: no anti-forgery token").into_response();
        }
        if let (Some(id), Ok(mut sessions)) =
            (cookie(&headers, SESSION_COOKIE), s.console.sessions.lock())
        {
            sessions.remove(&key(id));
        }
        let _ = s.vault.console_sign_out(&visit.cx, "sign-out");
        let _ = s.vault.sync();
        (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/ui/sign-in?why=signed-out".to_owned()),
                set_cookie(SESSION_COOKIE, "", true),
            ],
        )
            .into_response()
    })
    .await
}

/// The console's routes, under `/ui/`, each answer with [`security_headers`].
pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/ui", get(|| async { see_other("/ui/") }))
        .route("/ui/", get(home))
        .route("/ui/console.css", get(stylesheet))
        .route("/ui/sign-in", get(sign_in_form).post(sign_in))
        .route("/ui/sign-out", post(sign_out))
        .merge(pages::router())
        .route("/ui/{*rest}", get(not_found))
        .layer(axum::middleware::map_response(security_headers))
}
