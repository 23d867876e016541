//! Dates of birth: dates in every common numeric order (`1985-03-14`, `14.03.1985`,
//! `03/14/85`, `19850314`) and with month names or abbreviations in English, German,
//! French, Spanish, Italian, Dutch, Portuguese, Polish, Swedish, Danish, Norwegian,
//! Finnish and Czech (`5 septembre 1991`, `24-Jul-71`, `3. März 1985`, `12 de marzo de
//! 1990`, `5 października 1991`, `5. syyskuuta 1991`), two-digit years included. A date is
//! a date of birth in a birth-date column or after a birth word in one of those languages
//! ("born", "geboren", "né le", "nacido el", "urodzony", "född", ...); event dates and
//! timestamps are not reported.

use std::sync::OnceLock;

use regex::Regex;

use super::{ColumnHint, Kind, Span, Words, push, re, said_before, this_year};

/// Month names (nominative and, where dates use another case, genitive or partitive),
/// lowercase. Abbreviations are prefixes of these (`sept`, `févr`, `paź`).
#[rustfmt::skip]
const MONTH_NAMES: &[(&str, u32)] = &[
    // English
    ("january", 1), ("february", 2), ("march", 3), ("april", 4), ("may", 5), ("june", 6),
    ("july", 7), ("august", 8), ("september", 9), ("october", 10), ("november", 11),
    ("december", 12),
    // German
    ("januar", 1), ("jänner", 1), ("februar", 2), ("märz", 3), ("maerz", 3), ("mai", 5),
    ("juni", 6), ("juli", 7), ("oktober", 10), ("dezember", 12),
    // French
    ("janvier", 1), ("février", 2), ("fevrier", 2), ("mars", 3), ("avril", 4), ("juin", 6),
    ("juillet", 7), ("août", 8), ("aout", 8), ("septembre", 9), ("octobre", 10),
    ("novembre", 11), ("décembre", 12), ("decembre", 12),
    // Spanish
    ("enero", 1), ("febrero", 2), ("marzo", 3), ("abril", 4), ("mayo", 5), ("junio", 6),
    ("julio", 7), ("agosto", 8), ("septiembre", 9), ("setiembre", 9), ("octubre", 10),
    ("noviembre", 11), ("diciembre", 12),
    // Italian
    ("gennaio", 1), ("febbraio", 2), ("aprile", 4), ("maggio", 5), ("giugno", 6),
    ("luglio", 7), ("settembre", 9), ("ottobre", 10), ("dicembre", 12),
    // Dutch
    ("januari", 1), ("februari", 2), ("maart", 3), ("mei", 5), ("augustus", 8),
    // Portuguese
    ("janeiro", 1), ("fevereiro", 2), ("março", 3), ("marco", 3), ("maio", 5), ("junho", 6),
    ("julho", 7), ("setembro", 9), ("outubro", 10), ("novembro", 11), ("dezembro", 12),
    // Polish (nominative, genitive)
    ("styczeń", 1), ("stycznia", 1), ("luty", 2), ("lutego", 2), ("marzec", 3), ("marca", 3),
    ("kwiecień", 4), ("kwietnia", 4), ("maj", 5), ("maja", 5), ("czerwiec", 6),
    ("czerwca", 6), ("lipiec", 7), ("lipca", 7), ("sierpień", 8), ("sierpnia", 8),
    ("wrzesień", 9), ("września", 9), ("październik", 10), ("października", 10),
    ("listopad", 11), ("listopada", 11), ("grudzień", 12), ("grudnia", 12),
    // Swedish, Danish, Norwegian
    ("augusti", 8), ("marts", 3), ("desember", 12),
    // Finnish (nominative, partitive)
    ("tammikuu", 1), ("tammikuuta", 1), ("helmikuu", 2), ("helmikuuta", 2),
    ("maaliskuu", 3), ("maaliskuuta", 3), ("huhtikuu", 4), ("huhtikuuta", 4),
    ("toukokuu", 5), ("toukokuuta", 5), ("kesäkuu", 6), ("kesäkuuta", 6), ("heinäkuu", 7),
    ("heinäkuuta", 7), ("elokuu", 8), ("elokuuta", 8), ("syyskuu", 9), ("syyskuuta", 9),
    ("lokakuu", 10), ("lokakuuta", 10), ("marraskuu", 11), ("marraskuuta", 11),
    ("joulukuu", 12), ("joulukuuta", 12),
    // Czech (nominative, genitive)
    ("leden", 1), ("ledna", 1), ("únor", 2), ("února", 2), ("březen", 3), ("března", 3),
    ("duben", 4), ("dubna", 4), ("květen", 5), ("května", 5), ("červen", 6), ("června", 6),
    ("červenec", 7), ("července", 7), ("srpen", 8), ("srpna", 8), ("září", 9), ("říjen", 10),
    ("října", 10), ("listopadu", 11), ("prosinec", 12), ("prosince", 12),
];

/// The usual abbreviations, where a prefix alone would be ambiguous (`mar` begins the
/// Finnish November, `marraskuu`) or is not one (`mrt`, `sty`).
#[rustfmt::skip]
const ABBREVIATIONS: &[(&str, u32)] = &[
    ("jan", 1), ("feb", 2), ("mar", 3), ("apr", 4), ("jun", 6), ("jul", 7), ("aug", 8),
    ("sep", 9), ("sept", 9), ("oct", 10), ("nov", 11), ("dec", 12), ("okt", 10),
    ("dez", 12), ("janv", 1), ("fév", 2), ("févr", 2), ("avr", 4), ("juil", 7), ("déc", 12),
    ("ene", 1), ("abr", 4), ("ago", 8), ("dic", 12), ("gen", 1), ("mag", 5), ("giu", 6),
    ("lug", 7), ("set", 9), ("ott", 10), ("mrt", 3), ("fev", 2), ("out", 10), ("sty", 1),
    ("lut", 2), ("kwi", 4), ("cze", 6), ("lip", 7), ("sie", 8), ("wrz", 9), ("paź", 10),
    ("lis", 11), ("gru", 12), ("maj", 5),
];

/// The month a word names: a full name, a usual abbreviation, or a prefix of three letters
/// or more that begins the names of one month only (`mär`, `octobr`; not `jui`, June or
/// July).
pub(crate) fn month_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    let exact = |table: &[(&str, u32)]| table.iter().find(|(name, _)| *name == w).map(|p| p.1);
    if let Some(m) = exact(MONTH_NAMES).or_else(|| exact(ABBREVIATIONS)) {
        return Some(m);
    }
    if w.chars().count() < 3 {
        return None;
    }
    let mut months = MONTH_NAMES.iter().filter(|(name, _)| name.starts_with(&w)).map(|p| p.1);
    let first = months.next()?;
    months.all(|m| m == first).then_some(first)
}

/// Whether y-m-d is a real date from 1900 to this year.
pub(crate) fn valid_birth_date(y: u32, m: u32, d: u32) -> bool {
    (1900..=this_year()).contains(&y) && days_in_month(y, m).is_some_and(|n| (1..=n).contains(&d))
}

/// Days in month `m` of year `y` (Gregorian), `None` for no such month.
pub(crate) fn days_in_month(y: u32, m: u32) -> Option<u32> {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    Some(match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    })
}

/// Words that say the next date is a birth date, in each language read.
#[rustfmt::skip]
const BIRTH_WORD_LIST: &[&str] = &[
    "born", "birth", "dob", "d.o.b", "birthday", "birthdate", // en
    "geboren", "geb.", "geburtsdatum", "geburtstag", // de
    "né", "née", "naissance", "ne le", "nee le", // fr
    "nacido", "nacida", "nacimiento", "fecha de nac", // es
    "nato", "nata", "nascita", // it
    "geboortedatum", // nl ("geboren" above)
    "nascido", "nascida", "nascimento", // pt
    "urodzony", "urodzona", "urodzenia", "ur.", // pl
    "född", "födelsedatum", // sv
    "født", "fødselsdato", // da, no
    "syntynyt", "syntymäaika", // fi
    "narozen", "narozena", "narození", "nar.", // cs
];

static BIRTH_WORDS: Words = Words::new(BIRTH_WORD_LIST);

/// Whether a birth word follows `end` after a comma ("Wenke Pohl, geb. 28. März 1995").
pub(crate) fn birth_word_after(cell: &str, end: usize) -> bool {
    let Some(rest) = cell[end..].strip_prefix(',') else { return false };
    let rest = rest.trim_start();
    let mut upto = rest.len().min(24);
    while !rest.is_char_boundary(upto) {
        upto -= 1;
    }
    // "geb. 28. März", "data urodzenia: 31.10.1998", "Data di nascita 10/02/63".
    BIRTH_WORDS.in_text(&rest[..upto].to_lowercase())
}

/// A date in any of the known formats. Groups: `y`/`m`/`d` numeric; `mw` a month word;
/// `a`/`b` the two leading numbers of a day-month or month-day date; `c` a compact date.
fn date_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(
        &RE,
        concat!(
            r"(?i)(?-u:\b)(?:",
            // 1985-03-14, 1985/03/14, 1985.03.14
            r"(?P<y1>\d{4})([-/.])(?P<m1>\d{1,2})[-/.](?P<d1>\d{1,2})",
            // 14.03.1985, 03/14/85, 14-03-1985
            r"|(?P<a>\d{1,2})([-/.]) ?(?P<b>\d{1,2})(?:[-/.] ?| )(?P<y2>\d{4}|\d{2})",
            // March 14, 1985; Mar. 14 1985
            r"|(?P<mw1>\p{L}{3,12})\.? (?P<d3>\d{1,2}),? (?P<y3>\d{4})",
            // 14 March 1985; 3. März 1985; 12 de marzo de 1990; 24-Jul-71; 5 sept. 91
            r"|(?P<d4>\d{1,2})(?:\.? (?:de )?|-)(?P<mw2>\p{L}{3,12})\.?(?:,? (?:de )?|-)(?P<y4>\d{4}|\d{2})",
            // 19850314
            r"|(?P<c>\d{8})",
            r")(?-u:\b)",
        ),
    )
}

/// A two-digit year as a birth year: this century if that is not in the future.
fn full_year(y: u32, written: &str) -> u32 {
    if written.len() > 2 {
        return y;
    }
    let now = this_year();
    if 2000 + y <= now { 2000 + y } else { 1900 + y }
}

/// Year, month and day of a date match, and whether it was written compactly
/// (`19850314`, a date of birth only in a birth-date column).
fn date_of(c: &regex::Captures<'_>) -> Option<(u32, u32, u32, bool)> {
    let text = |name: &str| c.name(name).map(|g| g.as_str());
    let num = |name: &str| text(name).and_then(|g| g.parse::<u32>().ok());
    let year = |name: &str| Some(full_year(num(name)?, text(name)?));
    let word = |name: &str| text(name).and_then(month_number);
    if let (Some(y), Some(m), Some(d)) = (num("y1"), num("m1"), num("d1")) {
        return Some((y, m, d, false));
    }
    if let (Some(a), Some(b), Some(y)) = (num("a"), num("b"), year("y2")) {
        // 14/03/1985 or 03/14/1985: whichever reading is a date.
        return Some(if a > 12 { (y, b, a, false) } else { (y, a, b, false) });
    }
    if let (Some(m), Some(d), Some(y)) = (word("mw1"), num("d3"), num("y3")) {
        return Some((y, m, d, false));
    }
    if let (Some(d), Some(m), Some(y)) = (num("d4"), word("mw2"), year("y4")) {
        return Some((y, m, d, false));
    }
    let compact = text("c")?;
    let n = |r: std::ops::Range<usize>| compact.get(r).and_then(|s| s.parse::<u32>().ok());
    Some((n(0..4)?, n(4..6)?, n(6..8)?, true))
}

/// A cell that is one birth date (after trimming; a time of midnight may follow) as year,
/// month and day, in any format the detector knows.
pub(crate) fn parse_birth_date(cell: &str) -> Option<(u32, u32, u32)> {
    let cell = cell.trim();
    let c = date_regex().captures(cell)?;
    let m = c.get(0)?;
    let rest = &cell[m.end()..];
    let midnight = rest.is_empty()
        || ["T00:00", " 00:00"].iter().any(|p| {
            rest.strip_prefix(p)
                .is_some_and(|r| r.bytes().all(|b| matches!(b, b'0' | b':' | b'.' | b'Z')))
        });
    if m.start() != 0 || !midnight {
        return None;
    }
    let (y, mo, d, _) = date_of(&c)?;
    valid_birth_date(y, mo, d).then_some((y, mo, d))
}

pub(crate) fn dates_of_birth(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    if !cell.bytes().any(|b| b.is_ascii_digit()) {
        return;
    }
    for c in super::captures(date_regex(), cell) {
        let Some(m) = c.get(0) else { continue };
        let Some((y, mo, d, compact)) = date_of(&c) else { continue };
        if !valid_birth_date(y, mo, d) {
            continue;
        }
        // A time after the date makes it an event timestamp, unless it is midnight.
        let after = &cell[m.end()..];
        let timed = after.starts_with(['T', ' '])
            && after[1..].starts_with(|ch: char| ch.is_ascii_digit())
            && !after[1..].starts_with("00:00");
        if timed {
            continue;
        }
        if hint.dob {
            push(spans, Kind::DateOfBirth, m.start(), m.end(), 0.95);
        } else if !compact && said_before(cell, m.start(), &BIRTH_WORDS, 40) {
            push(spans, Kind::DateOfBirth, m.start(), m.end(), 0.85);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dob(cell: &str) -> Option<&str> {
        crate::pii::testing::first_of(cell, Kind::DateOfBirth)
    }

    #[test]
    fn month_names_and_abbreviations() {
        for (word, m) in [
            ("septembre", 9),
            ("Sept.", 9),
            ("März", 3),
            ("mär", 3),
            ("października", 10),
            ("paź", 10),
            ("syyskuuta", 9),
            ("června", 6),
            ("červenec", 7),
            ("Jul", 7),
            ("maart", 3),
            ("maggio", 5),
            ("dic", 12),
        ] {
            assert_eq!(month_number(word), Some(m), "{word}");
        }
        for word in ["jui", "marathon", "ma", "červ", "report"] {
            assert_eq!(month_number(word), None, "{word}");
        }
    }

    #[test]
    fn birth_dates_in_many_languages() {
        for (cell, date) in [
            ("née le 5 septembre 1991 à Lyon", "5 septembre 1991"),
            ("DOB 24-Jul-71", "24-Jul-71"),
            ("geboren am 3. März 1985", "3. März 1985"),
            ("nacido el 12 de marzo de 1990", "12 de marzo de 1990"),
            ("geboren op 14 maart 1987", "14 maart 1987"),
            ("urodzony 5 października 1991", "5 października 1991"),
            ("född 1985-03-14", "1985-03-14"),
            ("syntynyt 5. syyskuuta 1991", "5. syyskuuta 1991"),
            ("narozena 3. června 1980", "3. června 1980"),
            ("nato il 14/03/85", "14/03/85"),
            ("nascido em 02.11.1979", "02.11.1979"),
        ] {
            assert_eq!(dob(cell), Some(date), "{cell}");
        }
        for cell in ["réunion le 5 septembre 1991", "Lieferung am 3. März 1985", "ur 14/03/85"] {
            assert_eq!(dob(cell), None, "{cell}");
        }
    }
}
