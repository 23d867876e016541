//! Personal data in cells: spans of e-mail addresses, phone numbers, US social security
//! numbers, payment card numbers, IBANs and IP addresses, each candidate checked by the
//! rules of its kind (Luhn and issuer ranges, IBAN length and mod-97, SSN area/group/serial,
//! address parsing) so that look-alikes — order numbers, 16-digit numbers failing Luhn,
//! version strings, timestamps, amounts, ISBNs — are not reported.
//!
//! ```
//! use mlguard_data::pii::{Kind, detect};
//!
//! let spans = detect("mail jane.doe@example.org or call +44 20 7946 0958", None);
//! assert_eq!(spans[0].kind, Kind::Email);
//! assert_eq!(spans[1].kind, Kind::Phone);
//! assert!(detect("order ORD-2024-000123, v1.2.3.4, 4111 1111 1111 1112", None).is_empty());
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

use crate::DataError;
use crate::csv::TableReader;
use crate::types::is_email;

mod address;
mod dates;
mod ids;
mod person;
mod phone;

use dates::dates_of_birth;
pub(crate) use dates::parse_birth_date;
pub use ids::national_id_valid;
use person::persons;
pub use phone::phone_valid_in;
use phone::phones;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// An e-mail address.
    Email,
    /// A phone number, international (`+44 20 7946 0958`) or national (`(415) 555-0132`).
    Phone,
    /// A US social security number with a valid area, group and serial.
    UsSsn,
    /// A payment card number that passes Luhn and belongs to an issuer range.
    CreditCard,
    /// An IBAN with its country's length and a valid mod-97 checksum.
    Iban,
    /// An IPv4 or IPv6 address (not a version string).
    IpAddress,
    /// A date of birth: a date in a birth-date column or next to "born", "DOB", ...
    /// (event timestamps are not reported).
    DateOfBirth,
    /// A person's name: a given name followed by a surname (bundled lists), or a name in a
    /// name column.
    Person,
    /// A street address: a house number, a street name and a street suffix.
    StreetAddress,
    /// A postal code: UK and Canadian formats anywhere, US ZIP codes in context.
    PostalCode,
    /// A UK National Insurance number (`QQ 12 34 56 C` shape, HMRC's letter rules).
    UkNino,
    /// A French social security number (NIR) with its mod-97 key.
    FrNir,
    /// A German tax identification number (Steuer-ID) with its MOD 11,10 check digit.
    DeTaxId,
    /// A Spanish DNI or NIE with its check letter.
    EsDni,
    /// An Italian codice fiscale with its check letter.
    ItFiscalCode,
    /// A Dutch citizen service number (BSN) passing the 11-test, named in its cell or
    /// column.
    NlBsn,
    /// A Swedish personnummer or samordningsnummer: a birth date and a Luhn check digit.
    SePersonnummer,
    /// A Polish PESEL: a birth date and its check digit.
    PlPesel,
}

impl Kind {
    /// The name used in reports: `EMAIL`, `PHONE`, `US_SSN`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::UsSsn => "US_SSN",
            Kind::CreditCard => "CREDIT_CARD",
            Kind::Iban => "IBAN",
            Kind::IpAddress => "IP_ADDRESS",
            Kind::DateOfBirth => "DATE_OF_BIRTH",
            Kind::Person => "PERSON",
            Kind::StreetAddress => "STREET_ADDRESS",
            Kind::PostalCode => "POSTAL_CODE",
            Kind::UkNino => "UK_NINO",
            Kind::FrNir => "FR_NIR",
            Kind::DeTaxId => "DE_TAX_ID",
            Kind::EsDni => "ES_DNI",
            Kind::ItFiscalCode => "IT_FISCAL_CODE",
            Kind::NlBsn => "NL_BSN",
            Kind::SePersonnummer => "SE_PERSONNUMMER",
            Kind::PlPesel => "PL_PESEL",
        }
    }

    /// Every kind, in report order.
    pub const ALL: [Kind; 18] = [
        Kind::Email,
        Kind::Phone,
        Kind::UsSsn,
        Kind::CreditCard,
        Kind::Iban,
        Kind::IpAddress,
        Kind::DateOfBirth,
        Kind::Person,
        Kind::StreetAddress,
        Kind::PostalCode,
        Kind::UkNino,
        Kind::FrNir,
        Kind::DeTaxId,
        Kind::EsDni,
        Kind::ItFiscalCode,
        Kind::NlBsn,
        Kind::SePersonnummer,
        Kind::PlPesel,
    ];

    /// Whether the kind is a national identifier (of a person, issued by a state).
    pub fn is_national_id(self) -> bool {
        matches!(
            self,
            Kind::UsSsn
                | Kind::UkNino
                | Kind::FrNir
                | Kind::DeTaxId
                | Kind::EsDni
                | Kind::ItFiscalCode
                | Kind::NlBsn
                | Kind::SePersonnummer
                | Kind::PlPesel
        )
    }
}

/// One detected span: byte offsets into the cell, and how sure the detector is (0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// What it is.
    pub kind: Kind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset after the last byte.
    pub end: usize,
    /// Confidence, 0–1.
    pub score: f32,
}

/// What a column's name says, used as context (never required: detection works with
/// unhelpful or foreign headers).
#[derive(Debug, Clone, Copy, Default)]
pub struct ColumnHint {
    /// The header names a phone column (`phone`, `mobile`, `tel`, ...).
    pub phone: bool,
    /// The header names an SSN column: 9 digits without dashes are then SSNs too.
    pub ssn: bool,
    /// The header names a version or release column: dotted numbers there are versions.
    pub version: bool,
    /// The header names a birth date: its dates are dates of birth.
    pub dob: bool,
    /// The header names a person's name.
    pub name: bool,
    /// The header names a postal or ZIP code.
    pub postal: bool,
    /// The national identifier the header names (`bsn`, `pesel`, `codice_fiscale`, ...):
    /// values that pass only a weak check (a BSN's 11-test) count in such a column.
    pub id: Option<Kind>,
}

impl ColumnHint {
    /// Reads a column name.
    pub fn from_name(name: &str) -> ColumnHint {
        let lower = name.to_lowercase();
        let tokens: Vec<&str> =
            lower.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).collect();
        let has = |words: &[&str]| tokens.iter().any(|t| words.contains(t));
        ColumnHint {
            phone: has(&[
                "phone",
                "mobile",
                "tel",
                "telephone",
                "cell",
                "fax",
                "msisdn",
                "telefon",
                "téléphone",
                "telefono",
                "teléfono",
                "telefoon",
                "telefone",
                "telefonnummer",
                "handy",
                "portable",
                "móvil",
                "movil",
                "cellulare",
                "mobil",
                "gsm",
                "tlf",
                "puhelin",
                "puhelinnumero",
                "telefonní",
            ]),
            ssn: has(&["ssn", "ss"]) || (has(&["social"]) && has(&["security"])),
            version: has(&["version", "ver", "release", "build", "firmware"]),
            dob: has(&[
                "dob",
                "birth",
                "birthday",
                "birthdate",
                "born",
                "geburtsdatum",
                "geburtstag",
                "nacimiento",
                "naissance",
                "nascita",
                "geboortedatum",
                "nascimento",
                "urodzenia",
                "födelsedatum",
                "fødselsdato",
                "syntymäaika",
                "narození",
                "geboren",
            ]),
            name: has(&[
                "name",
                "fullname",
                "surname",
                "firstname",
                "lastname",
                "forename",
                "nom",
                "prénom",
                "prenom",
                "nombre",
                "apellido",
                "apellidos",
                "nome",
                "cognome",
                "naam",
                "achternaam",
                "voornaam",
                "imię",
                "nazwisko",
                "namn",
                "efternamn",
                "förnamn",
                "navn",
                "fornavn",
                "etternavn",
                "efternavn",
                "nimi",
                "etunimi",
                "sukunimi",
                "jméno",
                "příjmení",
                "vorname",
                "nachname",
            ]) && !has(&[
                "user", "file", "product", "company", "host", "domain", "brand", "item", "city",
                "country", "street", "column", "table", "model",
            ]),
            postal: has(&[
                "zip",
                "zipcode",
                "postal",
                "postcode",
                "plz",
                "cp",
                "postleitzahl",
                "cap",
                "pocztowy",
                "postnummer",
                "postnr",
                "postinumero",
                "psč",
            ]),
            id: ids::named_by(&lower),
        }
    }
}

/// Finds every span of personal data in a cell, in order, without overlaps.
pub fn detect(cell: &str, hint: Option<ColumnHint>) -> Vec<Span> {
    let hint = hint.unwrap_or_default();
    let mut spans: Vec<Span> = Vec::new();
    // Each kind needs some digits (an IBAN at least its check digits and a few more, a
    // card 12): counting them once skips most detectors for most cells.
    let digits = cell.bytes().filter(u8::is_ascii_digit).count();
    // The most specific kinds first; a later kind never overlaps an earlier span.
    emails(cell, &mut spans);
    if digits >= 4 {
        ibans(cell, &mut spans);
    }
    if digits >= 12 {
        cards(cell, &mut spans);
    }
    if digits >= 6 {
        ids::national_ids(cell, hint, &mut spans);
    }
    if digits >= 9 {
        ssns(cell, hint, &mut spans);
    }
    if digits >= 4 && cell.contains(['.', ':']) {
        ips(cell, hint, &mut spans);
    }
    if digits >= 2 {
        dates_of_birth(cell, hint, &mut spans);
    }
    if digits >= 1 {
        street_addresses(cell, &mut spans);
    }
    address::european_addresses(cell, &mut spans);
    if digits >= 1 {
        postal_codes(cell, hint, &mut spans);
        address::european_postal_codes(cell, hint, &mut spans);
    }
    if digits >= 7 {
        phones(cell, hint, &mut spans);
    }
    persons(cell, hint, &mut spans);
    spans.sort_by_key(|s| s.start);
    spans
}

fn push(spans: &mut Vec<Span>, kind: Kind, start: usize, end: usize, score: f32) {
    if spans.iter().any(|s| start < s.end && s.start < end) {
        return;
    }
    spans.push(Span { kind, start, end, score });
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|_| never()))
}

/// Each match of `re` in `cell` with its groups. The groups are found on the match alone
/// (a backtracking search over a few bytes) after the fast search finds where it is: far
/// cheaper than `captures_iter` over the whole cell.
fn captures<'c>(re: &'c Regex, cell: &'c str) -> impl Iterator<Item = regex::Captures<'c>> + 'c {
    re.find_iter(cell).filter_map(move |m| re.captures_at(&cell[..m.end()], m.start()))
}

/// The patterns in this file are constants tested below; an invalid one is a bug that the
/// tests catch before release.
#[cold]
fn never() -> Regex {
    Regex::new("$^").unwrap_or_else(|_| std::process::abort())
}

/// A byte before `start` or after `end` that continues a token (a letter, digit or `_`).
fn glued(cell: &str, start: usize, end: usize) -> bool {
    let b = cell.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    start.checked_sub(1).is_some_and(|i| word(b[i])) || b.get(end).is_some_and(|&c| word(c))
}

/// Up to `max` bytes of `cell` before `start`, lowercased (context words).
fn window_before(cell: &str, start: usize, max: usize) -> String {
    let mut from = start.saturating_sub(max);
    while !cell.is_char_boundary(from) {
        from += 1;
    }
    cell[from..start].to_lowercase()
}

/// Context words (lowercase): "born", "BSN", "Tel.", "code postal", indexed once by their
/// first byte.
pub(crate) struct Words {
    pub(crate) list: &'static [&'static str],
    by_first: OnceLock<Vec<Vec<&'static str>>>,
}

impl Words {
    pub(crate) const fn new(list: &'static [&'static str]) -> Words {
        Words { list, by_first: OnceLock::new() }
    }

    /// Whether one of the words is in `text` (lowercase), not inside a longer word: "cf"
    /// is not in "pcf", and "tel" is in "tel." but not in "telling".
    pub(crate) fn in_text(&self, text: &str) -> bool {
        let index = self.by_first.get_or_init(|| {
            let mut index = vec![Vec::new(); 256];
            for w in self.list {
                if let Some(&b) = w.as_bytes().first() {
                    index[usize::from(b)].push(*w);
                }
            }
            index
        });
        let word_char = |c: char| c.is_alphanumeric();
        text.char_indices().any(|(i, c)| {
            let starts_word =
                !word_char(c) || text[..i].chars().next_back().is_none_or(|p| !word_char(p));
            starts_word
                && index[usize::from(text.as_bytes()[i])].iter().any(|w| {
                    text[i..].starts_with(w)
                        && (!w.ends_with(word_char)
                            || text[i + w.len()..].chars().next().is_none_or(|n| !word_char(n)))
                })
        })
    }
}

/// Whether one of `words` is written in the `max` bytes before `start`.
fn said_before(cell: &str, start: usize, words: &Words, max: usize) -> bool {
    words.in_text(&window_before(cell, start, max))
}

/// The current year (UTC), for birth dates that cannot be in the future.
fn this_year() -> u32 {
    static YEAR: OnceLock<u32> = OnceLock::new();
    *YEAR.get_or_init(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // Mean Gregorian year: off by at most a day at New Year.
        1970 + u32::try_from(secs / 31_556_952).unwrap_or(130)
    })
}

fn emails(cell: &str, spans: &mut Vec<Span>) {
    if !cell.contains('@') {
        return;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RE, r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}");
    for m in re.find_iter(cell) {
        let s = m.as_str().trim_start_matches('.');
        let start = m.end() - s.len();
        if is_email(s) {
            push(spans, Kind::Email, start, m.end(), 0.99);
        }
    }
}

/// Digits of a candidate and how they were grouped.
fn digits_of(s: &str) -> (Vec<u8>, Vec<usize>) {
    let mut digits = Vec::with_capacity(s.len());
    let mut groups = vec![0usize];
    for b in s.bytes() {
        if b.is_ascii_digit() {
            digits.push(b - b'0');
            if let Some(g) = groups.last_mut() {
                *g += 1;
            }
        } else {
            groups.push(0);
        }
    }
    groups.retain(|&g| g > 0);
    (digits, groups)
}

/// The Luhn check (cards, Swedish personnummer).
fn luhn<T: Copy + Into<u32>>(digits: &[T]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v: u32 = d.into();
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// The issuer of a card number by its prefix and length, if any issues such numbers.
fn card_issuer(d: &[u8]) -> Option<&'static str> {
    let prefix = |n: usize| d.iter().take(n).fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    let len = d.len();
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    if p1 == 4 && matches!(len, 13 | 16 | 19) {
        return Some("visa");
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        return Some("mastercard");
    }
    if matches!(p4, 1800 | 2131) && len == 15 {
        return Some("jcb");
    }
    if matches!(p2, 34 | 37) && len == 15 {
        return Some("amex");
    }
    if ((300..=305).contains(&p3) || p2 == 36 || matches!(p2, 38 | 39)) && (14..=19).contains(&len)
    {
        return Some("diners");
    }
    if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) && (16..=19).contains(&len) {
        return Some("discover");
    }
    if (3528..=3589).contains(&p4) && (16..=19).contains(&len) {
        return Some("jcb");
    }
    if p2 == 62 && (16..=19).contains(&len) {
        return Some("unionpay");
    }
    if (matches!(p2, 50 | 56..=58) || (p1 == 6 && p6 != 0)) && (12..=19).contains(&len) {
        return Some("maestro");
    }
    None
}

fn cards(cell: &str, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RE, r"\d(?:[ -]?\d){11,18}");
    for m in re.find_iter(cell) {
        if glued(cell, m.start(), m.end()) {
            continue;
        }
        let text = m.as_str();
        let seps: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_digit()).collect();
        // One kind of separator, if any.
        if seps.windows(2).any(|w| w[0] != w[1]) {
            continue;
        }
        let (digits, groups) = digits_of(text);
        let grouping_ok = groups.len() == 1
            || matches!(
                groups.as_slice(),
                [4, 4, 4, 4]
                    | [4, 6, 5]
                    | [4, 6, 4]
                    | [4, 4, 4, 4, 3]
                    | [4, 4, 4, 2]
                    | [4, 4, 4, 1]
            );
        let Some(issuer) = card_issuer(&digits) else { continue };
        if grouping_ok && luhn(&digits) {
            // Amex numbers written 4-4-4-3 are unusual but real; ungrouped long numbers
            // are more often ids, so they score lower.
            let score = if groups.len() > 1 {
                0.95
            } else if issuer == "maestro" {
                0.6
            } else {
                0.85
            };
            push(spans, Kind::CreditCard, m.start(), m.end(), score);
        }
    }
}

/// IBAN length per country (SWIFT registry).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AD" => 24,
        "AE" => 23,
        "AL" => 28,
        "AT" => 20,
        "AZ" => 28,
        "BA" => 20,
        "BE" => 16,
        "BG" => 22,
        "BH" => 22,
        "BR" => 29,
        "BY" => 28,
        "CH" => 21,
        "CR" => 22,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "DO" => 28,
        "EE" => 20,
        "EG" => 29,
        "ES" => 24,
        "FI" => 18,
        "FO" => 18,
        "FR" => 27,
        "GB" => 22,
        "GE" => 22,
        "GI" => 23,
        "GL" => 18,
        "GR" => 27,
        "GT" => 28,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IL" => 23,
        "IQ" => 23,
        "IS" => 26,
        "IT" => 27,
        "JO" => 30,
        "KW" => 30,
        "KZ" => 20,
        "LB" => 28,
        "LC" => 32,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "MC" => 27,
        "MD" => 24,
        "ME" => 22,
        "MK" => 19,
        "MR" => 27,
        "MT" => 31,
        "MU" => 30,
        "NL" => 18,
        "NO" => 15,
        "PK" => 24,
        "PL" => 28,
        "PS" => 29,
        "PT" => 25,
        "QA" => 29,
        "RO" => 24,
        "RS" => 22,
        "SA" => 24,
        "SC" => 31,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "ST" => 25,
        "SV" => 28,
        "TL" => 23,
        "TN" => 24,
        "TR" => 26,
        "UA" => 29,
        "VA" => 22,
        "VG" => 24,
        "XK" => 20,
        _ => return None,
    })
}

/// Mod-97 of the rearranged IBAN (ISO 13616) is 1.
fn iban_valid(compact: &str) -> bool {
    let Some(country) = compact.get(..2) else { return false };
    if iban_length(country) != Some(compact.len()) {
        return false;
    }
    let rearranged = compact[4..].bytes().chain(compact[..4].bytes());
    let mut rem: u32 = 0;
    for b in rearranged {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn ibans(cell: &str, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RE, r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}");
    for m in re.find_iter(cell) {
        if glued(cell, m.start(), m.end()) {
            continue;
        }
        // Longest prefix that is a valid IBAN (a trailing word may have been swallowed).
        let text = m.as_str();
        let mut best = None;
        for (end, _) in text.char_indices().skip(15).chain(std::iter::once((text.len(), ' '))) {
            let compact: String = text[..end].chars().filter(|c| *c != ' ').collect();
            if iban_valid(&compact) && !text[..end].ends_with(' ') {
                best = Some(end);
            }
        }
        if let Some(end) = best
            && !glued(cell, m.start(), m.start() + end)
        {
            push(spans, Kind::Iban, m.start(), m.start() + end, 0.99);
        }
    }
}

fn ssns(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RE, r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9}");
    for m in re.find_iter(cell) {
        if glued(cell, m.start(), m.end()) {
            continue;
        }
        let (d, groups) = digits_of(m.as_str());
        static SSN_WORDS: Words =
            Words::new(&["ssn", "social security", "social security no", "social security number"]);
        let named = hint.ssn || said_before(cell, m.start(), &SSN_WORDS, 32);
        if groups.len() == 1 && !named {
            continue; // nine bare digits are an SSN only in an SSN column or after "SSN"
        }
        let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
        let group = u32::from(d[3]) * 10 + u32::from(d[4]);
        let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
        // Areas 900-999 are never SSNs; in an SSN column they are ITINs (tax ids of people
        // without one), which are personal data too.
        let area_ok = area != 0 && area != 666 && (area < 900 || hint.ssn);
        let valid = area_ok && group != 0 && serial != 0;
        if valid {
            push(spans, Kind::UsSsn, m.start(), m.end(), if named { 0.99 } else { 0.85 });
        }
    }
}

fn ips(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    static V4: OnceLock<Regex> = OnceLock::new();
    let v4 = re(&V4, r"\d{1,3}(?:\.\d{1,3}){3}");
    for m in v4.find_iter(cell) {
        let before = &cell[..m.start()];
        let after = &cell[m.end()..];
        let dotted_more = before.ends_with('.')
            || after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit());
        if glued(cell, m.start(), m.end()) || dotted_more || hint.version {
            continue;
        }
        // `v1.2.3.4`, `version 1.2.3.4`: a version, not an address.
        let prev_word =
            before.trim_end().rsplit(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
        let versionish = before.ends_with(['v', 'V'])
            || matches!(
                prev_word.to_ascii_lowercase().as_str(),
                "version" | "ver" | "release" | "build" | "firmware" | "v"
            );
        if versionish || m.as_str().parse::<std::net::Ipv4Addr>().is_err() {
            continue;
        }
        push(spans, Kind::IpAddress, m.start(), m.end(), 0.95);
    }
    if !cell.contains(':') {
        return;
    }
    static V6: OnceLock<Regex> = OnceLock::new();
    let v6 = re(&V6, r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*");
    for m in v6.find_iter(cell) {
        let s = m.as_str();
        // Times (`12:30:45`) and MACs are not addresses; an address has hex groups and
        // either 8 groups or a `::`.
        if s.len() < 3
            || glued(cell, m.start(), m.end())
            || !(s.contains("::") || s.matches(':').count() == 7)
        {
            continue;
        }
        if s.parse::<std::net::Ipv6Addr>().is_ok() {
            push(spans, Kind::IpAddress, m.start(), m.end(), 0.95);
        }
    }
}

/// USPS street suffixes (and the plurals Faker and real data use), lowercase.
const STREET_SUFFIXES: &[&str] = &[
    "alley",
    "branch",
    "brook",
    "burg",
    "annex",
    "arcade",
    "avenue",
    "ave",
    "bend",
    "bluff",
    "boulevard",
    "blvd",
    "bridge",
    "brook",
    "burg",
    "bypass",
    "camp",
    "canyon",
    "cape",
    "causeway",
    "center",
    "circle",
    "cir",
    "cliff",
    "close",
    "club",
    "common",
    "corner",
    "course",
    "court",
    "ct",
    "cove",
    "creek",
    "crescent",
    "cres",
    "crest",
    "crossing",
    "crossroad",
    "curve",
    "dale",
    "dam",
    "divide",
    "drive",
    "dr",
    "estate",
    "expressway",
    "extension",
    "fall",
    "ferry",
    "field",
    "flat",
    "ford",
    "forest",
    "forge",
    "fork",
    "fort",
    "freeway",
    "garden",
    "gateway",
    "glen",
    "green",
    "grove",
    "harbor",
    "harbour",
    "haven",
    "heights",
    "highway",
    "hwy",
    "hill",
    "hollow",
    "inlet",
    "island",
    "isle",
    "junction",
    "key",
    "knoll",
    "lake",
    "land",
    "landing",
    "lane",
    "ln",
    "light",
    "loaf",
    "lock",
    "lodge",
    "loop",
    "mall",
    "manor",
    "meadow",
    "mews",
    "mill",
    "mission",
    "motorway",
    "mount",
    "mountain",
    "neck",
    "orchard",
    "oval",
    "overpass",
    "park",
    "parkway",
    "pkwy",
    "pass",
    "passage",
    "path",
    "pike",
    "pine",
    "place",
    "pl",
    "plain",
    "plaza",
    "point",
    "port",
    "prairie",
    "radial",
    "ramp",
    "ranch",
    "rapid",
    "rest",
    "ridge",
    "river",
    "road",
    "rd",
    "route",
    "row",
    "rue",
    "run",
    "shoal",
    "shore",
    "skyway",
    "spring",
    "spur",
    "square",
    "sq",
    "station",
    "stravenue",
    "stream",
    "street",
    "st",
    "summit",
    "terrace",
    "ter",
    "throughway",
    "trace",
    "track",
    "trafficway",
    "trail",
    "trl",
    "tunnel",
    "turnpike",
    "underpass",
    "union",
    "valley",
    "via",
    "viaduct",
    "view",
    "village",
    "ville",
    "vista",
    "walk",
    "wall",
    "way",
    "well",
    "wharf",
    "strasse",
    "straße",
    "gasse",
    "weg",
    // Australia Post's street types the list above lacks.
    "beach",
    "round",
    "stairs",
    "siding",
    "intersection",
    "wade",
    "end",
    "parade",
    "rise",
    "esplanade",
    "gate",
    "gates",
    "circuit",
    "retreat",
    "ramble",
    "outlook",
    "lookout",
    "crossway",
    "brow",
    "boulevarde",
    "grange",
    "approach",
    "concourse",
    "corso",
    "glade",
    "nook",
    "quay",
    "reach",
    "strip",
    "chase",
    "heath",
    "triangle",
    "laneway",
    // India.
    "chowk",
    "marg",
    "nagar",
    "zila",
    "ganj",
    "gali",
    "colony",
    "enclave",
    "vihar",
    "bagh",
    "bazar",
    "peth",
    "wadi",
    "puram",
    "pur",
    "centreway",
    "mew",
    "strand",
    "ring",
    "ronde",
    "cross",
    "villas",
    "amble",
    "artery",
    "towers",
    "access",
    "boardwalk",
    "brace",
    "broadway",
    "circus",
    "copse",
    "cruiseway",
    "cutting",
    "dell",
    "deviation",
    "dip",
    "driveway",
    "edge",
    "elbow",
    "entrance",
    "fairway",
    "follow",
    "formation",
    "frontage",
    "gap",
    "ground",
    "gully",
    "highroad",
    "interchange",
    "line",
    "link",
    "meander",
    "pathway",
    "piazza",
    "pocket",
    "quad",
    "quadrant",
    "quays",
    "range",
    "reserve",
    "ride",
    "ridgeway",
    "riverway",
    "riviera",
    "rotary",
    "slope",
    "sound",
    "steps",
    "subway",
    "tarn",
    "thoroughfare",
    "tollway",
    "top",
    "tor",
    "turn",
    "vale",
    "walkway",
    "wynd",
    "yard",
    "basin",
    "plateau",
    "brae",
    "alleyway",
    "rosebowl",
    "roadside",
    "break",
    "byway",
    "anchorage",
    "bowl",
    "colonnade",
    "cul-de-sac",
    "circlet",
    "lees",
    "trunkway",
    "part",
    "little",
    "distributor",
    "front",
];

fn street_suffix(word: &str) -> bool {
    let w = word.trim_end_matches('.').to_lowercase();
    STREET_SUFFIXES.contains(&w.as_str())
        || w.strip_suffix('s').is_some_and(|s| s.len() > 2 && STREET_SUFFIXES.contains(&s))
}

fn street_addresses(cell: &str, spans: &mut Vec<Span>) {
    // "Flat 3", "Studio 12" before a street (UK): "Flat 59 Heather ford".
    static UK: OnceLock<Regex> = OnceLock::new();
    let uk =
        re(&UK, r"(?-u:\b)(?:Flat|Studio|Apartment|Apt\.?|Unit|Level|Suite) \d{1,4}[A-Za-z]?,?\s+");
    for m in uk.find_iter(cell) {
        if let Some(end) = street_after_number(cell, m.end(), true) {
            push(spans, Kind::StreetAddress, m.start(), end, 0.9);
        }
    }
    static NUM: OnceLock<Regex> = OnceLock::new();
    let num = re(&NUM, r"(?-u:\b)\d{1,6}[A-Za-z]?(?:[-/]\d{1,5})?,? ");
    for m in num.find_iter(cell) {
        // "Postnr. 4775 Greve Strand": a postal code and its town.
        if said_before(cell, m.start(), &address::POSTAL_WORDS, 24) {
            continue;
        }
        if let Some(end) = street_after_number(cell, m.end(), false) {
            push(spans, Kind::StreetAddress, m.start(), end, 0.9);
        }
    }
}

/// After a house number at `from`: up to five words of street name, the last street suffix
/// among them (the name needs one word before it), then an optional unit ("Apt. 511").
/// `optional_number`: a UK "Flat 3" may be followed by its own house number.
fn street_after_number(cell: &str, from: usize, optional_number: bool) -> Option<usize> {
    let mut pos = from;
    if optional_number {
        let digits = cell[pos..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && cell[pos + digits..].starts_with(' ') {
            pos += digits + 1;
        }
    }
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut i = pos;
    while words.len() < 5 {
        let rest = &cell[i..];
        let len: usize = rest
            .char_indices()
            .take_while(|(_, c)| c.is_alphabetic() || matches!(c, '\'' | '-' | '.'))
            .map(|(k, c)| k + c.len_utf8())
            .last()
            .unwrap_or(0);
        if len == 0 {
            break;
        }
        words.push((i, i + len));
        i += len;
        if cell[i..].starts_with(' ') {
            i += 1;
        } else {
            break;
        }
    }
    let first = *words.first()?;
    if !cell[first.0..].starts_with(char::is_uppercase) {
        return None;
    }
    let suffix = *words.iter().skip(1).rev().find(|w| street_suffix(&cell[w.0..w.1]))?;
    let mut end = suffix.1;
    static UNIT: OnceLock<Regex> = OnceLock::new();
    let unit = re(&UNIT, r"^,? (?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|#)\.? ?[A-Za-z0-9-]+");
    if let Some(u) = unit.find(&cell[end..]) {
        end += u.end();
    }
    Some(end)
}

const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR", "AA", "AE", "AP", "GU", "AS", "MH", "MP", "FM", "PW", "VI",
];

fn postal_codes(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    static UK: OnceLock<Regex> = OnceLock::new();
    let uk = re(&UK, r"(?-u:\b)(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}(?-u:\b)");
    for m in uk.find_iter(cell) {
        push(spans, Kind::PostalCode, m.start(), m.end(), if hint.postal { 0.95 } else { 0.85 });
    }
    static CA: OnceLock<Regex> = OnceLock::new();
    let ca =
        re(&CA, r"(?-u:\b)[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d(?-u:\b)");
    for m in ca.find_iter(cell) {
        push(spans, Kind::PostalCode, m.start(), m.end(), 0.8);
    }
    // Irish Eircode: a routing key (letter, two digits; D6W) and four characters.
    static IE: OnceLock<Regex> = OnceLock::new();
    let ie = re(&IE, r"(?-u:\b)(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}(?-u:\b)");
    for m in ie.find_iter(cell) {
        let text = m.as_str();
        // Four digits alone after the key are more often a year or a count.
        if text.bytes().skip(3).filter(u8::is_ascii_alphabetic).count() > 0 {
            push(spans, Kind::PostalCode, m.start(), m.end(), 0.85);
        }
    }
    // Australian postcodes after the state, Indian PIN codes after the city.
    static AU_IN: OnceLock<Regex> = OnceLock::new();
    let au_in = re(
        &AU_IN,
        r"(?-u:\b)(?:NSW|VIC|QLD|SA|WA|TAS|NT|ACT),? (\d{4})(?-u:\b)|\p{Ll}(?:, (?:\p{Lu}\p{Ll}+ )+|\s*-\s*)(\d{6})$|(?i:pin ?code|pin)[: ]+(\d{6})(?-u:\b)",
    );
    for c in captures(au_in, cell) {
        if let Some(g) = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)) {
            push(spans, Kind::PostalCode, g.start(), g.end(), 0.9);
        }
    }
    static US: OnceLock<Regex> = OnceLock::new();
    let us = re(&US, r"(?-u:\b)\d{5}(?:-\d{4})?(?-u:\b)");
    for m in us.find_iter(cell) {
        let before = cell[..m.start()].trim_end();
        let state = before.rsplit([' ', ',']).next().is_some_and(|w| US_STATES.contains(&w));
        let plus4 = m.as_str().len() == 10;
        let whole_cell = m.start() == 0 && m.end() == cell.len();
        if (hint.postal && (whole_cell || plus4)) || state {
            push(spans, Kind::PostalCode, m.start(), m.end(), 0.9);
        }
    }
}

/// How often one kind was found in one column.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct KindCount {
    /// Cells with at least one span of the kind.
    pub cells: u64,
    /// Spans found.
    pub spans: u64,
    /// Sum of the spans' scores (the mean is the column's confidence).
    pub score_sum: f64,
}

impl KindCount {
    /// Mean score of the spans.
    pub fn confidence(&self) -> f64 {
        if self.spans == 0 { 0.0 } else { self.score_sum / self.spans as f64 }
    }
}

/// What one column holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPii {
    /// The column name.
    pub name: String,
    /// Non-empty cells read.
    pub cells: u64,
    /// Counts per kind found.
    pub kinds: BTreeMap<Kind, KindCount>,
}

impl ColumnPii {
    /// The column as `mlguard data pii --format json` lists it: its name, cells, and per
    /// kind found the cells, spans, share of the cells and confidence.
    pub fn to_json(&self) -> serde_json::Value {
        let kinds: Vec<serde_json::Value> = self
            .kinds
            .iter()
            .map(|(k, n)| {
                serde_json::json!({
                    "kind": k.as_str(), "cells": n.cells, "spans": n.spans,
                    "share": if self.cells == 0 { 0.0 } else { n.cells as f64 / self.cells as f64 },
                    "confidence": (n.confidence() * 100.0).round() / 100.0,
                })
            })
            .collect();
        serde_json::json!({"name": self.name, "cells": self.cells, "kinds": kinds})
    }
}

/// Rows of a table read before its columns are judged as a whole (see [`column_hint`]).
pub const COLUMN_SAMPLE: usize = 256;

/// What a column's values say about it, added to what its header says (`base`): a column
/// whose values are nearly all shaped like personal names, with known names among them, is
/// a name column (every name-shaped cell is then a person, known or not); one whose values
/// nearly all pass a weak identifier check (a BSN's 11-test, passed by one random number
/// in 11) holds that identifier; one whose values are nearly all valid national phone
/// numbers is a phone column. `values` are a sample of the column's non-empty cells.
pub fn column_hint(base: ColumnHint, values: &[&str]) -> ColumnHint {
    let mut hint = base;
    let n = values.len();
    if n < 3 {
        return hint;
    }
    let share = |count: usize| count as f64 / n as f64;
    // Names: the values decide, a header only lowers the bar. Known given names and
    // surnames must come back (a "name" column of airports or products has few), and
    // place words must not ("Livingston Municipal", "Calhoun County").
    let known = values.iter().filter(|v| person::known_words(v) > 0).count();
    let places = values.iter().filter(|v| person::place_like(v)).count();
    let people = share(known) >= 0.3 && share(places) < 0.1;
    hint.name = if hint.name {
        let parts = values.iter().filter(|v| person::name_shaped(v) || person::name_part(v));
        people && share(parts.count()) >= 0.8
    } else {
        people && share(values.iter().filter(|v| person::name_shaped(v)).count()) >= 0.8
    };
    if hint.id.is_none() {
        hint.id = [Kind::NlBsn, Kind::SePersonnummer, Kind::PlPesel, Kind::DeTaxId]
            .into_iter()
            .find(|&k| share(values.iter().filter(|v| national_id_valid(k, v)).count()) >= 0.9);
    }
    if !hint.phone {
        let phones = values.iter().filter(|v| phone::national_number(v)).count();
        hint.phone = share(phones) >= 0.9;
    }
    hint
}

/// Rows handed to a detection thread at a time: enough that handing them over costs
/// little next to detecting, few enough that every thread stays busy to the end of a file.
const SCAN_CHUNK: usize = 1024;

/// Rows of a table on their way through [`scan_table`]'s detection threads: the cells, then
/// what was found in them as `(row in chunk, column, span)` in cell order.
struct ScanChunk {
    seq: u64,
    first_row: u64,
    rows: Vec<Vec<String>>,
    found: Vec<(usize, usize, Span)>,
}

impl ScanChunk {
    fn detect(&mut self, hints: &[ColumnHint]) {
        for (r, row) in self.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate().take(hints.len()) {
                if !cell.is_empty() {
                    self.found.extend(detect(cell, Some(hints[c])).into_iter().map(|s| (r, c, s)));
                }
            }
        }
    }
}

/// Reads a CSV table in one streaming pass (memory does not grow with the file) and finds
/// personal data in every cell; `on_span(row, column name, cell, span)` sees each span
/// (rows are 1-based data rows), in file order. Column names and `hints` (by column) are
/// context, and so are the first [`COLUMN_SAMPLE`] rows of each column ([`column_hint`]):
/// they are read before any cell is reported. Cells are examined on every core, a chunk of
/// rows at a time; this thread reads the file and reports.
pub fn scan_table<R: Read>(
    src: R,
    delimiter: u8,
    hints: &dyn Fn(&str) -> ColumnHint,
    mut on_span: impl FnMut(u64, &str, &str, &Span),
) -> Result<Vec<ColumnPii>, DataError> {
    let table = TableReader::new(src, delimiter)?;
    let names: Vec<String> = table.header().to_vec();
    let mut columns: Vec<ColumnPii> = names
        .iter()
        .map(|name| ColumnPii { name: name.clone(), cells: 0, kinds: BTreeMap::new() })
        .collect();
    let header_hints: Vec<ColumnHint> = names.iter().map(|n| hints(n)).collect();
    let judge = |sample: &[Vec<String>]| -> Vec<ColumnHint> {
        header_hints
            .iter()
            .enumerate()
            .map(|(i, &base)| {
                let values: Vec<&str> = sample
                    .iter()
                    .filter_map(|r| r.get(i).map(String::as_str))
                    .filter(|v| !v.trim().is_empty())
                    .collect();
                column_hint(base, &values)
            })
            .collect()
    };
    // Counts a chunk's cells and spans, and reports its spans.
    let mut report = |chunk: &ScanChunk| {
        let mut found = chunk.found.iter().peekable();
        for (r, row) in chunk.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let Some(col) = columns.get_mut(c) else { break };
                if cell.is_empty() {
                    continue;
                }
                col.cells += 1;
                let mut seen: Vec<Kind> = Vec::new();
                while let Some((_, _, span)) = found.next_if(|&&(fr, fc, _)| (fr, fc) == (r, c)) {
                    let count = col.kinds.entry(span.kind).or_default();
                    count.spans += 1;
                    count.score_sum += f64::from(span.score);
                    if !seen.contains(&span.kind) {
                        seen.push(span.kind);
                        count.cells += 1;
                    }
                    on_span(chunk.first_row + r as u64, &names[c], cell, span);
                }
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let column_hints: OnceLock<Vec<ColumnHint>> = OnceLock::new();
    std::thread::scope(|s| -> Result<(), DataError> {
        let (work_tx, work_rx) = mpsc::sync_channel::<ScanChunk>(threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::channel::<ScanChunk>();
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (work_rx, done_tx, column_hints) =
                    (Arc::clone(&work_rx), done_tx.clone(), &column_hints);
                s.spawn(move || {
                    loop {
                        let next = match work_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok(mut chunk) = next else { break };
                        chunk.detect(column_hints.get().map_or(&[], Vec::as_slice));
                        if done_tx.send(chunk).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop((work_rx, done_tx));
        // Reports finished chunks in file order.
        let mut pending: BTreeMap<u64, ScanChunk> = BTreeMap::new();
        let mut next = 0u64;
        let mut finished = |chunk: ScanChunk| {
            pending.insert(chunk.seq, chunk);
            while let Some(c) = pending.remove(&next) {
                report(&c);
                next += 1;
            }
        };
        let mut chunk = ScanChunk { seq: 0, first_row: 1, rows: Vec::new(), found: Vec::new() };
        let send = |chunk: &mut ScanChunk, finished: &mut dyn FnMut(ScanChunk)| {
            let first_row = chunk.first_row + chunk.rows.len() as u64;
            let fresh =
                ScanChunk { seq: chunk.seq + 1, first_row, rows: Vec::new(), found: Vec::new() };
            let full = std::mem::replace(chunk, fresh);
            work_tx
                .send(full)
                .map_err(|_| DataError::Internal("a personal-data thread stopped"))?;
            done_rx.try_iter().for_each(finished);
            Ok::<(), DataError>(())
        };
        table.for_each(|_line, fields| {
            chunk.rows.push(fields.iter().map(|f| (*f).to_owned()).collect());
            if column_hints.get().is_none() {
                if chunk.rows.len() == COLUMN_SAMPLE {
                    let _ = column_hints.set(judge(&chunk.rows));
                    send(&mut chunk, &mut finished)?;
                }
            } else if chunk.rows.len() == SCAN_CHUNK {
                send(&mut chunk, &mut finished)?;
            }
            Ok(())
        })?;
        if column_hints.get().is_none() {
            let _ = column_hints.set(judge(&chunk.rows));
        }
        if !chunk.rows.is_empty() {
            send(&mut chunk, &mut finished)?;
        }
        drop(work_tx);
        done_rx.iter().for_each(&mut finished);
        for worker in workers {
            worker.join().map_err(|_| DataError::Internal("a personal-data thread failed"))?;
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(DataError::Internal("a personal-data thread lost rows"))
        }
    })?;
    Ok(columns)
}

/// Test helpers of the detectors' modules.
#[cfg(test)]
pub(crate) mod testing {
    use super::{ColumnHint, Kind, detect};

    /// Each span found in `cell`, with its text.
    pub(crate) fn spans_of(cell: &str, hint: Option<ColumnHint>) -> Vec<(Kind, &str)> {
        detect(cell, hint).into_iter().map(|s| (s.kind, &cell[s.start..s.end])).collect()
    }

    /// The text of the first span of `kind` found in `cell`.
    pub(crate) fn first_of(cell: &str, kind: Kind) -> Option<&str> {
        spans_of(cell, None).into_iter().find(|(k, _)| *k == kind).map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(cell: &str) -> Vec<(Kind, &str)> {
        testing::spans_of(cell, None)
    }

    #[test]
    fn emails_and_lookalikes() {
        assert_eq!(
            kinds("write to jane.doe+ml@example.co.uk."),
            vec![(Kind::Email, "jane.doe+ml@example.co.uk")]
        );
        assert!(kinds("user@localhost and @handle and a@b").is_empty());
    }

    #[test]
    fn cards_need_luhn_and_an_issuer() {
        for good in [
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "2221000000000009",
            "3782 822463 10005",
            "30569309025904",
            "6011000990139424",
        ] {
            assert_eq!(kinds(good), vec![(Kind::CreditCard, good)], "{good}");
        }
        // Luhn fails; 16 digits with no issuer; a mixed separator; part of a longer id.
        for bad in
            ["4111 1111 1111 1112", "9999999999999995", "4111-1111 1111-1111", "ID4111111111111111"]
        {
            assert!(!kinds(bad).iter().any(|(k, _)| *k == Kind::CreditCard), "{bad}");
        }
    }

    #[test]
    fn ibans_need_country_length_and_mod97() {
        assert_eq!(
            kinds("GB82 WEST 1234 5698 7654 32"),
            vec![(Kind::Iban, "GB82 WEST 1234 5698 7654 32")]
        );
        assert_eq!(kinds("DE89370400440532013000"), vec![(Kind::Iban, "DE89370400440532013000")]);
        assert!(kinds("GB82 WEST 1234 5698 7654 33").iter().all(|(k, _)| *k != Kind::Iban));
        assert!(kinds("DE8937040044053201300").iter().all(|(k, _)| *k != Kind::Iban));
    }

    #[test]
    fn ssns_follow_the_area_group_serial_rules() {
        assert_eq!(kinds("SSN 536-22-1234"), vec![(Kind::UsSsn, "536-22-1234")]);
        for bad in ["000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000"] {
            assert!(kinds(bad).iter().all(|(k, _)| *k != Kind::UsSsn), "{bad}");
        }
        assert!(detect("536221234", None).is_empty());
        assert!(detect("948-92-0625", Some(ColumnHint::from_name("ssn")))[0].kind == Kind::UsSsn);
        let hint = ColumnHint::from_name("customer_ssn");
        assert_eq!(detect("536221234", Some(hint))[0].kind, Kind::UsSsn);
    }

    #[test]
    fn ips_but_not_versions_or_times() {
        assert_eq!(kinds("from 192.168.1.20 at"), vec![(Kind::IpAddress, "192.168.1.20")]);
        assert_eq!(
            kinds("2001:db8::8a2e:370:7334"),
            vec![(Kind::IpAddress, "2001:db8::8a2e:370:7334")]
        );
        for bad in ["v1.2.3.4", "version 10.0.19041.1", "1.2.3.4.5", "12:30:45", "999.1.1.1"] {
            assert!(kinds(bad).iter().all(|(k, _)| *k != Kind::IpAddress), "{bad}");
        }
        assert!(detect("1.2.3.4", Some(ColumnHint::from_name("app_version"))).is_empty());
    }

    #[test]
    fn phones_and_their_lookalikes() {
        for good in [
            "+44 20 7946 0958",
            "(415) 555-0132",
            "415-555-0132",
            "+1 415 555 0132",
            "020 7946 0958",
            "07700 900123",
        ] {
            assert_eq!(kinds(good), vec![(Kind::Phone, good)], "{good}");
        }
        for bad in [
            "ORD-2024-000123",
            "2024-01-15",
            "2024-01-15T10:20:30Z",
            "978-3-16-148410-0",
            "$1,234,567.89",
            "order 4155550132 shipped",
            "123-456-7890",
            "1234567890",
        ] {
            assert!(kinds(bad).iter().all(|(k, _)| *k != Kind::Phone), "{bad}: {:?}", kinds(bad));
        }
        assert_eq!(
            detect("4155550132", Some(ColumnHint::from_name("Telefon / phone")))[0].kind,
            Kind::Phone
        );
        // A cell that is exactly one valid US or UK number (low score), extensions, UK
        // area codes in brackets.
        assert_eq!(detect("4155550132", None)[0].score, 0.6);
        assert_eq!(kinds("01214960904"), vec![(Kind::Phone, "01214960904")]);
        assert_eq!(kinds("(279)929-0810x0339"), vec![(Kind::Phone, "(279)929-0810x0339")]);
        assert_eq!(kinds("(0161) 496 0327"), vec![(Kind::Phone, "(0161) 496 0327")]);
    }

    #[test]
    fn multibyte_text_before_a_date() {
        // Found by fuzzing: the context window cut a character in two.
        let cell = format!("{}x born 1985-03-14", "\u{fffd}".repeat(11));
        assert_eq!(detect(&cell, None)[0].kind, Kind::DateOfBirth);
    }

    #[test]
    fn dates_of_birth_need_context_and_timestamps_are_events() {
        assert_eq!(
            kinds("born on 14 March 1985 in Leeds")[0],
            (Kind::DateOfBirth, "14 March 1985")
        );
        assert_eq!(kinds("DOB: 03/14/1985")[0], (Kind::DateOfBirth, "03/14/1985"));
        // The same dates without context, and timestamps, are not dates of birth.
        for bad in ["meeting on 14 March 1985", "2024-01-15T10:20:30Z", "created 2021-06-01"] {
            assert!(kinds(bad).iter().all(|(k, _)| *k != Kind::DateOfBirth), "{bad}");
        }
        let dob = ColumnHint::from_name("date_of_birth");
        for good in ["1985-03-14", "14.03.1985", "Mar 14, 1985", "19850314"] {
            assert_eq!(detect(good, Some(dob))[0].kind, Kind::DateOfBirth, "{good}");
        }
        assert!(detect("1985-02-30", Some(dob)).is_empty());
    }

    #[test]
    fn addresses_and_postal_codes() {
        assert_eq!(
            kinds("ship to 221B Baker Street, London")[0],
            (Kind::StreetAddress, "221B Baker Street")
        );
        assert_eq!(
            kinds("79402 Peterson Drives Apt. 511")[0],
            (Kind::StreetAddress, "79402 Peterson Drives Apt. 511")
        );
        assert_eq!(kinds("Flat 59 Heather ford")[0], (Kind::StreetAddress, "Flat 59 Heather ford"));
        assert!(kinds("we shipped 300 Large Boxes").iter().all(|(k, _)| *k != Kind::StreetAddress));
        assert_eq!(kinds("London SW1A 1AA"), vec![(Kind::PostalCode, "SW1A 1AA")]);
        assert_eq!(kinds("Springfield, IL 62704")[0], (Kind::PostalCode, "62704"));
        assert!(kinds("order 62704 shipped").is_empty());
        assert_eq!(detect("62704", Some(ColumnHint::from_name("zip")))[0].kind, Kind::PostalCode);
    }

    #[test]
    fn columns_are_judged_by_their_values() {
        // Names mostly in no list, BSNs with no header naming them, bare national phone
        // numbers: each column is recognised from its values, and every cell reported.
        let csv = "a,b,c,d\nXavrin Qolbedo,111222333,612345678,ORD-1\nMaria Zzyzx,123456782,698765432,ORD-2\nPiet van der Qwerty,111222333,612000111,ORD-3\nJan Brzęczyszczykiewicz,123456782,655443322,ORD-4\n";
        let mut found: Vec<(u64, String, Kind)> = Vec::new();
        let cols = scan_table(csv.as_bytes(), b',', &ColumnHint::from_name, |row, col, _, span| {
            found.push((row, col.to_owned(), span.kind));
        })
        .expect("scan");
        let count = |c: &str, k: Kind| found.iter().filter(|f| f.1 == c && f.2 == k).count();
        assert_eq!(count("a", Kind::Person), 4, "{found:?}");
        assert_eq!(count("b", Kind::NlBsn), 4, "{found:?}");
        assert_eq!(count("c", Kind::Phone), 4, "{found:?}");
        assert!(cols[3].kinds.is_empty());
        // Numbers with decimals are amounts, never a phone column (found by the demo: an
        // income column was called one).
        let amounts = "a\n52341.17\n61234.05\n48211.90\n70123.44\n";
        let cols = scan_table(amounts.as_bytes(), b',', &ColumnHint::from_name, |_, _, _, _| {})
            .expect("scan");
        assert!(cols[0].kinds.is_empty(), "{cols:?}");
        // The same values without their column are not reported.
        assert!(detect("Xavrin Qolbedo", None).is_empty() && detect("111222333", None).is_empty());
    }

    #[test]
    fn persons_from_the_name_lists() {
        assert_eq!(kinds("Patient: Maria Garcia, seen today")[0], (Kind::Person, "Maria Garcia"));
        assert_eq!(kinds("signed by Dr. Okonkwo")[0], (Kind::Person, "Dr. Okonkwo"));
        assert_eq!(kinds("John F. Kennedy")[0], (Kind::Person, "John F. Kennedy"));
        for bad in ["Grand Canyon National Park", "Random Forest Classifier", "march madness"] {
            assert!(kinds(bad).iter().all(|(k, _)| *k != Kind::Person), "{bad}: {:?}", kinds(bad));
        }
        assert!(detect("n/a", Some(ColumnHint::from_name("last_name"))).is_empty());
        assert_eq!(kinds("Victoria Lane-Whitehead")[0], (Kind::Person, "Victoria Lane-Whitehead"));
        // Places named after people, and state codes, are not surnames.
        assert!(kinds("Port Eric, LA 84684").iter().all(|(k, _)| *k != Kind::Person));
        assert!(kinds("Lake Erik").iter().all(|(k, _)| *k != Kind::Person));
        assert_eq!(detect("Smith", Some(ColumnHint::from_name("last_name")))[0].kind, Kind::Person);
    }

    #[test]
    fn spans_in_free_text_do_not_overlap() {
        let text = "Contact Jane at jane@example.org, +1 415 555 0132; card 4111111111111111, IBAN GB82WEST12345698765432.";
        let got: Vec<Kind> = detect(text, None).iter().map(|s| s.kind).collect();
        assert_eq!(got, vec![Kind::Email, Kind::Phone, Kind::CreditCard, Kind::Iban]);
    }

    #[test]
    fn a_long_table_is_reported_in_file_order_as_one_thread_would() {
        // Enough rows for the sample and several chunks on every detection thread, with
        // ragged rows, empty cells and rows with nothing in them.
        let mut csv = String::from("who,contact,note\n");
        for i in 0..(COLUMN_SAMPLE + 3 * SCAN_CHUNK + 17) {
            match i % 5 {
                0 => {
                    csv.push_str(&format!("Jane Smith,jane{i}@example.org,call +44 20 7946 0958\n"))
                }
                1 => csv.push_str(&format!("Bob Jones,,order {i}\n")),
                2 => csv.push_str("Ann Lee\n"),
                3 => csv.push_str(",,\n"),
                _ => csv.push_str(&format!(
                    "Jan de Vries,+31 20 123 4567,IBAN GB82WEST12345698765432 {i}\n"
                )),
            }
        }
        let mut got: Vec<(u64, String, Kind, usize, usize)> = Vec::new();
        let cols = scan_table(csv.as_bytes(), b',', &ColumnHint::from_name, |row, col, _, s| {
            got.push((row, col.to_owned(), s.kind, s.start, s.end));
        })
        .expect("scan");
        // The same cells, one at a time with the hints the scan judged from its sample.
        let names = ["who", "contact", "note"];
        let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
        let sample: Vec<Vec<&str>> = rows.iter().take(COLUMN_SAMPLE).cloned().collect();
        let mut want = Vec::new();
        let mut cells = [0u64; 3];
        for (c, name) in names.iter().enumerate() {
            let values: Vec<&str> =
                sample.iter().filter_map(|r| r.get(c).copied()).filter(|v| !v.is_empty()).collect();
            let hint = column_hint(ColumnHint::from_name(name), &values);
            for (r, row) in rows.iter().enumerate() {
                let Some(cell) = row.get(c).filter(|v| !v.is_empty()) else { continue };
                cells[c] += 1;
                for s in detect(cell, Some(hint)) {
                    want.push((r as u64 + 1, (*name).to_owned(), s.kind, s.start, s.end));
                }
            }
        }
        want.sort_by_key(|w| (w.0, names.iter().position(|n| *n == w.1)));
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
        assert_eq!(cols.iter().map(|c| c.cells).collect::<Vec<_>>(), cells);
        assert_eq!(
            cols[2].kinds[&Kind::Iban].cells,
            rows.iter().filter(|r| r[0] == "Jan de Vries").count() as u64
        );
    }

    #[test]
    fn a_table_scan_counts_per_column_with_row_numbers() {
        let csv = "id,contact,notes\n1,jane@example.org,call +44 20 7946 0958\n2,,version 1.2.3.4\n3,bob@example.com,\n";
        let mut spans = Vec::new();
        let cols = scan_table(csv.as_bytes(), b',', &ColumnHint::from_name, |row, col, _, s| {
            spans.push((row, col.to_owned(), s.kind, s.start, s.end))
        })
        .expect("scan");
        assert_eq!(cols[1].kinds[&Kind::Email].cells, 2);
        assert_eq!(cols[1].cells, 2);
        assert_eq!(cols[2].kinds.get(&Kind::Phone).map(|k| k.cells), Some(1));
        assert!(cols[0].kinds.is_empty());
        let c = |s: &str| s.to_owned();
        assert_eq!(
            spans,
            vec![
                (1, c("contact"), Kind::Email, 0, 16),
                (1, c("notes"), Kind::Phone, 5, 21),
                (3, c("contact"), Kind::Email, 0, 15)
            ]
        );
    }
}

#[cfg(test)]
mod prop {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_gives_in_bounds_ordered_spans(cell in "\\PC{0,120}") {
            let spans = super::detect(&cell, None);
            let mut last_end = 0;
            for s in spans {
                prop_assert!(s.start < s.end && s.end <= cell.len() && s.start >= last_end);
                prop_assert!(cell.is_char_boundary(s.start) && cell.is_char_boundary(s.end));
                last_end = s.end;
            }
        }

        #[test]
        fn digit_soup_never_panics(cell in "[0-9 .:+()A-Z-]{0,80}") {
            let _ = super::detect(&cell, Some(super::ColumnHint { phone: true, ssn: true, postal: true, dob: true, name: true, ..Default::default() }));
        }

        #[test]
        fn any_column_and_identifier_never_panics(cells in proptest::collection::vec("\\PC{0,24}", 0..12)) {
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            let hint = super::column_hint(super::ColumnHint::default(), &refs);
            for cell in &refs {
                let _ = super::detect(cell, Some(hint));
                for kind in super::Kind::ALL {
                    let _ = super::national_id_valid(kind, cell);
                }
            }
        }
    }
}
