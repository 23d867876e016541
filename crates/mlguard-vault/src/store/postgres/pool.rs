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
}

impl PgPool {
    /// A pool for `url` (`postgres://USER[:PASS]@HOST:PORT/DB`, or key=value pairs), with
    /// what the URL leaves out taken from the standard `PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGPASSWORD` and `PGDATABASE` variables. Connects once to check it.
    pub fn connect(url: &str) -> Result<PgPool, VaultError> {
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
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(VaultError::Config(
                "sslmode=require: this build of mlguard connects to PostgreSQL without TLS; \
                 reach the database over a private network or a TLS tunnel"
                    .into(),
            ));
        }
        config.connect_timeout(Duration::from_secs(10));
        config.application_name("mlguard");
        let location = PgPool::describe(&config);
        let pool = PgPool { config, location, idle: Mutex::new(Vec::new()) };
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
            _ => self.config.connect(NoTls).map_err(|e| {
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
