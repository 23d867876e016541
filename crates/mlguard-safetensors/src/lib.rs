//! The safetensors format: writer, and a strict reader for untrusted bytes. Shared by the
//! learner (models it writes and loads) and the model scanner (files from elsewhere).
//!
//! ```text
//! 8 bytes   N, little-endian u64: header length
//! N bytes   JSON object: {"__metadata__": {str: str}, NAME: {"dtype", "shape", "data_offsets"}, ...}
//!           (the writer pads it with spaces to a multiple of 8)
//! rest      the tensors' bytes, little-endian, at data_offsets relative to this buffer
//! ```
//!
//! The reader is stricter than the reference implementation: duplicate keys, tensors that
//! overlap, leave gaps or do not cover the buffer exactly, sizes that do not match shape ×
//! dtype, trailing bytes, non-string metadata and oversized headers are all rejected.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Largest header accepted, in bytes.
pub const MAX_HEADER_BYTES: u64 = 16 << 20;
/// Most tensors accepted.
pub const MAX_TENSORS: usize = 100_000;

/// Why bytes are not a valid safetensors file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SafetensorsError {
    /// Shorter than the 8-byte length prefix or the header it announces.
    #[error("truncated: {0}")]
    Truncated(&'static str),
    /// The header is larger than [`MAX_HEADER_BYTES`].
    #[error("header of {0} bytes is over the limit of {MAX_HEADER_BYTES}")]
    HeaderTooLarge(u64),
    /// The header is not a JSON object of the expected shape.
    #[error("header is not valid: {0}")]
    Header(String),
    /// A key appears twice in the header.
    #[error("duplicate key {0:?} in the header")]
    DuplicateKey(String),
    /// A tensor entry is inconsistent.
    #[error("tensor {name:?}: {reason}")]
    Tensor {
        /// The tensor.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The data buffer is not exactly covered by the tensors.
    #[error("data layout: {0}")]
    Layout(String),
}

/// Element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dtype {
    /// 64-bit float.
    F64,
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// bfloat16.
    BF16,
    /// 64-bit signed integer.
    I64,
    /// 32-bit signed integer.
    I32,
    /// 16-bit signed integer.
    I16,
    /// 8-bit signed integer.
    I8,
    /// 8-bit unsigned integer.
    U8,
    /// Boolean (one byte).
    BOOL,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::BOOL => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    dtype: Dtype,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// A header object whose keys are checked for duplicates while parsing.
struct StrictObject(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictObject, A::Error> {
                let mut out: Vec<(String, serde_json::Value)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    if out.iter().any(|(key, _)| *key == k) {
                        return Err(serde::de::Error::custom(format!("duplicate key {k:?}")));
                    }
                    if out.len() > MAX_TENSORS {
                        return Err(serde::de::Error::custom("too many tensors"));
                    }
                    out.push((k, v));
                }
                Ok(StrictObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A tensor read from a file (values as f64, converted from F32 when needed).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Element type in the file.
    pub dtype: Dtype,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major, as f64 (only F64 and F32 tensors have values).
    pub values: Vec<f64>,
}

/// A parsed file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SafeTensors {
    /// Tensors by name.
    pub tensors: BTreeMap<String, Tensor>,
    /// The `__metadata__` map.
    pub metadata: BTreeMap<String, String>,
}

/// Writes F64 tensors (by name, in name order) and string metadata.
pub fn write(
    tensors: &BTreeMap<String, (Vec<usize>, Vec<f64>)>,
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::to_value(metadata).unwrap_or_default());
    }
    let mut offset = 0u64;
    for (name, (shape, values)) in tensors {
        let len = values.len() as u64 * 8;
        let entry = Entry {
            dtype: Dtype::F64,
            shape: shape.iter().map(|&s| s as u64).collect(),
            data_offsets: [offset, offset + len],
        };
        header.insert(name.clone(), serde_json::to_value(entry).unwrap_or_default());
        offset += len;
    }
    let mut json = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap_or_default();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset as usize);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, values) in tensors.values() {
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Reads and validates a safetensors file.
pub fn read(bytes: &[u8]) -> Result<SafeTensors, SafetensorsError> {
    let prefix: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or(SafetensorsError::Truncated("no 8-byte header length"))?;
    let n = u64::from_le_bytes(prefix);
    if n > MAX_HEADER_BYTES {
        return Err(SafetensorsError::HeaderTooLarge(n));
    }
    let header_end = 8 + n as usize;
    let header = bytes
        .get(8..header_end)
        .ok_or(SafetensorsError::Truncated("the file ends inside the header"))?;
    let obj: StrictObject = serde_json::from_slice(header).map_err(|e| {
        let msg = e.to_string();
        match msg.strip_prefix("duplicate key ") {
            Some(rest) => SafetensorsError::DuplicateKey(
                rest.split(" at line").next().unwrap_or(rest).trim_matches('"').to_owned(),
            ),
            None => SafetensorsError::Header(msg),
        }
    })?;
    let data = &bytes[header_end..];
    let mut out = SafeTensors::default();
    let mut spans: Vec<(u64, u64, String)> = Vec::new();
    for (name, value) in obj.0 {
        if name == "__metadata__" {
            let map = value
                .as_object()
                .ok_or_else(|| SafetensorsError::Header("__metadata__ must be an object".into()))?;
            for (k, v) in map {
                let s = v.as_str().ok_or_else(|| {
                    SafetensorsError::Header(format!(
                        "__metadata__ value for {k:?} is not a string"
                    ))
                })?;
                out.metadata.insert(k.clone(), s.to_owned());
            }
            continue;
        }
        let bad = |reason: String| SafetensorsError::Tensor { name: name.clone(), reason };
        let entry: Entry = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let elements = entry
            .shape
            .iter()
            .try_fold(1u64, |acc, &s| acc.checked_mul(s))
            .ok_or_else(|| bad("shape overflows".into()))?;
        let size =
            elements.checked_mul(entry.dtype.size()).ok_or_else(|| bad("size overflows".into()))?;
        let [begin, end] = entry.data_offsets;
        if end < begin || end - begin != size {
            return Err(bad(format!(
                "data_offsets {begin}..{end} do not hold {elements} {:?} elements",
                entry.dtype
            )));
        }
        if end > data.len() as u64 {
            return Err(bad(format!(
                "data_offsets end at {end}, past the {} data bytes",
                data.len()
            )));
        }
        let raw = &data[begin as usize..end as usize];
        let values = match entry.dtype {
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
            _ => Vec::new(),
        };
        spans.push((begin, end, name.clone()));
        out.tensors.insert(
            name,
            Tensor {
                dtype: entry.dtype,
                shape: entry.shape.iter().map(|&s| s as usize).collect(),
                values,
            },
        );
    }
    spans.sort();
    let mut at = 0u64;
    for (begin, end, name) in &spans {
        if *begin != at {
            return Err(SafetensorsError::Layout(format!(
                "tensor {name:?} starts at {begin}, expected {at} ({})",
                if *begin < at { "overlap" } else { "gap" }
            )));
        }
        at = *end;
    }
    if at != data.len() as u64 {
        return Err(SafetensorsError::Layout(format!(
            "{} trailing bytes after the last tensor",
            data.len() as u64 - at
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> Vec<u8> {
        let mut t = BTreeMap::new();
        t.insert("weights".to_owned(), (vec![2, 3], vec![1.0, -2.5, 3.0, 0.0, 1e-300, f64::MAX]));
        t.insert("bias".to_owned(), (vec![2], vec![0.5, -0.5]));
        let mut m = BTreeMap::new();
        m.insert("format".to_owned(), "mlguard".to_owned());
        write(&t, &m)
    }

    #[test]
    fn round_trip() {
        let f = read(&sample()).expect("valid");
        assert_eq!(f.metadata["format"], "mlguard");
        assert_eq!(f.tensors["weights"].shape, vec![2, 3]);
        assert_eq!(f.tensors["weights"].values[5], f64::MAX);
        assert_eq!(f.tensors["bias"].values, vec![0.5, -0.5]);
        assert_eq!(
            u64::from_le_bytes(sample()[..8].try_into().expect("8")) % 8,
            0,
            "padded header"
        );
    }

    fn with_header(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn strictness() {
        let t = |s: &str| format!("{{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":{s}}}");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![1, 2, 3], "truncated"),
            (u64::MAX.to_le_bytes().to_vec(), "over the limit"),
            (with_header("{", &[]), "not valid"),
            (
                with_header(&format!("{{\"a\":{},\"a\":{}}}", t("[0,8]"), t("[0,8]")), &[0; 8]),
                "duplicate",
            ),
            (with_header(&format!("{{\"a\":{}}}", t("[0,4]")), &[0; 4]), "do not hold"),
            (
                with_header(&format!("{{\"a\":{},\"b\":{}}}", t("[0,8]"), t("[4,12]")), &[0; 12]),
                "overlap",
            ),
            (
                with_header(&format!("{{\"a\":{},\"b\":{}}}", t("[0,8]"), t("[16,24]")), &[0; 24]),
                "gap",
            ),
            (with_header(&format!("{{\"a\":{}}}", t("[0,8]")), &[0; 9]), "trailing"),
            (
                with_header(
                    "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}",
                    &[0; 8],
                ),
                "past the",
            ),
            (with_header("{\"__metadata__\":{\"k\":1}}", &[]), "not a string"),
            (
                with_header(
                    "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8],\"x\":1}}",
                    &[0; 8],
                ),
                "unknown field",
            ),
            (
                with_header(
                    "{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                    &[0; 1],
                ),
                "unknown variant",
            ),
            (
                with_header(
                    "{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}",
                    &[0; 8],
                ),
                "overflows",
            ),
        ];
        for (bytes, want) in cases {
            let e = read(&bytes).expect_err(want);
            assert!(e.to_string().contains(want), "{want}: {e}");
        }
    }

    proptest! {
        #[test]
        fn any_tensors_round_trip(values in prop::collection::vec(prop::collection::vec(any::<f64>().prop_filter("not NaN", |v| !v.is_nan()), 0..20), 0..5)) {
            let tensors: BTreeMap<String, (Vec<usize>, Vec<f64>)> = values.iter().enumerate().map(|(i, v)| (format!("t{i}"), (vec![v.len()], v.clone()))).collect();
            let f = read(&write(&tensors, &BTreeMap::new())).expect("valid");
            for (name, (shape, v)) in &tensors {
                prop_assert_eq!(&f.tensors[name].shape, shape);
                prop_assert_eq!(&f.tensors[name].values, v);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = read(&bytes);
        }
    }
}
