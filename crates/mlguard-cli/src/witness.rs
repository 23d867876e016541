//! `mlguard witness serve`: a witness of other vaults' audit logs.

use std::process::ExitCode;

use anyhow::{Context, bail};
use mlguard_seal::Secret;
use mlguard_vault::witness::{Cosigner, Witness};

use crate::args::WitnessServeArgs;
use crate::output::Out;

pub(crate) fn serve(a: &WitnessServeArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(
            mlguard_server::Certificate::from_pem(
                &std::fs::read_to_string(c)
                    .with_context(|| format!("cannot read {}", c.display()))?,
                &std::fs::read_to_string(k)
                    .with_context(|| format!("cannot read {}", k.display()))?,
            )?
            .server_config()?,
        ),
        _ if a.insecure_http => None,
        _ => bail!("give --tls-cert and --tls-key, or --insecure-http (loopback only)"),
    };
    if tls.is_none() && !a.listen.ip().is_loopback() {
        bail!("--insecure-http is only allowed on a loopback address, not {}", a.listen);
    }
    // The key file: read (refused if others can read it) or created.
    let secret = if a.key.exists() {
        Secret::from_key_file(&a.key)?
    } else {
        let s = Secret::create_key_file(&a.key)?;
        out.line(&format!("created witness key {} (32 random bytes, mode 600)", a.key.display()))?;
        s
    };
    let Secret::KeyFile(seed) = secret else { bail!("the witness key must be a key file") };
    let witness = Witness::open(Cosigner::from_seed(&a.name, &seed)?, &a.logs, &a.state)?;
    out.line(&format!("witness {} vkey {}", a.name, witness.vkey()))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(mlguard_server::serve_witness(
        std::sync::Arc::new(witness),
        a.listen,
        tls,
        |addr| println!("serving {scheme}://{addr} (POST /add-checkpoint); Ctrl-C stops"),
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ))?;
    Ok(ExitCode::SUCCESS)
}
