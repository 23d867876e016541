//! One dispatch for the commands that work on a local vault and through a server alike:
//! [`Client`] gives the API's typed answers (`mlguard_vault::api`, what the server
//! encodes), from the vault here ([`Vault`], as the local user) or from a server
//! ([`Remote`]), and one printer per command prints them, so both ways print the same.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use mlguard_vault::Vault;
use mlguard_vault::api::{
    AuditVerifyResponse, DatasetReport, DatasetSummary, EnrollMfa, IngestBody, IngestResponse,
    MfaEnrolled, ModelSummary, NewToken, NewUser, TokenCreated, TokenRevoked, TrainBody,
    TrainResponse, UserAdded, UserDisabled,
};
use mlguard_vault::identity::{TokenInfo, TotpAlg, User};
use zeroize::Zeroizing;

use crate::output::{Out, thousands};
use crate::pipeline::local;
use crate::remote::{Remote, seg};

/// What a vault answers, wherever it is.
pub(crate) trait Client {
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
    /// Trains and stores a model (`model.train`).
    fn train(&self, req: &TrainBody) -> anyhow::Result<TrainResponse>;
    /// Validates, protects, checks and seals `file` as the next version of `name`
    /// (`dataset.ingest`).
    fn ingest(
        &self,
        file: &Path,
        schema: &Path,
        name: &str,
        opts: &IngestBody,
    ) -> anyhow::Result<IngestResponse>;
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

    fn train(&self, req: &TrainBody) -> anyhow::Result<TrainResponse> {
        Ok((&Vault::train(self, local(), &req.to_request()?)?).into())
    }

    fn ingest(
        &self,
        file: &Path,
        schema: &Path,
        name: &str,
        opts: &IngestBody,
    ) -> anyhow::Result<IngestResponse> {
        let schema = crate::data::load_schema(schema)?;
        let d = Vault::ingest(self, local(), file, &schema, name, &opts.to_options()?)?;
        Ok((&d).into())
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

    fn train(&self, req: &TrainBody) -> anyhow::Result<TrainResponse> {
        self.post_as("/v1/models/train", req)
    }

    fn ingest(
        &self,
        file: &Path,
        schema: &Path,
        name: &str,
        opts: &IngestBody,
    ) -> anyhow::Result<IngestResponse> {
        let text = std::fs::read_to_string(schema)
            .with_context(|| format!("cannot read {}", schema.display()))?;
        // Checked here too, so a typo is reported before the upload.
        crate::data::load_schema(schema)?;
        let options = serde_json::to_string(opts)?;
        // The data part carries the path as given: reports name it as the local run does.
        self.upload(&format!("/v1/datasets/{}", seg(name)), &text, &options, file)
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

/// `mlguard audit verify`.
pub(crate) fn verify_audit(c: &dyn Client, json: bool, out: &mut Out) -> anyhow::Result<ExitCode> {
    let r = c.verify_audit()?;
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
    let r = c.train(req)?;
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
    let r = c.ingest(&a.file, &a.schema, &a.name, &opts)?;
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
