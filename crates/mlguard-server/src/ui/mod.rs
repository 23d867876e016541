//! The web console at `/ui/`: server-rendered pages for auditors, data stewards and
//! admins, behind the same TLS, tokens, roles, TOTP codes and audit log as the API.
//!
//! - **Pages** are HTML written by [`maud`] templates compiled into the binary: every value
//!   from the vault is escaped as it is interpolated. No script at all; the stylesheet is
//!   one file served from here. Charts are inline SVG drawn on the server.
//! - **Headers**: a Content-Security-Policy that allows only this origin's stylesheet (no
//!   script, no inline style, no image, no other origin, no framing), `nosniff`, no
//!   referrer, no caching.
//! - **Sessions**: signing in with a token (and a TOTP code where the policy asks for one,
//!   `console.sign-in`) starts a session whose random id is the only thing the browser
//!   keeps, in a `__Host-` cookie (`HttpOnly`, `Secure`, `SameSite=Strict`); the server
//!   keeps only the id's SHA-256. A session ends when signed out, after [`SESSION_IDLE`]
//!   unused or [`SESSION_MAX`] in all, or when its token stops authenticating (revoked,
//!   expired, user disabled) or its role loses the console: checked on every page.
//! - **Forgery**: every form that changes anything or reveals a secret carries the
//!   session's anti-forgery token, compared in constant time; the sign-in form carries one
//!   bound to a cookie of its own. A post without it is refused and recorded.
//! - **Policy and audit**: each page asks the vault for what it shows through the same
//!   operations as the API, with the session holder's token: allowed or refused by the
//!   policy, and recorded, before anything is shown.

mod chart;
mod pages;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
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
/// Most sessions at once: a sign-in beyond them is refused (none is ended to make room).
pub const MAX_SESSIONS: usize = 10_000;
/// Most sessions of one token: its oldest ends when it signs in again beyond them.
pub const MAX_SESSIONS_PER_TOKEN: usize = 8;
/// The session cookie (`__Host-`: only over HTTPS, for this host, path `/`).
const SESSION_COOKIE: &str = "__Host-mlguard-session";
/// The sign-in form's anti-forgery cookie.
const SIGN_IN_COOKIE: &str = "__Host-mlguard-sign-in";
/// Largest form the console accepts.
const MAX_FORM_BYTES: usize = 64 << 10;

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

/// A form's TOTP code, if one was entered.
pub(crate) fn code(field: &str) -> Option<&str> {
    Some(field.trim()).filter(|c| !c.is_empty())
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
    /// The sessions (a thread that panicked holding them left them whole: every change is
    /// one map operation).
    fn sessions(&self) -> MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends sessions past their time; returns their tokens, to record.
    fn expire(&self) -> Vec<Zeroizing<String>> {
        let idle = Duration::from_millis(self.idle_ms.load(Ordering::Relaxed));
        let now = Instant::now();
        let mut s = self.sessions();
        let dead: Vec<[u8; 32]> = s
            .iter()
            .filter(|(_, v)| {
                now.saturating_duration_since(v.seen) > idle
                    || now.saturating_duration_since(v.started) > SESSION_MAX
            })
            .map(|(k, _)| *k)
            .collect();
        dead.iter().filter_map(|k| s.remove(k)).map(|v| v.token).collect()
    }
}

/// A whole HTML page: `title`, what the header shows beside the brand, `content`.
fn document(title: &str, header: Markup, content: Markup) -> Markup {
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
                header { a.brand href="/ui/" { "mlguard" } (header) }
                main { h1 { (title) } (content) }
            }
        }
    }
}

fn show(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string())
        .into_response()
}

impl AppState {
    /// Sessions unused for `idle` end (default [`SESSION_IDLE`]).
    pub fn set_session_idle(&self, idle: Duration) {
        self.console.idle_ms.store(idle.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    /// The context of a token's holder in a request `id` (a refused token is an actor
    /// too: what it asks for is denied and recorded).
    fn token_context(&self, token: &str, id: String) -> Result<Ctx, VaultError> {
        let actor = match self.vault.authenticate(token)? {
            Ok(who) => Actor::Token(who),
            Err(refused) => Actor::Refused(refused),
        };
        Ok(Ctx::new(actor, id))
    }

    /// Records the end of the sessions that expired, each as a request of its own.
    fn record_expired(&self) {
        for token in self.console.expire() {
            if let Ok(cx) = self.token_context(&token, mlguard_vault::fresh_id()) {
                // Recorded as denied if the token or role was refused since: an error.
                let _ = self.vault.console_sign_out(&cx, "expired");
            }
        }
    }

    /// Ends a session because its holder may no longer use the console (`why`), records
    /// it, and sends them to sign in.
    fn end_session(&self, k: &[u8; 32], cx: &Ctx, why: &str) -> Response {
        self.console.sessions().remove(k);
        let recorded = match self.vault.console_sign_out(cx, why) {
            Ok(()) | Err(VaultError::Denied(_)) => self.vault.sync(),
            Err(e) => Err(e),
        };
        match recorded {
            Ok(()) => to_sign_in(why),
            Err(e) => self.failure(&e, cx.request_id()),
        }
    }

    /// The visitor of a console page: their session, still in time, whose token still
    /// authenticates and whose role may still use the console; else where to send them.
    fn visit(&self, headers: &HeaderMap) -> Result<Visit, Response> {
        self.record_expired();
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Err(to_sign_in("none"));
        };
        let k = key(id);
        let (token, csrf) = {
            let mut s = self.console.sessions();
            let Some(session) = s.get_mut(&k) else { return Err(to_sign_in("expired")) };
            session.seen = Instant::now();
            (session.token.clone(), session.csrf.clone())
        };
        let rid = request_id(headers);
        let cx = self.token_context(&token, rid.clone()).map_err(|e| self.failure(&e, &rid))?;
        let Some(who) = cx.principal().cloned() else {
            return Err(self.end_session(&k, &cx, "token-refused"));
        };
        match self.vault.may(cx.actor(), Action::ConsoleSignIn) {
            Ok(true) => Ok(Visit { cx, user: who.user, role: who.role, csrf }),
            Ok(false) => Err(self.end_session(&k, &cx, "role-refused")),
            Err(e) => Err(self.failure(&e, cx.request_id())),
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
        match self.visit(headers) {
            Ok(visit) => self.answer(visit, title, body),
            Err(r) => r,
        }
    }

    fn answer(
        &self,
        visit: Visit,
        title: &str,
        body: impl FnOnce(&Vault, &Visit) -> Result<Answer, VaultError>,
    ) -> Response {
        let result = body(&self.vault, &visit);
        match self.vault.sync().and(result) {
            Ok(Answer::Page(m)) => show(StatusCode::OK, self.layout(&visit, title, m)),
            Ok(Answer::File(r)) => r,
            Err(e) => self.refused(&visit, title, &e),
        }
    }

    /// `e` shown to the visitor, in the page they asked for.
    fn refused(&self, visit: &Visit, title: &str, e: &VaultError) -> Response {
        let (status, content) = refusal(e, visit.cx.request_id());
        show(status, self.layout(visit, title, content))
    }

    /// Records a form refused for want of its anti-forgery token, durably: the refusal to
    /// show, or why it could not be recorded.
    fn forged(&self, cx: &Ctx, action: Action, object: &str, what: &str) -> VaultError {
        let reason = format!("{what} did not carry its anti-forgery token");
        match self.vault.refuse(cx, action, object, &reason) {
            refused @ VaultError::Refused(_) => match self.vault.sync() {
                Ok(()) => refused,
                Err(e) => e,
            },
            e => e,
        }
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
        if same(csrf, &visit.csrf) {
            return self.answer(visit, title, body);
        }
        match self.forged(&visit.cx, action, object, "the form") {
            VaultError::Refused(_) => {
                let content = html! {
                    section.refused {
                        h2 { "Refused" }
                        p { "This form did not come from this session's page (no anti-forgery token). The refusal was recorded. Open the page again and resubmit." }
                    }
                };
                show(StatusCode::FORBIDDEN, self.layout(&visit, title, content))
            }
            e => self.refused(&visit, title, &e),
        }
    }

    /// An error before any session was found.
    fn failure(&self, e: &VaultError, request_id: &str) -> Response {
        let (status, content) = refusal(e, request_id);
        show(status, document("Error", html! {}, content))
    }

    /// A page around `content`: the sections the visitor's role may see, who is signed
    /// in, and the sign-out form.
    fn layout(&self, visit: &Visit, title: &str, content: Markup) -> Markup {
        let sections: Vec<(&str, &str)> = SECTIONS
            .iter()
            .filter(|(_, _, any)| self.may_any(&visit.cx, any))
            .map(|(href, name, _)| (*href, *name))
            .collect();
        let header = html! {
            nav {
                @for (href, name) in &sections {
                    a href=(href) class=[(*name == title).then_some("current")] { (name) }
                }
            }
            form.who method="post" action="/ui/sign-out" {
                span { (visit.user) " · " (visit.role) }
                input type="hidden" name="csrf" value=(visit.csrf);
                button type="submit" { "Sign out" }
            }
        };
        document(title, header, content)
    }

    /// Whether the visitor's role may take any of `actions`.
    fn may_any(&self, cx: &Ctx, actions: &[Action]) -> bool {
        actions.iter().any(|a| self.vault.may(cx.actor(), *a).unwrap_or(false))
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
        VaultError::Denied(_) | VaultError::Refused(_) => "Refused",
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

/// The console's sections: link, title and the actions that let a role see it (any of
/// them; a role whose policy allows none is refused the page, and the refusal recorded).
pub const SECTIONS: [(&str, &str, &[Action]); 4] = [
    ("/ui/datasets", "Datasets", &[Action::DatasetList]),
    ("/ui/models", "Models", &[Action::ModelList]),
    ("/ui/audit", "Audit log", &[Action::AuditRead]),
    ("/ui/admin", "Admin", &[Action::UserManage, Action::TokenManage, Action::RoleManage]),
];

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
    blocking(move || {
        let v = match s.visit(&headers) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let viewed = s.vault.console_view(&v.cx, "/ui/");
        if let Err(e) = s.vault.sync().and(viewed) {
            return s.refused(&v, "mlguard", &e);
        }
        match SECTIONS.iter().find(|(_, _, any)| s.may_any(&v.cx, any)) {
            Some((href, _, _)) => see_other(href),
            None => {
                let content = html! {
                    p { "Your role (" (v.role) ") may see none of the console's pages." }
                };
                show(StatusCode::OK, s.layout(&v, "mlguard", content))
            }
        }
    })
    .await
}

/// Any other address under `/ui/`: an HTML answer, with the console's headers.
async fn not_found() -> Response {
    let content = html! { p { "The console has no such page." } };
    show(StatusCode::NOT_FOUND, document("Not found", html! {}, content))
}

#[derive(serde::Deserialize, Default)]
struct Why {
    why: Option<String>,
}

/// The sign-in page, with a fresh anti-forgery token bound to a cookie of its own.
fn sign_in_page(status: StatusCode, message: Option<&str>) -> Response {
    let Ok(token) = random_hex() else {
        return show(StatusCode::SERVICE_UNAVAILABLE, html! { "no randomness" });
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
    let mut r = show(status, document("Sign in", html! {}, content));
    let (name, value) = set_cookie(SIGN_IN_COOKIE, &token, false);
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().append(name, v);
    }
    r
}

async fn sign_in_form(Query(q): Query<Why>) -> Response {
    let message = match q.why.as_deref() {
        Some("expired") => Some("Your session ended. Sign in again."),
        Some("signed-out") => Some("You are signed out."),
        Some("token") | Some("token-refused") => {
            Some("Your token no longer authenticates (revoked, expired or its user disabled).")
        }
        Some("role-refused") => Some("Your role may no longer use the console."),
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
        let cx = match s.token_context(&form.token, request_id(&headers)) {
            Ok(cx) => cx,
            Err(e) => return s.failure(&e, &request_id(&headers)),
        };
        if !same(&form.csrf, bound) {
            return match s.forged(&cx, Action::ConsoleSignIn, "console", "the sign-in form") {
                VaultError::Refused(_) => sign_in_page(
                    StatusCode::FORBIDDEN,
                    Some("This sign-in did not come from this server's form. Try again."),
                ),
                e => s.failure(&e, cx.request_id()),
            };
        }
        s.record_expired();
        if s.console.sessions().len() >= MAX_SESSIONS {
            let e = s.vault.refuse(&cx, Action::ConsoleSignIn, "console", "too many sessions");
            let _ = s.vault.sync();
            let status = match e {
                VaultError::Refused(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => crate::error::AppError::vault(&e, cx.request_id()).status(),
            };
            return sign_in_page(
                status,
                Some("The console has as many sessions open as it keeps: try again later."),
            );
        }
        let cx = cx.with_totp(code(&form.totp));
        let signed = s.vault.console_sign_in(&cx);
        if let Err(e) = s.vault.sync().and(signed) {
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
        let (Ok(id), Ok(csrf)) = (random_hex(), random_hex()) else {
            return sign_in_page(StatusCode::SERVICE_UNAVAILABLE, Some("No randomness."));
        };
        let now = Instant::now();
        {
            let mut sessions = s.console.sessions();
            // A session this browser had before ends: a sign-in never keeps an old id.
            if let Some(old) = cookie(&headers, SESSION_COOKIE) {
                sessions.remove(&key(old));
            }
            // One token's sessions beyond its share: its oldest ends (never another's).
            let mine: Vec<([u8; 32], Instant)> = sessions
                .iter()
                .filter(|(_, v)| same(&v.token, &form.token))
                .map(|(k, v)| (*k, v.seen))
                .collect();
            if mine.len() >= MAX_SESSIONS_PER_TOKEN
                && let Some((oldest, _)) = mine.iter().min_by_key(|(_, seen)| *seen)
            {
                sessions.remove(oldest);
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
            let e = s.forged(&visit.cx, Action::ConsoleSignIn, "console", "the sign-out form");
            return s.refused(&visit, "Sign out", &e);
        }
        if let Some(id) = cookie(&headers, SESSION_COOKIE) {
            s.console.sessions().remove(&key(id));
        }
        let signed_out = s.vault.console_sign_out(&visit.cx, "sign-out");
        if let Err(e) = s.vault.sync().and(signed_out) {
            return s.failure(&e, visit.cx.request_id());
        }
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/ui/sign-in?why=signed-out".to_owned())],
            AppendHeaders([set_cookie(SESSION_COOKIE, "", true)]),
        )
            .into_response()
    })
    .await
}

/// `route` answering within `timeout` (408 after).
pub(crate) fn timed(
    route: MethodRouter<Arc<AppState>>,
    timeout: Duration,
) -> MethodRouter<Arc<AppState>> {
    route.layer::<_, std::convert::Infallible>(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
}

/// The console's routes, under `/ui/`, each answer with [`security_headers`], forms of at
/// most [`MAX_FORM_BYTES`], each route with its timeout.
pub(crate) fn router() -> Router<Arc<AppState>> {
    let quick = |r| timed(r, crate::REQUEST_TIMEOUT);
    Router::new()
        .route("/ui", quick(get(|| async { see_other("/ui/") })))
        .route("/ui/", quick(get(home)))
        .route("/ui/console.css", quick(get(stylesheet)))
        .route("/ui/sign-in", quick(get(sign_in_form).post(sign_in)))
        .route("/ui/sign-out", quick(post(sign_out)))
        .merge(pages::router())
        .route("/ui/{*rest}", quick(get(not_found)))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(security_headers))
}
