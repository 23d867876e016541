//! k-anonymity by full-domain generalisation and suppression: each quasi-identifier has a
//! hierarchy of ever coarser values; while more rows than the suppression budget sit in
//! groups smaller than k, one quasi-identifier goes one level up — the one whose step
//! leaves the fewest rows in small groups (a greedy bottom-up search; Sweeney's Datafly
//! would always take the one with the most distinct values, and coarsen it even when that
//! does not help) — and the rows still in small groups are then suppressed.
//!
//! Hierarchies are built from the values themselves:
//! - numbers: aligned intervals of 1-2-5 widths (`30-34`, `30-39`, `20-39`, ...), then `*`;
//! - codes (postal codes and other short alphanumeric values of one column): one more
//!   trailing character replaced per level (`941`, `94*`, `9*`, `*`);
//! - anything else: the value, then `*`.
//!
//! Empty cells (missing values) stay empty at every level and form their own groups.

use std::collections::HashMap;

/// Most interval levels tried for a number column before `*`.
const MAX_INTERVAL_LEVELS: usize = 16;

/// Values of one quasi-identifier column, interned: `codes.get(row)` indexes `values`.
#[derive(Debug, Default)]
pub(crate) struct Column {
    pub(crate) name: String,
    /// Whether the column holds codes that generalise by truncation (postal codes).
    pub(crate) code_like: bool,
    values: Vec<String>,
    index: HashMap<String, u32>,
    codes: Codes,
}

impl Column {
    pub(crate) fn new(name: &str, code_like: bool) -> Column {
        Column { name: name.to_owned(), code_like, ..Column::default() }
    }

    pub(crate) fn push(&mut self, value: &str) {
        let code = match self.index.get(value) {
            Some(&c) => c,
            None => {
                let c = self.values.len() as u32;
                self.values.push(value.to_owned());
                self.index.insert(value.to_owned(), c);
                c
            }
        };
        self.codes.push(code);
    }

    /// The code of row `row` (0-based).
    pub(crate) fn code(&self, row: usize) -> u32 {
        self.codes.get(row)
    }
}

/// One code per row, in the narrowest width that holds every code so far: the only state
/// of k-anonymity that grows with the rows, and most quasi-identifiers (an age, a label)
/// have a few hundred values at most, a byte a row instead of four.
#[derive(Debug)]
enum Codes {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
}

impl Default for Codes {
    fn default() -> Codes {
        Codes::U8(Vec::new())
    }
}

impl Codes {
    fn push(&mut self, code: u32) {
        match self {
            Codes::U8(v) if let Ok(c) = u8::try_from(code) => v.push(c),
            Codes::U16(v) if let Ok(c) = u16::try_from(code) => v.push(c),
            Codes::U32(v) => v.push(code),
            // A code too wide: every row so far widened once (codes grow one at a time).
            Codes::U8(v) => {
                *self = Codes::U16(v.iter().map(|&c| u16::from(c)).collect());
                self.push(code);
            }
            Codes::U16(v) => {
                *self = Codes::U32(v.iter().map(|&c| u32::from(c)).collect());
                self.push(code);
            }
        }
    }

    fn get(&self, row: usize) -> u32 {
        match self {
            Codes::U8(v) => u32::from(v[row]),
            Codes::U16(v) => u32::from(v[row]),
            Codes::U32(v) => v[row],
        }
    }
}

/// One column's hierarchy: per level, the generalised value of each distinct value.
struct Hierarchy {
    /// `levels[l][code]` indexes `labels[l]`.
    levels: Vec<Vec<u32>>,
    labels: Vec<Vec<String>>,
    /// What each level does, for the report.
    describe: Vec<String>,
}

fn nice_widths(range: f64, integral: bool) -> Vec<f64> {
    // 1-2-5 series from the first width that coarsens anything to one that covers all.
    let floor = if integral { 2.0 } else { (range / 1000.0).max(f64::MIN_POSITIVE) };
    let mut exp = floor.log10().floor() as i32;
    let mut out = Vec::new();
    'outer: loop {
        for m in [1.0, 2.0, 5.0] {
            let w = m * 10f64.powi(exp);
            if w < floor {
                continue;
            }
            out.push(w);
            if w > range || out.len() == MAX_INTERVAL_LEVELS {
                break 'outer;
            }
        }
        exp += 1;
    }
    out
}

fn interval(v: f64, w: f64, integral: bool) -> String {
    let lo = (v / w).floor() * w;
    if integral {
        format!("{}-{}", lo as i64, (lo + w) as i64 - 1)
    } else {
        format!("[{}, {})", trim_float(lo), trim_float(lo + w))
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

impl Hierarchy {
    fn build(col: &Column) -> Hierarchy {
        let n = col.values.len();
        let parsed: Vec<Option<f64>> = col
            .values
            .iter()
            .map(|v| v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect();
        let present = col.values.iter().filter(|v| !v.is_empty()).count();
        let numbers: Vec<f64> = parsed.iter().flatten().copied().collect();
        let mut generalised: Vec<(String, Vec<String>)> = Vec::new();
        if !col.code_like && present > 0 && numbers.len() * 2 > present {
            let (lo, hi) = numbers
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
            let integral = numbers.iter().all(|x| x.fract() == 0.0 && x.abs() < 1e15);
            for w in nice_widths(hi - lo, integral) {
                let labels = (0..n)
                    .map(|i| match parsed[i] {
                        Some(x) => interval(x, w, integral),
                        None => col.values[i].clone(),
                    })
                    .collect();
                generalised.push((format!("intervals of {}", trim_float(w)), labels));
            }
        } else if col.code_like {
            // Codes already truncated (`941**`) lose characters from before their stars.
            let stem = |v: &str| v.trim_end_matches('*').to_owned();
            let longest = col.values.iter().map(|v| stem(v).chars().count()).max().unwrap_or(0);
            for cut in 1..longest {
                let labels = col
                    .values
                    .iter()
                    .map(|v| {
                        let v = stem(v);
                        let len = v.chars().count();
                        if v.is_empty() {
                            String::new()
                        } else if len <= cut {
                            "*".to_owned()
                        } else {
                            let kept: String = v.chars().take(len - cut).collect();
                            format!("{kept}*")
                        }
                    })
                    .collect();
                generalised.push((format!("last {cut} character(s) removed"), labels));
            }
        }
        let top = col.values.iter().map(|v| if v.is_empty() { String::new() } else { "*".into() });
        generalised.push(("all values as *".into(), top.collect()));
        let mut h = Hierarchy {
            levels: vec![(0..n as u32).collect()],
            labels: vec![col.values.clone()],
            describe: vec!["not generalised".into()],
        };
        for (what, labels) in generalised {
            let mut index: HashMap<&str, u32> = HashMap::new();
            let mut distinct: Vec<String> = Vec::new();
            let map = labels
                .iter()
                .map(|l| {
                    *index.entry(l.as_str()).or_insert_with(|| {
                        distinct.push(l.clone());
                        distinct.len() as u32 - 1
                    })
                })
                .collect();
            h.levels.push(map);
            h.labels.push(distinct);
            h.describe.push(what);
        }
        h
    }

    fn top(&self) -> usize {
        self.levels.len() - 1
    }

    fn distinct(&self, level: usize) -> usize {
        self.labels[level].len()
    }
}

/// The generalisation chosen for a table.
pub(crate) struct Solution {
    hierarchies: Vec<Hierarchy>,
    /// Level per quasi-identifier.
    pub(crate) levels: Vec<usize>,
    /// k: rows in groups smaller are suppressed.
    k: u32,
    /// Size of each group.
    sizes: Vec<u32>,
    /// Smallest group among the rows kept (0 when none is kept).
    pub(crate) achieved_k: usize,
    /// Groups among the rows kept.
    pub(crate) groups: usize,
    /// Group of each row (kept rows only are meaningful).
    pub(crate) group_of: Vec<u32>,
}

impl Solution {
    /// Rows of the table the solution was found for.
    pub(crate) fn rows(&self) -> usize {
        self.group_of.len()
    }

    /// Whether row `row` (0-based) is suppressed: its group is smaller than k.
    pub(crate) fn suppressed(&self, row: usize) -> bool {
        self.sizes[self.group_of[row] as usize] < self.k
    }

    /// The generalised value of quasi-identifier `q` in row `row`.
    pub(crate) fn value(&self, q: usize, col: &Column, row: usize) -> &str {
        let h = &self.hierarchies[q];
        let level = self.levels[q];
        &h.labels[level][h.levels[level][col.code(row) as usize] as usize]
    }

    /// What the chosen level of quasi-identifier `q` does, and how many levels it has.
    pub(crate) fn describe(&self, q: usize) -> (&str, usize) {
        let h = &self.hierarchies[q];
        (&h.describe[self.levels[q]], h.top())
    }
}

/// Group sizes under `levels`, and with `keep`, the group id of every row (else empty: the
/// search compares sizes only, and keeps no row-sized state but the codes).
fn group(
    hs: &[Hierarchy],
    cols: &[Column],
    levels: &[usize],
    rows: usize,
    keep: bool,
) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut sizes: Vec<u32> = Vec::new();
    let mut key = Vec::with_capacity(cols.len());
    let mut group_of = Vec::with_capacity(if keep { rows } else { 0 });
    for row in 0..rows {
        key.clear();
        for (q, col) in cols.iter().enumerate() {
            key.push(hs[q].levels[levels[q]][col.code(row) as usize]);
        }
        let id = match ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = sizes.len() as u32;
                ids.insert(key.clone(), id);
                sizes.push(0);
                id
            }
        };
        sizes[id as usize] += 1;
        if keep {
            group_of.push(id);
        }
    }
    (group_of, sizes)
}

/// Rows in groups smaller than `k`.
fn small_rows(sizes: &[u32], k: u32) -> usize {
    sizes.iter().filter(|&&s| s < k).map(|&s| s as usize).sum()
}

/// Generalises the quasi-identifiers until at most `max_suppressed` rows sit in groups
/// smaller than `k`, then suppresses those rows. Each step takes the one-level
/// generalisation of one quasi-identifier that leaves the fewest rows in small groups
/// (ties: the quasi-identifier with more distinct values, as in Datafly), so a column is
/// only coarsened when that helps.
pub(crate) fn anonymise(cols: &[Column], rows: usize, k: usize, max_suppressed: usize) -> Solution {
    let hierarchies: Vec<Hierarchy> = cols.iter().map(Hierarchy::build).collect();
    let mut levels = vec![0; cols.len()];
    let k32 = u32::try_from(k).unwrap_or(u32::MAX);
    let (_, mut sizes) = group(&hierarchies, cols, &levels, rows, false);
    while small_rows(&sizes, k32) > max_suppressed {
        let mut best: Option<(usize, usize, Vec<u32>)> = None;
        for q in 0..cols.len() {
            if levels[q] == hierarchies[q].top() {
                continue;
            }
            levels[q] += 1;
            let (_, s) = group(&hierarchies, cols, &levels, rows, false);
            levels[q] -= 1;
            let small = small_rows(&s, k32);
            let better = match &best {
                None => true,
                Some((bq, bsmall, _)) => {
                    small < *bsmall
                        || (small == *bsmall
                            && hierarchies[q].distinct(levels[q])
                                > hierarchies[*bq].distinct(levels[*bq]))
                }
            };
            if better {
                best = Some((q, small, s));
            }
        }
        let Some((q, _, s)) = best else { break };
        levels[q] += 1;
        sizes = s;
    }
    // Group ids are numbered in order of first appearance, so the chosen levels' grouping
    // gives the sizes the search saw.
    let (group_of, sizes) = group(&hierarchies, cols, &levels, rows, true);
    let kept_sizes = sizes.iter().filter(|&&s| s >= k32);
    let achieved_k = kept_sizes.clone().min().map_or(0, |&s| s as usize);
    let groups = kept_sizes.count();
    Solution { hierarchies, levels, k: k32, sizes, achieved_k, groups, group_of }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, code_like: bool, values: &[&str]) -> Column {
        let mut c = Column::new(name, code_like);
        values.iter().for_each(|v| c.push(v));
        c
    }

    #[test]
    fn widths_follow_the_1_2_5_series() {
        assert_eq!(nice_widths(75.0, true), vec![2.0, 5.0, 10.0, 20.0, 50.0, 100.0]);
        assert_eq!(interval(37.0, 5.0, true), "35-39");
        assert_eq!(interval(-3.0, 10.0, true), "-10--1");
        assert_eq!(interval(0.37, 0.2, false), "[0.2, 0.4)");
    }

    /// The table worked by hand: ages and 3-digit ZIP prefixes of eight people.
    ///
    /// k = 2, no suppression. At level (0, 0) every row is alone. Ages one level up (width
    /// 2) leave all 8 rows alone; ZIPs one level up (`94*`) pair the two 44s: 6 left, so
    /// ZIPs go up. Then ages to width 2 or ZIPs to `9*` both leave 6; the tie goes to ages
    /// (7 distinct values against 1). Ages to width 5: groups 20-24, 25-29, 35-39 alone,
    /// 30-34 ×2, 40-44 ×3: 3 left (ZIPs up: still 6). Ages to width 10: 20s ×2, 30s ×3,
    /// 40s ×3: none left. Result: decades and `94*`, smallest group 2, 3 groups.
    ///
    /// k = 3: the same steps until decades, where the 20s (2 rows) are short; ages to
    /// width 20 gives 20-39 ×5 and 40-59 ×3. With a budget of 2 rows the search stops at
    /// decades and suppresses the two rows in their twenties instead.
    #[test]
    fn generalisation_on_a_table_checked_by_hand() {
        let ages = column("age", false, &["23", "27", "31", "33", "36", "41", "44", "44"]);
        let zips = column("zip", true, &["941", "941", "941", "942", "942", "942", "942", "943"]);
        let cols = [ages, zips];
        let row = |s: &Solution, r: usize| {
            (s.value(0, &cols[0], r).to_owned(), s.value(1, &cols[1], r).to_owned())
        };

        let s = anonymise(&cols, 8, 2, 0);
        assert_eq!(s.levels, vec![3, 1]);
        assert_eq!(row(&s, 0), ("20-29".into(), "94*".into()));
        assert_eq!(row(&s, 7), ("40-49".into(), "94*".into()));
        assert!((0..s.rows()).all(|r| !s.suppressed(r)));
        assert_eq!((s.achieved_k, s.groups), (2, 3));

        let s = anonymise(&cols, 8, 3, 0);
        assert_eq!(s.levels, vec![4, 1]);
        assert_eq!(row(&s, 0), ("20-39".into(), "94*".into()));
        assert_eq!((s.achieved_k, s.groups), (3, 2));
        assert!((0..s.rows()).all(|r| !s.suppressed(r)));

        let s = anonymise(&cols, 8, 3, 2);
        assert_eq!(s.levels, vec![3, 1]);
        let suppressed: Vec<bool> = (0..s.rows()).map(|r| s.suppressed(r)).collect();
        assert_eq!(suppressed, [true, true, false, false, false, false, false, false]);
        assert_eq!((s.achieved_k, s.groups), (3, 2));
    }

    #[test]
    fn too_few_rows_are_all_suppressed_and_missing_values_stay() {
        let c = column("sex", false, &["F", "M", ""]);
        let s = anonymise(std::slice::from_ref(&c), 3, 5, 0);
        assert_eq!(s.value(0, &c, 0), "*");
        assert_eq!(s.value(0, &c, 2), "");
        assert!((0..s.rows()).all(|r| s.suppressed(r)));
        assert_eq!(s.achieved_k, 0);
    }
}
