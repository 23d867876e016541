//! National identifiers, each checked by the rules its issuer publishes (check digits,
//! embedded birth dates, letter ranges), so that order numbers and other ids of the same
//! length are not reported. The checks agree with python-stdnum, the reference the tests
//! compare against (`tests/national_ids.rs`), and are stricter where a rule stdnum leaves
//! out is published (the sex digit and month of a NIR, PESEL dates in the past).
//!
//! How strong a check is decides where a bare number counts: a DNI's check letter or a
//! NIR's mod-97 key is reported anywhere; a BSN passes its 11-test by chance for one random
//! 9-digit number in 11, so it needs its name near it (in the cell or the column header)
//! or a column whose values all pass.

use std::sync::OnceLock;

use regex::Regex;

use super::dates::days_in_month;
use super::{ColumnHint, Kind, Span, Words, glued, luhn, push, re};

/// Whether `value` is a valid national identifier of `kind` as it may be written: spaces,
/// dots and dashes between its characters are ignored (a personnummer keeps the `-` or
/// `+` before its last four digits), letters are upper-cased. Kinds that are not national
/// identifiers other than the US SSN are never valid here.
///
/// ```
/// use mlguard_data::pii::{Kind, national_id_valid};
///
/// assert!(national_id_valid(Kind::FrNir, "2 95 10 99 126 111 93"));
/// assert!(national_id_valid(Kind::SePersonnummer, "19880320-0016"));
/// assert!(!national_id_valid(Kind::NlBsn, "111222334"));
/// ```
pub fn national_id_valid(kind: Kind, value: &str) -> bool {
    let value = value.trim();
    if kind == Kind::SePersonnummer {
        let mut compact = se_compact(value);
        if !compact.is_ascii() {
            return false;
        }
        if !compact.contains(['-', '+']) && compact.len() > 4 {
            compact.insert(compact.len() - 4, '-');
        }
        return se_personnummer(&compact);
    }
    valid(kind, &compact(value))
}

/// A value without the separators identifiers are written with (spaces, dots, dashes),
/// upper case.
fn compact(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect::<String>().to_ascii_uppercase()
}

/// Whether a compact (separator-free, upper-case) value is a valid identifier of `kind`.
pub(crate) fn valid(kind: Kind, compact: &str) -> bool {
    // Every identifier is ASCII; the checks below index bytes.
    if !compact.is_ascii() {
        return false;
    }
    match kind {
        Kind::UkNino => nino(compact),
        Kind::FrNir => nir(compact),
        Kind::DeTaxId => de_idnr(compact),
        Kind::EsDni => es_dni(compact),
        Kind::ItFiscalCode => it_codice_fiscale(compact),
        Kind::NlBsn => nl_bsn(compact),
        Kind::SePersonnummer => se_personnummer(compact),
        Kind::PlPesel => pl_pesel(compact),
        _ => false,
    }
}

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

/// UK National Insurance number (HMRC NIM39110): two prefix letters (not D, F, I, Q, U, V;
/// the second not O; not BG, GB, KN, NK, NT, TN or ZZ), six digits, suffix A–D.
fn nino(c: &str) -> bool {
    let b = c.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let (p1, p2) = (b[0], b[1]);
    let bad_first = b"DFIQUV".contains(&p1);
    let bad_second = b"DFIOQUV".contains(&p2);
    let prefix = &c[..2];
    p1.is_ascii_uppercase()
        && p2.is_ascii_uppercase()
        && !bad_first
        && !bad_second
        && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix)
        && b[2..8].iter().all(u8::is_ascii_digit)
        && (b'A'..=b'D').contains(&b[8])
}

/// French NIR (numéro de sécurité sociale): sex, year, month, department (2A/2B in
/// Corsica), commune, order, and the key 97 − (number mod 97).
fn nir(c: &str) -> bool {
    if c.len() != 15 || !c.is_ascii() {
        return false;
    }
    let dept = &c[5..7];
    let body = match dept {
        "2A" => format!("{}19{}", &c[..5], &c[7..13]),
        "2B" => format!("{}18{}", &c[..5], &c[7..13]),
        _ => c[..13].to_owned(),
    };
    let (Some(d), Some(key)) = (digits(&body), digits(&c[13..])) else { return false };
    // Sex 1/2 (3/4 provisional, 7/8 foreign-born temporary); month 01–12, 20–42 or 50–99
    // (unknown or administrative).
    let month = d[3] * 10 + d[4];
    let sex_ok = matches!(d[0], 1 | 2 | 3 | 4 | 7 | 8);
    let month_ok = (1..=12).contains(&month) || (20..=42).contains(&month) || month >= 50;
    let rem = d.iter().fold(0u64, |acc, &x| (acc * 10 + u64::from(x)) % 97);
    sex_ok && month_ok && 97 - rem == u64::from(key[0] * 10 + key[1])
}

/// ISO 7064 MOD 11,10 (the German tax id's check digit).
fn mod_11_10(d: &[u32]) -> bool {
    let mut check = 5;
    for &n in d {
        check = ((if check == 0 { 10 } else { check }) * 2 % 11 + n) % 10;
    }
    check == 1
}

/// German Steuerliche Identifikationsnummer: 11 digits, no leading 0, exactly one digit of
/// the first ten repeated (twice or three times), ISO 7064 MOD 11,10.
fn de_idnr(c: &str) -> bool {
    let Some(d) = digits(c) else { return false };
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[x as usize] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|&n| n > 1).collect();
    matches!(repeated.as_slice(), [2] | [3]) && mod_11_10(&d)
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI (8 digits and a check letter) or NIE (X/Y/Z, 7 digits, check letter).
fn es_dni(c: &str) -> bool {
    let b = c.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let lead = match b[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        x if x.is_ascii_digit() => u64::from(x - b'0'),
        _ => return false,
    };
    let Some(rest) = digits(&c[1..8]) else { return false };
    let n = rest.iter().fold(lead, |acc, &x| acc * 10 + u64::from(x));
    DNI_LETTERS[(n % 23) as usize] == b[8]
}

/// The value of a codice fiscale's date characters (digits, or LMNPQRSTUV for 0–9 when
/// two people would share a code).
fn cf_digit(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        _ => b"LMNPQRSTUV".iter().position(|&x| x == b).map(|i| i as u32),
    }
}

/// Italian codice fiscale: 6 letters (surname, name), year, month letter, day (+40 for
/// women), place, check letter from the odd/even tables.
fn it_codice_fiscale(c: &str) -> bool {
    let b = c.as_bytes();
    if b.len() != 16 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let letter = |i: usize| b[i].is_ascii_uppercase();
    let dated = |i: usize| cf_digit(b[i]);
    let shape = (0..6).all(letter)
        && dated(6).is_some()
        && dated(7).is_some()
        && b"ABCDEHLMPRST".contains(&b[8])
        && letter(11)
        && (12..15).all(|i| dated(i).is_some())
        && letter(15);
    if !shape {
        return false;
    }
    let (Some(d1), Some(d2)) = (dated(9), dated(10)) else { return false };
    let day = (d1 * 10 + d2) % 40;
    let month = b"ABCDEHLMPRST".iter().position(|&x| x == b[8]).unwrap_or(0) as u32 + 1;
    // Every year has the date when it is not 29 February; for that, leap years of the
    // two centuries the code may mean.
    let year = dated(6).unwrap_or(0) * 10 + dated(7).unwrap_or(0);
    let day_ok = match month {
        2 if day == 29 => year % 4 == 0,
        2 => (1..=28).contains(&day),
        4 | 6 | 9 | 11 => (1..=30).contains(&day),
        _ => (1..=31).contains(&day),
    };
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let value = |x: u8, odd: bool| {
        let i = if x.is_ascii_digit() { usize::from(x - b'0') } else { usize::from(x - b'A') };
        if odd { ODD[i] } else { i as u32 }
    };
    let sum: u32 = b[..15].iter().enumerate().map(|(i, &x)| value(x, i % 2 == 0)).sum();
    day_ok && b[15] == b'A' + (sum % 26) as u8
}

/// Dutch burgerservicenummer: 9 digits (8 with a leading zero dropped), the 11-test.
fn nl_bsn(c: &str) -> bool {
    let Some(d) = digits(c) else { return false };
    if d.len() != 9 || d.iter().all(|&x| x == 0) {
        return false;
    }
    let sum: i64 = d[..8].iter().enumerate().map(|(i, &x)| (9 - i as i64) * i64::from(x)).sum();
    (sum - i64::from(d[8])).rem_euclid(11) == 0
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    days_in_month(y, m).is_some_and(|days| (1..=days).contains(&d))
}

/// Swedish personnummer, compact as stdnum writes it: `YYMMDD-NNNC` / `YYMMDD+NNNC` (the
/// plus for people aged 100 or more) or `YYYYMMDD-NNNC`: a real date (day + 60 for a
/// samordningsnummer) and Luhn over the last ten digits.
fn se_personnummer(c: &str) -> bool {
    let b = c.as_bytes();
    if !(b.len() == 11 || b.len() == 13) || !matches!(b[b.len() - 5], b'-' | b'+') {
        return false;
    }
    let joined = format!("{}{}", &c[..c.len() - 5], &c[c.len() - 4..]);
    let Some(d) = digits(&joined) else { return false };
    let (y, rest) = if d.len() == 12 {
        (d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3], &d[4..])
    } else {
        // Two-digit years: any century; 29 February needs a leap year, which 2000 is.
        (2000 + d[0] * 10 + d[1], &d[2..])
    };
    let (m, mut day) = (rest[0] * 10 + rest[1], rest[2] * 10 + rest[3]);
    if day > 60 {
        day -= 60;
    }
    valid_date(y, m, day) && luhn(&d[d.len() - 10..])
}

/// Polish PESEL: YYMMDD with the century in the month (+20 for the 2000s), serial, sex,
/// check digit with weights 1-3-7-9. Only births from 1900 to today count (a PESEL for the
/// 1800s or 2100s is a number that happens to pass).
fn pl_pesel(c: &str) -> bool {
    let Some(d) = digits(c) else { return false };
    if d.len() != 11 {
        return false;
    }
    const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = d[..10].iter().zip(W).map(|(&x, w)| x * w).sum();
    if (10 - sum % 10) % 10 != d[10] {
        return false;
    }
    let (yy, mm, dd) = (d[0] * 10 + d[1], d[2] * 10 + d[3], d[4] * 10 + d[5]);
    let (year, month) = match mm {
        1..=12 => (1900 + yy, mm),
        21..=32 => (2000 + yy, mm - 20),
        _ => return false,
    };
    valid_date(year, month, dd) && year <= super::this_year()
}

/// Words that name each identifier (in the cell before it, or in the column header).
static CONTEXT: [(Kind, Words); 8] = [
    (Kind::UkNino, Words::new(&["nino", "national insurance", "ni number", "ni no"])),
    (
        Kind::FrNir,
        Words::new(&["nir", "sécurité sociale", "securite sociale", "insee", "n° ss", "numéro ss"]),
    ),
    (
        Kind::DeTaxId,
        Words::new(&["steuer", "idnr", "identifikationsnummer", "tax id", "tin", "steuernummer"]),
    ),
    (Kind::EsDni, Words::new(&["dni", "nie", "nif", "documento", "identidad"])),
    (Kind::ItFiscalCode, Words::new(&["codice fiscale", "cod. fisc", "c.f.", "cf"])),
    (Kind::NlBsn, Words::new(&["bsn", "burgerservicenummer", "sofinummer", "sofi"])),
    (Kind::SePersonnummer, Words::new(&["personnummer", "personnr", "pnr", "samordningsnummer"])),
    (Kind::PlPesel, Words::new(&["pesel"])),
];

/// The identifier a column header names, if any.
pub(crate) fn named_by(header_lower: &str) -> Option<Kind> {
    let tokens: Vec<&str> =
        header_lower.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).collect();
    CONTEXT.iter().find_map(|(kind, words)| {
        words
            .list
            .iter()
            .any(|w| {
                if w.contains(|c: char| !c.is_alphanumeric()) {
                    header_lower.contains(w)
                } else {
                    tokens.iter().any(|t| t == w || (w.len() >= 6 && t.starts_with(w)))
                }
            })
            .then_some(*kind)
    })
}

fn said_before(cell: &str, start: usize, kind: Kind) -> bool {
    CONTEXT
        .iter()
        .filter(|(k, _)| *k == kind)
        .any(|(_, words)| super::said_before(cell, start, words, 40))
}

/// Finds national identifiers. `hint.id` is the identifier the column header names.
pub(crate) fn national_ids(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    if !cell.bytes().any(|b| b.is_ascii_digit()) {
        return;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    // Letters-and-digits shapes first (NINO, codice fiscale, DNI/NIE), then digit runs with
    // the separators people write them with (spaces, dots, dashes; + in a personnummer).
    let re = re(
        &RE,
        r"(?i)[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]|[A-Z]{3} ?[A-Z]{3} ?[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2} ?[A-Z][0-9LMNPQRSTUV]{3}[A-Z]|[XYZ][ .-]?\d{7}[ .-]?[A-Z]|\d{2}\.?\d{3}\.?\d{3}[ -]?[A-Z]|\d(?:[ .-]?[\dAB]){8,14}|\d{6,8}[-+]\d{4}",
    );
    let whole = |s: usize, e: usize| cell[..s].trim().is_empty() && cell[e..].trim().is_empty();
    for m in re.find_iter(cell) {
        let (s, e) = (m.start(), m.end());
        if glued(cell, s, e) {
            continue;
        }
        let text = m.as_str();
        // After "+" or "00" a run of digits is a phone number; dotted quads are addresses.
        let before = &cell[..s];
        if before.ends_with('+')
            || before.ends_with("00 ")
            || (text.matches('.').count() == 3 && text.parse::<std::net::Ipv4Addr>().is_ok())
        {
            continue;
        }
        let compact = compact(text);
        let seps: Vec<char> = text.chars().filter(|c| matches!(c, ' ' | '.' | '-')).collect();
        let grouped = !seps.is_empty();
        let letters = compact.bytes().any(|b| b.is_ascii_alphabetic());
        let kind = if letters {
            // Upper case as written (a lower-case "ab123456c" is prose more often).
            let upper = text.chars().all(|c| !c.is_lowercase());
            [Kind::UkNino, Kind::ItFiscalCode, Kind::EsDni, Kind::FrNir]
                .into_iter()
                .find(|&k| upper && valid(k, &compact))
        } else if text.contains(['+', '-']) && se_personnummer(&se_compact(text)) {
            Some(Kind::SePersonnummer)
        } else {
            id_of_digits(cell, s, e, &compact, grouped, hint, whole(s, e))
        };
        if let Some(kind) = kind {
            let score =
                if hint.id == Some(kind) || said_before(cell, s, kind) { 0.99 } else { 0.9 };
            push(spans, kind, s, e, score);
        }
    }
}

/// A personnummer without spaces, keeping its `-`/`+` before the last four digits.
fn se_compact(text: &str) -> String {
    text.chars().filter(|c| *c != ' ').collect()
}

/// The identifier a run of digits is, if any: strong checks stand alone, weak ones need
/// their name near them or in the header.
fn id_of_digits(
    cell: &str,
    s: usize,
    e: usize,
    compact: &str,
    grouped: bool,
    hint: ColumnHint,
    whole: bool,
) -> Option<Kind> {
    let named = |k: Kind| hint.id == Some(k) || said_before(cell, s, k);
    match compact.len() {
        15 if nir(compact) => Some(Kind::FrNir),
        // Steuer-ID: the repeat rule and MOD 11,10 pass for 1 random number in ~600.
        11 if de_idnr(compact)
            && (whole || named(Kind::DeTaxId) || {
                // Grouped as the Bundeszentralamt writes it: "12 345 678 901".
                let (_, groups) = super::digits_of(&cell[s..e]);
                grouped && groups == [2, 3, 3, 3]
            }) =>
        {
            Some(Kind::DeTaxId).filter(|_| !(named(Kind::PlPesel) && pl_pesel(compact)))
        }
        // PESEL: a birth date and a check digit, 1 random number in ~60 passes.
        11 if pl_pesel(compact) && (whole || named(Kind::PlPesel)) => Some(Kind::PlPesel),
        // BSN: the 11-test alone passes 1 random number in 11.
        9 | 8 if named(Kind::NlBsn) && nl_bsn(&format!("{compact:0>9}")) => Some(Kind::NlBsn),
        // A personnummer without its dash, named.
        10 | 12 if named(Kind::SePersonnummer) => {
            let dashed =
                format!("{}-{}", &compact[..compact.len() - 4], &compact[compact.len() - 4..]);
            se_personnummer(&dashed).then_some(Kind::SePersonnummer)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::pii::testing::spans_of as found;

    #[test]
    fn published_examples_validate() {
        // Examples from the issuers' or stdnum's documentation.
        for (kind, good) in [
            (Kind::UkNino, "AB123456C"),
            (Kind::FrNir, "295109912611193"),
            (Kind::FrNir, "253072B07300470"),
            (Kind::DeTaxId, "36574261809"),
            (Kind::EsDni, "54362315K"),
            (Kind::EsDni, "X2482300W"),
            (Kind::ItFiscalCode, "RCCMNL83S18D969H"),
            (Kind::NlBsn, "111222333"),
            (Kind::SePersonnummer, "880320-0016"),
            (Kind::SePersonnummer, "19880320-0016"),
            (Kind::PlPesel, "44051401359"),
        ] {
            assert!(valid(kind, good), "{kind:?} {good}");
        }
        for (kind, bad) in [
            (Kind::UkNino, "QQ123456C"),
            (Kind::UkNino, "GB123456A"),
            (Kind::UkNino, "AB123456E"),
            (Kind::FrNir, "295109912611192"),
            (Kind::DeTaxId, "36574261808"),
            (Kind::DeTaxId, "11111111116"),
            (Kind::EsDni, "54362315Z"),
            (Kind::ItFiscalCode, "RCCMNL83S18D969A"),
            (Kind::NlBsn, "111222334"),
            (Kind::SePersonnummer, "880320-0017"),
            (Kind::SePersonnummer, "881320-0016"),
            (Kind::PlPesel, "44051401358"),
        ] {
            assert!(!valid(kind, bad), "{kind:?} {bad}");
        }
    }

    #[test]
    fn written_forms_are_found_and_lookalikes_are_not() {
        assert_eq!(found("NI: AB 12 34 56 C", None), vec![(Kind::UkNino, "AB 12 34 56 C")]);
        assert_eq!(
            found("n° sécu 2 95 10 99 126 111 93", None),
            vec![(Kind::FrNir, "2 95 10 99 126 111 93")]
        );
        assert_eq!(found("RCCMNL83S18D969H", None), vec![(Kind::ItFiscalCode, "RCCMNL83S18D969H")]);
        assert_eq!(found("DNI 54362315-K", None), vec![(Kind::EsDni, "54362315-K")]);
        assert_eq!(found("36 574 261 809", None), vec![(Kind::DeTaxId, "36 574 261 809")]);
        assert_eq!(found("född 880320-0016", None), vec![(Kind::SePersonnummer, "880320-0016")]);
        assert_eq!(found("44051401359", None), vec![(Kind::PlPesel, "44051401359")]);
        // A BSN needs its name: one 9-digit number in 11 passes the 11-test.
        assert!(found("111222333", None).iter().all(|(k, _)| *k != Kind::NlBsn));
        assert_eq!(found("BSN 111222333", None), vec![(Kind::NlBsn, "111222333")]);
        let bsn = ColumnHint::from_name("burgerservicenummer");
        assert_eq!(found("111222333", Some(bsn)), vec![(Kind::NlBsn, "111222333")]);
        // Inside longer ids, failing checks, lower-case prose.
        for bad in ["ORD36574261809", "36574261808", "ab123456c", "order 44051401358"] {
            assert!(found(bad, None).iter().all(|(k, _)| !k.is_national_id()), "{bad}");
        }
    }
}
