//! A schema compiled for checking: every field's reader and constraints resolved once.

use std::collections::HashSet;

use crate::error::SchemaError;
use crate::pattern::Pattern;
use crate::schema::{FieldType, Schema};
use crate::types::{CellType, TypeError, Value, bound_from_json};

/// Enums up to this size are checked by a linear scan.
const SMALL_ENUM: usize = 16;

/// A failed check on one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CellError {
    Type(TypeError),
    Minimum,
    Maximum,
    ExclusiveMinimum,
    ExclusiveMaximum,
    MinLength(usize),
    MaxLength(usize),
    Pattern,
    Enum,
}

/// How missing values are recognised.
#[derive(Debug, Clone)]
pub(crate) enum Missing {
    /// Only the empty string (the common case, checked without a lookup).
    Empty,
    /// Nothing is missing.
    Never,
    /// Any of these strings.
    Set(Vec<String>),
}

impl Missing {
    pub(crate) fn new(values: &[String]) -> Missing {
        match values {
            [] => Missing::Never,
            [one] if one.is_empty() => Missing::Empty,
            many => Missing::Set(many.to_vec()),
        }
    }

    #[inline]
    pub(crate) fn is_missing(&self, s: &str) -> bool {
        match self {
            Missing::Empty => s.is_empty(),
            Missing::Never => false,
            Missing::Set(v) => v.iter().any(|m| m == s),
        }
    }
}

#[derive(Debug, Clone)]
enum EnumCheck {
    /// String fields with a few values: compare the text, in order (faster than hashing).
    FewStrings(Vec<String>),
    /// String fields: compare the text.
    Strings(HashSet<String>),
    /// Other types: compare the logical value (so `1.0` matches `1` in a number field).
    Values(Vec<Value<'static>>),
}

/// One field, ready to check cells.
#[derive(Debug, Clone)]
pub(crate) struct CompiledField {
    pub(crate) name: String,
    pub(crate) cell: CellType,
    pub(crate) missing: Missing,
    pub(crate) required: bool,
    pub(crate) pii: bool,
    minimum: Option<Value<'static>>,
    maximum: Option<Value<'static>>,
    exclusive_minimum: Option<Value<'static>>,
    exclusive_maximum: Option<Value<'static>>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<Pattern>,
    enumeration: Option<EnumCheck>,
    /// The field holds free text that a spreadsheet could run as a formula.
    pub(crate) textual: bool,
}

/// A group of fields whose combined value must be unique.
#[derive(Debug, Clone)]
pub(crate) struct KeySpec {
    /// Indexes into [`CompiledSchema::fields`].
    pub(crate) fields: Vec<usize>,
    /// Primary key (true) or unique constraint / unique key.
    pub(crate) primary: bool,
    /// A single integer field: checked exactly with a bitmap instead of hashes.
    pub(crate) exact_integer: bool,
}

/// A schema ready to check cells.
#[derive(Debug, Clone)]
pub(crate) struct CompiledSchema {
    pub(crate) fields: Vec<CompiledField>,
    pub(crate) keys: Vec<KeySpec>,
}

fn to_static(v: Value<'_>) -> Value<'static> {
    match v {
        Value::Int(x) => Value::Int(x),
        Value::Num(x) => Value::Num(x),
        Value::Bool(x) => Value::Bool(x),
        Value::Date(x) => Value::Date(x),
        Value::DateTime(a, b) => Value::DateTime(a, b),
        Value::Time(x) => Value::Time(x),
        Value::Year(x) => Value::Year(x),
        Value::YearMonth(a, b) => Value::YearMonth(a, b),
        Value::Items(n) => Value::Items(n),
        Value::Str(_) | Value::Opaque => Value::Opaque,
    }
}

impl CompiledSchema {
    pub(crate) fn new(schema: &Schema) -> Result<CompiledSchema, SchemaError> {
        let mut fields = Vec::with_capacity(schema.fields.len());
        for (i, f) in schema.fields.iter().enumerate() {
            let ptr = format!("/fields/{i}");
            let what = format!("field {:?}", f.name);
            let cell = CellType::for_field(f)
                .map_err(|m| SchemaError::new(format!("{ptr}/format"), format!("{what}: {m}")))?;
            let c = &f.constraints;
            let bound = |v: &Option<serde_json::Value>,
                         key: &str|
             -> Result<Option<Value<'static>>, SchemaError> {
                let Some(v) = v else { return Ok(None) };
                let p = format!("{ptr}/constraints/{key}");
                if !cell.is_ordered() {
                    return Err(SchemaError::new(
                        p,
                        format!("{what}: `{key}` does not apply to type {}", f.field_type),
                    ));
                }
                bound_from_json(&cell, v).map(to_static).map(Some).ok_or_else(|| {
                    SchemaError::new(
                        p,
                        format!("{what}: `{key}` {v} is not a valid {} value", f.field_type),
                    )
                })
            };
            let length = |v: Option<u64>, key: &str| -> Result<Option<usize>, SchemaError> {
                let Some(v) = v else { return Ok(None) };
                if !cell.has_length() {
                    return Err(SchemaError::new(
                        format!("{ptr}/constraints/{key}"),
                        format!("{what}: `{key}` does not apply to type {}", f.field_type),
                    ));
                }
                Ok(Some(usize::try_from(v).unwrap_or(usize::MAX)))
            };
            let pattern = match &c.pattern {
                None => None,
                Some(p) => Some(Pattern::new(p).map_err(|e| {
                    SchemaError::new(
                        format!("{ptr}/constraints/pattern"),
                        format!("{what}: bad pattern: {e}"),
                    )
                })?),
            };
            let enumeration = match &c.enum_values {
                None => None,
                Some(items) if f.field_type == FieldType::String => {
                    let mut set = HashSet::new();
                    for (j, v) in items.iter().enumerate() {
                        let s = v.as_str().ok_or_else(|| {
                            SchemaError::new(
                                format!("{ptr}/constraints/enum/{j}"),
                                format!("{what}: enum values of a string field must be strings"),
                            )
                        })?;
                        set.insert(s.to_owned());
                    }
                    Some(if set.len() <= SMALL_ENUM {
                        let mut v: Vec<String> = set.into_iter().collect();
                        v.sort_unstable();
                        EnumCheck::FewStrings(v)
                    } else {
                        EnumCheck::Strings(set)
                    })
                }
                Some(items) => {
                    let mut vals = Vec::new();
                    for (j, v) in items.iter().enumerate() {
                        let val = bound_from_json(&cell, v)
                            .filter(|v| !matches!(v, Value::Opaque | Value::Items(_)))
                            .ok_or_else(|| {
                                SchemaError::new(
                                    format!("{ptr}/constraints/enum/{j}"),
                                    format!(
                                        "{what}: enum value {v} is not a valid {} value",
                                        f.field_type
                                    ),
                                )
                            })?;
                        vals.push(to_static(val));
                    }
                    Some(EnumCheck::Values(vals))
                }
            };
            let textual =
                matches!(cell, CellType::String(_) | CellType::Any | CellType::List { .. });
            fields.push(CompiledField {
                name: f.name.clone(),
                missing: Missing::new(
                    f.missing_values.as_deref().unwrap_or(&schema.missing_values),
                ),
                required: c.required || schema.primary_key.contains(&f.name),
                pii: f.pii.is_some(),
                minimum: bound(&c.minimum, "minimum")?,
                maximum: bound(&c.maximum, "maximum")?,
                exclusive_minimum: bound(&c.exclusive_minimum, "exclusiveMinimum")?,
                exclusive_maximum: bound(&c.exclusive_maximum, "exclusiveMaximum")?,
                min_length: length(c.min_length, "minLength")?,
                max_length: length(c.max_length, "maxLength")?,
                pattern,
                enumeration,
                textual,
                cell,
            });
        }
        let index = |name: &str| schema.fields.iter().position(|f| f.name == name);
        let mut keys = Vec::new();
        let mut push_key = |names: &[String], primary: bool| {
            let idx: Vec<usize> = names.iter().filter_map(|n| index(n)).collect();
            let exact_integer =
                idx.len() == 1 && matches!(fields[idx[0]].cell, CellType::Integer(_));
            // The same key declared twice (unique + primaryKey) is checked once.
            if !keys.iter().any(|k: &KeySpec| k.fields == idx) {
                keys.push(KeySpec { fields: idx, primary, exact_integer });
            }
        };
        if !schema.primary_key.is_empty() {
            push_key(&schema.primary_key, true);
        }
        for f in &schema.fields {
            if f.constraints.unique {
                push_key(std::slice::from_ref(&f.name), false);
            }
        }
        for k in &schema.unique_keys {
            push_key(k, false);
        }
        Ok(CompiledSchema { fields, keys })
    }
}

impl CompiledField {
    /// Checks one non-missing cell; `Ok` carries the value for key checks.
    #[inline(always)]
    pub(crate) fn check<'a>(&self, s: &'a str) -> Result<Value<'a>, CellError> {
        let v = self.cell.parse(s).map_err(CellError::Type)?;
        use std::cmp::Ordering::*;
        if let Some(b) = &self.minimum
            && v.compare(b) == Some(Less)
        {
            return Err(CellError::Minimum);
        }
        if let Some(b) = &self.maximum
            && v.compare(b) == Some(Greater)
        {
            return Err(CellError::Maximum);
        }
        if let Some(b) = &self.exclusive_minimum
            && matches!(v.compare(b), Some(Less | Equal))
        {
            return Err(CellError::ExclusiveMinimum);
        }
        if let Some(b) = &self.exclusive_maximum
            && matches!(v.compare(b), Some(Greater | Equal))
        {
            return Err(CellError::ExclusiveMaximum);
        }
        if self.min_length.is_some() || self.max_length.is_some() {
            let len = match v {
                Value::Items(n) => n,
                _ => s.chars().count(),
            };
            if let Some(min) = self.min_length.filter(|&m| len < m) {
                return Err(CellError::MinLength(min));
            }
            if let Some(max) = self.max_length.filter(|&m| len > m) {
                return Err(CellError::MaxLength(max));
            }
        }
        if let Some(p) = &self.pattern
            && !p.is_match(s)
        {
            return Err(CellError::Pattern);
        }
        match &self.enumeration {
            Some(EnumCheck::FewStrings(v)) if !v.iter().any(|e| e == s) => {
                return Err(CellError::Enum);
            }
            Some(EnumCheck::Strings(set)) if !set.contains(s) => return Err(CellError::Enum),
            Some(EnumCheck::Values(vals)) if !vals.iter().any(|e| v.compare(e) == Some(Equal)) => {
                return Err(CellError::Enum);
            }
            _ => {}
        }
        Ok(v)
    }

    /// A human description of the bound a [`CellError`] refers to.
    pub(crate) fn describe(&self, e: &CellError) -> String {
        let show = |v: &Option<Value<'static>>| v.as_ref().map(show_value).unwrap_or_default();
        match e {
            CellError::Type(t) => t.to_string(),
            CellError::Minimum => format!("below the minimum {}", show(&self.minimum)),
            CellError::Maximum => format!("above the maximum {}", show(&self.maximum)),
            CellError::ExclusiveMinimum => {
                format!("not above the exclusive minimum {}", show(&self.exclusive_minimum))
            }
            CellError::ExclusiveMaximum => {
                format!("not below the exclusive maximum {}", show(&self.exclusive_maximum))
            }
            CellError::MinLength(n) => format!("shorter than the minimum length {n}"),
            CellError::MaxLength(n) => format!("longer than the maximum length {n}"),
            CellError::Pattern => {
                format!(
                    "does not match the pattern {}",
                    self.pattern.as_ref().map(Pattern::as_str).unwrap_or("")
                )
            }
            CellError::Enum => match &self.enumeration {
                Some(EnumCheck::FewStrings(v)) => {
                    let v: Vec<&str> = v.iter().map(String::as_str).collect();
                    format!("not one of the allowed values [{}]", list(&v))
                }
                Some(EnumCheck::Strings(s)) => {
                    let mut v: Vec<&str> = s.iter().map(String::as_str).collect();
                    v.sort_unstable();
                    format!("not one of the allowed values [{}]", list(&v))
                }
                Some(EnumCheck::Values(vals)) => {
                    format!(
                        "not one of the allowed values [{}]",
                        vals.iter().map(show_value).collect::<Vec<_>>().join(", ")
                    )
                }
                None => "not an allowed value".into(),
            },
        }
    }
}

fn list(v: &[&str]) -> String {
    const SHOW: usize = 8;
    let mut s = v.iter().take(SHOW).map(|x| format!("{x:?}")).collect::<Vec<_>>().join(", ");
    if v.len() > SHOW {
        s.push_str(&format!(", … {} more", v.len() - SHOW));
    }
    s
}

fn show_value(v: &Value<'_>) -> String {
    match v {
        Value::Int(x) => x.to_string(),
        Value::Num(x) => x.to_string(),
        Value::Bool(x) => x.to_string(),
        Value::Date(d) => d.to_string(),
        Value::DateTime(s, n) => {
            chrono::DateTime::from_timestamp(*s, *n).map(|d| d.to_rfc3339()).unwrap_or_default()
        }
        Value::Time(t) => t.to_string(),
        Value::Year(y) => y.to_string(),
        Value::YearMonth(y, m) => format!("{y:04}-{m:02}"),
        Value::Str(s) => format!("{s:?}"),
        Value::Items(n) => format!("{n} items"),
        Value::Opaque => "?".into(),
    }
}

/// Reads one field's cells as numbers, for learning: integers, numbers and years as they
/// are, booleans as 1/0, dates as days since 1970-01-01, datetimes as seconds, times as
/// seconds since midnight. Missing values and values that do not parse read as `None`.
#[derive(Debug, Clone)]
pub struct NumericCells {
    cell: CellType,
    missing: Missing,
}

impl NumericCells {
    /// A reader for `field` of `schema`, or `None` when its type has no numeric reading
    /// (strings, lists, objects, ...).
    pub fn new(schema: &Schema, field: &crate::schema::Field) -> Option<NumericCells> {
        let cell = CellType::for_field(field).ok()?;
        let numeric = matches!(
            cell,
            CellType::Number(_)
                | CellType::Integer(_)
                | CellType::Boolean { .. }
                | CellType::Year
                | CellType::Date(_)
                | CellType::Datetime(_)
                | CellType::Time(_)
        );
        numeric.then(|| NumericCells {
            cell,
            missing: Missing::new(
                field.missing_values.as_deref().unwrap_or(&schema.missing_values),
            ),
        })
    }

    /// The cell as a number.
    pub fn read(&self, s: &str) -> Option<f64> {
        if self.missing.is_missing(s) {
            return None;
        }
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
        match self.cell.parse(s).ok()? {
            Value::Int(v) => Some(v as f64),
            Value::Num(v) => v.is_finite().then_some(v),
            Value::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            Value::Year(y) => Some(f64::from(y)),
            Value::Date(d) => Some((d - epoch).num_days() as f64),
            Value::DateTime(secs, nanos) => Some(secs as f64 + f64::from(nanos) * 1e-9),
            Value::Time(t) => Some(f64::from(chrono::Timelike::num_seconds_from_midnight(&t))),
            _ => None,
        }
    }

    /// Whether `s` is one of the field's missing values.
    pub fn is_missing(&self, s: &str) -> bool {
        self.missing.is_missing(s)
    }
}

#[cfg(test)]
mod numeric_cells_tests {
    use super::*;
    use crate::schema::{Field, FieldType};

    #[test]
    fn reads_numbers_dates_and_booleans() {
        let schema = Schema::empty();
        let r = |t: FieldType| NumericCells::new(&schema, &Field::new("f", t));
        assert_eq!(r(FieldType::Integer).and_then(|c| c.read("42")), Some(42.0));
        assert_eq!(r(FieldType::Number).and_then(|c| c.read("-1.5")), Some(-1.5));
        assert_eq!(r(FieldType::Number).and_then(|c| c.read("")), None);
        assert_eq!(r(FieldType::Number).and_then(|c| c.read("NaN")), None);
        assert_eq!(r(FieldType::Boolean).and_then(|c| c.read("true")), Some(1.0));
        assert_eq!(r(FieldType::Date).and_then(|c| c.read("1970-01-11")), Some(10.0));
        assert!(r(FieldType::String).is_none());
        let mut f = Field::new("f", FieldType::Number);
        f.decimal_char = Some(",".into());
        assert_eq!(NumericCells::new(&schema, &f).and_then(|c| c.read("2,5")), Some(2.5));
    }
}
