//! Drafting a schema from a CSV file.
//!
//! One streaming pass (or the first `sample_rows` rows). Per column it tracks which types
//! every value fits, the observed range, a capped set of distinct values, one "digit shape"
//! (`999-99-9999`), uniqueness for identifier-like columns, and signals of personal data
//! from the column name and the values. The result is a draft for a person to review: the
//! observed ranges and enums describe the sample, not the rules of the data.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use roaring::RoaringTreemap;
use serde_json::Value as Json;

use crate::csv::{Batch, CsvReader, DEFAULT_MAX_FIELD_BYTES};
use crate::error::DataError;
use crate::schema::{Constraints, Field, FieldType, PiiKind, Protect, Role, Schema};
use crate::types::{CellType, Value, is_email, is_uuid};

/// Default largest number of distinct values for which a string column gets an `enum`.
pub const DEFAULT_ENUM_MAX: usize = 12;
/// Column names taken as the target when `--target` is not given, most telling first
/// (`class` last: it is as often a passenger or product class as a label).
pub const TARGET_NAMES: &[&str] = &[
    "label",
    "target",
    "y",
    "outcome",
    "survived",
    "churn",
    "churned",
    "species",
    "diagnosis",
    "fraud",
    "is_fraud",
    "default",
    "response",
    "class",
];
/// Cells that stand for a missing value in files written by pandas (`to_csv` and the values
/// `read_csv` reads as NaN), R (`write.csv` writes `NA`), Excel (`#N/A`) and databases
/// (`NULL`). `infer-schema` reads them as missing and lists the ones it met in the schema's
/// `missingValues`.
pub const MISSING_MARKERS: &[&str] = &[
    "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "<NA>", "#N/A", "#N/A N/A", "#NA", "NULL",
    "null", "None", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
];
// One bit per marker in `ColumnStats::markers`.
const _: () = assert!(MISSING_MARKERS.len() <= 32);
/// Share of values that must look like a kind of personal data for a value-based hint.
const PII_SHARE: f64 = 0.8;

/// How to infer.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// The target column (default: a column named label, target, y or class).
    pub target: Option<String>,
    /// Read at most this many data rows (default: all).
    pub sample_rows: Option<u64>,
    /// Field delimiter (default `,`).
    pub delimiter: u8,
    /// Largest distinct count that makes a string column an enum.
    pub enum_max: usize,
    /// Numbers are written with a decimal comma (`3,75`): number fields get `decimalChar`.
    pub decimal_comma: bool,
    /// Write observed ranges as `minimum`/`maximum` constraints (by default they are
    /// information, `x-observed`: a model trained on 2007-2009 must not reject 2010).
    pub strict_ranges: bool,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            target: None,
            sample_rows: None,
            delimiter: b',',
            enum_max: DEFAULT_ENUM_MAX,
            decimal_comma: false,
            strict_ranges: false,
        }
    }
}

/// A drafted schema and what it was drafted from.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The draft.
    pub schema: Schema,
    /// Data rows read.
    pub rows: u64,
    /// Whether the file has more rows than were read.
    pub sampled: bool,
    /// The missing-value markers met ([`MISSING_MARKERS`]), each with the columns it was
    /// met in; the schema's `missingValues` lists them.
    pub missing_markers: Vec<(String, Vec<String>)>,
    /// The target chosen and why (`by name`, `given`, `the last column, 3 values`), or
    /// `None` when no column looks like one.
    pub target: Option<(String, String)>,
}

/// Drafts a schema for the CSV file at `path`.
pub fn infer_path(path: &Path, opts: &InferOptions) -> Result<Inferred, DataError> {
    let (src, _) = crate::input::open_path(path, None)?;
    infer_reader(src, opts)
}

/// Drafts a schema for CSV read from `src`.
pub fn infer_reader<R: Read>(src: R, opts: &InferOptions) -> Result<Inferred, DataError> {
    crate::validate::check_delimiter(opts.delimiter)?;
    let mut reader = CsvReader::new(src, opts.delimiter, DEFAULT_MAX_FIELD_BYTES);
    reader.encoding()?;
    let mut head = Batch::default();
    let mut more = reader.read_batch(&mut head, 1, usize::MAX)?;
    if head.records.is_empty() {
        return Err(DataError::Input("the file is empty: no header to infer a schema from".into()));
    }
    let header: Vec<String> =
        head.record(0).map(|f| String::from_utf8_lossy(f).trim().to_owned()).collect();
    let mut seen = HashSet::new();
    for (i, h) in header.iter().enumerate() {
        if h.is_empty() {
            return Err(DataError::Input(format!(
                "header column {} has no name; name it before inferring a schema",
                i + 1
            )));
        }
        if !seen.insert(h.as_str()) {
            return Err(DataError::Input(format!(
                "header name {h:?} appears twice; rename one before inferring a schema"
            )));
        }
    }
    if let Some(t) = &opts.target
        && !header.contains(t)
    {
        return Err(DataError::Input(format!(
            "the target {t:?} is not a column of the file (columns: {})",
            header.join(", ")
        )));
    }
    let mut cols: Vec<ColumnStats> =
        header.iter().map(|h| ColumnStats::new(h, opts.enum_max)).collect();
    let iso = IsoParsers::new()?;
    let limit = opts.sample_rows.unwrap_or(u64::MAX);
    let mut rows = 0u64;
    let mut batch = Batch::default();
    while more && rows < limit {
        batch.clear();
        let want = usize::try_from((limit - rows).min(4096)).unwrap_or(4096);
        more = reader.read_batch(&mut batch, want, 1 << 20)?;
        for i in 0..batch.records.len() {
            rows += 1;
            for (c, raw) in batch.record(i).take(cols.len()).enumerate() {
                let cell = String::from_utf8_lossy(raw);
                match opts.decimal_comma.then(|| decimal_comma_number(&cell)).flatten() {
                    Some(number) => cols[c].add(&number, &iso),
                    None => cols[c].add(&cell, &iso),
                }
            }
        }
    }
    if more {
        // Is there anything left? One more record says whether the file was sampled.
        batch.clear();
        reader.read_batch(&mut batch, 1, usize::MAX)?;
        more = !batch.records.is_empty();
    }
    for c in &mut cols {
        c.judge_pii();
    }
    // In a table about people (it has a direct identifier), the columns about what a person
    // is (age, sex, race, coordinates, dates of death or admission, ...) are
    // quasi-identifiers: protection generalises them to k-anonymity.
    if cols.iter().any(|c| c.detected.is_some_and(|k| k != PiiKind::Quasi)) {
        for i in crate::protect::quasi_candidates(&header) {
            if cols[i].detected.is_none() && Some(cols[i].name.as_str()) != opts.target.as_deref() {
                cols[i].detected = Some(PiiKind::Quasi);
            }
        }
    }
    let target = choose_target(opts, &cols);
    let target_name = target.as_ref().map(|(t, _)| t.as_str());
    let mut fields: Vec<Field> = cols
        .iter()
        .map(|c| c.to_field(rows, target_name == Some(c.name.as_str()), opts.strict_ranges))
        .collect();
    if opts.decimal_comma {
        // Numbers, and integers written with a zero fraction (`181,0`: pandas' integers
        // with gaps), are read with the decimal comma.
        for (f, c) in fields.iter_mut().zip(&cols) {
            let floats = f.field_type == FieldType::Integer && c.float_ints;
            if f.field_type == FieldType::Number || floats {
                f.decimal_char = Some(",".into());
            }
        }
    }
    let primary = fields.iter().position(|f| f.role == Some(Role::Id));
    let primary_key = match primary {
        Some(i) => {
            fields[i].constraints.unique = false; // implied by the primary key
            vec![fields[i].name.clone()]
        }
        None => Vec::new(),
    };
    let missing_markers: Vec<(String, Vec<String>)> = MISSING_MARKERS
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let columns = cols.iter().filter(|c| c.markers & (1 << k) != 0).map(|c| c.name.clone());
            ((*m).to_owned(), columns.collect::<Vec<_>>())
        })
        .filter(|(_, columns)| !columns.is_empty())
        .collect();
    let mut missing_values = vec![String::new()];
    missing_values.extend(missing_markers.iter().map(|(m, _)| m.clone()));
    let schema = Schema { fields, primary_key, missing_values, ..Schema::empty() };
    Ok(Inferred { schema, rows, sampled: more, missing_markers, target })
}

/// The target: `--target`; else a column with a target's name ([`TARGET_NAMES`], most
/// telling first); else the last column when it holds a few values (2 to `enum_max`) and
/// is neither personal data nor an identifier.
fn choose_target(opts: &InferOptions, cols: &[ColumnStats]) -> Option<(String, String)> {
    if let Some(t) = &opts.target {
        return Some((t.clone(), "given".into()));
    }
    let named = TARGET_NAMES.iter().find_map(|name| {
        cols.iter().find(|c| c.name.to_ascii_lowercase() == *name && c.present > 0)
    });
    if let Some(c) = named {
        return Some((c.name.clone(), "by its name".into()));
    }
    let last = cols.last().filter(|_| cols.len() > 1)?;
    let values = last.distinct.as_ref().map(HashMap::len)?;
    let ty = last.field_type();
    let categorical = (2..=last.enum_max).contains(&values)
        && (values as u64) * 3 <= last.present
        && last.pii(ty).is_none()
        && !last.id_like
        && matches!(ty, FieldType::String | FieldType::Integer | FieldType::Boolean);
    categorical.then(|| (last.name.clone(), format!("the last column, {values} values")))
}

/// The protection proposed for a field of a kind of personal data, and why (the action
/// `protect` takes for it by default, written out so that the draft says it).
fn proposed_protection(kind: PiiKind) -> Option<(Protect, &'static str)> {
    Some(match kind {
        PiiKind::Ssn | PiiKind::CreditCard | PiiKind::NationalId => (
            Protect::Mask,
            "a national identifier or card number: nothing in it is useful to a model",
        ),
        PiiKind::DateOfBirth => (
            Protect::Generalize,
            "a date of birth: the year (or an age band) is what a model needs",
        ),
        PiiKind::PostalCode => {
            (Protect::Generalize, "a postal code: its leading part locates an area, not a home")
        }
        PiiKind::IpAddress => {
            (Protect::Generalize, "an IP address: its network prefix, not the device")
        }
        PiiKind::Quasi => return None,
        PiiKind::Email
        | PiiKind::Phone
        | PiiKind::Name
        | PiiKind::Address
        | PiiKind::Iban
        | PiiKind::Identifier => (
            Protect::Pseudonymize,
            "a direct identifier: a keyed pseudonym keeps joins and counts, not the person",
        ),
    })
}

/// The ISO readers of the temporal types, built once.
struct IsoParsers {
    date: CellType,
    datetime: CellType,
    time: CellType,
}

impl IsoParsers {
    fn new() -> Result<IsoParsers, DataError> {
        let make = |t| CellType::for_field(&Field::new("", t)).map_err(DataError::Input);
        Ok(IsoParsers {
            date: make(FieldType::Date)?,
            datetime: make(FieldType::Datetime)?,
            time: make(FieldType::Time)?,
        })
    }
}

#[derive(Debug)]
struct ColumnStats {
    name: String,
    tokens: Vec<String>,
    enum_max: usize,
    present: u64,
    missing: u64,
    /// Which [`MISSING_MARKERS`] were met (by index).
    markers: u32,
    /// Whether an integer was written as a float (`18.0`).
    float_ints: bool,
    maybe_int: bool,
    maybe_num: bool,
    maybe_bool: bool,
    maybe_date: bool,
    maybe_datetime: bool,
    maybe_time: bool,
    leading_zero: bool,
    int_range: Option<(i64, i64)>,
    num_range: Option<(f64, f64)>,
    date_range: Option<(NaiveDate, NaiveDate)>,
    distinct: Option<HashMap<String, u64>>,
    shape: Option<String>,
    max_chars: usize,
    // Uniqueness, tracked only for identifier-like columns.
    id_like: bool,
    unique: bool,
    int_seen: RoaringTreemap,
    hash_seen: HashSet<u64>,
    hasher: std::hash::RandomState,
    // Personal data: judged as `data pii` judges a column, on a sample of its values.
    emails: u64,
    uuids: u64,
    /// The first [`crate::pii::COLUMN_SAMPLE`] present values.
    sample: Vec<String>,
    /// The kind of personal data the sample holds (see [`ColumnStats::judge_pii`]).
    detected: Option<PiiKind>,
}

fn tokens(name: &str) -> Vec<String> {
    // "dateOfBirth" -> date of birth; "zip_code" -> zip code.
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `3,75` as `3.75`: a number written with a decimal comma (and nothing else).
fn decimal_comma_number(cell: &str) -> Option<String> {
    let (whole, fraction) = cell.split_once(',')?;
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("{whole}.{fraction}"))
}

/// `18.0`, `-3.00`: an integer written with a zero fraction.
fn integral_float(s: &str) -> Option<i64> {
    let (whole, fraction) = s.split_once('.')?;
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b == b'0');
    if ok { whole.parse().ok() } else { None }
}

impl ColumnStats {
    fn new(name: &str, enum_max: usize) -> ColumnStats {
        let tokens = tokens(name);
        let lower = name.to_ascii_lowercase();
        let id_like = tokens.last().is_some_and(|t| {
            matches!(t.as_str(), "id" | "uuid" | "guid" | "key" | "no" | "number" | "code")
        }) || lower.ends_with("id")
            || lower == "uuid"
            // The unnamed index column of pandas and R, as the input layer names it.
            || name.trim_end_matches('_') == crate::input::INDEX_COLUMN;
        ColumnStats {
            name: name.to_owned(),
            tokens,
            enum_max,
            present: 0,
            missing: 0,
            markers: 0,
            float_ints: false,
            maybe_int: true,
            maybe_num: true,
            maybe_bool: true,
            maybe_date: true,
            maybe_datetime: true,
            maybe_time: true,
            leading_zero: false,
            int_range: None,
            num_range: None,
            date_range: None,
            distinct: Some(HashMap::new()),
            shape: None,
            max_chars: 0,
            id_like,
            unique: true,
            int_seen: RoaringTreemap::new(),
            hash_seen: HashSet::new(),
            hasher: std::hash::RandomState::new(),
            emails: 0,
            uuids: 0,
            sample: Vec::new(),
            detected: None,
        }
    }

    fn has_token(&self, words: &[&str]) -> bool {
        self.tokens.iter().any(|t| words.contains(&t.as_str()))
    }

    fn add(&mut self, s: &str, iso: &IsoParsers) {
        if s.is_empty() {
            self.missing += 1;
            return;
        }
        if let Some(k) = MISSING_MARKERS.iter().position(|m| *m == s) {
            self.missing += 1;
            self.markers |= 1 << k;
            return;
        }
        self.present += 1;
        self.max_chars = self.max_chars.max(s.chars().count());
        let int = if self.maybe_int {
            let int = s.parse::<i64>().ok().or_else(|| integral_float(s));
            if int.is_some() && s.contains('.') {
                self.float_ints = true;
            }
            int.filter(|_| !s.starts_with('+'))
        } else {
            None
        };
        match int {
            Some(v) => {
                let whole = s.split('.').next().unwrap_or(s);
                let digits = whole.strip_prefix('-').unwrap_or(whole);
                if digits.len() > 1 && digits.starts_with('0') {
                    self.leading_zero = true;
                }
                self.int_range = Some(self.int_range.map_or((v, v), |(a, b)| (a.min(v), b.max(v))));
            }
            None => self.maybe_int = false,
        }
        if self.maybe_num {
            let ok = s
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
            match s.parse::<f64>().ok().filter(|v| ok && v.is_finite()) {
                Some(v) => {
                    self.num_range =
                        Some(self.num_range.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
                }
                None => self.maybe_num = false,
            }
        }
        if self.maybe_bool && !matches!(s, "true" | "false" | "True" | "False" | "TRUE" | "FALSE") {
            self.maybe_bool = false;
        }
        if self.maybe_date {
            match iso.date.parse(s) {
                Ok(Value::Date(d)) => {
                    self.date_range =
                        Some(self.date_range.map_or((d, d), |(a, b)| (a.min(d), b.max(d))))
                }
                _ => self.maybe_date = false,
            }
        }
        if self.maybe_datetime {
            self.maybe_datetime = iso.datetime.parse(s).is_ok();
        }
        if self.maybe_time {
            self.maybe_time = iso.time.parse(s).is_ok();
        }
        if let Some(d) = &mut self.distinct {
            if let Some(n) = d.get_mut(s) {
                *n += 1;
            } else if d.len() < self.enum_max {
                d.insert(s.to_owned(), 1);
            } else {
                self.distinct = None;
            }
        }
        if self.present == 1 || self.shape.is_some() {
            match (&self.shape, digit_shape(s)) {
                (None, Some(sh)) if self.present == 1 => self.shape = Some(sh),
                (Some(cur), Some(sh)) if *cur == sh => {}
                _ => self.shape = None,
            }
        }
        if self.id_like && self.unique {
            self.unique = match int {
                Some(v) if self.maybe_int => self.int_seen.insert((v as u64) ^ (1 << 63)),
                _ => self.hash_seen.insert(self.hasher.hash_one(s)),
            };
            if !self.unique {
                self.int_seen.clear();
                self.hash_seen = HashSet::new();
            }
        }
        if is_email(s) {
            self.emails += 1;
        }
        if is_uuid(s) {
            self.uuids += 1;
        }
        if self.sample.len() < crate::pii::COLUMN_SAMPLE {
            self.sample.push(s.to_owned());
        }
    }

    /// Whether `n` of all present values is a large enough share.
    fn share(&self, n: u64) -> bool {
        self.present > 0 && n as f64 >= PII_SHARE * self.present as f64
    }

    /// What personal data the column holds, judged as `data pii` judges it: the detectors
    /// on a sample of the values, with the header as a hint ([`crate::pii::column_hint`]).
    /// A kind counts when its spans cover most of at least half the sampled cells.
    fn judge_pii(&mut self) {
        use crate::pii::{ColumnHint, Kind, column_hint, detect};
        let values: Vec<&str> = self.sample.iter().map(String::as_str).collect();
        if values.is_empty() {
            return;
        }
        let hint = column_hint(ColumnHint::from_name(&self.name), &values);
        let mut counts: Vec<(Kind, usize)> = Vec::new();
        for v in &values {
            let len = v.trim().len();
            let mut seen: Vec<Kind> = Vec::new();
            for span in detect(v, Some(hint)) {
                if 2 * (span.end - span.start) >= len && !seen.contains(&span.kind) {
                    seen.push(span.kind);
                    match counts.iter_mut().find(|(k, _)| *k == span.kind) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((span.kind, 1)),
                    }
                }
            }
        }
        // A kind the header names needs fewer cells (a fifth): "Main & College streets" in
        // an `address` column is an address the detector does not read.
        let named = |k: Kind| match k {
            Kind::StreetAddress => {
                self.has_token(&["address", "street", "addr", "adresse", "dirección", "indirizzo"])
            }
            Kind::Email => self.has_token(&["email", "mail", "e-mail"]),
            Kind::IpAddress => self.has_token(&["ip"]),
            _ => false,
        };
        let best = counts
            .iter()
            .filter(|&&(k, n)| 2 * n >= values.len() || (named(k) && 5 * n >= values.len()))
            .max_by_key(|(_, n)| *n);
        self.detected = best.map(|(kind, _)| match kind {
            Kind::Email => PiiKind::Email,
            Kind::Phone => PiiKind::Phone,
            Kind::UsSsn => PiiKind::Ssn,
            Kind::CreditCard => PiiKind::CreditCard,
            Kind::Iban => PiiKind::Iban,
            Kind::IpAddress => PiiKind::IpAddress,
            Kind::DateOfBirth => PiiKind::DateOfBirth,
            Kind::Person => PiiKind::Name,
            Kind::StreetAddress => PiiKind::Address,
            Kind::PostalCode => PiiKind::PostalCode,
            _ => PiiKind::NationalId,
        });
    }

    fn field_type(&self) -> FieldType {
        if self.present == 0 {
            FieldType::String
        } else if self.maybe_bool {
            FieldType::Boolean
        } else if self.maybe_int && !self.leading_zero && (!self.float_ints || self.missing > 0) {
            // Integers written as floats (`18.0`) are what pandas writes for an integer column
            // with gaps; without gaps they are a float column's values.
            FieldType::Integer
        } else if self.maybe_num && !self.leading_zero {
            FieldType::Number
        } else if self.maybe_date {
            FieldType::Date
        } else if self.maybe_datetime {
            FieldType::Datetime
        } else if self.maybe_time {
            FieldType::Time
        } else {
            FieldType::String
        }
    }

    /// The kind of personal data the column holds, if any: what its values are
    /// ([`ColumnStats::judge_pii`]); identifiers that have no shape of their own (user
    /// names, logins, passport or account numbers) by their header.
    fn pii(&self, ty: FieldType) -> Option<PiiKind> {
        if self.detected.is_some() {
            return self.detected;
        }
        let named = self
            .has_token(&["username", "login", "passport", "licence", "license", "iban", "account"]);
        (ty == FieldType::String && named && self.present > 0).then_some(PiiKind::Identifier)
    }

    fn to_field(&self, rows: u64, is_target: bool, strict_ranges: bool) -> Field {
        let ty = self.field_type();
        let mut f = Field::new(&self.name, ty);
        let pii = self.pii(ty);
        f.pii = pii;
        if let Some((action, why)) = pii.and_then(proposed_protection) {
            f.protect = Some(action);
            f.extra.insert("x-protect-reason".into(), Json::String(why.into()));
        }
        let mut c = Constraints {
            required: self.present > 0 && self.missing == 0,
            ..Constraints::default()
        };
        if ty == FieldType::String {
            if self.share(self.emails) && self.emails == self.present {
                f.format = Some("email".into());
            } else if self.uuids == self.present && self.present > 0 {
                f.format = Some("uuid".into());
            }
        }
        let low_cardinality = self
            .distinct
            .as_ref()
            .filter(|d| !d.is_empty() && (d.len() as u64) * 3 <= self.present);
        // Observed ranges, except for personal data: the oldest birth date in the file is
        // one person's data and has no place in a schema.
        if pii.is_none() {
            match ty {
                FieldType::Integer => {
                    if let Some((a, b)) = self.int_range {
                        c.minimum = Some(a.into());
                        c.maximum = Some(b.into());
                    }
                }
                FieldType::Number => {
                    if let Some((a, b)) = self.num_range {
                        c.minimum = serde_json::Number::from_f64(a).map(Json::Number);
                        c.maximum = serde_json::Number::from_f64(b).map(Json::Number);
                    }
                }
                FieldType::Date => {
                    if let Some((a, b)) = self.date_range {
                        c.minimum = Some(a.to_string().into());
                        c.maximum = Some(b.to_string().into());
                    }
                }
                FieldType::String => {
                    if let Some(d) = low_cardinality {
                        let mut vals: Vec<&String> = d.keys().collect();
                        vals.sort();
                        c.enum_values =
                            Some(vals.into_iter().map(|v| Json::String(v.clone())).collect());
                    }
                }
                _ => {}
            }
        }
        // Observed ranges describe the rows read: information, not a rule, unless asked.
        if !strict_ranges && !is_target {
            let mut observed = serde_json::Map::new();
            if let Some(v) = c.minimum.take() {
                observed.insert("minimum".into(), v);
            }
            if let Some(v) = c.maximum.take() {
                observed.insert("maximum".into(), v);
            }
            if !observed.is_empty() {
                f.extra.insert("x-observed".into(), Json::Object(observed));
            }
        }
        if ty == FieldType::String
            && c.enum_values.is_none()
            && f.format.is_none()
            && let Some(shape) = &self.shape
        {
            c.pattern = Some(shape_pattern(shape));
        }
        let id = !is_target
            && self.id_like
            && self.unique
            && c.required
            && rows > 1
            && matches!(ty, FieldType::Integer | FieldType::String);
        if is_target {
            f.role = Some(Role::Target);
            if ty == FieldType::Integer
                && let Some(d) = self.distinct.as_ref().filter(|d| d.len() <= self.enum_max)
            {
                let mut vals: Vec<i64> = d.keys().filter_map(|k| k.parse().ok()).collect();
                vals.sort_unstable();
                c.minimum = None;
                c.maximum = None;
                c.enum_values = Some(vals.into_iter().map(Json::from).collect());
            }
        } else if id {
            f.role = Some(Role::Id);
            c.unique = true;
            c.minimum = None;
            c.maximum = None;
        }
        f.constraints = c;
        f
    }
}

/// The digit shape of a short code: digits become `9`, separators stay; `None` when the
/// value has letters or no digits (a shape would be meaningless).
fn digit_shape(s: &str) -> Option<String> {
    if s.len() > 32 || !s.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    s.chars()
        .map(|c| match c {
            '0'..='9' => Some('9'),
            '-' | '+' | '(' | ')' | ' ' | '.' | '/' | ':' => Some(c),
            _ => None,
        })
        .collect()
}

/// Turns a digit shape into a regular expression: `999-99` -> `\d{3}-\d{2}`.
fn shape_pattern(shape: &str) -> String {
    let mut out = String::new();
    let mut digits = 0;
    let flush = |out: &mut String, digits: &mut usize| {
        if *digits > 0 {
            out.push_str(&if *digits == 1 { "\\d".to_owned() } else { format!("\\d{{{digits}}}") });
            *digits = 0;
        }
    };
    for c in shape.chars() {
        if c == '9' {
            digits += 1;
        } else {
            flush(&mut out, &mut digits);
            if matches!(c, '+' | '(' | ')' | '.') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    flush(&mut out, &mut digits);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(csv: &str) -> Schema {
        infer_reader(csv.as_bytes(), &InferOptions::default()).expect("infer").schema
    }

    #[test]
    fn types_required_and_ranges() {
        let s = infer(
            "id,age,score,flag,when,code,note\n1,30,0.5,true,2024-01-02,00501,x\n2,41,1.25,false,2023-05-06,12345,\n3,25,-2,true,2020-01-01,99950,y\n",
        );
        let f = |n: &str| s.field(n).expect(n);
        assert_eq!(f("id").field_type, FieldType::Integer);
        assert_eq!(f("id").role, Some(Role::Id));
        assert_eq!(s.primary_key, vec!["id"]);
        // Observed ranges are information, not constraints (unless strict_ranges).
        assert_eq!(f("age").constraints.minimum, None);
        assert_eq!(f("age").extra["x-observed"], serde_json::json!({"minimum": 25, "maximum": 41}));
        assert!(f("age").constraints.required);
        assert_eq!(f("score").field_type, FieldType::Number);
        assert_eq!(f("flag").field_type, FieldType::Boolean);
        assert_eq!(f("when").field_type, FieldType::Date);
        assert_eq!(f("when").extra["x-observed"]["minimum"], "2020-01-01");
        let strict = InferOptions { strict_ranges: true, ..InferOptions::default() };
        let csv = "age\n30\n41\n25\n";
        let s2 = infer_reader(csv.as_bytes(), &strict).expect("infer").schema;
        assert_eq!(s2.fields[0].constraints.maximum, Some(41.into()));
        assert!(!s2.fields[0].extra.contains_key("x-observed"));
        assert_eq!(f("code").field_type, FieldType::String, "leading zeros keep a code a string");
        assert_eq!(f("code").constraints.pattern.as_deref(), Some("\\d{5}"));
        assert!(!f("note").constraints.required);
        // The draft is itself a valid schema.
        Schema::from_json(&s.to_json()).expect("draft loads");
    }

    #[test]
    fn missing_markers_of_pandas_and_r_are_missing_and_listed() {
        // An R export (NA) and a pandas one (integers with gaps written as floats).
        let csv = "species,bill,mass,sex,note\nAdelie,39.1,3750.0,male,None\nAdelie,NA,,NA,x\nGentoo,46.1,4500.0,#N/A,y\n";
        let inferred = infer_reader(csv.as_bytes(), &InferOptions::default()).expect("infer");
        let s = &inferred.schema;
        let f = |n: &str| s.field(n).expect(n);
        assert_eq!(f("bill").field_type, FieldType::Number);
        assert_eq!(f("mass").field_type, FieldType::Integer);
        assert_eq!(f("sex").constraints.enum_values, None, "NA is no category");
        assert!(!f("bill").constraints.required);
        assert_eq!(s.missing_values, ["", "NA", "#N/A", "None"]);
        let names: Vec<(&str, Vec<&str>)> = inferred
            .missing_markers
            .iter()
            .map(|(m, c)| (m.as_str(), c.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            names,
            [("NA", vec!["bill", "sex"]), ("#N/A", vec!["sex"]), ("None", vec!["note"])]
        );
        // The draft validates the file it was drafted from.
        let report = crate::validate_reader(csv.as_bytes(), "t.csv", s, &Default::default())
            .expect("validate");
        assert_eq!(report.errors(), 0, "{}", report.to_json());
        // Floats with zero fractions and no gaps are a float column; a real fraction too.
        let s = infer("a,b\n1.0,2\n2.0,3.5\n0.0,4\n");
        assert_eq!(s.field("a").expect("a").field_type, FieldType::Number);
        assert_eq!(s.field("b").expect("b").field_type, FieldType::Number);
    }

    #[test]
    fn the_target_is_chosen_by_name_then_position_and_said() {
        let target = |csv: &str| {
            infer_reader(csv.as_bytes(), &InferOptions::default()).expect("infer").target
        };
        // Titanic's `class` is the passenger's class: `survived` names the outcome.
        let mut titanic = String::from("class,age,sex,survived\n");
        let mut votes = String::from("id,x1,x2,vote\n");
        let mut none = String::from("a,b,price\n");
        for i in 0..30 {
            titanic.push_str(&format!(
                "{},adults,{},{}\n",
                ["1st", "2nd", "3rd"][i % 3],
                ["man", "women"][i % 2],
                ["yes", "no"][i % 2]
            ));
            votes.push_str(&format!("{i},{},{},{}\n", i * 3, i % 4, ["y", "n", "abstain"][i % 3]));
            none.push_str(&format!("{i},{},{}.5\n", i * 2, i * 7));
        }
        assert_eq!(target(&titanic), Some(("survived".into(), "by its name".into())));
        assert_eq!(target(&votes), Some(("vote".into(), "the last column, 3 values".into())));
        assert_eq!(target(&none), None);
        let given = InferOptions { target: Some("a".into()), ..InferOptions::default() };
        let t = infer_reader(none.as_bytes(), &given).expect("infer").target;
        assert_eq!(t, Some(("a".into(), "given".into())));
    }

    #[test]
    fn personal_data_gets_a_proposed_protection_with_its_reason() {
        let mut csv = String::from("email,ssn,dob,zip,score\n");
        for i in 0..20 {
            csv.push_str(&format!(
                "u{i}@mail.test,900-12-{i:04},1980-01-{:02},{:05},{i}\n",
                i + 1,
                i * 7
            ));
        }
        let s = infer(&csv);
        let p = |n: &str| s.field(n).expect(n).protect;
        assert_eq!(p("email"), Some(Protect::Pseudonymize));
        assert_eq!(p("ssn"), Some(Protect::Mask));
        assert_eq!(p("dob"), Some(Protect::Generalize));
        assert_eq!(p("zip"), Some(Protect::Generalize));
        assert_eq!(p("score"), None);
        let reason = &s.field("email").expect("email").extra["x-protect-reason"];
        assert!(reason.as_str().is_some_and(|r| r.contains("pseudonym")), "{reason}");
    }

    #[test]
    fn target_enum_and_pii() {
        let mut csv = String::from("user_id,full_name,email,phone,ssn,dob,zip,plan,label\n");
        for i in 0..40 {
            csv.push_str(&format!(
                "{i},Mary Smith,mary{i}@example.com,+44 20 7946 0{i:03},900-12-{i:04},1980-01-{:02},{:05},{},{}\n",
                i % 28 + 1,
                i * 7,
                ["free", "pro"][i % 2],
                i % 2
            ));
        }
        let s = infer(&csv);
        let f = |n: &str| s.field(n).expect(n);
        assert_eq!(f("label").role, Some(Role::Target));
        assert_eq!(f("label").constraints.enum_values, Some(vec![0.into(), 1.into()]));
        assert_eq!(f("plan").constraints.enum_values, Some(vec!["free".into(), "pro".into()]));
        assert_eq!(f("user_id").role, Some(Role::Id));
        assert_eq!(f("full_name").pii, Some(PiiKind::Name));
        assert_eq!(f("email").pii, Some(PiiKind::Email));
        assert_eq!(f("email").format.as_deref(), Some("email"));
        assert_eq!(f("phone").pii, Some(PiiKind::Phone));
        assert_eq!(f("ssn").pii, Some(PiiKind::Ssn));
        assert_eq!(f("dob").pii, Some(PiiKind::DateOfBirth));
        assert_eq!(f("dob").constraints.minimum, None, "no observed range for personal data");
        assert_eq!(f("zip").pii, Some(PiiKind::PostalCode));
        assert_eq!(f("plan").pii, None);
        let s = infer("email_open_rate,phone_calls,num_addresses\n0.5,3,1\n0.25,4,2\n");
        assert!(
            s.fields.iter().all(|f| f.pii.is_none()),
            "names alone do not make numbers personal data"
        );
    }

    #[test]
    fn value_based_pii_with_unhelpful_headers() {
        let mut csv = String::from("a,b,c\n");
        for i in 0..20 {
            csv.push_str(&format!("x{i}@mail.test,123-45-{i:04},Anna Kowalski\n"));
        }
        let s = infer(&csv);
        assert_eq!(s.fields[0].pii, Some(PiiKind::Email));
        assert_eq!(s.fields[1].pii, Some(PiiKind::Ssn));
        assert_eq!(s.fields[2].pii, Some(PiiKind::Name));
    }

    #[test]
    fn national_identifiers_by_header_or_value() {
        // Codici fiscali under an unhelpful header, BSNs under their name, NINOs named.
        let csv = "c1,bsn,nino\nRCCMNL83S18D969H,111222333,AB123456C\nRCCMNL83S18D969H,123456782,AB123456D\n";
        let s = infer(csv);
        for f in &s.fields {
            assert_eq!(f.pii, Some(PiiKind::NationalId), "{}", f.name);
        }
    }

    #[test]
    fn explicit_target_and_errors() {
        let opts = InferOptions { target: Some("b".into()), ..InferOptions::default() };
        let s = infer_reader("a,b\n1,x\n".as_bytes(), &opts).expect("infer").schema;
        assert_eq!(s.fields[1].role, Some(Role::Target));
        let bad = InferOptions { target: Some("zz".into()), ..InferOptions::default() };
        let err = infer_reader("a,b\n1,x\n".as_bytes(), &bad).expect_err("unknown target");
        assert!(err.to_string().contains("zz"), "{err}");
        assert!(infer_reader("".as_bytes(), &InferOptions::default()).is_err());
        assert!(infer_reader("a,a\n1,2\n".as_bytes(), &InferOptions::default()).is_err());
    }

    #[test]
    fn sampling() {
        let opts = InferOptions { sample_rows: Some(2), ..InferOptions::default() };
        let r = infer_reader("a\n1\n2\n3\n".as_bytes(), &opts).expect("infer");
        assert_eq!(r.rows, 2);
        assert!(r.sampled);
        let r = infer_reader("a\n1\n2\n".as_bytes(), &opts).expect("infer");
        assert!(!r.sampled);
    }

    #[test]
    fn shapes() {
        assert_eq!(digit_shape("123-45-6789").as_deref(), Some("999-99-9999"));
        assert_eq!(digit_shape("abc"), None);
        assert_eq!(shape_pattern("+9-999"), "\\+\\d-\\d{3}");
        assert_eq!(tokens("dateOfBirth"), vec!["date", "of", "birth"]);
        assert_eq!(tokens("zip_code"), vec!["zip", "code"]);
    }
}
