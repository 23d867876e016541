//! The scale-out catalog: [`CatalogStore`], [`IdentityStore`] and [`PolicyStore`] in
//! PostgreSQL, shared by any number of mlguard processes.
//!
//! Every recorded change is appended to the audit log in the same transaction as the
//! change. The log's one serialisation point is a single head row (`audit_head`, the next
//! index) locked with `SELECT … FOR UPDATE` at the start of the appending transaction: a
//! waiter re-reads it after the holder commits, so indices are consecutive across
//! processes, and the `PRIMARY KEY (idx)` makes a writer that skipped the lock fail rather
//! than fork the log. Bulk bytes never go through the lock: objects are stored before
//! their row (see [`super::ObjectStore`]).
//!
//! Connections come from a small pool; a connection that broke is dropped, and an
//! unreachable database is [`VaultError::Unavailable`] (503 from the server), never a
//! half-done change: PostgreSQL rolls back what did not commit.

use std::sync::Arc;

use postgres::Transaction;
use postgres::error::SqlState;

use super::appender::{Appender, Job};
use super::group_commit::GroupCommit;
use super::{
    AuditEntry, CatalogStore, DatasetRecord, ModelRecord, OwnedAuditEntry, PolicyStamp,
    PolicyStore, Receipt, Snapshot, StoredCheckpoint, Table, TokenRow, UserRow,
};
use crate::VaultError;

mod identity;
mod pool;
mod tls;

pub use pool::PgPool;

/// Schema migrations, applied in order under an advisory lock (so processes starting
/// together migrate once); the index + 1 is the catalog version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE datasets (
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        object TEXT NOT NULL,
        blake3 TEXT NOT NULL,
        size BIGINT NOT NULL,
        rows BIGINT NOT NULL,
        columns BIGINT NOT NULL,
        schema TEXT NOT NULL,
        created TEXT NOT NULL,
        actor TEXT NOT NULL,
        report TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (name, version)
     );
     CREATE TABLE models (
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        object TEXT NOT NULL,
        blake3 TEXT NOT NULL,
        dataset TEXT NOT NULL,
        dataset_version BIGINT NOT NULL,
        target TEXT NOT NULL,
        metrics TEXT NOT NULL,
        created TEXT NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (name, version),
        FOREIGN KEY (dataset, dataset_version) REFERENCES datasets (name, version)
     );
     CREATE TABLE audit_head (id SMALLINT PRIMARY KEY CHECK (id = 0), size BIGINT NOT NULL);
     INSERT INTO audit_head (id, size) VALUES (0, 0);
     CREATE TABLE audit_entries (idx BIGINT PRIMARY KEY, entry TEXT NOT NULL, mac TEXT NOT NULL);
     CREATE TABLE audit_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
     CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created TEXT NOT NULL,
        mfa_secret TEXT,
        mfa_alg TEXT,
        mfa_last_step BIGINT NOT NULL DEFAULT 0
     );
     CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES users (name),
        hash TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        expires BIGINT,
        revoked BOOLEAN NOT NULL DEFAULT FALSE,
        mfa_failures BIGINT NOT NULL DEFAULT 0,
        mfa_locked_until BIGINT NOT NULL DEFAULT 0,
        mfa_lockouts BIGINT NOT NULL DEFAULT 0
     );
     CREATE TABLE policy (id SMALLINT PRIMARY KEY CHECK (id = 0), text TEXT NOT NULL, version BIGINT NOT NULL);
     CREATE TABLE published (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // The columnar form of a dataset version: its sealed object and plaintext BLAKE3.
    "ALTER TABLE datasets ADD COLUMN columnar_object TEXT;
     ALTER TABLE datasets ADD COLUMN columnar_blake3 TEXT;",
    // The Merkle frontier at each checkpoint, so a new process need not rehash the log.
    "ALTER TABLE audit_checkpoints ADD COLUMN frontier TEXT;",
];

/// The advisory lock migrations run under ("mlguard" in ASCII).
const MIGRATION_LOCK: i64 = 0x006d_6c67_7561_7264;

/// A database error: a lost or refused connection is [`VaultError::Unavailable`].
fn sql(e: postgres::Error) -> VaultError {
    if e.is_closed() || e.code().is_none() && e.as_db_error().is_none() {
        VaultError::Unavailable(format!("the catalog database cannot be reached ({e})"))
    } else {
        VaultError::Catalog(e.to_string())
    }
}

fn version(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn not_found(what: &str, name: &str, version: Option<u32>) -> VaultError {
    VaultError::NotFound(format!(
        "{what} {name}{}",
        version.map(|v| format!("@{v}")).unwrap_or_default()
    ))
}

/// An insert of a version that exists: another writer stored it first.
fn taken(e: postgres::Error, what: &str, name: &str, version: u32) -> VaultError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        VaultError::Conflict(format!(
            "{what} {name}@{version} was stored meanwhile by another process; nothing was stored: try again"
        ))
    } else {
        sql(e)
    }
}

/// Starts the appender of this process: one thread that takes every entry queued while
/// its previous transaction ran and appends them all in one (group commit: one head-row
/// lock and one durable commit for the batch, each entry its own consecutive index).
fn spawn_appender(pool: Arc<PgPool>) -> Result<Appender, VaultError> {
    Appender::spawn("mlguard-audit-appender", move |batch| append_batch(&pool, batch))
}

/// Appends `batch` in one durable transaction after taking the head row; the first index.
fn append_batch(pool: &PgPool, batch: &[Job]) -> Result<u64, VaultError> {
    let mut conn = pool.get()?;
    let mut tx = conn.transaction().map_err(sql)?;
    let next: i64 = tx
        .query_one("SELECT size FROM audit_head WHERE id = 0 FOR UPDATE", &[])
        .map_err(sql)?
        .get(0);
    let mut idx = Vec::with_capacity(batch.len());
    let mut entries = Vec::with_capacity(batch.len());
    let mut macs = Vec::with_capacity(batch.len());
    for (i, j) in batch.iter().enumerate() {
        let index = next + i as i64;
        let (entry, mac) = (j.build)(index as u64);
        idx.push(index);
        entries.push(entry);
        macs.push(mac);
    }
    tx.execute(
        "INSERT INTO audit_entries (idx, entry, mac) SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[])",
        &[&idx, &entries, &macs],
    )
    .map_err(sql)?;
    tx.execute("UPDATE audit_head SET size = $1 WHERE id = 0", &[&(next + batch.len() as i64)])
        .map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(next as u64)
}

/// The catalog in PostgreSQL. `Send + Sync`: callers share it.
pub struct PgCatalog {
    pool: Arc<PgPool>,
    /// The queue of this process's batching appender.
    appender: Appender,
    /// Group commit: commits made, and the barrier that makes them durable.
    group: GroupCommit,
}

impl PgCatalog {
    /// Sets a value every server reads (the shared keyring, the checkpoint verifier key).
    fn publish(&self, name: &str, value: &str) -> Result<(), VaultError> {
        self.pool
            .get()?
            .execute(
                "INSERT INTO published (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                &[&name, &value],
            )
            .map_err(sql)?;
        Ok(())
    }

    /// Connects to the catalog database of `pool` and migrates it.
    pub fn open(pool: Arc<PgPool>) -> Result<PgCatalog, VaultError> {
        let mut conn = pool.get()?;
        let mut tx = conn.transaction().map_err(sql)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(sql)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS mlguard_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            .map_err(sql)?;
        let current: i32 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM mlguard_schema", &[])
            .map_err(sql)?
            .get(0);
        if current as usize > MIGRATIONS.len() {
            return Err(VaultError::Catalog(format!(
                "catalog version {current} is newer than this mlguard ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(m).map_err(sql)?;
            tx.execute("INSERT INTO mlguard_schema (version) VALUES ($1)", &[&(i as i32 + 1)])
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        drop(conn);
        Ok(PgCatalog {
            appender: spawn_appender(Arc::clone(&pool))?,
            pool,
            group: GroupCommit::default(),
        })
    }

    /// The policy store sharing this catalog's database.
    pub fn policy(&self) -> PgPolicy {
        PgPolicy { pool: Arc::clone(&self.pool) }
    }

    /// Runs `change` in one transaction, with the audit entry `audit` appended first when
    /// given (taking the log's head lock); commits only if both succeed. A failure to
    /// append or commit the entry is [`VaultError::AuditUnavailable`].
    fn write<T>(
        &self,
        audit: Option<AuditEntry<'_>>,
        change: impl FnOnce(&mut Transaction<'_>) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let unavailable = |e: postgres::Error| match audit {
            Some(_) => VaultError::AuditUnavailable(e.to_string()),
            None => sql(e),
        };
        let mut conn = self.pool.get().map_err(|e| match (audit, e) {
            (Some(_), VaultError::Unavailable(m)) => VaultError::AuditUnavailable(m),
            (_, e) => e,
        })?;
        let mut tx = conn.transaction().map_err(unavailable)?;
        if self.group.enabled() {
            tx.batch_execute("SET LOCAL synchronous_commit = off").map_err(unavailable)?;
        }
        if let Some(build) = audit {
            append_audit(&mut tx, build)?;
        }
        let t = change(&mut tx)?;
        tx.commit().map_err(unavailable)?;
        self.group.committed();
        Ok(t)
    }

    fn dataset_row(r: &postgres::Row) -> DatasetRecord {
        DatasetRecord {
            name: r.get(0),
            version: version(r.get(1)),
            object: r.get(2),
            blake3: r.get(3),
            size: r.get::<_, i64>(4) as u64,
            rows: r.get::<_, i64>(5) as u64,
            columns: r.get::<_, i64>(6) as u64,
            schema: r.get(7),
            created: r.get(8),
            actor: r.get(9),
            report: r.get(10),
            columnar: r.get::<_, Option<String>>(11).zip(r.get::<_, Option<String>>(12)),
        }
    }

    fn model_row(r: &postgres::Row) -> ModelRecord {
        ModelRecord {
            name: r.get(0),
            version: version(r.get(1)),
            object: r.get(2),
            blake3: r.get(3),
            dataset: r.get(4),
            dataset_version: version(r.get(5)),
            target: r.get(6),
            metrics: r.get(7),
            created: r.get(8),
            actor: r.get(9),
        }
    }
}

/// Appends an audit entry inside `tx`, taking the log's head row first (the one
/// serialisation point between all writers of the log); a failure is
/// [`VaultError::AuditUnavailable`].
fn append_audit(tx: &mut Transaction<'_>, build: AuditEntry<'_>) -> Result<(), VaultError> {
    let unavailable = |e: postgres::Error| VaultError::AuditUnavailable(e.to_string());
    let next: i64 = tx
        .query_one("SELECT size FROM audit_head WHERE id = 0 FOR UPDATE", &[])
        .map_err(unavailable)?
        .get(0);
    let (entry, mac) = build(next as u64);
    tx.execute(
        "INSERT INTO audit_entries (idx, entry, mac) VALUES ($1, $2, $3)",
        &[&next, &entry, &mac],
    )
    .map_err(unavailable)?;
    tx.execute("UPDATE audit_head SET size = $1 WHERE id = 0", &[&(next + 1)])
        .map_err(unavailable)?;
    Ok(())
}

const DATASET_COLUMNS: &str = "name, version, object, blake3, size, rows, columns, schema, created, actor, report, columnar_object, columnar_blake3";

fn insert_dataset(tx: &mut Transaction<'_>, d: &DatasetRecord) -> Result<u64, postgres::Error> {
    let (columnar, columnar_blake3) = d.columnar.clone().unzip();
    tx.execute(
        &format!("INSERT INTO datasets ({DATASET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"),
        &[&d.name, &i64::from(d.version), &d.object, &d.blake3, &(d.size as i64), &(d.rows as i64), &(d.columns as i64), &d.schema, &d.created, &d.actor, &d.report, &columnar, &columnar_blake3],
    )
}
const MODEL_COLUMNS: &str =
    "name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor";

impl CatalogStore for PgCatalog {
    fn use_group_commit(&self) -> Result<(), VaultError> {
        self.group.enable();
        Ok(())
    }

    /// Under group commit, commits return before their WAL record is flushed; one
    /// synchronous commit flushes the WAL up to it, which covers every commit before it
    /// (PostgreSQL flushes the log in order). Concurrent callers share one flush.
    fn sync(&self) -> Result<(), VaultError> {
        self.group.sync(|| {
            // A commit that writes nothing flushes nothing: touch the sync row.
            self.pool
                .get()
                .and_then(|mut c| {
                    c.batch_execute(
                        "BEGIN; SET LOCAL synchronous_commit = on;
                         INSERT INTO published (name, value) VALUES ('sync', '') ON CONFLICT (name) DO UPDATE SET value = '';
                         COMMIT;",
                    )
                    .map_err(sql)
                })
                .map_err(|e| {
                    VaultError::AuditUnavailable(format!("the catalog's log cannot be flushed: {e}"))
                })
        })
    }

    fn next_version(&self, table: Table, name: &str) -> Result<u32, VaultError> {
        let q =
            format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {} WHERE name = $1", table.name());
        let v: i64 = self.pool.get()?.query_one(&q, &[&name]).map_err(sql)?.get(0);
        Ok(version(v))
    }

    fn add_dataset(&self, d: &DatasetRecord, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            insert_dataset(tx, d).map_err(|e| taken(e, "dataset", &d.name, d.version))?;
            Ok(())
        })
    }

    fn add_model(&self, m: &ModelRecord, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            tx.execute(
                &format!("INSERT INTO models ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
                &[&m.name, &i64::from(m.version), &m.object, &m.blake3, &m.dataset, &i64::from(m.dataset_version), &m.target, &m.metrics, &m.created, &m.actor],
            )
            .map_err(|e| taken(e, "model", &m.name, m.version))?;
            Ok(())
        })
    }

    fn dataset(&self, name: &str, version: Option<u32>) -> Result<DatasetRecord, VaultError> {
        let q = format!(
            "SELECT {DATASET_COLUMNS} FROM datasets WHERE name = $1 AND ($2::BIGINT IS NULL OR version = $2)
             ORDER BY version DESC LIMIT 1"
        );
        let v = version.map(i64::from);
        self.pool
            .get()?
            .query_opt(&q, &[&name, &v])
            .map_err(sql)?
            .map(|r| PgCatalog::dataset_row(&r))
            .ok_or_else(|| not_found("dataset", name, version))
    }

    fn model(&self, name: &str, version: Option<u32>) -> Result<ModelRecord, VaultError> {
        let q = format!(
            "SELECT {MODEL_COLUMNS} FROM models WHERE name = $1 AND ($2::BIGINT IS NULL OR version = $2)
             ORDER BY version DESC LIMIT 1"
        );
        let v = version.map(i64::from);
        self.pool
            .get()?
            .query_opt(&q, &[&name, &v])
            .map_err(sql)?
            .map(|r| PgCatalog::model_row(&r))
            .ok_or_else(|| not_found("model", name, version))
    }

    fn datasets(&self) -> Result<Vec<DatasetRecord>, VaultError> {
        let q = format!("SELECT {DATASET_COLUMNS} FROM datasets ORDER BY name, version");
        let rows = self.pool.get()?.query(&q, &[]).map_err(sql)?;
        Ok(rows.iter().map(PgCatalog::dataset_row).collect())
    }

    fn models(&self) -> Result<Vec<ModelRecord>, VaultError> {
        let q = format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY name, version");
        let rows = self.pool.get()?.query(&q, &[]).map_err(sql)?;
        Ok(rows.iter().map(PgCatalog::model_row).collect())
    }

    /// Through the appender: the entry is durable when this returns.
    fn enqueue_audit(&self, build: OwnedAuditEntry) -> Result<Receipt, VaultError> {
        self.appender.enqueue(build)
    }

    fn audit_entries(&self, from: u64) -> Result<Vec<(u64, String, String)>, VaultError> {
        let rows = self
            .pool
            .get()?
            .query(
                "SELECT idx, entry, mac FROM audit_entries WHERE idx >= $1 ORDER BY idx",
                &[&(from as i64)],
            )
            .map_err(sql)?;
        Ok(rows.iter().map(|r| (r.get::<_, i64>(0) as u64, r.get(1), r.get(2))).collect())
    }

    fn audit_len(&self) -> Result<u64, VaultError> {
        // The entries themselves, not the head: a deleted tail must show.
        let n: i64 = self
            .pool
            .get()?
            .query_one("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries", &[])
            .map_err(sql)?
            .get(0);
        Ok(n as u64)
    }

    fn add_checkpoint(
        &self,
        size: u64,
        note: &str,
        frontier: Option<&str>,
    ) -> Result<(), VaultError> {
        self.pool
            .get()?
            .execute(
                "INSERT INTO audit_checkpoints (size, note, frontier) VALUES ($1, $2, $3)
                 ON CONFLICT (size) DO UPDATE SET note = excluded.note,
                 frontier = COALESCE(excluded.frontier, audit_checkpoints.frontier)",
                &[&(size as i64), &note, &frontier],
            )
            .map_err(|e| VaultError::AuditUnavailable(e.to_string()))?;
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, VaultError> {
        let row = self
            .pool
            .get()?
            .query_opt(
                "SELECT size, note, frontier FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )
            .map_err(sql)?;
        Ok(row.map(|r| StoredCheckpoint {
            size: r.get::<_, i64>(0) as u64,
            note: r.get(1),
            frontier: r.get(2),
        }))
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, VaultError> {
        let rows = self
            .pool
            .get()?
            .query("SELECT size, note FROM audit_checkpoints ORDER BY size", &[])
            .map_err(sql)?;
        Ok(rows.iter().map(|r| (r.get::<_, i64>(0) as u64, r.get(1))).collect())
    }

    fn keyring(&self) -> Result<Option<String>, VaultError> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT value FROM published WHERE name = 'keyring.json'", &[])
            .map_err(sql)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn store_keyring(&self, text: &str) -> Result<(), VaultError> {
        self.publish("keyring.json", text)
    }

    fn export(&self) -> Result<Snapshot, VaultError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(sql)?;
        let mut q = |q: &str| tx.query(q, &[]).map_err(sql);
        let mut snap = Snapshot {
            datasets: q(&format!("SELECT {DATASET_COLUMNS} FROM datasets ORDER BY name, version"))?
                .iter()
                .map(PgCatalog::dataset_row)
                .collect(),
            models: q(&format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY name, version"))?
                .iter()
                .map(PgCatalog::model_row)
                .collect(),
            ..Snapshot::default()
        };
        for r in q(
            "SELECT name, role, disabled, created, mfa_secret, mfa_alg, mfa_last_step FROM users ORDER BY name",
        )? {
            let (secret, alg): (Option<String>, Option<String>) = (r.get(4), r.get(5));
            snap.users.push(UserRow {
                name: r.get(0),
                role: r.get(1),
                disabled: r.get(2),
                created: r.get(3),
                mfa: secret.zip(alg),
                mfa_last_step: r.get(6),
            });
        }
        for r in q(
            "SELECT id, user_name, hash, created, expires, revoked, mfa_failures, mfa_locked_until, mfa_lockouts FROM tokens ORDER BY id",
        )? {
            snap.tokens.push(TokenRow {
                id: r.get(0),
                user: r.get(1),
                hash: r.get(2),
                created: r.get(3),
                expires: r.get(4),
                revoked: r.get(5),
                mfa_failures: r.get(6),
                mfa_locked_until: r.get(7),
                mfa_lockouts: r.get(8),
            });
        }
        snap.audit = q("SELECT idx, entry, mac FROM audit_entries ORDER BY idx")?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1), r.get(2)))
            .collect();
        snap.checkpoints = q("SELECT size, note FROM audit_checkpoints ORDER BY size")?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
            .collect();
        Ok(snap)
    }

    fn import(&self, s: &Snapshot) -> Result<(), VaultError> {
        self.write(None, |tx| {
            let held: i64 = tx
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM datasets) + (SELECT COUNT(*) FROM models) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM audit_entries)",
                    &[],
                )
                .map_err(sql)?
                .get(0);
            if held > 0 {
                return Err(VaultError::Refused("the target catalog is not empty".into()));
            }
            // The log's head first: no other writer appends while this runs.
            tx.execute("SELECT size FROM audit_head WHERE id = 0 FOR UPDATE", &[]).map_err(sql)?;
            for d in &s.datasets {
                insert_dataset(tx, d).map_err(sql)?;
            }
            for m in &s.models {
                tx.execute(
                    &format!("INSERT INTO models ({MODEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"),
                    &[&m.name, &i64::from(m.version), &m.object, &m.blake3, &m.dataset, &i64::from(m.dataset_version), &m.target, &m.metrics, &m.created, &m.actor],
                )
                .map_err(sql)?;
            }
            for u in &s.users {
                let (secret, alg) = u.mfa.clone().unzip();
                tx.execute(
                    "INSERT INTO users (name, role, disabled, created, mfa_secret, mfa_alg, mfa_last_step) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&u.name, &u.role, &u.disabled, &u.created, &secret, &alg, &u.mfa_last_step],
                )
                .map_err(sql)?;
            }
            for t in &s.tokens {
                tx.execute(
                    "INSERT INTO tokens (id, user_name, hash, created, expires, revoked, mfa_failures, mfa_locked_until, mfa_lockouts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[&t.id, &t.user, &t.hash, &t.created, &t.expires, &t.revoked, &t.mfa_failures, &t.mfa_locked_until, &t.mfa_lockouts],
                )
                .map_err(sql)?;
            }
            for (i, e, m) in &s.audit {
                tx.execute("INSERT INTO audit_entries (idx, entry, mac) VALUES ($1, $2, $3)", &[&(*i as i64), e, m])
                    .map_err(sql)?;
            }
            let size = s.audit.last().map(|(i, _, _)| *i as i64 + 1).unwrap_or(0);
            tx.execute("UPDATE audit_head SET size = $1 WHERE id = 0", &[&size]).map_err(sql)?;
            for (size, note) in &s.checkpoints {
                tx.execute("INSERT INTO audit_checkpoints (size, note) VALUES ($1, $2)", &[&(*size as i64), note])
                    .map_err(sql)?;
            }
            Ok(())
        })
    }

    fn publish_checkpoint_key(&self, verifier_key: &str) -> Result<(), VaultError> {
        self.publish("checkpoint.vkey", verifier_key)
    }

    fn rewrite_audit_entry(
        &self,
        index: u64,
        edit: &mut dyn FnMut(&str) -> String,
    ) -> Result<String, VaultError> {
        self.write(None, |tx| {
            let original: String = tx
                .query_opt("SELECT entry FROM audit_entries WHERE idx = $1", &[&(index as i64)])
                .map_err(sql)?
                .ok_or_else(|| VaultError::NotFound(format!("audit entry {index}")))?
                .get(0);
            tx.execute(
                "UPDATE audit_entries SET entry = $2 WHERE idx = $1",
                &[&(index as i64), &edit(&original)],
            )
            .map_err(sql)?;
            Ok(original)
        })
    }
}

/// The policy document in the catalog's database, shared by every server: the stamp is
/// a row version bumped by each replacement.
pub struct PgPolicy {
    pool: Arc<PgPool>,
}

impl PolicyStore for PgPolicy {
    fn load(&self) -> Result<Option<(String, PolicyStamp)>, VaultError> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT text, version FROM policy WHERE id = 0", &[])
            .map_err(sql)?;
        Ok(row.map(|r| (r.get(0), PolicyStamp(r.get::<_, i64>(1).to_string()))))
    }

    fn stamp(&self) -> Result<Option<PolicyStamp>, VaultError> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT version FROM policy WHERE id = 0", &[])
            .map_err(sql)?;
        Ok(row.map(|r| PolicyStamp(r.get::<_, i64>(0).to_string())))
    }

    fn store(&self, text: &str, replace: bool) -> Result<(), VaultError> {
        let q = if replace {
            "INSERT INTO policy (id, text, version) VALUES (0, $1, 1)
             ON CONFLICT (id) DO UPDATE SET text = excluded.text, version = policy.version + 1"
        } else {
            "INSERT INTO policy (id, text, version) VALUES (0, $1, 1) ON CONFLICT (id) DO NOTHING"
        };
        self.pool.get()?.execute(q, &[&text]).map_err(sql)?;
        Ok(())
    }

    fn location(&self) -> String {
        format!("the policy table of {}", self.pool.location())
    }
}
