//! Protecting personal data before use: keyed pseudonyms, redaction, generalisation of
//! dates of birth, IP addresses and postal codes, scrubbing of personal data in free text,
//! and k-anonymity of the quasi-identifiers (with l-diversity of the target reported).
//!
//! Pseudonyms are deterministic per key (the same person gets the same pseudonym in every
//! dataset protected with the vault's key, so joins still work), typed
//! (`EMAIL_eaa8d7b66fd3e3a8`), and irreversible without the key.
//!
//! ```
//! use mlguard_data::pii::Kind;
//! use mlguard_data::protect::{PseudonymKey, pseudonym};
//!
//! let key = PseudonymKey::from_bytes([7; 32]);
//! let a = pseudonym(&key, Kind::Email, " Jane.Doe@Example.org ");
//! assert_eq!(a, pseudonym(&key, Kind::Email, "jane.doe@example.org"));
//! assert!(a.starts_with("EMAIL_") && a.len() == "EMAIL_".len() + 16);
//! ```
//!
//! A whole table: [`protect`] applies each field's action ([`plan`] says which), then
//! generalises and suppresses quasi-identifiers until every combination occurs `k` times.
//!
//! ```
//! use mlguard_data::Schema;
//! use mlguard_data::protect::{ProtectOptions, PseudonymKey, protect};
//!
//! let schema = Schema::from_json_str(r#"{"fields": [
//!     {"name": "email", "type": "string", "pii": "email"},
//!     {"name": "ssn", "type": "string", "pii": "ssn"},
//!     {"name": "note", "type": "string"}
//! ]}"#).unwrap();
//! let csv = "email,ssn,note\njane@example.org,536-22-1234,call +44 20 7946 0958 today\n";
//! let key = PseudonymKey::from_bytes([7; 32]);
//! let opts = ProtectOptions { k: 1, ..ProtectOptions::default() };
//! let mut out = Vec::new();
//! protect(csv.as_bytes(), None::<&[u8]>, &mut out, &schema, &key, &opts).unwrap();
//! let out = String::from_utf8(out).unwrap();
//! assert!(out.lines().nth(1).unwrap().starts_with("EMAIL_"));
//! assert!(out.contains(",\"<US_SSN>\",\"call <PHONE> today\""));
//! ```

mod kanon;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Read, Write};

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

use crate::TableReader;
use crate::error::DataError;
use crate::pii::{self, ColumnHint, Kind};
use crate::schema::{FieldType, PiiKind, Protect, Role, Schema};

/// Hex digits of the HMAC kept in a pseudonym (64 bits: collisions are negligible below
/// billions of distinct values, and short enough to read).
pub const PSEUDONYM_HEX: usize = 16;

/// The key of the pseudonyms: 32 bytes, wiped from memory when dropped, never printed.
pub struct PseudonymKey(Zeroizing<[u8; 32]>);

impl PseudonymKey {
    /// A key from its bytes (derive it from the vault's master key; never a constant).
    pub fn from_bytes(bytes: [u8; 32]) -> PseudonymKey {
        PseudonymKey(Zeroizing::new(bytes))
    }
}

/// The pseudonym of a value of a kind: `KIND_` and the first [`PSEUDONYM_HEX`] hex digits
/// of HMAC-SHA256(key, KIND || 0x00 || normalised value). Values are normalised first so
/// that one person's value written two ways gets one pseudonym: e-mail addresses and names
/// lowercased, phone numbers to `+` and digits, card, SSN and IBAN numbers without
/// separators, IP addresses in canonical form.
pub fn pseudonym(key: &PseudonymKey, kind: Kind, value: &str) -> String {
    labelled_pseudonym(key, kind.as_str(), &normalise(kind, value))
}

/// The pseudonym of an already normalised value under a label (`ID` for identifiers that
/// are none of the detected kinds): `LABEL_` and [`PSEUDONYM_HEX`] hex digits of
/// HMAC-SHA256(key, LABEL || 0x00 || value).
pub fn labelled_pseudonym(key: &PseudonymKey, label: &str, normalised: &str) -> String {
    let hkey = hmac::Key::new(hmac::HMAC_SHA256, &key.0[..]);
    let mut ctx = hmac::Context::with_key(&hkey);
    ctx.update(label.as_bytes());
    ctx.update(&[0]);
    ctx.update(normalised.as_bytes());
    let tag = ctx.sign();
    let mut out = String::with_capacity(label.len() + 1 + PSEUDONYM_HEX);
    out.push_str(label);
    out.push('_');
    for b in &tag.as_ref()[..PSEUDONYM_HEX / 2] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The form of a value that is hashed: equal for the spellings of one value.
pub fn normalise(kind: Kind, value: &str) -> String {
    let v = value.trim();
    match kind {
        Kind::Email | Kind::Person | Kind::StreetAddress => {
            v.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
        }
        Kind::Phone => {
            let digits: String = v.chars().filter(char::is_ascii_digit).collect();
            if v.starts_with('+') { format!("+{digits}") } else { digits }
        }
        Kind::IpAddress => {
            v.parse::<std::net::IpAddr>().map_or_else(|_| v.to_owned(), |ip| ip.to_string())
        }
        Kind::DateOfBirth => v.to_owned(),
        // Card, IBAN, postal and national identifier numbers: their letters and digits.
        _ => v.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase(),
    }
}

/// The form of an identifier that is hashed: a national identifier without its separators,
/// upper case (`2 95 10 99 126 111 93` and `295109912611193` are one person), anything else
/// as written, trimmed.
fn identifier_form(cell: &str) -> Cow<'_, str> {
    let t = cell.trim();
    match Kind::ALL.into_iter().find(|&k| k.is_national_id() && pii::national_id_valid(k, t)) {
        Some(kind) => Cow::Owned(normalise(kind, t)),
        None => Cow::Borrowed(t),
    }
}

/// The pseudonym label of an identifier that is none of the detected kinds.
const ID_LABEL: &str = "ID";

/// How dates of birth are generalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BirthDates {
    /// To the year of birth (`1987`); ages 90 and over become `90+`.
    #[default]
    Year,
    /// To a ten-year age band on the reference date (`30-39`); 90 and over become `90+`.
    AgeBand,
}

/// Options of [`protect`].
#[derive(Debug, Clone)]
pub struct ProtectOptions {
    /// Every combination of quasi-identifier values must occur at least `k` times in the
    /// output (1: no k-anonymity).
    pub k: usize,
    /// The quasi-identifiers (default: the fields the schema marks `pii: quasi`,
    /// `date_of_birth` or `postal_code`, and fields marked `protect: generalize`).
    pub quasi: Option<Vec<String>>,
    /// Share of rows that may be suppressed (left out) instead of generalising further.
    pub max_suppressed: f64,
    /// How dates of birth are generalised.
    pub birth_dates: BirthDates,
    /// The day ages are computed on (default: today, UTC).
    pub as_of: chrono::NaiveDate,
    /// The input's field delimiter (the output always uses commas).
    pub delimiter: u8,
    /// Keep the fields marked `pii` without a `protect` action as they are instead of
    /// applying the default for their kind (an explicit, recorded decision).
    pub keep_pii: bool,
}

/// Today's date (UTC) from the system clock.
fn today() -> chrono::NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .unwrap_or_default()
        .date_naive()
}

/// One of two readers (the first and the second pass over a table).
enum Either<A, B> {
    First(A),
    Second(B),
}

impl<A: Read, B: Read> Read for Either<A, B> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Either::First(a) => a.read(buf),
            Either::Second(b) => b.read(buf),
        }
    }
}

impl Default for ProtectOptions {
    fn default() -> Self {
        ProtectOptions {
            k: 5,
            quasi: None,
            max_suppressed: 0.05,
            birth_dates: BirthDates::Year,
            as_of: today(),
            delimiter: b',',
            keep_pii: false,
        }
    }
}

/// What happens to one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Copied unchanged.
    Keep,
    /// Left out of the output.
    Drop,
    /// Replaced by a keyed pseudonym (`EMAIL_3f9a…`); `None` is an identifier of no
    /// detected kind (`ID_…`).
    Pseudonymize(Option<Kind>),
    /// Replaced by `<KIND>` (or `<REDACTED>`).
    Redact(Option<Kind>),
    /// IPv4 addresses to their /24 network, IPv6 to their /48.
    IpPrefix,
    /// Dates of birth to the year or an age band ([`BirthDates`]).
    BirthDate,
    /// Postal codes truncated: a US ZIP to its first three digits, a UK or Canadian code
    /// to its outward part.
    PostalPrefix,
    /// E-mail addresses to their domain (`*@example.org`).
    EmailDomain,
    /// Personal data found in free text replaced by `<KIND>`; the rest is kept.
    ScrubText,
}

impl Action {
    /// A short description for reports.
    pub fn describe(self) -> String {
        match self {
            Action::Keep => "kept".into(),
            Action::Drop => "dropped".into(),
            Action::Pseudonymize(k) => {
                format!("pseudonymised ({}_…, HMAC-SHA256)", k.map_or(ID_LABEL, Kind::as_str))
            }
            Action::Redact(k) => format!("redacted (<{}>)", k.map_or("REDACTED", Kind::as_str)),
            Action::IpPrefix => "truncated to /24 (IPv4) or /48 (IPv6)".into(),
            Action::BirthDate => "generalised to year or age band (90+ grouped)".into(),
            Action::PostalPrefix => "truncated to the area (ZIP3, outward code)".into(),
            Action::EmailDomain => "generalised to the domain".into(),
            Action::ScrubText => "free text: personal data replaced by <KIND>".into(),
        }
    }
}

/// Why a column gets its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Because {
    /// The schema's `protect`.
    Schema,
    /// The default for the schema's `pii` kind.
    PiiDefault,
    /// Named a quasi-identifier (by `--quasi` or `pii: quasi`) without an action.
    Quasi,
    /// A text field without `pii`: its cells are scanned.
    FreeText,
    /// Not personal data by the schema.
    NotPersonal,
    /// Marked `pii` without an action and kept as asked ([`ProtectOptions::keep_pii`]).
    KeptPii,
}

/// One column's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// The column name.
    pub name: String,
    /// What happens to it.
    pub action: Action,
    /// Why.
    pub because: Because,
    /// Whether it is a quasi-identifier (generalised further for k-anonymity).
    pub quasi: bool,
}

fn detected_kind(p: PiiKind) -> Option<Kind> {
    Some(match p {
        PiiKind::Email => Kind::Email,
        PiiKind::Phone => Kind::Phone,
        PiiKind::Ssn => Kind::UsSsn,
        PiiKind::Name => Kind::Person,
        PiiKind::DateOfBirth => Kind::DateOfBirth,
        PiiKind::PostalCode => Kind::PostalCode,
        PiiKind::Address => Kind::StreetAddress,
        PiiKind::IpAddress => Kind::IpAddress,
        PiiKind::CreditCard => Kind::CreditCard,
        PiiKind::Iban => Kind::Iban,
        PiiKind::NationalId | PiiKind::Identifier | PiiKind::Quasi => return None,
    })
}

/// The action for a field marked `pii` without `protect`: pseudonyms for direct
/// identifiers (joins keep working), redaction for SSNs, other national identifiers and
/// card numbers (nothing in them is useful to a model), generalisation for dates of birth,
/// IP addresses and postal codes (their coarse part is), nothing yet for quasi-identifiers
/// (k-anonymity decides).
pub fn default_action(p: PiiKind) -> Action {
    match p {
        PiiKind::Ssn => Action::Redact(Some(Kind::UsSsn)),
        PiiKind::CreditCard => Action::Redact(Some(Kind::CreditCard)),
        PiiKind::NationalId => Action::Redact(None),
        PiiKind::IpAddress => Action::IpPrefix,
        PiiKind::DateOfBirth => Action::BirthDate,
        PiiKind::PostalCode => Action::PostalPrefix,
        PiiKind::Quasi => Action::Keep,
        other => Action::Pseudonymize(detected_kind(other)),
    }
}

fn explicit_action(name: &str, p: Option<PiiKind>, protect: Protect) -> Result<Action, DataError> {
    let kind = p.and_then(detected_kind);
    Ok(match protect {
        Protect::Drop => Action::Drop,
        Protect::Pseudonymize => Action::Pseudonymize(kind),
        Protect::Mask if p.is_none() => Action::ScrubText,
        Protect::Mask => Action::Redact(kind),
        Protect::Generalize => match p {
            None | Some(PiiKind::Quasi) => Action::Keep,
            Some(PiiKind::DateOfBirth) => Action::BirthDate,
            Some(PiiKind::IpAddress) => Action::IpPrefix,
            Some(PiiKind::PostalCode) => Action::PostalPrefix,
            Some(PiiKind::Email) => Action::EmailDomain,
            Some(other) => {
                return Err(DataError::Input(format!(
                    "field {name:?}: a {} cannot be generalised; use \"pseudonymize\", \"mask\" or \"drop\"",
                    other.as_str()
                )));
            }
        },
    })
}

/// What [`protect`] will do with each column of a table with this header.
pub fn plan(
    schema: &Schema,
    header: &[String],
    opts: &ProtectOptions,
) -> Result<Vec<ColumnPlan>, DataError> {
    if let Some(quasi) = &opts.quasi {
        for q in quasi {
            if !header.contains(q) {
                return Err(DataError::Input(format!(
                    "quasi-identifier {q:?} is not a column (columns: {})",
                    header.join(", ")
                )));
            }
        }
    }
    let mut out = Vec::with_capacity(header.len());
    for name in header {
        let field = schema.field(name);
        let pii = field.and_then(|f| f.pii);
        let named_quasi = opts.quasi.as_ref().is_some_and(|q| q.contains(name));
        let (action, because) = match field.and_then(|f| f.protect) {
            Some(p) => (explicit_action(name, pii, p)?, Because::Schema),
            None if named_quasi && !matches!(pii, Some(p) if p != PiiKind::Quasi) => {
                (Action::Keep, Because::Quasi)
            }
            None => match pii {
                Some(PiiKind::Quasi) => (Action::Keep, Because::Quasi),
                Some(_) if opts.keep_pii => (Action::Keep, Because::KeptPii),
                Some(p) => (default_action(p), Because::PiiDefault),
                None => {
                    // Categories (an enum) are not free text.
                    let text = field.is_none_or(|f| {
                        f.field_type == FieldType::String && f.constraints.enum_values.is_none()
                    });
                    let role = field.and_then(|f| f.role);
                    if text && !matches!(role, Some(Role::Target | Role::Id)) {
                        (Action::ScrubText, Because::FreeText)
                    } else {
                        (Action::Keep, Because::NotPersonal)
                    }
                }
            },
        };
        let quasi = match &opts.quasi {
            Some(_) => named_quasi,
            None => {
                let marked = matches!(
                    pii,
                    Some(PiiKind::Quasi | PiiKind::DateOfBirth | PiiKind::PostalCode)
                );
                (marked && because != Because::KeptPii)
                    || field.and_then(|f| f.protect) == Some(Protect::Generalize)
            }
        };
        if quasi
            && matches!(
                action,
                Action::Drop | Action::Pseudonymize(_) | Action::Redact(_) | Action::ScrubText
            )
        {
            if named_quasi {
                return Err(DataError::Input(format!(
                    "column {name:?} is {} by the schema; it cannot also be a quasi-identifier",
                    action.describe()
                )));
            }
            out.push(ColumnPlan { name: name.clone(), action, because, quasi: false });
            continue;
        }
        out.push(ColumnPlan { name: name.clone(), action, because, quasi });
    }
    Ok(out)
}

/// Whether [`protect`] reads a table with this header twice: k-anonymity generalises its
/// quasi-identifiers.
pub fn generalises(
    schema: &Schema,
    header: &[String],
    opts: &ProtectOptions,
) -> Result<bool, DataError> {
    Ok(opts.k > 1 && plan(schema, header, opts)?.iter().any(|c| c.quasi))
}

/// The schema of the protected table: dropped fields removed; fields whose values were
/// replaced or generalised become strings with only their `required` constraint (their
/// `pii` and `protect` stay, as a record of what was done); keys that no longer hold are
/// removed.
pub fn protected_schema(schema: &Schema, columns: &[ColumnPlan]) -> Schema {
    let plan = |name: &str| columns.iter().find(|c| c.name == name);
    let changed = |name: &str| {
        plan(name).is_some_and(|c| c.quasi || !matches!(c.action, Action::Keep | Action::ScrubText))
    };
    let intact =
        |name: &String| !changed(name) && plan(name).is_none_or(|c| c.action != Action::Drop);
    let mut out = schema.clone();
    out.fields.retain(|f| plan(&f.name).is_none_or(|c| c.action != Action::Drop));
    for f in &mut out.fields {
        if changed(&f.name) {
            f.field_type = FieldType::String;
            f.format = None;
            f.constraints =
                crate::Constraints { required: f.constraints.required, ..Default::default() };
            f.decimal_char = None;
            f.group_char = None;
            f.bare_number = None;
            f.true_values = None;
            f.false_values = None;
            f.delimiter = None;
            f.item_type = None;
            f.allow_non_finite = None;
        }
    }
    if !out.primary_key.iter().all(intact) {
        out.primary_key.clear();
    }
    out.unique_keys.retain(|k| k.iter().all(intact));
    out
}

/// The k-anonymity part of a [`ProtectReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct Anonymity {
    /// The k asked for.
    pub k: usize,
    /// The smallest group of quasi-identifier values in the output (≥ k, or 0 when every
    /// row was suppressed).
    pub achieved: usize,
    /// Groups of equal quasi-identifier values in the output.
    pub groups: usize,
    /// Per quasi-identifier: its name, what its chosen level does, that level and the top.
    pub generalised: Vec<(String, String, usize, usize)>,
    /// Distinct l-diversity of the target: (target column, the fewest distinct target
    /// values in a group, groups with a single target value).
    pub l_diversity: Option<(String, usize, usize)>,
}

/// What [`protect`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectReport {
    /// The plan per input column.
    pub columns: Vec<ColumnPlan>,
    /// Data rows read.
    pub rows_in: u64,
    /// Data rows written.
    pub rows_out: u64,
    /// Suppressed data rows (1-based), left out of the output.
    pub suppressed: Vec<u64>,
    /// Spans of personal data replaced in free-text columns, by kind.
    pub scrubbed: BTreeMap<Kind, u64>,
    /// Per column: values that could not be generalised as planned (an unparsable date of
    /// birth or IP address) and were redacted instead.
    pub redacted_unparsable: BTreeMap<String, u64>,
    /// k-anonymity, when quasi-identifiers were generalised.
    pub anonymity: Option<Anonymity>,
    /// How many records could be singled out by their quasi-identifiers, before and after
    /// protection: over the declared ones, else over the columns that look like them.
    pub risk: Option<ReidentificationRisk>,
}

/// The share of records that are unique on a set of quasi-identifiers: the share of people
/// anyone who knows those facts about them can find in the table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReidentificationRisk {
    /// The columns measured on.
    pub columns: Vec<String>,
    /// Whether they are the declared quasi-identifiers (`--quasi`, `pii: quasi`, ...) or
    /// only candidates named like them ([`quasi_candidates`]) while none was declared.
    pub declared: bool,
    /// Share of the input rows unique on them.
    pub unique_before: f64,
    /// Share of the written rows unique on them, as written.
    pub unique_after: f64,
}

/// Columns that are quasi-identifiers by what they are about: age, sex or gender, race or
/// ethnicity, coordinates, the dates of events in a person's life (birth, death, admission,
/// discharge), marital status, religion, nationality, postal codes.
pub fn quasi_candidates(header: &[String]) -> Vec<usize> {
    const WORDS: &[&str] = &[
        "age",
        "sex",
        "gender",
        "race",
        "ethnicity",
        "ethnic",
        "latitude",
        "longitude",
        "lat",
        "lon",
        "lng",
        "zip",
        "zipcode",
        "postcode",
        "postal",
        "plz",
        "birth",
        "dob",
        "born",
        "death",
        "died",
        "admission",
        "admitted",
        "discharge",
        "discharged",
        "marital",
        "religion",
        "nationality",
        "citizenship",
    ];
    // The age of an account, a vehicle or a loan is not a person's.
    const NOT_ABOUT_A_PERSON: &[&str] = &[
        "account", "vehicle", "car", "house", "building", "product", "item", "loan", "policy",
        "contract", "company", "device", "tenure", "days", "months", "weeks", "hours", "minutes",
        "page", "file", "data", "model",
    ];
    (0..header.len())
        .filter(|&i| {
            let lower = header[i].to_lowercase();
            let tokens: Vec<&str> =
                lower.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).collect();
            tokens.iter().any(|t| WORDS.contains(t))
                && !tokens.iter().any(|t| NOT_ABOUT_A_PERSON.contains(t))
        })
        .collect()
}

/// How many records are unique on their quasi-identifiers, in bounded memory: the count of
/// each combination (by its uniformly spread hash) is kept exactly while there are at most
/// [`Uniques::CAP`] of them; past that, only for the combinations whose hash falls in a
/// share 2^−level of the hash range (halved whenever the cap is reached again), every
/// occurrence of a kept combination still counted — the unique ones among those, scaled
/// by 2^level, estimate all of them (distinct sampling). Exact for tables of up to 131,072
/// combinations; a few megabytes whatever the rows (two of them live at once).
#[derive(Default)]
struct Uniques {
    level: u32,
    /// Keyed hashes already: Fx's multiply is all the spreading they need.
    counts: rustc_hash::FxHashMap<u64, u32>,
}

impl Uniques {
    const CAP: usize = 1 << 17;

    fn kept(&self, key: u64) -> bool {
        self.level == 0 || key >> (64 - self.level) == 0
    }

    fn add(&mut self, key: u64) {
        if !self.kept(key) {
            return;
        }
        *self.counts.entry(key).or_default() += 1;
        while self.counts.len() > Self::CAP && self.level < 63 {
            self.level += 1;
            let level = self.level;
            self.counts.retain(|&k, _| k >> (64 - level) == 0);
        }
    }

    /// The share of `rows` records unique on their combination.
    fn share(&self, rows: u64) -> f64 {
        let unique = self.counts.values().filter(|&&n| n == 1).count() as f64;
        if rows == 0 { 0.0 } else { (unique * 2f64.powi(self.level as i32) / rows as f64).min(1.0) }
    }
}

struct Protector<'a> {
    key: &'a PseudonymKey,
    opts: &'a ProtectOptions,
    scrubbed: BTreeMap<Kind, u64>,
    unparsable: Vec<u64>,
}

fn redaction(kind: Option<Kind>) -> String {
    format!("<{}>", kind.map_or("REDACTED", Kind::as_str))
}

impl Protector<'_> {
    /// The protected form of one non-missing cell of column `c`.
    fn apply<'c>(
        &mut self,
        c: usize,
        plan: &ColumnPlan,
        hint: ColumnHint,
        cell: &'c str,
    ) -> Cow<'c, str> {
        match plan.action {
            Action::Keep | Action::Drop => Cow::Borrowed(cell),
            Action::Pseudonymize(Some(kind)) => Cow::Owned(pseudonym(self.key, kind, cell)),
            Action::Pseudonymize(None) => {
                Cow::Owned(labelled_pseudonym(self.key, ID_LABEL, &identifier_form(cell)))
            }
            Action::Redact(kind) => Cow::Owned(redaction(kind)),
            Action::IpPrefix => match ip_prefix(cell) {
                Some(p) => Cow::Owned(p),
                None => self.unparsable(c, Kind::IpAddress),
            },
            Action::BirthDate => match birth_date(cell, self.opts) {
                Some(p) => Cow::Owned(p),
                None => self.unparsable(c, Kind::DateOfBirth),
            },
            Action::PostalPrefix => Cow::Owned(postal_prefix(cell)),
            Action::EmailDomain => match cell.trim().rsplit_once('@') {
                Some((_, domain)) if !domain.is_empty() => {
                    Cow::Owned(format!("*@{}", domain.to_ascii_lowercase()))
                }
                _ => self.unparsable(c, Kind::Email),
            },
            Action::ScrubText => {
                let spans = pii::detect(cell, Some(hint));
                if spans.is_empty() {
                    return Cow::Borrowed(cell);
                }
                let mut out = String::with_capacity(cell.len());
                let mut at = 0;
                for s in spans {
                    if s.start < at {
                        continue;
                    }
                    out.push_str(&cell[at..s.start]);
                    out.push('<');
                    out.push_str(s.kind.as_str());
                    out.push('>');
                    at = s.end;
                    *self.scrubbed.entry(s.kind).or_default() += 1;
                }
                out.push_str(&cell[at..]);
                Cow::Owned(out)
            }
        }
    }

    /// Adds another protector's counts (of other rows) to its own.
    fn absorb(&mut self, other: Protector<'_>) {
        for (kind, n) in other.scrubbed {
            *self.scrubbed.entry(kind).or_default() += n;
        }
        for (mine, n) in self.unparsable.iter_mut().zip(other.unparsable) {
            *mine += n;
        }
    }

    fn unparsable(&mut self, c: usize, kind: Kind) -> Cow<'static, str> {
        self.unparsable[c] += 1;
        Cow::Owned(redaction(Some(kind)))
    }
}

/// `192.168.1.0/24` for an IPv4 address, `2001:db8:1::/48` for an IPv6 one.
fn ip_prefix(cell: &str) -> Option<String> {
    match cell.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            Some(format!("{net}/48"))
        }
    }
}

/// The year of birth or the age band, with ages of 90 and over grouped (HIPAA Safe Harbor).
fn birth_date(cell: &str, opts: &ProtectOptions) -> Option<String> {
    use chrono::Datelike;
    let (y, m, d) = pii::parse_birth_date(cell)?;
    let asof = opts.as_of;
    let (ay, am, ad) = (asof.year(), asof.month(), asof.day());
    let mut age = ay - i32::try_from(y).ok()?;
    if (am, ad) < (m, d) {
        age -= 1;
    }
    if age < 0 {
        return None;
    }
    Some(if age >= 90 {
        "90+".to_owned()
    } else {
        match opts.birth_dates {
            BirthDates::Year => y.to_string(),
            BirthDates::AgeBand => format!("{}-{}", age / 10 * 10, age / 10 * 10 + 9),
        }
    })
}

/// A US ZIP code to its first three digits (`941**`), a UK or Canadian postcode to its
/// outward part (`SW1A`, `K1A`), anything else to its first half.
fn postal_prefix(cell: &str) -> String {
    let v = cell.trim();
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    if (digits == 5 || digits == 9) && v.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return format!("{}**", &v[..3]);
    }
    if let Some((outward, _)) = v.split_once(' ') {
        return outward.to_ascii_uppercase();
    }
    let compact: String = v.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if (5..=7).contains(&compact.len())
        && compact.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
    {
        // A UK or Canadian code without its space: the inward part is the last three.
        return compact[..compact.len() - 3].to_ascii_uppercase();
    }
    let keep = compact.chars().count().div_ceil(2);
    format!("{}*", compact.chars().take(keep).collect::<String>())
}

/// Whether a cell is a plain number, which a spreadsheet reads as a number even when it
/// starts with `-` or `+`.
fn plain_number(cell: &str) -> bool {
    cell.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && cell.bytes().any(|b| b.is_ascii_digit())
        && cell.parse::<f64>().is_ok()
}

/// A cell as written for spreadsheets: prefixed with `'` when it starts like a formula
/// (`=`, `+`, `-`, `@`, tab or carriage return) and is not a plain number (OWASP's CSV
/// injection advice), so it reads as text. Every CSV that mlguard writes goes through it.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Appends a cell to a CSV line so that no spreadsheet evaluates it and no reader splits
/// it: [`neutralise_formula`]d, then quoted (quotes doubled) unless it is made only of
/// ASCII letters, digits, spaces and `. _ - + : / @ ' *` — nothing a CSV reader or a
/// spreadsheet in any locale takes for a delimiter (`,`, `;`, tab), a quote or a line
/// break. Numbers, codes, dates and pseudonyms are written bare: quoting every cell made the
/// table a third larger and every later read take the tokenizer's slow path. Empty cells
/// stay empty.
pub fn push_safe_cell(line: &mut String, cell: &str) {
    if cell.is_empty() {
        return;
    }
    let cell = neutralise_formula(cell);
    let bare = cell.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'_' | b'-' | b'+' | b':' | b'/' | b'@' | b'\'' | b'*' | b' ')
    });
    if bare {
        line.push_str(&cell);
        return;
    }
    line.push('"');
    for (i, part) in cell.split('"').enumerate() {
        if i > 0 {
            line.push_str("\"\"");
        }
        line.push_str(part);
    }
    line.push('"');
}

/// Ends a CSV line. A line with nothing on it (one empty cell) is written `""`: a blank
/// line is no record to a CSV reader, and the row would be lost.
fn end_line(line: &mut String) {
    if line.is_empty() {
        line.push_str("\"\"");
    }
    line.push('\n');
}

/// Everything protecting the rows of a table needs, fixed once its header is known.
struct Rows<'a> {
    key: &'a PseudonymKey,
    opts: &'a ProtectOptions,
    header: Vec<String>,
    columns: Vec<ColumnPlan>,
    hints: Vec<ColumnHint>,
    /// Per column: the cells that mean "missing" (kept as they are).
    missing: Vec<Vec<String>>,
    quasi: Vec<usize>,
    /// Per column: its place among the quasi-identifiers.
    quasi_of: Vec<Option<usize>>,
    /// The columns the re-identification risk is measured on, and whether they are the
    /// declared quasi-identifiers.
    risk_cols: Vec<usize>,
    risky: Vec<bool>,
    declared: bool,
    /// The key of the risk measure's hashes: keyed per run, so no table can aim its rows at
    /// the estimate's sampled share.
    seed: u64,
    target: Option<usize>,
}

impl<'a> Rows<'a> {
    fn new(
        header: &[String],
        schema: &Schema,
        key: &'a PseudonymKey,
        opts: &'a ProtectOptions,
    ) -> Result<Rows<'a>, DataError> {
        if !(0.0..=1.0).contains(&opts.max_suppressed) {
            return Err(DataError::Input(format!(
                "the suppression limit must be a share between 0 and 1, not {}",
                opts.max_suppressed
            )));
        }
        let columns = plan(schema, header, opts)?;
        let missing = header
            .iter()
            .map(|n| {
                schema
                    .field(n)
                    .and_then(|f| f.missing_values.clone())
                    .unwrap_or_else(|| schema.missing_values.clone())
            })
            .collect();
        let quasi: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].quasi).collect();
        let mut quasi_of = vec![None; columns.len()];
        for (q, &i) in quasi.iter().enumerate() {
            quasi_of[i] = Some(q);
        }
        let (risk_cols, declared) = if quasi.is_empty() {
            (quasi_candidates(header), false)
        } else {
            (quasi.clone(), true)
        };
        let mut risky = vec![false; columns.len()];
        risk_cols.iter().for_each(|&i| risky[i] = true);
        let mut seed = [0u8; 8];
        aws_lc_rs::rand::fill(&mut seed).map_err(|_| {
            DataError::Input("no randomness for the re-identification measure".into())
        })?;
        let target = header
            .iter()
            .position(|n| schema.field(n).is_some_and(|f| f.role == Some(Role::Target)));
        Ok(Rows {
            key,
            opts,
            header: header.to_vec(),
            hints: header.iter().map(|n| ColumnHint::from_name(n)).collect(),
            columns,
            missing,
            quasi,
            quasi_of,
            risk_cols,
            risky,
            declared,
            seed: u64::from_le_bytes(seed),
            target,
        })
    }

    /// Whether quasi-identifiers are generalised: the table is then read twice.
    fn generalises(&self) -> bool {
        self.opts.k > 1 && !self.quasi.is_empty()
    }

    fn protector(&self) -> Protector<'a> {
        Protector {
            key: self.key,
            opts: self.opts,
            scrubbed: BTreeMap::new(),
            unparsable: vec![0; self.columns.len()],
        }
    }

    fn write_header(&self, out: &mut impl Write) -> Result<(), DataError> {
        let mut line = String::new();
        for (i, c) in self.columns.iter().filter(|c| c.action != Action::Drop).enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_safe_cell(&mut line, &c.name);
        }
        end_line(&mut line);
        out.write_all(line.as_bytes())?;
        Ok(())
    }

    fn is_missing(&self, i: usize, cell: &str) -> bool {
        self.missing[i].iter().any(|m| m == cell)
    }

    /// k-anonymity's first pass: `f(value)` for each quasi-identifier of the row as
    /// protected (empty when missing), then for the target as read, if there is one.
    fn first_pass_values(&self, p: &mut Protector<'_>, cells: &[&str], mut f: impl FnMut(&str)) {
        for &i in &self.quasi {
            let cell = cells.get(i).copied().unwrap_or("");
            if self.is_missing(i, cell) {
                f("");
            } else {
                f(&p.apply(i, &self.columns[i], self.hints[i], cell));
            }
        }
        if let Some(t) = self.target {
            f(cells.get(t).copied().unwrap_or(""));
        }
    }

    /// The keyed hash of the row's risk columns as read (`None` without such columns).
    fn risk_before(&self, cells: &[&str], key: &mut Vec<u8>) -> Option<u64> {
        if self.risk_cols.is_empty() {
            return None;
        }
        key.clear();
        for &i in &self.risk_cols {
            key.extend_from_slice(cells.get(i).copied().unwrap_or("").as_bytes());
            key.push(0x1f);
        }
        Some(twox_hash::XxHash3_64::oneshot_with_seed(self.seed, key))
    }

    /// Appends the row, protected, to `line` and ends it; returns the keyed hash of its
    /// risk columns as written. `generalised` is k-anonymity's solution with the first
    /// pass's values and the row's index in them.
    fn write(
        &self,
        p: &mut Protector<'_>,
        cells: &[&str],
        generalised: Option<(&kanon::Solution, &[kanon::Column], usize)>,
        line: &mut String,
        key: &mut Vec<u8>,
    ) -> Option<u64> {
        key.clear();
        let mut first = true;
        for (i, plan) in self.columns.iter().enumerate() {
            if plan.action == Action::Drop {
                continue;
            }
            if !first {
                line.push(',');
            }
            first = false;
            let cell = cells.get(i).copied().unwrap_or("");
            let at = line.len();
            match (generalised, self.quasi_of[i]) {
                (Some((s, kcols, r)), Some(q)) => push_safe_cell(line, s.value(q, &kcols[q], r)),
                _ if self.is_missing(i, cell) => push_safe_cell(line, cell),
                _ => push_safe_cell(line, &p.apply(i, plan, self.hints[i], cell)),
            }
            if self.risky[i] {
                key.extend_from_slice(&line.as_bytes()[at..]);
                key.push(0x1f);
            }
        }
        end_line(line);
        (!self.risk_cols.is_empty())
            .then(|| twox_hash::XxHash3_64::oneshot_with_seed(self.seed, key))
    }

    /// What was done, from the passes' counts.
    fn report(self, p: Protector<'_>, first: Option<FirstPass>, w: Written) -> ProtectReport {
        let Rows { header, columns, risk_cols, declared, target, opts, .. } = self;
        let anonymity = first.map(|f| {
            let s = &f.solution;
            let generalised = f
                .kcols
                .iter()
                .enumerate()
                .map(|(q, c)| {
                    let (what, top) = s.describe(q);
                    (c.name.clone(), what.to_owned(), s.levels[q], top)
                })
                .collect();
            let l_diversity = target.map(|t| {
                let mut distinct: std::collections::HashMap<u32, Vec<u32>> =
                    std::collections::HashMap::new();
                for r in (0..s.rows()).filter(|&r| !s.suppressed(r)) {
                    let seen = distinct.entry(s.group_of[r]).or_default();
                    let v = f.targets.code(r);
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                let l = distinct.values().map(Vec::len).min().unwrap_or(0);
                let single = distinct.values().filter(|v| v.len() == 1).count();
                (header[t].clone(), l, single)
            });
            Anonymity {
                k: opts.k,
                achieved: s.achieved_k,
                groups: s.groups,
                generalised,
                l_diversity,
            }
        });
        let redacted_unparsable = header
            .iter()
            .zip(&p.unparsable)
            .filter(|(_, n)| **n > 0)
            .map(|(h, n)| (h.clone(), *n))
            .collect();
        let risk = (!risk_cols.is_empty()).then(|| ReidentificationRisk {
            columns: risk_cols.iter().map(|&i| header[i].clone()).collect(),
            declared,
            unique_before: w.before.share(w.rows_in),
            unique_after: w.after.share(w.rows_out),
        });
        ProtectReport {
            columns,
            rows_in: w.rows_in,
            rows_out: w.rows_out,
            suppressed: w.suppressed,
            scrubbed: p.scrubbed,
            redacted_unparsable,
            anonymity,
            risk,
        }
    }
}

/// k-anonymity's first pass: the quasi-identifiers of every row as protected, and the
/// target (for l-diversity).
struct Collected {
    kcols: Vec<kanon::Column>,
    targets: kanon::Column,
    rows: u64,
    /// Values a row has ([`Rows::first_pass_values`]), and where the next one goes.
    width: usize,
    at: usize,
}

impl Collected {
    fn new(rows: &Rows<'_>, schema: &Schema) -> Collected {
        let kcols = rows
            .quasi
            .iter()
            .map(|&i| {
                let name = &rows.header[i];
                let postal = rows.columns[i].action == Action::PostalPrefix
                    || schema.field(name).and_then(|f| f.pii) == Some(PiiKind::PostalCode);
                kanon::Column::new(name, postal)
            })
            .collect();
        let width = rows.quasi.len() + usize::from(rows.target.is_some());
        Collected { kcols, targets: kanon::Column::new("", false), rows: 0, width, at: 0 }
    }

    /// Takes the next value, in [`Rows::first_pass_values`]' order, row after row.
    fn push(&mut self, value: &str) {
        match self.kcols.get_mut(self.at) {
            Some(col) => col.push(value),
            None => self.targets.push(value),
        }
        self.at += 1;
        if self.at == self.width {
            self.at = 0;
            self.rows += 1;
        }
    }

    fn solve(self, opts: &ProtectOptions) -> FirstPass {
        let budget = (opts.max_suppressed * self.rows as f64).floor() as usize;
        let solution = kanon::anonymise(&self.kcols, self.rows as usize, opts.k, budget);
        FirstPass { solution, kcols: self.kcols, targets: self.targets }
    }
}

/// k-anonymity's chosen generalisation, with the values it applies to.
struct FirstPass {
    solution: kanon::Solution,
    kcols: Vec<kanon::Column>,
    targets: kanon::Column,
}

/// What the writing pass counted.
#[derive(Default)]
struct Written {
    rows_in: u64,
    rows_out: u64,
    suppressed: Vec<u64>,
    before: Uniques,
    after: Uniques,
}

/// The writing pass over `reader` (the second pass when `first` is k-anonymity's choice).
fn write_pass<R: Read + Send>(
    rows: &Rows<'_>,
    p: &mut Protector<'_>,
    reader: TableReader<R>,
    first: Option<&FirstPass>,
    out: &mut impl Write,
) -> Result<Written, DataError> {
    let changed = || DataError::Input("the table changed between the two passes".into());
    if reader.header() != rows.header.as_slice() {
        return Err(changed());
    }
    rows.write_header(out)?;
    let mut w = Written::default();
    let (mut line, mut key) = (String::new(), Vec::new());
    reader.for_each_parallel(|_, cells| {
        w.rows_in += 1;
        let r = w.rows_in as usize - 1;
        if let Some(h) = rows.risk_before(cells, &mut key) {
            w.before.add(h);
        }
        let generalised = match first {
            Some(f) if r >= f.solution.rows() => return Err(changed()),
            Some(f) if f.solution.suppressed(r) => {
                w.suppressed.push(w.rows_in);
                return Ok(());
            }
            Some(f) => Some((&f.solution, f.kcols.as_slice(), r)),
            None => None,
        };
        line.clear();
        if let Some(h) = rows.write(p, cells, generalised, &mut line, &mut key) {
            w.after.add(h);
        }
        out.write_all(line.as_bytes())?;
        w.rows_out += 1;
        Ok(())
    })?;
    if first.is_some_and(|f| f.solution.rows() as u64 != w.rows_in) {
        return Err(changed());
    }
    out.flush()?;
    Ok(w)
}

/// Reads a CSV table and writes its protected copy to `out` (comma-separated, every
/// cell formula-safe and quoted where CSV needs it, see [`push_safe_cell`]); returns what
/// was done.
///
/// Without quasi-identifiers (or with `k` ≤ 1) this is one streaming pass: memory does not
/// grow with the file. With them it reads the table twice — `first` to choose the
/// generalisation, `second` (the same bytes again) to write — and keeps the
/// quasi-identifier values and the target of every row in memory (interned: about
/// 4 bytes per row and quasi-identifier, plus each distinct value once). The table is read
/// and split on a thread of its own ([`TableReader::for_each_parallel`]).
pub fn protect<R: Read + Send, S: Read + Send, W: Write>(
    first: R,
    second: Option<S>,
    mut out: W,
    schema: &Schema,
    key: &PseudonymKey,
    opts: &ProtectOptions,
) -> Result<ProtectReport, DataError> {
    let table = TableReader::new(Either::<R, S>::First(first), opts.delimiter)?;
    let rows = Rows::new(table.header(), schema, key, opts)?;
    let (first, reader) = if rows.generalises() {
        let Some(second) = second else { return Err(stream_refused()) };
        let mut p = rows.protector();
        let mut collected = Collected::new(&rows, schema);
        table.for_each_parallel(|_, cells| {
            rows.first_pass_values(&mut p, cells, |v| collected.push(v));
            Ok(())
        })?;
        (Some(collected.solve(opts)), TableReader::new(Either::Second(second), opts.delimiter)?)
    } else {
        (None, table)
    };
    // The first pass's counts are not kept: the writing pass counts every cell again.
    let mut p = rows.protector();
    let written = write_pass(&rows, &mut p, reader, first.as_ref(), &mut out)?;
    Ok(rows.report(p, first, written))
}

/// [`protect`] of a table as it is validated, for a caller that uses the protected copy
/// only if the table is valid: protection's first pass (its only one without k-anonymity)
/// rides on validation's reading ([`validate_reader_visiting`](crate::validate_reader_visiting)),
/// so the table is read and split once for both, and rows are protected batch by batch on
/// validation's worker threads. `header` is the table's header, read beforehand (a table
/// whose header is not it by validation's reading is an error). Returns validation's
/// report and, when it found no error, what protection did; with errors the protected
/// copy is incomplete (k-anonymity's second pass is not made).
#[allow(
    clippy::too_many_arguments,
    reason = "protect's arguments, the header, and validation's name and options"
)]
pub fn validate_and_protect<R: Read + Send, S: Read + Send, W: Write>(
    header: &[String],
    first: R,
    second: Option<S>,
    mut out: W,
    schema: &Schema,
    key: &PseudonymKey,
    opts: &ProtectOptions,
    name: &str,
    validation: &crate::ValidateOptions,
) -> Result<(mlguard_findings::Report, Option<ProtectReport>), DataError> {
    if validation.delimiter != opts.delimiter {
        return Err(DataError::Input(
            "validation and protection read the table with different delimiters".into(),
        ));
    }
    let rows = Rows::new(header, schema, key, opts)?;
    let generalises = rows.generalises();
    if generalises && second.is_none() {
        return Err(stream_refused());
    }
    // Batches' counts, merged in any order (sums, and the risk measure keeps no order).
    struct Merged<'p> {
        p: Protector<'p>,
        written: Written,
        changed: bool,
    }
    let merged = std::sync::Mutex::new(Merged {
        p: rows.protector(),
        written: Written::default(),
        changed: false,
    });
    let lock = || merged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // A batch's output: without k-anonymity its rows protected; with it, the first pass's
    // values, each as a little-endian u32 length and its bytes.
    let batch = |head: &[String], records: crate::Records<'_>, buf: &mut Vec<u8>| {
        if head != rows.header.as_slice() {
            lock().changed = true;
            return;
        }
        let mut p = rows.protector();
        if generalises {
            records.for_each(|_, cells| {
                rows.first_pass_values(&mut p, cells, |v| {
                    buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    buf.extend_from_slice(v.as_bytes());
                });
            });
            return;
        }
        let (mut line, mut key) = (String::new(), Vec::new());
        let (mut before, mut after, mut n) = (Vec::new(), Vec::new(), 0u64);
        records.for_each(|_, cells| {
            n += 1;
            before.extend(rows.risk_before(cells, &mut key));
            line.clear();
            after.extend(rows.write(&mut p, cells, None, &mut line, &mut key));
            buf.extend_from_slice(line.as_bytes());
        });
        let mut m = lock();
        m.p.absorb(p);
        m.written.rows_in += n;
        m.written.rows_out += n;
        before.into_iter().for_each(|h| m.written.before.add(h));
        after.into_iter().for_each(|h| m.written.after.add(h));
    };
    let mut collected = generalises.then(|| Collected::new(&rows, schema));
    if !generalises {
        rows.write_header(&mut out)?;
    }
    let mut take = |buf: &[u8]| -> std::io::Result<()> {
        let Some(c) = collected.as_mut() else { return out.write_all(buf) };
        let mut values = Values(buf);
        while !values.0.is_empty() {
            c.push(values.next()?);
        }
        Ok(())
    };
    let report = crate::validate_reader_visiting(
        first,
        name,
        schema,
        validation,
        Some(crate::Visit { batch: &batch, take: &mut take }),
    )?;
    if report.errors() > 0 {
        return Ok((report, None));
    }
    let Merged { p, written, changed } = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    if changed {
        return Err(DataError::Input("the table changed while it was read".into()));
    }
    let (first, p, written) = match (collected, second) {
        (Some(c), Some(second)) => {
            let first = c.solve(opts);
            let mut p = rows.protector();
            let reader = TableReader::new(second, opts.delimiter)?;
            let written = write_pass(&rows, &mut p, reader, Some(&first), &mut out)?;
            (Some(first), p, written)
        }
        _ => {
            out.flush()?;
            (None, p, written)
        }
    };
    Ok((report, Some(rows.report(p, first, written))))
}

/// k-anonymity without a second reading of the table.
fn stream_refused() -> DataError {
    DataError::Input("k-anonymity reads the table twice: give a file, not a stream".into())
}

/// Values as a batch of k-anonymity's first pass encodes them.
struct Values<'a>(&'a [u8]);

impl<'a> Values<'a> {
    fn next(&mut self) -> std::io::Result<&'a str> {
        let bad =
            || std::io::Error::new(std::io::ErrorKind::InvalidData, "a batch's values are cut");
        let (len, rest) = self.0.split_first_chunk::<4>().ok_or_else(bad)?;
        let len = u32::from_le_bytes(*len) as usize;
        let (value, rest) = rest.split_at_checked(len).ok_or_else(bad)?;
        self.0 = rest;
        std::str::from_utf8(value).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past its cap, the count of unique combinations is estimated from a share of them
    /// (every occurrence of a kept one counted), within a few percent.
    #[test]
    fn unique_records_are_estimated_in_bounded_memory() {
        let key = |v: u64| {
            u64::from_le_bytes(
                blake3::hash(&v.to_le_bytes()).as_bytes()[..8].try_into().expect("8"),
            )
        };
        // 1.5M records: 600,000 unique combinations, then 300,000 seen three times each.
        let mut u = Uniques::default();
        for v in 0..600_000u64 {
            u.add(key(v));
        }
        for _ in 0..3 {
            for v in 600_000..900_000u64 {
                u.add(key(v));
            }
        }
        assert!(u.level > 0 && u.counts.len() <= Uniques::CAP, "bounded");
        let share = u.share(1_500_000);
        assert!((share - 0.4).abs() < 0.02, "{share}");
        // Under the cap: exact.
        let mut small = Uniques::default();
        for v in [1u64, 2, 2, 3, 3, 3, 4] {
            small.add(key(v));
        }
        assert_eq!(small.share(7), 2.0 / 7.0);
    }

    /// Vectors computed independently with Python's `hmac` (key = bytes 0..32).
    #[test]
    fn pseudonym_test_vectors() {
        let key = PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8));
        let vectors = [
            (Kind::Email, "Jane.Doe@example.org", "EMAIL_eaa8d7b66fd3e3a8"),
            (Kind::Phone, "+44 20 7946 0958", "PHONE_cb8f8b47f20b04fa"),
            (Kind::UsSsn, "536-22-1234", "US_SSN_6562335f9f298f6a"),
            (Kind::CreditCard, "4111 1111 1111 1111", "CREDIT_CARD_cc04a1656a212e35"),
            (Kind::Person, "Jane  SMITH", "PERSON_be7ee7db841f5ac5"),
            (Kind::IpAddress, "192.168.1.20", "IP_ADDRESS_a43d06781ed0aa81"),
        ];
        for (kind, value, want) in vectors {
            assert_eq!(pseudonym(&key, kind, value), want, "{value}");
        }
    }

    #[test]
    fn national_identifiers_get_one_pseudonym_however_written() {
        let key = PseudonymKey::from_bytes([3; 32]);
        let id = |v: &str| labelled_pseudonym(&key, ID_LABEL, &identifier_form(v));
        assert_eq!(id("2 95 10 99 126 111 93"), id("295109912611193"));
        assert_eq!(id("rccmnl83s18d969h"), id("RCCMNL83S18D969H"));
        assert_eq!(id(" 880320-0016 "), id("8803200016"));
        // Other identifiers are hashed as written: user names differ by case.
        assert_ne!(id("Alice-1"), id("alice1"));
    }

    #[test]
    fn another_key_or_kind_gives_another_pseudonym() {
        let a = PseudonymKey::from_bytes([1; 32]);
        let b = PseudonymKey::from_bytes([2; 32]);
        assert_ne!(pseudonym(&a, Kind::Email, "x@y.org"), pseudonym(&b, Kind::Email, "x@y.org"));
        // The kind is hashed too: the same text as another kind is unlinkable.
        let hex = |p: String| p.rsplit('_').next().map(str::to_owned);
        assert_ne!(
            hex(pseudonym(&a, Kind::Person, "12345")),
            hex(pseudonym(&a, Kind::PostalCode, "12345"))
        );
        assert_eq!(
            pseudonym(&a, Kind::IpAddress, "2001:DB8::1"),
            pseudonym(&a, Kind::IpAddress, "2001:db8:0::1")
        );
    }

    fn opts(k: usize) -> ProtectOptions {
        ProtectOptions {
            k,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
            ..ProtectOptions::default()
        }
    }

    fn run(schema: &str, csv: &str, o: &ProtectOptions) -> (String, ProtectReport) {
        let schema = Schema::from_json_str(schema).expect("schema");
        let key = PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8));
        let mut out = Vec::new();
        let r = protect(csv.as_bytes(), Some(csv.as_bytes()), &mut out, &schema, &key, o)
            .expect("protect");
        let out = String::from_utf8(out).expect("utf-8");
        // Riding on validation gives the same copy, whenever the table is valid.
        if let (report, Some(same)) = validating(&schema, csv, o, 2) {
            assert_eq!(report.errors(), 0);
            assert_eq!(same, (out.clone(), r.clone()), "validate_and_protect");
        }
        (out, r)
    }

    /// [`validate_and_protect`] of `csv` with `threads` validation workers.
    fn validating(
        schema: &Schema,
        csv: &str,
        o: &ProtectOptions,
        threads: usize,
    ) -> (mlguard_findings::Report, Option<(String, ProtectReport)>) {
        let key = PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8));
        let header =
            TableReader::new(csv.as_bytes(), o.delimiter).expect("header").header().to_vec();
        let v = crate::ValidateOptions { threads, delimiter: o.delimiter, ..Default::default() };
        let mut out = Vec::new();
        let (report, r) = validate_and_protect(
            &header,
            csv.as_bytes(),
            Some(csv.as_bytes()),
            &mut out,
            schema,
            &key,
            o,
            "t.csv",
            &v,
        )
        .expect("validate_and_protect");
        (report, r.map(|r| (String::from_utf8(out).expect("utf-8"), r)))
    }

    /// Over many batches and both worker counts, with and without k-anonymity, the copy
    /// made while validating is the one [`protect`] makes; an invalid table gets its report
    /// and no protection, and a header that is not the table's is refused.
    #[test]
    fn protecting_while_validating_is_protecting() {
        let schema = Schema::from_json_str(
            r#"{"fields": [
                {"name": "id", "type": "integer", "role": "id"},
                {"name": "email", "type": "string", "pii": "email"},
                {"name": "dob", "type": "string", "pii": "date_of_birth"},
                {"name": "zip", "type": "string", "pii": "postal_code"},
                {"name": "note", "type": "string"},
                {"name": "ip", "type": "string", "pii": "ip_address"},
                {"name": "y", "type": "integer", "role": "target"}
            ]}"#,
        )
        .expect("schema");
        let mut csv = String::from("id,email,dob,zip,note,ip,y\n");
        for i in 0..12_000u32 {
            let note = match i % 7 {
                0 => "call +44 20 7946 0958 today".to_owned(),
                1 => format!("mail u{i}@example.org, please"),
                _ => format!("note {}", i % 13),
            };
            let ip = if i % 101 == 0 {
                "not an ip".into()
            } else {
                format!("10.0.{}.{}", i % 250, i % 7)
            };
            csv.push_str(&format!(
                "{i},u{i}@example.org,{}-0{}-1{},{:05},\"{note}\",{ip},{}\n",
                1940 + i % 60,
                1 + i % 9,
                i % 10,
                10_000 + (i * 37) % 900,
                i % 2
            ));
        }
        let key = PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8));
        for k in [1, 5] {
            let o = opts(k);
            let mut out = Vec::new();
            let r = protect(csv.as_bytes(), Some(csv.as_bytes()), &mut out, &schema, &key, &o)
                .expect("protect");
            assert_eq!(r.anonymity.is_some(), k > 1);
            assert!(r.redacted_unparsable.get("ip").is_some_and(|n| *n > 0), "{r:?}");
            assert!(!r.scrubbed.is_empty(), "{r:?}");
            let out = String::from_utf8(out).expect("utf-8");
            for threads in [1, 2] {
                let (report, same) = validating(&schema, &csv, &o, threads);
                assert_eq!(report.errors(), 0, "{}", report.to_json());
                assert_eq!(same, Some((out.clone(), r.clone())), "k={k} threads={threads}");
            }
        }
        // Invalid: its report, no protection.
        let bad = csv.replacen("\n1,", "\nnot a number,", 1);
        let (report, none) = validating(&schema, &bad, &opts(5), 2);
        assert!(report.errors() > 0 && none.is_none());
        // A header that is not the table's.
        let mut header = TableReader::new(csv.as_bytes(), b',').expect("header").header().to_vec();
        header.swap(1, 2);
        let e = validate_and_protect(
            &header,
            csv.as_bytes(),
            Some(csv.as_bytes()),
            Vec::new(),
            &schema,
            &key,
            &opts(1),
            "t.csv",
            &crate::ValidateOptions::default(),
        )
        .map(|_| ())
        .expect_err("another header");
        assert!(e.to_string().contains("changed"), "{e}");
    }

    #[test]
    fn reidentification_risk_is_always_reported() {
        let mut csv = String::from("name,age,sex,race\n");
        for i in 0..60 {
            csv.push_str(&format!(
                "P{i},{},{},{}\n",
                20 + i,
                ["m", "f"][i % 2],
                ["a", "b", "c"][i % 3]
            ));
        }
        // Nothing declared: the columns named like quasi-identifiers are measured and said.
        let plain = r#"{"fields": [{"name": "name", "pii": "name"}, {"name": "age", "type": "integer"}, {"name": "sex"}, {"name": "race"}]}"#;
        let (_, r) = run(plain, &csv, &opts(5));
        let risk = r.risk.expect("risk");
        assert!(!risk.declared);
        assert_eq!(risk.columns, ["age", "sex", "race"]);
        assert_eq!((risk.unique_before, risk.unique_after), (1.0, 1.0));
        // Declared: generalised to k = 5, no row is unique any more.
        let quasi = r#"{"fields": [{"name": "name", "pii": "name"}, {"name": "age", "type": "integer", "pii": "quasi"}, {"name": "sex", "pii": "quasi"}, {"name": "race", "pii": "quasi"}]}"#;
        let (_, r) = run(quasi, &csv, &opts(5));
        let risk = r.risk.expect("risk");
        assert!(risk.declared);
        assert_eq!(risk.unique_before, 1.0);
        assert_eq!(risk.unique_after, 0.0);
        // A table with nothing about people has no risk to report.
        let (_, r) = run(r#"{"fields": [{"name": "x"}]}"#, "x\n1\n2\n", &opts(5));
        assert_eq!(r.risk, None);
    }

    #[test]
    fn generalisations() {
        assert_eq!(ip_prefix(" 192.168.1.20 ").as_deref(), Some("192.168.1.0/24"));
        assert_eq!(ip_prefix("2001:db8:1234:5678::1").as_deref(), Some("2001:db8:1234::/48"));
        assert_eq!(ip_prefix("1.2.3"), None);
        let o = opts(1);
        assert_eq!(birth_date("1987-06-02", &o).as_deref(), Some("1987"));
        assert_eq!(birth_date("March 14, 1936", &o).as_deref(), Some("90+"));
        assert_eq!(birth_date("14/03/1936", &o).as_deref(), Some("90+"), "90 on 14 March 2026");
        assert_eq!(birth_date("1936-06-02", &o).as_deref(), Some("1936"), "still 89 on 1 June");
        assert_eq!(birth_date("2027-01-01", &o), None, "not born yet");
        assert_eq!(birth_date("1987-06-02T10:30", &o), None, "an event, not a date");
        let band = ProtectOptions { birth_dates: BirthDates::AgeBand, ..opts(1) };
        assert_eq!(birth_date("1987-06-02", &band).as_deref(), Some("30-39"), "38 on 1 June");
        assert_eq!(birth_date("1987-05-31", &band).as_deref(), Some("30-39"));
        assert_eq!(birth_date("19860601", &band).as_deref(), Some("40-49"), "40 that day");
        assert_eq!(postal_prefix("94103"), "941**");
        assert_eq!(postal_prefix("94103-1234"), "941**");
        assert_eq!(postal_prefix("SW1A 1AA"), "SW1A");
        assert_eq!(postal_prefix("sw1a1aa"), "SW1A");
        assert_eq!(postal_prefix("K1A 0B1"), "K1A");
        assert_eq!(postal_prefix("1010"), "10*");
    }

    #[test]
    fn cells_cannot_act_as_formulas() {
        let cell = |c: &str| {
            let mut s = String::new();
            push_safe_cell(&mut s, c);
            s
        };
        assert_eq!(cell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(cell("+1 415 555 0132"), "'+1 415 555 0132", "text, though not quoted");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell("\tcmd"), "\"'\tcmd\"");
        assert_eq!(cell("-3.5"), "-3.5", "numbers stay numbers");
        assert_eq!(cell("-1e3"), "-1e3");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("a,b\nc"), "\"a,b\nc\"");
        // Whatever a spreadsheet of some locale splits on, or a reader ends a line on, is
        // quoted; so is anything not plain ASCII.
        for c in ["a;=1+1", "a\t=1+1", "a\r=1", "say \"hi\"", "é", "a|b", "=1;2"] {
            assert!(cell(c).starts_with('"') && cell(c).ends_with('"'), "{c:?}: {}", cell(c));
        }
        assert_eq!(
            cell("EMAIL_3f9a 1987-06-02 12:30 941** a/b x@y.z 1.5e-3"),
            "EMAIL_3f9a 1987-06-02 12:30 941** a/b x@y.z 1.5e-3"
        );
        assert_eq!(cell(""), "");
    }

    const PEOPLE: &str = r#"{"fields": [
        {"name": "email", "type": "string", "pii": "email"},
        {"name": "name", "type": "string", "pii": "name", "protect": "drop"},
        {"name": "ssn", "type": "string", "pii": "ssn"},
        {"name": "ip", "type": "string", "pii": "ip_address"},
        {"name": "dob", "type": "date", "pii": "date_of_birth"},
        {"name": "zip", "type": "string", "pii": "postal_code"},
        {"name": "note", "type": "string"},
        {"name": "amount", "type": "number"},
        {"name": "label", "type": "string", "role": "target"}
    ]}"#;

    #[test]
    fn default_actions_per_kind_and_free_text() {
        let csv = "email,name,ssn,ip,dob,zip,note,amount,label\n\
                   Jane@Example.org,Jane Doe,536-22-1234,10.1.2.3,1987-06-02,94103,\"mail jane@example.org, SSN 536-22-1234\",-12.5,yes\n\
                   ,,,,,,=cmd|' /C calc'!A0,3,no\n";
        let (out, r) = run(PEOPLE, csv, &opts(1));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "email,ssn,ip,dob,zip,note,amount,label");
        let key = PseudonymKey::from_bytes(std::array::from_fn(|i| i as u8));
        let email = pseudonym(&key, Kind::Email, "jane@example.org");
        assert_eq!(
            lines[1],
            format!(
                r#"{email},"<US_SSN>",10.1.2.0/24,1987,941**,"mail <EMAIL>, SSN <US_SSN>",-12.5,yes"#
            )
        );
        assert_eq!(lines[2], r#",,,,,"'=cmd|' /C calc'!A0",3,no"#, "missing values stay missing");
        assert_eq!(r.rows_in, 2);
        assert_eq!(r.rows_out, 2);
        assert_eq!(r.scrubbed.get(&Kind::Email), Some(&1));
        assert_eq!(r.scrubbed.get(&Kind::UsSsn), Some(&1));
        assert!(r.anonymity.is_none(), "k = 1");
        let action =
            |n: &str| r.columns.iter().find(|c| c.name == n).map(|c| (c.action, c.because));
        assert_eq!(action("name"), Some((Action::Drop, Because::Schema)));
        assert_eq!(action("ip"), Some((Action::IpPrefix, Because::PiiDefault)));
        assert_eq!(action("note"), Some((Action::ScrubText, Because::FreeText)));
        assert_eq!(action("amount"), Some((Action::Keep, Because::NotPersonal)));
        assert_eq!(action("label"), Some((Action::Keep, Because::NotPersonal)));
    }

    #[test]
    fn unparsable_values_are_redacted_not_leaked() {
        let csv = "email,name,ssn,ip,dob,zip,note,amount,label\nx@y.org,a,1,not-an-ip,the 3rd of May,1,,1,a\n";
        let (out, r) = run(PEOPLE, csv, &opts(1));
        assert!(out.contains("\"<IP_ADDRESS>\",\"<DATE_OF_BIRTH>\""), "{out}");
        assert_eq!(r.redacted_unparsable.get("ip"), Some(&1));
        assert_eq!(r.redacted_unparsable.get("dob"), Some(&1));
    }

    #[test]
    fn plans_refuse_what_cannot_be_done() {
        let schema = Schema::from_json_str(
            r#"{"fields": [{"name": "ssn", "type": "string", "pii": "ssn", "protect": "generalize"}]}"#,
        )
        .expect("schema");
        let e = plan(&schema, &["ssn".into()], &opts(5)).expect_err("refused");
        assert!(e.to_string().contains("cannot be generalised"), "{e}");
        let schema = Schema::from_json_str(
            r#"{"fields": [{"name": "email", "type": "string", "pii": "email"}]}"#,
        )
        .expect("schema");
        let quasi = |q: &str| ProtectOptions { quasi: Some(vec![q.into()]), ..opts(5) };
        let e = plan(&schema, &["email".into()], &quasi("email")).expect_err("refused");
        assert!(e.to_string().contains("cannot also be a quasi-identifier"), "{e}");
        let e = plan(&schema, &["email".into()], &quasi("zip")).expect_err("refused");
        assert!(e.to_string().contains("not a column"), "{e}");
    }

    /// The hand-checked table of `kanon::tests` through the whole command: ages and ZIP
    /// codes as quasi-identifiers, k = 2, no suppression budget.
    #[test]
    fn k_anonymity_and_l_diversity_end_to_end() {
        let schema = r#"{"fields": [
            {"name": "age", "type": "integer", "pii": "quasi"},
            {"name": "zip", "type": "string", "pii": "postal_code"},
            {"name": "disease", "type": "string", "role": "target"}
        ]}"#;
        let csv = "age,zip,disease\n23,94101,flu\n27,94102,flu\n31,94103,cold\n33,94201,flu\n\
                   36,94202,cold\n41,94203,flu\n44,94204,flu\n44,94305,flu\n";
        let o = ProtectOptions { max_suppressed: 0.0, ..opts(2) };
        let (out, r) = run(schema, csv, &o);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "20-29,94*,flu", "{out}");
        assert_eq!(lines[8], "40-49,94*,flu", "{out}");
        let a = r.anonymity.expect("k-anonymity");
        assert_eq!((a.k, a.achieved, a.groups), (2, 2, 3));
        assert_eq!(a.generalised[0], ("age".into(), "intervals of 10".into(), 3, 6));
        assert_eq!(a.generalised[1], ("zip".into(), "last 1 character(s) removed".into(), 1, 3));
        // The twenties and the forties have only "flu": l = 1, two groups open to a
        // homogeneity attack.
        assert_eq!(a.l_diversity, Some(("disease".into(), 1, 2)));
        assert!(r.suppressed.is_empty());

        // Every combination in the output occurs at least k times.
        let mut counts = std::collections::HashMap::new();
        for l in &lines[1..] {
            let qi: Vec<&str> = l.split(',').take(2).collect();
            *counts.entry(qi).or_insert(0) += 1;
        }
        assert!(counts.values().all(|&n| n >= 2), "{counts:?}");

        // A stream cannot be read twice.
        let key = PseudonymKey::from_bytes([0; 32]);
        let schema = Schema::from_json_str(schema).expect("schema");
        let e = protect(csv.as_bytes(), None::<&[u8]>, Vec::new(), &schema, &key, &o)
            .expect_err("one pass only");
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn the_protected_schema_describes_the_output() {
        let schema = Schema::from_json_str(PEOPLE).expect("schema");
        let header: Vec<String> = schema.fields.iter().map(|f| f.name.clone()).collect();
        let cols = plan(&schema, &header, &opts(5)).expect("plan");
        let p = protected_schema(&schema, &cols);
        let names: Vec<&str> = p.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["email", "ssn", "ip", "dob", "zip", "note", "amount", "label"]);
        let dob = p.field("dob").expect("dob");
        assert_eq!(dob.field_type, FieldType::String, "years and 90+");
        assert_eq!(p.field("amount").expect("amount").field_type, FieldType::Number);

        let kept =
            plan(&schema, &header, &ProtectOptions { keep_pii: true, ..opts(5) }).expect("plan");
        let email = kept.iter().find(|c| c.name == "email").expect("email");
        assert_eq!((email.action, email.because), (Action::Keep, Because::KeptPii));
        let name = kept.iter().find(|c| c.name == "name").expect("name");
        assert_eq!(name.action, Action::Drop, "explicit actions still apply");
    }

    #[test]
    fn a_row_of_one_empty_cell_is_not_a_blank_line() {
        let (out, r) =
            run(r#"{"fields": [{"name": "a", "type": "string"}]}"#, "a\n\nx\n", &opts(1));
        // The validator's tokenizer skips the blank line; an empty one-cell row read back
        // must survive the round trip.
        assert_eq!(r.rows_out, 1);
        let (out2, r2) =
            run(r#"{"fields": [{"name": "a", "type": "string"}]}"#, "a\n\"\"\nx\n", &opts(1));
        assert_eq!(r2.rows_out, 2);
        assert_eq!(out2, "a\n\"\"\nx\n");
        assert_eq!(out, "a\nx\n");
    }
}
