//! One dispatch for the commands that work on a local vault and through a server alike:
//! [`Client`] gives the API's typed answers (`mlguard_vault::api`, what the server
//! encodes), from the vault here ([`Vault`], as the local user) or from a server
//! ([`Remote`]), and one printer per command prints them, so both ways print the same.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use mlguard_vault::api::{
    AuditVerifyResponse, DatasetReport, DatasetSummary, EnrollMfa, IngestBody, IngestResponse,
    MfaEnrolled, ModelDescription, ModelExport, ModelSummary, NewToken, NewUser, PredictResponse,
    TokenCreated, TokenRevoked, TrainBody, TrainResponse, UserAdded, UserDisabled,
};
use mlguard_vault::identity::{TokenInfo, TotpAlg, User};
use mlguard_vault::{Ctx, ImportRequest, Meter, Vault};
use zeroize::Zeroizing;

use crate::args::{
    AuditCommand, Command, DataCommand, MfaCommand, ModelCommand, TokenCommand, UserCommand,
};
use crate::output::{Out, thousands};
use crate::pipeline::local;
use crate::remote::{Remote, seg};

/// Most reasons for rejected rows printed (all lines are in `--json`).
const MAX_REASONS: usize = 10;

/// What a prediction run did.
#[derive(Debug, Default)]
pub struct Predicted {
    /// The model version that predicted (`NAME@VERSION`).
    pub model: String,
    /// Rows predicted.
    pub predicted: u64,
    /// Lines rejected because they break the training schema.
    pub rejected: Vec<u64>,
    /// Why, for the first few.
    pub reasons: Vec<String>,
}

/// A table to ingest.
#[derive(Debug, Clone, Copy)]
pub enum Upload<'a> {
    /// A file, read as every data command reads it (compressed, Parquet, a workbook, ...).
    Path(&'a Path),
    /// A CSV table in memory (a DataFrame from Python): what reports name it, and its
    /// bytes. Sealed in an encrypted scratch file on this side, never written in clear.
    Csv {
        /// What reports name it.
        name: &'a str,
        /// The table.
        bytes: &'a [u8],
    },
}

/// What a vault answers, wherever it is: the vault on this machine, or a server
/// ([`crate::connect`]). The command line and the Python package both work through it.
pub trait Client {
    /// Every dataset version (`dataset.list`).
    fn datasets(&self) -> anyhow::Result<Vec<DatasetSummary>>;
    /// A dataset version's record and ingestion report (`dataset.read`).
    fn dataset_report(&self, reference: &str) -> anyhow::Result<DatasetReport>;
    /// Every model version (`model.list`).
    fn models(&self) -> anyhow::Result<Vec<ModelSummary>>;
    /// Every user (`user.manage`).
    fn users(&self) -> anyhow::Result<Vec<User>>;
    /// Every token, never a secret (`token.manage`).
    fn tokens(&self) -> anyhow::Result<Vec<TokenInfo>>;
    /// The audit log recomputed (`audit.verify`).
    fn verify_audit(&self) -> anyhow::Result<AuditVerifyResponse>;
    /// Adds a user (`user.manage`).
    fn add_user(&self, req: &NewUser) -> anyhow::Result<UserAdded>;
    /// Disables a user (`user.manage`).
    fn disable_user(&self, name: &str) -> anyhow::Result<UserDisabled>;
    /// Enrols a user's second factor (`user.manage`): the secret, once.
    fn enroll_mfa(&self, name: &str, req: &EnrollMfa) -> anyhow::Result<MfaEnrolled>;
    /// Creates a token (`token.manage`): the token, once.
    fn create_token(&self, req: &NewToken) -> anyhow::Result<TokenCreated>;
    /// Revokes a token (`token.manage`).
    fn revoke_token(&self, id: &str) -> anyhow::Result<TokenRevoked>;
    /// Trains and stores a model (`model.train`); `meter` hears how far it has got (the
    /// stored form's bytes read; through a server, nothing until the answer).
    fn train(&self, req: &TrainBody, meter: Option<&Meter>) -> anyhow::Result<TrainResponse>;
    /// Predicts every row of the CSV `input` with `model` (`model.predict`), writing
    /// `line,prediction,p_<class>...` to `out`; rows that break the training schema are
    /// rejected by line.
    fn predict(&self, model: &str, input: &Path, out: &mut dyn Write) -> anyhow::Result<Predicted>;
    /// A dataset version's CSV, verified completely before any byte is written to `out`
    /// (`dataset.read`, or `dataset.read-raw` for a version stored with personal data):
    /// which version it was and its rows.
    fn download(&self, reference: &str, out: &mut dyn Write) -> anyhow::Result<(String, u64)>;
    /// A model version and its OpenSSF signature for a directory named `dir_name`
    /// (`model.export`).
    fn export_model(&self, reference: &str, dir_name: &str) -> anyhow::Result<ModelExport>;
    /// A model version, verified (`model.read`).
    fn model(&self, reference: &str) -> anyhow::Result<ModelDescription>;
    /// Stores the model file `bytes` as `req` says: the next version of its name, bound to
    /// the stored dataset version it was trained on (`model.train`, op `import`).
    fn import_model(&self, bytes: &[u8], req: &ImportRequest) -> anyhow::Result<ModelDescription>;
    /// The audit log's entries from index `from` (`audit.read`).
    fn audit_entries(&self, from: u64) -> anyhow::Result<Vec<String>>;
    /// An entry's inclusion proof against the latest signed checkpoint (`audit.read`).
    fn audit_proof(&self, index: u64) -> anyhow::Result<serde_json::Value>;
    /// The latest signed checkpoint, a C2SP signed note (`audit.read`).
    fn audit_checkpoint(&self) -> anyhow::Result<String>;
    /// The consistency proof from the tree of the first `from` entries to the latest
    /// checkpoint, with that checkpoint and the log's verifier key (`audit.read`).
    fn audit_consistency(&self, from: u64) -> anyhow::Result<serde_json::Value>;
    /// Validates, protects, checks and seals `data` as the next version of `name`, against
    /// the schema whose JSON is `schema` (`dataset.ingest`); `meter` hears how far it has
    /// got (here, every pass over the input and the protected table; through a server,
    /// the upload).
    fn ingest(
        &self,
        data: &Upload<'_>,
        schema: &str,
        name: &str,
        opts: &IngestBody,
        meter: Option<&Meter>,
    ) -> anyhow::Result<IngestResponse>;
    /// Predicts `rows` (JSON objects of column: value) with `model` as `POST
    /// /v1/models/{name}/predict` does (`model.predict`): each row predicted or rejected by
    /// itself.
    fn predict_rows(
        &self,
        model: &str,
        rows: &[serde_json::Value],
    ) -> anyhow::Result<PredictResponse>;
}

/// The local context, with `meter` when there is one.
fn metered(meter: Option<&Meter>) -> Option<Ctx> {
    meter.map(|m| local().clone().with_meter(m.clone()))
}

impl Client for Vault {
    fn datasets(&self) -> anyhow::Result<Vec<DatasetSummary>> {
        Ok(self.list_datasets(local())?.into_iter().map(Into::into).collect())
    }

    fn dataset_report(&self, reference: &str) -> anyhow::Result<DatasetReport> {
        Ok(self.dataset(local(), reference)?.into())
    }

    fn models(&self) -> anyhow::Result<Vec<ModelSummary>> {
        Ok(self.list_models(local())?.into_iter().map(Into::into).collect())
    }

    fn users(&self) -> anyhow::Result<Vec<User>> {
        Ok(Vault::users(self, local())?)
    }

    fn tokens(&self) -> anyhow::Result<Vec<TokenInfo>> {
        Ok(Vault::tokens(self, local())?)
    }

    fn verify_audit(&self) -> anyhow::Result<AuditVerifyResponse> {
        Ok(Vault::verify_audit(self, local())?.into())
    }

    fn add_user(&self, req: &NewUser) -> anyhow::Result<UserAdded> {
        Vault::add_user(self, local(), &req.name, &req.role)?;
        Ok(UserAdded { name: req.name.clone(), role: req.role.clone() })
    }

    fn disable_user(&self, name: &str) -> anyhow::Result<UserDisabled> {
        Vault::disable_user(self, local(), name)?;
        Ok(UserDisabled { name: name.to_owned(), disabled: true })
    }

    fn enroll_mfa(&self, name: &str, req: &EnrollMfa) -> anyhow::Result<MfaEnrolled> {
        let alg = match req.alg.as_deref() {
            None => TotpAlg::Sha1,
            Some(a) => TotpAlg::parse(a).context("alg is sha1 or sha256")?,
        };
        let uri = Vault::enroll_mfa(self, local(), name, alg)?;
        Ok(MfaEnrolled { name: name.to_owned(), otpauth: uri.as_str().to_owned() })
    }

    fn create_token(&self, req: &NewToken) -> anyhow::Result<TokenCreated> {
        let (id, token) = Vault::create_token(self, local(), &req.user, req.ttl_secs)?;
        Ok(TokenCreated { id, user: req.user.clone(), token: token.as_str().to_owned() })
    }

    fn revoke_token(&self, id: &str) -> anyhow::Result<TokenRevoked> {
        Vault::revoke_token(self, local(), id)?;
        Ok(TokenRevoked { id: id.to_owned(), revoked: true })
    }

    fn train(&self, req: &TrainBody, meter: Option<&Meter>) -> anyhow::Result<TrainResponse> {
        let cx = metered(meter);
        Ok((&Vault::train(self, cx.as_ref().unwrap_or(local()), &req.to_request()?)?).into())
    }

    fn predict(&self, model: &str, input: &Path, out: &mut dyn Write) -> anyhow::Result<Predicted> {
        let mut out = out;
        let p = Vault::predict(self, local(), model, input, &mut out)?;
        let reasons = p.report.iter().flat_map(|r| &r.findings);
        Ok(Predicted {
            model: p.model,
            predicted: p.predicted,
            reasons: reasons
                .filter(|f| f.level == mlguard_findings::Level::Error)
                .take(MAX_REASONS)
                .map(|f| format!("{}: {} ({})", f.location, f.message, f.check))
                .collect(),
            rejected: p.rejected,
        })
    }

    fn download(&self, reference: &str, out: &mut dyn Write) -> anyhow::Result<(String, u64)> {
        let (d, scratch) = Vault::download_dataset(self, local(), reference)?;
        let mut src = scratch.reader()?;
        std::io::copy(&mut src, out).context("cannot write the data")?;
        Ok((format!("{}@{}", d.name, d.version), d.rows))
    }

    fn export_model(&self, reference: &str, dir_name: &str) -> anyhow::Result<ModelExport> {
        Ok((&Vault::export_signed(self, local(), reference, dir_name)?).into())
    }

    fn model(&self, reference: &str) -> anyhow::Result<ModelDescription> {
        let (record, model) = Vault::model(self, local(), reference)?;
        Ok((&record, &model).into())
    }

    fn import_model(&self, bytes: &[u8], req: &ImportRequest) -> anyhow::Result<ModelDescription> {
        let (record, model) = Vault::import_model(self, local(), bytes, req)?;
        Ok((&record, &model).into())
    }

    fn audit_entries(&self, from: u64) -> anyhow::Result<Vec<String>> {
        Ok(Vault::audit_entries(self, local(), from)?)
    }

    fn audit_proof(&self, index: u64) -> anyhow::Result<serde_json::Value> {
        Ok(Vault::audit_proof(self, local(), index)?)
    }

    fn audit_checkpoint(&self) -> anyhow::Result<String> {
        Ok(Vault::audit_checkpoint(self, local())?)
    }

    fn audit_consistency(&self, from: u64) -> anyhow::Result<serde_json::Value> {
        Ok(Vault::audit_consistency(self, local(), from)?)
    }

    fn ingest(
        &self,
        data: &Upload<'_>,
        schema: &str,
        name: &str,
        opts: &IngestBody,
        meter: Option<&Meter>,
    ) -> anyhow::Result<IngestResponse> {
        let schema = mlguard_data::Schema::from_json_str(schema).context("the schema")?;
        let mut opts = opts.to_options()?;
        let cx = metered(meter);
        let cx = cx.as_ref().unwrap_or(local());
        let d = match data {
            Upload::Path(file) => Vault::ingest(self, cx, file, &schema, name, &opts)?,
            Upload::Csv { name: source, bytes } => {
                let mut scratch = self.sealed_scratch("upload")?;
                let mut w = scratch.writer()?;
                w.write_all(bytes).context("cannot seal the table")?;
                w.finish()?;
                opts.source.get_or_insert_with(|| (*source).to_owned());
                let source = mlguard_vault::IngestSource::Sealed(&scratch);
                Vault::ingest_from(self, cx, &source, &schema, name, &opts)?
            }
        };
        Ok((&d).into())
    }

    fn predict_rows(
        &self,
        model: &str,
        rows: &[serde_json::Value],
    ) -> anyhow::Result<PredictResponse> {
        let serving = Vault::prediction_model(self, local(), model, rows.len())?;
        Ok(PredictResponse {
            model: format!("{}@{}", serving.record.name, serving.record.version),
            id_column: serving.id_column().map(str::to_owned),
            classes: serving.classes().to_vec(),
            results: serving.predict_json(rows)?,
        })
    }
}

impl Client for Remote {
    fn datasets(&self) -> anyhow::Result<Vec<DatasetSummary>> {
        Ok(self.get_as::<mlguard_vault::api::DatasetList>("/v1/datasets")?.datasets)
    }

    fn dataset_report(&self, reference: &str) -> anyhow::Result<DatasetReport> {
        self.get_as(&format!("/v1/datasets/{}", seg(reference)))
    }

    fn models(&self) -> anyhow::Result<Vec<ModelSummary>> {
        Ok(self.get_as::<mlguard_vault::api::ModelList>("/v1/models")?.models)
    }

    fn users(&self) -> anyhow::Result<Vec<User>> {
        Ok(self.get_as::<mlguard_vault::api::UserList>("/v1/admin/users")?.users)
    }

    fn tokens(&self) -> anyhow::Result<Vec<TokenInfo>> {
        Ok(self.get_as::<mlguard_vault::api::TokenList>("/v1/admin/tokens")?.tokens)
    }

    fn verify_audit(&self) -> anyhow::Result<AuditVerifyResponse> {
        self.post_as("/v1/audit/verify", &serde_json::json!({}))
    }

    fn add_user(&self, req: &NewUser) -> anyhow::Result<UserAdded> {
        self.post_as("/v1/admin/users", req)
    }

    fn disable_user(&self, name: &str) -> anyhow::Result<UserDisabled> {
        self.post_as(&format!("/v1/admin/users/{}/disable", seg(name)), &serde_json::json!({}))
    }

    fn enroll_mfa(&self, name: &str, req: &EnrollMfa) -> anyhow::Result<MfaEnrolled> {
        self.post_as(&format!("/v1/admin/users/{}/mfa", seg(name)), req)
    }

    fn create_token(&self, req: &NewToken) -> anyhow::Result<TokenCreated> {
        self.post_as("/v1/admin/tokens", req)
    }

    fn revoke_token(&self, id: &str) -> anyhow::Result<TokenRevoked> {
        self.delete_as(&format!("/v1/admin/tokens/{}", seg(id)))
    }

    fn train(&self, req: &TrainBody, _meter: Option<&Meter>) -> anyhow::Result<TrainResponse> {
        self.post_as("/v1/models/train", req)
    }

    /// Rows go to the server in batches (its limit per request), as JSON objects of the
    /// CSV's cells; the server validates them against the training schema.
    fn predict(&self, model: &str, input: &Path, out: &mut dyn Write) -> anyhow::Result<Predicted> {
        use mlguard_vault::RowPrediction;
        use mlguard_vault::api::PredictRequest;
        const BATCH: usize = mlguard_vault::MAX_ROWS_PER_REQUEST;
        let file = std::fs::File::open(input)
            .with_context(|| format!("cannot read {}", input.display()))?;
        let table = mlguard_data::TableReader::new(std::io::BufReader::new(file), b',')?;
        let header = table.header().to_vec();
        let path = format!("/v1/models/{}/predict", seg(model));
        let mut done = Predicted { model: model.to_owned(), ..Predicted::default() };
        let mut classes: Option<Vec<String>> = None;
        let mut lines = Vec::with_capacity(BATCH);
        let mut rows: Vec<serde_json::Map<String, serde_json::Value>> = Vec::with_capacity(BATCH);
        let mut flush = |lines: &mut Vec<u64>, rows: &mut Vec<_>| -> anyhow::Result<()> {
            if rows.is_empty() {
                return Ok(());
            }
            let req = PredictRequest { rows: std::mem::take(rows) };
            let answer: PredictResponse = self.post_as(&path, &req)?;
            done.model = answer.model;
            // The id column is echoed when the input has it, as the local command does.
            let id = answer.id_column.as_deref().filter(|id| header.iter().any(|h| h == id));
            let cs = match &classes {
                Some(cs) => cs,
                None => {
                    writeln!(out, "{}", mlguard_vault::prediction_header(id, &answer.classes))?;
                    classes.insert(answer.classes.clone())
                }
            };
            for ((line, sent), row) in lines.drain(..).zip(&req.rows).zip(answer.results) {
                match row {
                    RowPrediction::Rejected { errors } => {
                        done.rejected.push(line);
                        if done.reasons.len() < MAX_REASONS {
                            done.reasons.push(format!("line {line}: {}", errors.join("; ")));
                        }
                    }
                    RowPrediction::Predicted { prediction, probabilities } => {
                        let mut text = format!("{line},");
                        if let Some(id) = id {
                            let cell = sent.get(id).and_then(serde_json::Value::as_str);
                            text.push_str(&mlguard_vault::csv_cell(cell.unwrap_or_default()));
                            text.push(',');
                        }
                        text.push_str(&mlguard_vault::csv_cell(&prediction));
                        for c in cs {
                            let p = probabilities.get(c).and_then(serde_json::Value::as_f64);
                            text.push(',');
                            mlguard_vault::push_probability(&mut text, p.unwrap_or(f64::NAN));
                        }
                        writeln!(out, "{text}")?;
                        done.predicted += 1;
                    }
                }
            }
            Ok(())
        };
        let mut failure = None;
        table.for_each(|line, fields| {
            if failure.is_some() {
                return Ok(()); // the rest is read and dropped; the error is returned below
            }
            let row: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(fields)
                .map(|(h, f)| (h.clone(), serde_json::Value::from(*f)))
                .collect();
            lines.push(line);
            rows.push(row);
            if rows.len() == BATCH
                && let Err(e) = flush(&mut lines, &mut rows)
            {
                failure = Some(e);
            }
            Ok(())
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        flush(&mut lines, &mut rows)?;
        Ok(done)
    }

    fn download(&self, reference: &str, out: &mut dyn Write) -> anyhow::Result<(String, u64)> {
        let mut r = self.get_stream(&format!("/v1/datasets/{}/data", seg(reference)))?;
        let header =
            |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let version =
            header(mlguard_vault::api::DATASET_HEADER).unwrap_or_else(|| reference.to_owned());
        let rows = header(mlguard_vault::api::ROWS_HEADER)
            .and_then(|n| n.parse().ok())
            .context("the server's download does not say its rows")?;
        r.copy_to(out).context("the download was cut off")?;
        Ok((version, rows))
    }

    fn export_model(&self, reference: &str, dir_name: &str) -> anyhow::Result<ModelExport> {
        let req = mlguard_vault::api::ExportRequest { signed_for: dir_name.to_owned() };
        self.post_as(&format!("/v1/models/{}/export", seg(reference)), &req)
    }

    fn model(&self, reference: &str) -> anyhow::Result<ModelDescription> {
        self.get_as(&format!("/v1/models/{}", seg(reference)))
    }

    fn import_model(&self, bytes: &[u8], req: &ImportRequest) -> anyhow::Result<ModelDescription> {
        self.post_bytes_as(
            &format!("/v1/models/{}/import", seg(&req.name)),
            &[
                ("dataset", req.dataset.as_str()),
                ("accept_flagged", if req.accept_flagged { "true" } else { "false" }),
            ],
            bytes,
        )
    }

    fn audit_entries(&self, from: u64) -> anyhow::Result<Vec<String>> {
        let text = self.get_text(&format!("/v1/audit/entries?from={from}"))?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    fn audit_proof(&self, index: u64) -> anyhow::Result<serde_json::Value> {
        self.get_as(&format!("/v1/audit/proof/{index}"))
    }

    fn audit_checkpoint(&self) -> anyhow::Result<String> {
        self.get_text("/v1/audit/checkpoint")
    }

    fn audit_consistency(&self, from: u64) -> anyhow::Result<serde_json::Value> {
        self.get_as(&format!("/v1/audit/consistency?from={from}"))
    }

    fn ingest(
        &self,
        data: &Upload<'_>,
        schema: &str,
        name: &str,
        opts: &IngestBody,
        meter: Option<&Meter>,
    ) -> anyhow::Result<IngestResponse> {
        // Checked here too, so a typo is reported before the upload.
        mlguard_data::Schema::from_json_str(schema).context("the schema")?;
        let options = serde_json::to_string(opts)?;
        self.upload(&format!("/v1/datasets/{}", seg(name)), schema, &options, data, meter)
    }

    fn predict_rows(
        &self,
        model: &str,
        rows: &[serde_json::Value],
    ) -> anyhow::Result<PredictResponse> {
        self.post_as(
            &format!("/v1/models/{}/predict", seg(model)),
            &serde_json::json!({ "rows": rows }),
        )
    }
}

/// A list as JSON, a line per item, or what to do when it is empty.
fn print_list<T: serde::Serialize>(
    out: &mut Out,
    json: bool,
    items: &[T],
    none: &str,
    line: impl Fn(&T) -> String,
) -> anyhow::Result<ExitCode> {
    if json {
        out.line(&serde_json::to_string_pretty(items)?)?;
    } else if items.is_empty() {
        out.line(none)?;
    } else {
        for item in items {
            out.line(&line(item))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mlguard data list`.
pub(crate) fn list_datasets(c: &dyn Client, json: bool, out: &mut Out) -> anyhow::Result<ExitCode> {
    let none = "no datasets (add one with `mlguard data ingest FILE --schema S --name NAME`)";
    print_list(out, json, &c.datasets()?, none, |d| {
        format!(
            "{}@{}  {} rows × {} columns  {}  {}",
            d.name,
            d.version,
            thousands(d.rows),
            d.columns,
            d.created,
            d.actor
        )
    })
}

/// `mlguard data report`: what ingestion found and did, as stored with the version.
pub(crate) fn dataset_report(
    c: &dyn Client,
    reference: &str,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let doc = serde_json::to_value(c.dataset_report(reference)?)?;
    if json {
        out.line(&serde_json::to_string_pretty(&doc)?)?;
    } else {
        out.write(&crate::pipeline::report_text(&doc, out))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `mlguard model list`.
pub(crate) fn list_models(c: &dyn Client, json: bool, out: &mut Out) -> anyhow::Result<ExitCode> {
    let none = "no models (train one with `mlguard train --dataset NAME`)";
    print_list(out, json, &c.models()?, none, |m| {
        let acc = m.metrics["accuracy"].as_f64().unwrap_or(f64::NAN);
        format!(
            "{}@{}  on {}  target {}  accuracy {acc:.4}  {}",
            m.name, m.version, m.dataset, m.target, m.created
        )
    })
}

/// `mlguard user list`.
pub(crate) fn list_users(c: &dyn Client, json: bool, out: &mut Out) -> anyhow::Result<ExitCode> {
    let none = "no users (add one with `mlguard user add NAME --role ROLE`)";
    print_list(out, json, &c.users()?, none, |u| {
        format!(
            "{:<20} {:<15} {:<8} {:<6} {}",
            u.name,
            u.role,
            if u.disabled { "disabled" } else { "active" },
            if u.mfa { "mfa" } else { "no mfa" },
            u.created
        )
    })
}

/// `mlguard token list`.
pub(crate) fn list_tokens(c: &dyn Client, json: bool, out: &mut Out) -> anyhow::Result<ExitCode> {
    let none = "no tokens (create one with `mlguard token create --user NAME`)";
    let now = mlguard_vault::identity::now_secs();
    print_list(out, json, &c.tokens()?, none, |t| {
        let state = match t.expires {
            _ if t.revoked => "revoked".to_owned(),
            Some(e) if e <= now => "expired".to_owned(),
            Some(e) => format!("expires in {} h", (e - now + 3599) / 3600),
            None => "no expiry".to_owned(),
        };
        format!("{:<14} {:<20} {:<22} {}", t.id, t.user, t.created, state)
    })
}

/// `mlguard audit verify`: the log recomputed, then proved consistent with the checkpoint
/// saved in `saved` (if given) and with the latest checkpoint this client verified of the
/// same log before (remembered in its state directory): a log cut back and re-signed
/// passes the first check, not these. The latest checkpoint is remembered when all pass.
pub(crate) fn verify_audit(
    c: &dyn Client,
    saved: Option<&Path>,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let mut r = c.verify_audit()?;
    // A log that verifies on its own must also extend what was signed before.
    if r.ok && r.entries > 0 {
        match consistent_with_earlier(c, saved) {
            Ok(problems) => r.problems.extend(problems),
            Err(e) => r.problems.push(format!("{e:#}")),
        }
        r.ok = r.problems.is_empty();
    }
    if json {
        out.line(&serde_json::to_string(&r)?)?;
    } else if r.ok {
        out.line(&format!(
            "audit log verified: {} entries, {} signed checkpoint(s), root {}",
            thousands(r.entries),
            r.checkpoints,
            r.root
        ))?;
    } else {
        let problems: Vec<&str> = r.problems.iter().map(String::as_str).collect();
        crate::pipeline::audit_failure(r.first_bad_entry, &problems, out)?;
    }
    Ok(if r.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `mlguard user add`.
pub(crate) fn add_user(
    c: &dyn Client,
    name: &str,
    role: &str,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let u = c.add_user(&NewUser { name: name.to_owned(), role: role.to_owned() })?;
    out.line(&format!(
        "added user {} ({}); next: `mlguard token create --user {}`",
        u.name, u.role, u.name
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard user disable`.
pub(crate) fn disable_user(c: &dyn Client, name: &str, out: &mut Out) -> anyhow::Result<ExitCode> {
    let u = c.disable_user(name)?;
    out.line(&format!("disabled user {}: their tokens no longer work", u.name))?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard mfa enroll`: the secret as a QR code and as text, once.
pub(crate) fn enroll_mfa(
    c: &dyn Client,
    user: &str,
    alg: TotpAlg,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let e = c.enroll_mfa(user, &EnrollMfa { alg: Some(alg.as_str().to_owned()) })?;
    crate::identity::show_otpauth(&Zeroizing::new(e.otpauth), out)
}

/// `mlguard token create`: the token on stdout (once), what it is on stderr.
pub(crate) fn create_token(
    c: &dyn Client,
    user: &str,
    ttl: Option<&str>,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let ttl_secs = ttl.map(crate::identity::duration_secs).transpose()?;
    let t = c.create_token(&NewToken { user: user.to_owned(), ttl_secs })?;
    out.line(&Zeroizing::new(t.token))?;
    errln!(
        "token {} for {}{}: shown once, stored only as its SHA-256; revoke with `mlguard token revoke {}`",
        t.id,
        t.user,
        ttl_secs.map(|s| format!(", valid for {s} s")).unwrap_or_default(),
        t.id
    );
    Ok(ExitCode::SUCCESS)
}

/// `mlguard token revoke`.
pub(crate) fn revoke_token(c: &dyn Client, id: &str, out: &mut Out) -> anyhow::Result<ExitCode> {
    let t = c.revoke_token(id)?;
    out.line(&format!("revoked token {}", t.id))?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard train`.
pub(crate) fn train(
    c: &dyn Client,
    req: &TrainBody,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let r = c.train(req, None)?;
    crate::pipeline::print_trained(&r, json, out)
}

/// `mlguard data ingest`: the version stored, then what ingestion found and did (as `data
/// report` shows it).
pub(crate) fn ingest(
    c: &dyn Client,
    a: &crate::args::IngestArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let opts = crate::data::ingest_body(&a.protect, a.keep_pii, a.reject_poisoned);
    // Read and checked here, so a mistake in it is reported with its path.
    crate::data::load_schema(&a.schema)?;
    let schema = std::fs::read_to_string(&a.schema)
        .with_context(|| format!("cannot read {}", a.schema.display()))?;
    let r = c.ingest(&Upload::Path(&a.file), &schema, &a.name, &opts, None)?;
    out.line(&format!(
        "ingested {} as {} ({} rows × {} columns: validated, protected, checked, sealed; {} warning(s))",
        a.file.display(),
        r.dataset,
        thousands(r.rows),
        r.columns,
        r.warnings
    ))?;
    out.write(&crate::pipeline::report_sections(&r.report, out))?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard audit show`: the entries that pass `filter`, as a table or JSON lines.
pub(crate) fn audit_show(
    c: &dyn Client,
    filter: &crate::args::AuditFilter,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let entries = c.audit_entries(0)?;
    crate::pipeline::show_audit_entries(entries.iter().map(String::as_str), filter, json, out)
}

/// Proves the log consistent with the checkpoint in `saved` and with the one this client
/// remembers of it (then remembers the latest); the problems found.
fn consistent_with_earlier(c: &dyn Client, saved: Option<&Path>) -> anyhow::Result<Vec<String>> {
    let latest = c.audit_checkpoint()?;
    let mut earlier = Vec::new();
    if let Some(path) = saved {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--checkpoint: cannot read {}", path.display()))?;
        earlier.push((format!("the checkpoint in {}", path.display()), text));
    }
    let remembered = crate::checkpoints::Remembered::for_log(&latest)?;
    if let Some(text) = remembered.load()? {
        earlier.push(("the checkpoint this client verified before".into(), text));
    }
    let problems: Vec<String> = earlier
        .iter()
        .filter_map(|(what, text)| {
            crate::checkpoints::consistent(c, text, &latest).err().map(|p| format!("{what}: {p}"))
        })
        .collect();
    if problems.is_empty() {
        remembered.store(&latest)?;
    }
    Ok(problems)
}

/// `mlguard audit checkpoint`: the latest signed checkpoint, to keep and check later
/// with `audit verify --checkpoint FILE`.
pub(crate) fn audit_checkpoint(
    c: &dyn Client,
    output: Option<&Path>,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let note = c.audit_checkpoint()?;
    // Only a well-formed note is printed or kept (it is text from the vault or a server).
    mlguard_vault::note::parse(&note)
        .map_err(|e| anyhow::anyhow!("the latest checkpoint is not a signed note: {e}"))?;
    match output {
        Some(path) => {
            write_output(Some(path), false, |w| Ok(w.write_all(note.as_bytes())?))?;
            out.line(&format!("wrote the latest checkpoint to {}", path.display()))?;
        }
        None => out.write(&note)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `mlguard audit prove`.
pub(crate) fn audit_prove(c: &dyn Client, index: u64, out: &mut Out) -> anyhow::Result<ExitCode> {
    out.line(&serde_json::to_string_pretty(&c.audit_proof(index)?)?)?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard model inspect`: a model version, verified, without its split seed.
pub(crate) fn inspect_model(
    c: &dyn Client,
    reference: &str,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let d = c.model(reference)?;
    if json {
        out.line(&serde_json::to_string_pretty(
            &serde_json::json!({"model": d.model, "info": d.info}),
        )?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let info: mlguard_learn::model::ModelInfo = serde_json::from_value(d.info.clone())
        .context("the model's description is not what the API says")?;
    let e = &info.encoding;
    out.line(&format!(
        "{} (verified) — logistic regression, target {}, classes {:?}",
        d.model, e.target, e.classes
    ))?;
    out.line(&format!("  trained on {} by {} at {}", d.dataset, d.actor, d.created))?;
    out.line(&format!(
        "  numeric features ({}): {}",
        e.numeric.len(),
        e.numeric.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
    ))?;
    out.line(&format!(
        "  categorical features: {}",
        e.categorical
            .iter()
            .map(|c| format!("{} ({})", c.name, c.categories.len()))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    out.line(&format!("  {}", crate::pipeline::metrics_line(&info.metrics)))?;
    out.line(&format!(
        "  confusion matrix (rows: true, columns: predicted): {:?}",
        info.metrics.confusion
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard predict`: the predictions to `--output` (atomically: all or nothing) or stdout,
/// what was rejected and a summary on stderr; exit 1 when rows were rejected.
pub(crate) fn predict(c: &dyn Client, a: &crate::args::PredictArgs) -> anyhow::Result<ExitCode> {
    let p = write_output(a.output.as_deref(), a.force, |w| c.predict(&a.model, &a.input, w))?;
    for r in &p.reasons {
        errln!("rejected {r}");
    }
    if a.json {
        errln!(
            "{}",
            serde_json::json!({"model": p.model, "predicted": p.predicted, "rejected_lines": p.rejected})
        );
    } else {
        errln!("predicted {} row(s) with {}; rejected {}", p.predicted, p.model, p.rejected.len());
    }
    Ok(if p.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Writes what `make` writes to `path` atomically (all or nothing; nothing is left when it
/// fails), or to stdout.
pub(crate) fn write_output<T>(
    path: Option<&Path>,
    force: bool,
    make: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    crate::errors::no_overwrite(path, force)?;
    let Some(path) = path else {
        let mut buf = Vec::new();
        let t = make(&mut buf)?;
        crate::output::write_stdout(&buf)?;
        return Ok(t);
    };
    mlguard_seal::write_atomic_with(path, force, |f| {
        let mut w = std::io::BufWriter::new(f);
        let made = make(&mut w)?;
        w.flush().with_context(|| format!("cannot write {}", path.display()))?;
        Ok(made)
    })
}

/// `mlguard data download`.
pub(crate) fn download(
    c: &dyn Client,
    reference: &str,
    output: &Path,
    force: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let (version, rows) = write_output(Some(output), force, |w| c.download(reference, w))?;
    out.line(&format!(
        "wrote {version} to {} ({} rows, verified before it was written)",
        output.display(),
        thousands(rows)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `command` is a vault operation that runs the same way on the vault here and
/// through a server: the one dispatch, [`dispatch`], over a [`Client`].
pub(crate) fn is_shared(command: &Command) -> bool {
    match command {
        Command::Data { command } => matches!(
            command,
            DataCommand::Ingest(_)
                | DataCommand::List { .. }
                | DataCommand::Report { .. }
                | DataCommand::Download { .. }
        ),
        Command::Train(a) => a.reproduce.is_none(),
        Command::Predict(_)
        | Command::User { .. }
        | Command::Token { .. }
        | Command::Mfa { .. } => true,
        Command::Model { command } => matches!(
            command,
            ModelCommand::List { .. }
                | ModelCommand::Inspect { .. }
                | ModelCommand::Export { .. }
                | ModelCommand::Import { .. }
        ),
        Command::Audit { .. } => true,
        _ => false,
    }
}

/// Runs a shared command (see [`is_shared`]) against `c`.
pub(crate) fn dispatch(
    c: &dyn Client,
    command: Command,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    match command {
        Command::Data { command: DataCommand::Ingest(a) } => ingest(c, &a, out),
        Command::Data { command: DataCommand::List { json } } => list_datasets(c, json, out),
        Command::Data { command: DataCommand::Report { dataset, json } } => {
            dataset_report(c, &dataset, json, out)
        }
        Command::Data { command: DataCommand::Download { dataset, output, force } } => {
            download(c, &dataset, &output, force, out)
        }
        Command::Train(a) if a.reproduce.is_none() => {
            train(c, &crate::pipeline::train_body(&a)?, a.json, out)
        }
        Command::Predict(a) => predict(c, &a),
        Command::Model { command: ModelCommand::List { json } } => list_models(c, json, out),
        Command::Model { command: ModelCommand::Inspect { model, json } } => {
            inspect_model(c, &model, json, out)
        }
        Command::Model { command: ModelCommand::Export { model, output, force } } => {
            export_model(c, &model, &output, force, out)
        }
        Command::Model {
            command: ModelCommand::Import { file, name, dataset, accept_flagged, json },
        } => import_model(c, &file, &name, &dataset, accept_flagged, json, out),
        Command::User { command } => match command {
            UserCommand::Add { name, role } => add_user(c, &name, &role, out),
            UserCommand::List { json } => list_users(c, json, out),
            UserCommand::Disable { name } => disable_user(c, &name, out),
        },
        Command::Token { command } => match command {
            TokenCommand::Create { user, ttl } => create_token(c, &user, ttl.as_deref(), out),
            TokenCommand::Revoke { id } => revoke_token(c, &id, out),
            TokenCommand::List { json } => list_tokens(c, json, out),
        },
        Command::Mfa { command: MfaCommand::Enroll { user, alg } } => {
            enroll_mfa(c, &user, alg.into(), out)
        }
        Command::Audit { command } => match command {
            AuditCommand::Verify { json, checkpoint } => {
                verify_audit(c, checkpoint.as_deref(), json, out)
            }
            AuditCommand::Checkpoint { output } => audit_checkpoint(c, output.as_deref(), out),
            AuditCommand::Show { filter, json } => audit_show(c, &filter, json, out),
            AuditCommand::Prove { index } => audit_prove(c, index, out),
        },
        _ => anyhow::bail!("internal error: not a shared command"),
    }
}

/// The largest model file `model import` reads (the server takes 8 MiB bodies).
const MAX_MODEL_FILE: u64 = 8 << 20;

/// `mlguard model import`: a model file stored as the next version of `name`.
pub(crate) fn import_model(
    c: &dyn Client,
    file: &Path,
    name: &str,
    dataset: &str,
    accept_flagged: bool,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_MODEL_FILE + 1), &mut bytes)
        .with_context(|| format!("cannot read {}", file.display()))?;
    if bytes.len() as u64 > MAX_MODEL_FILE {
        anyhow::bail!(
            "{} is larger than {} MiB: not a model file mlguard imports",
            file.display(),
            MAX_MODEL_FILE >> 20
        );
    }
    let req = ImportRequest { name: name.to_owned(), dataset: dataset.to_owned(), accept_flagged };
    let d = c.import_model(&bytes, &req)?;
    if json {
        out.line(&serde_json::to_string_pretty(&d)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    out.line(&format!(
        "imported {} as {}, bound to {} (sealed and signed; blake3 {})",
        file.display(),
        d.model,
        d.dataset,
        d.blake3.get(..16).unwrap_or(&d.blake3)
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `mlguard model export`: `model.safetensors` and its signature `model.sig` (OpenSSF model
/// signing, by the vault's key) into `dir`, each written atomically.
pub(crate) fn export_model(
    c: &dyn Client,
    reference: &str,
    dir: &Path,
    force: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let (weights, signature) = (dir.join("model.safetensors"), dir.join("model.sig"));
    crate::errors::no_overwrite(Some(&weights), force)?;
    crate::errors::no_overwrite(Some(&signature), force)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The bundle names the directory as the signing tools do.
    let e = c.export_model(reference, &mlguard_seal::model_name(dir))?;
    let bytes = mlguard_seal::unb64(&e.safetensors)
        .context("the exported model is not base64, as the API says")?;
    mlguard_seal::write_atomic(&weights, &bytes, force)?;
    mlguard_seal::write_atomic(&signature, e.signature.as_bytes(), force)?;
    out.line(&format!(
        "exported {} -> {} (plaintext safetensors) and {} (OpenSSF model signing, key {})",
        e.model,
        weights.display(),
        signature.display(),
        e.key_id.get(..16).unwrap_or(&e.key_id)
    ))?;
    Ok(ExitCode::SUCCESS)
}
