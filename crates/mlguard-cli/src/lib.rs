//! `mlguard`: the command-line front end, as a library (the `mlguard` binary and the
//! Python package run [`main_with_args`]). Thin by design: it parses arguments, resolves
//! them into validated options, calls the libraries and maps results to exit codes.
//!
//! Exit codes: 0 success (data valid), 1 findings or refused input (data invalid, an
//! artifact that fails verification, an action the policy refuses, a demo check failed),
//! 2 usage or tool error; failures are mapped in one place, `errors.rs`.

#[macro_use]
mod output;
mod args;
mod checkpoints;
mod client;
mod data;
mod demo;
mod errors;
mod identity;
mod pipeline;
mod remote;
mod scan;
mod scan_code;
mod seal;
mod vault;
mod witness;

use std::path::Path;
use std::process::ExitCode;

pub use crate::client::{Client, Predicted, Upload};
pub use crate::remote::Remote;

use crate::args::{
    Cli, Command, DataCommand, KeysCommand, ModelCommand, ScanCommand, VaultCommand, WitnessCommand,
};
use crate::output::Out;

/// Runs the command line `args` (the first is the program's name) as the `mlguard`
/// command does, printing to this process's standard output and error, and returns its
/// exit status (see [`status`]). The `mlguard` binary and the Python package's `mlguard`
/// command both run this.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let parsed = args::command()
        .try_get_matches_from(args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let mut out = Out::new(cli.color);
    match run(cli, &mut out) {
        Ok(code) => code,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => errors::report(&e, &mut out),
    }
}

/// The vault at `path`, unlocked with the key file `key_file` or the passphrase
/// `passphrase` (whichever its keystore asks for; for a vault whose keys a KMS wraps,
/// neither: the KMS named in its configuration, or the recovery key file).
pub fn open_vault(
    path: &Path,
    key_file: Option<&Path>,
    passphrase: Option<zeroize::Zeroizing<String>>,
) -> anyhow::Result<mlguard_vault::Vault> {
    let args = args::VaultArgs {
        vault: path.to_path_buf(),
        key_file: key_file.map(Path::to_path_buf),
        passphrase_file: None,
    };
    pipeline::open_vault_with(&args, passphrase)
}

/// A client of the mlguard server at `url` (`https://HOST:PORT`) with the bearer token
/// `token`; `ca_cert` is a PEM file of the certificate authority to trust besides the
/// system's (a self-signed server's certificate), and `totp` a second-factor code for a
/// request the policy asks one for.
pub fn connect(
    url: &str,
    token: &str,
    ca_cert: Option<&Path>,
    totp: Option<&str>,
) -> anyhow::Result<Remote> {
    Remote::new(&args::ServerArgs {
        server: Some(url.to_owned()),
        token: Some(token.to_owned()),
        totp: totp.map(str::to_owned),
        ca_cert: ca_cert.map(Path::to_path_buf),
    })
}

/// The API's error code of a failure (`integrity`, `invalid`, `forbidden`, ...: the
/// codes of the server's error bodies), when it has one.
pub fn error_code(e: &anyhow::Error) -> Option<String> {
    errors::code(e)
}

/// The number of an exit status [`main_with_args`] returns: 0 success, 1 findings or
/// refused input, 2 usage or tool error.
pub fn status(code: ExitCode) -> u8 {
    match code {
        c if c == ExitCode::SUCCESS => 0,
        c if c == ExitCode::from(1) => 1,
        _ => 2,
    }
}

fn run(cli: Cli, out: &mut Out) -> anyhow::Result<ExitCode> {
    // Commands that use no vault run here whatever --server says; `serve` is the server.
    let local = matches!(
        cli.command,
        Command::Demo(_)
            | Command::Scan { .. }
            | Command::Inspect(_)
            | Command::Serve(_)
            | Command::Witness { .. }
            | Command::Data {
                command: DataCommand::InferSchema(_)
                    | DataCommand::Validate(_)
                    | DataCommand::Pii(_)
            }
    );
    let memory_limit = match &cli.command {
        Command::Train(a) => a.memory_limit,
        _ => None,
    };
    if cli.server.server.is_some() && !local {
        if memory_limit.is_some() {
            anyhow::bail!(
                "--memory-limit applies to a vault on this machine; a server trains within its own limit"
            );
        }
        return remote::run(cli.command, &cli.server, out);
    }
    if client::is_shared(&cli.command) {
        let mut vault = pipeline::open_vault(&cli.vault)?;
        if let Some(mib) = memory_limit {
            vault.set_train_memory_limit(usize::try_from(mib << 20).unwrap_or(usize::MAX));
        }
        return client::dispatch(&vault, cli.command, out);
    }
    // The rest work on a vault here only (or on no vault).
    match cli.command {
        Command::Demo(a) => demo::run(&a, out),
        Command::Data { command } => match command {
            DataCommand::InferSchema(a) => data::infer_schema(&a, out),
            DataCommand::Validate(a) => data::validate(&a, out),
            DataCommand::Pii(a) => data::pii(&a, out),
            DataCommand::Poison(a) => data::poison(&a, &cli.vault, out),
            DataCommand::Protect(a) => data::protect(&a, &cli.vault, out),
            shared => unreachable_shared(&Command::Data { command: shared }),
        },
        Command::Train(a) => pipeline::reproduce(&a, &cli.vault, out),
        Command::Scan { command } => match command {
            ScanCommand::Model(a) => scan::scan_model(&a, out),
            ScanCommand::Code(a) => scan_code::scan_code(&a, out),
        },
        Command::Init(a) => vault::init(&cli.vault, &a, out),
        Command::Seal(a) => seal::seal(&a, &cli.vault, out),
        Command::Open(a) => seal::open(&a, &cli.vault, out),
        Command::Verify(a) => seal::verify(&a, &cli.vault, out),
        Command::Inspect(a) => seal::inspect(&a, out),
        Command::Keys { command } => match command {
            KeysCommand::List => vault::list(&cli.vault, out),
            KeysCommand::Rotate(a) => vault::rotate(&a, &cli.vault, out),
            KeysCommand::ExportPublic { output } => {
                vault::export_public(&cli.vault, output.as_deref(), out)
            }
            KeysCommand::Trust { pem, name } => {
                vault::trust(&cli.vault, &pem, name.as_deref(), out)
            }
        },
        Command::Vault { command } => match command {
            VaultCommand::Gc { grace } => vault::gc(&cli.vault, grace, out),
            VaultCommand::Migrate { to } => vault::migrate(&cli.vault, &to, out),
        },
        Command::Serve(a) => identity::serve(&a, &cli.vault, out),
        Command::Witness { command: WitnessCommand::Serve(a) } => witness::serve(&a, out),
        Command::Model { command } => match command {
            ModelCommand::Verify { model } => pipeline::verify_model(&model, &cli.vault, out),
            ModelCommand::Sign { path, output, force } => {
                seal::sign_model(&path, &output, force, &cli.vault, out)
            }
            ModelCommand::VerifySignature { path, signature, public_key } => {
                seal::verify_model(&path, &signature, public_key.as_deref(), &cli.vault, out)
            }
            shared => unreachable_shared(&Command::Model { command: shared }),
        },
        shared => unreachable_shared(&shared),
    }
}

/// A shared command that reached the local-only table: a bug of [`client::is_shared`].
fn unreachable_shared(command: &Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("internal error: {command:?} should have run through the one dispatch")
}
