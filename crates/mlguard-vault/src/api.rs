//! The API contract: the request and response bodies of the vault's operations as the
//! server encodes them, the CLI decodes them and (later) Python shares them, with their JSON
//! Schemas (`schemars`) from which the server generates its OpenAPI document.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::RowPrediction;
use crate::identity::{TokenInfo, User};

/// `GET /v1/datasets/{name}/data`: the header naming the version sent (`NAME@VERSION`).
pub const DATASET_HEADER: &str = "x-mlguard-dataset";
/// `GET /v1/datasets/{name}/data`: the header giving the data rows sent.
pub const ROWS_HEADER: &str = "x-mlguard-rows";

/// Every error: a code to act on and a message to show.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// [`crate::VaultError::code`] (`no_token`, `invalid_token`, `forbidden`,
    /// `mfa_required`, `mfa_rejected`, `mfa_locked`, `not_found`, `conflict`, `invalid`,
    /// `poisoned`, `unprotected_pii`, `flagged`, `refused`, `bad_input`, `integrity`,
    /// `audit_unavailable`, `internal`, ...) or the HTTP layer's (`bad_request`,
    /// `bad_upload`, `too_large`, ...).
    pub error: String,
    /// What happened (for internal errors: only that the server's log has the details).
    pub message: String,
    /// The findings, when the data was refused as invalid or poisoned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Value>,
    /// The request's id, for internal errors: the server's log has the details under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `POST /v1/models/{name}/predict`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct PredictRequest {
    /// Rows as objects of column → value (numbers, strings, booleans or null).
    pub rows: Vec<serde_json::Map<String, Value>>,
}

/// The answer to a prediction: one result per row, in order.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct PredictResponse {
    /// The model version that predicted (`NAME@VERSION`).
    pub model: String,
    /// The training schema's id column, if it has one (clients echo it beside each
    /// prediction, as `mlguard predict` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// The target's classes, in the model's order (the keys of each `probabilities`).
    #[serde(default)]
    pub classes: Vec<String>,
    /// A prediction, or why the row was rejected.
    pub results: Vec<RowPrediction>,
}

/// A dataset version as listed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct DatasetSummary {
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// Rows stored.
    pub rows: u64,
    /// Columns stored.
    pub columns: u64,
    /// Bytes of the stored (protected) CSV.
    pub size: u64,
    /// BLAKE3 of the stored (protected) CSV.
    pub blake3: String,
    /// When it was ingested (RFC 3339).
    pub created: String,
    /// Who ingested it.
    pub actor: String,
}

impl From<crate::DatasetRecord> for DatasetSummary {
    fn from(d: crate::DatasetRecord) -> DatasetSummary {
        DatasetSummary {
            name: d.name,
            version: d.version,
            rows: d.rows,
            columns: d.columns,
            size: d.size,
            blake3: d.blake3,
            created: d.created,
            actor: d.actor,
        }
    }
}

/// `GET /v1/datasets/{name}`: a version's record, schema and ingestion report (what
/// `data report` shows).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct DatasetReport {
    /// `NAME@VERSION`.
    pub dataset: String,
    /// Rows stored.
    pub rows: u64,
    /// Columns stored.
    pub columns: u64,
    /// Bytes of the stored (protected) CSV.
    pub size: u64,
    /// BLAKE3 of the stored CSV.
    pub blake3: String,
    /// When it was ingested (RFC 3339).
    pub created: String,
    /// Who ingested it.
    pub actor: String,
    /// Whether personal data was kept unprotected (reading it is reading raw data).
    pub raw: bool,
    /// The Table Schema that describes the stored table.
    pub schema: Value,
    /// What ingestion found and did: validation, protection, personal data kept, poisoning.
    pub report: Value,
}

impl From<crate::DatasetRecord> for DatasetReport {
    fn from(d: crate::DatasetRecord) -> DatasetReport {
        let raw = d.kept_pii();
        let report: Value = serde_json::from_str(&d.report).unwrap_or_default();
        DatasetReport {
            dataset: format!("{}@{}", d.name, d.version),
            rows: d.rows,
            columns: d.columns,
            size: d.size,
            blake3: d.blake3,
            created: d.created,
            actor: d.actor,
            raw,
            schema: serde_json::from_str(&d.schema).unwrap_or_default(),
            report,
        }
    }
}

/// `GET /v1/datasets`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct DatasetList {
    /// By name, then version.
    pub datasets: Vec<DatasetSummary>,
}

/// A model version as listed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, JsonSchema)]
pub struct ModelSummary {
    /// Name.
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// The dataset version it was trained on (`NAME@VERSION`).
    pub dataset: String,
    /// The target column.
    pub target: String,
    /// Held-out metrics (accuracy, ROC AUC, F1, ...).
    pub metrics: Value,
    /// When it was trained (RFC 3339).
    pub created: String,
    /// Who trained it.
    pub actor: String,
}

impl From<crate::audit::AuditVerification> for AuditVerifyResponse {
    fn from(r: crate::audit::AuditVerification) -> AuditVerifyResponse {
        AuditVerifyResponse {
            ok: r.ok(),
            entries: r.entries,
            checkpoints: r.checkpoints,
            first_bad_entry: r.first_bad_entry,
            problems: r.problems,
            root: r.root,
        }
    }
}

impl From<crate::ModelRecord> for ModelSummary {
    fn from(m: crate::ModelRecord) -> ModelSummary {
        ModelSummary {
            dataset: format!("{}@{}", m.dataset, m.dataset_version),
            metrics: serde_json::from_str(&m.metrics).unwrap_or_default(),
            name: m.name,
            version: m.version,
            target: m.target,
            created: m.created,
            actor: m.actor,
        }
    }
}

/// `GET /v1/models`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct ModelList {
    /// By name, then version.
    pub models: Vec<ModelSummary>,
}

/// `POST /v1/audit/verify`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct AuditVerifyResponse {
    /// Whether every entry and checkpoint verified.
    pub ok: bool,
    /// Entries read.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The first entry that is not what was recorded, if any.
    pub first_bad_entry: Option<u64>,
    /// Every problem found, in order.
    pub problems: Vec<String>,
    /// The root of the whole log (hex).
    pub root: String,
}

/// `GET /v1/admin/users`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct UserList {
    /// By name.
    pub users: Vec<User>,
}

/// `GET /v1/admin/tokens`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct TokenList {
    /// By user, then creation (never a token's secret).
    pub tokens: Vec<TokenInfo>,
}

/// `POST /v1/admin/users`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1-64 letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// `admin`, `data-steward`, `data-scientist`, `model-consumer` or `auditor`.
    pub role: String,
}

/// The answer to `POST /v1/admin/users` (201).
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct UserAdded {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
}

/// The answer to `POST /v1/admin/users/{name}/disable`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct UserDisabled {
    /// Name.
    pub name: String,
    /// Always true.
    pub disabled: bool,
}

/// `POST /v1/admin/users/{name}/mfa` (an empty body is `sha1`).
#[derive(Debug, Default, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollMfa {
    /// `sha1` (authenticator apps; the default) or `sha256`.
    pub alg: Option<String>,
}

/// The answer to `POST /v1/admin/users/{name}/mfa` (201): the secret, shown once.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct MfaEnrolled {
    /// The user.
    pub name: String,
    /// The `otpauth://` URI with the secret (for an authenticator app's QR code).
    pub otpauth: String,
}

/// `POST /v1/admin/tokens`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Whose token.
    pub user: String,
    /// Seconds it is valid for (> 0), or forever.
    pub ttl_secs: Option<i64>,
}

/// The answer to `POST /v1/admin/tokens` (201): the token, shown once.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct TokenCreated {
    /// Its id (to revoke it).
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// The token (`mlg_<id>_<secret>`): stored only as its SHA-256.
    pub token: String,
}

/// The answer to `DELETE /v1/admin/tokens/{id}`.
#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct TokenRevoked {
    /// Its id.
    pub id: String,
    /// Always true.
    pub revoked: bool,
}

/// `POST /v1/models/train`.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainBody {
    /// The dataset version (`NAME` for the latest, or `NAME@VERSION`).
    pub dataset: String,
    /// The model's name (default: the dataset's).
    pub name: Option<String>,
    /// The target column (default: the schema's `role: target`).
    pub target: Option<String>,
    /// The held-out share, in [0, 1) (default 0.2).
    pub test_size: Option<f64>,
    /// L2 regularisation (default 1.0).
    pub l2: Option<f64>,
    /// Most L-BFGS iterations (default 200).
    pub max_iter: Option<usize>,
    /// Train on a version its poisoning checks flagged (recorded with who accepted it).
    pub accept_flagged: Option<bool>,
    /// A fixed split seed, reproducible by anyone who knows it (experiments only); by
    /// default 256 bits from the operating system, sealed inside the model.
    pub fixed_seed: Option<u64>,
}

impl TrainBody {
    /// The vault's request, with the defaults filled in.
    pub fn to_request(&self) -> Result<crate::TrainRequest, crate::VaultError> {
        let (dataset, version) = crate::parse_ref(&self.dataset)?;
        let defaults = mlguard_learn::FitOptions::default();
        Ok(crate::TrainRequest {
            dataset,
            version,
            target: self.target.clone(),
            test_size: self.test_size.unwrap_or(0.2),
            fit: mlguard_learn::FitOptions {
                l2: self.l2.unwrap_or(defaults.l2),
                max_iter: self.max_iter.unwrap_or(defaults.max_iter),
                ..defaults
            },
            seed: match self.fixed_seed {
                Some(n) => crate::SeedPolicy::Fixed(n),
                None => crate::SeedPolicy::Secure,
            },
            name: self.name.clone(),
            accept_flagged: self.accept_flagged.unwrap_or(false),
        })
    }
}

/// The answer to `POST /v1/models/train` (201): the model stored, never its split seed.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct TrainResponse {
    /// `NAME@VERSION`.
    pub model: String,
    /// The dataset version trained on (`NAME@VERSION`).
    pub dataset: String,
    /// The target column.
    pub target: String,
    /// The target's classes.
    pub classes: Vec<String>,
    /// Rows fitted on.
    pub train_rows: u64,
    /// Rows held out.
    pub test_rows: u64,
    /// Encoded features.
    pub features: u64,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Whether the fit converged.
    pub converged: bool,
    /// Held-out metrics (accuracy, precision, recall, F1, ROC AUC, log loss, confusion).
    pub metrics: Value,
    /// What training left out and why.
    pub notes: Vec<String>,
    /// For a reproduction (local only): whether the weights came out bit-identical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_identical: Option<bool>,
}

impl From<&crate::TrainedModel> for TrainResponse {
    fn from(m: &crate::TrainedModel) -> TrainResponse {
        let (r, t) = (&m.record, &m.trained);
        TrainResponse {
            model: format!("{}@{}", r.name, r.version),
            dataset: format!("{}@{}", r.dataset, r.dataset_version),
            target: r.target.clone(),
            classes: t.model.info.encoding.classes.clone(),
            train_rows: t.train_rows as u64,
            test_rows: t.test_rows as u64,
            features: t.model.info.encoding.width() as u64,
            iterations: t.model.logistic.iterations as u64,
            converged: t.model.logistic.converged,
            metrics: serde_json::to_value(&t.model.info.metrics).unwrap_or_default(),
            notes: t.notes.clone(),
            bit_identical: None,
        }
    }
}

/// The `options` part of `POST /v1/datasets/{name}`: how the upload is protected and
/// checked (the flags of `mlguard data ingest`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestBody {
    /// Store fields marked `pii` without a protect action as they are (recorded).
    #[serde(default)]
    pub keep_pii: bool,
    /// Refuse the data when the poisoning checks find anything of medium severity or worse.
    #[serde(default)]
    pub reject_poisoned: bool,
    /// k of k-anonymity over the quasi-identifiers (default 5).
    pub k: Option<usize>,
    /// The quasi-identifiers (default: the schema's `pii: quasi` fields).
    pub quasi: Option<Vec<String>>,
    /// Most share of rows suppressed to reach k (default 0.05).
    pub max_suppressed: Option<f64>,
    /// Birth dates generalised to the `year` (default) or an `age-band`.
    pub birth_dates: Option<String>,
    /// The date ages are computed at (`YYYY-MM-DD`; default today).
    pub as_of: Option<String>,
}

impl IngestBody {
    /// The vault's ingest options, with the defaults filled in; nonsense is
    /// [`crate::VaultError::Refused`].
    pub fn to_options(&self) -> Result<crate::IngestOptions, crate::VaultError> {
        use mlguard_data::protect::{BirthDates, ProtectOptions};
        let refused = crate::VaultError::Refused;
        let mut protect = ProtectOptions { keep_pii: self.keep_pii, ..ProtectOptions::default() };
        if let Some(k) = self.k {
            protect.k = k.max(1);
        }
        protect.quasi.clone_from(&self.quasi);
        if let Some(m) = self.max_suppressed {
            if !(0.0..=1.0).contains(&m) {
                return Err(refused(format!(
                    "max_suppressed must be a share between 0 and 1, not {m}"
                )));
            }
            protect.max_suppressed = m;
        }
        match self.birth_dates.as_deref() {
            None | Some("year") => {}
            Some("age-band") => protect.birth_dates = BirthDates::AgeBand,
            Some(other) => {
                return Err(refused(format!(
                    "birth_dates must be `year` or `age-band`, not {other:?}"
                )));
            }
        }
        if let Some(d) = &self.as_of {
            protect.as_of = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| refused(format!("as_of {d:?}: expected a date as YYYY-MM-DD")))?;
        }
        Ok(crate::IngestOptions {
            protect,
            reject_poisoned: self.reject_poisoned,
            ..crate::IngestOptions::default()
        })
    }
}

/// The answer to `POST /v1/datasets/{name}` (201): the version stored and what ingestion
/// found and did.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct IngestResponse {
    /// `NAME@VERSION`.
    pub dataset: String,
    /// Data rows stored.
    pub rows: u64,
    /// Columns.
    pub columns: u64,
    /// BLAKE3 of the stored (protected) CSV.
    pub blake3: String,
    /// Validation warnings.
    pub warnings: u64,
    /// What ingestion found and did, as stored with the version (`validation`,
    /// `protection`, `pii_kept`, `poison`, ...): what `GET /v1/datasets/{name}` reports.
    pub report: Value,
}

impl From<&crate::Ingested> for IngestResponse {
    fn from(d: &crate::Ingested) -> IngestResponse {
        let r = &d.record;
        IngestResponse {
            dataset: format!("{}@{}", r.name, r.version),
            rows: r.rows,
            columns: r.columns,
            blake3: r.blake3.clone(),
            warnings: d.report.warnings(),
            report: serde_json::from_str(&r.report).unwrap_or_default(),
        }
    }
}

/// `GET /v1/models/{name}`: a model version, verified, without its split seed.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct ModelDescription {
    /// `NAME@VERSION`.
    pub model: String,
    /// The dataset version it was trained on (`NAME@VERSION`).
    pub dataset: String,
    /// When it was trained (RFC 3339).
    pub created: String,
    /// Who trained it.
    pub actor: String,
    /// BLAKE3 of its safetensors.
    pub blake3: String,
    /// Everything about it but the weights: the encoding (target, classes, features),
    /// metrics, hyperparameters and provenance.
    pub info: Value,
}

impl From<(&crate::ModelRecord, &mlguard_learn::Model)> for ModelDescription {
    fn from((r, m): (&crate::ModelRecord, &mlguard_learn::Model)) -> ModelDescription {
        ModelDescription {
            model: format!("{}@{}", r.name, r.version),
            dataset: format!("{}@{}", r.dataset, r.dataset_version),
            created: r.created.clone(),
            actor: r.actor.clone(),
            blake3: r.blake3.clone(),
            info: serde_json::to_value(&m.info).unwrap_or_default(),
        }
    }
}

/// `POST /v1/models/{name}/export` with a body: the model and its signature for a
/// directory of that name (`model.safetensors` and `model.sig`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The directory's name the files will be written to (the bundle names it).
    pub signed_for: String,
}

/// The answer to a signed export: the plaintext model and its OpenSSF model-signing bundle.
#[derive(Debug, Clone, Serialize, serde::Deserialize, JsonSchema)]
pub struct ModelExport {
    /// `NAME@VERSION`.
    pub model: String,
    /// `model.safetensors`, base64 (standard, padded).
    pub safetensors: String,
    /// `model.sig`: the bundle (JSON), signed with the vault's key.
    pub signature: String,
    /// The signing key's id.
    pub key_id: String,
}

impl From<&crate::SignedExport> for ModelExport {
    fn from(e: &crate::SignedExport) -> ModelExport {
        ModelExport {
            model: format!("{}@{}", e.record.name, e.record.version),
            safetensors: mlguard_seal::b64(&e.safetensors),
            signature: e.signature.clone(),
            key_id: e.key_id.clone(),
        }
    }
}

/// Percent-encodes a path segment of the API or the console (a dataset or model
/// reference, a user name): everything but letters, digits, `-`, `_`, `.`, `~` and `@`.
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlguard_data::protect::BirthDates;

    #[test]
    fn ingest_options_from_the_api_or_what_is_wrong() {
        let o: IngestBody = serde_json::from_str(
            r#"{"keep_pii": true, "k": 3, "quasi": ["zip"], "birth_dates": "age-band", "as_of": "2026-01-31"}"#,
        )
        .expect("json");
        let i = o.to_options().expect("valid");
        assert!(i.protect.keep_pii && i.protect.k == 3);
        assert_eq!(i.protect.quasi, Some(vec!["zip".to_owned()]));
        assert_eq!(i.protect.birth_dates, BirthDates::AgeBand);
        assert_eq!(i.protect.as_of.to_string(), "2026-01-31");
        for (bad, says) in [
            (r#"{"max_suppressed": 2}"#, "between 0 and 1"),
            (r#"{"birth_dates": "month"}"#, "year` or `age-band"),
            (r#"{"as_of": "31/01/2026"}"#, "YYYY-MM-DD"),
        ] {
            let o: IngestBody = serde_json::from_str(bad).expect("json");
            let e = o.to_options().expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(serde_json::from_str::<IngestBody>(r#"{"kk": 3}"#).is_err(), "unknown option");
    }

    #[test]
    fn a_version_that_kept_personal_data_is_raw() {
        let record = |report: &str| crate::DatasetRecord {
            name: "users".into(),
            version: 2,
            object: "x.mlseal".into(),
            blake3: "00".into(),
            size: 10,
            rows: 1,
            columns: 1,
            schema: "{}".into(),
            created: "2026-12-05T00:00:00Z".into(),
            actor: "sue".into(),
            report: report.into(),
            columnar: None,
        };
        let raw = |report: &str| DatasetReport::from(record(report)).raw;
        assert!(raw(r#"{"pii_kept": ["email"]}"#));
        assert!(!raw(r#"{"pii_kept": []}"#) && !raw("{}") && !raw("not json"));
        assert_eq!(DatasetReport::from(record("{}")).dataset, "users@2");
    }
}
