//! Rows of a prediction request as JSON sends them, read straight from the request's bytes:
//! each row a list of (column, scalar) borrowed from the body where it has no escapes,
//! instead of a map of owned strings and values per row.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One row of a prediction request: `{"column": value, ...}`, or what it was instead.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonRow<'a> {
    /// A JSON object: its members in order (a repeated column's last value counts).
    Fields(Vec<(Cow<'a, str>, JsonCell<'a>)>),
    /// Not a JSON object (rejected as such).
    NotObject,
}

/// The value of one column of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonCell<'a> {
    /// `null`: a missing value.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as JSON gave it.
    Number(serde_json::Number),
    /// A string.
    Str(Cow<'a, str>),
    /// An array or an object, which no column takes ("an array", "an object").
    Nested(&'static str),
}

impl<'a> JsonRow<'a> {
    /// The row of a parsed JSON value (strings borrowed from it).
    pub fn of_value(v: &'a serde_json::Value) -> JsonRow<'a> {
        let Some(o) = v.as_object() else { return JsonRow::NotObject };
        JsonRow::Fields(
            o.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), JsonCell::of_value(v))).collect(),
        )
    }
}

impl<'a> JsonCell<'a> {
    fn of_value(v: &'a serde_json::Value) -> JsonCell<'a> {
        match v {
            serde_json::Value::Null => JsonCell::Null,
            serde_json::Value::Bool(b) => JsonCell::Bool(*b),
            serde_json::Value::Number(n) => JsonCell::Number(n.clone()),
            serde_json::Value::String(s) => JsonCell::Str(Cow::Borrowed(s)),
            serde_json::Value::Array(_) => JsonCell::Nested("an array"),
            serde_json::Value::Object(_) => JsonCell::Nested("an object"),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonRow<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = JsonRow<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a row")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some((k, v)) = m.next_entry::<Key<'de>, JsonCell<'de>>()? {
                    fields.push((k.0, v));
                }
                Ok(JsonRow::Fields(fields))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonRow::NotObject)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonRow::NotObject)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(JsonRow::NotObject)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(JsonRow::NotObject)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(JsonRow::NotObject)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(JsonRow::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(JsonRow::NotObject)
            }
        }
        d.deserialize_any(RowVisitor)
    }
}

/// A member name, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonCell<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CellVisitor;
        impl<'de> Visitor<'de> for CellVisitor {
            type Value = JsonCell<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(JsonCell::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(JsonCell::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
                Ok(JsonCell::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
                Ok(JsonCell::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
                Ok(JsonCell::Number(n.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<Self::Value, E> {
                serde_json::Number::from_f64(x)
                    .map(JsonCell::Number)
                    .ok_or_else(|| E::custom("a number that is not finite"))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(JsonCell::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(JsonCell::Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(JsonCell::Str(Cow::Owned(s)))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut s: S) -> Result<Self::Value, S::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonCell::Nested("an array"))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonCell::Nested("an object"))
            }
        }
        d.deserialize_any(CellVisitor)
    }
}

/// The body of a prediction request: `{"rows": [{...}, ...]}` (other members ignored).
#[derive(Debug, serde::Deserialize)]
pub struct PredictBody<'a> {
    /// The rows.
    #[serde(borrow)]
    pub rows: Vec<JsonRow<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read from bytes, rows are what the parsed JSON value gives (the reference reading).
    #[test]
    fn rows_read_from_bytes_are_the_rows_of_the_parsed_value() {
        let body = br#"{"rows": [
            {"a": 1, "b": "x", "c": null, "d": true, "e": 2.5, "f": 3.0, "g": "q\"uote", "h": [1, {"x": 2}], "i": {"y": []}, "a": -7},
            [1, 2], "text", 4, null, {},
            {"big": 18446744073709551615, "tiny": 1e-300, "neg": -0.0, "esc\u00e9": "\u00e9"}
        ], "other": {"ignored": [1, 2, 3]}}"#;
        let read: PredictBody<'_> = serde_json::from_slice(body).expect("body");
        let value: serde_json::Value = serde_json::from_slice(body).expect("value");
        let reference: Vec<JsonRow<'_>> =
            value["rows"].as_array().expect("rows").iter().map(JsonRow::of_value).collect();
        assert_eq!(read.rows.len(), 7);
        for (got, want) in read.rows.iter().zip(&reference) {
            match (got, want) {
                (JsonRow::Fields(g), JsonRow::Fields(w)) => {
                    // The value keeps a repeated member once (its last value); the reading
                    // keeps every occurrence, and the last one counts.
                    fn last<'a>(
                        fields: &[(Cow<'a, str>, JsonCell<'a>)],
                    ) -> std::collections::BTreeMap<String, JsonCell<'a>> {
                        fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
                    }
                    assert_eq!(last(g), last(w));
                }
                (g, w) => assert_eq!(g, w),
            }
        }
        assert!(serde_json::from_slice::<PredictBody<'_>>(b"{\"rows\": [{\"a\": 1}").is_err());
        assert!(serde_json::from_slice::<PredictBody<'_>>(b"{\"rows\": 3}").is_err());
        assert!(serde_json::from_slice::<PredictBody<'_>>(b"{}").is_err());
    }
}
