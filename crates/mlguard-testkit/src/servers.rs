//! Real backing servers for the scale-out tests, started by the tests themselves on
//! loopback and stopped when dropped: PostgreSQL from Debian's package (a throwaway
//! cluster in a temporary directory) and `moto_server` from PyPI (S3 and KMS).
//!
//! A test that needs one and cannot start it fails: these never skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it right after).
#[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

pub(crate) fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs a PostgreSQL tool: as the `postgres` user when we are root (the server refuses
/// to run as root).
fn pg_tool(bin: &Path, tool: &str, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

/// A throwaway PostgreSQL cluster on 127.0.0.1, stopped (and removed) when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    root: bool,
    port: u16,
    /// Server options beyond the port and address (TLS).
    extra: String,
}

impl Postgres {
    /// Creates and starts a cluster (installing Debian's `postgresql` first if it is
    /// missing and we may). Panics if it cannot.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn start() -> Postgres {
        Postgres::start_with(None)
    }

    /// As [`Postgres::start`], serving TLS with the certificate and key given (PEM).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Postgres {
        Postgres::start_with(Some((cert_pem, key_pem)))
    }

    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    fn start_with(tls: Option<(&str, &str)>) -> Postgres {
        let root = is_root();
        let bin = pg_bin()
            .or_else(|| {
                if root {
                    let _ = Command::new("apt-get").args(["install", "-y", "-q", "postgresql"]).status();
                }
                pg_bin()
            })
            .unwrap_or_else(|| {
                panic!("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
            });
        let dir = tempfile::Builder::new()
            .prefix("mlguard-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a directory for PostgreSQL: {e}"));
        if root {
            let ok = Command::new("chmod")
                .arg("755")
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success())
                && Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(dir.path())
                    .status()
                    .is_ok_and(|s| s.success());
            if !ok {
                panic!("cannot hand {} to the postgres user", dir.path().display());
            }
        }
        let data = dir.path().join("data");
        let out = pg_tool(&bin, "initdb", root)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb: {e}"));
        if !out.status.success() {
            panic!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut extra = String::new();
        if let Some((cert, key)) = tls {
            let (c, k) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            let written = std::fs::write(&c, cert).and_then(|()| std::fs::write(&k, key));
            written.unwrap_or_else(|e| panic!("cannot write the TLS files: {e}"));
            let _ = Command::new("chmod").arg("600").arg(&k).status();
            if root {
                let _ = Command::new("chown").arg("postgres:postgres").arg(&c).arg(&k).status();
            }
            extra = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                c.display(),
                k.display()
            );
        }
        let port = free_port();
        let pg = Postgres { dir, bin, root, port, extra };
        pg.pg_ctl_start();
        pg
    }

    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    fn pg_ctl_start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200{}",
            self.port,
            self.dir.path().display(),
            self.extra
        );
        let out = pg_tool(&self.bin, "pg_ctl", self.root)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log.txt"))
            .args(["-w", "-t", "60", "start", "-o", &opts])
            .stdout(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_ctl: {e}"));
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.path().join("log.txt")).unwrap_or_default();
            panic!("PostgreSQL did not start: {}\n{log}", String::from_utf8_lossy(&out.stderr));
        }
    }

    /// Stops the server at once (as a crash would), keeping its data.
    pub fn stop_immediately(&self) {
        let _ = pg_tool(&self.bin, "pg_ctl", self.root)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Starts it again after [`Postgres::stop_immediately`].
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// A new, empty database in the cluster; its URL.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn database(&self, name: &str) -> String {
        let out = pg_tool(&self.bin, "createdb", self.root)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", name])
            .output()
            .unwrap_or_else(|e| panic!("cannot run createdb: {e}"));
        if !out.status.success() {
            panic!("createdb {name} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop_immediately();
    }
}

/// `moto_server` (S3 and KMS) on 127.0.0.1, from a virtualenv under `venv_dir`; stopped
/// when dropped. It runs in its authenticating mode: after three bootstrap calls that
/// create an IAM user, every request must be signed (SigV4) with that user's key
/// ([`Moto::access_key`], [`Moto::secret_key`]); a wrong signature is refused (403).
pub struct Moto {
    child: Child,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The IAM user's access key id.
    pub access_key: String,
    /// Its secret key.
    pub secret_key: String,
}

/// Creates the IAM user every later request signs as (moto's three unauthenticated calls).
const BOOTSTRAP: &str = r#"
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="mlguard")
iam.put_user_policy(UserName="mlguard", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
k = iam.create_access_key(UserName="mlguard")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
"#;

impl Moto {
    /// The region used.
    pub const REGION: &'static str = "us-east-1";

    /// Starts moto (installing `moto[server]` into `venv_dir` if needed). Panics if it
    /// cannot.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn start(venv_dir: &Path) -> Moto {
        let python =
            crate::python_venv(venv_dir, "import moto.server", &["moto[server]==5.2.5", "boto3"]);
        let server = python.with_file_name("moto_server");
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut moto =
            Moto { child, endpoint, access_key: String::new(), secret_key: String::new() };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                panic!("moto_server did not listen on port {port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = Command::new(&python)
            .args(["-c", BOOTSTRAP, &moto.endpoint])
            .output()
            .unwrap_or_else(|e| panic!("cannot run python: {e}"));
        let keys = String::from_utf8_lossy(&out.stdout).into_owned();
        let Some((id, secret)) = keys.trim().split_once(' ') else {
            panic!("moto's IAM bootstrap failed: {}", String::from_utf8_lossy(&out.stderr));
        };
        (moto.access_key, moto.secret_key) = (id.to_owned(), secret.to_owned());
        moto
    }

    /// Runs Python `code` with boto3 against this server (`s3` and `kms` clients bound),
    /// returning what it printed. Panics if it fails.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn boto3(&self, venv_dir: &Path, code: &str) -> String {
        let prelude = format!(
            "import boto3\nkw = dict(endpoint_url={:?}, region_name={:?}, aws_access_key_id={:?}, aws_secret_access_key={:?})\ns3 = boto3.client('s3', **kw)\nkms = boto3.client('kms', **kw)\n",
            self.endpoint,
            Moto::REGION,
            self.access_key,
            self.secret_key
        );
        let out = Command::new(venv_dir.join("bin/python"))
            .args(["-c", &format!("{prelude}{code}")])
            .output()
            .unwrap_or_else(|e| panic!("cannot run python: {e}"));
        if !out.status.success() {
            panic!("boto3 call failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
