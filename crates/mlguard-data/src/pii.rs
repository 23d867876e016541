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
use std::sync::OnceLock;

use regex::Regex;

use crate::DataError;
use crate::csv::TableReader;
use crate::types::is_email;

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
        }
    }

    /// Every kind, in report order.
    pub const ALL: [Kind; 6] =
        [Kind::Email, Kind::Phone, Kind::UsSsn, Kind::CreditCard, Kind::Iban, Kind::IpAddress];
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
}

impl ColumnHint {
    /// Reads a column name.
    pub fn from_name(name: &str) -> ColumnHint {
        let lower = name.to_ascii_lowercase();
        let tokens: Vec<&str> =
            lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).collect();
        let has = |words: &[&str]| tokens.iter().any(|t| words.contains(t));
        ColumnHint {
            phone: has(&["phone", "mobile", "tel", "telephone", "cell", "fax", "msisdn"]),
            ssn: has(&["ssn", "ss"]) || (has(&["social"]) && has(&["security"])),
            version: has(&["version", "ver", "release", "build", "firmware"]),
        }
    }
}

/// Finds every span of personal data in a cell, in order, without overlaps.
pub fn detect(cell: &str, hint: Option<ColumnHint>) -> Vec<Span> {
    let hint = hint.unwrap_or_default();
    let mut spans: Vec<Span> = Vec::new();
    // The most specific kinds first; a later kind never overlaps an earlier span.
    emails(cell, &mut spans);
    ibans(cell, &mut spans);
    cards(cell, &mut spans);
    ssns(cell, hint, &mut spans);
    ips(cell, hint, &mut spans);
    phones(cell, hint, &mut spans);
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

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d);
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
        if groups.len() == 1 && !hint.ssn {
            continue; // nine bare digits are an SSN only in an SSN column
        }
        let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
        let group = u32::from(d[3]) * 10 + u32::from(d[4]);
        let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
        let valid = area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
        if valid {
            push(spans, Kind::UsSsn, m.start(), m.end(), if hint.ssn { 0.99 } else { 0.85 });
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

fn phones(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    // International (+CC ...), or national with separators: (415) 555-0132, 415-555-0132,
    // 415.555.0132, 020 7946 0958, 07700 900123.
    let re = re(
        &RE,
        r"\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}|0\d{2,4} \d{3,4} ?\d{3,4}|\d{10,11}",
    );
    for m in re.find_iter(cell) {
        let text = m.as_str();
        if glued(cell, m.start(), m.end()) {
            continue;
        }
        let (digits, groups) = digits_of(text);
        let n = digits.len();
        let international = text.starts_with('+');
        let ok = if international {
            (8..=15).contains(&n) && digits[0] != 0
        } else if groups.len() == 1 {
            // Bare digit runs are phones only in a phone column (else: ids, order numbers).
            hint.phone && (10..=11).contains(&n)
        } else if digits[0] == 0 {
            (10..=11).contains(&n) // UK national: 0 + 9 or 10 digits
        } else {
            // North American: NXX NXX XXXX (area and exchange do not start with 0 or 1).
            n == 10 && digits[0] >= 2 && digits[3] >= 2
        };
        // Dates (2024-01-15) and ISBNs (978-...) have other shapes; amounts have decimals.
        let isbn = text.starts_with("978") || text.starts_with("979");
        if ok && !isbn {
            let score = if international || hint.phone { 0.95 } else { 0.8 };
            push(spans, Kind::Phone, m.start(), m.end(), score);
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

/// Reads a CSV table in one streaming pass (memory does not grow with the file) and finds
/// personal data in every cell; `on_span(row, column name, cell, span)` sees each span
/// (rows are 1-based data rows). Column names and `hints` (by column) are context.
pub fn scan_table<R: Read>(
    src: R,
    delimiter: u8,
    hints: &dyn Fn(&str) -> ColumnHint,
    mut on_span: impl FnMut(u64, &str, &str, &Span),
) -> Result<Vec<ColumnPii>, DataError> {
    let table = TableReader::new(src, delimiter)?;
    let mut columns: Vec<ColumnPii> = table
        .header()
        .iter()
        .map(|name| ColumnPii { name: name.clone(), cells: 0, kinds: BTreeMap::new() })
        .collect();
    let column_hints: Vec<ColumnHint> = table.header().iter().map(|n| hints(n)).collect();
    let names: Vec<String> = table.header().to_vec();
    let mut row = 0u64;
    table.for_each(|_line, fields| {
        row += 1;
        for (i, cell) in fields.iter().enumerate() {
            let Some(col) = columns.get_mut(i) else { break };
            if cell.is_empty() {
                continue;
            }
            col.cells += 1;
            let spans = detect(cell, column_hints.get(i).copied());
            let mut seen: Vec<Kind> = Vec::new();
            for span in &spans {
                let count = col.kinds.entry(span.kind).or_default();
                count.spans += 1;
                count.score_sum += f64::from(span.score);
                if !seen.contains(&span.kind) {
                    seen.push(span.kind);
                    count.cells += 1;
                }
                on_span(row, &names[i], cell, span);
            }
        }
        Ok(())
    })?;
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(cell: &str) -> Vec<(Kind, &str)> {
        detect(cell, None).into_iter().map(|s| (s.kind, &cell[s.start..s.end])).collect()
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
            "4155550132",
            "123-456-7890",
        ] {
            assert!(kinds(bad).iter().all(|(k, _)| *k != Kind::Phone), "{bad}: {:?}", kinds(bad));
        }
        assert_eq!(
            detect("4155550132", Some(ColumnHint::from_name("Telefon / phone")))[0].kind,
            Kind::Phone
        );
    }

    #[test]
    fn spans_in_free_text_do_not_overlap() {
        let text = "Contact Jane at jane@example.org, +1 415 555 0132; card 4111111111111111, IBAN GB82WEST12345698765432.";
        let got: Vec<Kind> = detect(text, None).iter().map(|s| s.kind).collect();
        assert_eq!(got, vec![Kind::Email, Kind::Phone, Kind::CreditCard, Kind::Iban]);
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
            let _ = super::detect(&cell, Some(super::ColumnHint { phone: true, ssn: true, version: false }));
        }
    }
}
