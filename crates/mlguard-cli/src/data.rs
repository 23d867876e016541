//! `mlguard data ...`

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mlguard_data::{InferOptions, Schema, ValidateOptions};
use mlguard_findings::{Report, TextOptions, render_text};

use crate::args::{Format, InferArgs, ValidateArgs};
use crate::output::{Out, delimiter, thousands};

/// Reads and checks a schema file; errors name the file and the JSON pointer.
pub(crate) fn load_schema(path: &Path) -> anyhow::Result<Schema> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read schema {}", path.display()))?;
    if meta.len() > mlguard_data::MAX_SCHEMA_BYTES as u64 {
        bail!(
            "schema {} is {} bytes; the limit is {}",
            path.display(),
            meta.len(),
            mlguard_data::MAX_SCHEMA_BYTES
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read schema {}", path.display()))?;
    Schema::from_json_str(&text).with_context(|| format!("invalid schema {}", path.display()))
}

pub(crate) fn infer_schema(a: &InferArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let opts = InferOptions {
        target: a.target.clone(),
        sample_rows: a.sample_rows,
        delimiter: delimiter(&a.delimiter)?,
        ..InferOptions::default()
    };
    if let Some(o) = a.output.as_ref().filter(|o| o.exists() && !a.force) {
        bail!("{} exists; pass --force to overwrite it", o.display());
    }
    let inferred = mlguard_data::infer_path(&a.file, &opts)?;
    let mut text = serde_json::to_string_pretty(&inferred.schema.to_json())?;
    text.push('\n');
    match &a.output {
        Some(o) => mlguard_seal::write_atomic(o, text.as_bytes(), a.force)?,
        None => out.write(&text)?,
    }
    let s = &inferred.schema;
    let pii: Vec<String> =
        s.fields.iter().filter_map(|f| f.pii.map(|k| format!("{} ({k})", f.name))).collect();
    eprintln!(
        "drafted {} fields from {} rows{}; personal data: {}.",
        s.fields.len(),
        thousands(inferred.rows),
        if inferred.sampled { " (a sample: the file has more)" } else { "" },
        if pii.is_empty() { "none detected".to_owned() } else { pii.join(", ") }
    );
    eprintln!(
        "review it: ranges and enums describe the rows read, not the rules your data must follow."
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn validate(a: &ValidateArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let schema = load_schema(&a.schema)?;
    let opts = ValidateOptions {
        max_errors: a.max_errors,
        strict: a.strict,
        delimiter: delimiter(&a.delimiter)?,
        max_field_bytes: a.max_field_bytes.max(1),
        threads: a.threads,
    };
    let report = if a.file.as_os_str() == "-" {
        let stdin: Box<dyn Read + Send> = Box::new(io::stdin());
        mlguard_data::validate_reader(stdin, "<stdin>", &schema, &opts)?
    } else {
        mlguard_data::validate_path(&a.file, &schema, &opts)?
    };
    match a.format {
        Format::Json => out.line(&report.to_json())?,
        Format::Sarif => out.line(&mlguard_findings::render_sarif(&report))?,
        Format::Text => {
            out.write(&render_text(&report, TextOptions { color: out.color }))?;
            let verdict = summary_line(&report, out);
            out.line(&verdict)?;
        }
    }
    Ok(if report.errors() == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `users.csv: valid, 10,000 rows × 30 columns, 0 errors, 1 warning`
pub(crate) fn summary_line(report: &Report, out: &Out) -> String {
    let stat = |k: &str| report.stats.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let verdict = if report.errors() == 0 { out.good("valid") } else { out.bad("invalid") };
    let plural = |n: u64, w: &str| format!("{} {w}{}", thousands(n), if n == 1 { "" } else { "s" });
    format!(
        "{}: {verdict}, {} × {}, {}, {}",
        report.subject,
        plural(stat("rows"), "row"),
        plural(stat("columns"), "column"),
        plural(report.errors(), "error"),
        plural(report.warnings(), "warning"),
    )
}
