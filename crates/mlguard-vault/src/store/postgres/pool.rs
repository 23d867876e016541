//! A small pool of synchronous PostgreSQL connections: idle connections are kept (up to
//! a bound) and reused; one that broke is dropped, and a new one is made on demand.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::{VaultError, poisoned};

/// Idle connections kept per process.
const MAX_IDLE: usize = 8;

/// Connections to one database.
pub struct PgPool {
    config: Config,
    location: String,
    idle: Mutex<Vec<Client>>,
    /// With `sslmode=require`: TLS, the server's certificate and name verified.
    tls: Option<super::tls::RustlsConnect>,
}

/// Takes libpq's `sslrootcert` option (a file of CA certificates) out of a connection
/// string the client library does not know it in, returning the rest and the path.
fn take_root_cert(url: &str) -> (String, Option<String>) {
    if let Some((base, query)) = url.split_once('?') {
        let (mut kept, mut root) = (Vec::new(), None);
        for pair in query.split('&') {
            match pair.strip_prefix("sslrootcert=") {
                Some(path) => root = Some(path.to_owned()),
                None => kept.push(pair),
            }
        }
        let rest =
            if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        return (rest, root);
    }
    if url.contains("://") {
        return (url.to_owned(), None);
    }
    let (mut kept, mut root) = (Vec::new(), None);
    for word in url.split_whitespace() {
        match word.strip_prefix("sslrootcert=") {
            Some(path) => root = Some(path.to_owned()),
            None => kept.push(word),
        }
    }
    (kept.join(" "), root)
}

impl PgPool {
    /// A pool for `url` (`postgres://USER[:PASS]@HOST:PORT/DB`, or key=value pairs), with
    /// what the URL leaves out taken from the standard `PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGPASSWORD` and `PGDATABASE` variables. Connects once to check it.
    pub fn connect(url: &str) -> Result<PgPool, VaultError> {
        let (url, root) = take_root_cert(url);
        let mut config: Config = url.parse().map_err(|e| {
            VaultError::Config(format!("the catalog's PostgreSQL address is invalid: {e}"))
        })?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            config.host(env("PGHOST").as_deref().unwrap_or("localhost"));
        }
        if config.get_ports().is_empty()
            && let Some(p) = env("PGPORT").and_then(|p| p.parse().ok())
        {
            config.port(p);
        }
        if config.get_user().is_none()
            && let Some(u) = env("PGUSER")
        {
            config.user(&u);
        }
        if config.get_password().is_none()
            && let Some(p) = env("PGPASSWORD")
        {
            config.password(p);
        }
        if config.get_dbname().is_none()
            && let Some(d) = env("PGDATABASE")
        {
            config.dbname(&d);
        }
        if !url.contains("sslmode=") && env("PGSSLMODE").as_deref() == Some("require") {
            config.ssl_mode(postgres::config::SslMode::Require);
        }
        // TLS when asked for (`sslmode=require`): always verified (the server's
        // certificate against the CA in `sslrootcert` / PGSSLROOTCERT or the system's
        // roots, and its name). Otherwise none: a database on a private network.
        let tls = if config.get_ssl_mode() == postgres::config::SslMode::Require {
            let ca = match root.or_else(|| env("PGSSLROOTCERT")) {
                Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| {
                    VaultError::Config(format!("sslrootcert {path}: cannot read it: {e}"))
                })?),
                None => None,
            };
            Some(super::tls::RustlsConnect::new(ca.as_deref())?)
        } else {
            config.ssl_mode(postgres::config::SslMode::Disable);
            None
        };
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("mlguard");
        let location = PgPool::describe(&config);
        let pool = PgPool { config, location, idle: Mutex::new(Vec::new()), tls };
        drop(pool.get()?);
        Ok(pool)
    }

    /// The database as `postgres://USER@HOST:PORT/DB`, never with a password.
    fn describe(c: &Config) -> String {
        let host = match c.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        format!(
            "postgres://{}@{host}:{port}/{}",
            c.get_user().unwrap_or(""),
            c.get_dbname().or(c.get_user()).unwrap_or("")
        )
    }

    /// Where the database is, for messages (no password).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// A connection (an idle one, or a new one).
    pub(super) fn get(&self) -> Result<Pooled<'_>, VaultError> {
        let idle = self.idle.lock().map_err(poisoned)?.pop();
        let client = match idle {
            Some(c) if !c.is_closed() => c,
            _ => match &self.tls {
                Some(tls) => self.config.connect(tls.clone()),
                None => self.config.connect(NoTls),
            }
            .map_err(|e| {
                VaultError::Unavailable(format!(
                    "the catalog database {} cannot be reached ({e})",
                    self.location
                ))
            })?,
        };
        Ok(Pooled { client: Some(client), pool: self })
    }
}

/// A connection lent by the pool; returned to it when dropped unless it broke.
pub(super) struct Pooled<'a> {
    client: Option<Client>,
    pool: &'a PgPool,
}

impl Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a pooled connection is present until dropped")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a pooled connection is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            if c.is_closed() {
                return;
            }
            if let Ok(mut idle) = self.pool.idle.lock()
                && idle.len() < MAX_IDLE
            {
                idle.push(c);
            }
        }
    }
}
