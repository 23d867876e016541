//! `--server URL`: the vault commands as a client of an mlguard server (HTTPS, a bearer
//! token, a TOTP code where the server's policy wants one). The server decides and records
//! everything; this side only sends requests and prints answers.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::args::{
    AuditCommand, Command, DataCommand, MfaCommand, ModelCommand, PredictArgs, ServerArgs,
    TokenCommand, TrainArgs, UserCommand,
};
use crate::errors::Refusal;
use crate::output::Out;

/// A client of one server, with one token.
pub(crate) struct Remote {
    http: Client,
    base: String,
    token: Zeroizing<String>,
    totp: std::cell::RefCell<Option<String>>,
}

impl Remote {
    pub(crate) fn new(a: &ServerArgs) -> anyhow::Result<Remote> {
        let base = a.server.clone().unwrap_or_default().trim_end_matches('/').to_owned();
        if !base.starts_with("https://") && !base.starts_with("http://") {
            bail!("--server {base:?}: expected https://HOST:PORT");
        }
        let token = Zeroizing::new(a.token.clone().context(
            "--server needs a token: set MLGUARD_TOKEN (or --token); an admin creates one with `mlguard token create --user NAME`",
        )?);
        // One crypto provider for the process (aws-lc-rs, as the server); a second call
        // finds it installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut b = Client::builder()
            .use_rustls_tls()
            .https_only(base.starts_with("https://"))
            .timeout(None)
            .connect_timeout(std::time::Duration::from_secs(10));
        if let Some(path) = &a.ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("--ca-cert: cannot read {}", path.display()))?;
            b =
                b.add_root_certificate(reqwest::Certificate::from_pem(&pem).with_context(
                    || format!("--ca-cert {}: not a PEM certificate", path.display()),
                )?);
        }
        Ok(Remote {
            http: b.build().context("cannot set up the HTTPS client")?,
            base,
            token,
            totp: std::cell::RefCell::new(a.totp.clone()),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request built by `build` (again, with a code, if the server wants a TOTP
    /// code and none was given: asked for on the terminal). Refusals are [`Refusal`]s.
    fn send(
        &self,
        build: impl Fn(&Client) -> anyhow::Result<RequestBuilder>,
    ) -> anyhow::Result<Response> {
        loop {
            let mut rb = build(&self.http)?.bearer_auth(self.token.as_str());
            if let Some(code) = self.totp.borrow_mut().take() {
                rb = rb.header("x-mlguard-totp", code);
            }
            let r = rb.send().with_context(|| format!("cannot reach {}", self.base))?;
            if r.status().is_success() {
                return Ok(r);
            }
            let status = r.status().as_u16();
            let body: Value = r.json().unwrap_or_default();
            let code = body["error"].as_str().unwrap_or_default();
            if status == 401 && code == "mfa_required" && std::io::stdin().is_terminal() {
                let code = rpassword::prompt_password("TOTP code: ")
                    .context("cannot read the TOTP code")?;
                *self.totp.borrow_mut() = Some(code.trim().to_owned());
                continue;
            }
            let message = body["message"].as_str().unwrap_or(code).to_owned();
            let mut message = if message.is_empty() { format!("HTTP {status}") } else { message };
            if let Some(findings) = body["report"]["findings"].as_array() {
                for f in findings.iter().take(10) {
                    message.push_str(&format!(
                        "\n  {} {}",
                        f["location"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| f["location"].to_string()),
                        f["message"].as_str().unwrap_or_default()
                    ));
                }
            }
            return Err(Refusal { status, code: code.to_owned(), message }.into());
        }
    }

    fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.get_as(path)
    }

    /// A GET answered with the API type `T`.
    pub(crate) fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = self.url(path);
        self.send(|c| Ok(c.get(&url)))?
            .json()
            .with_context(|| format!("the server's answer to GET {path} is not what the API says"))
    }

    /// A POST of `body` answered with the API type `T`.
    pub(crate) fn post_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> anyhow::Result<T> {
        let url = self.url(path);
        self.send(|c| Ok(c.post(&url).json(body)))?
            .json()
            .with_context(|| format!("the server's answer to POST {path} is not what the API says"))
    }

    /// A multipart upload (`schema`, `options`, and `file` streamed as `data`, named by its
    /// path as given) answered with the API type `T`.
    pub(crate) fn upload<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        schema: &str,
        options: &str,
        file: &Path,
    ) -> anyhow::Result<T> {
        let url = self.url(path);
        self.send(|c| {
            let data = reqwest::blocking::multipart::Part::file(file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .file_name(file.display().to_string());
            let form = reqwest::blocking::multipart::Form::new()
                .text("schema", schema.to_owned())
                .text("options", options.to_owned())
                .part("data", data);
            Ok(c.post(&url).multipart(form))
        })?
        .json()
        .with_context(|| format!("the server's answer to POST {path} is not what the API says"))
    }

    /// A DELETE answered with the API type `T`.
    pub(crate) fn delete_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> anyhow::Result<T> {
        let url = self.url(path);
        self.send(|c| Ok(c.delete(&url)))?.json().with_context(|| {
            format!("the server's answer to DELETE {path} is not what the API says")
        })
    }
}

/// Percent-encodes a path segment (a dataset or model reference, a user name).
pub(crate) fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn pretty(out: &mut Out, v: &Value) -> anyhow::Result<()> {
    out.line(&serde_json::to_string_pretty(v)?)?;
    Ok(())
}

/// Runs `command` through the server; commands that need the vault itself say so.
pub(crate) fn run(command: Command, a: &ServerArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(a)?;
    dispatch(&remote, command, out)
}

fn dispatch(r: &Remote, command: Command, out: &mut Out) -> anyhow::Result<ExitCode> {
    match command {
        Command::Data { command } => match command {
            DataCommand::Ingest(a) => crate::client::ingest(r, &a, out),
            DataCommand::List { json } => crate::client::list_datasets(r, json, out),
            DataCommand::Report { dataset, json } => {
                crate::client::dataset_report(r, &dataset, json, out)
            }
            DataCommand::Download { dataset, output, force } => {
                download(r, &format!("/v1/datasets/{}/data", seg(&dataset)), &output, force)?;
                out.line(&format!(
                    "wrote {} (verified by the server before sending)",
                    output.display()
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            _ => local_only("this `data` command"),
        },
        Command::Train(a) => train(r, &a, out),
        Command::Predict(a) => predict(r, &a),
        Command::Model { command } => match command {
            ModelCommand::List { json } => crate::client::list_models(r, json, out),
            ModelCommand::Inspect { model, .. } => {
                pretty(out, &r.get(&format!("/v1/models/{}", seg(&model)))?)?;
                Ok(ExitCode::SUCCESS)
            }
            ModelCommand::Export { model, output, force } => {
                std::fs::create_dir_all(&output)
                    .with_context(|| format!("cannot create {}", output.display()))?;
                let path = output.join("model.safetensors");
                let url = r.url(&format!("/v1/models/{}/export", seg(&model)));
                let resp = r.send(|c| Ok(c.post(&url)))?;
                write_body(resp, &path, force)?;
                out.line(&format!(
                    "exported {model} -> {} (plaintext safetensors; sign it with `mlguard model sign` where the vault is)",
                    path.display()
                ))?;
                Ok(ExitCode::SUCCESS)
            }
            _ => local_only("this `model` command"),
        },
        Command::User { command } => match command {
            UserCommand::Add { name, role } => crate::client::add_user(r, &name, &role, out),
            UserCommand::List { json } => crate::client::list_users(r, json, out),
            UserCommand::Disable { name } => crate::client::disable_user(r, &name, out),
        },
        Command::Token { command } => match command {
            TokenCommand::Create { user, ttl } => {
                crate::client::create_token(r, &user, ttl.as_deref(), out)
            }
            TokenCommand::Revoke { id } => crate::client::revoke_token(r, &id, out),
            TokenCommand::List { json } => crate::client::list_tokens(r, json, out),
        },
        Command::Mfa { command: MfaCommand::Enroll { user, alg } } => {
            crate::client::enroll_mfa(r, &user, alg.into(), out)
        }
        Command::Audit { command } => match command {
            AuditCommand::Verify { json } => crate::client::verify_audit(r, json, out),
            AuditCommand::Show { filter, json } => {
                let url = r.url("/v1/audit/entries");
                let text = r.send(|c| Ok(c.get(&url)))?.text().context("the audit entries")?;
                crate::pipeline::show_audit_entries(text.lines(), &filter, json, out)
            }
            AuditCommand::Prove { index } => {
                pretty(out, &r.get(&format!("/v1/audit/proof/{index}"))?)?;
                Ok(ExitCode::SUCCESS)
            }
        },
        _ => local_only("this command"),
    }
}

fn local_only(what: &str) -> anyhow::Result<ExitCode> {
    bail!(
        "{what} works on a local vault only: run it without --server (and MLGUARD_SERVER) where the vault is"
    )
}

/// Streams a response body into `path` (atomically: all or nothing).
fn write_body(mut resp: Response, path: &Path, force: bool) -> anyhow::Result<()> {
    let mut failed = None;
    mlguard_seal::write_atomic_with(path, force, |f| {
        let mut w = std::io::BufWriter::new(f);
        if let Err(e) = resp.copy_to(&mut w) {
            failed = Some(e.to_string());
            return Err(mlguard_seal::SealError::Refused("the download was cut off".into()));
        }
        std::io::Write::flush(&mut w).map_err(|e| mlguard_seal::SealError::Io {
            context: format!("cannot write {}", path.display()),
            source: e,
        })
    })
    .map_err(|e| match failed {
        Some(why) => anyhow::anyhow!("{e}: {why}; nothing was written"),
        None => e.into(),
    })
}

fn download(r: &Remote, path: &str, output: &Path, force: bool) -> anyhow::Result<()> {
    crate::errors::no_overwrite(Some(&output), force)?;
    let url = r.url(path);
    let resp = r.send(|c| Ok(c.get(&url)))?;
    write_body(resp, output, force)
}

fn train(r: &Remote, a: &TrainArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    if a.reproduce.is_some() {
        bail!("--reproduce works on a local vault only (the split seed never leaves it)");
    }
    crate::client::train(r, &crate::pipeline::train_body(a)?, a.json, out)
}

/// Rows go to the server in batches (its limit per request), as JSON objects of the CSV's
/// cells; the server validates them against the training schema. The output is the local
/// command's: `line,prediction,p_<class>...` for the rows predicted.
fn predict(r: &Remote, a: &PredictArgs) -> anyhow::Result<ExitCode> {
    const BATCH: usize = mlguard_vault::MAX_ROWS_PER_REQUEST;
    crate::errors::no_overwrite(a.output.as_ref(), a.force)?;
    let file = std::fs::File::open(&a.input)
        .with_context(|| format!("cannot read {}", a.input.display()))?;
    let table = mlguard_data::TableReader::new(std::io::BufReader::new(file), b',')?;
    let header = table.header().to_vec();
    let url = r.url(&format!("/v1/models/{}/predict", seg(&a.model)));
    let mut text = String::new();
    let mut classes: Option<Vec<String>> = None;
    let (mut predicted, mut rejected) = (0u64, 0u64);
    let mut batch: Vec<(u64, Value)> = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<(u64, Value)>| -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows: Vec<&Value> = batch.iter().map(|(_, v)| v).collect();
        let body = json!({"rows": rows});
        let v: Value = r.send(|c| Ok(c.post(&url).json(&body)))?.json()?;
        let results = v["results"].as_array().context("the server's answer has no results")?;
        for ((line, _), res) in batch.iter().zip(results) {
            if let Some(errors) = res["errors"].as_array() {
                rejected += 1;
                if rejected <= 10 {
                    let e: Vec<&str> = errors.iter().filter_map(Value::as_str).collect();
                    errln!("rejected line {line}: {}", e.join("; "));
                }
                continue;
            }
            let probs = res["probabilities"].as_object().context("no probabilities")?;
            let cs = classes.get_or_insert_with(|| {
                let cs: Vec<String> = probs.keys().cloned().collect();
                text.push_str("line,prediction");
                for c in &cs {
                    text.push_str(&format!(",{}", mlguard_vault::csv_cell(&format!("p_{c}"))));
                }
                text.push('\n');
                cs
            });
            text.push_str(&format!(
                "{line},{}",
                mlguard_vault::csv_cell(res["prediction"].as_str().unwrap_or_default())
            ));
            for c in cs.iter() {
                text.push_str(&format!(
                    ",{}",
                    probs.get(c).and_then(Value::as_f64).unwrap_or(f64::NAN)
                ));
            }
            text.push('\n');
            predicted += 1;
        }
        batch.clear();
        Ok(())
    };
    let mut failure = None;
    table.for_each(|line, fields| {
        if failure.is_some() {
            return Ok(()); // the rest is read and dropped; the error is returned below
        }
        let row: serde_json::Map<String, Value> =
            header.iter().zip(fields).map(|(h, f)| (h.clone(), Value::from(*f))).collect();
        batch.push((line, Value::Object(row)));
        if batch.len() == BATCH
            && let Err(e) = flush(&mut batch)
        {
            failure = Some(e);
        }
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    flush(&mut batch)?;
    match &a.output {
        Some(path) => mlguard_seal::write_atomic(path, text.as_bytes(), a.force)?,
        None => crate::output::write_stdout(text.as_bytes())?,
    }
    errln!("predicted {predicted} row(s) with {} through the server; rejected {rejected}", a.model);
    Ok(if rejected == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
