//! Street addresses and postal codes as the rest of Europe writes them (the English forms,
//! number-name-suffix, are in the parent module):
//!
//! - the street type first, the house number before or after: `81, rue Schmitt`,
//!   `Calle Mayor 5`, `Via Roma, 12`, `Rua de Pinho, S/N`, `ul. Leśna 74/39`;
//! - the street type as the end of the name, the number after: `Hauptstraße 5`,
//!   `Jens-Drubin-Straße 47-26`, `Thomstraat 7`, `Storgatan 77`, `Havnegade 87`,
//!   `Haakoninlahdentie 77`, and Czech adjectival names `Plzeňská 70`;
//! - postal codes of each country (`10115`, `4806 BU`, `9608-377`, `49-703`, `515 00`)
//!   where an address, a city or a postal word says what the digits are.

use std::sync::OnceLock;

use regex::Regex;

use super::{ColumnHint, Kind, Span, Words, push, re, said_before};

/// Street types written before the name (French, Spanish, Italian, Portuguese, Polish,
/// Czech), lowercase, without a trailing dot.
#[rustfmt::skip]
const TYPE_FIRST: &[&str] = &[
    // fr
    "rue", "avenue", "av", "boulevard", "bd", "chemin", "impasse", "allée", "place", "quai",
    "route", "cours", "passage", "square", "voie", "faubourg", "sentier", "rond-point",
    "cité", "résidence", "hameau", "lieu-dit",
    // es
    "calle", "c/", "avenida", "avda", "plaza", "paseo", "camino", "carrera", "callejón",
    "cuesta", "urbanización", "ronda", "travesía", "vía", "glorieta", "alameda", "pasaje",
    "rambla", "cañada", "carretera", "polígono", "bajada", "acceso", "partida", "pasadizo",
    "prolongación", "sector", "via", "c.", "pza.", "avda.", "av.", "vial",
    // it
    "viale", "piazza", "corso", "largo", "vicolo", "contrada", "rotonda", "borgo", "strada",
    "piazzale", "lungomare", "galleria", "vico", "stretto", "incrocio", "canale",
    "piazzetta", "quartiere", "rione", "traversa",
    // pt
    "rua", "travessa", "praça", "estrada", "beco", "calçada", "rotunda", "praceta",
    "quinta", "bairro", "caminho", "ladeira", "escadinhas", "viela", "parque", "azinhaga",
    "r.", "trav.", "lg.", "pç.",
    // pl
    "ulica", "ul", "aleja", "al", "plac", "pl", "osiedle", "os", "rondo", "skwer", "droga",
    "bulwar", "wybrzeże",
    // cs
    "náměstí", "třída", "nábřeží", "ulice", "nám",
];

/// Street types that end a one-word street name (German, Dutch, Swedish, Danish,
/// Norwegian, Finnish), lowercase.
#[rustfmt::skip]
const TYPE_SUFFIX: &[&str] = &[
    // de
    "straße", "strasse", "str.", "weg", "platz", "ring", "allee", "gasse", "damm", "ufer",
    "chaussee", "pfad", "steig", "promenade", "stieg", "twiete", "markt",
    // nl
    "straat", "laan", "plein", "gracht", "kade", "singel", "dijk", "hof", "pad", "boulevard",
    "dreef", "steeg", "plantsoen", "wal", "baan", "kanaal", "erf", "veld",
    // sv
    "gatan", "vägen", "gränd", "stigen", "torget", "allén", "backen", "gata", "väg", "stig",
    "torg", "leden", "plan",
    // da, no
    "vej", "gade", "allé", "stræde", "plads", "vænget", "parken", "torv", "veien", "vegen",
    "vei", "veg", "gate", "faret", "løkka", "ekra", "hagen", "bakken", "stien", "svingen",
    "tunet", "åsen", "haugen", "jordet", "plassen", "brekka", "lia", "moen", "lyngen",
    "alléen", "berget", "bråten", "engen", "flata", "gjerdet", "gropa", "havna", "holtet",
    "høgda", "kollen", "marka", "ringen", "roa", "røa", "skogen", "skrenten", "spranget",
    "stranda", "stubben", "tjernet", "vangen", "vika",
    // cs (after an adjective: "Tachovské Náměstí")
    "náměstí", "nádraží", "třída", "nábřeží", "sady", "stezka", "alej",
    "toppen", "eggen", "vollen", "kroken", "myra", "lunden", "grenda", "svingen", "løkken",
    // fi
    "tie", "katu", "kuja", "polku", "bulevardi", "tori", "väylä", "rinne", "kaari", "puisto",
    "ranta", "mäki", "aukio", "raitti", "kulma", "tanhua", "piha",
];

/// Endings of Czech street names, adjectives of a place or person (`Plzeňská`,
/// `Koclířova`): weaker evidence, so the word must be long.
const CZECH_ENDINGS: &[&str] = &[
    "ská", "cká", "ová", "ova", "ovo", "ého", "ní", "ná", "ký", "ých", "ů", "ka", "cí", "ské",
    "ec", "ov", "iho",
];

/// Words that join the parts of a street name (`rue de la Paix`, `Via dei Mille`).
#[rustfmt::skip]
const PARTICLES: &[&str] = &[
    "de", "la", "le", "les", "du", "des", "d'", "l'", "del", "della", "delle", "dei", "degli",
    "di", "da", "do", "dos", "das", "y", "e", "i", "et", "sur", "sous", "en", "al", "las",
    "los", "el", "san", "santa", "santo", "saint", "sainte", "st", "ste", "nad", "pod", "u",
    "na", "am", "an", "der", "bei", "im", "ob", "upon", "on", "in",
];

/// A house number: `5`, `12a`, `47-26`, `74/39`, `5 bis`; or `S/N`, `s/n` (no number).
const HOUSE: &str = r"(?:\d{1,5}(?:\s?[A-Za-z](?-u:\b))?(?:\s?[-/]\s?\d{1,5}(?:[A-Za-z](?-u:\b))?)?(?: bis| ter)?|[Ss]/[Nn])";

/// Words (letters, apostrophes, hyphens, dots) from `from`, with their byte ranges, up to
/// `max` of them.
fn words_from(cell: &str, from: usize, max: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = from;
    while out.len() < max {
        let rest = &cell[i..];
        let len: usize = rest
            .char_indices()
            .take_while(|(_, c)| c.is_alphabetic() || matches!(c, '\'' | '-' | '’'))
            .map(|(k, c)| k + c.len_utf8())
            .last()
            .unwrap_or(0);
        if len == 0 {
            break;
        }
        let mut end = i + len;
        if cell[end..].starts_with('.') {
            end += 1;
        }
        out.push((i, end));
        i = end;
        match cell[i..].chars().next() {
            Some(' ') => i += 1,
            _ => break,
        }
    }
    out
}

/// Whether a word is a street type written before the name (`rue`, `Calle`, `ul.`): the
/// name after it is a street's, even when it is a person's.
pub(crate) fn street_type(word: &str) -> bool {
    let w = word.to_lowercase();
    TYPE_FIRST.contains(&w.as_str()) || TYPE_FIRST.contains(&format!("{w}.").as_str())
}

/// A letter or digit just before `at`: a match there starts inside a word (these patterns
/// have no Unicode word boundary: "Žilinská 3").
fn mid_word(cell: &str, at: usize) -> bool {
    cell[..at].chars().next_back().is_some_and(char::is_alphanumeric)
}

fn capital(cell: &str, w: (usize, usize)) -> bool {
    cell[w.0..w.1].starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
}

fn is_particle(cell: &str, w: (usize, usize)) -> bool {
    let lw = cell[w.0..w.1].to_lowercase();
    PARTICLES.contains(&lw.as_str()) || lw.starts_with("d'") || lw.starts_with("l'")
}

fn house_at(cell: &str, from: usize) -> Option<usize> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RE, &format!(r"^,?\s?{HOUSE}(?-u:\b)"));
    let m = re.find(&cell[from..])?;
    // "Via Roma 2024-01-15", "Rua Nova 3.5": not house numbers.
    let after = &cell[from + m.end()..];
    if after.starts_with(['.', ',']) && after[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if after.starts_with(|c: char| c.is_ascii_digit() || c == '%') {
        return None;
    }
    // "Referentie 2024/9290": a year and a number, not a house.
    static YEAR_SLASH: OnceLock<Regex> = OnceLock::new();
    if super::re(&YEAR_SLASH, r"^,?\s?(?:19|20)\d{2}[/-]\d{3,}").is_match(&cell[from..]) {
        return None;
    }
    // ", 06229 Faure": a postal code and its city, not a house number.
    let digits = m.as_str().bytes().filter(u8::is_ascii_digit).count();
    if digits >= 4 && city_follows(cell, from + m.end()) {
        return None;
    }
    Some(from + m.end())
}

/// Street type first: `[number[,]] TYPE name words [[,] number]`.
fn type_first(cell: &str, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let mut types: Vec<String> = TYPE_FIRST.iter().map(|t| regex::escape(t)).collect();
        // Longest first: "avenida" before "av".
        types.sort_by_key(|t| std::cmp::Reverse(t.len()));
        let pattern = format!(
            r"(?i)(?:(?-u:\b)({HOUSE}),?\s+)?(?:(?-u:\b)|^)({})(?:\.|(?-u:\b)|\s)\s?",
            types.join("|")
        );
        Regex::new(&pattern).unwrap_or_else(|_| super::never())
    });
    let mut at = 0;
    while let Some(found) = re.find_at(cell, at) {
        let Some(c) = re.captures_at(&cell[..found.end()], found.start()) else { break };
        let (Some(m), Some(t)) = (c.get(0), c.get(2)) else { break };
        at = m.end().max(at + 1);
        while !cell.is_char_boundary(at) && at < cell.len() {
            at += 1;
        }
        // A house number before the type; five digits or more are a postal code before its
        // town ("CAP 24022 Borgo San Martino").
        let before_number = c.get(1).map(|g| g.as_str().bytes().filter(u8::is_ascii_digit).count());
        if before_number.is_some_and(|n| n >= 5) {
            continue;
        }
        let numbered_before = before_number.is_some();
        // The name: capitalised words and particles, ending with a capitalised word.
        let words = words_from(cell, m.end(), 6);
        let mut end = None;
        for (k, &w) in words.iter().enumerate() {
            if capital(cell, w) {
                end = Some(k);
            } else if !is_particle(cell, w) {
                break;
            }
        }
        let Some(last) = end else { continue };
        let mut stop = words[last].1;
        let numbered_after = house_at(cell, stop);
        if let Some(e) = numbered_after {
            stop = e;
        }
        // A street without a number is an address before a postal code and city, when its
        // type word is capitalised ("rue Delahaye, 69109 Torres-sur-Mer" in a sentence is
        // lower-case, but a line that begins with it is not).
        let capital_type = t.as_str().starts_with(char::is_uppercase) || t.start() == 0;
        // A street alone in its cell, written as an address writes it ("rue Christiane
        // Gilles"); capitalised ("Plaza Mayor", "Piazza del Duomo") it is a place's name.
        let alone = (cell[..t.start()].trim().is_empty()
            || cell[..t.start()].trim_end().ends_with(':'))
            && cell[stop..].trim().is_empty()
            && t.as_str().starts_with(char::is_lowercase);
        // "CAP 24022 Borgo San Martino": a city after its postal code.
        let after_postal = spans.iter().any(|sp| {
            sp.kind == Kind::PostalCode
                && sp.end <= t.start()
                && cell[sp.end..t.start()].trim().is_empty()
        });
        if after_postal {
            continue;
        }
        if numbered_before
            || numbered_after.is_some()
            || alone
            || (capital_type && postal_follows(cell, stop))
        {
            let start = if numbered_before { m.start() } else { t.start() };
            push(spans, Kind::StreetAddress, start, stop, 0.85);
            at = at.max(stop);
        }
    }
}

/// Street type as the end of a one-word (or hyphenated, or adjective + type) name, a
/// number after it.
fn type_suffix(cell: &str, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(
        &RE,
        &format!(r"(?:\p{{Lu}}[\p{{L}}'-]*\s)?(\p{{Lu}}[\p{{L}}'-]*\.?)\s?({HOUSE})(?-u:\b)"),
    );
    for c in super::captures(re, cell) {
        let (Some(m), Some(name)) = (c.get(0), c.get(1)) else { continue };
        if mid_word(cell, m.start()) {
            continue;
        }
        let word = name.as_str().to_lowercase();
        let suffix = TYPE_SUFFIX.iter().find(|s| word.ends_with(*s));
        let czech = CZECH_ENDINGS.iter().any(|s| word.ends_with(s)) && word.chars().count() >= 6;
        let ok = match suffix {
            // "Ring", "Plan", "Hof" alone are words; "Danielle-Dobes-Ring", "Lolahof" are
            // streets, and so are "Torve Allé", "Berliner Straße".
            Some(s) => {
                let (n, k) = (word.chars().count(), s.chars().count());
                n >= k + if k <= 4 { 3 } else { 2 }
                    || word.ends_with(&format!("-{s}"))
                    || m.start() < name.start()
            }
            None => czech,
        };
        if !ok || house_at(cell, name.end()).is_none() {
            continue;
        }
        // A one-word name with only a Czech ending, or a leading word that is not part of
        // the street ("Call Hauptstraße 5"): start at the street word.
        let start = if suffix.is_some() && m.start() < name.start() && word.len() < 3 + 5 {
            m.start()
        } else {
            name.start()
        };
        let score = if czech && suffix.is_none() { 0.7 } else { 0.85 };
        push(spans, Kind::StreetAddress, start, m.end(), score);
    }
}

/// Czech streets named with a preposition (`K Přehradám 924`, `U Hostivařského Nádraží
/// 764`, `Za Stadionem 246`): capitalised as street names are, a house number after.
fn czech_preposition(cell: &str, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(
        &RE,
        r"(?:^|[\s:,])((?:K|Ke|Ku|Pod|U|V|Ve|Za|Na|Nad|Před|Mezi|Do|Od|Při|Pode|Nade) \p{Lu}\p{Ll}+(?: \p{Lu}\p{Ll}+)? \d{1,5}[a-z]?)(?:$|[\s,])|(?:v ulici|ulice:?) (\p{Lu}\p{Ll}+(?: \p{Lu}\p{Ll}+)? \d{1,5}[a-z]?)(?:$|[\s,])",
    );
    for c in super::captures(re, cell) {
        if let Some(g) = c.get(1).or_else(|| c.get(2)) {
            push(spans, Kind::StreetAddress, g.start(), g.end(), 0.8);
        }
    }
}

/// Finnish streets named after a person, the name in the genitive and the type in lower
/// case (`Birger Kaipiaisen bulevardi 1`, `Fahlanderin puistokatu 519`).
fn finnish_genitive(cell: &str, spans: &mut Vec<Span>) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(
        &RE,
        r"((?:\p{Lu}[\p{L}'-]* ){0,2}\p{Lu}[\p{L}'-]*n (?:tie|katu|kuja|polku|bulevardi|puistokatu|puistotie|puistobulevardi|väylä|aukio|raitti|kaari|rinne|tori|ranta|piha|kulma|tanhua) \d{1,5}[a-zA-Z]?)(?:$|[\s,])",
    );
    for c in super::captures(re, cell) {
        if let Some(g) = c.get(1)
            && !mid_word(cell, g.start())
        {
            push(spans, Kind::StreetAddress, g.start(), g.end(), 0.85);
        }
    }
}

pub(crate) fn european_addresses(cell: &str, spans: &mut Vec<Span>) {
    type_first(cell, spans);
    if cell.bytes().any(|b| b.is_ascii_digit()) {
        type_suffix(cell, spans);
        czech_preposition(cell, spans);
        finnish_genitive(cell, spans);
    }
}

/// A postal code of one of the countries read, as a regex alternative.
const POSTAL: &str = r"(?:\d{4} ?[A-Z]{2}|\d{4}-\d{3}|\d{2}-\d{3}|\d{3} \d{2}|\d{5}|\d{4}|\d{6})";

/// Whether a postal code and city follow `from` (after a comma or space).
fn postal_follows(cell: &str, from: usize) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    re(&RE, &format!(r"^,?\s+(?:[A-Z]{{1,2}}-)?{POSTAL}(?-u:\b),?\s+\p{{Lu}}"))
        .is_match(&cell[from..])
}

/// Words before a postal code that say it is one.
#[rustfmt::skip]
pub(crate) static POSTAL_WORDS: Words = Words::new(&[
    "plz",
    "cp",
    "cap",
    "code postal",
    "c.p.",
    "postcode",
    "postal code",
    "zip",
    "kod pocztowy",
    "postnummer",
    "postnr",
    "postinumero",
    "psč",
    "código postal",
    "codice postale",
    "postleitzahl",
    "pincode",
    "pin code",
    "eircode",
]);

/// European postal codes: after an address or a postal word, before a city, or alone in a
/// postal column. The Dutch form (`4806 BU`) and the Portuguese one (`9608-377`) are
/// distinctive enough alone.
pub(crate) fn european_postal_codes(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    if !cell.bytes().any(|b| b.is_ascii_digit()) {
        return;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RE, &format!(r"(?-u:\b)(?:[A-Z]{{1,2}}-)?({POSTAL})(?-u:\b)"));
    let whole = |s: usize, e: usize| cell[..s].trim().is_empty() && cell[e..].trim().is_empty();
    for c in super::captures(re, cell) {
        let (Some(m), Some(code)) = (c.get(0), c.get(1)) else { continue };
        let text = code.as_str();
        let (s, e) = (m.start(), m.end());
        // Part of a longer number ("12 345 678"), a decimal, a date, a time.
        let before = cell[..s].trim_end_matches(' ');
        let after = &cell[e..];
        if before.ends_with(|ch: char| ch.is_ascii_digit())
            || cell[..s].ends_with(['.', '/', ':', '-'])
            || after.starts_with(['.', '/', ':', '-', '%'])
            || after.trim_start().starts_with(|ch: char| ch.is_ascii_digit())
        {
            continue;
        }
        // Dutch "4806 BU", Portuguese "9608-377", and a Polish "49-703" alone in its cell.
        let distinctive = text.len() >= 6 && text.bytes().any(|b| b.is_ascii_alphabetic())
            || (text.len() == 8 && text.as_bytes()[4] == b'-')
            || (text.len() == 6 && text.as_bytes()[2] == b'-' && whole(s, e));
        let after_address = spans.iter().any(|sp| {
            sp.kind == Kind::StreetAddress
                && sp.end <= s
                && cell[sp.end..s].trim_matches([',', ' ']).is_empty()
        });
        let named = said_before(cell, s, &POSTAL_WORDS, 24);
        let city = city_follows(cell, e);
        let start_of_line = cell[..s].trim().is_empty() || before.ends_with(',');
        // "2024 Annual Report": a year before capitalised words.
        let year = text.len() == 4 && text.parse::<u32>().is_ok_and(|y| (1900..=2099).contains(&y));
        let ok = distinctive
            || after_address
            || named
            || (hint.postal && whole(s, e))
            || (city && !year && (text.len() >= 5 || text.contains(['-', ' ']) || start_of_line));
        if ok {
            push(spans, Kind::PostalCode, s, e, if named || hint.postal { 0.95 } else { 0.85 });
        }
    }
}

/// A city name after a postal code: capitalised words to the end of the cell or to a
/// comma or bracket (`69109 Torres-sur-Mer`, `96019, Rosolini (SR)`), not a month or a
/// common word after a year ("2024 Annual Report").
fn city_follows(cell: &str, from: usize) -> bool {
    let rest = cell[from..].trim_start_matches([',', ' ']);
    if rest.len() == cell[from..].len() {
        return false; // glued
    }
    let words = words_from(rest, 0, 4);
    let Some(&first) = words.first() else { return false };
    if !rest[first.0..first.1].starts_with(char::is_uppercase)
        || super::dates::month_number(&rest[first.0..first.1]).is_some()
    {
        return false;
    }
    let capitalised = words
        .iter()
        .all(|&w| capital(rest, w) || PARTICLES.contains(&&*rest[w.0..w.1].to_lowercase()));
    let end = words.last().map_or(0, |w| w.1);
    let tail = rest[end..].trim_start();
    capitalised && (tail.is_empty() || tail.starts_with([',', '(', '/', ';']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(cell: &str) -> Vec<(Kind, &str)> {
        crate::pii::testing::spans_of(cell, None)
    }

    #[test]
    fn addresses_of_many_countries() {
        for (cell, street) in [
            ("81, rue Schmitt, 06229 Faure", "81, rue Schmitt"),
            ("8, rue Jeanne Henry", "8, rue Jeanne Henry"),
            ("Jens-Drubin-Straße 47-26", "Jens-Drubin-Straße 47-26"),
            ("Striebitzplatz 1-9", "Striebitzplatz 1-9"),
            ("Callejón Desiderio Valbuena 77", "Callejón Desiderio Valbuena 77"),
            ("Plaza de Belén Girona 97", "Plaza de Belén Girona 97"),
            ("Piazza Pellico, 59", "Piazza Pellico, 59"),
            ("Lolahof 7", "Lolahof 7"),
            ("Avenida Diana Amaral, 16", "Avenida Diana Amaral, 16"),
            ("Rua de Pinho, S/N", "Rua de Pinho, S/N"),
            ("al. Leśna 74/39", "al. Leśna 74/39"),
            ("Skolvägen 669", "Skolvägen 669"),
            ("Torve Allé 691", "Torve Allé 691"),
            ("Ahmedløkka 8", "Ahmedløkka 8"),
            ("Haakoninlahdentie 77", "Haakoninlahdentie 77"),
            ("Plzeňská 70", "Plzeňská 70"),
            ("wohnt in der Hauptstraße 5 in Köln", "Hauptstraße 5"),
        ] {
            let got = found(cell);
            assert!(got.contains(&(Kind::StreetAddress, street)), "{cell}: {got:?}");
        }
        for cell in ["Windows 10", "Ring 3", "Python 3.11", "Série 2024-01", "Plan 9"] {
            assert!(found(cell).iter().all(|(k, _)| *k != Kind::StreetAddress), "{cell}");
        }
    }

    #[test]
    fn postal_codes_in_context() {
        for (cell, code) in [
            ("81, rue Schmitt, 06229 Faure", "06229"),
            ("77835 Säckingen", "77835"),
            ("4806 BU", "4806 BU"),
            ("9608-377 Pombal", "9608-377"),
            ("49-703 Stargard Szczeciński", "49-703"),
            ("515 00 Ronov nad Doubravou", "515 00"),
            ("PLZ 10115", "10115"),
            ("96019, Rosolini (SR)", "96019"),
            ("8837 Risskov", "8837"),
        ] {
            let got = found(cell);
            assert!(got.contains(&(Kind::PostalCode, code)), "{cell}: {got:?}");
        }
        for cell in ["2024 Annual Report", "in 2019 March", "12 345 678", "1 234,50 zł", "v 12.34"]
        {
            assert!(found(cell).iter().all(|(k, _)| *k != Kind::PostalCode), "{cell}");
        }
    }
}
