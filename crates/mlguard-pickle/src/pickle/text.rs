//! Text arguments of protocol 0 and 1 opcodes, parsed as CPython's unpicklers parse them
//! (where the C and pure-Python ones differ, a value either refuses is refused).

use super::Sym;

/// An `INT`/`LONG`/`PUT`/`GET` text argument as `int(text, 0)` reads it (decimal, or with a
/// `0x`/`0o`/`0b` prefix; underscores between digits): `Sym::Other` when it is a valid
/// number outside `i64`, `None` when it is not a number.
pub(super) fn text_int(line: &[u8]) -> Option<Sym> {
    let t = std::str::from_utf8(line).ok()?.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = t.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits) = match lower.as_deref() {
        Some("0x") => (16, &t[2..]),
        Some("0o") => (8, &t[2..]),
        Some("0b") => (2, &t[2..]),
        _ => (10, t),
    };
    let digits = digits.strip_prefix('_').filter(|_| radix != 10).unwrap_or(digits);
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || (radix == 10
            && digits.starts_with('0')
            && !digits.trim_start_matches(['0', '_']).is_empty())
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    // Python 3.11+ refuses decimal strings over 4,300 digits (sys.int_info.default_max_str_digits).
    if !clean.chars().all(|c| c.is_digit(radix)) || (radix == 10 && clean.len() > 4300) {
        return None;
    }
    Some(match i64::from_str_radix(&clean, radix) {
        Ok(v) => Sym::Int(if neg { -v } else { v }),
        Err(_) => Sym::Other,
    })
}

/// Text as CPython decodes BINUNICODE (`utf-8` with `surrogatepass`): lone surrogates
/// (`ED A0..BF xx`) are accepted and shown lossily; anything else invalid is `None`.
pub(super) fn utf8_surrogatepass(b: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    if let Ok(t) = std::str::from_utf8(b) {
        return Some(std::borrow::Cow::Borrowed(t));
    }
    let mut fixed = b.to_vec();
    let mut i = 0;
    while i + 2 < fixed.len() {
        if fixed[i] == 0xED
            && (0xA0..=0xBF).contains(&fixed[i + 1])
            && (0x80..=0xBF).contains(&fixed[i + 2])
        {
            fixed[i..i + 3].copy_from_slice("\u{FFFD}".as_bytes());
            i += 3;
        } else {
            i += 1;
        }
    }
    std::str::from_utf8(&fixed).ok()?;
    Some(String::from_utf8_lossy(b))
}

/// A `PUT`/`GET` index as both unpicklers read it: `int(text)` in base 10 (spaces, a sign
/// and leading zeros allowed), not negative.
pub(super) fn memo_index(line: &[u8]) -> Option<u64> {
    let t = std::str::from_utf8(line).ok()?.trim_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix('+').unwrap_or(t);
    let zero = t.strip_prefix('-').is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b == b'0'));
    if zero {
        return Some(0);
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Whether both unpicklers accept `t` as a FLOAT: the C one parses it with
/// `PyOS_string_to_double` (no spaces, no underscores), stricter than `float()`.
pub(super) fn python_float(t: &str) -> bool {
    // An exponent that overflows is an OverflowError in C, not infinity.
    let lower = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    let literal_inf = lower.starts_with("inf") || lower == "nan";
    !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && t.parse::<f64>().is_ok_and(|v| v.is_finite() || literal_inf)
}

/// `codecs.escape_decode`: a bytes literal's escapes (`\\`, `\'`, `\n`, octal, `\xhh`,
/// line continuations; unknown escapes kept as written). `None` where Python raises.
pub(super) fn escape_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = *s.get(i)?;
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b't' => out.push(9),
            b'n' => out.push(10),
            b'v' => out.push(11),
            b'f' => out.push(12),
            b'r' => out.push(13),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let h = s.get(i..i + 2)?;
                let v = u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
                i += 2;
                out.push(v);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// The `raw-unicode-escape` codec: bytes are Latin-1 characters except `\uXXXX` and
/// `\UXXXXXXXX`. `None` where Python raises.
pub(super) fn raw_unicode_escape_decode(s: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' || i >= s.len() {
            out.push(char::from(c));
            continue;
        }
        let count = match s[i] {
            b'u' => 4,
            b'U' => 8,
            other => {
                out.push('\\');
                out.push(char::from(other));
                i += 1;
                continue;
            }
        };
        i += 1;
        let h = s.get(i..i + count)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        if v > 0x10_FFFF {
            return None;
        }
        // Python keeps lone surrogates in a str (they cannot name anything importable):
        // shown as the lossy UTF-8 of their three bytes, as BINUNICODE's are.
        match char::from_u32(v) {
            Some(c) => out.push(c),
            None => out.push_str("\u{FFFD}\u{FFFD}\u{FFFD}"),
        }
        i += count;
    }
    Some(out)
}
