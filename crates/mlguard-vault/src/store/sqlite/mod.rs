//! The embedded catalog: [`CatalogStore`] and [`IdentityStore`] in SQLite (`catalog.db` in
//! the vault directory), with the checkpoint verifier key published beside it.
//!
//! SQLite (compiled in), migrated on open, every write in a transaction, and every change
//! that is recorded is appended to the audit log in the same transaction. One connection
//! behind a lock: statements are short, and what must be serialised (the audit log's next
//! index, a TOTP step used once) is serialised here rather than around whole requests.
//! Objects are written (atomically) before their row is inserted, so a crash can leave an
//! orphan object file but never a row that points at a missing or partial one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use super::appender::{Appender, Job};
use super::group_commit::GroupCommit;
use super::{
    AuditEntry, CatalogStore, DatasetRecord, ModelRecord, OwnedAuditEntry, Receipt, Snapshot,
    StoredCheckpoint, Table, TokenRow, UserRow,
};
use crate::{VaultError, io_err, poisoned};

/// Schema migrations, applied in order; the index + 1 is the catalog version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE datasets (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        object TEXT NOT NULL,
        blake3 TEXT NOT NULL,
        size INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        columns INTEGER NOT NULL,
        schema TEXT NOT NULL,
        created TEXT NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE models (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        object TEXT NOT NULL,
        blake3 TEXT NOT NULL,
        dataset TEXT NOT NULL,
        dataset_version INTEGER NOT NULL,
        target TEXT NOT NULL,
        metrics TEXT NOT NULL,
        created TEXT NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (name, version),
        FOREIGN KEY (dataset, dataset_version) REFERENCES datasets (name, version)
    );",
    // What ingestion found and did: validation, protection, personal data kept, poisoning.
    "ALTER TABLE datasets ADD COLUMN report TEXT NOT NULL DEFAULT '{}';",
    // The audit log: entries (canonical JSON and its HMAC) and signed checkpoints.
    "CREATE TABLE audit_entries (idx INTEGER PRIMARY KEY, entry TEXT NOT NULL, mac TEXT NOT NULL);
     CREATE TABLE audit_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);",
    // Identities: users with a role and an optional TOTP secret (encrypted under the master
    // key), tokens stored as SHA-256 hashes with their own MFA failure counters.
    "CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL,
        mfa_secret TEXT,
        mfa_alg TEXT,
        mfa_last_step INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users (name),
        hash TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        expires INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0,
        mfa_failures INTEGER NOT NULL DEFAULT 0,
        mfa_locked_until INTEGER NOT NULL DEFAULT 0,
        mfa_lockouts INTEGER NOT NULL DEFAULT 0
     );",
    // The columnar form of a dataset version: its sealed object and plaintext BLAKE3.
    "ALTER TABLE datasets ADD COLUMN columnar_object TEXT;
     ALTER TABLE datasets ADD COLUMN columnar_blake3 TEXT;",
    // The Merkle frontier at each checkpoint, so a new process need not rehash the log.
    "ALTER TABLE audit_checkpoints ADD COLUMN frontier TEXT;",
];

const DATASET_COLUMNS: &str = "name, version, object, blake3, size, rows, columns, schema, created, actor, report, columnar_object, columnar_blake3";

fn insert_dataset(tx: &rusqlite::Transaction<'_>, d: &DatasetRecord) -> rusqlite::Result<usize> {
    let (columnar, columnar_blake3) = d.columnar.clone().unzip();
    tx.execute(
        &format!(
            "INSERT INTO datasets ({DATASET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ),
        params![d.name, d.version, d.object, d.blake3, d.size as i64, d.rows as i64, d.columns as i64, d.schema, d.created, d.actor, d.report, columnar, columnar_blake3],
    )
}

mod identity;

/// The open catalog. `Send + Sync`: callers share it; it serialises its statements.
pub struct SqliteCatalog {
    conn: Arc<Mutex<Connection>>,
    /// The write-ahead log, fsynced by [`SqliteCatalog::sync`] under group commit.
    wal: PathBuf,
    /// The vault directory (where the checkpoint verifier key is published).
    root: PathBuf,
    /// Group commit: commits made, and the barrier that makes them durable.
    group: Arc<GroupCommit>,
    /// Appends audit entries on their own, batched (and made durable under group commit
    /// before their receipts answer).
    appender: Appender,
}

/// Makes every commit written to the log `wal` durable.
fn flush_wal(wal: &Path) -> Result<(), VaultError> {
    std::fs::File::open(wal).and_then(|f| f.sync_data()).map_err(|e| {
        VaultError::AuditUnavailable(format!("the catalog's log cannot be synced: {e}"))
    })
}

/// Appends `batch` in one IMMEDIATE transaction; the first index. Under group commit the
/// batch is durable before this returns (one fsync shared with any commit made meanwhile).
fn append_batch(
    conn: &Mutex<Connection>,
    group: &GroupCommit,
    wal: &Path,
    batch: &[Job],
) -> Result<u64, VaultError> {
    let unavailable = |e: rusqlite::Error| VaultError::AuditUnavailable(e.to_string());
    let first = {
        let mut conn = conn.lock().map_err(poisoned)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        let mut first = None;
        for j in batch {
            let index = append_audit(&tx, &*j.build)?;
            first.get_or_insert(index);
        }
        tx.commit().map_err(unavailable)?;
        group.committed();
        first.unwrap_or_default()
    };
    group.sync(|| flush_wal(wal))?;
    Ok(first)
}

fn sql(e: rusqlite::Error) -> VaultError {
    VaultError::Catalog(e.to_string())
}

/// An insert of a version that exists: another writer stored it first.
fn taken(e: rusqlite::Error, what: &str, name: &str, version: u32) -> VaultError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            VaultError::Conflict(format!(
                "{what} {name}@{version} was stored meanwhile by another process; nothing was stored: try again"
            ))
        }
        _ => sql(e),
    }
}

impl SqliteCatalog {
    /// Opens (creating if needed) and migrates the catalog of the vault directory `root`.
    pub fn open(root: &Path) -> Result<SqliteCatalog, VaultError> {
        let path = root.join("catalog.db");
        let mut conn = Connection::open(&path).map_err(sql)?;
        // WAL: a commit is one append and one fsync of the log (synchronous = FULL keeps
        // every commit durable), and readers do not block the writer.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
        )
        .map_err(sql)?;
        // Another process (the CLI beside a server) may hold the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql)?;
        conn.execute_batch("CREATE TABLE IF NOT EXISTS catalog_version (version INTEGER NOT NULL)")
            .map_err(sql)?;
        let current: i64 = conn
            .query_row("SELECT COALESCE(MAX(version), 0) FROM catalog_version", [], |r| r.get(0))
            .map_err(sql)?;
        if current as usize > MIGRATIONS.len() {
            return Err(VaultError::Catalog(format!(
                "catalog version {current} is newer than this mlguard ({})",
                MIGRATIONS.len()
            )));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch(m).map_err(sql)?;
            tx.execute("INSERT INTO catalog_version (version) VALUES (?1)", params![i as i64 + 1])
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        let conn = Arc::new(Mutex::new(conn));
        let group = Arc::new(GroupCommit::default());
        let wal = path.with_extension("db-wal");
        let appender = {
            let (conn, group, wal) = (Arc::clone(&conn), Arc::clone(&group), wal.clone());
            Appender::spawn("mlguard-audit-appender", move |batch| {
                append_batch(&conn, &group, &wal, batch)
            })?
        };
        Ok(SqliteCatalog { conn, wal, root: root.to_path_buf(), group, appender })
    }

    /// The connection, for one statement or one transaction.
    fn conn(&self) -> Result<MutexGuard<'_, Connection>, VaultError> {
        self.conn.lock().map_err(poisoned)
    }

    /// Runs `change` in one IMMEDIATE transaction (the write lock is taken first, so two
    /// processes writing at once wait for each other), with the audit entry `audit`
    /// appended first when given; commits only if both succeed. A failure to append the
    /// entry is [`VaultError::AuditUnavailable`].
    fn write<T>(
        &self,
        audit: Option<AuditEntry<'_>>,
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        let mut conn = self.conn()?;
        let unavailable = |e: rusqlite::Error| match audit {
            Some(_) => VaultError::AuditUnavailable(e.to_string()),
            None => sql(e),
        };
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        if let Some(build) = audit {
            append_audit(&tx, build)?;
        }
        let t = change(&tx)?;
        tx.commit().map_err(unavailable)?;
        self.group.committed();
        Ok(t)
    }

    fn dataset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DatasetRecord> {
        Ok(DatasetRecord {
            name: r.get(0)?,
            version: r.get(1)?,
            object: r.get(2)?,
            blake3: r.get(3)?,
            size: r.get::<_, i64>(4)? as u64,
            rows: r.get::<_, i64>(5)? as u64,
            columns: r.get::<_, i64>(6)? as u64,
            schema: r.get(7)?,
            created: r.get(8)?,
            actor: r.get(9)?,
            report: r.get(10)?,
            columnar: r.get::<_, Option<String>>(11)?.zip(r.get::<_, Option<String>>(12)?),
        })
    }

    fn model_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ModelRecord> {
        Ok(ModelRecord {
            name: r.get(0)?,
            version: r.get(1)?,
            object: r.get(2)?,
            blake3: r.get(3)?,
            dataset: r.get(4)?,
            dataset_version: r.get(5)?,
            target: r.get(6)?,
            metrics: r.get(7)?,
            created: r.get(8)?,
            actor: r.get(9)?,
        })
    }
}

/// Appends an audit entry inside `tx` (its index); a failure is
/// [`VaultError::AuditUnavailable`].
fn append_audit(tx: &rusqlite::Transaction<'_>, build: AuditEntry<'_>) -> Result<u64, VaultError> {
    let unavailable = |e: rusqlite::Error| VaultError::AuditUnavailable(e.to_string());
    let next: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(unavailable)?;
    let (entry, mac) = build(next as u64);
    tx.prepare_cached("INSERT INTO audit_entries (idx, entry, mac) VALUES (?1, ?2, ?3)")
        .and_then(|mut st| st.execute(params![next, entry, mac]))
        .map_err(unavailable)?;
    Ok(next as u64)
}

impl CatalogStore for SqliteCatalog {
    fn use_group_commit(&self) -> Result<(), VaultError> {
        self.conn()?.execute_batch("PRAGMA synchronous = NORMAL;").map_err(sql)?;
        self.group.enable();
        Ok(())
    }

    fn sync(&self) -> Result<(), VaultError> {
        self.group.sync(|| flush_wal(&self.wal))
    }

    fn next_version(&self, table: Table, name: &str) -> Result<u32, VaultError> {
        let q =
            format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {} WHERE name = ?1", table.name());
        self.conn()?.query_row(&q, params![name], |r| r.get(0)).map_err(sql)
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
                "INSERT INTO models (name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![m.name, m.version, m.object, m.blake3, m.dataset, m.dataset_version, m.target, m.metrics, m.created, m.actor],
            )
            .map_err(|e| taken(e, "model", &m.name, m.version))?;
            Ok(())
        })
    }

    fn dataset(&self, name: &str, version: Option<u32>) -> Result<DatasetRecord, VaultError> {
        let q = format!(
            "SELECT {DATASET_COLUMNS} FROM datasets
             WHERE name = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1"
        );
        self.conn()?
            .prepare_cached(&q)
            .and_then(|mut st| st.query_row(params![name, version], SqliteCatalog::dataset_row))
            .optional()
            .map_err(sql)?
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "dataset {name}{}",
                    version.map(|v| format!("@{v}")).unwrap_or_default()
                ))
            })
    }

    fn model(&self, name: &str, version: Option<u32>) -> Result<ModelRecord, VaultError> {
        let q = "SELECT name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor FROM models
                 WHERE name = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1";
        self.conn()?
            .prepare_cached(q)
            .and_then(|mut st| st.query_row(params![name, version], SqliteCatalog::model_row))
            .optional()
            .map_err(sql)?
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "model {name}{}",
                    version.map(|v| format!("@{v}")).unwrap_or_default()
                ))
            })
    }

    fn datasets(&self) -> Result<Vec<DatasetRecord>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare(&format!("SELECT {DATASET_COLUMNS} FROM datasets ORDER BY name, version"))
            .map_err(sql)?;
        let rows = st.query_map([], SqliteCatalog::dataset_row).map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    fn models(&self) -> Result<Vec<ModelRecord>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare("SELECT name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor FROM models ORDER BY name, version")
            .map_err(sql)?;
        let rows = st.query_map([], SqliteCatalog::model_row).map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    fn enqueue_audit(&self, build: OwnedAuditEntry) -> Result<Receipt, VaultError> {
        self.appender.enqueue(build)
    }

    fn audit_entries(&self, from: u64) -> Result<Vec<(u64, String, String)>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare("SELECT idx, entry, mac FROM audit_entries WHERE idx >= ?1 ORDER BY idx")
            .map_err(sql)?;
        let rows = st
            .query_map(params![from as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    fn audit_len(&self) -> Result<u64, VaultError> {
        self.conn()?
            .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")
            .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(sql)
    }

    fn add_checkpoint(
        &self,
        size: u64,
        note: &str,
        frontier: Option<&str>,
    ) -> Result<(), VaultError> {
        self.conn()?
            .execute(
                "INSERT INTO audit_checkpoints (size, note, frontier) VALUES (?1, ?2, ?3)
                 ON CONFLICT (size) DO UPDATE SET note = excluded.note,
                 frontier = COALESCE(excluded.frontier, audit_checkpoints.frontier)",
                params![size as i64, note, frontier],
            )
            .map_err(|e| VaultError::AuditUnavailable(e.to_string()))?;
        Ok(())
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, VaultError> {
        self.conn()?
            .prepare_cached(
                "SELECT size, note, frontier FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row([], |r| {
                    Ok(StoredCheckpoint {
                        size: r.get::<_, i64>(0)? as u64,
                        note: r.get(1)?,
                        frontier: r.get(2)?,
                    })
                })
            })
            .optional()
            .map_err(sql)
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, VaultError> {
        let conn = self.conn()?;
        let mut st =
            conn.prepare("SELECT size, note FROM audit_checkpoints ORDER BY size").map_err(sql)?;
        let rows =
            st.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))).map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    fn rewrite_audit_entry(
        &self,
        index: u64,
        edit: &mut dyn FnMut(&str) -> String,
    ) -> Result<String, VaultError> {
        self.write(None, |tx| {
            let original: String = tx
                .query_row(
                    "SELECT entry FROM audit_entries WHERE idx = ?1",
                    params![index as i64],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?
                .ok_or_else(|| VaultError::NotFound(format!("audit entry {index}")))?;
            tx.execute(
                "UPDATE audit_entries SET entry = ?2 WHERE idx = ?1",
                params![index as i64, edit(&original)],
            )
            .map_err(sql)?;
            Ok(original)
        })
    }

    /// The embedded catalog is in the vault directory with `keyring.json`: no copy.
    fn keyring(&self) -> Result<Option<String>, VaultError> {
        Ok(None)
    }

    /// The embedded catalog is in the vault directory with `keyring.json`: no copy.
    fn store_keyring(&self, _: &str) -> Result<(), VaultError> {
        Ok(())
    }

    fn export(&self) -> Result<Snapshot, VaultError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(sql)?;
        let all = |q: &str| -> Result<Vec<Vec<rusqlite::types::Value>>, VaultError> {
            let mut st = tx.prepare(q).map_err(sql)?;
            let n = st.column_count();
            let rows = st
                .query_map([], |r| (0..n).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<_>>>())
                .map_err(sql)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sql)
        };
        use rusqlite::types::Value as V;
        let text = |v: &V| match v {
            V::Text(t) => t.clone(),
            _ => String::new(),
        };
        let int = |v: &V| match v {
            V::Integer(i) => *i,
            _ => 0,
        };
        let opt_text = |v: &V| match v {
            V::Text(t) => Some(t.clone()),
            _ => None,
        };
        let opt_int = |v: &V| match v {
            V::Integer(i) => Some(*i),
            _ => None,
        };
        let mut snap = Snapshot::default();
        {
            let mut st = tx
                .prepare(&format!("SELECT {DATASET_COLUMNS} FROM datasets ORDER BY name, version"))
                .map_err(sql)?;
            let rows = st.query_map([], SqliteCatalog::dataset_row).map_err(sql)?;
            snap.datasets = rows.collect::<Result<Vec<_>, _>>().map_err(sql)?;
            let mut st = tx
                .prepare("SELECT name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor FROM models ORDER BY name, version")
                .map_err(sql)?;
            let rows = st.query_map([], SqliteCatalog::model_row).map_err(sql)?;
            snap.models = rows.collect::<Result<Vec<_>, _>>().map_err(sql)?;
        }
        for r in all(
            "SELECT name, role, disabled, created, mfa_secret, mfa_alg, mfa_last_step FROM users ORDER BY name",
        )? {
            snap.users.push(UserRow {
                name: text(&r[0]),
                role: text(&r[1]),
                disabled: int(&r[2]) != 0,
                created: text(&r[3]),
                mfa: opt_text(&r[4]).zip(opt_text(&r[5])),
                mfa_last_step: int(&r[6]),
            });
        }
        for r in all(
            "SELECT id, user, hash, created, expires, revoked, mfa_failures, mfa_locked_until, mfa_lockouts FROM tokens ORDER BY id",
        )? {
            snap.tokens.push(TokenRow {
                id: text(&r[0]),
                user: text(&r[1]),
                hash: text(&r[2]),
                created: text(&r[3]),
                expires: opt_int(&r[4]),
                revoked: int(&r[5]) != 0,
                mfa_failures: int(&r[6]),
                mfa_locked_until: int(&r[7]),
                mfa_lockouts: int(&r[8]),
            });
        }
        for r in all("SELECT idx, entry, mac FROM audit_entries ORDER BY idx")? {
            snap.audit.push((int(&r[0]) as u64, text(&r[1]), text(&r[2])));
        }
        for r in all("SELECT size, note FROM audit_checkpoints ORDER BY size")? {
            snap.checkpoints.push((int(&r[0]) as u64, text(&r[1])));
        }
        Ok(snap)
    }

    fn import(&self, s: &Snapshot) -> Result<(), VaultError> {
        self.write(None, |tx| {
            let held: i64 = tx
                .query_row(
                    "SELECT (SELECT COUNT(*) FROM datasets) + (SELECT COUNT(*) FROM models) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM audit_entries)",
                    [],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if held > 0 {
                return Err(VaultError::Refused("the target catalog is not empty".into()));
            }
            for d in &s.datasets {
                insert_dataset(tx, d).map_err(sql)?;
            }
            for m in &s.models {
                tx.execute(
                    "INSERT INTO models (name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![m.name, m.version, m.object, m.blake3, m.dataset, m.dataset_version, m.target, m.metrics, m.created, m.actor],
                )
                .map_err(sql)?;
            }
            for u in &s.users {
                let (secret, alg) = u.mfa.clone().unzip();
                tx.execute(
                    "INSERT INTO users (name, role, disabled, created, mfa_secret, mfa_alg, mfa_last_step) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![u.name, u.role, u.disabled, u.created, secret, alg, u.mfa_last_step],
                )
                .map_err(sql)?;
            }
            for t in &s.tokens {
                tx.execute(
                    "INSERT INTO tokens (id, user, hash, created, expires, revoked, mfa_failures, mfa_locked_until, mfa_lockouts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![t.id, t.user, t.hash, t.created, t.expires, t.revoked, t.mfa_failures, t.mfa_locked_until, t.mfa_lockouts],
                )
                .map_err(sql)?;
            }
            for (i, e, m) in &s.audit {
                tx.execute("INSERT INTO audit_entries (idx, entry, mac) VALUES (?1, ?2, ?3)", params![*i as i64, e, m])
                    .map_err(sql)?;
            }
            for (size, note) in &s.checkpoints {
                tx.execute("INSERT INTO audit_checkpoints (size, note) VALUES (?1, ?2)", params![*size as i64, note])
                    .map_err(sql)?;
            }
            Ok(())
        })
    }

    fn publish_checkpoint_key(&self, verifier_key: &str) -> Result<(), VaultError> {
        let path = self.root.join("audit/checkpoint.vkey");
        let text = format!("{verifier_key}\n");
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            return Ok(());
        }
        std::fs::create_dir_all(self.root.join("audit"))
            .map_err(io_err("cannot create the audit directory"))?;
        mlguard_seal::write_atomic(&path, text.as_bytes(), false)?;
        Ok(())
    }
}
