//! `mlguard data ...`

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mlguard_data::input::{self, Sniffed};
use mlguard_data::{InferOptions, Schema, ValidateOptions};
use mlguard_findings::{Report, TextOptions, render_text, terminal_safe};

use crate::args::{
    BirthDatesArg, DialectArgs, Format, InferArgs, PiiArgs, PiiFormat, PoisonArgs, ProtectArgs,
    ProtectFlags, ValidateArgs,
};
use crate::output::{Out, delimiter, thousands};
use crate::pipeline::local;

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

/// A table file (`-`: standard input) opened as every data command reads one
/// ([`input::open_reader`]), with its delimiter (`--delimiter`, or the one sniffed).
pub(crate) struct Table {
    pub(crate) reader: Box<dyn Read + Send>,
    pub(crate) delimiter: u8,
    pub(crate) sniffed: Sniffed,
}

pub(crate) fn open_table(file: &Path, d: &DialectArgs) -> anyhow::Result<Table> {
    let encoding = d.encoding.as_deref().map(input::encoding_for_label).transpose()?;
    let (reader, sniffed) = if file.as_os_str() == "-" {
        input::open_reader(Box::new(io::stdin()), encoding)?
    } else {
        input::open_path(file, encoding)
            .with_context(|| format!("cannot read {}", file.display()))?
    };
    let delimiter = match d.delimiter.as_str() {
        // A Parquet file is read as comma-separated text, whatever --delimiter says.
        _ if sniffed.parquet.is_some() || sniffed.workbook.is_some() || sniffed.arrow.is_some() => {
            b','
        }
        "auto" => sniffed.delimiter.unwrap_or(b','),
        other => delimiter(other)?,
    };
    Ok(Table { reader, delimiter, sniffed })
}

impl Table {
    /// Says on standard error what was guessed about the file, when it is not plain
    /// comma-separated UTF-8 (each guess can be overridden).
    pub(crate) fn note(&self, file: &Path, d: &DialectArgs) {
        let mut read = Vec::new();
        if let Some(p) = &self.sniffed.parquet {
            let index = if p.index_columns.is_empty() {
                String::new()
            } else {
                format!(", its pandas index ({}) left out", p.index_columns.join(", "))
            };
            read.push(format!(
                "Parquet ({} rows in {} row group(s){index})",
                thousands(p.rows),
                p.row_groups
            ));
        }
        if let Some(a) = &self.sniffed.arrow {
            let index = if a.index_columns.is_empty() {
                String::new()
            } else {
                format!(", its pandas index ({}) left out", a.index_columns.join(", "))
            };
            read.push(format!("Arrow IPC / Feather ({} record batch(es){index})", a.batches));
        }
        if let Some(w) = &self.sniffed.workbook {
            let which = if w.sheets > 1 {
                format!("the first of {} sheets", w.sheets)
            } else {
                "its only sheet".to_owned()
            };
            read.push(format!(
                "a workbook: sheet \"{}\" ({which}, {} rows)",
                w.sheet,
                thousands(w.rows)
            ));
        }
        if let Some(c) = self.sniffed.compression {
            read.push(format!("{c}-compressed"));
        }
        if self.sniffed.encoding_guessed {
            read.push(format!(
                "{} text (it is not UTF-8; --encoding to choose another)",
                self.sniffed.encoding
            ));
        } else if self.sniffed.encoding != "UTF-8" {
            read.push(format!("{} text", self.sniffed.encoding));
        }
        if self.sniffed.quote == b'\'' {
            read.push("text quoted with ' (guessed)".to_owned());
        }
        if d.delimiter == "auto" && self.delimiter != b',' {
            let shown = if self.delimiter == b'\t' {
                "tab".to_owned()
            } else {
                format!("'{}'", char::from(self.delimiter))
            };
            read.push(format!("delimiter {shown} (guessed; --delimiter to choose)"));
        }
        if !read.is_empty() {
            errln!("note: read {} as {}", file.display(), read.join(", "));
        }
        if let Some(name) = &self.sniffed.index_name {
            errln!(
                "note: {}: the unnamed first column counts the rows (pandas' index, R's row names): read as the column {name:?}, an id",
                file.display()
            );
        }
    }
}

pub(crate) fn infer_schema(a: &InferArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    crate::errors::no_overwrite(a.output.as_ref(), a.force)?;
    let table = open_table(&a.file, &a.dialect)?;
    table.note(&a.file, &a.dialect);
    let opts = InferOptions {
        target: a.target.clone(),
        sample_rows: a.sample_rows,
        delimiter: table.delimiter,
        decimal_comma: table.sniffed.decimal_comma,
        strict_ranges: a.strict_ranges,
        ..InferOptions::default()
    };
    let inferred = mlguard_data::infer_reader(table.reader, &opts)?;
    let mut text = serde_json::to_string_pretty(&inferred.schema.to_json())?;
    text.push('\n');
    match &a.output {
        Some(o) => mlguard_seal::write_atomic(o, text.as_bytes(), a.force)?,
        None => out.write(&text)?,
    }
    let s = &inferred.schema;
    let pii: Vec<String> = s
        .fields
        .iter()
        .filter_map(|f| {
            let protect = f.protect.map(|p| format!(", protect: {p}")).unwrap_or_default();
            f.pii.map(|k| format!("{} ({k}{protect})", f.name))
        })
        .collect();
    errln!(
        "drafted {} fields from {} rows{}; personal data: {}.",
        s.fields.len(),
        thousands(inferred.rows),
        if inferred.sampled { " (a sample: the file has more)" } else { "" },
        if pii.is_empty() { "none detected".to_owned() } else { pii.join(", ") }
    );
    match &inferred.target {
        Some((t, why)) => errln!("target: {t} ({why}; --target to choose another)."),
        None => errln!(
            "no target found: no column is named like one and the last one is not a category; pass --target COL to train on this data."
        ),
    }
    for (marker, columns) in &inferred.missing_markers {
        errln!(
            "read {marker:?} as a missing value ({} column{}: {}); it is in the schema's missingValues.",
            columns.len(),
            if columns.len() == 1 { "" } else { "s" },
            list_some(columns, 6)
        );
    }
    errln!(
        "review it: enums, patterns and the protect actions are proposals; observed ranges are kept as x-observed (--strict-ranges makes them constraints)."
    );
    Ok(ExitCode::SUCCESS)
}

/// The first `n` of `items`, then how many more.
fn list_some(items: &[String], n: usize) -> String {
    let mut text = items.iter().take(n).map(String::as_str).collect::<Vec<_>>().join(", ");
    if items.len() > n {
        text.push_str(&format!(" and {} more", items.len() - n));
    }
    text
}

pub(crate) fn validate(a: &ValidateArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let schema = load_schema(&a.schema)?;
    let table = open_table(&a.file, &a.dialect)?;
    table.note(&a.file, &a.dialect);
    let opts = ValidateOptions {
        max_errors: a.max_errors,
        strict: a.strict,
        delimiter: table.delimiter,
        max_field_bytes: a.max_field_bytes.max(1),
        threads: a.threads,
    };
    let name =
        if a.file.as_os_str() == "-" { "<stdin>".to_owned() } else { a.file.display().to_string() };
    let report = mlguard_data::validate_reader(table.reader, &name, &schema, &opts)?;
    let has = |check: &str| report.counts.iter().any(|c| c.check == check);
    if let Some(d) = table.sniffed.delimiter.filter(|&d| d != table.delimiter)
        && has("header.missing-field")
    {
        let shown = if d == b'\t' { "tab".to_owned() } else { format!("'{}'", char::from(d)) };
        errln!(
            "hint: the file's lines are separated by {shown}: did you mean --delimiter {shown}?"
        );
    }
    if table.sniffed.decimal_comma && has("cell.type") {
        errln!(
            "hint: the numbers in this file use a decimal comma (3,75): give the number fields \"decimalChar\": \",\" (infer-schema writes it)"
        );
    }
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

/// `mlguard data pii`: where personal data sits in a CSV file.
pub(crate) fn pii(a: &PiiArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    use mlguard_data::PiiKind;
    use mlguard_data::pii::{ColumnHint, scan_table};

    let schema = a.schema.as_deref().map(load_schema).transpose()?;
    let hints = |name: &str| {
        let mut h = ColumnHint::from_name(name);
        match schema.as_ref().and_then(|s| s.field(name)).and_then(|f| f.pii) {
            Some(PiiKind::Phone) => h.phone = true,
            Some(PiiKind::Ssn) => h.ssn = true,
            _ => {}
        }
        h
    };
    let table = open_table(&a.file, &a.dialect)?;
    table.note(&a.file, &a.dialect);
    let (delim, input) = (table.delimiter, io::BufReader::new(table.reader));
    let mut write_error: Option<io::Error> = None;
    #[derive(serde::Serialize)]
    struct CellSpan<'a> {
        row: u64,
        column: &'a str,
        kind: &'a str,
        start: usize,
        end: usize,
        score: f64,
    }
    let mut stream = a.cells.then(|| out.stream());
    let columns = scan_table(input, delim, &hints, |row, name, _cell, span| {
        if let Some(w) = stream.as_mut()
            && write_error.is_none()
        {
            let line = CellSpan {
                row,
                column: name,
                kind: span.kind.as_str(),
                start: span.start,
                end: span.end,
                score: (f64::from(span.score) * 100.0).round() / 100.0,
            };
            // Column names are untrusted: escaped as JSON escapes them (the line stays the
            // same JSON), including what serde leaves raw (DEL, C1 controls, bidi overrides).
            let written = serde_json::to_string(&line)
                .map_err(io::Error::from)
                .and_then(|json| w.write_all(terminal_safe(&json, false).as_bytes()))
                .and_then(|()| w.write_all(b"\n"));
            if let Err(e) = written {
                write_error = Some(e);
            }
        }
    })
    .with_context(|| format!("reading {}", a.file.display()))?;
    if let Some(mut w) = stream.take()
        && write_error.is_none()
        && let Err(e) = w.flush()
    {
        write_error = Some(e);
    }
    if let Some(e) = write_error {
        return Err(Out::stream_error(e).into());
    }
    let found = columns.iter().any(|c| !c.kinds.is_empty());
    let summary = match a.format {
        PiiFormat::Json => {
            let cols: Vec<serde_json::Value> = columns.iter().map(|c| c.to_json()).collect();
            serde_json::json!({"version": 1, "kind": "pii", "file": a.file.display().to_string(), "columns": cols})
                .to_string()
        }
        PiiFormat::Text => {
            let mut text = String::new();
            let width = columns.iter().map(|c| c.name.len()).max().unwrap_or(6).max(6);
            for c in columns.iter().filter(|c| !c.kinds.is_empty()) {
                for (k, n) in &c.kinds {
                    let share = 100.0 * n.cells as f64 / c.cells.max(1) as f64;
                    text.push_str(&format!(
                        "  {:<width$}  {:<14} {:>10} of {:>10} cells ({share:5.1} %), confidence {:.2}\n",
                        c.name,
                        k.as_str(),
                        thousands(n.cells),
                        thousands(c.cells),
                        n.confidence(),
                    ));
                }
            }
            let clean: Vec<&str> =
                columns.iter().filter(|c| c.kinds.is_empty()).map(|c| c.name.as_str()).collect();
            text.push_str(&format!(
                "{}: {} of {} columns hold personal data{}",
                a.file.display(),
                columns.len() - clean.len(),
                columns.len(),
                if clean.is_empty() {
                    String::new()
                } else {
                    format!("; none found in {}", clean.join(", "))
                }
            ));
            text
        }
    };
    if a.cells {
        errln!("{summary}");
    } else {
        out.line(&summary)?;
    }
    Ok(if found { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `mlguard data poison`: model-free signs of a poisoned dataset.
pub(crate) fn poison(
    a: &PoisonArgs,
    vault: &crate::args::VaultArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    use mlguard_data::poison::PoisonOptions;

    if !(a.outlier_z.is_finite() && a.outlier_z > 0.0) {
        bail!("--outlier-z must be a positive number, not {}", a.outlier_z);
    }
    let schema = load_schema(&a.schema)?;
    let table = open_table(&a.file, &a.dialect)?;
    table.note(&a.file, &a.dialect);
    let open = || -> Result<io::BufReader<Box<dyn Read + Send>>, mlguard_vault::VaultError> {
        open_table(&a.file, &a.dialect).map(|t| io::BufReader::new(t.reader)).map_err(|e| {
            mlguard_vault::VaultError::Io {
                context: format!("cannot read {}", a.file.display()),
                source: io::Error::other(format!("{e:#}")),
            }
        })
    };
    if !(0.0..=0.5).contains(&a.label_noise) {
        bail!("--label-noise is a share of the rows between 0 and 0.5, not {}", a.label_noise);
    }
    let opts = PoisonOptions {
        outlier_z: a.outlier_z,
        label_noise: a.label_noise,
        delimiter: table.delimiter,
        ..PoisonOptions::default()
    };
    drop(table);
    let name = a.file.display().to_string();
    // A stored version is decrypted into an encrypted scratch file, removed after.
    let mut _scratch = None;
    let mut baseline: Option<(String, io::BufReader<Box<dyn Read>>)> =
        match (&a.baseline, &a.baseline_dataset) {
            (Some(base), _) => Some((
                base.display().to_string(),
                fs::File::open(base)
                    .map(|f| io::BufReader::new(Box::new(f) as Box<dyn Read>))
                    .with_context(|| format!("cannot read the baseline {}", base.display()))?,
            )),
            (None, Some(r)) => {
                let vault = crate::pipeline::open_vault(vault)?;
                let (record, file) =
                    vault.poison_baseline(local(), r, &a.file.display().to_string())?;
                let reader = file.reader().context("cannot read the decrypted baseline")?;
                _scratch = Some(file);
                let reader: Box<dyn Read> = Box::new(reader);
                Some((format!("{}@{}", record.name, record.version), io::BufReader::new(reader)))
            }
            (None, None) => None,
        };
    let c = mlguard_vault::poison::check(
        &open,
        &name,
        &schema,
        &opts,
        baseline.as_mut().map(|(n, r)| (n.as_str(), r)),
        a.max_errors,
        None,
    )
    .with_context(|| format!("checking {name}"))?;
    match a.format {
        Format::Json => out.line(&c.report.to_json())?,
        Format::Sarif => out.line(&mlguard_findings::render_sarif(&c.report))?,
        Format::Text => {
            out.write(&render_text(&c.report, TextOptions { color: out.color }))?;
            out.line(&format!("{name}: {}", poison_summary(&c)))?;
        }
    }
    Ok(if c.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// One line of counts of a poisoning check.
pub(crate) fn poison_summary(c: &mlguard_vault::poison::PoisonCheck) -> String {
    let drift = c.drifted.map(|d| format!(", {d} drifted column(s)")).unwrap_or_default();
    let duplicated = if c.duplicated > 0 {
        format!(", {} duplicated row(s)", thousands(c.duplicated))
    } else {
        String::new()
    };
    let labels = match c.labels_by_chance {
        Some(chance) if c.label_issues > c.labels_listed => format!(
            "{} doubted label(s), the {} most doubted listed (chance explains about {})",
            thousands(c.label_issues as u64),
            thousands(c.labels_listed as u64),
            thousands(chance.round() as u64)
        ),
        _ => format!("{} doubted label(s)", thousands(c.label_issues as u64)),
    };
    format!(
        "{} rows; {} conflicting duplicate group(s), {} flood(s){duplicated}, {} outlier(s), {labels}{drift}",
        thousands(c.rows),
        c.conflicts,
        c.floods,
        c.outliers,
    )
}

/// The library options of the protection flags.
pub(crate) fn protect_options(
    f: &ProtectFlags,
    delimiter: u8,
) -> anyhow::Result<mlguard_data::protect::ProtectOptions> {
    let mut o = ingest_body(f, false, false).to_options()?.protect;
    o.delimiter = delimiter;
    Ok(o)
}

/// The protection flags (and ingest's) as the API's ingest options: one reading of them
/// for `data protect`, `data ingest` and `data ingest --server`.
pub(crate) fn ingest_body(
    f: &ProtectFlags,
    keep_pii: bool,
    reject_poisoned: bool,
) -> mlguard_vault::api::IngestBody {
    mlguard_vault::api::IngestBody {
        keep_pii,
        reject_poisoned,
        k: Some(usize::try_from(f.k).unwrap_or(usize::MAX)),
        quasi: f.quasi.clone(),
        max_suppressed: Some(f.max_suppressed),
        birth_dates: Some(
            match f.birth_dates {
                BirthDatesArg::Year => "year",
                BirthDatesArg::AgeBand => "age-band",
            }
            .to_owned(),
        ),
        as_of: f.as_of.clone(),
    }
}

/// A protection report for people: one line per column that changed, then k-anonymity.
pub(crate) fn protection_lines(r: &mlguard_data::protect::ProtectReport) -> Vec<String> {
    use mlguard_data::protect::{Action, Because};
    let mut lines = Vec::new();
    let width = r.columns.iter().map(|c| c.name.len()).max().unwrap_or(6).max(6);
    for c in &r.columns {
        if (c.action == Action::Keep && !c.quasi) || c.because == Because::FreeText {
            continue;
        }
        let why = match c.because {
            Because::Schema => "schema's protect",
            Because::PiiDefault => "default for its pii kind",
            Because::Quasi => "quasi-identifier",
            Because::FreeText => "text field: scanned",
            Because::NotPersonal => "",
            Because::KeptPii => "pii kept as asked (--keep-pii)",
        };
        let what = if c.action == Action::Keep { "kept".to_owned() } else { c.action.describe() };
        let quasi = if c.quasi { ", then generalised for k" } else { "" };
        lines.push(format!("  {:<width$}  {what}{quasi}  [{why}]", c.name));
    }
    let text: Vec<&str> = r
        .columns
        .iter()
        .filter(|c| c.because == Because::FreeText)
        .map(|c| c.name.as_str())
        .collect();
    if !text.is_empty() {
        let spans: Vec<String> =
            r.scrubbed.iter().map(|(k, n)| format!("{} {}", thousands(*n), k.as_str())).collect();
        lines.push(format!(
            "  text fields scanned ({}): {}",
            text.join(", "),
            if spans.is_empty() {
                "no personal data found".into()
            } else {
                format!("{} replaced by <KIND>", spans.join(", "))
            }
        ));
    }
    for (col, n) in &r.redacted_unparsable {
        lines.push(format!(
            "  {col}: {} value(s) could not be generalised and were redacted",
            thousands(*n)
        ));
    }
    if let Some(a) = &r.anonymity {
        let levels: Vec<String> = a
            .generalised
            .iter()
            .map(|(n, what, level, top)| format!("{n}: {what} (level {level} of {top})"))
            .collect();
        let share = 100.0 * r.suppressed.len() as f64 / r.rows_in.max(1) as f64;
        lines.push(format!(
            "  k-anonymity: k = {} asked, smallest group {} over {} groups; {}; {} row(s) suppressed ({share:.2} %)",
            a.k,
            a.achieved,
            thousands(a.groups as u64),
            levels.join(", "),
            thousands(r.suppressed.len() as u64)
        ));
        if let Some((target, l, single)) = &a.l_diversity {
            lines.push(format!(
                "  l-diversity of {target}: l = {l}; {} group(s) hold a single {target} value (their members' {target} is disclosed)",
                thousands(*single as u64)
            ));
        }
    }
    if let Some(risk) = &r.risk {
        let pct = |x: f64| format!("{:.1} %", 100.0 * x);
        if risk.declared {
            lines.push(format!(
                "  re-identification risk: {} of rows unique on the quasi-identifiers ({}) before, {} after",
                pct(risk.unique_before),
                risk.columns.join(", "),
                pct(risk.unique_after)
            ));
        } else {
            lines.push(format!(
                "  warning: no quasi-identifier declared, but {} look like ones: {} of rows are unique on them and stay so ({} after); declare them (--quasi {}, or \"pii\": \"quasi\") to generalise them to k",
                risk.columns.join(", "),
                pct(risk.unique_before),
                pct(risk.unique_after),
                risk.columns.join(",")
            ));
        }
    } else {
        lines.push("  re-identification risk: no quasi-identifier declared or recognised".into());
    }
    lines
}

/// `mlguard data protect`: a protected copy of a CSV file.
pub(crate) fn protect(
    a: &ProtectArgs,
    vault: &crate::args::VaultArgs,
    out: &mut Out,
) -> anyhow::Result<ExitCode> {
    let schema = load_schema(&a.schema)?;
    let table = open_table(&a.file, &a.dialect)?;
    table.note(&a.file, &a.dialect);
    let opts = protect_options(&a.protect, table.delimiter)?;
    crate::errors::no_overwrite(Some(&a.output), a.force)?;
    let v = crate::pipeline::open_vault(vault)?;
    // Recorded before anything is written: no record, no protected copy.
    let key = v.protection_key(
        local(),
        &a.file.display().to_string(),
        &a.output.display().to_string(),
        opts.k,
    )?;
    let second = open_table(&a.file, &a.dialect)?;
    let (first, second) = (io::BufReader::new(table.reader), io::BufReader::new(second.reader));
    let report = mlguard_seal::write_atomic_with(&a.output, a.force, |f| {
        let mut w = io::BufWriter::with_capacity(1 << 20, f);
        let r = mlguard_data::protect::protect(first, Some(second), &mut w, &schema, &key, &opts)
            .map_err(|e| {
            anyhow::Error::new(e).context(format!("protecting {}", a.file.display()))
        })?;
        w.flush().context("cannot write the output")?;
        Ok::<_, anyhow::Error>(r)
    })?;

    match a.format {
        PiiFormat::Json => out.line(&mlguard_vault::protection_json(&report).to_string())?,
        PiiFormat::Text => {
            for l in protection_lines(&report) {
                out.line(&l)?;
            }
            let columns = report
                .columns
                .iter()
                .filter(|c| c.action != mlguard_data::protect::Action::Drop)
                .count();
            out.line(&format!(
                "{} -> {}: {} of {} rows × {columns} columns, every cell formula-safe",
                a.file.display(),
                a.output.display(),
                thousands(report.rows_out),
                thousands(report.rows_in)
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
