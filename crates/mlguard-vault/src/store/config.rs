//! `config.toml`: which backends a vault's stores live in, chosen at `mlguard init` and
//! read by every command that opens the vault.
//!
//! ```toml
//! format = 1
//! [stores]
//! catalog = "sqlite"                                  # or "postgres://USER@HOST:PORT/DB"
//! objects = "directory"                               # or "s3://BUCKET/PREFIX"
//! policy = "file"                                     # or "catalog" (with PostgreSQL)
//! keys = "file"
//! ```
//!
//! No secret is written here: a database password comes from `PGPASSWORD`, object store
//! credentials from the standard AWS variables.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{DirObjects, PgCatalog, PgPool, PolicyFile, S3Objects, SqliteCatalog, Stores};
use crate::witness::WitnessConfig;
use crate::{VaultError, io_err};

/// The backends of a vault's stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backends {
    /// `sqlite` (the vault directory's `catalog.db`) or a `postgres://` URL.
    pub catalog: String,
    /// `directory` (the vault directory's `objects/`) or an `s3://BUCKET/PREFIX` URL.
    pub objects: String,
    /// `file` (`policy.json`) or `catalog` (a table of a PostgreSQL catalog).
    pub policy: String,
    /// `file` (`keyring.json` and `signing/` in the vault directory).
    pub keys: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    format: u32,
    stores: Backends,
    /// Witnesses that cosign the audit log's checkpoints (`[[witnesses]]`).
    #[serde(default)]
    witnesses: Vec<WitnessConfig>,
}

impl Default for Backends {
    /// The embedded default for one machine.
    fn default() -> Backends {
        Backends {
            catalog: "sqlite".into(),
            objects: "directory".into(),
            policy: "file".into(),
            keys: "file".into(),
        }
    }
}

impl Backends {
    /// Backends for a catalog (`None`: SQLite) and an object store (`None`: the
    /// directory); with PostgreSQL, the policy lives in the catalog so every server sees
    /// one. A password in the catalog's URL is refused: it would be written to disk.
    pub fn new(catalog: Option<&str>, objects: Option<&str>) -> Result<Backends, VaultError> {
        let mut b = Backends::default();
        if let Some(url) = catalog {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(VaultError::Config(format!(
                    "the catalog must be a postgres://USER@HOST:PORT/DB address, not {url:?}"
                )));
            }
            let auth = url.split_once("://").map(|(_, r)| r).unwrap_or("");
            let auth = auth.split(['/', '?']).next().unwrap_or("");
            if auth.rsplit_once('@').is_some_and(|(user, _)| user.contains(':')) {
                return Err(VaultError::Config(
                    "the catalog's address holds a password, which would be stored in config.toml: \
                     leave it out and set PGPASSWORD for every mlguard process instead"
                        .into(),
                ));
            }
            b.catalog = url.to_owned();
            b.policy = "catalog".into();
        }
        if let Some(url) = objects {
            if !url.starts_with("s3://") {
                return Err(VaultError::Config(format!(
                    "the object store must be an s3://BUCKET/PREFIX address, not {url:?}"
                )));
            }
            b.objects = url.to_owned();
        }
        Ok(b)
    }

    /// Refuses a directory that already holds a vault (its `config.toml`): a vault is
    /// created once.
    pub fn refuse_existing(root: &Path) -> Result<(), VaultError> {
        if root.join("config.toml").exists() {
            return Err(VaultError::Config(format!(
                "{} already holds a vault (config.toml)",
                root.display()
            )));
        }
        Ok(())
    }

    /// Whether these are the embedded default (everything in the vault directory).
    pub fn embedded(&self) -> bool {
        *self == Backends::default()
    }

    /// The backends recorded in the vault directory `root` (the embedded default for a
    /// vault made before `config.toml` existed).
    pub fn read(root: &Path) -> Result<Backends, VaultError> {
        let path = root.join("config.toml");
        if !path.exists() {
            return Ok(Backends::default());
        }
        Backends::read_file(&path)
    }

    /// The witnesses configured in the vault directory `root`'s `config.toml`.
    pub fn witnesses(root: &Path) -> Result<Vec<WitnessConfig>, VaultError> {
        let path = root.join("config.toml");
        if !path.exists() {
            return Ok(Vec::new());
        }
        Ok(Backends::config_file(&path)?.witnesses)
    }

    /// The backends described by a file in `config.toml`'s format.
    pub fn read_file(path: &Path) -> Result<Backends, VaultError> {
        Ok(Backends::config_file(path)?.stores)
    }

    fn config_file(path: &Path) -> Result<ConfigFile, VaultError> {
        let text = std::fs::read_to_string(path)
            .map_err(io_err(format!("cannot read {}", path.display())))?;
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|e| VaultError::Config(format!("{} is invalid: {e}", path.display())))?;
        if file.format != 1 {
            return Err(VaultError::Config(format!(
                "{} has format {}; this mlguard reads format 1",
                path.display(),
                file.format
            )));
        }
        Ok(file)
    }

    /// Records these backends in `root/config.toml` (refused if it exists unless
    /// `replace`: a vault is initialised once, and moved by a migration).
    pub(crate) fn write(&self, root: &Path, replace: bool) -> Result<(), VaultError> {
        // TOML basic strings take JSON's escapes.
        let q = |v: &str| serde_json::to_string(v).unwrap_or_default();
        // Witnesses configured stay (a migration rewrites the stores only).
        let witnesses = Backends::witnesses(root)?;
        let mut text = format!(
            "# mlguard vault: where its stores are (see docs/deploy.md)\nformat = 1\n\n[stores]\ncatalog = {}\nobjects = {}\npolicy = {}\nkeys = {}\n",
            q(&self.catalog),
            q(&self.objects),
            q(&self.policy),
            q(&self.keys)
        );
        for w in witnesses {
            text.push_str(&format!(
                "\n[[witnesses]]\nvkey = {}\nurl = {}\n",
                q(&w.vkey),
                q(&w.url)
            ));
        }
        mlguard_seal::write_atomic(&root.join("config.toml"), text.as_bytes(), replace)?;
        Ok(())
    }

    /// Checks that the backends outside the vault directory can be reached and used
    /// (the database migrated, the object store's conditional writes), before a vault is
    /// made on them.
    pub fn check(&self) -> Result<(), VaultError> {
        if self.catalog != "sqlite" {
            PgCatalog::open(Arc::new(PgPool::connect(&self.catalog)?))?;
        }
        if self.objects != "directory" {
            S3Objects::open(&self.objects)?;
        }
        Ok(())
    }

    /// Opens the stores (the vault directory `root` holds the embedded ones).
    pub fn open(&self, root: &Path) -> Result<Stores, VaultError> {
        let unknown = |what: &str, v: &str| {
            VaultError::Config(format!("config.toml: unknown {what} backend {v:?}"))
        };
        let (catalog, policy): (Box<dyn super::CatalogStore>, Box<dyn super::PolicyStore>) =
            match self.catalog.as_str() {
                "sqlite" => {
                    if self.policy != "file" {
                        return Err(unknown("policy", &self.policy));
                    }
                    (Box::new(SqliteCatalog::open(root)?), Box::new(PolicyFile::new(root)))
                }
                url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                    let pg = PgCatalog::open(Arc::new(PgPool::connect(url)?))?;
                    let policy: Box<dyn super::PolicyStore> = match self.policy.as_str() {
                        "catalog" => Box::new(pg.policy()),
                        "file" => Box::new(PolicyFile::new(root)),
                        other => return Err(unknown("policy", other)),
                    };
                    (Box::new(pg), policy)
                }
                other => return Err(unknown("catalog", other)),
            };
        let objects: Box<dyn super::ObjectStore> = match self.objects.as_str() {
            "directory" => Box::new(DirObjects::open(root)?),
            url if url.starts_with("s3://") => Box::new(S3Objects::open(url)?),
            other => return Err(unknown("objects", other)),
        };
        if self.keys != "file" {
            return Err(unknown("keys", &self.keys));
        }
        Ok(Stores { catalog, objects, policy })
    }
}
