//! Keras models: the model config (`config.json` of a `.keras` archive or of an unzipped
//! model directory, the `model_config` attribute of a legacy HDF5 `.h5` file) names every
//! layer; `Lambda` layers carry Python code that runs when the model is loaded, and custom
//! objects come from modules outside Keras. The config is read as Keras reads it, with
//! Python's `json.loads`: any UTF-8/16/32 encoding (`json.detect_encoding`), `NaN` and
//! `Infinity`, lone surrogates. What cannot be read is a finding.

use mlguard_findings::{Finding, Location, Severity};

use crate::classify::allowed;
use crate::scan::ScanOptions;

/// The HDF5 format signature (at the start of a file without a user block).
pub(crate) const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Longest model config searched for in an HDF5 file.
const MAX_CONFIG: usize = 64 << 20;

/// A Keras model config (`config.json` in a `.keras` archive): `Lambda` layers carry
/// Python code that runs when the model is loaded; custom objects come from modules
/// outside Keras and are reported for a person to judge (`--allow module` clears them).
/// Returns the base64 strings of the config that decode to something a loader could open
/// (a pickle, a zip...): the caller scans them like files.
pub(crate) fn keras_config(
    file: &str,
    bytes: &[u8],
    opts: &ScanOptions,
    out: &mut Vec<Finding>,
) -> Vec<Vec<u8>> {
    let text = json_text(bytes);
    let json = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => json,
        Err(_) => match serde_json::from_str::<serde_json::Value>(&python_json(&text)) {
            Ok(json) => json,
            Err(e) => {
                // Keras' json.loads may still read it: fail closed, and look for a Lambda
                // layer in the text itself.
                out.push(
                    Finding::new(
                        "model.keras.unreadable-config",
                        Severity::Medium,
                        format!("the model config could not be read as Keras reads it ({e}): its layers were not checked"),
                    )
                    .at(Location::file(file.to_owned())),
                );
                if ["\"Lambda\"", "\"TFOpLambda\"", "__lambda__"].iter().any(|l| text.contains(l)) {
                    out.push(
                        Finding::new(
                            "model.keras.lambda",
                            Severity::High,
                            "a Lambda layer is named in a config that could not be parsed: its Python code runs when the model is loaded",
                        )
                        .at(Location::file(file.to_owned()))
                        .with_value("Lambda"),
                    );
                }
                return Vec::new();
            }
        },
    };
    let mut blobs = Vec::new();
    let mut stack = vec![&json];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(m) => {
                let class = m.get("class_name").and_then(|c| c.as_str()).unwrap_or("");
                let module = m.get("module").and_then(|c| c.as_str()).unwrap_or("");
                if class == "Lambda"
                    || class == "TFOpLambda"
                        && m.get("config").is_some_and(|c| c.get("function").is_some())
                {
                    let layer = m
                        .get("config")
                        .and_then(|c| c.get("name"))
                        .and_then(|n| n.as_str())
                        .unwrap_or("?");
                    out.push(
                        Finding::new("model.keras.lambda", Severity::High, format!("Lambda layer {layer:?}: its Python code runs when the model is loaded"))
                            .at(Location::file(file.to_owned()))
                            .with_value(class),
                    );
                } else if !module.is_empty()
                    && module != "keras"
                    && !module.starts_with("keras.")
                    && !allowed(module, class, &opts.allow)
                {
                    out.push(
                        Finding::new("model.keras.custom-object", Severity::Medium, format!("custom object {class} from module {module}: its code runs when the model is loaded"))
                            .at(Location::file(file.to_owned()))
                            .with_value(format!("{module}.{class}")),
                    );
                }
                stack.extend(m.values());
            }
            serde_json::Value::Array(a) => stack.extend(a),
            serde_json::Value::String(t) => blobs.extend(blob(t)),
            _ => {}
        }
    }
    blobs
}

/// A string of a config that is base64 of something a loader could open.
fn blob(t: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/-_=".contains(&b)) {
        return None;
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(t).ok())
        .filter(|b| crate::scan::may_be_file(b))
}

/// Text of a JSON document as `json.loads(bytes)` decodes it: a BOM or the pattern of zero
/// bytes picks UTF-32 or UTF-16 (`json.detect_encoding`), else UTF-8.
fn json_text(b: &[u8]) -> String {
    let utf16 = |b: &[u8], be: bool| -> String {
        let units = b.chunks_exact(2).map(|c| {
            if be { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) }
        });
        char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
    };
    let utf32 = |b: &[u8], be: bool| -> String {
        b.chunks_exact(4)
            .map(|c| {
                let v = if be {
                    u32::from_be_bytes([c[0], c[1], c[2], c[3]])
                } else {
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]])
                };
                char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect()
    };
    match b {
        [0, 0, 0xFE, 0xFF, rest @ ..] => utf32(rest, true),
        [0xFF, 0xFE, 0, 0, rest @ ..] => utf32(rest, false),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        [0, 0, _, _, ..] => utf32(b, true),
        [0, _, _, _, ..] => utf16(b, true),
        [_, 0, 0, 0, ..] => utf32(b, false),
        [_, 0, ..] => utf16(b, false),
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Python's JSON extensions rewritten for a strict parser: `NaN`, `Infinity` and
/// `-Infinity` outside strings become `null`, numbers too large for a double become `0`,
/// and escaped lone surrogates become U+FFFD. Layer names and classes are unaffected.
fn python_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut in_string = false;
    while let Some((i, c)) = chars.next() {
        if in_string {
            if c == '\\' {
                let rest = &text[i..];
                let surrogate = rest.len() >= 6
                    && rest[1..2].eq_ignore_ascii_case("u")
                    && u16::from_str_radix(&rest[2..6], 16)
                        .is_ok_and(|u| (0xD800..0xE000).contains(&u));
                if surrogate {
                    out.push_str("\\ufffd");
                    for _ in 0..5 {
                        chars.next();
                    }
                    continue;
                }
                out.push(c);
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            if c == '"' {
                in_string = false;
            }
            out.push(c);
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            'N' if text[i..].starts_with("NaN") => {
                out.push_str("null");
                chars.nth(1);
            }
            'I' if text[i..].starts_with("Infinity") => {
                out.push_str("null");
                chars.nth(6);
            }
            '-' if text[i..].starts_with("-Infinity") => {
                out.push_str("null");
                chars.nth(7);
            }
            '0'..='9' | '-' => {
                let end = text[i..]
                    .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
                    .map_or(text.len(), |n| i + n);
                let num = &text[i..end];
                if num.parse::<f64>().is_ok_and(f64::is_finite) {
                    out.push_str(num);
                } else {
                    out.push('0');
                }
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// A legacy Keras HDF5 file: the `model_config` attribute holds the model config as JSON
/// text, stored as it is; every JSON object that starts like one (`{"class_name"`) is read.
/// A file with none holds weights only: no code.
pub(crate) fn hdf5(
    file: &str,
    data: &[u8],
    opts: &ScanOptions,
    out: &mut Vec<Finding>,
) -> Vec<Vec<u8>> {
    let mut blobs = Vec::new();
    let needle = b"{\"class_name\"";
    let mut found = false;
    let mut from = 0;
    while let Some(i) =
        data.get(from..).and_then(|d| d.windows(needle.len()).position(|w| w == needle))
    {
        let start = from + i;
        let end = json_end(&data[start..data.len().min(start + MAX_CONFIG)]).map(|n| start + n);
        match end {
            Some(end) => {
                found = true;
                blobs.extend(keras_config(
                    &format!("{file}:model_config"),
                    &data[start..end],
                    opts,
                    out,
                ));
                from = end;
            }
            None => {
                out.push(
                    Finding::new(
                        "model.keras.unreadable-config",
                        Severity::Medium,
                        format!("a model config at byte {start} does not end: its layers were not checked"),
                    )
                    .at(Location::file(file.to_owned())),
                );
                return blobs;
            }
        }
    }
    let (severity, what) = if found {
        (Severity::Info, "HDF5 Keras model: its model config was checked")
    } else {
        (Severity::Low, "HDF5 file without a Keras model config (weights only): no code to run")
    };
    out.push(Finding::new("model.keras.hdf5", severity, what).at(Location::file(file.to_owned())));
    blobs
}

/// Length of the JSON object at the start of `b` (strings and escapes respected).
fn json_end(b: &[u8]) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &c) in b.iter().enumerate() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_is_read() {
        let lambda = r#"{"class_name": "Lambda", "config": {"name": "x", "v": NaN, "w": 1e400, "s": "\ud800"}}"#;
        let mut out = Vec::new();
        keras_config("c.json", lambda.as_bytes(), &ScanOptions::default(), &mut out);
        assert!(out.iter().any(|f| f.check == "model.keras.lambda"), "{out:?}");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(lambda.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let mut out = Vec::new();
        keras_config("c.json", &utf16, &ScanOptions::default(), &mut out);
        assert!(out.iter().any(|f| f.check == "model.keras.lambda"), "{out:?}");
        let mut out = Vec::new();
        keras_config("c.json", b"{not json", &ScanOptions::default(), &mut out);
        assert!(out.iter().any(|f| f.severity == Severity::Medium), "{out:?}");
    }
}
