//! Streaming validation of a CSV file against a schema.
//!
//! One pass, bounded memory: a reader thread tokenizes the file into batches, worker
//! threads check every cell of a batch against the compiled schema, and the calling thread
//! merges their results in file order. The only state that grows with the file is the set
//! of keys seen for `unique` / `primaryKey` / `uniqueKeys` checks: integer keys go into a
//! compressed bitmap (exact, usually well under a byte per row for identifiers), every other
//! key into a set of 64-bit keyed hashes (8–16 bytes per row; two different values collide
//! with probability about n²/2⁶⁵, 4·10⁻⁷ at four million rows).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use mlguard_findings::{Finding, Location, Report, Severity};
use roaring::RoaringTreemap;

use crate::check::{CellError, CompiledSchema};
use crate::csv::{Batch, CsvIssueKind, CsvReader, DEFAULT_MAX_FIELD_BYTES, Encoding};
use crate::error::DataError;
use crate::schema::{FieldsMatch, Schema};
use crate::types::Value;

/// Records per batch handed to a worker.
const BATCH_RECORDS: usize = 4096;
/// Bytes per batch handed to a worker.
const BATCH_BYTES: usize = 1 << 20;
/// Longest value shown in a finding; longer ones are cut with an ellipsis.
const MAX_SHOWN_VALUE: usize = 64;

/// How to validate.
#[derive(Debug, Clone)]
pub struct ValidateOptions {
    /// List at most this many findings (all are counted). Default 20.
    pub max_errors: usize,
    /// Treat every warning (formula injection, BOM, blank lines, mixed line endings) as an
    /// error.
    pub strict: bool,
    /// The field delimiter. Default `,`.
    pub delimiter: u8,
    /// Longest field accepted, in bytes. Default 1 MiB.
    pub max_field_bytes: usize,
    /// Worker threads; 0 means one per available core, 1 reads and checks in the calling
    /// thread (no threads are started).
    pub threads: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            max_errors: 20,
            strict: false,
            delimiter: b',',
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            threads: 0,
        }
    }
}

/// Validates the CSV file at `path`. Problems in the file are findings in the returned
/// report (`report.errors() == 0` means valid); `Err` means the run could not happen.
pub fn validate_path(
    path: &Path,
    schema: &Schema,
    opts: &ValidateOptions,
) -> Result<Report, DataError> {
    // Compressed, UTF-16 or Latin-1 files read as every data command reads them.
    let (src, _) = crate::input::open_path(path, None)?;
    validate_reader(src, &path.display().to_string(), schema, opts)
}

/// Validates CSV read from `src`; `name` is used in locations.
pub fn validate_reader<R: Read + Send>(
    src: R,
    name: &str,
    schema: &Schema,
    opts: &ValidateOptions,
) -> Result<Report, DataError> {
    validate_reader_visiting(src, name, schema, opts, None)
}

/// What a caller does with the records validation reads, so that it needs no second pass
/// over the file (prediction scores each row while it is checked).
pub struct Visit<'a> {
    /// Runs on the worker threads for each batch of records, after the batch's checks:
    /// gets the header and the batch's records, and writes its output to the buffer.
    pub batch: &'a VisitBatch<'a>,
    /// Takes each batch's output in file order, on the calling thread. After an error it
    /// is not called again, validation still runs to the end, and the error is returned.
    pub take: &'a mut dyn FnMut(&[u8]) -> std::io::Result<()>,
}

/// What a [`Visit`] does with each batch: `(header, records, output)`.
pub type VisitBatch<'a> = dyn Fn(&[String], Records<'_>, &mut Vec<u8>) + Sync + 'a;

/// The records of one batch, for a [`Visit`].
pub struct Records<'a> {
    batch: &'a Batch,
    width: usize,
}

impl Records<'_> {
    /// Calls `f(line, fields)` for each record in file order, with at most as many fields
    /// as the header has (fewer when the record is short). A record with a cell that is
    /// not valid UTF-8 is skipped: validation reports it as an error of its line.
    pub fn for_each(&self, mut f: impl FnMut(u64, &[&str])) {
        let mut fields: Vec<&str> = Vec::with_capacity(self.width);
        'records: for (i, meta) in self.batch.records.iter().enumerate() {
            let (span, start) = self.batch.record_bytes(i);
            let Ok(whole) = std::str::from_utf8(span) else { continue };
            fields.clear();
            for &(a, b) in self.batch.spans(i).iter().take(self.width) {
                match whole.get(a as usize - start..b as usize - start) {
                    Some(cell) => fields.push(cell),
                    None => continue 'records,
                }
            }
            f(meta.line, &fields);
        }
    }
}

/// [`validate_reader`], handing every batch of records to `visit` as well.
pub fn validate_reader_visiting<R: Read + Send>(
    src: R,
    name: &str,
    schema: &Schema,
    opts: &ValidateOptions,
    visit: Option<Visit<'_>>,
) -> Result<Report, DataError> {
    check_delimiter(opts.delimiter)?;
    let compiled = CompiledSchema::new(schema)?;
    run(src, name, schema, &compiled, opts, visit)
}

/// A schema compiled once (its patterns, enums, formats) to validate many small inputs,
/// such as a server's prediction requests.
pub struct Validator {
    schema: Schema,
    compiled: CompiledSchema,
}

impl Validator {
    /// Compiles `schema`.
    pub fn new(schema: Schema) -> Result<Validator, DataError> {
        let compiled = CompiledSchema::new(&schema)?;
        Ok(Validator { schema, compiled })
    }

    /// The schema it validates against.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// [`validate_reader`] against the compiled schema.
    pub fn validate_reader<R: Read + Send>(
        &self,
        src: R,
        name: &str,
        opts: &ValidateOptions,
    ) -> Result<Report, DataError> {
        check_delimiter(opts.delimiter)?;
        run(src, name, &self.schema, &self.compiled, opts, None)
    }
}

/// Validates `src` against `schema`, compiled as `compiled`.
fn run<R: Read + Send>(
    src: R,
    name: &str,
    schema: &Schema,
    compiled: &CompiledSchema,
    opts: &ValidateOptions,
    mut visit: Option<Visit<'_>>,
) -> Result<Report, DataError> {
    let mut report = Report::new("validation", name);
    report.set_limit(Some(opts.max_errors));
    let mut reader = CsvReader::new(src, opts.delimiter, opts.max_field_bytes.max(1));
    let mut sink = Sink::new(name, opts.strict, opts.max_errors);

    match reader.encoding()? {
        Encoding::Utf16 => {
            sink.emit(Check::Encoding, None, 1, 0, 0, None, || {
                "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8".into()
            });
            return Ok(finish(report, sink, &[], 0, 0));
        }
        Encoding::Utf8Bom => sink.emit(Check::Bom, None, 1, 0, 0, None, || {
            "the file starts with a UTF-8 byte order mark; it was skipped, but some tools read it as part of the first column name".into()
        }),
        Encoding::Plain => {}
    }

    // The header is the first record.
    let mut head = Batch::default();
    let more = reader.read_batch(&mut head, 1, usize::MAX)?;
    if head.records.is_empty() {
        sink.emit(Check::EmptyFile, None, 1, 0, 0, None, || {
            "the file is empty: no header and no data".into()
        });
        return Ok(finish(report, sink, &[], 0, reader.bytes_read()));
    }
    let header = read_header(&head, &mut sink);
    let ctx = Context::new(compiled, schema, header, &mut sink);

    let workers = if opts.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        opts.threads
    };
    let rows = if more {
        run_batches(reader, &ctx, &mut sink, workers, opts, visit.as_mut())?
    } else {
        RunStats { rows: 0, bytes: reader.bytes_read(), endings: reader.line_endings() }
    };
    if rows.rows == 0 {
        sink.emit(Check::NoData, None, 2, 0, rows.bytes, None, || {
            "the file has a header but no data rows".into()
        });
    }
    let kinds = [rows.endings.lf > 0, rows.endings.crlf > 0, rows.endings.cr > 0]
        .iter()
        .filter(|b| **b)
        .count();
    if kinds > 1 {
        let e = rows.endings;
        sink.emit(Check::MixedLineEndings, None, 1, 0, 0, None, || {
            format!("the file mixes line endings ({} LF, {} CRLF, {} CR)", e.lf, e.crlf, e.cr)
        });
    }
    Ok(finish(report, sink, &ctx.header, rows.rows, rows.bytes))
}

struct RunStats {
    rows: u64,
    bytes: u64,
    endings: crate::csv::LineEndings,
}

/// Puts the collected findings into the report in file order.
fn finish(mut report: Report, sink: Sink, header: &[String], rows: u64, bytes: u64) -> Report {
    let Sink { mut findings, counts, strict, .. } = sink;
    findings.sort_by_key(|(line, seq, _)| (*line, *seq));
    let mut counted: Vec<_> = counts.into_iter().collect();
    counted.sort_by_key(|((check, col), _)| (check.id(), *col));
    for ((check, col), n) in counted {
        let field = header.get(col as usize).map(String::as_str);
        report.count(check.id(), field, check.severity(strict), n);
    }
    for (_, _, f) in findings {
        report.list(f);
    }
    let total: u64 = report.counts.iter().map(|c| c.count).sum();
    report.omitted = total.saturating_sub(report.findings.len() as u64);
    report.stat("rows", rows);
    report.stat("columns", header.len() as u64);
    report.stat("bytes", bytes);
    report.stat("valid", report.errors() == 0);
    report
}

/// Rejects delimiters that would make CSV ambiguous.
pub(crate) fn check_delimiter(d: u8) -> Result<(), DataError> {
    if matches!(d, b'"' | b'\n' | b'\r') {
        return Err(DataError::Input(format!("{:?} cannot be the field delimiter", char::from(d))));
    }
    Ok(())
}

/// Every check the validator makes, with its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Check {
    EmptyFile,
    NoData,
    Encoding,
    Bom,
    InvalidUtf8,
    QuoteInUnquoted,
    TextAfterQuote,
    UnterminatedQuote,
    FieldTooLarge,
    RecordTooLarge,
    BlankLine,
    MixedLineEndings,
    RaggedRow,
    BlankHeader,
    DuplicateHeader,
    MissingField,
    ExtraField,
    FieldOrder,
    Formula,
    Type,
    Required,
    Minimum,
    Maximum,
    ExclusiveMinimum,
    ExclusiveMaximum,
    MinLength,
    MaxLength,
    Pattern,
    Enum,
    PrimaryKey,
    Unique,
}

impl Check {
    fn id(self) -> &'static str {
        match self {
            Check::EmptyFile => "csv.empty-file",
            Check::NoData => "csv.no-data",
            Check::Encoding => "csv.encoding",
            Check::Bom => "csv.bom",
            Check::InvalidUtf8 => "csv.invalid-utf8",
            Check::QuoteInUnquoted => "csv.quote-in-unquoted-field",
            Check::TextAfterQuote => "csv.text-after-quote",
            Check::UnterminatedQuote => "csv.unterminated-quote",
            Check::FieldTooLarge => "csv.field-too-large",
            Check::RecordTooLarge => "csv.record-too-large",
            Check::BlankLine => "csv.blank-line",
            Check::MixedLineEndings => "csv.mixed-line-endings",
            Check::RaggedRow => "csv.ragged-row",
            Check::BlankHeader => "header.blank-name",
            Check::DuplicateHeader => "header.duplicate-name",
            Check::MissingField => "header.missing-field",
            Check::ExtraField => "header.extra-field",
            Check::FieldOrder => "header.field-order",
            Check::Formula => "cell.formula-injection",
            Check::Type => "cell.type",
            Check::Required => "constraint.required",
            Check::Minimum => "constraint.minimum",
            Check::Maximum => "constraint.maximum",
            Check::ExclusiveMinimum => "constraint.exclusiveMinimum",
            Check::ExclusiveMaximum => "constraint.exclusiveMaximum",
            Check::MinLength => "constraint.minLength",
            Check::MaxLength => "constraint.maxLength",
            Check::Pattern => "constraint.pattern",
            Check::Enum => "constraint.enum",
            Check::PrimaryKey => "key.primary",
            Check::Unique => "constraint.unique",
        }
    }

    fn severity(self, strict: bool) -> Severity {
        let warning = matches!(
            self,
            Check::Formula | Check::Bom | Check::BlankLine | Check::MixedLineEndings
        );
        if !warning || strict {
            Severity::High
        } else if self == Check::Formula {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    fn from_cell_error(e: &CellError) -> Check {
        match e {
            CellError::Type(_) => Check::Type,
            CellError::Minimum => Check::Minimum,
            CellError::Maximum => Check::Maximum,
            CellError::ExclusiveMinimum => Check::ExclusiveMinimum,
            CellError::ExclusiveMaximum => Check::ExclusiveMaximum,
            CellError::MinLength(_) => Check::MinLength,
            CellError::MaxLength(_) => Check::MaxLength,
            CellError::Pattern => Check::Pattern,
            CellError::Enum => Check::Enum,
        }
    }
}

/// Column index used for findings that belong to no column.
const NO_COLUMN: u32 = u32::MAX;

/// Collects findings (up to the limit) and exact counts.
struct Sink {
    file: String,
    strict: bool,
    limit: usize,
    /// (line, sequence within line, finding)
    findings: Vec<(u64, u64, Finding)>,
    counts: HashMap<(Check, u32), u64>,
    /// Column names, once known, for locations.
    header: Vec<String>,
    /// Which columns hold personal data (their values are masked).
    pii: Vec<bool>,
    seq: u64,
}

impl Sink {
    fn new(file: &str, strict: bool, limit: usize) -> Sink {
        Sink {
            file: file.to_owned(),
            strict,
            limit,
            findings: Vec::new(),
            counts: HashMap::new(),
            header: Vec::new(),
            pii: Vec::new(),
            seq: 0,
        }
    }

    fn child(&self) -> Sink {
        Sink {
            header: self.header.clone(),
            pii: self.pii.clone(),
            ..Sink::new(&self.file, self.strict, self.limit)
        }
    }

    #[allow(clippy::too_many_arguments, reason = "a finding's location has this many parts")]
    fn emit(
        &mut self,
        check: Check,
        col: Option<usize>,
        line: u64,
        row: u64,
        offset: u64,
        value: Option<&str>,
        message: impl FnOnce() -> String,
    ) {
        let col_key = col.map_or(NO_COLUMN, |c| c as u32);
        *self.counts.entry((check, col_key)).or_default() += 1;
        if self.findings.len() >= self.limit {
            return;
        }
        let mut loc = Location::file(self.file.clone()).line(line).offset(offset);
        if row > 0 {
            loc = loc.row(row);
        }
        if let Some(c) = col {
            loc = loc.column(c as u64 + 1);
            if let Some(name) = self.header.get(c) {
                loc = loc.field(name.clone());
            }
        }
        let mut f = Finding::new(check.id(), check.severity(self.strict), message()).at(loc);
        if let Some(v) = value {
            let pii = col.and_then(|c| self.pii.get(c)).copied().unwrap_or(false);
            f = f.with_value(if pii { mask(v) } else { shorten(v) });
        }
        self.seq += 1;
        self.findings.push((line, self.seq, f));
    }

    /// Merges a worker's sink into this one, keeping the first findings in file order.
    fn merge(&mut self, other: Sink) {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        for (line, _, f) in other.findings {
            if self.findings.len() >= self.limit {
                break;
            }
            self.seq += 1;
            self.findings.push((line, self.seq, f));
        }
    }
}

/// Masks a personal value: letters become `x`/`X`, digits `#`, other characters stay, so
/// the shape of a bad value is visible but not the value.
pub(crate) fn mask(v: &str) -> String {
    let mut out: String = v
        .chars()
        .take(MAX_SHOWN_VALUE)
        .map(|c| match c {
            c if c.is_numeric() => '#',
            c if c.is_uppercase() => 'X',
            c if c.is_alphabetic() => 'x',
            c => c,
        })
        .collect();
    if v.chars().nth(MAX_SHOWN_VALUE).is_some() {
        out.push('…');
    }
    out
}

fn shorten(v: &str) -> String {
    match v.char_indices().nth(MAX_SHOWN_VALUE) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v.to_owned(),
    }
}

/// Whether a spreadsheet would read the cell as a formula (CSV injection, CWE-1236).
///
/// Cells starting with `=`, `@`, TAB or CR always are. Cells starting with `+` or `-` are
/// unless the rest is plain arithmetic on literals (digits, spaces, `.,()+-/:%eE`), as in
/// `-5`, `+1-555-0100` or `-1.5e3`: those cannot call a function, reference a cell or run
/// a command, and flagging every phone number would bury the real cases.
pub(crate) fn is_formula(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !b[1..].iter().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    b' ' | b'.'
                        | b','
                        | b'('
                        | b')'
                        | b'+'
                        | b'-'
                        | b'/'
                        | b':'
                        | b'%'
                        | b'e'
                        | b'E'
                )
        }),
        _ => false,
    }
}

fn read_header(head: &Batch, sink: &mut Sink) -> Vec<String> {
    let line = head.records[0].line;
    let mut names = Vec::new();
    for (i, raw) in head.record(0).enumerate() {
        let name = match std::str::from_utf8(raw) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                let lossy = String::from_utf8_lossy(raw).into_owned();
                sink.emit(Check::InvalidUtf8, None, line, 0, 0, Some(&lossy), || {
                    format!("header column {} is not valid UTF-8", i + 1)
                });
                lossy
            }
        };
        names.push(name);
    }
    for issue in &head.issues {
        let check = issue_check(issue.kind);
        sink.emit(check, None, issue.line, 0, issue.offset, None, || {
            format!("header: {}", issue_message(issue.kind, 0, 0))
        });
    }
    names
}

/// The header resolved against the schema.
struct Context<'a> {
    schema: &'a CompiledSchema,
    header: Vec<String>,
    /// Header column -> schema field.
    col_field: Vec<Option<usize>>,
    /// Per key spec: the header columns of its fields (None when a field is absent).
    key_cols: Vec<Option<Vec<usize>>>,
    hasher: std::hash::RandomState,
}

impl<'a> Context<'a> {
    fn new(
        schema: &'a CompiledSchema,
        raw: &Schema,
        header: Vec<String>,
        sink: &mut Sink,
    ) -> Context<'a> {
        let line = 1;
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut col_field = vec![None; header.len()];
        let mut named_once = vec![false; header.len()];
        for (c, name) in header.iter().enumerate() {
            if name.trim().is_empty() {
                sink.emit(Check::BlankHeader, Some(c), line, 0, 0, None, || {
                    format!("column {} has no name", c + 1)
                });
                continue;
            }
            if let Some(first) = seen.get(name.as_str()) {
                let first = *first;
                sink.emit(Check::DuplicateHeader, Some(c), line, 0, 0, Some(name), || {
                    format!("column {} repeats the name of column {} (only the first is checked against the schema)", c + 1, first + 1)
                });
                continue;
            }
            seen.insert(name, c);
            named_once[c] = true;
            col_field[c] = schema.fields.iter().position(|f| &f.name == name);
        }
        sink.header = header.clone();
        sink.pii = col_field.iter().map(|f| f.is_some_and(|i| schema.fields[i].pii)).collect();

        // fieldsMatch.
        let mode = raw.fields_match;
        let present: HashSet<usize> = col_field.iter().flatten().copied().collect();
        let missing: Vec<&str> = schema
            .fields
            .iter()
            .enumerate()
            .filter(|(i, _)| !present.contains(i))
            .map(|(_, f)| f.name.as_str())
            .collect();
        let extra: Vec<usize> =
            (0..header.len()).filter(|&c| col_field[c].is_none() && named_once[c]).collect();
        let missing_is_error =
            matches!(mode, FieldsMatch::Exact | FieldsMatch::Equal | FieldsMatch::Subset);
        for (i, f) in schema.fields.iter().enumerate() {
            if present.contains(&i) {
                continue;
            }
            if missing_is_error || f.required {
                let why = if missing_is_error {
                    format!("fieldsMatch is {mode}")
                } else {
                    "the field is required".into()
                };
                sink.emit(Check::MissingField, None, line, 0, 0, Some(&f.name), || {
                    format!("schema field {:?} is not in the header ({why})", f.name)
                });
            }
        }
        if matches!(mode, FieldsMatch::Exact | FieldsMatch::Equal | FieldsMatch::Superset) {
            for &c in &extra {
                sink.emit(Check::ExtraField, Some(c), line, 0, 0, Some(&header[c]), || {
                    format!("column {:?} is not in the schema (fieldsMatch is {mode})", header[c])
                });
            }
        }
        if mode == FieldsMatch::Partial && present.is_empty() {
            sink.emit(Check::MissingField, None, line, 0, 0, None, || {
                "no column of the header is a field of the schema".into()
            });
        }
        if mode == FieldsMatch::Exact && missing.is_empty() && extra.is_empty() {
            let order: Vec<usize> = col_field.iter().flatten().copied().collect();
            if order.windows(2).any(|w| w[0] > w[1]) {
                let expected =
                    schema.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
                sink.emit(Check::FieldOrder, None, line, 0, 0, None, || {
                    format!("columns are not in schema order (fieldsMatch is exact; expected: {expected})")
                });
            }
        }
        let key_cols = schema
            .keys
            .iter()
            .map(|k| {
                k.fields
                    .iter()
                    .map(|f| col_field.iter().position(|c| *c == Some(*f)))
                    .collect::<Option<Vec<usize>>>()
            })
            .collect();
        Context { schema, header, col_field, key_cols, hasher: std::hash::RandomState::new() }
    }
}

fn issue_check(kind: CsvIssueKind) -> Check {
    match kind {
        CsvIssueKind::QuoteInUnquoted => Check::QuoteInUnquoted,
        CsvIssueKind::TextAfterQuote => Check::TextAfterQuote,
        CsvIssueKind::UnterminatedQuote => Check::UnterminatedQuote,
        CsvIssueKind::FieldTooLarge => Check::FieldTooLarge,
        CsvIssueKind::RecordTooLarge => Check::RecordTooLarge,
        CsvIssueKind::BlankLine => Check::BlankLine,
    }
}

fn issue_message(kind: CsvIssueKind, field: u32, max_field: usize) -> String {
    let n = field + 1;
    match kind {
        CsvIssueKind::QuoteInUnquoted => format!(
            "field {n} contains a quote but is not quoted (RFC 4180: quote the field and double the quote)"
        ),
        CsvIssueKind::TextAfterQuote => format!("field {n} has text after its closing quote"),
        CsvIssueKind::UnterminatedQuote => format!(
            "field {n} opens a quote that is never closed; the rest of the file was read into it"
        ),
        CsvIssueKind::FieldTooLarge => format!(
            "field {n} is longer than the limit of {max_field} bytes (the rest was not read)"
        ),
        CsvIssueKind::RecordTooLarge => {
            "the record is larger than the record limit (the rest was not read)".into()
        }
        CsvIssueKind::BlankLine => "blank line (skipped)".into(),
    }
}

/// One key value seen in a batch.
struct KeyEntry {
    line: u64,
    row: u64,
    offset: u64,
    key: u64,
    text: (u32, u32),
}

struct BatchResult {
    seq: u64,
    rows: u64,
    sink: Sink,
    keys: Vec<Vec<KeyEntry>>,
    key_text: String,
    /// What a [`Visit`] made of the batch.
    visited: Vec<u8>,
}

fn run_batches<R: Read + Send>(
    mut reader: CsvReader<R>,
    ctx: &Context<'_>,
    sink: &mut Sink,
    workers: usize,
    opts: &ValidateOptions,
    visit: Option<&mut Visit<'_>>,
) -> Result<RunStats, DataError> {
    let workers = workers.max(1);
    let max_field = opts.max_field_bytes;
    let (each, mut take) = match visit {
        Some(v) => (Some(v.batch), Some(&mut *v.take)),
        None => (None, None),
    };
    let mut take_err: Option<std::io::Error> = None;
    // Checks a batch, then visits it.
    let work = |batch: &Batch, sink: Sink| {
        let mut r = check_batch(ctx, batch, sink, max_field);
        if let Some(each) = each {
            let records = Records { batch, width: ctx.header.len() };
            each(&ctx.header, records, &mut r.visited);
        }
        r
    };
    // Merges a batch's result, in file order.
    let mut merge =
        |r: BatchResult, sink: &mut Sink, rows: &mut u64, int_sets: &mut _, hash_sets: &mut _| {
            *rows += r.rows;
            merge_keys(ctx, sink, &r, int_sets, hash_sets);
            if let Some(take) = take.as_mut()
                && take_err.is_none()
                && let Err(e) = take(&r.visited)
            {
                take_err = Some(e);
            }
            sink.merge(r.sink);
        };
    let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    let (res_tx, res_rx) = mpsc::sync_channel::<(BatchResult, Batch)>(workers * 2);
    let (recycle_tx, recycle_rx) = mpsc::channel::<Batch>();

    let mut int_sets: Vec<RoaringTreemap> =
        ctx.schema.keys.iter().map(|_| RoaringTreemap::new()).collect();
    let mut hash_sets: Vec<HashSet<u64, BuildHasherDefault<Prehashed>>> =
        ctx.schema.keys.iter().map(|_| HashSet::default()).collect();
    let mut rows = 0u64;
    let template = sink.child();
    let template = &template;

    if workers == 1 {
        // One worker: read and check in this thread (no threads to start, which dominates
        // for small inputs such as a prediction request's rows).
        read_batches(&mut reader, Batch::default, |batch| {
            let r = work(&batch, template.child());
            merge(r, sink, &mut rows, &mut int_sets, &mut hash_sets);
            true
        })?;
        if let Some(e) = take_err {
            return Err(e.into());
        }
        return Ok(RunStats { rows, bytes: reader.bytes_read(), endings: reader.line_endings() });
    }

    let read_result = std::thread::scope(|s| -> Result<RunStats, DataError> {
        let reader_thread = s.spawn(move || -> std::io::Result<RunStats> {
            let rows = read_batches(
                &mut reader,
                || recycle_rx.try_recv().unwrap_or_default(),
                |batch| work_tx.send(batch).is_ok(),
            )?;
            Ok(RunStats { rows, bytes: reader.bytes_read(), endings: reader.line_endings() })
        });
        for _ in 0..workers {
            let res_tx = res_tx.clone();
            let work_rx = &work_rx;
            s.spawn(move || {
                loop {
                    let batch = match work_rx.lock() {
                        Ok(rx) => match rx.recv() {
                            Ok(b) => b,
                            Err(_) => break,
                        },
                        Err(_) => break,
                    };
                    let result = work(&batch, template.child());
                    if res_tx.send((result, batch)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(res_tx);

        // Merge results in file order.
        let mut pending: BTreeMap<u64, BatchResult> = BTreeMap::new();
        let mut next = 0u64;
        for (result, batch) in res_rx {
            let _ = recycle_tx.send(batch);
            pending.insert(result.seq, result);
            while let Some(r) = pending.remove(&next) {
                next += 1;
                merge(r, sink, &mut rows, &mut int_sets, &mut hash_sets);
            }
        }
        match reader_thread.join() {
            Ok(r) => r.map_err(DataError::from),
            Err(_) => Err(DataError::Internal("the CSV reader thread stopped")),
        }
    });
    let mut stats = read_result?;
    if let Some(e) = take_err {
        return Err(e.into());
    }
    stats.rows = rows;
    Ok(stats)
}

/// Reads `reader` batch by batch (each numbered, with its first row) into batches from
/// `fresh`, handing each non-empty one to `take` until it returns false; returns the rows
/// read.
fn read_batches<R: Read>(
    reader: &mut CsvReader<R>,
    mut fresh: impl FnMut() -> Batch,
    mut take: impl FnMut(Batch) -> bool,
) -> std::io::Result<u64> {
    let (mut seq, mut next_row) = (0u64, 1u64);
    loop {
        let mut batch = fresh();
        batch.clear();
        batch.seq = seq;
        batch.first_row = next_row;
        let more = reader.read_batch(&mut batch, BATCH_RECORDS, BATCH_BYTES)?;
        next_row += batch.records.len() as u64;
        if !batch.records.is_empty() || !batch.issues.is_empty() {
            seq += 1;
            if !take(batch) {
                break;
            }
        }
        if !more {
            break;
        }
    }
    Ok(next_row - 1)
}

/// Keys are already uniform hashes (or exact integers): the set uses them as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn merge_keys(
    ctx: &Context<'_>,
    sink: &mut Sink,
    r: &BatchResult,
    int_sets: &mut [RoaringTreemap],
    hash_sets: &mut [HashSet<u64, BuildHasherDefault<Prehashed>>],
) {
    for (k, entries) in r.keys.iter().enumerate() {
        let spec = &ctx.schema.keys[k];
        let Some(cols) = &ctx.key_cols[k] else { continue };
        for e in entries {
            let fresh = if spec.exact_integer {
                int_sets[k].insert(e.key)
            } else {
                hash_sets[k].insert(e.key)
            };
            if fresh {
                continue;
            }
            let text = &r.key_text[e.text.0 as usize..e.text.1 as usize];
            let names = cols.iter().map(|&c| ctx.header[c].as_str()).collect::<Vec<_>>().join(", ");
            let check = if spec.primary { Check::PrimaryKey } else { Check::Unique };
            let col = (cols.len() == 1).then(|| cols[0]);
            sink.emit(check, col, e.line, e.row, e.offset, Some(text), || {
                if spec.primary {
                    format!("duplicate primary key ({names}): the value appeared in an earlier row")
                } else {
                    format!("duplicate value in unique key ({names}): the value appeared in an earlier row")
                }
            });
        }
    }
}

fn hash_value<H: Hasher>(v: &Value<'_>, h: &mut H) {
    match v {
        Value::Int(x) => {
            0u8.hash(h);
            x.hash(h);
        }
        Value::Num(x) => {
            1u8.hash(h);
            // -0.0 == 0.0 and every NaN is one value.
            let bits = if *x == 0.0 {
                0
            } else if x.is_nan() {
                u64::MAX
            } else {
                x.to_bits()
            };
            bits.hash(h);
        }
        Value::Bool(b) => (2u8, *b).hash(h),
        Value::Date(d) => (3u8, d).hash(h),
        Value::DateTime(s, n) => (4u8, s, n).hash(h),
        Value::Time(t) => (5u8, t).hash(h),
        Value::Year(y) => (6u8, y).hash(h),
        Value::YearMonth(y, m) => (7u8, y, m).hash(h),
        Value::Str(s) => (8u8, s).hash(h),
        Value::Items(_) | Value::Opaque => 9u8.hash(h),
    }
}

fn check_batch(ctx: &Context<'_>, batch: &Batch, mut sink: Sink, max_field: usize) -> BatchResult {
    let ncols = ctx.header.len();
    let fields = &ctx.schema.fields;
    for issue in &batch.issues {
        let col = (issue.record != u32::MAX && (issue.field as usize) < ncols)
            .then_some(issue.field as usize);
        let row =
            if issue.record == u32::MAX { 0 } else { batch.first_row + u64::from(issue.record) };
        sink.emit(issue_check(issue.kind), col, issue.line, row, issue.offset, None, || {
            issue_message(issue.kind, issue.field, max_field)
        });
    }
    let mut keys: Vec<Vec<KeyEntry>> = ctx.key_cols.iter().map(|_| Vec::new()).collect();
    let mut key_text = String::new();
    let mut cells: Vec<&[u8]> = Vec::with_capacity(ncols);
    for (i, meta) in batch.records.iter().enumerate() {
        let row = batch.first_row + i as u64;
        let line = meta.line;
        if meta.fields_in_file != ncols as u64 {
            sink.emit(Check::RaggedRow, None, line, row, meta.offset, None, || {
                format!("row has {} fields, the header has {ncols}", meta.fields_in_file)
            });
        }
        cells.clear();
        cells.extend(batch.record(i).take(ncols));
        // One UTF-8 check for the whole record; cells are then cut from it (a cell that
        // does not start and end on character boundaries is checked on its own below).
        let (span, span_start) = batch.record_bytes(i);
        let whole = std::str::from_utf8(span).ok();
        let mut valid_utf8 = true;
        for (col, (raw, &(from, to))) in cells.iter().zip(batch.spans(i)).enumerate() {
            let cut =
                whole.and_then(|w| w.get(from as usize - span_start..to as usize - span_start));
            let s = match cut.map_or_else(|| std::str::from_utf8(raw), Ok) {
                Ok(s) => s,
                Err(e) => {
                    valid_utf8 = false;
                    let lossy = String::from_utf8_lossy(raw);
                    sink.emit(
                        Check::InvalidUtf8,
                        Some(col),
                        line,
                        row,
                        meta.offset,
                        Some(&lossy),
                        || {
                            format!(
                                "not valid UTF-8 (bad byte at position {} of the cell)",
                                e.valid_up_to() + 1
                            )
                        },
                    );
                    continue;
                }
            };
            match ctx.col_field[col] {
                Some(fi) => {
                    let f = &fields[fi];
                    if f.missing.is_missing(s) {
                        if f.required {
                            sink.emit(
                                Check::Required,
                                Some(col),
                                line,
                                row,
                                meta.offset,
                                Some(s),
                                || "a value is required".into(),
                            );
                        }
                        continue;
                    }
                    match f.check(s) {
                        Ok(_) => {
                            if f.textual && is_formula(s) {
                                emit_formula(&mut sink, col, line, row, meta.offset, s);
                            }
                        }
                        Err(e) => {
                            sink.emit(
                                Check::from_cell_error(&e),
                                Some(col),
                                line,
                                row,
                                meta.offset,
                                Some(s),
                                || f.describe(&e),
                            );
                        }
                    }
                }
                None => {
                    if is_formula(s) {
                        emit_formula(&mut sink, col, line, row, meta.offset, s);
                    }
                }
            }
        }
        if !valid_utf8 {
            continue;
        }
        // Keys: only rows whose key cells are all present and valid take part.
        'keys: for (k, cols) in ctx.key_cols.iter().enumerate() {
            let Some(cols) = cols else { continue };
            let spec = &ctx.schema.keys[k];
            let mut h = ctx.hasher.build_hasher();
            let mut int_key = 0u64;
            let start = key_text.len();
            for (j, &c) in cols.iter().enumerate() {
                let Some(raw) = cells.get(c) else { continue 'keys };
                let s = std::str::from_utf8(raw).unwrap_or("");
                let f = &fields[spec.fields[j]];
                if f.missing.is_missing(s) {
                    continue 'keys;
                }
                let Ok(v) = f.check(s) else { continue 'keys };
                if spec.exact_integer {
                    if let Value::Int(x) = v {
                        int_key = (x as u64) ^ (1 << 63);
                    }
                } else {
                    hash_value(&v, &mut h);
                }
                if j > 0 {
                    key_text.push_str(", ");
                }
                key_text.push_str(&if f.pii { mask(s) } else { shorten(s) });
            }
            let key = if spec.exact_integer { int_key } else { h.finish() };
            keys[k].push(KeyEntry {
                line,
                row,
                offset: meta.offset,
                key,
                text: (start as u32, key_text.len() as u32),
            });
        }
    }
    BatchResult {
        seq: batch.seq,
        rows: batch.records.len() as u64,
        sink,
        keys,
        key_text,
        visited: Vec::new(),
    }
}

fn emit_formula(sink: &mut Sink, col: usize, line: u64, row: u64, offset: u64, s: &str) {
    sink.emit(Check::Formula, Some(col), line, row, offset, Some(s), || {
        let first = s.chars().next().map(|c| c.escape_default().to_string()).unwrap_or_default();
        format!("cell starts with '{first}': a spreadsheet may run it as a formula (CSV injection)")
    });
}
