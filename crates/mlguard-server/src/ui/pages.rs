//! The console's pages: datasets, models, the audit log and administration. Each asks
//! the vault for what it shows through the operation the API uses (allowed or refused by
//! the policy, and recorded), and escapes every value it shows.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use mlguard_vault::api::path_segment;
use mlguard_vault::identity::{Action, TotpAlg};
use mlguard_vault::{DatasetRecord, ModelRecord, VaultError};
use serde_json::Value;
use zeroize::Zeroizing;

use super::{Csrf, chart, code, timed};
use crate::{AppState, blocking};

/// Most audit entries a timeline lists (the newest that match; the counts and the chart
/// cover every match).
const TIMELINE_ROWS: usize = 200;

/// What a page or form answers: a page, or a file to download.
pub(crate) enum Answer {
    Page(Markup),
    File(Response),
}

impl From<Markup> for Answer {
    fn from(m: Markup) -> Answer {
        Answer::Page(m)
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A JSON value as short text (strings unquoted).
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The console's address of a dataset or model version (`kind`: `datasets`, `models`).
fn version_href(kind: &str, name: &str, version: u32) -> String {
    format!("/ui/{kind}/{}", path_segment(&format!("{name}@{version}")))
}

fn totp_field() -> Markup {
    html! {
        label.totp { "TOTP code" input type="text" name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6"; }
    }
}

// ----- Datasets -------------------------------------------------------------------------

async fn datasets(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.page(&headers, "Datasets", |v, visit| {
            let all = v.list_datasets(&visit.cx)?;
            let mut by_name: BTreeMap<&str, Vec<&DatasetRecord>> = BTreeMap::new();
            for d in &all {
                by_name.entry(&d.name).or_default().push(d);
            }
            Ok(html! {
                @if all.is_empty() {
                    p { "No dataset has been ingested yet." }
                } @else {
                    table {
                        thead { tr { th { "Dataset" } th { "Versions" } th { "Latest: rows" } th { "columns" } th { "ingested" } th { "by" } th { "checks" } } }
                        tbody {
                            @for (name, versions) in &by_name {
                                @let last = versions[versions.len() - 1];
                                tr {
                                    td { a href=(version_href("datasets", name, last.version)) { (name) } }
                                    td {
                                        @for d in versions {
                                            a.version href=(version_href("datasets", &d.name, d.version)) { "v" (d.version) }
                                            " "
                                        }
                                    }
                                    td.num { (last.rows) }
                                    td.num { (last.columns) }
                                    td { (last.created) }
                                    td { (last.actor) }
                                    td { (flags(last)) }
                                }
                            }
                        }
                    }
                }
            }
            .into())
        })
    })
    .await
}

/// Badges of what ingestion found or kept.
fn flags(d: &DatasetRecord) -> Markup {
    let report = json(&d.report);
    html! {
        @if report["poison_flagged"] == Value::Bool(true) { span.badge.bad { "poisoning flagged" } " " }
        @if d.kept_pii() { span.badge.warn { "personal data kept" } " " }
        @if report["poison_flagged"] == Value::Bool(false) && !d.kept_pii() { span.badge.ok { "passed" } }
    }
}

async fn dataset(
    State(s): State<Arc<AppState>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.page(&headers, "Datasets", |v, visit| {
            let d = v.dataset(&visit.cx, &reference)?;
            Ok(dataset_page(&d, &visit.csrf).into())
        })
    })
    .await
}

fn dataset_page(d: &DatasetRecord, csrf: &str) -> Markup {
    let report = json(&d.report);
    let schema = json(&d.schema);
    let protection = &report["protection"];
    let poison = &report["poison"];
    let reference = format!("{}@{}", d.name, d.version);
    html! {
        h2 { (reference) " " (flags(d)) }
        dl {
            dt { "Rows" } dd { (d.rows) }
            dt { "Columns" } dd { (d.columns) }
            dt { "Ingested" } dd { (d.created) " by " (d.actor) }
            dt { "BLAKE3" } dd { code { (d.blake3) } }
            dt { "Compared with" } dd { (text(&report["baseline"])) }
            @if let Some(kept) = report["pii_kept"].as_array().filter(|k| !k.is_empty()) {
                dt { "Personal data kept" }
                dd { (kept.iter().map(text).collect::<Vec<_>>().join(", ")) " (allowed by " (text(&report["pii_kept_by"])) ")" }
            }
        }
        form.inline method="post" action=(format!("{}/download", version_href("datasets", &d.name, d.version))) {
            input type="hidden" name="csrf" value=(csrf);
            @if d.kept_pii() { (totp_field()) }
            button type="submit" { "Download CSV" }
        }
        h3 { "Schema" }
        table {
            thead { tr { th { "Field" } th { "Type" } th { "Role" } th { "Personal data" } th { "Protection" } th { "Description" } } }
            tbody {
                @for f in schema["fields"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                    tr {
                        td { (text(&f["name"])) }
                        td { (text(&f["type"])) }
                        td { (text(&f["role"])) }
                        td { (text(&f["pii"])) }
                        td { (text(&f["protect"])) }
                        td { (text(&f["description"])) }
                    }
                }
            }
        }
        h3 { "Protection" }
        @if protection.is_null() {
            p { "No protection report was kept for this version." }
        } @else {
            dl {
                dt { "Rows in / out" } dd { (text(&protection["rows_in"])) " / " (text(&protection["rows_out"])) }
                dt { "Rows suppressed" } dd { (text(&protection["suppressed"])) }
                dt { "Values redacted (unparsable)" } dd { (counts(&protection["redacted_unparsable"])) }
                dt { "Spans scrubbed from free text" } dd { (counts(&protection["scrubbed_spans"])) }
            }
            table {
                thead { tr { th { "Field" } th { "Action" } th { "Why" } th { "Quasi-identifier" } } }
                tbody {
                    @for c in protection["columns"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                        tr {
                            td { (text(&c["name"])) } td { (text(&c["action"])) } td { (because(&c["because"])) }
                            td { (if c["quasi_identifier"] == true { "yes" } else { "" }) }
                        }
                    }
                }
            }
            @let k = &protection["k_anonymity"];
            @if !k.is_null() {
                h4 { "k-anonymity" }
                dl {
                    dt { "k asked" } dd { (text(&k["k"])) }
                    dt { "k achieved" } dd { (text(&k["achieved_k"])) }
                    dt { "Groups" } dd { (text(&k["groups"])) }
                    @if !k["l_diversity"].is_null() {
                        dt { "l-diversity of " (text(&k["l_diversity"]["target"])) }
                        dd { "l = " (text(&k["l_diversity"]["l"])) "; groups with one value: " (text(&k["l_diversity"]["groups_with_one_value"])) }
                    }
                }
                table {
                    thead { tr { th { "Quasi-identifier" } th { "Generalisation" } th { "Level" } th { "of" } } }
                    tbody {
                        @for g in k["generalised"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                            tr { td { (text(&g["column"])) } td { (text(&g["generalisation"])) } td.num { (text(&g["level"])) } td.num { (text(&g["top"])) } }
                        }
                    }
                }
            }
            @if let Some(rows) = protection["suppressed_rows"].as_array().filter(|r| !r.is_empty()) {
                p { "Suppressed rows: " (rows.iter().map(text).collect::<Vec<_>>().join(", ")) }
            }
        }
        h3 { "Poisoning checks" }
        @if poison.is_null() {
            p { "No poisoning report was kept for this version." }
        } @else {
            dl {
                @for (k, v) in poison["stats"].as_object().into_iter().flatten() {
                    dt { (k.replace('_', " ")) } dd { (text(v)) }
                }
            }
            @let findings = poison["findings"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            @if findings.is_empty() {
                p { "Nothing found." }
            } @else {
                table {
                    thead { tr { th { "Severity" } th { "Check" } th { "Row" } th { "Field" } th { "What" } th { "Value" } } }
                    tbody {
                        @for f in findings {
                            tr class=(format!("sev-{}", text(&f["severity"]))) {
                                td { (text(&f["severity"])) }
                                td { (text(&f["check"])) }
                                td.num { (text(&f["location"]["row"])) }
                                td { (text(&f["location"]["field"])) }
                                td { (text(&f["message"])) }
                                td { (text(&f["value"])) }
                            }
                        }
                    }
                }
                @if poison["omitted"].as_u64().is_some_and(|n| n > 0) {
                    p.small { (text(&poison["omitted"])) " more findings were counted but not stored." }
                }
            }
        }
        h3 { "Validation" }
        @let validation = &report["validation"];
        dl {
            @for (k, v) in validation["stats"].as_object().into_iter().flatten() {
                dt { (k.replace('_', " ")) } dd { (text(v)) }
            }
        }
    }
}

/// Counts by name (`{"email": 3}`) as text: `email 3, …`, or `none`.
fn counts(v: &Value) -> String {
    match v.as_object() {
        Some(m) if !m.is_empty() => {
            m.iter().map(|(k, n)| format!("{k} {}", text(n))).collect::<Vec<_>>().join(", ")
        }
        Some(_) => "none".into(),
        None => text(v),
    }
}

/// Why protection did what it did to a field, in words (the report keeps the reason's
/// name).
fn because(v: &Value) -> String {
    match v.as_str().unwrap_or_default() {
        "Schema" => "the schema's protect".into(),
        "PiiDefault" => "the default for its kind of personal data".into(),
        "Quasi" => "a quasi-identifier (k-anonymity)".into(),
        "FreeText" => "free text: its cells scanned".into(),
        "NotPersonal" => "not personal data".into(),
        "KeptPii" => "personal data kept as asked".into(),
        other => other.to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct WithTotp {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    totp: String,
}

impl WithTotp {
    fn code(&self) -> Option<&str> {
        code(&self.totp)
    }
}

async fn download_dataset(
    State(s): State<Arc<AppState>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<WithTotp>,
) -> Response {
    // Verifying and decrypting a whole table is bulk work, as the API's download; the
    // file's body streams on this runtime.
    let runtime = tokio::runtime::Handle::current();
    crate::bulk(move || {
        let _entered = runtime.enter();
        let object = reference.clone();
        s.post(&headers, &form.csrf, (Action::DatasetRead, &object), "Datasets", |v, visit| {
            let cx = visit.cx.clone().with_totp(form.code());
            let (d, file) = v.download_dataset(&cx, &reference)?;
            let mut response = crate::datasets::stream_file(file).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            h.insert(header::CONTENT_LENGTH, d.size.into());
            h.insert(
                header::CONTENT_DISPOSITION,
                crate::datasets::attachment(&format!("{}-{}", d.name, d.version), "csv"),
            );
            Ok(Answer::File(response))
        })
    })
    .await
    .unwrap_or_else(crate::stopped)
}

// ----- Models ---------------------------------------------------------------------------

async fn models(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.page(&headers, "Models", |v, visit| {
            let all = v.list_models(&visit.cx)?;
            Ok(html! {
                @if all.is_empty() {
                    p { "No model has been trained yet." }
                } @else {
                    table {
                        thead { tr { th { "Model" } th { "Trained on" } th { "Target" } th { "Accuracy" } th { "ROC AUC" } th { "Trained" } th { "by" } } }
                        tbody {
                            @for m in &all {
                                @let metrics = json(&m.metrics);
                                tr {
                                    td { a href=(version_href("models", &m.name, m.version)) { (m.name) "@" (m.version) } }
                                    td { (m.dataset) "@" (m.dataset_version) }
                                    td { (m.target) }
                                    td.num { (number(&metrics["accuracy"])) }
                                    td.num { (number(&metrics["roc_auc"])) }
                                    td { (m.created) }
                                    td { (m.actor) }
                                }
                            }
                        }
                    }
                }
            }
            .into())
        })
    })
    .await
}

/// A metric: counts as they are, rates to four places.
fn number(v: &Value) -> String {
    match (v.as_u64(), v.as_f64()) {
        (Some(n), _) => n.to_string(),
        (None, Some(x)) => format!("{x:.4}"),
        _ => String::new(),
    }
}

async fn model(
    State(s): State<Arc<AppState>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.page(&headers, "Models", |v, visit| {
            let (record, model) = v.model(&visit.cx, &reference)?;
            Ok(model_page(&record, &model, &visit.csrf).into())
        })
    })
    .await
}

fn model_page(r: &ModelRecord, m: &mlguard_learn::Model, csrf: &str) -> Markup {
    let reference = format!("{}@{}", r.name, r.version);
    let metrics = serde_json::to_value(&m.info.metrics).unwrap_or(Value::Null);
    let p = &m.info.provenance;
    html! {
        h2 { (reference) " " span.badge.ok { "signature and every tag verified" } }
        p.lineage {
            a href=(version_href("datasets", &r.dataset, r.dataset_version)) { (r.dataset) "@" (r.dataset_version) }
            " → " strong { (reference) }
        }
        dl {
            dt { "Target" } dd { (r.target) }
            dt { "Classes" } dd { (m.info.encoding.classes.join(", ")) }
            dt { "Features" } dd { (m.info.encoding.numeric.len()) " numeric, " (m.info.encoding.categorical.len()) " categorical" }
            dt { "Split seed" } dd { (p.get("seed_policy").map(text).unwrap_or_else(|| "not recorded (imported)".into())) " (the seed itself never leaves the vault)" }
            dt { "Dataset digest" } dd { code { (p.get("dataset_blake3").map(text).unwrap_or_default()) } }
            dt { "Model digest (BLAKE3)" } dd { code { (r.blake3) } }
            dt { "Trained" } dd { (r.created) " by " (r.actor) }
            @if let Some(who) = p.get("accepted_flagged_by") {
                dt { "Flagged dataset accepted by" } dd { (text(who)) }
            }
        }
        h3 { "Metrics (held-out test split)" }
        dl {
            @for (k, v) in metrics.as_object().into_iter().flatten().filter(|(_, v)| v.is_number()) {
                dt { (k.replace('_', " ")) } dd { (number(v)) }
            }
        }
        @if let Some(roc) = metrics["roc_curve"].as_array() {
            figure.half { (chart::curve("ROC curve", "false positive rate", "true positive rate", &points(roc), true)) figcaption { "ROC curve on the test split" } }
        }
        @if let Some(cal) = metrics["calibration"].as_array() {
            figure.half { (chart::curve("Calibration", "mean predicted probability", "share positive", &points(cal), true)) figcaption { "Calibration on the test split" } }
        }
        h3 { "Export" }
        form.inline method="post" action=(format!("{}/export", version_href("models", &r.name, r.version))) {
            input type="hidden" name="csrf" value=(csrf);
            (totp_field())
            button type="submit" { "Export safetensors" }
        }
    }
}

fn points(values: &[Value]) -> Vec<(f64, f64)> {
    values.iter().filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?))).collect()
}

async fn export_model(
    State(s): State<Arc<AppState>>,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Form(form): Form<WithTotp>,
) -> Response {
    blocking(move || {
        let object = reference.clone();
        s.post(&headers, &form.csrf, (Action::ModelExport, &object), "Models", |v, visit| {
            let cx = visit.cx.clone().with_totp(form.code());
            let (record, model) = v.export_model(&cx, &reference)?;
            let name = format!("{}-{}", record.name, record.version);
            Ok(Answer::File(
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            header::HeaderValue::from_static("application/octet-stream"),
                        ),
                        (
                            header::CONTENT_DISPOSITION,
                            crate::datasets::attachment(&name, "safetensors"),
                        ),
                    ],
                    model.to_safetensors(),
                )
                    .into_response(),
            ))
        })
    })
    .await
}

// ----- Audit log ------------------------------------------------------------------------

#[derive(serde::Deserialize, Default, Clone)]
struct Filter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    object: String,
    /// From this time (an RFC 3339 prefix: `2026-12-07`, `2026-12-07T10`).
    #[serde(default)]
    from: String,
    /// Up to this time (a prefix, inclusive).
    #[serde(default)]
    to: String,
}

impl Filter {
    fn keeps(&self, e: &Value) -> bool {
        let has = |field: &str, want: &str| {
            want.is_empty() || text(&e[field]).to_lowercase().contains(&want.to_lowercase())
        };
        let time = text(&e["time"]);
        has("actor", &self.actor)
            && (self.action.is_empty() || text(&e["action"]) == self.action)
            && (self.outcome.is_empty() || text(&e["outcome"]) == self.outcome)
            && has("object", &self.object)
            && (self.from.is_empty() || time.as_str() >= self.from.as_str())
            && (self.to.is_empty() || {
                // Compared on the common prefix: `2026-12-07` takes the whole day.
                let n = self.to.len().min(time.len());
                time.get(..n) <= self.to.get(..n)
            })
    }
}

async fn audit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Response {
    blocking(move || {
        s.page(&headers, "Audit log", |v, visit| {
            let entries: Vec<Value> =
                v.audit_entries(&visit.cx, 0)?.iter().map(|e| json(e)).collect();
            let total = entries.len();
            let kept: Vec<&Value> = entries.iter().filter(|e| filter.keeps(e)).collect();
            let refused = kept.iter().filter(|e| e["outcome"] != "allowed").count();
            let mut hours: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for e in &kept {
                let hour = text(&e["time"]).chars().take(13).collect::<String>();
                let h = hours.entry(hour).or_default();
                if e["outcome"] == "allowed" { h.0 += 1 } else { h.1 += 1 }
            }
            let hours: Vec<(String, u64, u64)> =
                hours.into_iter().rev().take(48).rev().map(|(h, (a, r))| (h, a, r)).collect();
            Ok(html! {
                form.filters method="get" action="/ui/audit" {
                    label { "Actor" input type="text" name="actor" value=(filter.actor); }
                    label { "Action" select name="action" {
                        option value="" { "any" }
                        @for a in Action::ALL {
                            option value=(a.as_str()) selected[filter.action == a.as_str()] { (a.as_str()) }
                        }
                    } }
                    label { "Outcome" select name="outcome" {
                        @for o in ["", "allowed", "denied", "failed"] {
                            option value=(o) selected[filter.outcome == o] { (if o.is_empty() { "any" } else { o }) }
                        }
                    } }
                    label { "Object" input type="text" name="object" value=(filter.object); }
                    label { "From" input type="text" name="from" placeholder="2026-12-07T09" value=(filter.from); }
                    label { "To" input type="text" name="to" placeholder="2026-12-07" value=(filter.to); }
                    button type="submit" { "Filter" }
                }
                p {
                    (kept.len()) " of " (total) " entries match; "
                    span class=[(refused > 0).then_some("refused-count")] { (refused) " denied or failed" }
                    @if kept.len() > TIMELINE_ROWS { "; the newest " (TIMELINE_ROWS) " are listed" }
                    "."
                }
                @if !hours.is_empty() {
                    figure { (chart::hourly(&hours)) figcaption { "Matching entries per hour (UTC); denied and failed in red" } }
                }
                form.inline method="post" action="/ui/audit/verify" {
                    input type="hidden" name="csrf" value=(visit.csrf);
                    button type="submit" { "Verify the whole log" }
                }
                table.timeline {
                    thead { tr { th { "#" } th { "Time" } th { "Actor" } th { "Action" } th { "Object" } th { "Outcome" } th { "Detail" } } }
                    tbody {
                        @for e in kept.iter().rev().take(TIMELINE_ROWS) {
                            @let outcome = text(&e["outcome"]);
                            tr class=(format!("outcome-{outcome}")) {
                                td.num { a href=(format!("/ui/audit/{}", text(&e["index"]))) { (text(&e["index"])) } }
                                td { (text(&e["time"])) }
                                td { (text(&e["actor"])) }
                                td { (text(&e["action"])) }
                                td { (text(&e["object"])) }
                                td { (outcome) }
                                td.detail { (text(&e["detail"])) }
                            }
                        }
                    }
                }
            }
            .into())
        })
    })
    .await
}

async fn audit_entry(
    State(s): State<Arc<AppState>>,
    Path(index): Path<u64>,
    headers: HeaderMap,
) -> Response {
    blocking(move || {
        s.page(&headers, "Audit log", |v, visit| {
            let proof = v.audit_proof(&visit.cx, index)?;
            // The entry's bytes as recorded: shown, and hashed here (not taken from the
            // proof).
            let recorded = v.audit_entries(&visit.cx, index)?.into_iter().next();
            let checked = match &recorded {
                Some(text) => check_inclusion(v, &proof, index, text),
                None => Err(format!("entry {index} is not in the log")),
            };
            let shown = recorded
                .as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .and_then(|e| serde_json::to_string_pretty(&e).ok())
                .unwrap_or_default();
            Ok(html! {
                h2 { "Entry " (index) }
                pre.entry { (shown) }
                h3 { "Inclusion proof" }
                @match &checked {
                    Ok(size) => p { span.badge.ok { "verified" } " This console hashed the entry as recorded, checked the checkpoint's signature with the log's key, and recomputed the checkpoint's root from the entry's hash and the proof: the entry is in the signed log of " (size) " entries." },
                    Err(why) => p { span.badge.bad { "not verified" } " " (why) },
                }
                dl {
                    dt { "Leaf hash" } dd { code { (text(&proof["leaf_hash"])) } }
                    dt { "Tree size" } dd { (text(&proof["tree_size"])) }
                    dt { "Root" } dd { code { (text(&proof["root"])) } }
                    dt { "Proof" } dd { @for h in proof["proof"].as_array().map(Vec::as_slice).unwrap_or(&[]) { code { (text(h)) } br; } }
                    dt { "Verifier key" } dd { code { (text(&proof["verifier_key"])) } }
                }
                h3 { "Signed checkpoint" }
                pre { (text(&proof["checkpoint"])) }
            }
            .into())
        })
    })
    .await
}

/// Checks an inclusion proof of the entry recorded as `entry` against its signed
/// checkpoint: the note's signature (the log's key), then the root recomputed from the
/// entry's leaf hash and the path. The tree size, or why not.
fn check_inclusion(
    v: &mlguard_vault::Vault,
    proof: &Value,
    index: u64,
    entry: &str,
) -> Result<u64, String> {
    // Lower-case hex of 32 bytes, as the vault writes hashes.
    let unhex = |v: &Value| v.as_str().and_then(mlguard_seal::unhex::<32>);
    let (size, root) = v.audit_keys().open_checkpoint(&text(&proof["checkpoint"]))?;
    let own = serde_json::from_str::<Value>(entry).ok().and_then(|e| e["index"].as_u64());
    if proof["index"].as_u64() != Some(index) || own != Some(index) {
        return Err(format!("the proof or the entry is not entry {index}'s"));
    }
    let leaf = mlguard_vault::merkle::leaf_hash(entry.as_bytes());
    if unhex(&proof["leaf_hash"]) != Some(leaf) {
        return Err("the proof is for other bytes than the entry recorded".into());
    }
    let path: Option<Vec<[u8; 32]>> =
        proof["proof"].as_array().ok_or("the proof has no path")?.iter().map(unhex).collect();
    let path = path.ok_or("the proof's path is not a list of hashes")?;
    if mlguard_vault::merkle::verify_inclusion(index, size, &leaf, &path, &root) {
        Ok(size)
    } else {
        Err(format!("the entry is not in the signed checkpoint of {size} entries"))
    }
}

async fn audit_verify(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<Csrf>,
) -> Response {
    blocking(move || {
        s.post(&headers, &form.csrf, (Action::AuditVerify, "audit"), "Audit log", |v, visit| {
            let r = v.verify_audit(&visit.cx)?;
            Ok(html! {
                h2 { "Verification of the whole log" }
                @if r.ok() {
                    p { span.badge.ok { "verified" } " " (r.entries) " entries and " (r.checkpoints) " signed checkpoints recomputed: nothing was edited, removed or moved." }
                } @else {
                    p { span.badge.bad { "tampered" } " " (r.problems.len()) " problems in " (r.entries) " entries." }
                    @if let Some(first) = r.first_bad_entry {
                        p { "First bad entry: " a href=(format!("/ui/audit/{first}")) { (first) } }
                    }
                    ul { @for p in &r.problems { li { (p) } } }
                }
                dl { dt { "Root" } dd { code { (r.root) } } }
                p { a href="/ui/audit" { "Back to the log" } }
            }
            .into())
        })
    })
    .await
}

// ----- Admin ----------------------------------------------------------------------------

async fn admin(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    blocking(move || {
        s.page(&headers, "Admin", |v, visit| {
            let may = |a| v.may(visit.cx.actor(), a).unwrap_or(false);
            let admin = [Action::UserManage, Action::TokenManage, Action::RoleManage];
            if !admin.into_iter().any(may) {
                // Refused as the users page would be (and recorded).
                v.authorize(&visit.cx, Action::UserManage, "/ui/admin")?;
            }
            v.console_view(&visit.cx, "/ui/admin")?;
            // An admin form: its fields, the anti-forgery token and a TOTP code field.
            let form = |action: &str, fields: Markup, label: &str| {
                html! {
                    form.inline method="post" action=(action) {
                        input type="hidden" name="csrf" value=(visit.csrf);
                        (fields)
                        (totp_field())
                        button type="submit" { (label) }
                    }
                }
            };
            let user = html! { label { "User" input type="text" name="user" required; } };
            Ok(html! {
                p { "Each of these needs a fresh TOTP code when the policy says so (by default it does): one code opens one of them." }
                @if may(Action::UserManage) {
                    section {
                        h2 { "Users and roles" }
                        (form("/ui/admin/users", html! {}, "Show users"))
                        (form("/ui/admin/users/add", html! {
                            label { "New user" input type="text" name="user" required; }
                            label { "Role" select name="role" {
                                @for r in mlguard_vault::identity::ROLES { option value=(r) { (r) } }
                            } }
                        }, "Add"))
                        (form("/ui/admin/users/disable", user.clone(), "Disable (their tokens stop working)"))
                    }
                    section {
                        h2 { "Second factor" }
                        (form("/ui/admin/mfa", user.clone(), "Enrol (shows a QR code once)"))
                    }
                }
                @if may(Action::TokenManage) {
                    section {
                        h2 { "Tokens" }
                        (form("/ui/admin/tokens", html! {}, "Show tokens"))
                        (form("/ui/admin/tokens/create", html! {
                            (user)
                            label { "Valid for (days, empty: no expiry)" input type="text" name="days" inputmode="numeric"; }
                        }, "Create a token"))
                        (form("/ui/admin/tokens/revoke", html! {
                            label { "Token id" input type="text" name="id" required; }
                        }, "Revoke"))
                    }
                }
                @if may(Action::RoleManage) {
                    section { h2 { "Policy" } (form("/ui/admin/policy", html! {}, "Show the policy")) }
                }
            }
            .into())
        })
    })
    .await
}

/// The fields of the admin forms (each uses some: a user and role to add, days of validity,
/// a token id), with the anti-forgery token and the TOTP code.
#[derive(serde::Deserialize)]
struct AdminForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    id: String,
    /// A whole policy (JSON), to replace the one in force.
    #[serde(default)]
    policy: String,
}

/// An admin form's post: refused without its anti-forgery token (recorded as a refusal of
/// `action` on `object`), else `act` runs with the visitor's context carrying the form's
/// TOTP code; its page ends with the way back.
async fn admin_post(
    s: Arc<AppState>,
    headers: HeaderMap,
    form: AdminForm,
    (action, object): (Action, String),
    act: impl FnOnce(
        &mlguard_vault::Vault,
        &mlguard_vault::Ctx,
        &AdminForm,
    ) -> Result<Markup, VaultError>
    + Send
    + 'static,
) -> Response {
    blocking(move || {
        s.post(&headers, &form.csrf, (action, &object), "Admin", |v, visit| {
            let cx = visit.cx.clone().with_totp(code(&form.totp));
            let shown = act(v, &cx, &form)?;
            Ok(html! { (shown) p { a href="/ui/admin" { "Back to admin" } } }.into())
        })
    })
    .await
}

async fn admin_users(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    admin_post(s, headers, form, (Action::UserManage, "users".into()), |v, cx, _| {
        let users = v.users(cx)?;
        Ok(html! {
            h2 { "Users" }
            table {
                thead { tr { th { "User" } th { "Role" } th { "Second factor" } th { "State" } th { "Added" } } }
                tbody {
                    @for u in &users {
                        tr class=[u.disabled.then_some("outcome-denied")] {
                            td { (u.name) } td { (u.role) }
                            td { (if u.mfa { "enrolled" } else { "none" }) }
                            td { (if u.disabled { "disabled" } else { "active" }) }
                            td { (u.created) }
                        }
                    }
                }
            }
        })
    })
    .await
}

async fn admin_tokens(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    admin_post(s, headers, form, (Action::TokenManage, "tokens".into()), |v, cx, _| {
        let tokens = v.tokens(cx)?;
        Ok(html! {
            h2 { "Tokens" }
            table {
                thead { tr { th { "Id" } th { "User" } th { "Created" } th { "Expires (Unix time)" } th { "State" } } }
                tbody {
                    @for t in &tokens {
                        tr class=[t.revoked.then_some("outcome-denied")] {
                            td { code { (t.id) } } td { (t.user) } td { (t.created) }
                            td { (t.expires.map(|e| e.to_string()).unwrap_or_else(|| "never".into())) }
                            td { (if t.revoked { "revoked" } else { "active" }) }
                        }
                    }
                }
            }
        })
    })
    .await
}

async fn add_user(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let object = form.user.trim().to_owned();
    admin_post(s, headers, form, (Action::UserManage, object), |v, cx, f| {
        let user = f.user.trim();
        v.add_user(cx, user, &f.role)?;
        Ok(html! { p { "User " strong { (user) } " added with the role " (f.role) ". Create a token for them below." } })
    })
    .await
}

async fn disable_user(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let object = form.user.trim().to_owned();
    admin_post(s, headers, form, (Action::UserManage, object), |v, cx, f| {
        let user = f.user.trim();
        v.disable_user(cx, user)?;
        Ok(html! { p { "User " strong { (user) } " is disabled: their tokens no longer authenticate, and their console sessions end at their next page." } })
    })
    .await
}

async fn create_token(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let object = form.user.trim().to_owned();
    admin_post(s, headers, form, (Action::TokenManage, object), |v, cx, f| {
        let ttl = match f.days.trim() {
            "" => None,
            d => Some(
                d.parse::<i64>()
                    .ok()
                    .filter(|d| (1..=36_500).contains(d))
                    .map(|d| d * 86_400)
                    .ok_or_else(|| {
                        VaultError::Refused(format!("{d:?} is not a number of days from 1 to 36500"))
                    })?,
            ),
        };
        let user = f.user.trim();
        let (id, token) = v.create_token(cx, user, ttl)?;
        let token: Zeroizing<String> = token;
        Ok(html! {
            h2 { "Token " code { (id) } " for " (user) }
            p { "This is the only time the token is shown: copy it now. The vault keeps only its hash." }
            pre.secret { (token.as_str()) }
        })
    })
    .await
}

async fn revoke_token(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let object = form.id.trim().to_owned();
    admin_post(s, headers, form, (Action::TokenManage, object), |v, cx, f| {
        let id = f.id.trim();
        v.revoke_token(cx, id)?;
        Ok(html! { p { "Token " code { (id) } " is revoked: its sessions end at their next page." } })
    })
    .await
}

async fn enroll_mfa(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    let object = form.user.trim().to_owned();
    admin_post(s, headers, form, (Action::UserManage, object), |v, cx, f| {
        let user = f.user.trim();
        let uri = v.enroll_mfa(cx, user, TotpAlg::Sha1)?;
        Ok(html! {
            h2 { "Second factor for " (user) }
            p { "Scan this code with an authenticator app now: it is shown once, and the vault keeps the secret encrypted." }
            @if let Ok(qr) = chart::qr(&uri) {
                figure.qr { (qr) }
            } @else {
                p { "The URI is too long for a QR code: enter it in the app by hand." }
            }
            pre.secret { (uri.as_str()) }
        })
    })
    .await
}

async fn policy(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    admin_post(s, headers, form, (Action::RoleManage, "policy.json".into()), |v, cx, f| {
        let p = v.read_policy(cx)?;
        let text = serde_json::to_string_pretty(&*p).unwrap_or_default();
        Ok(html! {
            h2 { "Policy: what each role may do" }
            table.matrix {
                thead { tr { th { "Action" } @for r in p.roles.keys() { th { (r) } } th { "TOTP code" } } }
                tbody {
                    @for a in Action::ALL {
                        tr {
                            td { (a.as_str()) }
                            @for r in p.roles.keys() {
                                td class=(if p.allows(r, a) { "yes" } else { "no" }) { (if p.allows(r, a) { "✓" } else { "–" }) }
                            }
                            td { (if p.needs_mfa(a) { "needed" } else { "" }) }
                        }
                    }
                }
            }
            h3 { "Replace the policy" }
            p { "The policy as JSON: the roles and the actions each may take (`dataset.*` matches every dataset action), and the actions that need a TOTP code. It is checked before it replaces the one in force: an unknown role or a pattern that matches no action is refused." }
            form.policy method="post" action="/ui/admin/policy/update" {
                input type="hidden" name="csrf" value=(f.csrf);
                textarea name="policy" rows="24" spellcheck="false" { (text) }
                (totp_field())
                button type="submit" { "Replace the policy" }
            }
        })
    })
    .await
}

async fn update_policy(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<AdminForm>,
) -> Response {
    admin_post(s, headers, form, (Action::RoleManage, "policy.json".into()), |v, cx, f| {
        let p: mlguard_vault::identity::Policy = serde_json::from_str(&f.policy)
            .map_err(|e| VaultError::Refused(format!("this is not a policy: {e}")))?;
        v.set_policy(cx, &p)?;
        Ok(html! { p { "The policy is replaced: it decides every request from now on, and its digest is in the audit log." } })
    })
    .await
}

/// The pages' routes.
pub(super) fn router() -> Router<Arc<AppState>> {
    let quick = |r| timed(r, crate::REQUEST_TIMEOUT);
    Router::new()
        .route("/ui/datasets", quick(get(datasets)))
        .route("/ui/datasets/{reference}", quick(get(dataset)))
        .route(
            "/ui/datasets/{reference}/download",
            timed(post(download_dataset), crate::TRANSFER_TIMEOUT),
        )
        .route("/ui/models", quick(get(models)))
        .route("/ui/models/{reference}", quick(get(model)))
        .route("/ui/models/{reference}/export", quick(post(export_model)))
        .route("/ui/audit", quick(get(audit)))
        .route("/ui/audit/{index}", quick(get(audit_entry)))
        .route("/ui/audit/verify", quick(post(audit_verify)))
        .route("/ui/admin", quick(get(admin)))
        .route("/ui/admin/users", quick(post(admin_users)))
        .route("/ui/admin/users/add", quick(post(add_user)))
        .route("/ui/admin/users/disable", quick(post(disable_user)))
        .route("/ui/admin/tokens", quick(post(admin_tokens)))
        .route("/ui/admin/tokens/create", quick(post(create_token)))
        .route("/ui/admin/tokens/revoke", quick(post(revoke_token)))
        .route("/ui/admin/mfa", quick(post(enroll_mfa)))
        .route("/ui/admin/policy", quick(post(policy)))
        .route("/ui/admin/policy/update", quick(post(update_policy)))
}
