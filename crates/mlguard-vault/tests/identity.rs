//! Users, tokens, TOTP and the policy: the whole role × action matrix from the policy,
//! replayed and brute-forced codes, revoked and expired tokens, and no secret in the log.

use mlguard_seal::{Keystore, Secret};
use mlguard_vault::identity::{Action, AuthError, Policy, ROLES, TotpAlg, hotp, otpauth_secret};
use mlguard_vault::{Actor, Ctx, Vault, VaultError};

fn vault(dir: &std::path::Path) -> Vault {
    let key = dir.join("key");
    Keystore::init(&dir.join("v"), &Secret::create_key_file(&key).expect("key")).expect("init");
    Vault::open(&dir.join("v"), &Secret::from_key_file(&key).expect("key")).expect("open")
}

/// The TOTP secret of an otpauth URI.
fn secret_of(uri: &str) -> Vec<u8> {
    otpauth_secret(uri).expect("secret")
}

/// A decision as the policy's refusal (`Err`) or allowance; any other failure fails the test.
fn refusal(r: Result<(), VaultError>) -> Result<(), AuthError> {
    match r {
        Ok(()) => Ok(()),
        Err(VaultError::Denied(e)) => Err(e),
        Err(e) => Err(AuthError::MfaRequired(format!("not a decision but a failure: {e}"))),
    }
}

fn code(secret: &[u8], at: i64) -> String {
    format!("{:06}", hotp(secret, TotpAlg::Sha1, at as u64 / 30, 6))
}

#[test]
fn every_role_and_action_as_the_policy_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vault(dir.path());
    let (policy, stamp) =
        Policy::load(&mlguard_vault::store::PolicyFile::new(v.root())).expect("policy");
    assert_eq!(policy, Policy::default(), "written with the defaults");
    assert!(stamp.is_some() && v.root().join("policy.json").is_file(), "and stored");
    let mut now = 1_900_000_000i64;
    for role in ROLES {
        let user = format!("u-{role}");
        v.add_user(&Ctx::local(), &user, role).expect("user");
        let secret = secret_of(&v.enroll_mfa(&Ctx::local(), &user, TotpAlg::Sha1).expect("enroll"));
        let (_, token) = v.create_token(&Ctx::local(), &user, None).expect("token");
        let who = v.authenticate(&token).expect("auth").expect("valid token");
        assert_eq!(who.role, *role);
        for action in Action::ALL {
            let allowed = policy.allows(role, action);
            let mfa = policy.needs_mfa(action);
            // Without a code.
            let as_who = || Ctx::new(Actor::Token(who.clone()), "r").at(now);
            let r = refusal(v.authorize(&as_who(), action, "x"));
            match (allowed, mfa) {
                (false, _) => {
                    assert!(matches!(r, Err(AuthError::Forbidden { .. })), "{role} {action}: {r:?}")
                }
                (true, true) => {
                    assert_eq!(
                        r,
                        Err(AuthError::MfaRequired(action.as_str().into())),
                        "{role} {action}"
                    )
                }
                (true, false) => assert_eq!(r, Ok(()), "{role} {action}"),
            }
            // With a fresh code (a new step each time: codes are single-use).
            now += 30;
            let cx = Ctx::new(Actor::Token(who.clone()), "r").at(now);
            let r = refusal(v.authorize(&cx.with_totp(Some(&code(&secret, now))), action, "x"));
            assert_eq!(r.is_ok(), allowed, "{role} {action} with a code: {r:?}");
        }
    }
    assert!(v.verify_audit(&Ctx::local()).expect("verify").ok());
}

#[test]
fn replay_brute_force_revocation_expiry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vault(dir.path());
    v.add_user(&Ctx::local(), "alice", "data-scientist").expect("user");
    assert!(v.add_user(&Ctx::local(), "alice", "admin").is_err(), "no second alice");
    assert!(v.add_user(&Ctx::local(), "bob", "root").is_err(), "no such role");
    let uri = v.enroll_mfa(&Ctx::local(), "alice", TotpAlg::Sha1).expect("enroll");
    assert!(uri.starts_with("otpauth://totp/mlguard:alice?secret="), "{}", *uri);
    let secret = secret_of(&uri);
    assert_eq!(secret.len(), 20, "160 bits");
    let (_, stolen) = v.create_token(&Ctx::local(), "alice", None).expect("token");
    let (_, own) = v.create_token(&Ctx::local(), "alice", None).expect("token");
    let thief = v.authenticate(&stolen).expect("auth").expect("valid");
    let alice = v.authenticate(&own).expect("auth").expect("valid");
    let t = 1_900_000_000i64;

    // A code works once; the previous and next steps are accepted, not older ones.
    let c = code(&secret, t);
    assert_eq!(v.check_mfa(&alice, &c, t).expect("check"), Ok(()));
    assert_eq!(v.check_mfa(&alice, &c, t).expect("check"), Err(AuthError::MfaRejected), "replay");
    assert_eq!(v.check_mfa(&alice, &code(&secret, t + 30), t).expect("check"), Ok(()), "+1 step");
    assert_eq!(
        v.check_mfa(&alice, &code(&secret, t - 30), t).expect("check"),
        Err(AuthError::MfaRejected),
        "older than the last used"
    );

    // Five wrong codes through the stolen token lock it, not alice's own token.
    let t2 = t + 300;
    for i in 0..4 {
        assert_eq!(
            v.check_mfa(&thief, "000000", t2 + i).expect("check"),
            Err(AuthError::MfaRejected)
        );
    }
    assert_eq!(
        v.check_mfa(&thief, "000000", t2 + 4).expect("check"),
        Err(AuthError::MfaLocked(30))
    );
    let right = code(&secret, t2 + 5);
    assert!(
        matches!(v.check_mfa(&thief, &right, t2 + 5).expect("check"), Err(AuthError::MfaLocked(_))),
        "locked even with the right code"
    );
    assert_eq!(
        v.check_mfa(&alice, &right, t2 + 5).expect("check"),
        Ok(()),
        "the owner's token is not locked"
    );
    // The next lock doubles.
    let t3 = t2 + 100;
    for i in 0..4 {
        let _ = v.check_mfa(&thief, "111111", t3 + i).expect("check");
    }
    assert_eq!(
        v.check_mfa(&thief, "111111", t3 + 4).expect("check"),
        Err(AuthError::MfaLocked(60))
    );

    // Revoked, expired, forged and disabled.
    let (id, short) = v.create_token(&Ctx::local(), "alice", Some(-1)).expect("token");
    assert_eq!(v.authenticate(&short).expect("auth"), Err(AuthError::BadToken), "expired");
    v.revoke_token(&Ctx::local(), &id).expect("revoke");
    v.revoke_token(&Ctx::local(), &thief.token_id).expect("revoke");
    assert_eq!(v.authenticate(&stolen).expect("auth"), Err(AuthError::BadToken), "revoked");
    let mut forged = own.to_string();
    forged.pop();
    forged.push(if own.ends_with('0') { '1' } else { '0' });
    assert_eq!(v.authenticate(&forged).expect("auth"), Err(AuthError::BadToken), "one digit off");
    assert_eq!(v.authenticate("Bearer nonsense").expect("auth"), Err(AuthError::BadToken));
    v.disable_user(&Ctx::local(), "alice").expect("disable");
    assert_eq!(v.authenticate(&own).expect("auth"), Err(AuthError::BadToken), "disabled user");
    assert!(v.create_token(&Ctx::local(), "alice", None).is_err());

    // No secret reaches the log: neither a token nor the TOTP seed nor a code.
    let log: String =
        v.catalog().audit_entries(0).expect("entries").into_iter().map(|(_, t, _)| t).collect();
    assert!(!log.contains(own.as_str()) && !log.contains(stolen.as_str()));
    assert!(!log.contains(&own[own.len() - 64..]));
    assert!(
        !log.contains(uri.split("secret=").nth(1).and_then(|s| s.split('&').next()).expect("b32"))
    );
    assert!(!log.contains(&right));
    assert!(v.verify_audit(&Ctx::local()).expect("verify").ok());
}

/// Token holders are cached for `CACHE_TIME` (one second): a token revoked, or a user
/// disabled, through another server sharing the catalog stops working within that time;
/// through this one, at once. A token never accepted is never cached.
#[test]
fn revocation_elsewhere_takes_effect_within_the_cache_time() {
    use mlguard_vault::identity::CACHE_TIME;
    let dir = tempfile::tempdir().expect("tempdir");
    let here = vault(dir.path());
    let key = Secret::from_key_file(&dir.path().join("key")).expect("key");
    let elsewhere = Vault::open(&dir.path().join("v"), &key).expect("a second server");
    let local = Ctx::local();
    here.add_user(&local, "alice", "data-scientist").expect("user");
    here.add_user(&local, "bob", "data-scientist").expect("user");
    let (id, token) = here.create_token(&local, "alice", None).expect("token");
    let (_, bobs) = here.create_token(&local, "bob", None).expect("token");
    assert!(here.authenticate(&token).expect("auth").is_ok());
    assert!(here.authenticate(&bobs).expect("auth").is_ok());

    let revoked = std::time::Instant::now();
    elsewhere.revoke_token(&local, &id).expect("revoked elsewhere");
    elsewhere.disable_user(&local, "bob").expect("disabled elsewhere");
    assert_eq!(elsewhere.authenticate(&token).expect("auth"), Err(AuthError::BadToken));
    // Here, the cached holders serve until they are a cache time old, then the catalog says no.
    while here.authenticate(&token).expect("auth").is_ok() {
        assert!(
            revoked.elapsed() < CACHE_TIME,
            "accepted {:?} after revocation",
            revoked.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(revoked.elapsed() <= CACHE_TIME + std::time::Duration::from_millis(100));
    std::thread::sleep(CACHE_TIME);
    assert_eq!(here.authenticate(&bobs).expect("auth"), Err(AuthError::BadToken), "disabled");

    // Revoked here: refused at once, cache or not.
    let (id, token) = here.create_token(&local, "alice", None).expect("token");
    assert!(here.authenticate(&token).expect("auth").is_ok());
    here.revoke_token(&local, &id).expect("revoke");
    assert_eq!(here.authenticate(&token).expect("auth"), Err(AuthError::BadToken), "at once");
}
