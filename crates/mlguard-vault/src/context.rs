//! Who acts, in which request: every vault operation takes a [`Ctx`] and its audit entry
//! records it. There is no ambient "current user": two requests served at once each carry
//! their own.

use crate::identity::Principal;

/// Who takes an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone on this machine using the vault's key directly (the CLI without `--server`):
    /// the operating-system user, recorded as `local:NAME`.
    Local(String),
    /// The holder of an API token, authenticated by the vault.
    Token(Principal),
    /// A request that has not (yet) shown a valid token.
    Anonymous,
}

/// The context of one operation: who acts and the request it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    actor: Actor,
    request_id: String,
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
        Ctx { actor: Actor::Local(user), request_id: fresh_id() }
    }

    /// `actor` in request `request_id`.
    pub fn new(actor: Actor, request_id: impl Into<String>) -> Ctx {
        Ctx { actor, request_id: request_id.into() }
    }

    /// The same request, now acting as `actor` (after authentication).
    pub fn as_actor(&self, actor: Actor) -> Ctx {
        Ctx { actor, request_id: self.request_id.clone() }
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
            Actor::Anonymous => "anonymous".into(),
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
        assert_eq!(Ctx::new(Actor::Anonymous, "r").actor_name(), "anonymous");
        let cx = Ctx::new(Actor::Anonymous, "r1").as_actor(Actor::Token(p.clone()));
        assert_eq!((cx.request_id(), cx.principal()), ("r1", Some(&p)));
        assert_ne!(Ctx::local().request_id(), Ctx::local().request_id());
    }
}
