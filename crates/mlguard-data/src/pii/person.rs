//! Personal names. A cell holds a person's name when:
//!
//! - a known given name is followed by a known surname (`Maria Garcia`, `Kay-Uwe Müller`,
//!   `Amira van der Heyden`: particles between them), or a title by a capitalised word
//!   (`Dr. Okonkwo`, `Herr Schmidt`, `Dott. Leopoldo Pincherle`);
//! - a known given name is followed by capitalised words that are not an organisation's or
//!   a place's (`Arkadiusz Cieciora`), when the name is the whole cell, comes after a word
//!   that introduces a person ("Patient", "Sehr geehrte", "Firmado por"), or is in a name
//!   column; `Family, Given` and upper-case family names (`DUPONT Jean`) count the same;
//! - in a name column, anything shaped like a name ([`name_shaped`]): most of a real
//!   column's names may be in no list, so [`super::scan_table`] decides from a sample of the
//!   column that it holds names (shapes, and a share of known names) and then reads every
//!   cell as one.
//!
//! The lists (`data/names/`) hold given names and surnames of the EU languages and of
//! English-speaking countries, from public-domain and MIT/BSD-licensed sources; see their
//! README.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::{ColumnHint, Kind, Span, Words, push, said_before};

struct NameLists {
    given: HashSet<&'static str>,
    surnames: HashSet<&'static str>,
    particles: HashSet<&'static str>,
}

fn lists() -> &'static NameLists {
    static LISTS: OnceLock<NameLists> = OnceLock::new();
    LISTS.get_or_init(|| {
        let given = include_str!("../../data/names/given_en.txt")
            .lines()
            .chain(include_str!("../../data/names/given_intl.txt").lines())
            .collect();
        let surnames = include_str!("../../data/names/surnames_en.txt")
            .lines()
            .chain(include_str!("../../data/names/surnames_intl.txt").lines())
            .collect();
        let particles = include_str!("../../data/names/particles.txt")
            .lines()
            .flat_map(str::split_whitespace)
            .chain(["d'", "o'", "y", "i", "e"])
            .collect();
        NameLists { given, surnames, particles }
    })
}

/// Degrees and suffixes written after a name, lowercase, without their last dot.
const DEGREES: &[&str] = &[
    "b.a",
    "b.sc",
    "m.a",
    "m.sc",
    "ma",
    "msc",
    "mba",
    "phd",
    "ph.d",
    "jr",
    "sr",
    "ii",
    "iii",
    "dipl.-ing",
    "md",
    "llm",
    "ll.m",
];

#[rustfmt::skip]
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr", "frau", "mme", "mlle",
    "m", "sr", "sra", "srta", "don", "doña", "dña", "dott", "dottssa", "sig", "sigra", "ing",
    "avv", "mevr", "dhr", "pan", "pani", "fru", "fröken", "hr", "fr", "pane", "paní", "sgr",
    "monsieur", "madame", "mademoiselle", "señor", "señora", "signor", "signora", "senhor",
    "senhora", "mister", "sig.ra", "sig.na", "dott.ssa", "prof.ssa", "ing", "hr", "dipl.-ing",
    "univ.prof", "univ.-prof", "prof.dr", "dr.med",
];

/// Words before a name that say a person follows, lowercase.
#[rustfmt::skip]
static PERSON_CONTEXT: Words = Words::new(&[
    "patient", "dear", "signed by", "contact person", "contact", "attn", "employee", "customer",
    "client", "name", "patientin", "sehr geehrte", "sehr geehrter", "liebe", "lieber",
    "unterzeichnet von", "ansprechpartner", "kunde", "kundin", "le patient", "la patiente",
    "cher", "chère", "signé par", "interlocuteur", "el paciente", "la paciente", "estimado",
    "estimada", "firmado por", "persona de contacto", "il paziente", "la paziente", "gentile",
    "caro", "cara", "firmato da", "referente", "patiënt", "beste", "geachte", "ondertekend door",
    "contactpersoon", "o paciente", "a paciente", "prezado", "prezada", "assinado por",
    "pacjent", "pacjentka", "szanowny", "szanowna", "podpisano", "patienten", "hej", "kära",
    "undertecknat av", "kontaktperson", "kære", "underskrevet af", "potilas", "hyvä",
    "allekirjoittanut", "yhteyshenkilö", "pacient", "pacientka", "vážený", "vážená",
    "podepsal", "kontaktní osoba", "unterschrieben von", "signert av", "osoba kontaktowa",
    "signed", "kontakt", "ansprechpartnerin",
]);

/// Words that make capitalised words an organisation, a place or a thing, not a person
/// ("Trinity College Dublin", "Victoria Station", "Georg-August-Universität"), lowercase.
#[rustfmt::skip]
const NOT_A_PERSON: &[&str] = &[
    "college", "university", "universität", "université", "universidad", "università",
    "universiteit", "uniwersytet", "universitet", "yliopisto", "univerzita", "school",
    "schule", "école", "escuela", "scuola", "institute", "institut", "instituto", "istituto",
    "hospital", "klinik", "clinic", "hôpital", "ospedale", "ziekenhuis", "szpital", "sjukhus",
    "bank", "banco", "banque", "banca", "group", "gruppe", "groupe", "grupo", "gruppo",
    "company", "corp", "corporation", "inc", "ltd", "llc", "plc", "gmbh", "ag", "kg", "sa",
    "sas", "sarl", "srl", "spa", "bv", "nv", "ab", "as", "oy", "sro", "holding", "holdings",
    "services", "solutions", "systems", "technologies", "partners", "foundation", "stiftung",
    "fondation", "fundación", "fondazione", "park", "station", "bahnhof", "gare", "estación",
    "stazione", "airport", "flughafen", "aéroport", "aeropuerto", "aeroporto", "street",
    "straße", "strasse", "road", "avenue", "rue", "calle", "via", "platz", "square", "church",
    "kirche", "église", "iglesia", "chiesa", "cathedral", "museum", "musée", "museo", "hotel",
    "hôtel", "restaurant", "café", "bar", "shop", "store", "market", "markt", "mall", "center",
    "centre", "zentrum", "centro", "city", "stadt", "ville", "ciudad", "città", "county",
    "state", "republic", "kingdom", "national", "international", "report", "meeting",
    "ticket", "support", "customer", "project", "team", "department", "office", "ministry",
    "ministerium", "ministère", "ministerio", "ministero", "council", "committee", "club",
    "verein", "fc", "united", "river", "lake", "mount", "bay", "beach", "island", "valley",
    "forest", "classifier", "model", "regression", "network", "server", "cloud", "data",
    "house", "opera", "mint", "tower", "bridge", "palace", "castle", "gallery", "library",
    "zoo", "garden", "gardens", "stadium", "arena", "theatre", "theater", "cinema",
    "kamer", "stan", "post", "sparkasse", "bahnhof", "hauptbahnhof", "plaza", "mayor",
];

fn known(set: &HashSet<&'static str>, word: &str) -> bool {
    let w = word.to_lowercase();
    set.contains(w.as_str()) || (w.contains('-') && w.split('-').all(|p| set.contains(p)))
}

fn given(word: &str) -> bool {
    known(&lists().given, word)
}

/// A known surname (a double-barrelled one when one part is known; `O'Brien` as `brien`).
fn surname(word: &str) -> bool {
    let w = word.to_lowercase();
    let s = &lists().surnames;
    w.split('-').any(|part| {
        s.contains(part)
            || part
                .strip_prefix("o'")
                .or_else(|| part.strip_prefix("o’"))
                .is_some_and(|p| s.contains(p))
    })
}

fn particle(word: &str) -> bool {
    lists().particles.contains(word.to_lowercase().as_str())
}

/// Words with their byte ranges: letters, apostrophes and hyphens, and a following dot.
fn words(cell: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let b = cell.as_bytes();
    for (i, ch) in cell.char_indices().chain(std::iter::once((cell.len(), ' '))) {
        // A dot between letters joins them: "Sig.ra", "Dott.ssa", "B.Sc".
        let joining_dot = ch == '.'
            && start.is_some()
            && b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
            && i > 0
            && b[i - 1].is_ascii_alphabetic();
        let part = ch.is_alphabetic() || matches!(ch, '\'' | '-' | '’') || joining_dot;
        match (start, part) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn capital(word: &str) -> bool {
    word.starts_with(char::is_uppercase)
}

/// Upper case throughout (`DUPONT`): a family name as forms write it, three letters or
/// more (`LA`, `OH` are codes).
fn upper(word: &str) -> bool {
    word.chars().count() >= 3 && word.chars().all(|c| c.is_uppercase() || matches!(c, '-' | '\''))
}

/// A name's word: capitalised, then lower case (or upper case throughout), letters.
fn name_word(word: &str) -> bool {
    let mut cs = word.chars();
    cs.next().is_some_and(char::is_uppercase)
        && (upper(word) || cs.clone().any(char::is_lowercase))
        && !NOT_A_PERSON.contains(&word.to_lowercase().as_str())
}

/// Whether a whole cell has the shape of a person's name: 2–5 words, capitalised (or upper
/// case) except particles (`van`, `de`, `di`, `von`), none an organisation or place word;
/// or `Family, Given`.
pub(crate) fn name_shaped(cell: &str) -> bool {
    let cell = cell.trim();
    if cell.is_empty() || cell.len() > 80 || cell.contains(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let (family, given_part) = match cell.split_once(", ") {
        Some((f, g)) => (f, g),
        None => ("", cell),
    };
    let tokens: Vec<&str> =
        family.split_whitespace().chain(given_part.split_whitespace()).collect();
    (2..=5).contains(&tokens.len())
        && tokens.iter().all(|t| name_word(t.trim_end_matches('.')) || particle(t))
        && tokens.first().is_some_and(|t| capital(t))
        && tokens.last().is_some_and(|t| capital(t))
}

/// A name column's cell holding one part of a name (`George`, `Brian E.`, `Van der Berg`):
/// a capitalised word, possibly with initials or particles.
pub(crate) fn name_part(cell: &str) -> bool {
    let cell = cell.trim();
    let tokens: Vec<&str> = cell.split_whitespace().collect();
    !tokens.is_empty()
        && tokens.len() <= 3
        && !cell.contains(|c: char| c.is_ascii_digit())
        && tokens.first().is_some_and(|t| capital(t) && name_word(t.trim_end_matches('.')))
        && tokens.iter().all(|t| {
            let initial = t.trim_end_matches('.');
            name_word(initial)
                || particle(t)
                || (initial.chars().count() == 1 && initial.chars().all(char::is_uppercase))
        })
}

/// Words that name places and facilities: a column where they come back is a column of
/// places ("Livingston Municipal", "Calhoun County", "Seneca Falls"), whatever its header,
/// and a name followed by one is a place's. Only words that are rarely surnames: not
/// "Park", "West", "Field" or "Hill".
#[rustfmt::skip]
const PLACE_NOUNS: &[&str] = &[
    "county", "municipal", "regional", "international", "intl", "airport", "airfield",
    "airpark", "heliport", "seaplane", "memorial", "lakes", "beach", "springs", "creek",
    "river", "valley", "island", "harbor", "harbour", "ranch", "township", "heights",
    "hospital", "downtown", "falls", "parish", "lodge", "haven", "meadows", "hills", "estates",
    "terrace", "plains", "île", "ile", "isla", "isola", "insel", "ilha", "eiland", "lac",
    "lago", "río", "rio", "fiume", "fleuve", "mont", "monte", "bahía", "baie", "playa",
    "plage", "spiaggia", "puerto", "cabo", "comté", "condado", "contea", "landkreis",
];

/// Whether a cell has a word of [`PLACE_NOUNS`].
pub(crate) fn place_like(cell: &str) -> bool {
    cell.split(|c: char| !c.is_alphabetic())
        .any(|w| !w.is_empty() && PLACE_NOUNS.contains(&w.to_lowercase().as_str()))
}

/// How many of a name-shaped cell's words are known given names or surnames.
pub(crate) fn known_words(cell: &str) -> usize {
    cell.split([' ', ',']).filter(|t| !t.is_empty() && (given(t) || surname(t))).count()
}

pub(crate) fn persons(cell: &str, hint: ColumnHint, spans: &mut Vec<Span>) {
    if !cell.contains(char::is_uppercase) {
        return;
    }
    // A name column: the whole cell, if it is shaped like a name or a part of one.
    if hint.name && (name_shaped(cell) || name_part(cell)) {
        let start = cell.len() - cell.trim_start().len();
        push(spans, Kind::Person, start, start + cell.trim().len(), 0.85);
        return;
    }
    let ws = words(cell);
    let text = |w: (usize, usize)| &cell[w.0..w.1];
    let adjacent = |a: (usize, usize), b: (usize, usize)| {
        let gap = &cell[a.1..b.0];
        !gap.is_empty() && gap.len() <= 2 && gap.chars().all(|c| c == ' ' || c == '.')
    };
    // The whole cell, but for degrees after the name ("Jana Rosemann B.A.").
    let whole = |s: usize, e: usize| {
        let before = cell[..s].trim();
        let after = cell[e..].trim_matches([' ', '.', ',', ';']);
        let degree = after
            .split_whitespace()
            .all(|t| DEGREES.contains(&t.trim_end_matches('.').to_lowercase().as_str()));
        before.is_empty() && (after.is_empty() || degree)
    };
    // The name begins the cell and lower-case words follow ("Pierpaolo Turati ha
    // chiamato stamattina"): the subject of a sentence.
    let subject = |s: usize, e: usize| {
        cell[..s].trim().is_empty() && cell[e..].trim_start().starts_with(char::is_lowercase)
    };
    // "Family, Given" as the whole cell.
    if let Some((family, first)) = cell.trim().split_once(", ")
        && name_shaped(cell)
        && first.split_whitespace().next().is_some_and(given)
        && family.split_whitespace().last().is_some_and(|f| surname(f) || upper(f))
    {
        let start = cell.len() - cell.trim_start().len();
        push(spans, Kind::Person, start, start + cell.trim().len(), 0.85);
        return;
    }
    let mut i = 0;
    while i < ws.len() {
        let w = ws[i];
        let lw = text(w).to_lowercase();
        let title = TITLES.contains(&lw.as_str().trim_end_matches('.'))
            && (capital(text(w)) || lw.chars().count() >= 3);
        let first = if title { i + 1 } else { i };
        let Some(&f) = ws.get(first) else { break };
        if !capital(text(f)) || (title && !adjacent(w, f)) {
            i += 1;
            continue;
        }
        // "Port Eric", "Lake Erik", "New David": places named after people; "rue
        // Christiane Gilles", "Via Leopoldo Pincherle": streets.
        const PLACE_WORDS: &[&str] = &[
            "Port", "New", "Lake", "West", "East", "North", "South", "Mount", "Fort", "St",
            "Saint", "San", "Santa", "Glen", "Bad", "Sankt", "Sainte", "SAINT", "SAINTE",
        ];
        let after_place = first > 0
            && adjacent(ws[first - 1], f)
            && (PLACE_WORDS.contains(&text(ws[first - 1])) || {
                // "rue", "Calle"; a short one only with its dot ("av." but not the
                // Scandinavian "av" of "Signert av").
                let p = ws[first - 1];
                super::address::street_type(text(p))
                    && (text(p).chars().count() >= 3 || cell[p.1..].starts_with('.'))
            });
        // "37726 SAINTE EMMANUELLE": a city after its postal code.
        let after_postal = spans.iter().any(|sp| {
            sp.kind == Kind::PostalCode
                && sp.end <= f.0
                && cell[sp.end..f.0].trim_matches([' ', ',']).is_empty()
        });
        if (!title && after_place) || after_postal {
            // The whole place name: its capitalised words and particles.
            i = first + 1;
            while ws
                .get(i)
                .is_some_and(|&w| adjacent(ws[i - 1], w) && (capital(text(w)) || particle(text(w))))
            {
                i += 1;
            }
            continue;
        }
        // "San Fernando", "Port Townsend", "Mount Vernon": a place's name from its first word.
        if !title && PLACE_WORDS.contains(&text(f)) {
            i = first + 1;
            while ws.get(i).is_some_and(|&w| adjacent(ws[i - 1], w) && capital(text(w))) {
                i += 1;
            }
            continue;
        }
        let upper_first = upper(text(f));
        let is_given = given(text(f));
        // The rest of the name: capitalised words, particles between them, up to four.
        let mut end = None; // index of the last capitalised word
        let mut known_surname = false;
        let mut unknown_ok = true;
        let mut joined = false; // particles or initials inside the name
        for j in first + 1..(first + 5).min(ws.len()) {
            let (prev, cur) = (ws[j - 1], ws[j]);
            if !adjacent(prev, cur) {
                break;
            }
            let t = text(cur);
            // Particles ("van der") and initials ("John F. Kennedy") continue a name.
            let initial = t.chars().count() == 1 && capital(t);
            if (particle(t) && !capital(t)) || initial {
                joined = true;
                continue;
            }
            if !name_word(t) {
                let degree = DEGREES.contains(&t.to_lowercase().trim_end_matches('.'));
                if capital(t) && !degree {
                    unknown_ok = false; // "Trinity College"
                }
                break;
            }
            end = Some(j);
            // A surname: known, or upper case as forms write family names.
            known_surname |= surname(t) && t.chars().any(char::is_lowercase) || upper(t);
        }
        // "DUPONT Jean": the family name first, upper case.
        let family_first =
            upper_first && ws.get(first + 1).is_some_and(|&n| adjacent(f, n) && given(text(n)));
        let span_end = end.map(|e| ws[e].1);
        let start = if title { w.0 } else { f.0 };
        let matched = match span_end {
            Some(e) if title => Some((e, 0.9)),
            Some(e) if (is_given || family_first) && known_surname => Some((e, 0.85)),
            Some(e)
                if is_given
                    && unknown_ok
                    && (whole(start, e)
                        || subject(start, e)
                        || said_before(cell, start, &PERSON_CONTEXT, 30)) =>
            {
                Some((e, 0.75))
            }
            // "Kemal Schulz", "Encarnita Rubio Vázquez": a known surname ends the cell.
            Some(e)
                if known_surname
                    && unknown_ok
                    && !joined
                    && name_word(text(f))
                    && (whole(start, e) || subject(start, e)) =>
            {
                Some((e, 0.75))
            }
            // "Firmado por Leocadio Bayón Mur", "Wenke Pohl, geb. 28. März 1995": a word
            // that introduces a person, or a birth date after, makes capitalised words one.
            Some(e)
                if unknown_ok
                    && name_word(text(f))
                    && (said_before(cell, start, &PERSON_CONTEXT, 30)
                        || super::dates::birth_word_after(cell, e)) =>
            {
                Some((e, 0.7))
            }
            None if title && text(f).chars().count() > 1 && name_word(text(f)) => Some((f.1, 0.85)),
            None if hint.name && (is_given || surname(text(f))) => Some((f.1, 0.8)),
            _ => None,
        };
        // "Stanley Municipal", "Memphis Memorial", "Colorado Springs": a place word in the
        // name or right after it makes it a place's name (a title keeps it a person's).
        let next_word = ws.iter().find(|w| w.0 >= matched.map_or(usize::MAX, |m| m.0));
        let place = matched.is_some_and(|(e, _)| {
            !title
                && (place_like(&cell[start..e]) || next_word.is_some_and(|&w| place_like(text(w))))
        });
        match matched.filter(|_| !place) {
            Some((e, score)) => {
                push(spans, Kind::Person, start, e, score);
                i = ws.iter().position(|w| w.0 >= e).unwrap_or(ws.len());
            }
            None => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::detect;

    fn person(cell: &str) -> Option<&str> {
        crate::pii::testing::first_of(cell, Kind::Person)
    }

    #[test]
    fn places_are_not_people() {
        for place in [
            "Calhoun County",
            "Stanley Municipal",
            "Memphis Memorial",
            "San Fernando",
            "Green Meadows",
            "Colorado Springs",
            "Seneca Falls",
            "Île Torgersen",
            "Isla Victoria",
        ] {
            assert_eq!(person(place), None, "{place}");
        }
        for name in ["Kanye West", "Sally Field", "John Hill"] {
            assert_eq!(person(name), Some(name), "{name}");
        }
        // A name column is judged by its values: airports under `name` are not people,
        // first names alone (and with initials) are.
        let airports = [
            "Thigpen",
            "Livingston Municipal",
            "Meadow Lake",
            "Calhoun County",
            "Perry-Warsaw",
            "Lincoln Regional",
        ];
        assert!(!crate::pii::column_hint(ColumnHint::from_name("name"), &airports).name);
        let first = ["Cesar A.", "George", "Wilson", "Brian E.", "Vivian", "Franklin", "Carol"];
        assert!(crate::pii::column_hint(ColumnHint::from_name("first_name"), &first).name);
    }

    #[test]
    fn names_of_many_countries() {
        for (cell, name) in [
            ("Kay-Uwe Müller", "Kay-Uwe Müller"),
            ("Amira van der Heyden", "Amira van der Heyden"),
            ("Sebastian Matyka", "Sebastian Matyka"),
            ("Le patient Émile Faure a été vu aujourd'hui", "Émile Faure"),
            ("Firmato da Dott. Leopoldo Pincherle", "Dott. Leopoldo Pincherle"),
            ("Pacjent Oliwier Siembab", "Oliwier Siembab"),
            ("DUPONT Jean", "DUPONT Jean"),
            ("Jean DUPONT", "Jean DUPONT"),
            ("Garcia, Maria", "Garcia, Maria"),
            ("Yhteyshenkilö: Matilda Kokkonen", "Matilda Kokkonen"),
        ] {
            assert_eq!(person(cell), Some(name), "{cell}");
        }
        for cell in [
            "Trinity College Dublin",
            "Deutsche Bahn AG",
            "Société Générale",
            "Banco de España",
            "Politecnico di Milano",
            "Victoria Station",
            "Annual General Meeting",
        ] {
            assert_eq!(person(cell), None, "{cell}");
        }
    }

    #[test]
    fn a_name_column_takes_unknown_names() {
        let hint = ColumnHint { name: true, ..ColumnHint::default() };
        let spans = detect("Xavrin Qolbedo", Some(hint));
        assert_eq!(spans.first().map(|s| s.kind), Some(Kind::Person));
        assert!(detect("Xavrin Qolbedo", None).is_empty());
        assert!(name_shaped("Jan van der Berg") && name_shaped("DUPONT, Jean"));
        assert!(!name_shaped("Grand Canyon National Park Service Center"));
        assert!(!name_shaped("order 12") && !name_shaped("Berlin"));
    }
}
