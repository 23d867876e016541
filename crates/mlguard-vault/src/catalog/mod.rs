//! The catalog port: which datasets and models the vault holds, by name and version, who
//! may use it (users, tokens, second factors) and the audit log. The only place of SQL.
//!
//! SQLite (compiled in), migrated on open, every write in a transaction, and every change
//! that is recorded is appended to the audit log in the same transaction. One connection
//! behind a lock: statements are short, and what must be serialised (the audit log's next
//! index, a TOTP step used once) is serialised here rather than around whole requests.
//! Objects are written (atomically) before their row is inserted, so a crash can leave an
//! orphan object file but never a row that points at a missing or partial one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{VaultError, poisoned};

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
];

/// A dataset version in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// The sealed object's file name in `objects/`.
    pub object: String,
    /// BLAKE3 of the plaintext CSV.
    pub blake3: String,
    /// Plaintext bytes.
    pub size: u64,
    /// Data rows.
    pub rows: u64,
    /// Columns.
    pub columns: u64,
    /// The Table Schema it was validated against (JSON).
    pub schema: String,
    /// When it was ingested.
    pub created: String,
    /// Who ingested it.
    pub actor: String,
    /// What ingestion found and did (JSON): `validation`, `protection`, `pii_kept`,
    /// `poison` (`{}` for datasets stored before reports were kept).
    pub report: String,
}

impl DatasetRecord {
    /// Whether personal data was kept unprotected in this version (`--keep-pii`): reading
    /// it is reading raw data (`dataset.read-raw`).
    pub fn kept_pii(&self) -> bool {
        serde_json::from_str::<serde_json::Value>(&self.report)
            .is_ok_and(|r| r["pii_kept"].as_array().is_some_and(|k| !k.is_empty()))
    }
}

/// A model version in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// The sealed object's file name in `objects/`.
    pub object: String,
    /// BLAKE3 of the plaintext safetensors.
    pub blake3: String,
    /// Dataset it was trained on.
    pub dataset: String,
    /// Version of that dataset.
    pub dataset_version: u32,
    /// Target column.
    pub target: String,
    /// Held-out metrics (JSON).
    pub metrics: String,
    /// When it was trained.
    pub created: String,
    /// Who trained it.
    pub actor: String,
}

mod identity;

/// The open catalog. `Send + Sync`: callers share it; it serialises its statements.
pub struct Catalog {
    conn: Mutex<Connection>,
    /// The write-ahead log, fsynced by [`Catalog::sync`] under group commit.
    wal: PathBuf,
    /// Whether commits wait for their own fsync (off under group commit).
    group_commit: AtomicBool,
    /// Commits made through this handle (counted after each commit).
    commits: AtomicU64,
    /// (commits known durable, an fsync running)
    durable: Mutex<(u64, bool)>,
    synced: Condvar,
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

impl Catalog {
    /// Opens (creating if needed) and migrates the catalog at `path`.
    pub fn open(path: &Path) -> Result<Catalog, VaultError> {
        let mut conn = Connection::open(path).map_err(sql)?;
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
        Ok(Catalog {
            conn: Mutex::new(conn),
            wal: path.with_extension("db-wal"),
            group_commit: AtomicBool::new(false),
            commits: AtomicU64::new(0),
            durable: Mutex::new((0, false)),
            synced: Condvar::new(),
        })
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
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(t)
    }

    /// Switches to group commit: a commit no longer waits for its own fsync; whoever
    /// releases the result of an action must call [`Catalog::sync`] first, and must not
    /// release it if that fails. One fsync then covers every commit made before it.
    pub fn use_group_commit(&self) -> Result<(), VaultError> {
        self.conn()?.execute_batch("PRAGMA synchronous = NORMAL;").map_err(sql)?;
        self.group_commit.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The durability barrier: returns once every commit made through this handle so far
    /// is on disk. Under group commit, whoever finds no fsync running starts one for every
    /// commit made so far and the others wait for it; otherwise each commit was already
    /// synced and this returns at once.
    pub fn sync(&self) -> Result<(), VaultError> {
        if !self.group_commit.load(Ordering::SeqCst) {
            return Ok(());
        }
        let seq = self.commits.load(Ordering::SeqCst);
        let mut st = self.durable.lock().map_err(poisoned)?;
        loop {
            if st.0 >= seq {
                return Ok(());
            }
            if st.1 {
                st = self.synced.wait(st).map_err(poisoned)?;
                continue;
            }
            st.1 = true;
            let target = self.commits.load(Ordering::SeqCst);
            drop(st);
            let synced = std::fs::File::open(&self.wal).and_then(|f| f.sync_data());
            st = self.durable.lock().map_err(poisoned)?;
            st.1 = false;
            if synced.is_ok() {
                st.0 = st.0.max(target);
            }
            self.synced.notify_all();
            synced.map_err(|e| {
                VaultError::AuditUnavailable(format!("the catalog's log cannot be synced: {e}"))
            })?;
        }
    }

    /// The next free version of a dataset or model name.
    pub fn next_version(&self, table: Table, name: &str) -> Result<u32, VaultError> {
        let q =
            format!("SELECT COALESCE(MAX(version), 0) + 1 FROM {} WHERE name = ?1", table.name());
        self.conn()?.query_row(&q, params![name], |r| r.get(0)).map_err(sql)
    }

    /// Records a dataset version and its audit entry (in one transaction).
    pub fn add_dataset(&self, d: &DatasetRecord, audit: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(audit), |tx| {
            tx.execute(
                "INSERT INTO datasets (name, version, object, blake3, size, rows, columns, schema, created, actor, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![d.name, d.version, d.object, d.blake3, d.size as i64, d.rows as i64, d.columns as i64, d.schema, d.created, d.actor, d.report],
            )
            .map_err(|e| taken(e, "dataset", &d.name, d.version))?;
            Ok(())
        })
    }

    /// Records a model version and its audit entry (in one transaction).
    pub fn add_model(&self, m: &ModelRecord, audit: AuditEntry<'_>) -> Result<(), VaultError> {
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

    /// A dataset version (the latest when `version` is None).
    pub fn dataset(&self, name: &str, version: Option<u32>) -> Result<DatasetRecord, VaultError> {
        let q = "SELECT name, version, object, blake3, size, rows, columns, schema, created, actor, report FROM datasets
                 WHERE name = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1";
        self.conn()?
            .prepare_cached(q)
            .and_then(|mut st| st.query_row(params![name, version], Catalog::dataset_row))
            .optional()
            .map_err(sql)?
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "dataset {name}{}",
                    version.map(|v| format!("@{v}")).unwrap_or_default()
                ))
            })
    }

    /// A model version (the latest when `version` is None).
    pub fn model(&self, name: &str, version: Option<u32>) -> Result<ModelRecord, VaultError> {
        let q = "SELECT name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor FROM models
                 WHERE name = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1";
        self.conn()?
            .prepare_cached(q)
            .and_then(|mut st| st.query_row(params![name, version], Catalog::model_row))
            .optional()
            .map_err(sql)?
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "model {name}{}",
                    version.map(|v| format!("@{v}")).unwrap_or_default()
                ))
            })
    }

    /// Every dataset version, by name then version.
    pub fn datasets(&self) -> Result<Vec<DatasetRecord>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare("SELECT name, version, object, blake3, size, rows, columns, schema, created, actor, report FROM datasets ORDER BY name, version")
            .map_err(sql)?;
        let rows = st.query_map([], Catalog::dataset_row).map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    /// Every model version, by name then version.
    pub fn models(&self) -> Result<Vec<ModelRecord>, VaultError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare("SELECT name, version, object, blake3, dataset, dataset_version, target, metrics, created, actor FROM models ORDER BY name, version")
            .map_err(sql)?;
        let rows = st.query_map([], Catalog::model_row).map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }
}

/// Builds an audit entry's canonical text and MAC from its index.
pub type AuditEntry<'a> = &'a dyn Fn(u64) -> (String, String);

/// Appends an audit entry inside `tx`; a failure is [`VaultError::AuditUnavailable`].
fn append_audit(tx: &rusqlite::Transaction<'_>, build: AuditEntry<'_>) -> Result<(), VaultError> {
    let unavailable = |e: rusqlite::Error| VaultError::AuditUnavailable(e.to_string());
    let next: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(unavailable)?;
    let (entry, mac) = build(next as u64);
    tx.prepare_cached("INSERT INTO audit_entries (idx, entry, mac) VALUES (?1, ?2, ?3)")
        .and_then(|mut st| st.execute(params![next, entry, mac]))
        .map_err(unavailable)?;
    Ok(())
}

impl Catalog {
    /// Appends one audit entry, durably (its own transaction).
    pub fn append_audit(&self, build: AuditEntry<'_>) -> Result<(), VaultError> {
        self.write(Some(build), |_| Ok(()))
    }

    /// Every audit entry from index `from`: (index, entry text, MAC), in index order.
    pub fn audit_entries(&self, from: u64) -> Result<Vec<(u64, String, String)>, VaultError> {
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

    /// Number of audit entries (one past the highest index).
    pub fn audit_len(&self) -> Result<u64, VaultError> {
        self.conn()?
            .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries")
            .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(sql)
    }

    /// Stores a signed checkpoint of the first `size` entries.
    pub fn add_checkpoint(&self, size: u64, note: &str) -> Result<(), VaultError> {
        self.conn()?
            .execute(
                "INSERT OR REPLACE INTO audit_checkpoints (size, note) VALUES (?1, ?2)",
                params![size as i64, note],
            )
            .map_err(|e| VaultError::AuditUnavailable(e.to_string()))?;
        Ok(())
    }

    /// The size of the latest checkpoint (0 without one).
    pub fn checkpoints_last(&self) -> Result<u64, VaultError> {
        self.conn()?
            .query_row("SELECT COALESCE(MAX(size), 0) FROM audit_checkpoints", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(sql)
    }

    /// Every checkpoint: (size, signed note), by size.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, VaultError> {
        let conn = self.conn()?;
        let mut st =
            conn.prepare("SELECT size, note FROM audit_checkpoints ORDER BY size").map_err(sql)?;
        let rows =
            st.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))).map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    /// Replaces the text of audit entry `index` with `edit(text)` and returns the original,
    /// as anyone with write access to the catalog could: for the demo and tests of
    /// [`crate::Vault::verify_audit`], which must catch it. The vault never calls this.
    pub fn rewrite_audit_entry(
        &self,
        index: u64,
        edit: impl FnOnce(&str) -> String,
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
}

/// The catalog's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// Datasets.
    Datasets,
    /// Models.
    Models,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Datasets => "datasets",
            Table::Models => "models",
        }
    }
}
