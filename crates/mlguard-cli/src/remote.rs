//! `--server URL`: the vault commands as a client of an mlguard server (HTTPS, a bearer
//! token, a TOTP code where the server's policy wants one). The server decides and records
//! everything; this side only sends requests and prints answers.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, bail};
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::args::{Command, ServerArgs};
use crate::errors::Refusal;
use crate::output::Out;

/// A client of one server, with one token.
pub struct Remote {
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

    /// The answer to `method path`, the request built from the bare one by `build` (again
    /// if a TOTP code is asked for), read as it arrives.
    fn request(
        &self,
        method: Method,
        path: &str,
        build: impl Fn(RequestBuilder) -> anyhow::Result<RequestBuilder>,
    ) -> anyhow::Result<Response> {
        let url = self.url(path);
        self.send(|c| build(c.request(method.clone(), &url)))
    }

    /// As [`Remote::request`], the answer read as the API type `T`.
    fn typed<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl Fn(RequestBuilder) -> anyhow::Result<RequestBuilder>,
    ) -> anyhow::Result<T> {
        let what = format!("the server's answer to {method} {path} is not what the API says");
        self.request(method, path, build)?.json().context(what)
    }

    /// A GET answered with the API type `T`.
    pub(crate) fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.typed(Method::GET, path, Ok)
    }

    /// A POST of `body` answered with the API type `T`.
    pub(crate) fn post_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &(impl serde::Serialize + ?Sized),
    ) -> anyhow::Result<T> {
        self.typed(Method::POST, path, |r| Ok(r.json(body)))
    }

    /// A POST of the raw `body` (`application/octet-stream`) with the query `query`,
    /// answered with the API type `T`.
    pub(crate) fn post_bytes_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<T> {
        self.typed(Method::POST, path, |r| {
            Ok(r.query(query)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body.to_vec()))
        })
    }

    /// A DELETE answered with the API type `T`.
    pub(crate) fn delete_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> anyhow::Result<T> {
        self.typed(Method::DELETE, path, Ok)
    }

    /// A GET whose answer is read as it arrives (a download).
    pub(crate) fn get_stream(&self, path: &str) -> anyhow::Result<Response> {
        self.request(Method::GET, path, Ok)
    }

    /// A GET answered with text (`application/jsonl`, `text/plain`).
    pub(crate) fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let what = format!("the server's answer to GET {path} is not text");
        self.get_stream(path)?.text().context(what)
    }

    /// A multipart upload (`schema`, `options`, and `file` streamed as `data`, named by its
    /// path as given) answered with the API type `T`.
    pub(crate) fn upload<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        schema: &str,
        options: &str,
        data: &crate::client::Upload<'_>,
        meter: Option<&mlguard_vault::Meter>,
    ) -> anyhow::Result<T> {
        use crate::client::Upload;
        use reqwest::blocking::multipart::Part;
        self.typed(Method::POST, path, |r| {
            // The data part carries the path as given: reports name it as the local run
            // does. Its bytes count for `meter`, if there is one.
            let count =
                |len| meter.map_or_else(mlguard_vault::Tally::default, |m| m.tally(Some(len)));
            let data = match data {
                Upload::Path(file) => {
                    let f = std::fs::File::open(file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let len = f.metadata()?.len();
                    Part::reader_with_length(count(len).reader(f), len)
                        .file_name(file.display().to_string())
                }
                Upload::Csv { name, bytes } => {
                    let len = bytes.len() as u64;
                    let body = std::io::Cursor::new(bytes.to_vec());
                    Part::reader_with_length(count(len).reader(body), len)
                        .file_name((*name).to_owned())
                }
            };
            let form = reqwest::blocking::multipart::Form::new()
                .text("schema", schema.to_owned())
                .text("options", options.to_owned())
                .part("data", data);
            Ok(r.multipart(form))
        })
    }
}

/// Percent-encodes a path segment (a dataset or model reference, a user name).
pub(crate) use mlguard_vault::api::path_segment as seg;

/// Runs `command` through the server; commands that need the vault itself say so.
pub(crate) fn run(command: Command, a: &ServerArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let remote = Remote::new(a)?;
    dispatch(&remote, command, out)
}

fn dispatch(r: &Remote, command: Command, out: &mut Out) -> anyhow::Result<ExitCode> {
    if crate::client::is_shared(&command) {
        return crate::client::dispatch(r, command, out);
    }
    match command {
        Command::Train(_) => {
            local_only("`train --reproduce` (the split seed never leaves the vault)")
        }
        Command::Data { .. } => local_only("this `data` command"),
        Command::Model { .. } => local_only("this `model` command"),
        _ => local_only("this command"),
    }
}

fn local_only(what: &str) -> anyhow::Result<ExitCode> {
    bail!(
        "{what} works on a local vault only: run it without --server (and MLGUARD_SERVER) where the vault is"
    )
}
