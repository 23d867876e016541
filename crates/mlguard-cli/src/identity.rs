//! `mlguard serve` and `mlguard user | token | mfa`: who may use the vault, managed locally
//! by whoever can unlock it.

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::args::{ServeArgs, VaultArgs};
use crate::output::Out;
use crate::pipeline::open_vault;

/// Seconds of a duration written `N` + `s`, `m`, `h` or `d`.
pub(crate) fn duration_secs(s: &str) -> anyhow::Result<i64> {
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("--ttl {s:?}: expected a number followed by s, m, h or d (e.g. 90d)"),
    };
    let n: i64 = n
        .parse()
        .with_context(|| format!("--ttl {s:?}: expected a number followed by s, m, h or d"))?;
    if n <= 0 {
        bail!("--ttl {s:?}: must be positive");
    }
    n.checked_mul(mult).context("--ttl is too long")
}

/// Shows an `otpauth://` URI once: as a QR code drawn in the terminal, and as text.
pub(crate) fn show_otpauth(uri: &str, out: &mut Out) -> anyhow::Result<ExitCode> {
    let qr = qrcode::QrCode::new(uri.as_bytes()).context("the URI does not fit a QR code")?;
    let picture = qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .dark_color(qrcode::render::unicode::Dense1x2::Light)
        .light_color(qrcode::render::unicode::Dense1x2::Dark)
        .build();
    out.line(&picture)?;
    out.line(uri)?;
    errln!(
        "scan the code (or enter the URI) in an authenticator app: shown once; sensitive actions now need its 6-digit code"
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn serve(a: &ServeArgs, vault: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    use mlguard_server::{AppState, Certificate};
    let cert = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(Certificate::from_pem(
            &std::fs::read_to_string(c).with_context(|| format!("cannot read {}", c.display()))?,
            &std::fs::read_to_string(k).with_context(|| format!("cannot read {}", k.display()))?,
        )?),
        _ if a.tls_self_signed => Some(Certificate::self_signed()?),
        _ if a.insecure_http => None,
        _ => bail!(
            "give --tls-cert and --tls-key, or --tls-self-signed (development), or --insecure-http (loopback only)"
        ),
    };
    if cert.is_none() && !a.listen.ip().is_loopback() {
        bail!("--insecure-http is only allowed on a loopback address, not {}", a.listen);
    }
    let tls = cert.as_ref().map(Certificate::server_config).transpose()?;
    let v = open_vault(vault)?;
    let state = AppState::new(v)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let (Some(c), true) = (&cert, a.tls_self_signed) {
        // Public: clients trust it with `--ca-cert` (or MLGUARD_CA_CERT).
        let pem = state.vault().publish_certificate(&c.cert_pem())?;
        out.line(&format!(
            "self-signed certificate for localhost, SHA-256 fingerprint {}; clients: --ca-cert {}",
            c.fingerprint(),
            pem.display()
        ))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let listen = a.listen;
    runtime.block_on(mlguard_server::serve(
        state,
        listen,
        tls,
        |addr| {
            println!("serving {scheme}://{addr} (endpoints: {scheme}://{addr}/openapi.json; web console: {scheme}://{addr}/ui/); Ctrl-C stops");
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ))?;
    out.line("stopped; requests in flight finished and an audit checkpoint signed")?;
    Ok(ExitCode::SUCCESS)
}
