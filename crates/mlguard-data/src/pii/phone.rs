//! Phone numbers of every country, validated against libphonenumber's metadata (the
//! numbering plans Google maintains; `rlibphonenumber`, a Rust port): international ones
//! (`+33 4 93 15 34 85`, `0033 4 93 15 34 85`) against their country code, national ones
//! (`04 93 15 34 85`, `(0161) 496 0327`, `612 345 678`) against the plans of the countries
//! whose data mlguard is tuned for ([`TRUNK_REGIONS`], [`PLAIN_REGIONS`]).
//!
//! The metadata says which digit strings are numbers; the way they are written says
//! whether a string is meant as one. A bare run of digits is a phone number in a phone
//! column, after a phone word ("Tel. 915983867", "Ring meg på 33059899"), or when it is
//! the whole cell and written as a national number with its trunk prefix (`0612345678`)
//! or as a North American one; elsewhere it is an id. Dates, amounts
//! (a decimal part or a currency next to them), ISBNs and numbers inside ids are never
//! phone numbers.

use std::sync::OnceLock;

use regex::Regex;
use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber};

use super::{ColumnHint, Kind, Span, Words, digits_of, glued, push, re};

/// The countries whose national formats are tried, most common first: the EU languages
/// mlguard reads (and their neighbours), and the English-speaking ones. International
/// numbers of every country are validated whatever these lists hold. Numbers dialled
/// with a trunk prefix `0` (and Italy's, whose numbers begin with 0) are tried against
/// [`TRUNK_REGIONS`], the others against [`PLAIN_REGIONS`]: libphonenumber also accepts a
/// British number written without its 0, which nobody writes.
pub(crate) const TRUNK_REGIONS: &[&str] =
    &["GB", "DE", "FR", "IT", "NL", "SE", "FI", "IE", "AU", "IN", "AT", "CH", "BE"];

/// See [`TRUNK_REGIONS`]: countries whose national numbers are written without a trunk
/// prefix (North America's 1 is not written either).
pub(crate) const PLAIN_REGIONS: &[&str] = &["US", "ES", "IT", "PL", "PT", "DK", "NO", "CZ", "LU"];

fn parse(text: &str, region: &str) -> Option<PhoneNumber> {
    PHONE_NUMBER_UTIL.parse_with_default_region(text, region).ok()
}

/// Whether `text` is a valid phone number when dialled in `region` (an ISO 3166 code;
/// international numbers, `+` and digits, are valid in any). Numbers written with digits,
/// spaces, dots, dashes, slashes and brackets, dialled in one of the countries read or
/// internationally, are checked against the metadata directly (parsing with libphonenumber
/// costs ~20 µs a number, most of it on forms such text never has); anything else is
/// parsed as libphonenumber parses it.
pub fn phone_valid_in(text: &str, region: &str) -> bool {
    match fast_valid(text, region) {
        Some(valid) => valid,
        None => parse(text, region).is_some_and(|n| n.is_valid()),
    }
}

/// A number of `country_code` whose national significant number is `nsn` (ASCII digits),
/// leading zeros kept as libphonenumber keeps them (Italy's fixed lines).
fn number(country_code: i32, nsn: &str) -> Option<PhoneNumber> {
    let zeros = nsn.bytes().take_while(|&b| b == b'0').count();
    let mut n = PhoneNumber::new();
    n.set_country_code(country_code);
    n.set_national_number(nsn.parse().ok()?);
    if zeros > 0 && zeros < nsn.len() {
        n.set_italian_leading_zero(true);
        n.set_number_of_leading_zeros(i32::try_from(zeros).ok()?);
    }
    Some(n)
}

/// [`phone_valid_in`] without parsing, when the text and region allow: `None` when they do
/// not (letters, other regions, unusual punctuation).
fn fast_valid(text: &str, region: &str) -> Option<bool> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b" +()-./".contains(&b)) {
        return None;
    }
    // "+49 (0)5621": the trunk 0 some write after the country code is not dialled.
    let t = t.replace("(0)", "");
    let plus = t.starts_with('+');
    if t[usize::from(plus)..].contains('+') {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 2 || digits.len() > 17 {
        return Some(false);
    }
    let util = &*PHONE_NUMBER_UTIL;
    if plus {
        // Country calling codes are prefix-free: the first 1-3 digits that are one. A
        // number that is not valid as written may be with a national prefix stripped,
        // as each country's metadata says: parsing decides those.
        if digits.starts_with('0') {
            return Some(false);
        }
        for len in 1..=3 {
            let Ok(cc) = digits[..len].parse::<i32>() else { return Some(false) };
            if util.get_region_code_for_country_code(cc).is_some_and(|r| r != "ZZ") {
                let nsn = &digits[len..];
                let valid = number(cc, nsn).is_some_and(|n| valid_number(&n));
                return valid.then_some(true);
            }
        }
        return Some(false);
    }
    let trunk_zero = TRUNK_REGIONS.contains(&region) && region != "IT";
    if !(trunk_zero || PLAIN_REGIONS.contains(&region)) {
        return None;
    }
    let cc = util.get_country_code_for_region(region)?;
    let nsn = if trunk_zero {
        // Dialled with the trunk 0, or without it as libphonenumber also accepts.
        digits.strip_prefix('0').unwrap_or(&digits)
    } else if cc == 1 && digits.len() == 11 {
        digits.strip_prefix('1').unwrap_or(&digits)
    } else {
        &digits
    };
    Some(!nsn.is_empty() && number(cc, nsn).is_some_and(|n| valid_number(&n)))
}

/// Valid per the metadata; the length check first (no pattern matching), which rejects
/// most numbers tried in the wrong country.
fn valid_number(n: &PhoneNumber) -> bool {
    PHONE_NUMBER_UTIL.is_possible_number(n) && PHONE_NUMBER_UTIL.is_valid_number(n)
}

/// The first country in which a national number is valid.
fn national_region(text: &str, trunk: bool) -> Option<&'static str> {
    let regions = if trunk { TRUNK_REGIONS } else { PLAIN_REGIONS };
    regions.iter().copied().find(|r| phone_valid_in(text, r))
}

/// Words before a number that say it is a phone number (a bare run of digits after them
/// is one), lowercase.
#[rustfmt::skip]
static PHONE_WORDS: Words = Words::new(&[
    "tel", "tel.", "tlf", "tlf.", "phone", "mobile", "mob", "mob.", "cell", "call", "ring",
    "fax", "whatsapp", "sms", "telefon", "telefone", "telefoon", "téléphone", "tél", "tél.",
    "portable", "mobil", "mobiel", "móvil", "movil", "teléfono", "telefono", "cellulare",
    "handy", "llámame al", "llame al", "chiamami al", "reperibile al", "bel", "bellen",
    "bereikbaar op", "erreichbar unter", "anrufen", "ring meg på", "ring mig på", "nås på",
    "soita", "numeroon", "puhelin", "zadzwoń", "ligue", "ligar", "zavolejte", "volejte",
    "appelez-moi au", "appeler le", "joignable au", "k zastižení na", "treffes på",
    "zu erreichen unter", "reachable at", "reachable on",
]);

/// Whether a whole value is a phone number written nationally or internationally, valid in
/// one of the countries read (for judging a column by its values).
pub(crate) fn national_number(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit() || b" +()-./".contains(&b)) {
        return false;
    }
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    if !(8..=15).contains(&digits) || decimal_number(v) {
        return false;
    }
    if v.starts_with('+') {
        return phone_valid_in(v, "ZZ");
    }
    let trunk = v.trim_start_matches('(').starts_with('0');
    national_region(v, trunk).is_some()
}

/// An amount or a measurement (`52341.17`): one dot and no other separator.
fn decimal_number(text: &str) -> bool {
    text.matches('.').count() == 1 && !text.contains([' ', '-', '(', '/', '+'])
}

/// Currency signs and codes next to a number make it an amount.
fn money_near(cell: &str, start: usize, end: usize) -> bool {
    const MONEY: &[&str] = &[
        "€", "$", "£", "¥", "zł", "kr", "kč", "eur", "usd", "gbp", "pln", "sek", "nok", "dkk",
        "chf", "czk", "huf", "fr.",
    ];
    let before = super::window_before(cell, start, 6);
    let after: String = cell[end..].chars().take(6).collect::<String>().to_lowercase();
    let after = after.trim_start();
    MONEY.iter().any(|m| before.trim_end().ends_with(m) || after.starts_with(m))
}

/// A date written with separators (`24.07.1971`, `1971-07-24`, `07/24/71`, `26. 10. 2021`),
/// alone or starting a timestamp, or a year starting an id (`2024-938931`, `2025/4725`).
fn date_shaped(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        r"^(?:\d{1,2}[./-] ?\d{1,2}[./-] ?\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2}|(?:19|20)\d{2}[/-]\d)",
    )
    .is_match(text)
}

/// A decimal part after a number makes it an amount (`78 978 039,46`, `1,234.50`).
fn decimal_after(cell: &str, end: usize) -> bool {
    let b = cell.as_bytes();
    matches!(b.get(end), Some(b',' | b'.'))
        && b.get(end + 1).is_some_and(u8::is_ascii_digit)
        && !b.get(end + 3).is_some_and(u8::is_ascii_digit)
}

/// Part of an id: `ORD-2024-000123`, `INV/2023/4567`: a letter or digit joined to the
/// candidate by `-`, `/`, `_` or `#`.
fn inside_id(cell: &str, start: usize, end: usize) -> bool {
    let b = cell.as_bytes();
    let joiner = |c: u8| matches!(c, b'-' | b'/' | b'_' | b'#');
    let before = start >= 2 && joiner(b[start - 1]) && b[start - 2].is_ascii_alphanumeric();
    let after = end + 1 < b.len() && joiner(b[end]) && b[end + 1].is_ascii_alphanumeric();
    before || after
}

pub(crate) fn phones(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    if cell.bytes().filter(u8::is_ascii_digit).count() < 7 {
        return;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(
        &RE,
        r"(?:\+|(?-u:\b)00|\()?\d(?:[ ./-]{0,2}\(?\d\)?){5,22}(?: ?(?:x|ext\.?|#) ?\d{1,5}(?-u:\b))?",
    );
    for m in re.find_iter(cell) {
        let text = m.as_str();
        // Already a card, IBAN, national id, date or address: nothing to validate.
        if spans.iter().any(|sp| m.start() < sp.end && sp.start < m.end())
            || glued(cell, m.start(), m.end())
            || inside_id(cell, m.start(), m.end())
            || money_near(cell, m.start(), m.end())
            || decimal_after(cell, m.end())
        {
            continue;
        }
        if let Some((end, score)) = phone_at(cell, m.start(), text, hint) {
            push(spans, Kind::Phone, m.start(), m.start() + end, score);
        }
    }
}

/// The end and score of a candidate that is a phone number. An extension ("x792",
/// "ext. 12") is part of the number but not of its digits.
fn phone_at(cell: &str, start: usize, text: &str, hint: ColumnHint) -> Option<(usize, f32)> {
    let main = text.find(['x', 'e', '#']).map_or(text, |i| text[..i].trim_end());
    judge(cell, start, main, hint).map(|score| (text.len(), score))
}

/// The score of a candidate as a phone number, if it is one.
fn judge(cell: &str, start: usize, text: &str, hint: ColumnHint) -> Option<f32> {
    if date_shaped(text) {
        return None;
    }
    let (digits, groups) = digits_of(text);
    let n = digits.len();
    let plus = text.starts_with('+');
    let double_zero = !plus && text.trim_start_matches('(').starts_with("00");
    let international = plus || double_zero;
    // E.164 allows 15 digits with the country code; a national number has fewer.
    let most = if international { 15 } else { 13 };
    if !(7..=most).contains(&n) || (international && n < 9) {
        return None;
    }
    // ISBNs (978-...) and other dashed product codes.
    if (text.starts_with("978") || text.starts_with("979")) && text.contains('-') {
        return None;
    }
    if international {
        let dialled = if double_zero {
            format!("+{}", text.trim_start_matches('(').trim_start_matches("00"))
        } else {
            text.to_owned()
        };
        return phone_valid_in(&dialled, "ZZ").then_some(0.95);
    }
    // "(351) 915293070": a country code in brackets.
    if let Some(rest) = text.strip_prefix('(')
        && let Some((code, number)) = rest.split_once(')')
        && (1..=3).contains(&code.len())
        && !code.starts_with('0')
        && phone_valid_in(&format!("+{code}{number}"), "ZZ")
    {
        return Some(0.9);
    }
    if decimal_number(text) {
        return None;
    }
    let whole = cell[..start].trim().is_empty() && cell[start + text.len()..].trim().is_empty();
    let named = super::said_before(cell, start, &PHONE_WORDS, 32);
    let trunk = digits[0] == 0;
    let bare = groups.len() == 1 && !text.contains('(');
    let nanp = n == 10 && digits[0] >= 2 && digits[3] >= 2;
    if bare {
        // A bare run is an id unless the column says phone, or the whole cell is a national
        // number with its trunk prefix or a North American one.
        if !(hint.phone || named || (whole && (trunk || nanp))) {
            return None;
        }
    } else if !trunk && (groups.iter().skip(1).any(|&g| g < 2) || text.contains('/')) {
        // Single digits between separators are lists or versions, not numbers (after a
        // trunk prefix they are real: "04 93 15 34 85" has none, "0 800" is fine); a
        // slash separates an area code from its number only after a trunk prefix.
        return None;
    }
    let region = national_region(text, trunk)?;
    // North American numbers are written 3-3-4 (with a leading 1): "2024-938931" that
    // happens to be a valid number is an id.
    let nanp_groups =
        matches!(groups.as_slice(), [3, 3, 4] | [1, 3, 3, 4] | [3, 7] | [1, 3, 7] | [10] | [11]);
    if region == "US" && !nanp_groups {
        return None;
    }
    Some(if hint.phone || named {
        0.95
    } else if bare {
        0.6
    } else if trunk || nanp {
        0.8
    } else {
        0.7
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(cell: &str) -> Option<&str> {
        crate::pii::testing::first_of(cell, Kind::Phone)
    }

    #[test]
    fn national_and_international_formats_of_many_countries() {
        for good in [
            "0033 4 93 15 34 85",
            "+33 (0)4 93 15 34 85",
            "04 93 15 34 85",
            "+49(0)5621 12345",
            "(05621) 12345",
            "030 1234567",
            "+34 612 345 678",
            "612 34 56 78",
            "+39 02 1234 5678",
            "333 123 4567",
            "+31 (0)20 123 4567",
            "06-12345678",
            "+48 512 345 678",
            "+46 (0)8 123 456 78",
            "070-123 45 67",
            "+47 22 12 34 56",
            "+358 40 123 4567",
            "040 123 4567",
            "+420 601 234 567",
            "+351 912 345 678",
            "001-415-555-0132x123",
            "+61 2 9876 5432",
            "+91 98765 43210",
        ] {
            assert_eq!(phone(good), Some(good), "{good}");
        }
        assert_eq!(phone("Appelez-moi au 04 93 15 34 85 demain"), Some("04 93 15 34 85"));
    }

    #[test]
    fn amounts_dates_and_ids_are_not_phones() {
        for bad in [
            "1.234.567,89 €",
            "12 345 678 kr",
            "€ 12.345.678",
            "24.07.1971",
            "INV-2023-456789",
            "version 12 3 45 67 8",
            "978-3-16-148410-0",
            "+99 1234 5678",
        ] {
            assert_eq!(phone(bad), None, "{bad}");
        }
    }
}
