//! The header of a NumPy `.npy` file, read as `numpy.lib.format` reads it: a Python
//! literal dict (`ast.literal_eval`) whose `descr` becomes `numpy.dtype(descr)`. Whenever
//! that dtype can hold objects, `numpy.load(allow_pickle=True)` unpickles the data, so the
//! question is not "does the header say `'|O'`" but "is the dtype provably plain": only
//! descriptors made of plain type codes (`'<f8'`, `'|S3'`, `'<M8[ns]'`, structured lists of
//! those) are; anything else is read as a pickle.

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Num,
    Const,
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// Longest header parsed (numpy itself refuses headers over 10,000 bytes by default).
const MAX_HEADER: usize = 1 << 20;
/// Deepest nesting of literals followed.
const MAX_NESTING: usize = 32;

/// Whether the array's data is a pickle: `Ok(true)` unless the header's `descr` is provably
/// a plain dtype; `Err` when the header is not a literal dict with a `descr`.
pub(crate) fn holds_objects(header: &str) -> Result<bool, String> {
    if header.len() > MAX_HEADER {
        return Err("the .npy header is too long".into());
    }
    let mut p = Parser { s: header.as_bytes(), i: 0 };
    let lit = p.value(0).ok_or("the .npy header is not a Python literal")?;
    p.ws();
    if p.i != p.s.len() {
        return Err("the .npy header has text after its dict".into());
    }
    let Lit::Dict(entries) = lit else {
        return Err("the .npy header is not a dict".into());
    };
    // ast.literal_eval keeps the last of repeated keys.
    let descr = entries
        .iter()
        .rev()
        .find(|(k, _)| *k == Lit::Str("descr".into()))
        .map(|(_, v)| v)
        .ok_or("the .npy header has no 'descr'")?;
    Ok(!plain(descr, 0))
}

/// Whether a `descr` is a dtype without objects, by numpy's `descr_to_dtype`: a type code,
/// or a list of `(name, descr[, shape])` fields.
fn plain(descr: &Lit, depth: usize) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    match descr {
        Lit::Str(code) => plain_code(code),
        Lit::Seq(fields) => fields.iter().all(|f| match f {
            Lit::Seq(parts) if (2..=3).contains(&parts.len()) => {
                let name_ok = matches!(&parts[0], Lit::Str(_))
                    || matches!(&parts[0], Lit::Seq(t) if t.iter().all(|x| matches!(x, Lit::Str(_))));
                let shape_ok = parts.get(2).is_none_or(|s| match s {
                    Lit::Num => true,
                    Lit::Seq(d) => d.iter().all(|x| *x == Lit::Num),
                    _ => false,
                });
                name_ok && shape_ok && plain(&parts[1], depth + 1)
            }
            _ => false,
        }),
        _ => false,
    }
}

/// A plain type code: byte order, then a kind and size numpy writes (`f8`, `U10`, `M8[ns]`).
fn plain_code(code: &str) -> bool {
    let c = code.strip_prefix(['<', '>', '|', '=']).unwrap_or(code);
    let (kind, rest) = match c.char_indices().nth(1) {
        Some((i, _)) => c.split_at(i),
        None => (c, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    match kind {
        "b" => rest == "1" || rest.is_empty(),
        "?" => rest.is_empty(),
        "i" | "u" => matches!(rest, "1" | "2" | "4" | "8"),
        "f" => matches!(rest, "2" | "4" | "8" | "12" | "16"),
        "c" => matches!(rest, "8" | "16" | "24" | "32"),
        "U" | "S" | "a" | "V" => digits(rest),
        "M" | "m" => {
            let unit = rest.strip_prefix('8').unwrap_or("x");
            unit.is_empty()
                || unit.strip_prefix('[').and_then(|u| u.strip_suffix(']')).is_some_and(|u| {
                    !u.is_empty() && u.len() <= 8 && u.bytes().all(|b| b.is_ascii_alphanumeric())
                })
        }
        _ => false,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Lit> {
        if depth > MAX_NESTING {
            return None;
        }
        self.ws();
        let c = *self.s.get(self.i)?;
        match c {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    if self.eat(b'}') {
                        return Some(Lit::Dict(entries));
                    }
                    let k = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return None;
                    }
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                    if !self.eat(b',') {
                        return self.eat(b'}').then_some(Lit::Dict(entries));
                    }
                }
            }
            b'(' | b'[' => {
                let close = if c == b'(' { b')' } else { b']' };
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    if self.eat(close) {
                        return Some(Lit::Seq(items));
                    }
                    items.push(self.value(depth + 1)?);
                    if !self.eat(b',') {
                        return self.eat(close).then_some(Lit::Seq(items));
                    }
                }
            }
            b'\'' | b'"' => self.string(),
            b'u' | b'b' | b'r' | b'U' | b'B' | b'R'
                if matches!(self.s.get(self.i + 1), Some(b'\'' | b'"')) =>
            {
                // A prefix changes escapes (raw) or the type (bytes): either is not a
                // plain str numpy accepts; read it, and let `plain` reject what is odd.
                let raw = matches!(c, b'r' | b'R');
                let bytes = matches!(c, b'b' | b'B');
                self.i += 1;
                let s = self.string()?;
                Some(if raw || bytes { Lit::Const } else { s })
            }
            b'-' | b'+' | b'0'..=b'9' => {
                self.i += 1;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.')
                {
                    self.i += 1;
                }
                Some(Lit::Num)
            }
            _ => {
                let start = self.i;
                while self.s.get(self.i).is_some_and(|b| b.is_ascii_alphabetic()) {
                    self.i += 1;
                }
                matches!(&self.s[start..self.i], b"True" | b"False" | b"None").then_some(Lit::Const)
            }
        }
    }

    /// A quoted string with Python's escapes.
    fn string(&mut self) -> Option<Lit> {
        let quote = *self.s.get(self.i)?;
        self.i += 1;
        let mut out = String::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                _ if c == quote => return Some(Lit::Str(out)),
                b'\n' => return None,
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let hex = |p: &mut Self, n: usize| -> Option<char> {
                        let h = std::str::from_utf8(p.s.get(p.i..p.i + n)?).ok()?;
                        p.i += n;
                        char::from_u32(u32::from_str_radix(h, 16).ok()?)
                    };
                    match e {
                        b'x' => out.push(hex(self, 2)?),
                        b'u' => out.push(hex(self, 4)?),
                        b'U' => out.push(hex(self, 8)?),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.s.get(self.i) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.i += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(char::from_u32(v)?);
                        }
                        b'\\' | b'\'' | b'"' => out.push(char::from(e)),
                        b'\n' => {}
                        // Other escapes (\a, \N{...}) never appear in numpy's headers: a
                        // string holding one is not a plain code.
                        _ => {
                            out.push('\\');
                            out.push(char::from(e));
                        }
                    }
                }
                _ => {
                    // Multi-byte UTF-8 (version 3 headers) is kept as it is.
                    let start = self.i - 1;
                    let len = match c {
                        0xC0..=0xDF => 2,
                        0xE0..=0xEF => 3,
                        0xF0..=0xF7 => 4,
                        _ => 1,
                    };
                    let chunk = self.s.get(start..start + len)?;
                    match std::str::from_utf8(chunk) {
                        Ok(t) => out.push_str(t),
                        Err(_) => out.push(char::from(c)),
                    }
                    self.i = start + len;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_object_dtypes() {
        let h =
            |descr: &str| format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3,), }}");
        for plain in
            ["'<f8'", "'|b1'", "'<U10'", "'|S3'", "'<M8[ns]'", "[('O', '<f8'), ('b', '<i4', (2,))]"]
        {
            assert_eq!(holds_objects(&h(plain)), Ok(false), "{plain}");
        }
        for object in [
            "'|O'",
            "'<O'",
            "'|O8'",
            "'object'",
            "'\\x4f'",
            "[('a', '<i8'), ('b', 'object')]",
            "'O'",
        ] {
            assert_eq!(holds_objects(&h(object)), Ok(true), "{object}");
        }
        assert!(holds_objects("{'shape': (1,)}").is_err());
        assert!(holds_objects("not a dict").is_err());
        // Repeated keys: the last wins, as in ast.literal_eval.
        assert_eq!(holds_objects("{'descr': '<f8', 'descr': '|O'}"), Ok(true));
    }
}
