//! Reading one cell as a value of its field's logical type.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

use crate::schema::{Field, FieldType};

/// A cell read as its logical type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    /// Seconds since the Unix epoch (UTC; a value without offset is read as UTC) and nanos.
    DateTime(i64, u32),
    Time(NaiveTime),
    Year(i32),
    YearMonth(i32, u32),
    Str(&'a str),
    /// A container (list, array, object): only its length matters to constraints.
    Items(usize),
    /// A value with no order or length (duration, geopoint, geojson, any).
    Opaque,
}

impl Value<'_> {
    /// Orders two values of the same type; `None` when they are not comparable.
    #[inline]
    pub(crate) fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Num(a), Num(b)) => a.partial_cmp(b),
            (Int(a), Num(b)) => (*a as f64).partial_cmp(b),
            (Num(a), Int(b)) => a.partial_cmp(&(*b as f64)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (DateTime(a, an), DateTime(b, bn)) => Some((a, an).cmp(&(b, bn))),
            (Time(a), Time(b)) => Some(a.cmp(b)),
            (Year(a), Year(b)) => Some(a.cmp(b)),
            (YearMonth(a, am), YearMonth(b, bm)) => Some((a, am).cmp(&(b, bm))),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Str(a), Str(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Why a cell is not a value of its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeError {
    NotNumber,
    NonFinite,
    NumberOverflow,
    NotInteger,
    IntegerRange,
    NotBoolean,
    NotDate(&'static str),
    NotDatetime(&'static str),
    NotTime(&'static str),
    NotYear,
    NotYearmonth,
    NotDuration,
    NotJsonObject,
    NotJsonArray,
    BadListItem,
    NotGeopoint,
    NotGeojson,
    NotEmail,
    NotUri,
    NotUuid,
    NotBase64,
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TypeError::*;
        match self {
            NotNumber => f.write_str("not a number"),
            NonFinite => f.write_str(
                "NaN or infinity is not allowed (set \"allowNonFinite\": true to accept it)",
            ),
            NumberOverflow => f.write_str("number too large for a 64-bit float"),
            NotInteger => f.write_str("not an integer"),
            IntegerRange => f.write_str("integer outside the 64-bit range"),
            NotBoolean => f.write_str("not one of the field's true or false values"),
            NotDate(expect) => write!(f, "not a valid date (expected {expect})"),
            NotDatetime(expect) => write!(f, "not a valid datetime (expected {expect})"),
            NotTime(expect) => write!(f, "not a valid time (expected {expect})"),
            NotYear => f.write_str("not a year (expected YYYY)"),
            NotYearmonth => f.write_str("not a year and month (expected YYYY-MM)"),
            NotDuration => f.write_str("not an ISO 8601 duration (expected e.g. P1DT2H)"),
            NotJsonObject => f.write_str("not a JSON object"),
            NotJsonArray => f.write_str("not a JSON array"),
            BadListItem => f.write_str("a list item is not of the item type"),
            NotGeopoint => f.write_str("not a geographic point"),
            NotGeojson => f.write_str("not a GeoJSON object"),
            NotEmail => f.write_str("not an e-mail address"),
            NotUri => f.write_str("not a URI"),
            NotUuid => f.write_str("not a UUID"),
            NotBase64 => f.write_str("not base64"),
        }
    }
}

/// The `format` of a temporal type.
#[derive(Debug, Clone)]
pub(crate) enum TimeFormat {
    /// ISO 8601 / RFC 3339.
    Default,
    /// Any of a list of common layouts.
    Any,
    /// A strptime pattern.
    Pattern(String),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum StrFormat {
    Plain,
    Email,
    Uri,
    Uuid,
    Binary,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum GeoFormat {
    Default,
    Array,
    Object,
}

#[derive(Debug, Clone)]
pub(crate) struct NumOpts {
    decimal: char,
    group: Option<char>,
    bare: bool,
    allow_non_finite: bool,
}

impl NumOpts {
    /// The default lexical form: bare, `.` decimal, no grouping.
    #[inline]
    fn plain(&self) -> bool {
        self.bare && self.decimal == '.' && self.group.is_none()
    }
}

/// How to read cells of one field.
#[derive(Debug, Clone)]
pub(crate) enum CellType {
    String(StrFormat),
    Number(NumOpts),
    Integer(NumOpts),
    Boolean { trues: Vec<String>, falses: Vec<String> },
    Date(TimeFormat),
    Datetime(TimeFormat),
    Time(TimeFormat),
    Year,
    Yearmonth,
    Duration,
    Object,
    Array,
    List { delimiter: String, item: Box<CellType> },
    Geopoint(GeoFormat),
    Geojson { topo: bool },
    Any,
}

const DATE_ANY: &[&str] = &[
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
    "%d %B %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
];
const DATETIME_ANY: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
];
const TIME_ANY: &[&str] = &["%H:%M:%S", "%H:%M", "%I:%M %p", "%I:%M:%S %p", "%H%M%S"];

impl CellType {
    /// How to read `field`; `Err` carries a message about the format (the caller adds the
    /// JSON pointer).
    pub(crate) fn for_field(field: &Field) -> Result<CellType, String> {
        Self::build(field, field.field_type, field.format.as_deref())
    }

    fn build(field: &Field, ty: FieldType, format: Option<&str>) -> Result<CellType, String> {
        let fmt = format.unwrap_or("default");
        let bad_format = || Err(format!("format {fmt:?} is not defined for type {ty}"));
        let time_format = |fmt: &str| -> Result<TimeFormat, String> {
            Ok(match fmt {
                "default" => TimeFormat::Default,
                "any" => TimeFormat::Any,
                pattern => {
                    let pattern = pattern.strip_prefix("fmt:").unwrap_or(pattern);
                    check_strftime(pattern)?;
                    TimeFormat::Pattern(pattern.to_owned())
                }
            })
        };
        let num_opts = || -> Result<NumOpts, String> {
            let one_char = |s: &Option<String>, what: &str| -> Result<Option<char>, String> {
                match s.as_deref() {
                    None | Some("") => Ok(None),
                    Some(s) => {
                        let mut it = s.chars();
                        match (it.next(), it.next()) {
                            (Some(c), None) if !c.is_ascii_digit() && c != '-' && c != '+' => {
                                Ok(Some(c))
                            }
                            _ => Err(format!(
                                "{what} must be one character other than a digit or sign, got {s:?}"
                            )),
                        }
                    }
                }
            };
            let decimal = one_char(&field.decimal_char, "decimalChar")?.unwrap_or('.');
            let group = one_char(&field.group_char, "groupChar")?;
            if group == Some(decimal) {
                return Err("decimalChar and groupChar must differ".into());
            }
            Ok(NumOpts {
                decimal,
                group,
                bare: field.bare_number.unwrap_or(true),
                allow_non_finite: field.allow_non_finite.unwrap_or(false),
            })
        };
        Ok(match ty {
            FieldType::String => CellType::String(match fmt {
                "default" => StrFormat::Plain,
                "email" => StrFormat::Email,
                "uri" => StrFormat::Uri,
                "uuid" => StrFormat::Uuid,
                "binary" => StrFormat::Binary,
                _ => return bad_format(),
            }),
            FieldType::Number => CellType::Number(num_opts()?),
            FieldType::Integer => CellType::Integer(num_opts()?),
            FieldType::Boolean => {
                CellType::Boolean {
                    trues: field.true_values.clone().unwrap_or_else(|| {
                        ["true", "True", "TRUE", "1"].map(String::from).to_vec()
                    }),
                    falses: field.false_values.clone().unwrap_or_else(|| {
                        ["false", "False", "FALSE", "0"].map(String::from).to_vec()
                    }),
                }
            }
            FieldType::Date => CellType::Date(time_format(fmt)?),
            FieldType::Datetime => CellType::Datetime(time_format(fmt)?),
            FieldType::Time => CellType::Time(time_format(fmt)?),
            FieldType::Year
            | FieldType::Yearmonth
            | FieldType::Duration
            | FieldType::Object
            | FieldType::Array
            | FieldType::Any
                if fmt != "default" =>
            {
                return bad_format();
            }
            FieldType::Year => CellType::Year,
            FieldType::Yearmonth => CellType::Yearmonth,
            FieldType::Duration => CellType::Duration,
            FieldType::Object => CellType::Object,
            FieldType::Array => CellType::Array,
            FieldType::Any => CellType::Any,
            FieldType::List => {
                let item_ty = field.item_type.unwrap_or(FieldType::String);
                if matches!(
                    item_ty,
                    FieldType::List | FieldType::Object | FieldType::Array | FieldType::Geojson
                ) {
                    return Err(format!("itemType {item_ty} is not allowed in a list"));
                }
                CellType::List {
                    delimiter: match field.delimiter.as_deref() {
                        None => ",".into(),
                        Some("") => return Err("delimiter must not be empty".into()),
                        Some(d) => d.into(),
                    },
                    item: Box::new(Self::build(field, item_ty, None)?),
                }
            }
            FieldType::Geopoint => CellType::Geopoint(match fmt {
                "default" => GeoFormat::Default,
                "array" => GeoFormat::Array,
                "object" => GeoFormat::Object,
                _ => return bad_format(),
            }),
            FieldType::Geojson => CellType::Geojson {
                topo: match fmt {
                    "default" => false,
                    "topojson" => true,
                    _ => return bad_format(),
                },
            },
        })
    }

    /// Whether `minimum`/`maximum` apply to this type.
    pub(crate) fn is_ordered(&self) -> bool {
        matches!(
            self,
            CellType::Number(_)
                | CellType::Integer(_)
                | CellType::Date(_)
                | CellType::Datetime(_)
                | CellType::Time(_)
                | CellType::Year
                | CellType::Yearmonth
        )
    }

    /// Whether `minLength`/`maxLength` apply to this type.
    pub(crate) fn has_length(&self) -> bool {
        matches!(
            self,
            CellType::String(_) | CellType::List { .. } | CellType::Array | CellType::Object
        )
    }

    /// Reads one non-missing cell.
    #[inline]
    pub(crate) fn parse<'a>(&self, s: &'a str) -> Result<Value<'a>, TypeError> {
        match self {
            CellType::String(f) => {
                match f {
                    StrFormat::Plain => {}
                    StrFormat::Email if !is_email(s) => return Err(TypeError::NotEmail),
                    StrFormat::Uri if !is_uri(s) => return Err(TypeError::NotUri),
                    StrFormat::Uuid if !is_uuid(s) => return Err(TypeError::NotUuid),
                    StrFormat::Binary if !is_base64(s) => return Err(TypeError::NotBase64),
                    _ => {}
                }
                Ok(Value::Str(s))
            }
            CellType::Number(o) => parse_number(s, o).map(Value::Num),
            CellType::Integer(o) => parse_integer(s, o).map(Value::Int),
            CellType::Boolean { trues, falses } => {
                if trues.iter().any(|t| t == s) {
                    Ok(Value::Bool(true))
                } else if falses.iter().any(|t| t == s) {
                    Ok(Value::Bool(false))
                } else {
                    Err(TypeError::NotBoolean)
                }
            }
            CellType::Date(f) => parse_date(s, f).map(Value::Date),
            CellType::Datetime(f) => parse_datetime(s, f).map(|(a, b)| Value::DateTime(a, b)),
            CellType::Time(f) => parse_time(s, f).map(Value::Time),
            CellType::Year => parse_year(s).map(Value::Year).ok_or(TypeError::NotYear),
            CellType::Yearmonth => {
                let (y, m) = s.split_once('-').ok_or(TypeError::NotYearmonth)?;
                let y = parse_year(y).ok_or(TypeError::NotYearmonth)?;
                let m: u32 = (m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| m.parse().ok())
                    .flatten()
                    .filter(|m| (1..=12).contains(m))
                    .ok_or(TypeError::NotYearmonth)?;
                Ok(Value::YearMonth(y, m))
            }
            CellType::Duration => {
                is_duration(s).then_some(Value::Opaque).ok_or(TypeError::NotDuration)
            }
            CellType::Object => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(serde_json::Value::Object(m)) => Ok(Value::Items(m.len())),
                _ => Err(TypeError::NotJsonObject),
            },
            CellType::Array => match serde_json::from_str::<serde_json::Value>(s) {
                Ok(serde_json::Value::Array(a)) => Ok(Value::Items(a.len())),
                _ => Err(TypeError::NotJsonArray),
            },
            CellType::List { delimiter, item } => {
                let mut n = 0;
                for part in s.split(delimiter.as_str()) {
                    item.parse(part).map_err(|_| TypeError::BadListItem)?;
                    n += 1;
                }
                Ok(Value::Items(n))
            }
            CellType::Geopoint(f) => {
                parse_geopoint(s, *f).then_some(Value::Opaque).ok_or(TypeError::NotGeopoint)
            }
            CellType::Geojson { topo } => {
                is_geojson(s, *topo).then_some(Value::Opaque).ok_or(TypeError::NotGeojson)
            }
            CellType::Any => Ok(Value::Opaque),
        }
    }
}

/// Rejects strftime patterns chrono cannot use, so a bad `format` fails at schema load.
fn check_strftime(pattern: &str) -> Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(pattern).any(|i| matches!(i, Item::Error)) {
        return Err(format!("format pattern {pattern:?} has an unknown % directive"));
    }
    if !pattern.contains('%') {
        return Err(format!("format {pattern:?} is neither \"default\", \"any\" nor a % pattern"));
    }
    Ok(())
}

fn parse_year(s: &str) -> Option<i32> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_finite_spelling(s: &str) -> bool {
    // std accepts "inf", "infinity" and "nan" in any case; anything alphabetic but an
    // exponent marker is a non-finite spelling or not a number at all.
    !s.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
}

fn is_non_finite_spelling(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    ["nan", "inf", "infinity"].iter().any(|w| t.eq_ignore_ascii_case(w))
}

/// Rewrites a number with a custom decimal/group char or surrounding text into plain form.
fn normalise_number(s: &str, o: &NumOpts) -> Option<String> {
    let mut body = s;
    if !o.bare {
        let is_num = |c: char| c.is_ascii_digit() || c == o.decimal;
        let start = body.find(|c: char| is_num(c) || c == '-' || c == '+')?;
        let end = body.rfind(is_num)? + 1;
        if end <= start {
            return None;
        }
        body = &body[start..end];
    }
    if o.decimal == '.' && o.group.is_none() {
        return (body.len() != s.len()).then(|| body.to_owned());
    }
    let mut out = String::with_capacity(body.len());
    for c in body.chars() {
        if Some(c) == o.group {
            continue;
        } else if c == o.decimal {
            out.push('.');
        } else if c == '.' && o.decimal != '.' {
            return Some("x".into()); // a '.' that is neither decimal nor group char
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[inline]
fn parse_number(s: &str, o: &NumOpts) -> Result<f64, TypeError> {
    if o.plain() {
        return finish_number(s, o);
    }
    let owned;
    let text = match normalise_number(s, o) {
        Some(t) => {
            owned = t;
            owned.as_str()
        }
        None if !o.bare => return Err(TypeError::NotNumber),
        None => s,
    };
    finish_number(text, o)
}

/// Exact powers of ten representable in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Clinger's fast path: `[+-]digits[.digits]` with at most 15 significant digits is a
/// mantissa below 2^53 divided by an exact power of ten, and one IEEE division is correctly
/// rounded, so the result equals the full algorithm's. `None` sends anything else to std.
#[inline]
fn fast_decimal(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut frac: Option<usize> = None;
    let mut count = 0;
    for (i, &c) in digits.iter().enumerate() {
        if c.is_ascii_digit() {
            mantissa = mantissa * 10 + u64::from(c - b'0');
            count += 1;
        } else if c == b'.' && frac.is_none() {
            frac = Some(digits.len() - i - 1);
        } else {
            return None;
        }
    }
    if count == 0 || count > 15 {
        return None;
    }
    let v = mantissa as f64 / POW10[frac.unwrap_or(0)];
    Some(if neg { -v } else { v })
}

#[inline]
fn finish_number(text: &str, o: &NumOpts) -> Result<f64, TypeError> {
    if let Some(v) = fast_decimal(text) {
        return Ok(v);
    }
    if !is_finite_spelling(text) {
        if is_non_finite_spelling(text) {
            return if o.allow_non_finite {
                Ok(text.parse::<f64>().unwrap_or(f64::NAN))
            } else {
                Err(TypeError::NonFinite)
            };
        }
        return Err(TypeError::NotNumber);
    }
    let v: f64 = text.parse().map_err(|_| TypeError::NotNumber)?;
    if v.is_finite() { Ok(v) } else { Err(TypeError::NumberOverflow) }
}

#[inline]
fn parse_integer(s: &str, o: &NumOpts) -> Result<i64, TypeError> {
    let owned;
    let text = if o.plain() {
        s
    } else {
        match normalise_number(s, o) {
            Some(t) => {
                owned = t;
                owned.as_str()
            }
            None if !o.bare => return Err(TypeError::NotInteger),
            None => s,
        }
    };
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text.as_bytes()[1..]),
        Some(b'+') => (false, &text.as_bytes()[1..]),
        _ => (false, text.as_bytes()),
    };
    // "18.0": pandas writes an integer column that has gaps as floats; an integral value
    // written with a zero fraction is that integer. Not with a group character, where
    // "1.000" may be a thousand written with the wrong one.
    let digits = match digits.iter().position(|&b| b == b'.') {
        Some(dot)
            if o.group.is_none()
                && dot > 0
                && dot + 1 < digits.len()
                && digits[dot + 1..].iter().all(|&b| b == b'0') =>
        {
            &digits[..dot]
        }
        _ => digits,
    };
    if digits.is_empty() {
        return Err(TypeError::NotInteger);
    }
    // One pass: accumulate negatively so i64::MIN fits.
    let mut acc: i64 = 0;
    let mut overflow = false;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(TypeError::NotInteger);
        }
        match acc.checked_mul(10).and_then(|a| a.checked_sub(i64::from(c - b'0'))) {
            Some(a) => acc = a,
            None => overflow = true,
        }
    }
    if overflow {
        return Err(TypeError::IntegerRange);
    }
    if neg { Ok(acc) } else { acc.checked_neg().ok_or(TypeError::IntegerRange) }
}

fn two(b: &[u8], i: usize) -> Option<u32> {
    let (x, y) = (*b.get(i)?, *b.get(i + 1)?);
    (x.is_ascii_digit() && y.is_ascii_digit())
        .then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
}

/// `YYYY-MM-DD`, strictly.
#[inline]
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = two(b, 0)? * 100 + two(b, 2)?;
    NaiveDate::from_ymd_opt(y as i32, two(b, 5)?, two(b, 8)?)
}

/// `HH:MM:SS[.fraction]` at the start of `b`; returns the time and the bytes used.
fn iso_time_prefix(b: &[u8]) -> Option<(NaiveTime, usize)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (two(b, 0)?, two(b, 3)?, two(b, 6)?);
    let mut used = 8;
    let mut nanos = 0u32;
    if b.get(8) == Some(&b'.') {
        used = 9;
        let mut scale = 100_000_000u32;
        while let Some(d) = b.get(used).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            used += 1;
        }
        if used == 9 {
            return None;
        }
    }
    // A leap second (:60) is accepted as chrono does, by folding it into nanoseconds.
    let t = if sec == 60 {
        NaiveTime::from_hms_nano_opt(h, m, 59, 1_000_000_000 + nanos.min(999_999_999))?
    } else {
        NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?
    };
    Some((t, used))
}

/// `Z`, `+HH:MM`, `+HHMM` or `+HH`; returns the offset in seconds.
fn iso_offset(b: &[u8]) -> Option<i32> {
    match b {
        [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (two(rest, 0)?, 0),
                4 => (two(rest, 0)?, two(rest, 2)?),
                5 if rest[2] == b':' => (two(rest, 0)?, two(rest, 3)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            Some(if *sign == b'-' { -secs } else { secs })
        }
        _ => None,
    }
}

fn parse_date(s: &str, f: &TimeFormat) -> Result<NaiveDate, TypeError> {
    match f {
        TimeFormat::Default => iso_date(s).ok_or(TypeError::NotDate("YYYY-MM-DD")),
        TimeFormat::Any => iso_date(s)
            .or_else(|| DATE_ANY.iter().find_map(|p| NaiveDate::parse_from_str(s, p).ok()))
            .ok_or(TypeError::NotDate("a date")),
        TimeFormat::Pattern(p) => {
            NaiveDate::parse_from_str(s, p).map_err(|_| TypeError::NotDate("the field's format"))
        }
    }
}

fn parse_datetime(s: &str, f: &TimeFormat) -> Result<(i64, u32), TypeError> {
    let from_naive = |n: NaiveDateTime| {
        let u = n.and_utc();
        (u.timestamp(), u.timestamp_subsec_nanos())
    };
    match f {
        TimeFormat::Default => {
            iso_datetime(s).ok_or(TypeError::NotDatetime("YYYY-MM-DDThh:mm:ss[.f][Z|±hh:mm]"))
        }
        TimeFormat::Any => iso_datetime(s)
            .or_else(|| {
                DATETIME_ANY
                    .iter()
                    .find_map(|p| NaiveDateTime::parse_from_str(s, p).ok().map(from_naive))
            })
            .ok_or(TypeError::NotDatetime("a date and time")),
        TimeFormat::Pattern(p) => {
            if p.contains("%z") || p.contains("%:z") || p.contains("%#z") {
                DateTime::parse_from_str(s, p)
                    .map(|d| (d.timestamp(), d.timestamp_subsec_nanos()))
                    .map_err(|_| TypeError::NotDatetime("the field's format"))
            } else {
                NaiveDateTime::parse_from_str(s, p)
                    .map(from_naive)
                    .map_err(|_| TypeError::NotDatetime("the field's format"))
            }
        }
    }
}

fn iso_datetime(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let date = iso_date(s.get(..10)?)?;
    let (time, used) = iso_time_prefix(&b[11..])?;
    let rest = &b[11 + used..];
    let offset = if rest.is_empty() { 0 } else { iso_offset(rest)? };
    let utc = date.and_time(time).and_utc();
    Some((utc.timestamp() - i64::from(offset), utc.timestamp_subsec_nanos()))
}

fn parse_time(s: &str, f: &TimeFormat) -> Result<NaiveTime, TypeError> {
    let iso = |s: &str| {
        let b = s.as_bytes();
        let (t, used) = iso_time_prefix(b)?;
        let rest = &b[used..];
        if rest.is_empty() || iso_offset(rest).is_some() { Some(t) } else { None }
    };
    match f {
        TimeFormat::Default => iso(s).ok_or(TypeError::NotTime("hh:mm:ss")),
        TimeFormat::Any => iso(s)
            .or_else(|| TIME_ANY.iter().find_map(|p| NaiveTime::parse_from_str(s, p).ok()))
            .ok_or(TypeError::NotTime("a time")),
        TimeFormat::Pattern(p) => {
            NaiveTime::parse_from_str(s, p).map_err(|_| TypeError::NotTime("the field's format"))
        }
    }
}

fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else { return false };
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let units_ok = |part: &str, units: &[u8], frac_last: bool| -> Option<usize> {
        let mut count = 0;
        let mut next = 0;
        let mut num = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || (frac_last && (c == '.' || c == ',')) {
                num.push(c);
                continue;
            }
            let pos = units.iter().position(|&u| u == c as u8)?;
            if pos < next
                || num.is_empty()
                || (num.contains(['.', ',']) && c as u8 != *units.last()?)
            {
                return None;
            }
            next = pos + 1;
            count += 1;
            num.clear();
        }
        num.is_empty().then_some(count)
    };
    let Some(d) = units_ok(date, b"YMWD", false) else { return false };
    match time {
        None => d > 0,
        Some(t) => units_ok(t, b"HMS", true).is_some_and(|n| n > 0),
    }
}

fn parse_geopoint(s: &str, f: GeoFormat) -> bool {
    let in_range =
        |lon: f64, lat: f64| (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat);
    match f {
        GeoFormat::Default => s
            .split_once(',')
            .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
            .is_some_and(|(lon, lat)| in_range(lon, lat)),
        GeoFormat::Array => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Array(a)) if a.len() == 2 => {
                matches!((a[0].as_f64(), a[1].as_f64()), (Some(lon), Some(lat)) if in_range(lon, lat))
            }
            _ => false,
        },
        GeoFormat::Object => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(serde_json::Value::Object(m)) if m.len() == 2 => {
                matches!((m.get("lon").and_then(|v| v.as_f64()), m.get("lat").and_then(|v| v.as_f64())), (Some(lon), Some(lat)) if in_range(lon, lat))
            }
            _ => false,
        },
    }
}

fn is_geojson(s: &str, topo: bool) -> bool {
    const TYPES: &[&str] = &[
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "FeatureCollection",
    ];
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(m)) => match m.get("type").and_then(|t| t.as_str()) {
            Some(t) if topo => t == "Topology",
            Some(t) => TYPES.contains(&t),
            None => false,
        },
        _ => false,
    }
}

/// A pragmatic e-mail check: one `@`, a non-empty local part of printable characters and
/// a domain of dot-separated LDH labels with at least one dot.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || !domain.contains('.') {
        return false;
    }
    let local_ok = local.bytes().all(|b| {
        b.is_ascii_graphic()
            && !matches!(
                b,
                b'@' | b'(' | b')' | b',' | b';' | b':' | b'<' | b'>' | b'[' | b']' | b'\\' | b'"'
            )
    });
    local_ok
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else { return false };
    let mut sc = scheme.bytes();
    sc.next().is_some_and(|b| b.is_ascii_alphabetic())
        && sc.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_base64(s: &str) -> bool {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return false;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    pad <= 2
        && b[..b.len() - pad].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
}

/// Reads a constraint bound (`minimum`, `enum` item, ...) given in the schema as JSON.
pub(crate) fn bound_from_json<'a>(ty: &CellType, json: &'a serde_json::Value) -> Option<Value<'a>> {
    match (ty, json) {
        (CellType::Integer(_), serde_json::Value::Number(n)) => n.as_i64().map(Value::Int),
        (CellType::Number(_), serde_json::Value::Number(n)) => n.as_f64().map(Value::Num),
        (CellType::Year, serde_json::Value::Number(n)) => {
            n.as_i64().and_then(|y| i32::try_from(y).ok()).map(Value::Year)
        }
        (CellType::Boolean { .. }, serde_json::Value::Bool(b)) => Some(Value::Bool(*b)),
        (_, serde_json::Value::String(s)) => ty.parse(s).ok().or_else(|| match ty {
            // Bounds of temporal fields may always be written in ISO form.
            CellType::Date(_) => iso_date(s).map(Value::Date),
            CellType::Datetime(_) => iso_datetime(s).map(|(a, b)| Value::DateTime(a, b)),
            CellType::Time(_) => iso_time_prefix(s.as_bytes())
                .filter(|(_, n)| *n == s.len())
                .map(|(t, _)| Value::Time(t)),
            _ => None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(ty: FieldType) -> Field {
        Field::new("f", ty)
    }

    fn ct(f: &Field) -> CellType {
        CellType::for_field(f).expect("valid field")
    }

    #[test]
    fn numbers() {
        let t = ct(&field(FieldType::Number));
        for ok in ["0", "-1.5", "+2", "1e5", "1E-3", ".5", "5.", "007"] {
            assert!(matches!(t.parse(ok), Ok(Value::Num(_))), "{ok}");
        }
        for bad in ["", "abc", "1,5", "1.2.3", " 1", "1 ", "0x10", "--1", "e5"] {
            assert_eq!(t.parse(bad), Err(TypeError::NotNumber), "{bad:?}");
        }
        for nf in ["NaN", "nan", "INF", "-INF", "inf", "Infinity", "-infinity"] {
            assert_eq!(t.parse(nf), Err(TypeError::NonFinite), "{nf}");
        }
        assert_eq!(t.parse("1e999"), Err(TypeError::NumberOverflow));
        let mut f = field(FieldType::Number);
        f.allow_non_finite = Some(true);
        assert!(matches!(ct(&f).parse("NaN"), Ok(Value::Num(v)) if v.is_nan()));
        assert!(matches!(ct(&f).parse("-INF"), Ok(Value::Num(v)) if v == f64::NEG_INFINITY));
    }

    #[test]
    fn number_decimal_group_and_bare() {
        let mut f = field(FieldType::Number);
        f.decimal_char = Some(",".into());
        f.group_char = Some(".".into());
        let t = ct(&f);
        assert_eq!(t.parse("1.234.567,89"), Ok(Value::Num(1_234_567.89)));
        assert!(t.parse("1,2,3").is_err());
        f.bare_number = Some(false);
        f.decimal_char = None;
        f.group_char = Some(" ".into());
        let t = ct(&f);
        assert_eq!(t.parse("€ 1 000.50"), Ok(Value::Num(1000.5)));
        assert_eq!(t.parse("95%"), Ok(Value::Num(95.0)));
        assert_eq!(t.parse("-3 EUR"), Ok(Value::Num(-3.0)));
        assert!(t.parse("EUR").is_err());
        let mut g = field(FieldType::Number);
        g.decimal_char = Some("1".into());
        assert!(CellType::for_field(&g).is_err());
    }

    proptest::proptest! {
        #[test]
        fn fast_decimal_equals_std(int in 0u64..10_000_000_000, frac in 0u32..8, neg: bool) {
            let digits = int.to_string();
            let frac = (frac as usize).min(digits.len());
            let (a, b) = digits.split_at(digits.len() - frac);
            let s = format!("{}{}{}{}", if neg { "-" } else { "" }, if a.is_empty() { "0" } else { a }, if frac > 0 { "." } else { "" }, b);
            proptest::prop_assert_eq!(fast_decimal(&s), Some(s.parse::<f64>().expect("std parses")), "{}", s);
        }

        #[test]
        fn integers_equal_std(n: i64, plus: bool) {
            let s = if plus && n >= 0 { format!("+{n}") } else { n.to_string() };
            let opts = NumOpts { decimal: '.', group: None, bare: true, allow_non_finite: false };
            proptest::prop_assert_eq!(parse_integer(&s, &opts), Ok(n));
        }
    }

    #[test]
    fn fast_decimal_edges() {
        assert_eq!(fast_decimal("0.1"), Some(0.1));
        assert_eq!(fast_decimal("123456789012345"), Some(123456789012345.0));
        assert_eq!(fast_decimal("1234567890123456"), None, "16 digits go to std");
        assert_eq!(fast_decimal("1e5"), None);
        assert_eq!(fast_decimal("."), None);
        assert_eq!(fast_decimal("-"), None);
        assert_eq!(fast_decimal("1.2.3"), None);
        let t = ct(&field(FieldType::Number));
        assert_eq!(t.parse("."), Err(TypeError::NotNumber));
        assert_eq!(t.parse("-0.0"), Ok(Value::Num(-0.0)));
        assert_eq!(t.parse("9223372036854775808"), Ok(Value::Num(9223372036854775808.0)));
        let i = ct(&field(FieldType::Integer));
        assert_eq!(i.parse("-9223372036854775808"), Ok(Value::Int(i64::MIN)));
        assert_eq!(i.parse("9223372036854775808"), Err(TypeError::IntegerRange));
        assert_eq!(i.parse("+"), Err(TypeError::NotInteger));
    }

    #[test]
    fn integers() {
        let t = ct(&field(FieldType::Integer));
        assert_eq!(t.parse("42"), Ok(Value::Int(42)));
        assert_eq!(t.parse("-7"), Ok(Value::Int(-7)));
        assert_eq!(t.parse("+7"), Ok(Value::Int(7)));
        // Integral values as pandas writes them when the column has gaps.
        assert_eq!(t.parse("18.0"), Ok(Value::Int(18)));
        assert_eq!(t.parse("-3.00"), Ok(Value::Int(-3)));
        assert_eq!(t.parse("1.5"), Err(TypeError::NotInteger));
        assert_eq!(t.parse("1.05"), Err(TypeError::NotInteger));
        assert_eq!(t.parse("1."), Err(TypeError::NotInteger));
        assert_eq!(t.parse(".0"), Err(TypeError::NotInteger));
        assert_eq!(t.parse("1.0.0"), Err(TypeError::NotInteger));
        assert_eq!(t.parse("1e3"), Err(TypeError::NotInteger));
        assert_eq!(t.parse("-"), Err(TypeError::NotInteger));
        assert_eq!(t.parse("99999999999999999999"), Err(TypeError::IntegerRange));
        let mut f = field(FieldType::Integer);
        f.group_char = Some(",".into());
        assert_eq!(ct(&f).parse("1,000,000"), Ok(Value::Int(1_000_000)));
    }

    #[test]
    fn booleans() {
        let t = ct(&field(FieldType::Boolean));
        assert_eq!(t.parse("true"), Ok(Value::Bool(true)));
        assert_eq!(t.parse("0"), Ok(Value::Bool(false)));
        assert_eq!(t.parse("yes"), Err(TypeError::NotBoolean));
        let mut f = field(FieldType::Boolean);
        f.true_values = Some(vec!["yes".into()]);
        f.false_values = Some(vec!["no".into()]);
        assert_eq!(ct(&f).parse("yes"), Ok(Value::Bool(true)));
        assert_eq!(ct(&f).parse("true"), Err(TypeError::NotBoolean));
    }

    #[test]
    fn dates_times_datetimes() {
        let d = ct(&field(FieldType::Date));
        assert!(d.parse("2024-02-29").is_ok());
        for bad in
            ["2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024-01-01T00:00:00", "20240101"]
        {
            assert!(d.parse(bad).is_err(), "{bad}");
        }
        let mut f = field(FieldType::Date);
        f.format = Some("%d/%m/%Y".into());
        assert_eq!(
            ct(&f).parse("31/12/1999"),
            Ok(Value::Date(NaiveDate::from_ymd_opt(1999, 12, 31).expect("date")))
        );
        assert!(ct(&f).parse("1999-12-31").is_err());
        f.format = Some("any".into());
        assert!(ct(&f).parse("3 March 2001").is_ok());
        f.format = Some("%Q".into());
        assert!(CellType::for_field(&f).is_err());

        let dt = ct(&field(FieldType::Datetime));
        assert!(dt.parse("2024-01-01T10:20:30Z").is_ok());
        assert!(dt.parse("2024-01-01T10:20:30.123+02:00").is_ok());
        assert!(dt.parse("2024-01-01 10:20:30").is_ok());
        assert!(dt.parse("2024-01-01T25:00:00").is_err());
        assert!(dt.parse("2024-01-01T10:20:30+2").is_err());
        assert!(dt.parse("2024-01-01").is_err());
        let a = dt.parse("2024-01-01T12:00:00+02:00").expect("dt");
        let b = dt.parse("2024-01-01T10:00:00Z").expect("dt");
        assert_eq!(a.compare(&b), Some(Ordering::Equal));

        let t = ct(&field(FieldType::Time));
        assert!(t.parse("23:59:59").is_ok());
        assert!(t.parse("23:59:59.5").is_ok());
        assert!(t.parse("24:00:00").is_err());
        assert!(t.parse("23:59").is_err());
    }

    #[test]
    fn years_and_others() {
        assert_eq!(ct(&field(FieldType::Year)).parse("1999"), Ok(Value::Year(1999)));
        assert!(ct(&field(FieldType::Year)).parse("99").is_err());
        assert_eq!(
            ct(&field(FieldType::Yearmonth)).parse("2020-07"),
            Ok(Value::YearMonth(2020, 7))
        );
        assert!(ct(&field(FieldType::Yearmonth)).parse("2020-13").is_err());
        let du = ct(&field(FieldType::Duration));
        for ok in ["P1Y2M3DT4H5M6S", "PT0.5S", "P3W", "P1D"] {
            assert!(du.parse(ok).is_ok(), "{ok}");
        }
        for bad in ["P", "PT", "1D", "P1H", "PT1D", "P1M1Y"] {
            assert!(du.parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ct(&field(FieldType::Object)).parse("{\"a\":1}"), Ok(Value::Items(1)));
        assert!(ct(&field(FieldType::Object)).parse("[1]").is_err());
        assert_eq!(ct(&field(FieldType::Array)).parse("[1,2]"), Ok(Value::Items(2)));
        let mut l = field(FieldType::List);
        l.item_type = Some(FieldType::Integer);
        assert_eq!(ct(&l).parse("1,2,3"), Ok(Value::Items(3)));
        assert_eq!(ct(&l).parse("1,x"), Err(TypeError::BadListItem));
        assert!(ct(&field(FieldType::Geopoint)).parse("12.5, 45.1").is_ok());
        assert!(ct(&field(FieldType::Geopoint)).parse("200, 45").is_err());
        assert!(
            ct(&field(FieldType::Geojson))
                .parse("{\"type\":\"Point\",\"coordinates\":[1,2]}")
                .is_ok()
        );
        assert!(ct(&field(FieldType::Geojson)).parse("{\"type\":\"Pt\"}").is_err());
        assert_eq!(ct(&field(FieldType::Any)).parse("whatever"), Ok(Value::Opaque));
    }

    #[test]
    fn string_formats() {
        let mut f = field(FieldType::String);
        f.format = Some("email".into());
        assert!(ct(&f).parse("a.b+c@example.co.uk").is_ok());
        for bad in ["a@b", "@x.com", "a@@x.com", "a b@x.com", "a@-x.com", "a..b@x.com"] {
            assert!(ct(&f).parse(bad).is_err(), "{bad}");
        }
        f.format = Some("uri".into());
        assert!(ct(&f).parse("https://example.com/x?y=1").is_ok());
        assert!(ct(&f).parse("not a uri").is_err());
        f.format = Some("uuid".into());
        assert!(ct(&f).parse("123e4567-e89b-12d3-a456-426614174000").is_ok());
        assert!(ct(&f).parse("123e4567e89b12d3a456426614174000").is_err());
        f.format = Some("binary".into());
        assert!(ct(&f).parse("aGVsbG8=").is_ok());
        assert!(ct(&f).parse("aGVsbG8").is_err());
        f.format = Some("ipv4".into());
        assert!(CellType::for_field(&f).is_err());
    }
}
