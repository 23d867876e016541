//! Who acts, in which request: every vault operation takes a [`Ctx`] and its audit entry
//! records it. There is no ambient "current user": two requests served at once each carry
//! their own.

use std::sync::{Arc, Mutex};

use crate::identity::{Action, AuthError, Principal};

/// Who takes an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone on this machine using the vault's key directly (the CLI without `--server`):
    /// the operating-system user, recorded as `local:NAME`.
    Local(String),
    /// The holder of an API token, authenticated by the vault.
    Token(Principal),
    /// A request whose token was refused (none, unknown, revoked, expired, its user
    /// disabled): every operation it asks for is denied, and recorded as denied.
    Refused(AuthError),
}

/// The context of one operation: who acts, the request it belongs to, and the second
/// factor presented with it. Clones share the decisions already made for the request.
#[derive(Debug, Clone)]
pub struct Ctx {
    actor: Actor,
    request_id: String,
    totp: Option<String>,
    /// The request's time (Unix seconds), when not now.
    at: Option<i64>,
    /// Actions the policy allowed in this request (a TOTP code is used once: a request
    /// that is authorised before its body is read is not asked again).
    granted: Arc<Mutex<Vec<Action>>>,
}

impl Ctx {
    /// The local operating-system user (`$USER`, `$USERNAME`, else `local`), with a fresh
    /// request id.
    pub fn local() -> Ctx {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Ctx::new(Actor::Local(user), fresh_id())
    }

    /// `actor` in request `request_id`.
    pub fn new(actor: Actor, request_id: impl Into<String>) -> Ctx {
        Ctx { actor, request_id: request_id.into(), totp: None, at: None, granted: Arc::default() }
    }

    /// With the TOTP code presented for actions that need a second factor.
    pub fn with_totp(mut self, code: Option<&str>) -> Ctx {
        self.totp = code.map(str::to_owned);
        self
    }

    /// At another time than now (Unix seconds): which TOTP codes are valid depends on it.
    pub fn at(mut self, unix_secs: i64) -> Ctx {
        self.at = Some(unix_secs);
        self
    }

    /// The request's time (Unix seconds).
    pub fn time(&self) -> i64 {
        self.at.unwrap_or_else(crate::identity::now_secs)
    }

    /// The TOTP code presented, if any.
    pub fn totp(&self) -> Option<&str> {
        self.totp.as_deref()
    }

    /// Whether `action` was already allowed in this request.
    pub(crate) fn granted(&self, action: Action) -> bool {
        self.granted.lock().is_ok_and(|g| g.contains(&action))
    }

    /// Notes that `action` was allowed in this request.
    pub(crate) fn grant(&self, action: Action) {
        if let Ok(mut g) = self.granted.lock() {
            g.push(action);
        }
    }

    /// Who acts.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The token holder, if the actor is one.
    pub fn principal(&self) -> Option<&Principal> {
        match &self.actor {
            Actor::Token(p) => Some(p),
            _ => None,
        }
    }

    /// The request id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The actor as audit entries record it: the token holder's user name, `local:NAME`
    /// for a local user, `anonymous`.
    pub fn actor_name(&self) -> String {
        match &self.actor {
            Actor::Local(u) => format!("local:{u}"),
            Actor::Token(p) => p.user.clone(),
            Actor::Refused(_) => "anonymous".into(),
        }
    }
}

/// A fresh random request id (16 hex digits).
pub fn fresh_id() -> String {
    mlguard_seal::random::<8>().map(|b| mlguard_seal::hex(&b)).unwrap_or_else(|_| {
        // No randomness: still unique within the process, and never a failure to act.
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        format!("local-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_recorded_by_kind() {
        let p = Principal { user: "ana".into(), role: "auditor".into(), token_id: "t1".into() };
        assert_eq!(Ctx::new(Actor::Token(p.clone()), "r").actor_name(), "ana");
        assert_eq!(Ctx::new(Actor::Local("ana".into()), "r").actor_name(), "local:ana");
        assert_eq!(Ctx::new(Actor::Refused(AuthError::NoToken), "r").actor_name(), "anonymous");
        let cx = Ctx::new(Actor::Token(p.clone()), "r1").with_totp(Some("123456"));
        assert_eq!((cx.request_id(), cx.principal(), cx.totp()), ("r1", Some(&p), Some("123456")));
        let copy = cx.clone();
        cx.grant(Action::ModelExport);
        assert!(copy.granted(Action::ModelExport) && !copy.granted(Action::ModelRead));
        assert_ne!(Ctx::local().request_id(), Ctx::local().request_id());
    }
}
