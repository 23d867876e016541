//! `pattern` constraints: a regular expression that must match the whole value.
//!
//! Most patterns in data schemas are codes of digits and separators (`\d{3}-\d{2}-\d{4}`,
//! `\d{5}`, `\+1-\d{3}-\d{3}-\d{4}`). Those are matched by hand, many times faster than a
//! regex engine call per cell; everything else goes to the `regex` crate (linear time, no
//! backtracking). The two always agree: the fast path only handles ASCII input, since
//! `\d` also matches non-ASCII digits.

use regex::Regex;

/// Limit on the compiled size of one pattern, so a hostile schema cannot exhaust memory.
const MAX_PATTERN_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    /// Exactly this many ASCII digits.
    Digits(usize),
    /// This ASCII byte.
    Byte(u8),
}

/// A compiled `pattern`.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    source: String,
    regex: Regex,
    simple: Option<Vec<Atom>>,
}

impl Pattern {
    pub(crate) fn new(source: &str) -> Result<Pattern, regex::Error> {
        let regex = regex::RegexBuilder::new(&format!("^(?:{source})$"))
            .size_limit(MAX_PATTERN_BYTES)
            .build()?;
        Ok(Pattern { source: source.to_owned(), regex, simple: simple_atoms(source) })
    }

    /// The pattern as written in the schema.
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }

    #[inline]
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.simple {
            Some(atoms) if s.is_ascii() => match_atoms(atoms, s.as_bytes()),
            _ => self.regex.is_match(s),
        }
    }
}

fn match_atoms(atoms: &[Atom], mut b: &[u8]) -> bool {
    for atom in atoms {
        match *atom {
            Atom::Digits(n) => {
                if b.len() < n || !b[..n].iter().all(u8::is_ascii_digit) {
                    return false;
                }
                b = &b[n..];
            }
            Atom::Byte(c) => match b.split_first() {
                Some((&x, rest)) if x == c => b = rest,
                _ => return false,
            },
        }
    }
    b.is_empty()
}

/// Parses patterns made only of `\d`, `[0-9]` (each optionally `{n}`) and literal ASCII
/// characters; `None` for anything else.
fn simple_atoms(p: &str) -> Option<Vec<Atom>> {
    let b = p.as_bytes();
    let mut atoms = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let digit = if b[i..].starts_with(b"\\d") {
            i += 2;
            true
        } else if b[i..].starts_with(b"[0-9]") {
            i += 5;
            true
        } else {
            false
        };
        if digit {
            let mut n = 1;
            if b.get(i) == Some(&b'{') {
                let close = i + b[i..].iter().position(|&c| c == b'}')?;
                n = std::str::from_utf8(&b[i + 1..close]).ok()?.parse().ok()?;
                if n == 0 || n > 1000 {
                    return None;
                }
                i = close + 1;
            }
            if let Some(Atom::Digits(m)) = atoms.last_mut() {
                *m += n;
            } else {
                atoms.push(Atom::Digits(n));
            }
            continue;
        }
        let c = b[i];
        if c == b'\\' {
            let next = *b.get(i + 1)?;
            // An escaped punctuation character is that character; `\w`, `\s`, ... are not simple.
            if !next.is_ascii_punctuation() {
                return None;
            }
            atoms.push(Atom::Byte(next));
            i += 2;
        } else if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b' ' | b'-'
                    | b'_'
                    | b':'
                    | b'/'
                    | b','
                    | b'@'
                    | b'#'
                    | b'%'
                    | b'&'
                    | b'='
                    | b'!'
                    | b'~'
                    | b'\''
                    | b'<'
                    | b'>'
                    | b'"'
                    | b';'
            )
        {
            atoms.push(Atom::Byte(c));
            i += 1;
        } else {
            return None;
        }
        // A quantifier after a literal is not simple.
        if matches!(b.get(i), Some(b'{' | b'*' | b'+' | b'?')) {
            return None;
        }
    }
    Some(atoms)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn simple_patterns_are_recognised() {
        assert_eq!(
            simple_atoms("\\d{3}-\\d{2}"),
            Some(vec![Atom::Digits(3), Atom::Byte(b'-'), Atom::Digits(2)])
        );
        assert_eq!(
            simple_atoms("\\+1-[0-9]{3}"),
            Some(vec![Atom::Byte(b'+'), Atom::Byte(b'1'), Atom::Byte(b'-'), Atom::Digits(3)])
        );
        for complex in
            ["\\d+", "a|b", "[a-z]", "\\d{2,3}", "(ab)", "a*", "\\w", ".", "^a$", "ab{2}", "é"]
        {
            assert_eq!(simple_atoms(complex), None, "{complex}");
        }
    }

    #[test]
    fn unicode_digits_go_to_the_regex() {
        let p = Pattern::new("\\d{2}").expect("pattern");
        assert!(p.is_match("12"));
        assert!(p.is_match("١٢"), "Arabic-Indic digits are \\d for the regex crate");
        assert!(!p.is_match("1"));
    }

    proptest! {
        #[test]
        fn fast_path_agrees_with_regex(
            pattern in prop::sample::select(vec!["\\d{3}-\\d{2}-\\d{4}", "\\d{5}", "\\+1-\\d{3}", "[0-9]\\d", "A\\.\\d{2}", "x\\(\\d\\)"]),
            s in "[0-9A+x.()\\-]{0,12}",
        ) {
            let p = Pattern::new(pattern).expect("pattern");
            prop_assert!(p.simple.is_some());
            prop_assert_eq!(p.is_match(&s), p.regex.is_match(&s), "{} on {:?}", pattern, s);
        }
    }
}
