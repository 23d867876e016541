//! `mlguard data ingest | data list | train | predict | model list | inspect | verify | export`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use mlguard_vault::api::TrainBody;
use mlguard_vault::{Ctx, SeedPolicy, Vault, parse_ref};

use crate::args::{TrainArgs, VaultArgs};
use crate::output::{Out, thousands};
use mlguard_findings::{TextOptions, render_text};

/// The context of this process's vault operations: the local operating-system user, with
/// one request id for the invocation (its audit entries share it).
pub(crate) fn local() -> &'static Ctx {
    static CX: std::sync::OnceLock<Ctx> = std::sync::OnceLock::new();
    CX.get_or_init(Ctx::local)
}

pub(crate) fn open_vault(args: &VaultArgs) -> anyhow::Result<Vault> {
    open_vault_with(args, None)
}

/// [`open_vault`], with a passphrase given by a caller of the library.
pub(crate) fn open_vault_with(
    args: &VaultArgs,
    passphrase: Option<zeroize::Zeroizing<String>>,
) -> anyhow::Result<Vault> {
    let store = mlguard_seal::Keystore::open(&args.vault)?;
    let s = crate::vault::secret_given(args, store.method(), false, passphrase)?;
    Ok(Vault::open(&args.vault, &s)?)
}

/// Findings of each step `data report` shows (all are in its JSON).
const REPORT_FINDINGS: usize = 20;

/// The human view of a dataset version's stored report (the document `data report --json`
/// prints, or the server's `GET /v1/datasets/{name}`): what each ingestion step found and
/// did. Every string in it came from the vault and is escaped by `out` when printed.
pub(crate) fn report_text(doc: &serde_json::Value, out: &Out) -> String {
    use std::fmt::Write as _;
    let n = |v: &serde_json::Value| thousands(v.as_u64().unwrap_or(0));
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{}: {} rows × {} columns, ingested {} by {}; sealed, BLAKE3 {}",
        s(&doc["dataset"]),
        n(&doc["rows"]),
        doc["columns"],
        s(&doc["created"]),
        s(&doc["actor"]),
        s(&doc["blake3"])
    );
    t.push_str(&report_sections(&doc["report"], out));
    t
}

/// What ingestion found and did, from the report stored with a version: validation,
/// protection, personal data kept, poisoning checks (`data report` and `data ingest`).
pub(crate) fn report_sections(r: &serde_json::Value, out: &Out) -> String {
    use std::fmt::Write as _;
    let n = |v: &serde_json::Value| thousands(v.as_u64().unwrap_or(0));
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let mut t = String::new();
    // The first findings of each step (all are in --json).
    let findings = |v: &serde_json::Value| {
        let mut rep = serde_json::from_value::<mlguard_findings::Report>(v.clone()).ok()?;
        if rep.findings.is_empty() {
            return None;
        }
        rep.omitted += rep.findings.len().saturating_sub(REPORT_FINDINGS) as u64;
        rep.findings.truncate(REPORT_FINDINGS);
        Some(
            render_text(&rep, TextOptions { color: out.color })
                .replace("(raise --max-errors to see more)", "(--json shows them)"),
        )
    };
    let v = &r["validation"];
    if v.is_object() {
        let _ = writeln!(
            t,
            "validation of {}: {}; {} rows, {} error(s), {} warning(s)",
            s(&v["subject"]),
            out.good("valid"),
            n(&v["stats"]["rows"]),
            n(&v["errors"]),
            n(&v["warnings"])
        );
        if let Some(text) = findings(v) {
            t.push_str(&text);
        }
    }
    let p = &r["protection"];
    if p.is_object() {
        let _ = writeln!(
            t,
            "protection: {} rows in, {} out ({} suppressed)",
            n(&p["rows_in"]),
            n(&p["rows_out"]),
            n(&p["suppressed"])
        );
        let columns = p["columns"].as_array().cloned().unwrap_or_default();
        let width = columns.iter().map(|c| s(&c["name"]).len()).max().unwrap_or(6).max(6);
        for c in &columns {
            let (action, because) = (s(&c["action"]), s(&c["because"]));
            let quasi = c["quasi_identifier"] == true;
            if (action == "kept" && !quasi) || because == "FreeText" {
                continue;
            }
            let why = match because.as_str() {
                "Schema" => "schema's protect",
                "PiiDefault" => "default for its pii kind",
                "Quasi" => "quasi-identifier",
                "KeptPii" => "pii kept as asked (--keep-pii)",
                _ => "",
            };
            let then = if quasi { ", then generalised for k" } else { "" };
            let _ = writeln!(t, "  {:<width$}  {action}{then}  [{why}]", s(&c["name"]));
        }
        let k = &p["k_anonymity"];
        if k.is_object() {
            let levels: Vec<String> = k["generalised"]
                .as_array()
                .map(|g| {
                    g.iter()
                        .map(|g| {
                            format!(
                                "{}: {} (level {} of {})",
                                s(&g["column"]),
                                s(&g["generalisation"]),
                                g["level"],
                                g["top"]
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let _ = writeln!(
                t,
                "  k-anonymity: k = {} asked, smallest group {} over {} groups; {}",
                k["k"],
                k["achieved_k"],
                n(&k["groups"]),
                levels.join(", ")
            );
            let l = &k["l_diversity"];
            if l.is_object() {
                let target = s(&l["target"]);
                let _ = writeln!(
                    t,
                    "  l-diversity of {target}: l = {}; {} group(s) hold a single {target} value",
                    l["l"],
                    n(&l["groups_with_one_value"])
                );
            }
        }
        let risk = &p["reidentification_risk"];
        if risk.is_object() {
            let pct = |v: &serde_json::Value| format!("{:.1} %", 100.0 * v.as_f64().unwrap_or(0.0));
            let cols: Vec<String> =
                risk["columns"].as_array().map(|c| c.iter().map(s).collect()).unwrap_or_default();
            let _ = writeln!(
                t,
                "  re-identification risk: {} of rows unique on {} ({}) before, {} after",
                pct(&risk["unique_before"]),
                if risk["declared"] == true {
                    "the quasi-identifiers"
                } else {
                    "undeclared candidates"
                },
                cols.join(", "),
                pct(&risk["unique_after"])
            );
        }
    }
    if let Some(kept) = r["pii_kept"].as_array().filter(|k| !k.is_empty()) {
        let names: Vec<String> = kept.iter().map(s).collect();
        let _ = writeln!(
            t,
            "{} (--keep-pii, by {}): {}",
            out.bad("personal data kept unprotected"),
            s(&r["pii_kept_by"]),
            names.join(", ")
        );
    }
    let poison = &r["poison"];
    if poison.is_object() {
        let verdict =
            if r["poison_flagged"] == true { out.bad("FLAGGED") } else { out.good("clean") };
        let baseline = match r["baseline"].as_str() {
            Some(b) => format!(" against {b}"),
            None => String::new(),
        };
        let st = &poison["stats"];
        let _ = writeln!(
            t,
            "poisoning checks{baseline}: {verdict}: {} conflicting duplicate group(s), {} flood(s), {} outlier(s), {} doubted label(s) ({} listed)",
            n(&st["conflicting_duplicates"]),
            n(&st["floods"]),
            n(&st["outliers"]),
            n(&st["label_issues"]),
            n(&st["labels_listed"])
        );
        if let Some(text) = findings(poison) {
            t.push_str(&text);
        }
    }
    t
}

fn seed_policy(s: &str) -> anyhow::Result<SeedPolicy> {
    match s {
        "secure" => Ok(SeedPolicy::Secure),
        _ => match s.strip_prefix("fixed:").map(str::parse) {
            Some(Ok(n)) => Ok(SeedPolicy::Fixed(n)),
            _ => bail!("--seed-policy must be `secure` or `fixed:N` (N a whole number), got {s:?}"),
        },
    }
}

pub(crate) fn metrics_line(m: &mlguard_learn::Metrics) -> String {
    let v = |x: f64| if x.is_finite() { format!("{x:.4}") } else { "n/a".to_owned() };
    let k = m.confusion.len();
    let averaging = if k > 2 {
        format!(
            "; precision, recall and F1 are macro averages over the {k} classes, ROC AUC one-vs-rest"
        )
    } else {
        "; precision, recall and F1 of the positive class (the second)".to_owned()
    };
    let absent: Vec<String> = (0..k)
        .filter(|&c| m.confusion[c].iter().sum::<u64>() == 0)
        .map(|c| c.to_string())
        .collect();
    let absent = if absent.is_empty() {
        String::new()
    } else {
        format!("; class(es) {} had no test rows", absent.join(", "))
    };
    format!(
        "accuracy {}, precision {}, recall {}, F1 {}, ROC AUC {}, log loss {}{averaging}{absent}",
        v(m.accuracy),
        v(m.precision),
        v(m.recall),
        v(m.f1),
        v(m.roc_auc),
        v(m.log_loss)
    )
}

/// The API's training request from the command line (`--reproduce` aside).
pub(crate) fn train_body(a: &TrainArgs) -> anyhow::Result<TrainBody> {
    Ok(TrainBody {
        dataset: a.dataset.clone().unwrap_or_default(),
        name: a.name.clone(),
        target: a.target.clone(),
        test_size: Some(a.test_size),
        l2: Some(a.l2),
        max_iter: Some(a.max_iter),
        accept_flagged: Some(a.accept_flagged),
        fixed_seed: match seed_policy(&a.seed_policy)? {
            SeedPolicy::Secure => None,
            SeedPolicy::Fixed(n) => Some(n),
        },
    })
}

/// `mlguard train --reproduce NAME[@V]`: trains again with the sealed split seed (on this
/// vault only: the seed never leaves it) and says whether the weights are bit-identical.
pub(crate) fn reproduce(
    a: &TrainArgs,
    vault: &VaultArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let mut v = open_vault(vault)?;
    if let Some(mib) = a.memory_limit {
        v.set_train_memory_limit(usize::try_from(mib << 20).unwrap_or(usize::MAX));
    }
    let r = a.reproduce.as_deref().context("--reproduce names the model to reproduce")?;
    let (name, version) = parse_ref(r)?;
    let (m, same) = v.reproduce(local(), &name, version)?;
    let mut r = mlguard_vault::api::TrainResponse::from(&m);
    r.bit_identical = Some(same);
    print_trained(&r, a.json, out)
}

/// What training made (or, with `bit_identical`, what a reproduction found), as JSON or
/// as lines; exit 1 when a reproduction differs.
pub(crate) fn print_trained(
    r: &mlguard_vault::api::TrainResponse,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    if json {
        out.line(&serde_json::to_string_pretty(r)?)?;
    } else {
        for n in &r.notes {
            errln!("note: {n}");
        }
        out.line(&format!(
            "{} {} on {} ({} train / {} test rows, {} features, {} L-BFGS iterations{})",
            if r.bit_identical.is_some() {
                "retrained, to check it (nothing stored),"
            } else {
                "trained"
            },
            r.model,
            r.dataset,
            thousands(r.train_rows),
            thousands(r.test_rows),
            r.features,
            r.iterations,
            if r.converged { "" } else { ", not converged: raise --max-iter" }
        ))?;
        let metrics: mlguard_learn::Metrics = serde_json::from_value(r.metrics.clone())
            .context("the training answer's metrics are not what the API says")?;
        out.line(&format!("  {}", metrics_line(&metrics)))?;
        match r.bit_identical {
            None => out.line(
                "  sealed and signed into the vault; the split seed is sealed inside the model",
            )?,
            Some(same) => out.line(&format!(
                "  reproduced: weights {}",
                if same { out.good("bit-identical") } else { out.bad("DIFFERENT") }
            ))?,
        }
    }
    Ok(if r.bit_identical == Some(false) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub(crate) fn verify_model(r: &str, vault: &VaultArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let v = open_vault(vault)?;
    match v.verify_model(local(), r) {
        Ok((rec, m)) => {
            out.line(&format!(
                "{}@{}: {} (signature, every segment, digest, catalog entry and safetensors structure; {} weights)",
                rec.name,
                rec.version,
                out.good("verified"),
                m.logistic.weights.len() + m.logistic.intercepts.len()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

/// A failed audit verification: the first bad entry, the first problem and how many more
/// (one edit breaks every later checkpoint: `--json` lists them all).
pub(crate) fn audit_failure(
    first_bad: Option<u64>,
    problems: &[&str],
    out: &mut Out,
) -> anyhow::Result<()> {
    let first = first_bad.map(|i| format!("; first bad entry: {i}")).unwrap_or_default();
    out.line(&format!("{} the audit log was altered{first}", out.bad("FAILED:")))?;
    if let Some(p) = problems.first() {
        out.line(&format!("  {p}"))?;
    }
    if problems.len() > 1 {
        out.line(&format!(
            "  and {} more problem(s) that follow from it (--json lists them)",
            problems.len() - 1
        ))?;
    }
    Ok(())
}

/// An RFC 3339 option as a time.
fn parse_time(
    flag: &str,
    value: Option<&str>,
) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    value
        .map(|s| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&chrono::Utc))
                .with_context(|| format!("--{flag} {s:?}: expected an RFC 3339 time"))
        })
        .transpose()
}

/// Shows audit entries (JSON texts, oldest first) that pass the filter: a table, or the
/// JSON lines. One renderer for the local vault and a server's log.
pub(crate) fn show_audit_entries<'e>(
    entries: impl Iterator<Item = &'e str>,
    filter: &crate::args::AuditFilter,
    json: bool,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let since = parse_time("since", filter.since.as_deref())?;
    let until = parse_time("until", filter.until.as_deref())?;
    let mut shown = 0u64;
    let mut denied = 0u64;
    for text in entries {
        let e: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let s = |k: &str| e[k].as_str().unwrap_or_default();
        let at = chrono::DateTime::parse_from_rfc3339(s("time")).ok();
        let keep = since.is_none_or(|t| at.is_none_or(|a| a >= t))
            && until.is_none_or(|t| at.is_none_or(|a| a < t))
            && filter.actor.as_deref().is_none_or(|a| s("actor") == a)
            && filter.action.as_deref().is_none_or(|a| {
                s("action") == a || s("action").strip_prefix(a).is_some_and(|r| r.starts_with('.'))
            })
            && filter.outcome.as_deref().is_none_or(|o| s("outcome") == o)
            && filter.object.as_deref().is_none_or(|o| s("object").contains(o));
        if !keep {
            continue;
        }
        shown += 1;
        if json {
            out.line(text)?;
            continue;
        }
        let outcome = match s("outcome") {
            "allowed" => "allowed".to_owned(),
            other => {
                denied += 1;
                out.bad(other)
            }
        };
        out.line(&format!(
            "{:>6}  {}  {:<12} {:<18} {outcome:<7}  {}",
            e["index"].as_u64().map(|i| i.to_string()).unwrap_or_default(),
            s("time"),
            s("actor"),
            s("action"),
            s("object"),
        ))?;
    }
    if !json {
        errln!(
            "{shown} entr{} shown, {denied} denied or failed",
            if shown == 1 { "y" } else { "ies" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
