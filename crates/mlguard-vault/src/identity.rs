//! Who may do what: users with a role, API tokens, TOTP second factors, and the policy
//! that maps roles to actions (deny by default).
//!
//! - **Tokens** are 256 random bits, printed once (`mlg_<id>_<secret>`), stored only as
//!   their SHA-256 and compared in constant time; they can expire and be revoked.
//! - **TOTP** (RFC 6238: 30-second steps, 6 digits, HMAC-SHA1 by default for authenticator
//!   apps, SHA-256 available, ±1 step): 160-bit secrets encrypted under the vault's master
//!   key; a code is accepted once (its step must be newer than the last one used); after
//!   [`MAX_MFA_FAILURES`] wrong codes through one token, that token's second factor is
//!   locked for 30 s, doubling with each lock — other tokens of the user are unaffected, so
//!   a stolen token cannot lock its owner out.
//! - **The policy** lives in the policy store (`policy.json` in an embedded vault; written with the defaults on first
//!   use, editable): per role the actions it may take (`dataset.*` patterns), and the
//!   actions that need a fresh TOTP code. Anything not listed is denied.
//!
//! Every change and every authorisation decision is recorded in the audit log; secrets
//! never are.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::VaultError;
use crate::audit::{Event, Outcome};
use crate::context::{Actor, Ctx};
use crate::pipeline::Vault;
use crate::store::{PolicyStamp, PolicyStore, TokenHolder};

/// Wrong TOTP codes through one token before its second factor is locked.
pub const MAX_MFA_FAILURES: i64 = 5;
/// The first lock's length; each further lock doubles it (up to a day).
pub const MFA_LOCK_SECS: i64 = 30;
/// TOTP step length.
pub const TOTP_STEP: u64 = 30;
/// TOTP secret length: 160 bits, RFC 4226's recommendation.
pub const TOTP_SECRET_BYTES: usize = 20;

/// The roles.
pub const ROLES: &[&str] =
    &["admin", "data-steward", "data-scientist", "model-consumer", "auditor"];

/// Every action the policy can allow: the policy file names them, the server's routes map
/// onto them, and every audit entry records one. The only place their names are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Add, disable and enrol users.
    UserManage,
    /// Change the policy.
    RoleManage,
    /// Create and revoke tokens.
    TokenManage,
    /// Rotate and re-wrap the master key.
    KeyRotate,
    /// Seal, open, verify or sign files outside the vault with its keys.
    KeyUse,
    /// Trust another signer's public key.
    KeyTrust,
    /// Ingest a dataset version.
    DatasetIngest,
    /// Protect a table with the vault's pseudonym key.
    DatasetProtect,
    /// Read a version stored with personal data kept (`--keep-pii`).
    DatasetReadRaw,
    /// Read a dataset version.
    DatasetRead,
    /// List dataset versions.
    DatasetList,
    /// Train (or reproduce) a model.
    ModelTrain,
    /// Read or verify a model.
    ModelRead,
    /// List models.
    ModelList,
    /// Export a model's files.
    ModelExport,
    /// Predict with a model.
    ModelPredict,
    /// Read the audit log.
    AuditRead,
    /// Verify the audit log.
    AuditVerify,
    /// Remove sealed objects no catalog row refers to (what crashed writes left).
    VaultGc,
    /// Copy the vault into other stores and move it there.
    VaultMigrate,
    /// Sign in to the web console (`/ui/`): each page there is then allowed or refused by
    /// the action it shows.
    ConsoleSignIn,
}

impl Action {
    /// Every action, in the policy's order.
    pub const ALL: [Action; 21] = [
        Action::UserManage,
        Action::RoleManage,
        Action::TokenManage,
        Action::KeyRotate,
        Action::KeyUse,
        Action::KeyTrust,
        Action::DatasetIngest,
        Action::DatasetProtect,
        Action::DatasetReadRaw,
        Action::DatasetRead,
        Action::DatasetList,
        Action::ModelTrain,
        Action::ModelRead,
        Action::ModelList,
        Action::ModelExport,
        Action::ModelPredict,
        Action::AuditRead,
        Action::AuditVerify,
        Action::VaultGc,
        Action::VaultMigrate,
        Action::ConsoleSignIn,
    ];

    /// Its name in the policy file and the audit log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::UserManage => "user.manage",
            Action::RoleManage => "role.manage",
            Action::TokenManage => "token.manage",
            Action::KeyRotate => "key.rotate",
            Action::KeyUse => "key.use",
            Action::KeyTrust => "key.trust",
            Action::DatasetIngest => "dataset.ingest",
            Action::DatasetProtect => "dataset.protect",
            Action::DatasetReadRaw => "dataset.read-raw",
            Action::DatasetRead => "dataset.read",
            Action::DatasetList => "dataset.list",
            Action::ModelTrain => "model.train",
            Action::ModelRead => "model.read",
            Action::ModelList => "model.list",
            Action::ModelExport => "model.export",
            Action::ModelPredict => "model.predict",
            Action::AuditRead => "audit.read",
            Action::AuditVerify => "audit.verify",
            Action::VaultGc => "vault.gc",
            Action::VaultMigrate => "vault.migrate",
            Action::ConsoleSignIn => "console.sign-in",
        }
    }

    /// The action of a name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Roles, their allowed actions, and the actions that need a second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Per role, action patterns it may take (`dataset.*` matches every dataset action).
    pub roles: BTreeMap<String, Vec<String>>,
    /// Action patterns that need a fresh TOTP code.
    pub mfa: Vec<String>,
}

fn matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => action.strip_prefix(prefix).is_some_and(|r| r.starts_with('.')),
        None => pattern == action || pattern == "*",
    }
}

impl Default for Policy {
    fn default() -> Self {
        let list = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut roles = BTreeMap::new();
        roles.insert(
            "admin".into(),
            list(&["user.*", "role.*", "token.*", "key.*", "vault.*", "console.*"]),
        );
        roles.insert(
            "data-steward".into(),
            list(&[
                "dataset.ingest",
                "dataset.protect",
                "dataset.read-raw",
                "dataset.read",
                "dataset.list",
                "console.sign-in",
            ]),
        );
        roles.insert(
            "data-scientist".into(),
            list(&[
                "model.train",
                "model.read",
                "model.list",
                "model.export",
                "model.predict",
                "dataset.read",
                "dataset.list",
                "console.sign-in",
            ]),
        );
        roles.insert("model-consumer".into(), list(&["model.predict"]));
        roles.insert("auditor".into(), list(&["audit.*", "console.sign-in"]));
        Policy {
            roles,
            mfa: list(&[
                "dataset.read-raw",
                "model.export",
                "key.*",
                "user.*",
                "role.*",
                "token.*",
                "vault.*",
            ]),
        }
    }
}

impl Policy {
    /// The policy in `store` (with its stamp), stored with the defaults when missing.
    pub fn load(store: &dyn PolicyStore) -> Result<(Policy, Option<PolicyStamp>), VaultError> {
        let bad = |e: String| VaultError::Config(format!("{}: {e}", store.location()));
        match store.load()? {
            Some((text, stamp)) => {
                let p: Policy = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
                p.check().map_err(bad)?;
                Ok((p, Some(stamp)))
            }
            None => {
                let p = Policy::default();
                let text = serde_json::to_string_pretty(&p)
                    .map_err(|e| VaultError::Internal(e.to_string()))?;
                store.store(&text, false)?;
                Ok((p, store.stamp()?))
            }
        }
    }

    /// Refuses unknown roles and patterns that match no action (a typo would otherwise
    /// silently deny, or, in `mfa`, silently not ask for a code).
    pub fn check(&self) -> Result<(), String> {
        for r in self.roles.keys() {
            if !ROLES.contains(&r.as_str()) {
                return Err(format!("unknown role {r:?} (roles: {})", ROLES.join(", ")));
            }
        }
        let patterns = self.roles.values().flatten().map(|p| ("role", p));
        for (what, p) in patterns.chain(self.mfa.iter().map(|p| ("mfa", p))) {
            if !Action::ALL.iter().any(|a| matches(p, a.as_str())) {
                let all: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                return Err(format!(
                    "the {what} pattern {p:?} matches no action (actions: {})",
                    all.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Whether `role` may take `action` (deny by default).
    pub fn allows(&self, role: &str, action: Action) -> bool {
        self.roles.get(role).is_some_and(|ps| ps.iter().any(|p| matches(p, action.as_str())))
    }

    /// Whether `action` needs a fresh TOTP code.
    pub fn needs_mfa(&self, action: Action) -> bool {
        self.mfa.iter().any(|p| matches(p, action.as_str()))
    }
}

/// The TOTP hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlg {
    /// HMAC-SHA1 (what authenticator apps expect).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
}

impl TotpAlg {
    /// `SHA1` or `SHA256`, as in otpauth URIs.
    pub fn as_str(self) -> &'static str {
        match self {
            TotpAlg::Sha1 => "SHA1",
            TotpAlg::Sha256 => "SHA256",
        }
    }

    /// `sha1` or `sha256` (any case).
    pub fn parse(s: &str) -> Option<TotpAlg> {
        match s {
            "SHA1" => Some(TotpAlg::Sha1),
            "SHA256" => Some(TotpAlg::Sha256),
            _ => None,
        }
    }
}

/// The HOTP value (RFC 4226) of `counter`, with `digits` digits.
pub fn hotp(secret: &[u8], alg: TotpAlg, counter: u64, digits: u32) -> u32 {
    let algorithm = match alg {
        TotpAlg::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        TotpAlg::Sha256 => hmac::HMAC_SHA256,
    };
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), &counter.to_be_bytes());
    let h = tag.as_ref();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let code = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    code % 10u32.pow(digits)
}

/// The 6-digit TOTP code (RFC 6238) at `unix_secs`.
pub fn totp(secret: &[u8], alg: TotpAlg, unix_secs: u64) -> u32 {
    hotp(secret, alg, unix_secs / TOTP_STEP, 6)
}

/// The 6-digit TOTP code at `unix_secs`, as an authenticator app shows it (`012345`).
pub fn totp_code(secret: &[u8], alg: TotpAlg, unix_secs: i64) -> String {
    format!("{:06}", totp(secret, alg, unix_secs.max(0) as u64))
}

/// RFC 4648 base32 without padding (what otpauth URIs carry).
pub fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes RFC 4648 base32 without padding (the secret of an otpauth URI); `None` on any
/// other character.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buf = (buf << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The TOTP secret of an otpauth URI made by [`Vault::enroll_mfa`].
pub fn otpauth_secret(uri: &str) -> Option<Vec<u8>> {
    base32_decode(uri.split("secret=").nth(1)?.split('&').next()?)
}

/// Unix time in seconds (the clock TOTP codes and token expiry are checked against).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn sha256_hex(s: &str) -> String {
    mlguard_seal::hex(digest(&SHA256, s.as_bytes()).as_ref())
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Disabled users cannot authenticate.
    pub disabled: bool,
    /// Whether a second factor is enrolled.
    pub mfa: bool,
    /// When the user was added.
    pub created: String,
}

/// A token as listed (its secret part is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenInfo {
    /// Its id (the part after `mlg_`).
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// When it was created.
    pub created: String,
    /// When it expires (Unix seconds), if ever.
    pub expires: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// An authenticated token holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user: String,
    /// Their role.
    pub role: String,
    /// The token's id.
    pub token_id: String,
}

/// Why a request is refused. The messages say what, never which secret part was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token was presented at all.
    #[error("no token was presented")]
    NoToken,
    /// No such token, or it was revoked or expired, or its user is disabled.
    #[error("the token is not valid (unknown, revoked, expired, or its user is disabled)")]
    BadToken,
    /// The role may not take the action.
    #[error("role {role} may not {action}")]
    Forbidden {
        /// The role.
        role: String,
        /// The action.
        action: String,
    },
    /// The action needs a TOTP code and none was given, or the user has none enrolled.
    #[error("{0} needs a fresh TOTP code")]
    MfaRequired(String),
    /// The code is wrong or was already used.
    #[error("the TOTP code is wrong or was already used")]
    MfaRejected,
    /// Too many wrong codes through this token.
    #[error("too many wrong TOTP codes through this token: locked for {0} s")]
    MfaLocked(i64),
}

impl AuthError {
    /// A stable name for the refusal (the API's `error` field).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::NoToken => "no_token",
            AuthError::BadToken => "invalid_token",
            AuthError::Forbidden { .. } => "forbidden",
            AuthError::MfaRequired(_) => "mfa_required",
            AuthError::MfaRejected => "mfa_rejected",
            AuthError::MfaLocked(_) => "mfa_locked",
        }
    }
}

/// How long what authorises a request is trusted once read from the catalog without
/// reading it again: a token's holder, the policy, and which version a model name means.
/// A token revoked, a user disabled, the policy changed or a model version added through
/// another process (a server sharing the catalog, the CLI beside a server) takes effect
/// within this time; through this vault, at once. Expiry is checked on every request
/// against the holder's recorded time.
pub const CACHE_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Most values a [`TimedCache`] keeps (all are dropped when it is reached: only what
/// authorised a request is cached, so only as many as there are live tokens or names).
const CACHE_ENTRIES: usize = 4096;

/// Values read from the catalog by key, with when they were read ([`CACHE_TIME`]): a
/// request reads them under a shared lock, so requests never wait on each other or on the
/// catalog.
#[derive(Debug)]
pub(crate) struct TimedCache<V> {
    entries: std::sync::RwLock<HashMap<String, (std::time::Instant, V)>>,
}

impl<V> Default for TimedCache<V> {
    fn default() -> Self {
        TimedCache { entries: std::sync::RwLock::default() }
    }
}

impl<V: Clone> TimedCache<V> {
    /// The value of `key` if read less than [`CACHE_TIME`] ago.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (at, v) = entries.get(key)?;
        (at.elapsed() < CACHE_TIME).then(|| v.clone())
    }

    /// Keeps `value` as read now.
    pub(crate) fn put(&self, key: &str, value: &V) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(key.to_owned(), (std::time::Instant::now(), value.clone()));
        }
    }

    /// Forgets every value (changed here).
    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

/// The principal `token` (whose id is `id`, held by `h`) authenticates, if its hash is the
/// holder's (compared in constant time) and it is neither revoked, disabled nor expired.
fn accepted(token: &str, id: &str, h: TokenHolder) -> Option<Principal> {
    let presented = sha256_hex(token);
    let same = verify_slices_are_equal(presented.as_bytes(), h.hash.as_bytes()).is_ok();
    if !same || h.revoked || h.disabled || h.expires.is_some_and(|e| e <= now_secs()) {
        return None;
    }
    Some(Principal { user: h.user, role: h.role, token_id: id.to_owned() })
}

impl Vault {
    /// Adds a user with a role (`user.manage`, op `add`).
    pub fn add_user(&self, cx: &Ctx, name: &str, role: &str) -> Result<(), VaultError> {
        let event = Event::new(Action::UserManage, name, Outcome::Allowed)
            .op("add")
            .detail(json!({"role": role}));
        self.operation(cx, &event, || {
            if !ROLES.contains(&role) {
                return Err(VaultError::Refused(format!(
                    "unknown role {role:?}; roles: {}",
                    ROLES.join(", ")
                )));
            }
            if name.is_empty()
                || name.len() > 64
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(VaultError::Refused(format!(
                    "{name:?} is not a valid user name (1-64 letters, digits, - _ .)"
                )));
            }
            self.recorded(cx, &event, |audit| {
                self.catalog().add_user(name, role, &mlguard_seal::now_rfc3339(), audit)
            })
        })
    }

    /// Every user, by name (`user.manage`, op `list`).
    pub fn users(&self, cx: &Ctx) -> Result<Vec<User>, VaultError> {
        let event = Event::new(Action::UserManage, "users", Outcome::Allowed).op("list");
        self.reading(cx, &event, || self.catalog().users())
    }

    /// Disables a user: their tokens stop working (`user.manage`, op `disable`).
    pub fn disable_user(&self, cx: &Ctx, name: &str) -> Result<(), VaultError> {
        let event = Event::new(Action::UserManage, name, Outcome::Allowed).op("disable");
        let done = self.operation(cx, &event, || {
            self.recorded(cx, &event, |audit| self.catalog().disable_user(name, audit))
        });
        self.token_cache.clear();
        done
    }

    /// Creates a token for `user`, valid for `ttl_secs` (forever when `None`). Returns its
    /// id and the token itself, which is shown once and stored only as its SHA-256
    /// (`token.manage`, op `create`, recorded with the new token's id).
    pub fn create_token(
        &self,
        cx: &Ctx,
        user: &str,
        ttl_secs: Option<i64>,
    ) -> Result<(String, Zeroizing<String>), VaultError> {
        let asked = Event::new(Action::TokenManage, user, Outcome::Allowed).op("create");
        self.operation(cx, &asked, || {
            match self.catalog().user_disabled(user)? {
                None => return Err(VaultError::NotFound(format!("user {user}"))),
                Some(true) => {
                    return Err(VaultError::Refused(format!("user {user} is disabled")));
                }
                Some(false) => {}
            }
            let id = mlguard_seal::hex(&mlguard_seal::random::<6>()?);
            let secret = Zeroizing::new(mlguard_seal::random::<32>()?);
            let token = Zeroizing::new(format!("mlg_{id}_{}", mlguard_seal::hex(&secret[..])));
            let expires = ttl_secs.map(|t| now_secs().saturating_add(t));
            let event = Event::new(Action::TokenManage, &id, Outcome::Allowed)
                .op("create")
                .detail(json!({"user": user, "expires": expires}));
            self.recorded(cx, &event, |audit| {
                let created = mlguard_seal::now_rfc3339();
                self.catalog().add_token(&id, user, &sha256_hex(&token), &created, expires, audit)
            })?;
            Ok((id, token))
        })
    }

    /// Revokes a token (`token.manage`, op `revoke`).
    pub fn revoke_token(&self, cx: &Ctx, id: &str) -> Result<(), VaultError> {
        let event = Event::new(Action::TokenManage, id, Outcome::Allowed).op("revoke");
        let done = self.operation(cx, &event, || {
            self.recorded(cx, &event, |audit| self.catalog().revoke_token(id, audit))
        });
        self.token_cache.clear();
        done
    }

    /// Every token (never the token itself): id, user, created, expires (Unix seconds),
    /// revoked (`token.manage`, op `list`).
    pub fn tokens(&self, cx: &Ctx) -> Result<Vec<TokenInfo>, VaultError> {
        let event = Event::new(Action::TokenManage, "tokens", Outcome::Allowed).op("list");
        self.reading(cx, &event, || self.catalog().tokens())
    }

    /// The policy in force (`role.manage`, op `read`).
    pub fn read_policy(&self, cx: &Ctx) -> Result<Arc<Policy>, VaultError> {
        let event = Event::new(Action::RoleManage, "policy.json", Outcome::Allowed).op("read");
        self.reading(cx, &event, || self.policy())
    }

    /// Replaces the policy (`policy.json`) after checking it (`role.manage`, op `update`,
    /// recorded with its digest).
    pub fn set_policy(&self, cx: &Ctx, policy: &Policy) -> Result<(), VaultError> {
        let event = Event::new(Action::RoleManage, "policy.json", Outcome::Allowed).op("update");
        self.operation(cx, &event, || {
            policy.check().map_err(VaultError::Refused)?;
            let text = serde_json::to_string_pretty(policy)
                .map_err(|e| VaultError::Internal(e.to_string()))?;
            self.record(cx, &event.clone().field("sha256", sha256_hex(&text)))?;
            self.policies().store(&text, true)?;
            Ok(())
        })
    }

    /// Who holds `token`: checks its hash in constant time, expiry, revocation and the
    /// user's state (revocation and the user's state as the catalog gave them at most
    /// [`CACHE_TIME`] ago).
    pub fn authenticate(&self, token: &str) -> Result<Result<Principal, AuthError>, VaultError> {
        if token.trim().is_empty() {
            return Ok(Err(AuthError::NoToken));
        }
        let Some(id) = token.strip_prefix("mlg_").and_then(|t| t.split('_').next()) else {
            return Ok(Err(AuthError::BadToken));
        };
        let h = match self.token_cache.get(id) {
            Some(h) => h,
            None => match self.catalog().token_holder(id)? {
                Some(h) => {
                    if !h.revoked && !h.disabled {
                        self.token_cache.put(id, &h);
                    }
                    h
                }
                None => return Ok(Err(AuthError::BadToken)),
            },
        };
        Ok(accepted(token, id, h).ok_or(AuthError::BadToken))
    }

    /// Who holds `token`, when its holder is cached and accepts it (see
    /// [`Vault::authenticate`]); `None` when the catalog must be read or the token is
    /// refused. Reads nothing but memory.
    pub fn authenticate_cached(&self, token: &str) -> Option<Principal> {
        let id = token.strip_prefix("mlg_").and_then(|t| t.split('_').next())?;
        accepted(token, id, self.token_cache.get(id)?)
    }

    /// Enrolls (or re-enrolls) a TOTP second factor for `user`: a fresh 160-bit secret,
    /// stored encrypted under the master key. Returns the `otpauth://` URI to show once.
    pub fn enroll_mfa(
        &self,
        cx: &Ctx,
        user: &str,
        alg: TotpAlg,
    ) -> Result<Zeroizing<String>, VaultError> {
        let event = Event::new(Action::UserManage, user, Outcome::Allowed)
            .op("mfa-enroll")
            .detail(json!({"alg": alg.as_str()}));
        let secret = self.operation(cx, &event, || {
            let secret = Zeroizing::new(mlguard_seal::random::<TOTP_SECRET_BYTES>()?);
            let sealed = self.keys().encrypt_secret(&format!("totp:{user}"), &secret[..])?;
            self.recorded(cx, &event, |audit| {
                self.catalog().set_mfa(user, &sealed, alg.as_str(), audit)
            })?;
            Ok(secret)
        })?;
        let issuer = "mlguard";
        Ok(Zeroizing::new(format!(
            "otpauth://totp/{issuer}:{user}?secret={}&issuer={issuer}&algorithm={}&digits=6&period={TOTP_STEP}",
            base32(&secret[..]),
            alg.as_str()
        )))
    }

    /// Checks a TOTP code of `who` presented through their token at `now` (Unix seconds):
    /// ±1 step, each step usable once, locked per token after repeated failures.
    pub fn check_mfa(
        &self,
        who: &Principal,
        code: &str,
        now: i64,
    ) -> Result<Result<(), AuthError>, VaultError> {
        let state = self.catalog().mfa_state(&who.token_id, &who.user)?;
        if state.locked_until > now {
            return Ok(Err(AuthError::MfaLocked(state.locked_until - now)));
        }
        let Some((sealed, alg)) = state.secret else {
            return Ok(Err(AuthError::MfaRequired(
                "this user has no second factor enrolled;".into(),
            )));
        };
        let alg = TotpAlg::parse(&alg).unwrap_or(TotpAlg::Sha1);
        let secret = self.keys().decrypt_secret(&format!("totp:{}", who.user), &sealed)?;
        let step = now.max(0) as u64 / TOTP_STEP;
        let code = code.trim();
        let matched = (step.saturating_sub(1)..=step + 1).find(|&s| {
            let want = format!("{:06}", hotp(&secret, alg, s, 6));
            code.len() == 6 && verify_slices_are_equal(want.as_bytes(), code.as_bytes()).is_ok()
        });
        if let Some(s) = matched
            && s as i64 > state.last_step
            && self.catalog().mfa_accept(&who.user, &who.token_id, s as i64)?
        {
            return Ok(Ok(()));
        }
        let lock = |lockouts: i64| MFA_LOCK_SECS.saturating_mul(1 << lockouts.min(11)).min(86_400);
        match self.catalog().mfa_failure(&who.token_id, now, MAX_MFA_FAILURES, &lock)? {
            None => Ok(Err(AuthError::MfaRejected)),
            // The denial that follows records the lock (its reason names it).
            Some(secs) => Ok(Err(AuthError::MfaLocked(secs))),
        }
    }

    /// Signs the context's token holder in to the web console (`console.sign-in`, op
    /// `sign-in`, with a TOTP code where the policy asks for one): allowed and recorded, or
    /// denied and recorded. The console then keeps the session; each page it shows is
    /// allowed or refused by its own action.
    pub fn console_sign_in(&self, cx: &Ctx) -> Result<(), VaultError> {
        let event = Event::new(Action::ConsoleSignIn, "console", Outcome::Allowed).op("sign-in");
        self.operation(cx, &event, || self.record(cx, &event))
    }

    /// A console page that shows nothing from the vault (its landing pages): allowed by
    /// the session's own permission (`console.sign-in`, without a second factor: the
    /// session passed it at sign-in where the policy asks) and recorded, op `view`, with
    /// the page as the object.
    pub fn console_view(&self, cx: &Ctx, page: &str) -> Result<(), VaultError> {
        let event = Event::new(Action::ConsoleSignIn, page, Outcome::Allowed).op("view");
        self.in_session(cx, event)
    }

    /// Records the end of a console session (`console.sign-in`, op `sign-out`, or why it
    /// ended: `expired`, `token-refused`, `role-refused`), decided as a page of the session
    /// would be: a token since refused, or a role since denied the console, is recorded as
    /// denied (with the op). The session ends either way: this only records it.
    pub fn console_sign_out(&self, cx: &Ctx, why: &str) -> Result<(), VaultError> {
        let event = Event::new(Action::ConsoleSignIn, "console", Outcome::Allowed).op(why);
        self.in_session(cx, event)
    }

    /// Decides and records `event`, an action of a console session already signed in:
    /// allowed if the policy still lets the actor use the console (no second factor asked
    /// again), else recorded as denied with its op and why.
    fn in_session(&self, cx: &Ctx, event: Event) -> Result<(), VaultError> {
        let refusal =
            match cx.actor() {
                Actor::Local(_) => None,
                Actor::Refused(e) => Some(e.clone()),
                Actor::Token(who) => (!self.policy()?.allows(&who.role, Action::ConsoleSignIn))
                    .then(|| AuthError::Forbidden {
                        role: who.role.clone(),
                        action: Action::ConsoleSignIn.as_str().to_owned(),
                    }),
            };
        match refusal {
            None => self.record(cx, &event),
            Some(e) => {
                let mut denied = event.outcome(Outcome::Denied).field("reason", e.to_string());
                if let Some(p) = cx.principal() {
                    denied = denied.field("role", p.role.clone());
                }
                self.record(cx, &denied)?;
                Err(VaultError::Denied(e))
            }
        }
    }

    /// Records a request refused before the vault was asked (a console form without its
    /// anti-forgery token, say): `action` on `object`, denied, with `reason`. Returns the
    /// refusal to answer with ([`VaultError::Refused`]), or why it could not be recorded.
    pub fn refuse(&self, cx: &Ctx, action: Action, object: &str, reason: &str) -> VaultError {
        let event = Event::new(action, object, Outcome::Denied).field("reason", reason);
        match self.record(cx, &event) {
            Ok(()) => VaultError::Refused(reason.to_owned()),
            Err(e) => e,
        }
    }

    /// Whether the policy lets `actor` take `action` at all (a second factor aside): what a
    /// console shows them. Decides nothing and records nothing: the operation itself is
    /// still allowed or refused when asked for.
    pub fn may(&self, actor: &Actor, action: Action) -> Result<bool, VaultError> {
        Ok(match actor {
            Actor::Local(_) => true,
            Actor::Refused(_) => false,
            Actor::Token(who) => self.policy()?.allows(&who.role, action),
        })
    }

    /// Whether the context's actor may take `action` on `object`: a local user may (they
    /// hold the vault's key); a token holder if the policy allows their role, with a fresh
    /// TOTP code where it asks for one (asked once per request); a refused token never. A
    /// refusal is recorded — the call's one entry — and returned as
    /// [`VaultError::Denied`]; an allowance is not recorded here: the operation records
    /// what it did, allowed or failed.
    pub fn authorize(&self, cx: &Ctx, action: Action, object: &str) -> Result<(), VaultError> {
        let decision = match cx.actor() {
            Actor::Local(_) => Ok(()),
            Actor::Refused(e) => Err(e.clone()),
            Actor::Token(_) if cx.granted(action) => Ok(()),
            Actor::Token(who) => {
                let policy = self.policy()?;
                if !policy.allows(&who.role, action) {
                    Err(AuthError::Forbidden {
                        role: who.role.clone(),
                        action: action.as_str().to_owned(),
                    })
                } else if policy.needs_mfa(action) {
                    match cx.totp() {
                        None => Err(AuthError::MfaRequired(action.as_str().to_owned())),
                        Some(code) => self.check_mfa(who, code, cx.time())?,
                    }
                } else {
                    Ok(())
                }
            }
        };
        match decision {
            Ok(()) => {
                cx.grant(action);
                Ok(())
            }
            Err(e) => {
                let mut detail = json!({"reason": e.to_string()});
                if let Some(p) = cx.principal() {
                    detail["role"] = p.role.clone().into();
                }
                self.record(cx, &Event::new(action, object, Outcome::Denied).detail(detail))?;
                Err(VaultError::Denied(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B (8 digits there; the last 6 are the 6-digit codes).
    #[test]
    fn totp_matches_rfc_6238_vectors() {
        let sha1 = b"12345678901234567890";
        let sha256 = b"12345678901234567890123456789012";
        let cases: [(u64, u32, u32); 4] = [
            (59, 94_287_082, 46_119_246),
            (1_111_111_109, 7_081_804, 68_084_774),
            (1_234_567_890, 89_005_924, 91_819_424),
            (20_000_000_000, 65_353_130, 77_737_706),
        ];
        for (t, want1, want256) in cases {
            assert_eq!(hotp(sha1, TotpAlg::Sha1, t / 30, 8), want1, "SHA1 at {t}");
            assert_eq!(hotp(sha256, TotpAlg::Sha256, t / 30, 8), want256, "SHA256 at {t}");
            assert_eq!(totp(sha1, TotpAlg::Sha1, t), want1 % 1_000_000);
        }
    }

    #[test]
    fn base32_is_rfc_4648() {
        for n in 0..30u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base32_decode(&base32(&data)), Some(data));
        }
        assert_eq!(base32_decode("MZXW6YT!"), None);
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn the_default_policy_denies_by_default() {
        let p = Policy::default();
        assert!(p.allows("model-consumer", Action::ModelPredict));
        assert!(!p.allows("model-consumer", Action::ModelTrain));
        assert!(p.allows("admin", Action::UserManage));
        assert!(!p.allows("admin", Action::DatasetReadRaw));
        assert!(p.allows("auditor", Action::AuditVerify));
        assert!(!p.allows("nobody", Action::ModelPredict));
        assert!(!p.allows("data-scientist", Action::DatasetReadRaw));
        assert!(p.needs_mfa(Action::ModelExport) && p.needs_mfa(Action::UserManage));
        assert!(!p.needs_mfa(Action::ModelPredict));
        // Each action's name parses back to it, and the names are distinct.
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("model.verify"), None);
        assert!(!matches("dataset.*", "datasetx.read") && matches("dataset.*", "dataset.read"));
        for r in p.roles.keys() {
            assert!(ROLES.contains(&r.as_str()));
        }
    }
}
