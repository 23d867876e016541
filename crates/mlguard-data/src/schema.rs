//! Frictionless Table Schema (v2) with mlguard's per-field properties.
//!
//! The model keeps every property it does not know in `extra`, so a schema read and
//! written back loses nothing. Loading checks the whole schema up front (types, formats,
//! every constraint against its field's type) and names the offending value by JSON
//! pointer.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value as Json};

use crate::check::CompiledSchema;
use crate::error::SchemaError;

/// Largest schema document accepted, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 16 * 1024 * 1024;
/// Most fields a schema may declare.
pub const MAX_FIELDS: usize = 100_000;

/// A table schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The fields, in order.
    pub fields: Vec<Field>,
    /// Strings that mean "no value" (default: the empty string).
    pub missing_values: Vec<String>,
    /// Fields whose combined values identify a row: required and unique together.
    pub primary_key: Vec<String>,
    /// Further combinations of fields that must be unique (rows with a missing value in
    /// the key are not checked, as in SQL).
    pub unique_keys: Vec<Vec<String>>,
    /// How the header must match the fields.
    pub fields_match: FieldsMatch,
    /// Table-level properties this version does not interpret, kept as they were.
    pub extra: Map<String, Json>,
}

/// A field of a table schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The column name, as in the CSV header.
    pub name: String,
    /// The logical type.
    pub field_type: FieldType,
    /// The type's `format` (`default` when absent).
    pub format: Option<String>,
    /// Constraints on the values.
    pub constraints: Constraints,
    /// Field-level missing values, replacing the table's when set.
    pub missing_values: Option<Vec<String>>,
    /// `number`: the decimal separator (default `.`).
    pub decimal_char: Option<String>,
    /// `number`/`integer`: the thousands separator (default none).
    pub group_char: Option<String>,
    /// `number`/`integer`: false allows leading and trailing text such as `€` or `%`.
    pub bare_number: Option<bool>,
    /// `boolean`: strings read as true.
    pub true_values: Option<Vec<String>>,
    /// `boolean`: strings read as false.
    pub false_values: Option<Vec<String>>,
    /// `list`: the item separator (default `,`).
    pub delimiter: Option<String>,
    /// `list`: the type of the items (default `string`).
    pub item_type: Option<FieldType>,
    /// `number`: accept `NaN`, `INF` and `-INF` (mlguard; default false: they are invalid,
    /// because one NaN silently poisons a model's training).
    pub allow_non_finite: Option<bool>,
    /// mlguard: what the field is for in training.
    pub role: Option<Role>,
    /// mlguard: the kind of personal data it holds.
    pub pii: Option<PiiKind>,
    /// mlguard: how to protect it before training or sharing.
    pub protect: Option<Protect>,
    /// Properties this version does not interpret (title, description, ...), kept.
    pub extra: Map<String, Json>,
}

/// Constraints on a field's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Constraints {
    /// Every row must have a value.
    pub required: bool,
    /// No two rows may have the same value (missing values are not compared).
    pub unique: bool,
    /// Smallest allowed value (inclusive).
    pub minimum: Option<Json>,
    /// Largest allowed value (inclusive).
    pub maximum: Option<Json>,
    /// Values must be greater than this.
    pub exclusive_minimum: Option<Json>,
    /// Values must be less than this.
    pub exclusive_maximum: Option<Json>,
    /// Shortest length (characters for strings, items for lists, arrays and objects).
    pub min_length: Option<u64>,
    /// Longest length.
    pub max_length: Option<u64>,
    /// A regular expression the whole lexical value must match.
    pub pattern: Option<String>,
    /// The allowed values.
    pub enum_values: Option<Vec<Json>>,
    /// Constraints this version does not interpret, kept.
    pub extra: Map<String, Json>,
}

macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The keyword as written in a schema.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the keyword.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// Logical field types of Table Schema v2.
    FieldType {
        /// Text (formats `email`, `uri`, `uuid`, `binary`).
        String = "string",
        /// A real number.
        Number = "number",
        /// A whole number (64-bit).
        Integer = "integer",
        /// true / false.
        Boolean = "boolean",
        /// A calendar date.
        Date = "date",
        /// A date and time, optionally with an offset.
        Datetime = "datetime",
        /// A time of day.
        Time = "time",
        /// A calendar year.
        Year = "year",
        /// A year and month.
        Yearmonth = "yearmonth",
        /// An ISO 8601 duration.
        Duration = "duration",
        /// A JSON object.
        Object = "object",
        /// A JSON array.
        Array = "array",
        /// Delimited items of one type.
        List = "list",
        /// A geographic point.
        Geopoint = "geopoint",
        /// A GeoJSON (or TopoJSON) object.
        Geojson = "geojson",
        /// Anything.
        Any = "any",
    }
);

keyword_enum!(
    /// How the CSV header must match the schema's fields (`fieldsMatch`).
    FieldsMatch {
        /// Same fields, same order (the default).
        Exact = "exact",
        /// Same fields, any order.
        Equal = "equal",
        /// The data has every schema field and may have more.
        Subset = "subset",
        /// Every data field is in the schema; some may be absent.
        Superset = "superset",
        /// At least one field in common.
        Partial = "partial",
    }
);

keyword_enum!(
    /// mlguard `role`: what a field is for in training.
    Role {
        /// An input to the model (the default).
        Feature = "feature",
        /// What the model predicts.
        Target = "target",
        /// Identifies a row; never a feature.
        Id = "id",
        /// Not used.
        Ignore = "ignore",
    }
);

keyword_enum!(
    /// mlguard `pii`: the kind of personal data in a field.
    PiiKind {
        /// E-mail address.
        Email = "email",
        /// Telephone number.
        Phone = "phone",
        /// US social security number.
        Ssn = "ssn",
        /// A person's name.
        Name = "name",
        /// Date of birth.
        DateOfBirth = "date_of_birth",
        /// Postal or ZIP code.
        PostalCode = "postal_code",
        /// Street address.
        Address = "address",
        /// IP address.
        IpAddress = "ip_address",
        /// Payment card number.
        CreditCard = "credit_card",
        /// Bank account number.
        Iban = "iban",
        /// A national identifier other than a US SSN: UK NINO, French NIR, German
        /// Steuer-ID, Spanish DNI/NIE, Italian codice fiscale, Dutch BSN, Swedish
        /// personnummer, Polish PESEL.
        NationalId = "national_id",
        /// Any other direct identifier.
        Identifier = "identifier",
        /// Not identifying alone, but in combination (a quasi-identifier).
        Quasi = "quasi",
    }
);

keyword_enum!(
    /// mlguard `protect`: what to do with a field's values before use.
    Protect {
        /// Remove the column.
        Drop = "drop",
        /// Replace by a keyed pseudonym.
        Pseudonymize = "pseudonymize",
        /// Replace by a mask.
        Mask = "mask",
        /// Coarsen (year of a date, prefix of a code, ...).
        Generalize = "generalize",
    }
);

impl Schema {
    /// A schema with no fields and the Table Schema defaults.
    pub fn empty() -> Schema {
        Schema {
            fields: Vec::new(),
            missing_values: vec![String::new()],
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            fields_match: FieldsMatch::Exact,
            extra: Map::new(),
        }
    }

    /// Parses and checks a schema document.
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        if text.len() > MAX_SCHEMA_BYTES {
            return Err(SchemaError::new(
                "",
                format!("schema is {} bytes; the limit is {MAX_SCHEMA_BYTES}", text.len()),
            ));
        }
        let json: Json = serde_json::from_str(text).map_err(|e| {
            SchemaError::new(
                "",
                format!("not valid JSON (line {}, column {}): {e}", e.line(), e.column()),
            )
        })?;
        Schema::from_json(&json)
    }

    /// Reads and checks a schema from parsed JSON.
    pub fn from_json(json: &Json) -> Result<Schema, SchemaError> {
        let schema = parse_schema(json)?;
        CompiledSchema::new(&schema)?;
        Ok(schema)
    }

    /// The schema as JSON, with every kept property.
    pub fn to_json(&self) -> Json {
        let mut obj = Map::new();
        if self.fields_match != FieldsMatch::Exact {
            obj.insert("fieldsMatch".into(), self.fields_match.as_str().into());
        }
        obj.insert("fields".into(), Json::Array(self.fields.iter().map(Field::to_json).collect()));
        if self.missing_values != [""] {
            obj.insert("missingValues".into(), strings(&self.missing_values));
        }
        match self.primary_key.as_slice() {
            [] => {}
            [one] => {
                obj.insert("primaryKey".into(), one.as_str().into());
            }
            many => {
                obj.insert("primaryKey".into(), strings(many));
            }
        }
        if !self.unique_keys.is_empty() {
            obj.insert(
                "uniqueKeys".into(),
                Json::Array(self.unique_keys.iter().map(|k| strings(k)).collect()),
            );
        }
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        Json::Object(obj)
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl Field {
    /// A field of `field_type` with no constraints.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Field {
        Field {
            name: name.into(),
            field_type,
            format: None,
            constraints: Constraints::default(),
            missing_values: None,
            decimal_char: None,
            group_char: None,
            bare_number: None,
            true_values: None,
            false_values: None,
            delimiter: None,
            item_type: None,
            allow_non_finite: None,
            role: None,
            pii: None,
            protect: None,
            extra: Map::new(),
        }
    }

    /// The field as JSON, with every kept property.
    pub fn to_json(&self) -> Json {
        let mut obj = Map::new();
        obj.insert("name".into(), self.name.clone().into());
        obj.insert("type".into(), self.field_type.as_str().into());
        let opt_str = |obj: &mut Map<String, Json>, k: &str, v: &Option<String>| {
            if let Some(v) = v {
                obj.insert(k.into(), v.clone().into());
            }
        };
        opt_str(&mut obj, "format", &self.format);
        if let Some(r) = self.role {
            obj.insert("role".into(), r.as_str().into());
        }
        if let Some(p) = self.pii {
            obj.insert("pii".into(), p.as_str().into());
        }
        if let Some(p) = self.protect {
            obj.insert("protect".into(), p.as_str().into());
        }
        opt_str(&mut obj, "decimalChar", &self.decimal_char);
        opt_str(&mut obj, "groupChar", &self.group_char);
        if let Some(b) = self.bare_number {
            obj.insert("bareNumber".into(), b.into());
        }
        if let Some(v) = &self.true_values {
            obj.insert("trueValues".into(), strings(v));
        }
        if let Some(v) = &self.false_values {
            obj.insert("falseValues".into(), strings(v));
        }
        opt_str(&mut obj, "delimiter", &self.delimiter);
        if let Some(t) = self.item_type {
            obj.insert("itemType".into(), t.as_str().into());
        }
        if let Some(b) = self.allow_non_finite {
            obj.insert("allowNonFinite".into(), b.into());
        }
        if let Some(v) = &self.missing_values {
            obj.insert("missingValues".into(), strings(v));
        }
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        let c = self.constraints.to_json();
        if !c.is_empty() {
            obj.insert("constraints".into(), Json::Object(c));
        }
        Json::Object(obj)
    }
}

impl Constraints {
    fn to_json(&self) -> Map<String, Json> {
        let mut c = Map::new();
        if self.required {
            c.insert("required".into(), true.into());
        }
        if self.unique {
            c.insert("unique".into(), true.into());
        }
        for (k, v) in [
            ("minimum", &self.minimum),
            ("maximum", &self.maximum),
            ("exclusiveMinimum", &self.exclusive_minimum),
            ("exclusiveMaximum", &self.exclusive_maximum),
        ] {
            if let Some(v) = v {
                c.insert(k.into(), v.clone());
            }
        }
        if let Some(v) = self.min_length {
            c.insert("minLength".into(), v.into());
        }
        if let Some(v) = self.max_length {
            c.insert("maxLength".into(), v.into());
        }
        if let Some(p) = &self.pattern {
            c.insert("pattern".into(), p.clone().into());
        }
        if let Some(e) = &self.enum_values {
            c.insert("enum".into(), Json::Array(e.clone()));
        }
        for (k, v) in &self.extra {
            c.insert(k.clone(), v.clone());
        }
        c
    }
}

fn strings(v: &[String]) -> Json {
    Json::Array(v.iter().map(|s| Json::String(s.clone())).collect())
}

/// Escapes a key for use in a JSON pointer (RFC 6901).
fn esc(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Properties of a schema, a field and a field's constraints that mlguard reads.
const TABLE_KEYS: &[&str] = &[
    "fields",
    "missingValues",
    "primaryKey",
    "uniqueKeys",
    "fieldsMatch",
    "foreignKeys",
    "$schema",
    "title",
    "description",
];
const FIELD_KEYS: &[&str] = &[
    "name",
    "type",
    "format",
    "constraints",
    "missingValues",
    "decimalChar",
    "groupChar",
    "bareNumber",
    "trueValues",
    "falseValues",
    "delimiter",
    "itemType",
    "allowNonFinite",
    "role",
    "pii",
    "protect",
    "title",
    "description",
    "example",
    "rdfType",
];
const CONSTRAINT_KEYS: &[&str] = &[
    "required",
    "unique",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
];

/// The property `key` was probably meant as, among `known`: the same letters in another
/// case or with `_`/`-` (`decimal_char`, `MissingValues`), a common synonym (`min`, `regex`,
/// `values`), or one or two typing slips (`contraints`, `maximun`).
fn meant(key: &str, known: &[&'static str]) -> Option<&'static str> {
    const SYNONYMS: &[(&str, &str)] = &[
        ("min", "minimum"),
        ("max", "maximum"),
        ("regex", "pattern"),
        ("regexp", "pattern"),
        ("values", "enum"),
        ("allowed", "enum"),
        ("choices", "enum"),
        ("enums", "enum"),
        ("minlen", "minLength"),
        ("maxlen", "maxLength"),
        ("nullable", "required"),
        ("optional", "required"),
        ("primary_key", "primaryKey"),
        ("pk", "primaryKey"),
        ("na_values", "missingValues"),
        ("nullvalues", "missingValues"),
    ];
    let norm =
        |k: &str| k.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_lowercase();
    let k = norm(key);
    if let Some((_, to)) = SYNONYMS.iter().find(|(from, _)| norm(from) == k) {
        return known.iter().copied().find(|t| t == to);
    }
    known.iter().copied().find(|t| norm(t) == k).or_else(|| {
        (k.len() >= 5)
            .then(|| {
                known.iter().copied().find(|t| t.len() >= 5 && edit_distance(&norm(t), &k) <= 2)
            })
            .flatten()
    })
}

/// Levenshtein distance, for short property names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// An extension property is kept as it is (Table Schema allows them on a schema and a
/// field); one that looks like a misspelt property mlguard reads is an error saying which.
fn check_extension(
    key: &str,
    ptr: &str,
    what: &str,
    known: &[&'static str],
) -> Result<(), SchemaError> {
    if key.starts_with("x-") || known.contains(&key) {
        return Ok(());
    }
    if what.starts_with("field")
        && let Some(c) = meant(key, CONSTRAINT_KEYS)
    {
        return Err(SchemaError::new(
            ptr,
            format!(
                "{what}: `{key}` is not a field property; did you mean `{c}` inside `constraints`?"
            ),
        ));
    }
    match meant(key, known) {
        Some(m) => Err(SchemaError::new(
            ptr,
            format!("{what}: unknown property `{key}`; did you mean `{m}`?"),
        )),
        None => Ok(()),
    }
}

fn parse_schema(json: &Json) -> Result<Schema, SchemaError> {
    let obj =
        json.as_object().ok_or_else(|| SchemaError::new("", "a schema must be a JSON object"))?;
    let mut schema = Schema::empty();
    let mut saw_fields = false;
    for (key, value) in obj {
        let ptr = format!("/{}", esc(key));
        match key.as_str() {
            "fields" => {
                saw_fields = true;
                let arr = value
                    .as_array()
                    .ok_or_else(|| SchemaError::new(&ptr, "`fields` must be an array"))?;
                if arr.len() > MAX_FIELDS {
                    return Err(SchemaError::new(&ptr, format!("more than {MAX_FIELDS} fields")));
                }
                for (i, f) in arr.iter().enumerate() {
                    schema.fields.push(parse_field(f, &format!("/fields/{i}"))?);
                }
            }
            "missingValues" => schema.missing_values = string_list(value, &ptr)?,
            "primaryKey" => {
                schema.primary_key = match value {
                    Json::String(s) => vec![s.clone()],
                    _ => string_list(value, &ptr)?,
                }
            }
            "uniqueKeys" => {
                let arr = value.as_array().ok_or_else(|| {
                    SchemaError::new(&ptr, "`uniqueKeys` must be an array of arrays of field names")
                })?;
                for (i, k) in arr.iter().enumerate() {
                    let key = string_list(k, &format!("{ptr}/{i}"))?;
                    if key.is_empty() {
                        return Err(SchemaError::new(
                            format!("{ptr}/{i}"),
                            "a unique key needs at least one field",
                        ));
                    }
                    schema.unique_keys.push(key);
                }
            }
            "fieldsMatch" => {
                let s = value
                    .as_str()
                    .ok_or_else(|| SchemaError::new(&ptr, "`fieldsMatch` must be a string"))?;
                schema.fields_match = FieldsMatch::parse(s).ok_or_else(|| {
                    SchemaError::new(
                        &ptr,
                        format!(
                            "unknown fieldsMatch {s:?}; expected one of {}",
                            FieldsMatch::expected()
                        ),
                    )
                })?;
            }
            _ => {
                check_extension(key, &ptr, "the schema", TABLE_KEYS)?;
                schema.extra.insert(key.clone(), value.clone());
            }
        }
    }
    if !saw_fields {
        return Err(SchemaError::new("/fields", "a schema needs a `fields` array"));
    }
    let mut seen = HashSet::new();
    for (i, f) in schema.fields.iter().enumerate() {
        if !seen.insert(f.name.as_str()) {
            return Err(SchemaError::new(
                format!("/fields/{i}/name"),
                format!("duplicate field name {:?}", f.name),
            ));
        }
    }
    let known = |name: &str, ptr: String| -> Result<(), SchemaError> {
        if seen.contains(name) {
            Ok(())
        } else {
            Err(SchemaError::new(ptr, format!("{name:?} is not a field of this schema")))
        }
    };
    for (i, name) in schema.primary_key.iter().enumerate() {
        known(name, format!("/primaryKey/{i}"))?;
    }
    for (i, key) in schema.unique_keys.iter().enumerate() {
        for (j, name) in key.iter().enumerate() {
            known(name, format!("/uniqueKeys/{i}/{j}"))?;
        }
    }
    Ok(schema)
}

fn parse_field(json: &Json, ptr: &str) -> Result<Field, SchemaError> {
    let obj =
        json.as_object().ok_or_else(|| SchemaError::new(ptr, "a field must be a JSON object"))?;
    let name = match obj.get("name") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        Some(Json::String(_)) => {
            return Err(SchemaError::new(format!("{ptr}/name"), "field name is empty"));
        }
        Some(_) => {
            return Err(SchemaError::new(format!("{ptr}/name"), "field name must be a string"));
        }
        None => return Err(SchemaError::new(ptr, "field has no `name`")),
    };
    let what = format!("field {name:?}");
    let field_type = match obj.get("type") {
        None => FieldType::Any,
        Some(Json::String(s)) => FieldType::parse(s).ok_or_else(|| {
            SchemaError::new(
                format!("{ptr}/type"),
                format!("{what}: unknown type {s:?}; expected one of {}", FieldType::expected()),
            )
        })?,
        Some(_) => {
            return Err(SchemaError::new(
                format!("{ptr}/type"),
                format!("{what}: `type` must be a string"),
            ));
        }
    };
    let mut field = Field::new(name, field_type);
    for (key, value) in obj {
        let p = format!("{ptr}/{}", esc(key));
        let s = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| SchemaError::new(&p, format!("{what}: `{key}` must be a string")))
        };
        let b = || {
            value.as_bool().ok_or_else(|| {
                SchemaError::new(&p, format!("{what}: `{key}` must be true or false"))
            })
        };
        match key.as_str() {
            "name" | "type" => {}
            "format" => field.format = Some(s()?),
            "constraints" => field.constraints = parse_constraints(value, &p, &what)?,
            "missingValues" => field.missing_values = Some(string_list(value, &p)?),
            "decimalChar" => field.decimal_char = Some(s()?),
            "groupChar" => field.group_char = Some(s()?),
            "bareNumber" => field.bare_number = Some(b()?),
            "trueValues" => field.true_values = Some(string_list(value, &p)?),
            "falseValues" => field.false_values = Some(string_list(value, &p)?),
            "delimiter" => field.delimiter = Some(s()?),
            "itemType" => {
                let t = s()?;
                field.item_type = Some(FieldType::parse(&t).ok_or_else(|| {
                    SchemaError::new(
                        &p,
                        format!(
                            "{what}: unknown itemType {t:?}; expected one of {}",
                            FieldType::expected()
                        ),
                    )
                })?);
            }
            "allowNonFinite" => field.allow_non_finite = Some(b()?),
            "role" => {
                let t = s()?;
                field.role = Some(Role::parse(&t).ok_or_else(|| {
                    SchemaError::new(
                        &p,
                        format!("{what}: unknown role {t:?}; expected one of {}", Role::expected()),
                    )
                })?);
            }
            "pii" => {
                let t = s()?;
                field.pii = Some(PiiKind::parse(&t).ok_or_else(|| {
                    SchemaError::new(
                        &p,
                        format!(
                            "{what}: unknown pii kind {t:?}; expected one of {}",
                            PiiKind::expected()
                        ),
                    )
                })?);
            }
            "protect" => {
                let t = s()?;
                field.protect = Some(Protect::parse(&t).ok_or_else(|| {
                    SchemaError::new(
                        &p,
                        format!(
                            "{what}: unknown protect action {t:?}; expected one of {}",
                            Protect::expected()
                        ),
                    )
                })?);
            }
            _ => {
                check_extension(key, &p, &what, FIELD_KEYS)?;
                field.extra.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(field)
}

fn parse_constraints(json: &Json, ptr: &str, what: &str) -> Result<Constraints, SchemaError> {
    let obj = json
        .as_object()
        .ok_or_else(|| SchemaError::new(ptr, format!("{what}: `constraints` must be an object")))?;
    let mut c = Constraints::default();
    for (key, value) in obj {
        let p = format!("{ptr}/{}", esc(key));
        let b = || {
            value.as_bool().ok_or_else(|| {
                SchemaError::new(&p, format!("{what}: `{key}` must be true or false"))
            })
        };
        let n = || {
            value.as_u64().ok_or_else(|| {
                SchemaError::new(&p, format!("{what}: `{key}` must be a non-negative integer"))
            })
        };
        match key.as_str() {
            "required" => c.required = b()?,
            "unique" => c.unique = b()?,
            "minimum" => c.minimum = Some(value.clone()),
            "maximum" => c.maximum = Some(value.clone()),
            "exclusiveMinimum" => c.exclusive_minimum = Some(value.clone()),
            "exclusiveMaximum" => c.exclusive_maximum = Some(value.clone()),
            "minLength" => c.min_length = Some(n()?),
            "maxLength" => c.max_length = Some(n()?),
            "pattern" => {
                c.pattern = Some(value.as_str().map(str::to_owned).ok_or_else(|| {
                    SchemaError::new(&p, format!("{what}: `pattern` must be a string"))
                })?)
            }
            "enum" => {
                let arr = value.as_array().ok_or_else(|| {
                    SchemaError::new(&p, format!("{what}: `enum` must be an array"))
                })?;
                if arr.is_empty() {
                    return Err(SchemaError::new(
                        &p,
                        format!("{what}: `enum` must list at least one value"),
                    ));
                }
                c.enum_values = Some(arr.clone());
            }
            // Table Schema defines no other constraint: anything else would be silently
            // not enforced. Extensions say so with `x-`.
            _ if key.starts_with("x-") => {
                c.extra.insert(key.clone(), value.clone());
            }
            _ => {
                let hint = match meant(key, CONSTRAINT_KEYS) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("the constraints are {}", CONSTRAINT_KEYS.join(", ")),
                };
                return Err(SchemaError::new(
                    &p,
                    format!("{what}: unknown constraint `{key}`; {hint}"),
                ));
            }
        }
    }
    Ok(c)
}

fn string_list(json: &Json, ptr: &str) -> Result<Vec<String>, SchemaError> {
    let arr =
        json.as_array().ok_or_else(|| SchemaError::new(ptr, "expected an array of strings"))?;
    arr.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| SchemaError::new(format!("{ptr}/{i}"), "expected a string"))
        })
        .collect()
}
