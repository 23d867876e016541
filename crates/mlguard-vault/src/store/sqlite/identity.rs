//! [`IdentityStore`] in SQLite: users, tokens (as hashes) and TOTP state, with the changes
//! that must be atomic (a TOTP step used once, failure counting) done as single statements.

use rusqlite::{OptionalExtension, params};

use super::{SqliteCatalog, sql};
use crate::VaultError;
use crate::identity::{TokenInfo, User};
use crate::store::{AuditEntry, IdentityStore, MfaState, TokenHolder};

fn constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl IdentityStore for SqliteCatalog {
    fn add_user(
        &self,
        name: &str,
        role: &str,
        created: &str,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            tx.execute(
                "INSERT INTO users (name, role, created) VALUES (?1, ?2, ?3)",
                params![name, role, created],
            )
            .map_err(|e| {
                if constraint(&e) {
                    VaultError::Refused(format!("user {name} exists"))
                } else {
                    sql(e)
                }
            })?;
            Ok(())
        })
    }

    fn users(&self) -> Result<Vec<User>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare("SELECT name, role, disabled, mfa_secret IS NOT NULL, created FROM users ORDER BY name")
            .map_err(sql)?;
        let rows = st
            .query_map([], |r| {
                Ok(User {
                    name: r.get(0)?,
                    role: r.get(1)?,
                    disabled: r.get::<_, i64>(2)? != 0,
                    mfa: r.get(3)?,
                    created: r.get(4)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    fn disable_user(&self, name: &str, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            let n = tx
                .execute("UPDATE users SET disabled = 1 WHERE name = ?1", params![name])
                .map_err(sql)?;
            if n == 0 {
                return Err(VaultError::NotFound(format!("user {name}")));
            }
            Ok(())
        })
    }

    fn user_disabled(&self, user: &str) -> Result<Option<bool>, VaultError> {
        self.conn()?
            .query_row("SELECT disabled FROM users WHERE name = ?1", params![user], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|d| d.map(|d| d != 0))
            .map_err(sql)
    }

    fn add_token(
        &self,
        id: &str,
        user: &str,
        hash: &str,
        created: &str,
        expires: Option<i64>,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            tx.execute(
                "INSERT INTO tokens (id, user, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, user, hash, created, expires],
            )
            .map_err(sql)?;
            Ok(())
        })
    }

    fn revoke_token(&self, id: &str, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            let n = tx
                .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", params![id])
                .map_err(sql)?;
            if n == 0 {
                return Err(VaultError::NotFound(format!("token {id}")));
            }
            Ok(())
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare(
                "SELECT id, user, created, expires, revoked FROM tokens ORDER BY user, created",
            )
            .map_err(sql)?;
        let rows = st
            .query_map([], |r| {
                Ok(TokenInfo {
                    id: r.get(0)?,
                    user: r.get(1)?,
                    created: r.get(2)?,
                    expires: r.get(3)?,
                    revoked: r.get::<_, i64>(4)? != 0,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    fn token_holder(&self, id: &str) -> Result<Option<TokenHolder>, VaultError> {
        self.conn()?
            .prepare_cached(
                "SELECT t.user, t.hash, t.expires, t.revoked, u.role, u.disabled
                 FROM tokens t JOIN users u ON u.name = t.user WHERE t.id = ?1",
            )
            .and_then(|mut st| {
                st.query_row(params![id], |r| {
                    Ok(TokenHolder {
                        user: r.get(0)?,
                        hash: r.get(1)?,
                        expires: r.get(2)?,
                        revoked: r.get::<_, i64>(3)? != 0,
                        role: r.get(4)?,
                        disabled: r.get::<_, i64>(5)? != 0,
                    })
                })
            })
            .optional()
            .map_err(sql)
    }

    fn set_mfa(
        &self,
        user: &str,
        sealed: &str,
        alg: &str,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET mfa_secret = ?2, mfa_alg = ?3, mfa_last_step = 0 WHERE name = ?1",
                    params![user, sealed, alg],
                )
                .map_err(sql)?;
            if n == 0 {
                return Err(VaultError::NotFound(format!("user {user}")));
            }
            Ok(())
        })
    }

    fn mfa_state(&self, token_id: &str, user: &str) -> Result<MfaState, VaultError> {
        let conn = self.conn()?;
        let locked_until: i64 = conn
            .query_row(
                "SELECT mfa_locked_until FROM tokens WHERE id = ?1",
                params![token_id],
                |r| r.get(0),
            )
            .map_err(sql)?;
        let row: Option<(Option<String>, Option<String>, i64)> = conn
            .query_row(
                "SELECT mfa_secret, mfa_alg, mfa_last_step FROM users WHERE name = ?1",
                params![user],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sql)?;
        let (secret, last_step) = match row {
            Some((Some(s), Some(a), last)) => (Some((s, a)), last),
            Some((_, _, last)) => (None, last),
            None => (None, 0),
        };
        Ok(MfaState { locked_until, secret, last_step })
    }

    fn mfa_accept(&self, user: &str, token_id: &str, step: i64) -> Result<bool, VaultError> {
        self.write(None, |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET mfa_last_step = ?2 WHERE name = ?1 AND mfa_last_step < ?2",
                    params![user, step],
                )
                .map_err(sql)?;
            if n == 1 {
                tx.execute("UPDATE tokens SET mfa_failures = 0 WHERE id = ?1", params![token_id])
                    .map_err(sql)?;
            }
            Ok(n == 1)
        })
    }

    fn mfa_failure(
        &self,
        token_id: &str,
        now: i64,
        max: i64,
        lock: &dyn Fn(i64) -> i64,
    ) -> Result<Option<i64>, VaultError> {
        self.write(None, |tx| {
            let (failures, lockouts): (i64, i64) = tx
                .query_row(
                    "UPDATE tokens SET mfa_failures = mfa_failures + 1 WHERE id = ?1
                     RETURNING mfa_failures, mfa_lockouts",
                    params![token_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(sql)?;
            if failures < max {
                return Ok(None);
            }
            let secs = lock(lockouts);
            tx.execute(
                "UPDATE tokens SET mfa_failures = 0, mfa_locked_until = ?2, mfa_lockouts = mfa_lockouts + 1 WHERE id = ?1",
                params![token_id, now.saturating_add(secs)],
            )
            .map_err(sql)?;
            Ok(Some(secs))
        })
    }
}
