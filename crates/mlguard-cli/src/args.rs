//! The command line, as clap structs. Resolved into library options in the command
//! modules before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// mlguard makes the data side of machine learning secure: it drafts a schema for a
/// dataset and validates CSV files against it, seals any file (AES-256-GCM, signed,
/// verified before it is opened), ingests datasets into a vault, trains and serves
/// logistic regression models from it with every artifact verified before use, signs
/// models in the OpenSSF format, scans model files for hidden code, and shows it all in
/// `mlguard demo`.
#[derive(Debug, Parser)]
#[command(name = "mlguard", version, propagate_version = true, max_term_width = 100)]
pub(crate) struct Cli {
    /// When to colour output (NO_COLOR is honoured with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub(crate) color: ColorChoice,
    #[command(flatten)]
    pub(crate) vault: VaultArgs,
    #[command(flatten)]
    pub(crate) server: ServerArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The command line. The global vault and server options are accepted by every command
/// but hidden from the option lists; the help of the commands that use them ends with
/// their own sections, written from the options' own help (so it cannot drift).
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let section = |title: &str, ids: &[&str]| {
        let mut text = format!("{title}:\n");
        for arg in cmd.get_arguments().filter(|a| ids.contains(&a.get_id().as_str())) {
            let long = arg.get_long().unwrap_or_default();
            let value = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map(|v| format!(" <{v}>"))
                .unwrap_or_default();
            let env = arg
                .get_env()
                .map(|e| format!(" [env: {}]", e.to_string_lossy()))
                .unwrap_or_default();
            let default = arg
                .get_default_values()
                .first()
                .map(|d| format!(" [default: {}]", d.to_string_lossy()))
                .unwrap_or_default();
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            text.push_str(&format!("  --{long}{value}\n          {help}{env}{default}\n"));
        }
        text
    };
    let vault = section("Vault options (global)", &["vault", "key_file", "passphrase_file"]);
    let server = section(
        "Server client options (global: work through a server)",
        &["server", "token", "totp", "ca_cert"],
    );
    let mut cmd = cmd.after_help(format!("{vault}\n{server}"));
    for path in USE_A_VAULT {
        let through = THROUGH_SERVER.contains(path);
        let text = if through { format!("{vault}\n{server}") } else { vault.clone() };
        cmd = at(cmd, path, &|c: clap::Command| c.after_help(text.clone()));
    }
    cmd
}

/// Applies `f` to the subcommand at `path`.
fn at(
    cmd: clap::Command,
    path: &[&str],
    f: &dyn Fn(clap::Command) -> clap::Command,
) -> clap::Command {
    match path {
        [] => f(cmd),
        [first, rest @ ..] => cmd.mut_subcommand(*first, |sub| at(sub, rest, f)),
    }
}

/// Commands that open a vault (their help ends with the vault options).
const USE_A_VAULT: &[&[&str]] = &[
    &["data", "ingest"],
    &["data", "list"],
    &["data", "report"],
    &["data", "download"],
    &["data", "protect"],
    &["data", "poison"],
    &["train"],
    &["predict"],
    &["init"],
    &["seal"],
    &["open"],
    &["verify"],
    &["keys", "list"],
    &["keys", "rotate"],
    &["keys", "export-public"],
    &["keys", "trust"],
    &["serve"],
    &["user", "add"],
    &["user", "list"],
    &["user", "disable"],
    &["token", "create"],
    &["token", "revoke"],
    &["token", "list"],
    &["mfa", "enroll"],
    &["audit", "verify"],
    &["audit", "show"],
    &["audit", "prove"],
    &["model", "list"],
    &["model", "inspect"],
    &["model", "verify"],
    &["model", "export"],
];

/// Commands that can go through a server (their help also ends with its options).
const THROUGH_SERVER: &[&[&str]] = &[
    &["data", "ingest"],
    &["data", "list"],
    &["data", "report"],
    &["data", "download"],
    &["train"],
    &["predict"],
    &["model", "list"],
    &["model", "inspect"],
    &["model", "export"],
    &["user", "add"],
    &["user", "list"],
    &["user", "disable"],
    &["token", "create"],
    &["token", "revoke"],
    &["token", "list"],
    &["mfa", "enroll"],
    &["audit", "verify"],
    &["audit", "show"],
    &["audit", "prove"],
];

/// Work through an mlguard server instead of opening a vault here.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Act as a client of this server (`https://HOST:PORT`) instead of opening a local
    /// vault: `data ingest|list|report|download`, `train`, `predict`, `model
    /// list|inspect|export`, `user`, `token`, `mfa enroll` and `audit` work this way.
    #[arg(long, global = true, hide = true, env = "MLGUARD_SERVER", value_name = "URL")]
    pub(crate) server: Option<String>,
    /// The bearer token (`mlg_…`) for --server. Prefer the MLGUARD_TOKEN variable: a
    /// command line is visible to other users of the machine.
    #[arg(
        long,
        global = true,
        hide = true,
        env = "MLGUARD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,
    /// A TOTP code for actions that need a second factor (else asked for on the terminal
    /// when the server wants one).
    #[arg(long, global = true, hide = true, value_name = "CODE")]
    pub(crate) totp: Option<String>,
    /// Trust this PEM certificate for --server (a development server's self-signed one),
    /// besides the system's roots.
    #[arg(long, global = true, hide = true, env = "MLGUARD_CA_CERT", value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,
}

/// Where the vault is and how to unlock it.
#[derive(Debug, Args)]
pub(crate) struct VaultArgs {
    /// The vault directory.
    #[arg(
        long,
        global = true,
        hide = true,
        env = "MLGUARD_VAULT",
        default_value = ".mlguard",
        value_name = "DIR"
    )]
    pub(crate) vault: PathBuf,
    /// Unlock the vault with this key file (32 random bytes, readable by its owner only).
    #[arg(long, global = true, hide = true, env = "MLGUARD_KEY_FILE", value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// Read the vault passphrase from this file (else MLGUARD_PASSPHRASE, else a prompt).
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the pipeline on a generated dataset and show each safeguard at work.
    Demo(DemoArgs),
    /// Work with datasets: infer-schema, validate, pii, protect, poison, ingest, report,
    /// list, download.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Create a vault: a random master key and a signing key, wrapped by a passphrase
    /// (Argon2id) or by a key file.
    ///
    /// With --key-file F, F is created (32 random bytes, mode 600) unless it exists; an
    /// existing key file readable by group or others is refused. Without it, the passphrase
    /// comes from --passphrase-file, MLGUARD_PASSPHRASE, or a prompt (asked twice).
    ///
    /// By default everything lives in the vault directory (SQLite, objects/). With
    /// --catalog and --objects, the catalog, audit log and policy live in PostgreSQL and
    /// the sealed objects in S3-compatible storage, shared by any number of `mlguard
    /// serve` processes; the directory then holds config.toml and the keys (see
    /// docs/deploy.md).
    Init(InitArgs),
    /// Seal a file: encrypt it (AES-256-GCM, streaming, 1 MiB segments) under a fresh data
    /// key wrapped by the vault's master key, and sign its header.
    Seal(SealArgs),
    /// Open a sealed file: verify the signature, the key and every segment, and write the
    /// plaintext only once all checks passed (a failed open leaves nothing behind).
    Open(OpenArgs),
    /// Verify a sealed file completely (signature, key, every segment, size, digest)
    /// without writing plaintext. Exit 0 good, 1 bad.
    Verify(VerifyArgs),
    /// Show a sealed file's header (no secrets, nothing verified).
    Inspect(InspectArgs),
    /// Manage the vault's keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Maintain the vault's stores.
    Vault {
        #[command(subcommand)]
        command: VaultCommand,
    },
    /// Train a logistic regression on a dataset in the vault and seal the model into it.
    ///
    /// The dataset is verified completely before a byte of it is parsed. Features come from
    /// the schema (numbers standardised, categories one-hot, id/ignore and dropped columns
    /// left out; pii columns without a protect action are refused). The stratified split
    /// keeps copies of a row on one side and uses a seed from the OS CSPRNG, sealed inside the model, so nobody can predict it
    /// and `--reproduce` can retrain bit-identically.
    Train(TrainArgs),
    /// Predict with a model in the vault: the model is verified before it is loaded, input
    /// rows that break the training schema are rejected by line, the rest predicted.
    Predict(PredictArgs),
    /// Scan other people's files for security flaws.
    Scan {
        #[command(subcommand)]
        command: ScanCommand,
    },
    /// Work with models: list, inspect, verify, export; OpenSSF model signing.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Serve the vault over HTTPS: every request needs a token of a role the vault's
    /// policy allows (and a fresh TOTP code for sensitive actions), and is recorded in the
    /// audit log before anything is done. See /openapi.json for the endpoints.
    Serve(ServeArgs),
    /// Witness other vaults' audit logs (C2SP tlog-witness): cosign a log's checkpoints
    /// only while each extends the last one cosigned, so a log cut back is caught.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Users of the vault and their roles (admin, data-steward, data-scientist,
    /// model-consumer, auditor; what each may do is in the vault's policy.json).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens: 256 random bits, printed once, stored only as their SHA-256.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// TOTP second factors (RFC 6238), needed for sensitive actions.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// The tamper-evident audit log: every action on the vault, allowed, denied or failed.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443", value_name = "ADDR")]
    pub(crate) listen: std::net::SocketAddr,
    /// The TLS certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM, PKCS#8).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Generate a self-signed certificate for localhost (development); prints its SHA-256
    /// fingerprint and writes it to VAULT/server-cert.pem for clients' --ca-cert.
    #[arg(long, conflicts_with_all = ["tls_cert", "insecure_http"])]
    pub(crate) tls_self_signed: bool,
    /// Plain HTTP without TLS: only on a loopback address.
    #[arg(long, conflicts_with = "tls_cert")]
    pub(crate) insecure_http: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WitnessCommand {
    /// Run a witness: POST /add-checkpoint answers an Ed25519 cosignature (C2SP
    /// tlog-cosignature) for a checkpoint signed by a trusted log that provably extends
    /// the last one this witness cosigned of it (kept in --state, written before
    /// answering). Prints the witness's verifier key, which vaults list in their
    /// config.toml under [[witnesses]] with this server's URL.
    Serve(WitnessServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct WitnessServeArgs {
    /// The witness's signing key: 32 random bytes (created, mode 600, if missing).
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// The witness's name (a schema-less URL such as witness.example.com/w1).
    #[arg(long)]
    pub(crate) name: String,
    /// A log to witness: its note verifier key (a vault's audit/checkpoint.vkey, or the
    /// verifier_key of `mlguard audit prove`). Repeat for several logs.
    #[arg(long = "log", value_name = "VKEY", required = true)]
    pub(crate) logs: Vec<String>,
    /// Where the witness keeps the latest checkpoint it cosigned per log (JSON).
    #[arg(long, value_name = "FILE")]
    pub(crate) state: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8444", value_name = "ADDR")]
    pub(crate) listen: std::net::SocketAddr,
    /// The TLS certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM, PKCS#8).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Plain HTTP without TLS: only on a loopback address.
    #[arg(long, conflicts_with = "tls_cert")]
    pub(crate) insecure_http: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user.
    Add {
        /// The user name (letters, digits, - _ .).
        name: String,
        /// admin, data-steward, data-scientist, model-consumer or auditor.
        #[arg(long)]
        role: String,
    },
    /// List the users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their tokens stop working.
    Disable {
        /// The user name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token for a user and print it once.
    Create {
        /// The user.
        #[arg(long)]
        user: String,
        /// Lifetime: N followed by s, m, h or d (default: no expiry).
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
    },
    /// Revoke a token by its id (the part after `mlg_`).
    Revoke {
        /// The token id.
        id: String,
    },
    /// List tokens: id, user, created, expiry, revoked (never a token's secret).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MfaCommand {
    /// Create (or replace) a user's TOTP secret and show the otpauth:// URI and a QR code
    /// for an authenticator app, once.
    Enroll {
        /// The user.
        #[arg(long)]
        user: String,
        /// HMAC-SHA1 (what authenticator apps expect) or HMAC-SHA256.
        #[arg(long, value_enum, default_value_t = TotpAlgArg::Sha1)]
        alg: TotpAlgArg,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TotpAlgArg {
    Sha1,
    Sha256,
}

impl From<TotpAlgArg> for mlguard_vault::identity::TotpAlg {
    fn from(a: TotpAlgArg) -> Self {
        match a {
            TotpAlgArg::Sha1 => Self::Sha1,
            TotpAlgArg::Sha256 => Self::Sha256,
        }
    }
}

/// Which audit entries to show.
#[derive(Debug, Args)]
pub(crate) struct AuditFilter {
    /// Only entries at or after this time (RFC 3339, e.g. 2026-11-26T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Only entries before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub(crate) until: Option<String>,
    /// Only entries by this actor.
    #[arg(long, value_name = "USER")]
    pub(crate) actor: Option<String>,
    /// Only this action (`model.train`), or actions starting with it followed by a dot
    /// (`model`).
    #[arg(long, value_name = "ACTION")]
    pub(crate) action: Option<String>,
    /// Only this outcome.
    #[arg(long, value_parser = ["allowed", "denied", "failed"], value_name = "OUTCOME")]
    pub(crate) outcome: Option<String>,
    /// Only entries whose object contains this text (`users@2`, `churn`).
    #[arg(long, value_name = "TEXT")]
    pub(crate) object: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Recompute the log: every entry's index and MAC, the RFC 6962 Merkle tree, and every
    /// signed checkpoint. Names the first entry that was edited, deleted or moved. Exit 0
    /// good, 1 bad.
    ///
    /// Then proves the log consistent with earlier checkpoints: one saved with `audit
    /// checkpoint` (--checkpoint FILE), and the latest this client verified of the same
    /// log (kept in MLGUARD_STATE_DIR, default $XDG_STATE_HOME/mlguard or
    /// ~/.local/state/mlguard): a log cut back, even with its checkpoints, is caught.
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// A checkpoint saved earlier (`mlguard audit checkpoint -o FILE`) that the log
        /// must still contain.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Print the latest signed checkpoint of the log (a C2SP signed note: origin, size,
    /// root, signature). Keep it, and check later that the log still extends it with
    /// `audit verify --checkpoint FILE`.
    Checkpoint {
        /// Write it to this file instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the entries, from the oldest: a table (time, actor, action, object, outcome),
    /// or JSON lines with --json. Filters combine.
    Show {
        #[command(flatten)]
        filter: AuditFilter,
        /// Print the entries as JSON lines, whole.
        #[arg(long)]
        json: bool,
    },
    /// The inclusion proof of entry N in the latest signed checkpoint (JSON: the entry,
    /// its leaf hash, the audit path, the checkpoint and its verifier key).
    Prove {
        /// The entry's index (from 0).
        #[arg(long, value_name = "N")]
        index: u64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScanCommand {
    /// Find code hidden in model files (pickle and formats built on it) without executing
    /// anything: every import is judged by an allowlist of what model files use; dangerous
    /// and unknown imports and malformed streams are findings. Formats are recognised by
    /// content: pickle (protocols 0-5), PyTorch zip and legacy (pickle or tar) files, NumPy .npy/.npz,
    /// joblib (plain or zlib/gzip/bz2/xz/lzma/lz4-compressed), Keras .keras and
    /// safetensors. Directories are scanned recursively.
    ///
    /// Exit status: 0 when nothing at or above --fail-on was found, 1 when something was,
    /// 2 on usage errors.
    Model(ScanModelArgs),
    /// Audit Python ML code (.py and .ipynb) for the six flaw classes of insecure ML
    /// pipelines: unvalidated data (C1), unchecked input (C2), seeds and randomness (C3),
    /// unsafe deserialisation (C4), storage and keys (C5), integrity (C6). Files that do
    /// not parse completely are still analysed; what did not parse is a finding.
    /// Directories are walked recursively, honouring .gitignore. Options can also be set
    /// in pyproject.toml under [tool.mlguard] (select, ignore, fail-on, fixed-seeds,
    /// honor-nosec, exclude); flags win.
    ///
    /// Suppress one finding with `# mlguard: ignore[MLG401] reason` on its line.
    ///
    /// Exit status: 0 when nothing at or above --fail-on was found, 1 when something was,
    /// 2 on usage or tool errors.
    Code(ScanCodeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ScanCodeArgs {
    /// Files or directories (.py, .pyi, .ipynb; a file named explicitly is read whatever
    /// its extension).
    #[arg(required_unless_present = "explain")]
    pub(crate) paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Only these rules: codes (MLG401), prefixes (MLG4) or names (pickle-load), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RULE,..")]
    pub(crate) select: Vec<String>,
    /// Never these rules (same forms as --select).
    #[arg(long, value_delimiter = ',', value_name = "RULE,..")]
    pub(crate) ignore: Vec<String>,
    /// Fail (exit 1) on findings at or above this severity [default: medium].
    #[arg(long, value_enum)]
    pub(crate) fail_on: Option<Threshold>,
    /// Drop findings recorded in this baseline (written by --write-baseline).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Record the current findings as the baseline (exit 0 unless the scan fails).
    #[arg(long, value_name = "FILE")]
    pub(crate) write_baseline: Option<PathBuf>,
    /// Print a rule's documentation (code or name) and exit.
    #[arg(long, value_name = "RULE")]
    pub(crate) explain: Option<String>,
    /// Fixed seeds in the source (MLG301): `report` them (low) or `allow` them.
    #[arg(long, value_enum)]
    pub(crate) fixed_seeds: Option<SeedPolicyArg>,
    /// Also honour bandit's `# nosec` and ruff's `# noqa: S...` comments.
    #[arg(long)]
    pub(crate) honor_nosec: bool,
    /// Do not read [tool.mlguard] from pyproject.toml.
    #[arg(long)]
    pub(crate) no_config: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SeedPolicyArg {
    Report,
    Allow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Threshold {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Args)]
pub(crate) struct ScanModelArgs {
    /// Files or directories.
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Fail (exit 1) on findings at or above this severity.
    #[arg(long, value_enum, default_value_t = Threshold::Medium)]
    pub(crate) fail_on: Threshold,
    /// Treat this import as safe: an exact `module.name`, or `module.*` for that module and
    /// its submodules (repeatable). Never overrides the dangerous list.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) allow: Vec<String>,
    /// Also list files that are not models (text, unknown formats) at low severity.
    #[arg(long)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The dataset: NAME or NAME@VERSION (default: latest).
    #[arg(long, required_unless_present = "reproduce", value_name = "NAME[@VERSION]")]
    pub(crate) dataset: Option<String>,
    /// The column to predict (default: the schema's `role: target` field).
    #[arg(long, value_name = "COL")]
    pub(crate) target: Option<String>,
    /// Share of rows held out for metrics.
    #[arg(long, default_value_t = 0.2)]
    pub(crate) test_size: f64,
    /// L2 penalty (scikit-learn's 1/C).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) l2: f64,
    /// Most L-BFGS iterations.
    #[arg(long, default_value_t = 200)]
    pub(crate) max_iter: usize,
    /// Where the split seed comes from: `secure` (OS CSPRNG) or `fixed:N` (for experiments).
    #[arg(long, default_value = "secure", value_name = "POLICY")]
    pub(crate) seed_policy: String,
    /// The model name (default: the dataset name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Train on a dataset version its poisoning checks flagged at ingest (refused without;
    /// recorded in the model and the audit log with who accepted it).
    #[arg(long)]
    pub(crate) accept_flagged: bool,
    /// Retrain MODEL[@VERSION] from its dataset version with its sealed seed and options;
    /// reports whether the weights are bit-identical.
    #[arg(long, value_name = "MODEL[@VERSION]", conflicts_with_all = ["dataset", "target", "name"])]
    pub(crate) reproduce: Option<String>,
    /// Mebibytes of feature values held in memory (default 160); a larger table is spilled
    /// to encrypted scratch files in the vault and read back once per pass of the fit: the
    /// same model in bounded memory, slower. A vault on this machine only.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub(crate) memory_limit: Option<u64>,
    /// Print the result as JSON: {"model": ..., "metrics": {...}}.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    /// The model: NAME or NAME@VERSION (default: latest).
    #[arg(long, value_name = "NAME[@VERSION]")]
    pub(crate) model: String,
    /// The rows to predict (CSV with the model's feature columns).
    pub(crate) input: PathBuf,
    /// Write predictions to OUT.csv instead of standard output.
    #[arg(short, long, value_name = "OUT.csv")]
    pub(crate) output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print a JSON summary (rows predicted and rejected) on standard error.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// List the models in the vault.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a model's encoding, metrics and provenance (it is verified first).
    Inspect {
        /// NAME or NAME@VERSION.
        model: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a stored model completely (signature, every segment, digest, catalog entry,
    /// safetensors structure). Exit 0 good, 1 bad.
    Verify {
        /// NAME or NAME@VERSION.
        model: String,
    },
    /// Export a model for Python users: DIR/model.safetensors (plaintext, without the split
    /// seed) and DIR/model.sig (OpenSSF model signing, by this vault's key).
    Export {
        /// NAME or NAME@VERSION.
        model: String,
        /// The directory to write (created if needed).
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Store a model made elsewhere as the next version of NAME: mlguard's model file
    /// (safetensors; a scikit-learn LogisticRegression converted by the Python package's
    /// `mlguard.sklearn.to_mlguard`, or a file `model export` wrote), bound to the stored
    /// dataset version it was trained on. Refused unless its target and features are
    /// columns of that version that training would use the same way; then verified,
    /// served, exported and audited like a trained model (it cannot be reproduced).
    Import {
        /// The model file (.safetensors).
        file: PathBuf,
        /// The model's name (its next version is stored).
        #[arg(long)]
        name: String,
        /// The stored dataset version it was trained on: NAME or NAME@VERSION.
        #[arg(long, value_name = "DATASET")]
        dataset: String,
        /// Bind it to a version its poisoning checks flagged (recorded with who did).
        #[arg(long)]
        accept_flagged: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign a model (a file or a directory) as an OpenSSF model-signing v1.0 bundle with
    /// the vault's signing key: every file's SHA-256 in an in-toto Statement, in a DSSE
    /// envelope. `model_signing verify key` accepts it.
    Sign {
        /// The model file or directory.
        path: PathBuf,
        /// Where to write the signature bundle.
        #[arg(long, short, default_value = "model.sig", value_name = "FILE")]
        output: PathBuf,
        /// Overwrite the signature file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Verify an OpenSSF model-signing bundle (from mlguard or `model_signing sign key`):
    /// the signature, and that the model's files are exactly the signed ones. Exit 0 good,
    /// 1 bad.
    VerifySignature {
        /// The model file or directory.
        path: PathBuf,
        /// The signature bundle.
        #[arg(long, default_value = "model.sig", value_name = "FILE")]
        signature: PathBuf,
        /// The signer's public key (PEM); default: this vault's signing key.
        #[arg(long, value_name = "PEM")]
        public_key: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    Dataset,
    Model,
    File,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Keep the catalog, the audit log and the policy in PostgreSQL:
    /// postgres://USER@HOST:PORT/DB (the password from PGPASSWORD, never stored).
    #[arg(long, value_name = "URL")]
    pub(crate) catalog: Option<String>,
    /// Keep sealed objects in S3-compatible storage: s3://BUCKET/PREFIX (credentials,
    /// region and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
    /// AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub(crate) objects: Option<String>,
    /// Wrap the vault's keys with this key of a KMS speaking the AWS KMS API (key id, ARN
    /// or alias; credentials, region and endpoint from the AWS variables, the endpoint
    /// from AWS_ENDPOINT_URL_KMS or AWS_ENDPOINT_URL): servers unlock the vault with no
    /// passphrase or key file. Needs --key-file FILE, an offline recovery key (created if
    /// missing) that unlocks the vault if the KMS key is lost or disabled.
    #[arg(long, value_name = "KEY")]
    pub(crate) kms: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SealArgs {
    /// The file to seal.
    pub(crate) file: PathBuf,
    /// Where to write the sealed file (default: FILE.mlseal).
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: Option<PathBuf>,
    /// What the file holds.
    #[arg(long, value_enum, default_value_t = KindArg::File)]
    pub(crate) kind: KindArg,
    /// Metadata to sign with the file (repeatable): KEY=VALUE.
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub(crate) meta: Vec<String>,
    /// Overwrite the output if it exists.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// The sealed file.
    pub(crate) file: PathBuf,
    /// Where to write the plaintext (`-`: standard output, never a terminal).
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: PathBuf,
    /// Overwrite the output if it exists.
    #[arg(long)]
    pub(crate) force: bool,
    /// DANGER: accept a valid signature by a key this vault does not trust.
    #[arg(long)]
    pub(crate) allow_untrusted_signer: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The sealed file.
    pub(crate) file: PathBuf,
    /// DANGER: accept a valid signature by a key this vault does not trust.
    #[arg(long)]
    pub(crate) allow_untrusted_signer: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The sealed file.
    pub(crate) file: PathBuf,
    /// Print the header as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Remove sealed objects that no dataset or model refers to: what a process killed
    /// between storing an object and recording it left (a row never points at a missing
    /// object; an object may lack its row). Orphans younger than --grace may belong to a
    /// change being recorded at this moment and are kept. Recorded in the audit log.
    Gc {
        /// Keep orphans younger than this many seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        grace: u64,
    },
    /// Copy the vault into new, empty stores and move it there (e.g. from the embedded
    /// SQLite and directory to PostgreSQL and S3): every object copied and verified in its
    /// new place, the catalog, users, tokens, second factors and policy copied, the audit
    /// log copied entry for entry and checked to have the same root, the migration
    /// recorded in it; then config.toml names the new stores (the old ones are left as
    /// they were). Stop servers using the vault first.
    Migrate {
        /// The new stores, in config.toml's format (format = 1, [stores] catalog, objects,
        /// policy, keys).
        #[arg(long, value_name = "CONFIG")]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// List the master key versions, the signing key and the trusted keys.
    List,
    /// Create a new master key version for new seals. With --rewrap, re-wrap the data key
    /// of every artifact in the vault (and of FILES) under it without touching payloads,
    /// then retire (destroy) the earlier versions: artifacts wrapped only for them stop
    /// opening. Sealed files kept outside the vault must be listed as FILES to survive.
    Rotate(RotateArgs),
    /// Print this vault's signing public key (PEM).
    ExportPublic {
        /// Write it to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Trust a public key (PEM): artifacts it signed will verify.
    Trust {
        /// The PEM file.
        pem: PathBuf,
        /// A name for it (default: the file name).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// Re-wrap every artifact in the vault (and FILES), then retire earlier versions.
    #[arg(long)]
    pub(crate) rewrap: bool,
    /// Sealed files outside the vault to re-wrap too.
    #[arg(requires = "rewrap")]
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Rows of synthetic user data to generate.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(20..=50_000_000))]
    pub(crate) rows: u64,
    /// Seed of the synthetic data (the data is fake; the seed only makes runs repeatable).
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Keep the demo's files in DIR (created if needed) instead of a temporary directory
    /// that is removed at the end.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DataCommand {
    /// Draft a Table Schema for a CSV file: types, required fields, ranges, enums, the
    /// id and target columns and personal-data hints. Review it before use.
    InferSchema(InferArgs),
    /// Store a CSV file in the vault as the next version of NAME, safely: validate it
    /// against the schema (an invalid file is refused), refuse fields marked `pii` without
    /// a `protect` action (unless --keep-pii), protect it as `data protect` does (with the
    /// vault's pseudonym key), check it for poisoning against the previous version, then
    /// seal it. The stored schema describes the protected table; the report of every step
    /// is kept with the version (`data report NAME@V`). Nothing is stored when a step
    /// refuses.
    Ingest(IngestArgs),
    /// Write a protected copy of a CSV file: each field's `protect` action, or the default
    /// for its `pii` kind — keyed HMAC-SHA256 pseudonyms for e-mails, phones, names,
    /// addresses, IBANs and identifiers (`EMAIL_3f9a…`, the key is the vault's, so joins
    /// keep working); SSNs and card numbers redacted; IP addresses to /24 or /48; dates of
    /// birth to the year or an age band, 90 and over grouped as `90+`; postal codes to
    /// their area (ZIP3, outward code). Personal data found in other text fields is
    /// replaced by `<KIND>`. Then the quasi-identifiers (--quasi, or the fields marked
    /// `pii: quasi`, `date_of_birth` or `postal_code`) are generalised (numbers to
    /// intervals, codes by truncation, others to `*`) and rows suppressed (at most
    /// --max-suppressed) until every combination occurs at least --k times; k,
    /// l-diversity of the target and the rows suppressed are reported.
    ///
    /// A cell that starts like a spreadsheet formula gets a leading `'`; one holding a
    /// delimiter of any locale (`,` `;` tab), a quote, a line break or anything but plain
    /// ASCII is quoted.
    ///
    /// Memory: without quasi-identifiers (or with --k 1) one streaming pass in constant
    /// memory; with them the file is read twice and the quasi-identifier and target values
    /// are kept (about 4 bytes per row and column, plus each distinct value once).
    Protect(ProtectArgs),
    /// Show what ingestion found and did for a dataset version (validation, protection,
    /// personal data kept, poisoning), as stored with it.
    Report {
        /// NAME or NAME@VERSION (default: the latest).
        dataset: String,
        /// Print the whole stored report as JSON (every finding kept, up to 1,000 per step).
        #[arg(long)]
        json: bool,
    },
    /// List the datasets in the vault.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a stored dataset version's CSV, verified completely first (recorded in the
    /// audit log). Through --server, a version stored with personal data kept
    /// (--keep-pii) needs the dataset.read-raw permission and a TOTP code.
    Download {
        /// NAME or NAME@VERSION (default: the latest).
        dataset: String,
        /// The file to write.
        #[arg(short, long, value_name = "OUT.csv")]
        output: PathBuf,
        /// Overwrite it if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check a CSV file against a Table Schema in one streaming pass.
    ///
    /// Checks the CSV itself (encoding, BOM, quoting, ragged rows, blank lines, line
    /// endings, header names, field sizes), every cell against its field's type and
    /// constraints, primary and unique keys, and flags cells a spreadsheet would run as a
    /// formula. Values of fields marked `pii` are masked in every report.
    ///
    /// Memory stays constant whatever the file size, except for key checks: integer keys
    /// cost well under a byte per row, other keys 8-16 bytes per row.
    ///
    /// Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage or I/O error.
    Validate(ValidateArgs),
    /// Find personal data in a CSV file, in one streaming pass: per column, the kinds found
    /// (EMAIL, PHONE, US_SSN, CREDIT_CARD, IBAN, IP_ADDRESS, DATE_OF_BIRTH, PERSON,
    /// STREET_ADDRESS, POSTAL_CODE), the share of cells and a confidence. Detection reads the values — payment cards must pass Luhn and belong to
    /// an issuer, IBANs their country's length and mod-97, SSNs the area/group/serial rules
    /// — so order numbers, version strings, timestamps, amounts and ISBNs are not reported;
    /// column names (and a schema's `pii` marks) are only context.
    ///
    /// With --cells, prints one JSON line per span found:
    /// {"row": N, "column": "name", "kind": "EMAIL", "start": B, "end": B, "score": F}
    /// (row: 1-based data row; start/end: byte offsets in the cell); the summary then goes
    /// to standard error.
    ///
    /// Exit status: 0 when no personal data was found, 1 when some was, 2 on usage or I/O
    /// errors.
    Pii(PiiArgs),
    /// Look for signs of poisoning: conflicting duplicates (the same
    /// features with different labels; `id` and `ignore` columns do not count), duplicate
    /// floods (one feature vector in more than 0.1 % of the rows and at least 10 times) and
    /// robust outliers (|x - median| / (1.4826 MAD) above --outlier-z, on number and
    /// integer fields, judged against each column's shape), labels doubted by confident
    /// learning (out-of-fold probabilities of 5 logistic regressions on the numeric features
    /// and categories of up to 20 levels; the most doubted listed, see --label-noise), and with --baseline, drift against a
    /// previous version (or --baseline-dataset, a version in the vault). Streaming passes; memory: 16 bytes per distinct row, a
    /// 100,000-value sample per numeric column, and the numeric features (4 bytes per value)
    /// for the label check.
    ///
    /// Outliers and doubted labels are leads to review (low severity); conflicting
    /// duplicates, floods and drift fail the check. Exit status: 0 when nothing at medium or
    /// above was found, 1 when something was, 2 on usage or I/O errors.
    Poison(PoisonArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PoisonArgs {
    /// The table: CSV (any delimiter, encoding or compression), Parquet,
    /// Feather (Arrow IPC), or a workbook's first sheet.
    pub(crate) file: PathBuf,
    /// The Table Schema (its `role: target` field is the label).
    #[arg(long, short = 's', value_name = "FILE")]
    pub(crate) schema: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Robust z-score above which a value is an outlier (against the column's shape: a
    /// scale per side of the median, log space for a skewed non-negative column).
    #[arg(long, default_value_t = 5.0, value_name = "Z")]
    pub(crate) outlier_z: f64,
    /// The share of wrong labels you expect: doubted labels are listed most doubted first,
    /// as many as this share of the rows (or as exceed what chance explains, if more); the
    /// rest are counted.
    #[arg(long, default_value_t = mlguard_data::poison::PoisonOptions::default().label_noise, value_name = "SHARE")]
    pub(crate) label_noise: f64,
    /// List at most N findings (all are counted in the summary).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) max_errors: usize,
    /// A previous version of the dataset: report columns whose distribution changed
    /// (numbers: two-sample Kolmogorov-Smirnov; categories and the label: chi² and the
    /// population stability index; p < 0.001 or PSI > 0.25).
    #[arg(long, value_name = "OLD.csv")]
    pub(crate) baseline: Option<PathBuf>,
    /// The same as --baseline, with a dataset version stored in the vault (verified and
    /// decrypted first).
    #[arg(long, value_name = "NAME[@VERSION]", conflicts_with = "baseline")]
    pub(crate) baseline_dataset: Option<String>,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PiiArgs {
    /// The table: CSV (any delimiter, encoding or compression), Parquet,
    /// Feather (Arrow IPC), or a workbook's first sheet; `-` for standard input.
    pub(crate) file: PathBuf,
    /// A Table Schema: fields marked `pii` give context to their column.
    #[arg(long, short = 's', value_name = "FILE")]
    pub(crate) schema: Option<PathBuf>,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = PiiFormat::Text)]
    pub(crate) format: PiiFormat,
    /// Print every span found as a JSON line.
    #[arg(long)]
    pub(crate) cells: bool,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
}

/// How a table file is read (every data command reads one the same way).
#[derive(Debug, Args)]
pub(crate) struct DialectArgs {
    /// Field delimiter: one ASCII character, `tab`, or `auto` (the one of `,` `;` tab `|`
    /// that the first lines agree on; `,` when they agree on none).
    #[arg(long, default_value = "auto", value_name = "CHAR")]
    pub(crate) delimiter: String,
    /// Text encoding: utf-8, utf-16le, latin1, windows-1252, ... (default: UTF-8, UTF-16
    /// with a byte order mark, windows-1252 when the bytes are not UTF-8). gzip, bzip2 and
    /// xz files are read by their content.
    #[arg(long, value_name = "NAME")]
    pub(crate) encoding: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PiiFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The table: CSV (any delimiter, encoding or compression), Parquet,
    /// Feather (Arrow IPC), or a workbook's first sheet.
    pub(crate) file: PathBuf,
    /// The Table Schema it must satisfy.
    #[arg(long, short = 's', value_name = "FILE")]
    pub(crate) schema: PathBuf,
    /// The dataset name in the vault.
    #[arg(long)]
    pub(crate) name: String,
    /// Store fields marked `pii` without a `protect` action as they are (recorded with the
    /// version, with who asked).
    #[arg(long)]
    pub(crate) keep_pii: bool,
    /// Refuse the dataset when the poisoning checks find conflicting duplicates, floods or
    /// drift (by default it is stored and the findings are shown and kept with it).
    #[arg(long)]
    pub(crate) reject_poisoned: bool,
    #[command(flatten)]
    pub(crate) protect: ProtectFlags,
}

/// How personal data is protected (`data protect`, `data ingest`).
#[derive(Debug, Args)]
pub(crate) struct ProtectFlags {
    /// Every combination of quasi-identifier values must occur at least K times (1: off).
    #[arg(long, default_value_t = 5, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) k: u64,
    /// The quasi-identifier columns (comma-separated; default: the fields the schema marks
    /// `pii: quasi`, `date_of_birth` or `postal_code`, or `protect: generalize`).
    #[arg(long, value_delimiter = ',', value_name = "COL,...")]
    pub(crate) quasi: Option<Vec<String>>,
    /// Share of rows that may be suppressed instead of generalising further.
    #[arg(long, default_value_t = 0.05, value_name = "SHARE")]
    pub(crate) max_suppressed: f64,
    /// Dates of birth become the year of birth or a ten-year age band.
    #[arg(long, value_enum, default_value_t = BirthDatesArg::Year)]
    pub(crate) birth_dates: BirthDatesArg,
    /// The day ages are computed on (YYYY-MM-DD; default: today).
    #[arg(long, value_name = "DATE")]
    pub(crate) as_of: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BirthDatesArg {
    Year,
    AgeBand,
}

#[derive(Debug, Args)]
pub(crate) struct ProtectArgs {
    /// The table: CSV (any delimiter, encoding or compression), Parquet,
    /// Feather (Arrow IPC), or a workbook's first sheet.
    pub(crate) file: PathBuf,
    /// The Table Schema: each field's `pii` and `protect`.
    #[arg(long, short = 's', value_name = "FILE")]
    pub(crate) schema: PathBuf,
    /// Where to write the protected CSV.
    #[arg(short, long, value_name = "OUT.csv")]
    pub(crate) output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub(crate) force: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = PiiFormat::Text)]
    pub(crate) format: PiiFormat,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
    #[command(flatten)]
    pub(crate) protect: ProtectFlags,
}

#[derive(Debug, Args)]
pub(crate) struct InferArgs {
    /// The table: CSV (any delimiter, encoding or compression), Parquet,
    /// Feather (Arrow IPC), or a workbook's first sheet.
    pub(crate) file: PathBuf,
    /// The column the model will predict (default: one named label, target, y, outcome,
    /// survived, species, ..., else the last column when it holds a few values).
    #[arg(long, value_name = "COL")]
    pub(crate) target: Option<String>,
    /// Read only the first N data rows (default: the whole file).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) sample_rows: Option<u64>,
    /// Write the observed minimum and maximum of each column as constraints (by default
    /// they are information, `x-observed`, and later data outside them is valid).
    #[arg(long)]
    pub(crate) strict_ranges: bool,
    /// Write the schema to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The table: CSV (any delimiter, encoding or compression), Parquet,
    /// Feather (Arrow IPC), or a workbook's first sheet; `-` for standard input.
    pub(crate) file: PathBuf,
    /// The Table Schema (JSON).
    #[arg(long, short = 's', value_name = "FILE")]
    pub(crate) schema: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// List at most N failures (all are counted in the summary).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) max_errors: usize,
    /// Treat warnings (formula injection, BOM, blank lines, mixed line endings) as errors.
    #[arg(long)]
    pub(crate) strict: bool,
    #[command(flatten)]
    pub(crate) dialect: DialectArgs,
    /// Longest field accepted, in bytes.
    #[arg(long, default_value_t = mlguard_data::DEFAULT_MAX_FIELD_BYTES, value_name = "BYTES")]
    pub(crate) max_field_bytes: usize,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N", hide_default_value = true)]
    pub(crate) threads: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}
