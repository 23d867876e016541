//! Who acts, in which request: every vault operation takes a [`Ctx`] and its audit entry
//! records it. There is no ambient "current user": two requests served at once each carry
//! their own.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Told how far a long operation has got.
    meter: Option<Meter>,
}

/// Told how far a long operation (an ingest, a training) has got: `(done, total)`, the
/// bytes it has read of its input over all its passes and all it will read (`None` when
/// not known; an ingest's total is revised once protection has written the protected
/// table, whose passes it includes). Called from the operation's threads as it reads; an
/// error it returns fails the read, which stops the operation (a cancellation).
#[derive(Clone)]
pub struct Meter(Arc<dyn Fn(u64, Option<u64>) -> io::Result<()> + Send + Sync>);

impl Meter {
    /// A meter calling `f(done, total)`.
    pub fn new(f: impl Fn(u64, Option<u64>) -> io::Result<()> + Send + Sync + 'static) -> Meter {
        Meter(Arc::new(f))
    }

    /// A tally of reads towards `total` bytes told to this meter.
    pub fn tally(&self, total: Option<u64>) -> Tally {
        Tally(Some(Arc::new(Counts {
            meter: self.clone(),
            done: AtomicU64::new(0),
            total: AtomicU64::new(total.unwrap_or(UNKNOWN)),
        })))
    }
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Meter")
    }
}

const UNKNOWN: u64 = u64::MAX;

/// Bytes read so far by an operation, told to its [`Meter`] (none: counting costs nothing).
/// Clones count together.
#[derive(Clone, Default)]
pub struct Tally(Option<Arc<Counts>>);

struct Counts {
    meter: Meter,
    done: AtomicU64,
    total: AtomicU64,
}

impl Tally {
    /// `n` more bytes were read.
    fn add(&self, n: usize) -> io::Result<()> {
        let Some(c) = &self.0 else { return Ok(()) };
        let done = c.done.fetch_add(n as u64, Ordering::Relaxed).saturating_add(n as u64);
        let total = c.total.load(Ordering::Relaxed);
        let total = (total != UNKNOWN).then_some(total);
        // Never past the total (a Parquet footer is read more than once).
        (c.meter.0)(total.map_or(done, |t| done.min(t)), total)
    }

    /// All the bytes the operation will read, now known better.
    pub fn set_total(&self, total: Option<u64>) {
        if let Some(c) = &self.0 {
            c.total.store(total.unwrap_or(UNKNOWN), Ordering::Relaxed);
        }
    }

    /// `inner`, its reads counted.
    pub fn reader<R>(&self, inner: R) -> Metered<R> {
        Metered { inner, tally: self.clone() }
    }
}

/// A reader whose reads count towards a [`Tally`].
pub struct Metered<R> {
    inner: R,
    tally: Tally,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tally.add(n)?;
        Ok(n)
    }
}

impl<R: Seek> Seek for Metered<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
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
        Ctx {
            actor,
            request_id: request_id.into(),
            totp: None,
            at: None,
            granted: Arc::default(),
            meter: None,
        }
    }

    /// With a meter told how far long operations (ingest, training) have got.
    pub fn with_meter(mut self, meter: Meter) -> Ctx {
        self.meter = Some(meter);
        self
    }

    /// A tally of an operation's reads towards `total` bytes, told to the context's meter.
    pub(crate) fn tally(&self, total: Option<u64>) -> Tally {
        self.meter.as_ref().map(|m| m.tally(total)).unwrap_or_default()
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
        static N: AtomicU64 = AtomicU64::new(0);
        format!("local-{}", N.fetch_add(1, Ordering::Relaxed))
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
        // A meter hears every read, never past the total, and its error stops the read.
        let heard = Arc::new(Mutex::new(Vec::new()));
        let h = Arc::clone(&heard);
        let meter = Meter::new(move |done, total| {
            h.lock().expect("lock").push((done, total));
            if done > 8 { Err(io::Error::other("enough")) } else { Ok(()) }
        });
        let tally = Ctx::local().with_meter(meter).tally(Some(6));
        let mut r = tally.reader(&b"abcdefghij"[..]);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).expect("read"), 4);
        tally.set_total(Some(20));
        assert_eq!(r.read(&mut buf).expect("read"), 4);
        assert_eq!(r.read(&mut buf).expect_err("stopped").to_string(), "enough");
        assert_eq!(*heard.lock().expect("lock"), [(4, Some(6)), (8, Some(20)), (10, Some(20))]);
        assert_eq!(Ctx::local().tally(None).reader(&b"ab"[..]).read(&mut buf).expect("free"), 2);
    }
}
