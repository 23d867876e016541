//! [`IdentityStore`] in PostgreSQL: users, tokens (as hashes) and TOTP state, with the
//! changes that must be atomic across servers (a TOTP step used once, failure counting)
//! done as single conditional statements.

use postgres::error::SqlState;

use super::{PgCatalog, sql};
use crate::VaultError;
use crate::identity::{TokenInfo, User};
use crate::store::{AuditEntry, IdentityStore, MfaState, TokenHolder};

impl IdentityStore for PgCatalog {
    fn add_user(
        &self,
        name: &str,
        role: &str,
        created: &str,
        audit: AuditEntry<'_>,
    ) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            tx.execute(
                "INSERT INTO users (name, role, created) VALUES ($1, $2, $3)",
                &[&name, &role, &created],
            )
            .map_err(|e| {
                if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                    VaultError::Refused(format!("user {name} exists"))
                } else {
                    sql(e)
                }
            })?;
            Ok(())
        })
    }

    fn users(&self) -> Result<Vec<User>, VaultError> {
        let rows = self
            .pool
            .get()?
            .query(
                "SELECT name, role, disabled, mfa_secret IS NOT NULL, created FROM users ORDER BY name",
                &[],
            )
            .map_err(sql)?;
        Ok(rows
            .iter()
            .map(|r| User {
                name: r.get(0),
                role: r.get(1),
                disabled: r.get(2),
                mfa: r.get(3),
                created: r.get(4),
            })
            .collect())
    }

    fn disable_user(&self, name: &str, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            let n = tx
                .execute("UPDATE users SET disabled = TRUE WHERE name = $1", &[&name])
                .map_err(sql)?;
            if n == 0 {
                return Err(VaultError::NotFound(format!("user {name}")));
            }
            Ok(())
        })
    }

    fn user_disabled(&self, user: &str) -> Result<Option<bool>, VaultError> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT disabled FROM users WHERE name = $1", &[&user])
            .map_err(sql)?;
        Ok(row.map(|r| r.get(0)))
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
                "INSERT INTO tokens (id, user_name, hash, created, expires) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &user, &hash, &created, &expires],
            )
            .map_err(sql)?;
            Ok(())
        })
    }

    fn revoke_token(&self, id: &str, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            let n = tx
                .execute("UPDATE tokens SET revoked = TRUE WHERE id = $1", &[&id])
                .map_err(sql)?;
            if n == 0 {
                return Err(VaultError::NotFound(format!("token {id}")));
            }
            Ok(())
        })
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, VaultError> {
        let rows = self
            .pool
            .get()?
            .query(
                "SELECT id, user_name, created, expires, revoked FROM tokens ORDER BY user_name, created",
                &[],
            )
            .map_err(sql)?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                id: r.get(0),
                user: r.get(1),
                created: r.get(2),
                expires: r.get(3),
                revoked: r.get(4),
            })
            .collect())
    }

    fn token_holder(&self, id: &str) -> Result<Option<TokenHolder>, VaultError> {
        let row = self
            .pool
            .get()?
            .query_opt(
                "SELECT t.user_name, t.hash, t.expires, t.revoked, u.role, u.disabled
                 FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.id = $1",
                &[&id],
            )
            .map_err(sql)?;
        Ok(row.map(|r| TokenHolder {
            user: r.get(0),
            hash: r.get(1),
            expires: r.get(2),
            revoked: r.get(3),
            role: r.get(4),
            disabled: r.get(5),
        }))
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
                    "UPDATE users SET mfa_secret = $2, mfa_alg = $3, mfa_last_step = 0 WHERE name = $1",
                    &[&user, &sealed, &alg],
                )
                .map_err(sql)?;
            if n == 0 {
                return Err(VaultError::NotFound(format!("user {user}")));
            }
            Ok(())
        })
    }

    fn mfa_state(&self, token_id: &str, user: &str) -> Result<MfaState, VaultError> {
        let mut conn = self.pool.get()?;
        let locked_until: i64 = conn
            .query_opt("SELECT mfa_locked_until FROM tokens WHERE id = $1", &[&token_id])
            .map_err(sql)?
            .ok_or_else(|| VaultError::NotFound(format!("token {token_id}")))?
            .get(0);
        let row = conn
            .query_opt(
                "SELECT mfa_secret, mfa_alg, mfa_last_step FROM users WHERE name = $1",
                &[&user],
            )
            .map_err(sql)?;
        let (secret, last_step) = match row {
            Some(r) => {
                let (s, a): (Option<String>, Option<String>) = (r.get(0), r.get(1));
                (s.zip(a), r.get(2))
            }
            None => (None, 0),
        };
        Ok(MfaState { locked_until, secret, last_step })
    }

    fn mfa_accept(&self, user: &str, token_id: &str, step: i64) -> Result<bool, VaultError> {
        self.write(None, |tx| {
            let n = tx
                .execute(
                    "UPDATE users SET mfa_last_step = $2 WHERE name = $1 AND mfa_last_step < $2",
                    &[&user, &step],
                )
                .map_err(sql)?;
            if n == 1 {
                tx.execute("UPDATE tokens SET mfa_failures = 0 WHERE id = $1", &[&token_id])
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
            let r = tx
                .query_one(
                    "UPDATE tokens SET mfa_failures = mfa_failures + 1 WHERE id = $1
                     RETURNING mfa_failures, mfa_lockouts",
                    &[&token_id],
                )
                .map_err(sql)?;
            let (failures, lockouts): (i64, i64) = (r.get(0), r.get(1));
            if failures < max {
                return Ok(None);
            }
            let secs = lock(lockouts);
            tx.execute(
                "UPDATE tokens SET mfa_failures = 0, mfa_locked_until = $2, mfa_lockouts = mfa_lockouts + 1 WHERE id = $1",
                &[&token_id, &now.saturating_add(secs)],
            )
            .map_err(sql)?;
            Ok(Some(secs))
        })
    }
}
