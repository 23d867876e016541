//! A stratified train/test split driven by a 256-bit seed.
//!
//! The random stream is BLAKE3 in keyed XOF mode with the seed as key: a PRF whose output
//! is fixed by the BLAKE3 specification, so a recorded seed reproduces the same split on
//! any machine and with any future version of this crate. The seed itself comes from the
//! operating system's CSPRNG (see `mlguard train --seed-policy`), so nobody can predict
//! the split without the (sealed) seed.

/// A deterministic random stream from a 256-bit seed.
pub struct SeededStream {
    xof: blake3::OutputReader,
    /// The next bytes of the stream, read from the XOF many blocks at a time (one small
    /// read per draw computed a whole BLAKE3 block per 8 bytes); `buf[used..]` is unused.
    buf: Box<[u8; STREAM_BUFFER]>,
    used: usize,
}

/// Bytes of the stream read at a time: a multiple of 8 (draws never straddle a refill).
const STREAM_BUFFER: usize = 1024;

impl SeededStream {
    /// The stream for `seed` (domain-separated from any other use of the seed).
    pub fn new(seed: &[u8; 32], purpose: &str) -> SeededStream {
        let mut h = blake3::Hasher::new_keyed(seed);
        h.update(b"mlguard-learn-v1 ");
        h.update(purpose.as_bytes());
        SeededStream {
            xof: h.finalize_xof(),
            buf: Box::new([0; STREAM_BUFFER]),
            used: STREAM_BUFFER,
        }
    }

    /// The next 64 random bits: the stream's next 8 bytes, little endian.
    pub fn next_u64(&mut self) -> u64 {
        if self.used == STREAM_BUFFER {
            self.xof.fill(&mut self.buf[..]);
            self.used = 0;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.buf[self.used..self.used + 8]);
        self.used += 8;
        u64::from_le_bytes(b)
    }

    /// Uniform in `0..n` without modulo bias (Lemire's method); `n > 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// Row indexes of the training and test parts (four bytes each: ten million rows' split
/// takes 40 MB, not 80).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows, in file order.
    pub train: Vec<u32>,
    /// Test rows, in file order.
    pub test: Vec<u32>,
    /// Groups of rows drawn together (the rows, when every row is its own group).
    pub groups: usize,
}

/// Splits rows by class so each class keeps its share in both parts: for every class,
/// `round(test_size × count)` of its rows (at least one when the class has two or more
/// rows and `test_size > 0`) go to the test part, chosen by the seeded stream.
pub fn stratified_split(labels: &[u32], test_size: f64, seed: &[u8; 32]) -> Split {
    let mut stream = SeededStream::new(seed, "stratified split");
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &y) in labels.iter().enumerate() {
        by_class[y as usize].push(i);
    }
    let mut is_test = vec![false; labels.len()];
    for rows in &mut by_class {
        stream.shuffle(rows);
        let mut take = (test_size * rows.len() as f64).round() as usize;
        if take == 0 && test_size > 0.0 && rows.len() >= 2 {
            take = 1;
        }
        for &r in rows.iter().take(take.min(rows.len().saturating_sub(1))) {
            is_test[r] = true;
        }
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, t) in is_test.into_iter().enumerate() {
        if t { test.push(i as u32) } else { train.push(i as u32) }
    }
    Split { train, test, groups: labels.len() }
}

/// Like [`stratified_split`], but rows with the same `groups` key (copies of one feature
/// vector) all go to the same part, so the test part holds no copy of a training row
/// (duplicated rows would otherwise inflate every metric). Whole groups are drawn per class
/// (a group counts under its first row's class, in the order of first rows): shuffled by
/// the seeded stream, each taken into the test part while it fits in the class's
/// `round(test_size × rows)` (at least one row as in [`stratified_split`]), and never the
/// class's last group. With every key distinct this is exactly [`stratified_split`]: same
/// seed, same split.
pub fn grouped_split(labels: &[u32], groups: &[u64], test_size: f64, seed: &[u8; 32]) -> Split {
    let group_of = number_groups(groups.to_vec(), labels.len());
    draw_groups(labels, &group_of, test_size, seed)
}

/// Each of `n` rows' group, numbered in order of first appearance: rows with equal `keys`
/// form a group; with no keys every row is its own. The keys are dropped as soon as they
/// are no longer needed (at ten million rows they are 80 MB).
///
/// The keys are dealt into parts (see [`partition`]) of about [`PART_KEYS`] rows, each
/// looked through with a map of its own, a part per core at a time (so the maps held at
/// once stay small whatever the table's size). The numbers are those one map over all rows
/// gives.
pub(crate) fn number_groups(keys: Vec<u64>, n: usize) -> Vec<u32> {
    if keys.is_empty() {
        return (0..n).map(|i| i as u32).collect();
    }
    let parts = if keys.len() < 1 << 16 {
        1
    } else {
        let cores = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 8);
        cores.max(keys.len().div_ceil(PART_KEYS))
    };
    number_groups_in(keys, parts)
}

/// [`number_groups`] of (non-empty) `keys` in `parts` parts: each part lists its rows
/// whose key came before, with the row it first came in; then, in row order, a row not in
/// a list starts the next group and a row in one takes its first row's group. What stays
/// in memory past the keys is the copies (none, in most tables), not a number per row.
fn number_groups_in(keys: Vec<u64>, parts: usize) -> Vec<u32> {
    let n = keys.len();
    let parts = parts.max(1);
    let lists = crate::cores::map_on_cores((0..parts).collect(), |part| {
        let mut first: std::collections::HashMap<u64, u32> =
            std::collections::HashMap::with_capacity(n / parts + 1);
        let mut copies: Vec<(u32, u32)> = Vec::new();
        for (row, &k) in keys.iter().enumerate() {
            if partition(k, parts) == part {
                match first.entry(k) {
                    std::collections::hash_map::Entry::Occupied(e) => {
                        copies.push((row as u32, *e.get()));
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(row as u32);
                    }
                }
            }
        }
        copies
    });
    drop(keys);
    let mut copies: Vec<(u32, u32)> = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    for list in lists {
        copies.extend(list);
    }
    copies.sort_unstable();
    let mut group_of: Vec<u32> = Vec::with_capacity(n);
    let mut next = 0u32;
    let mut copies = copies.into_iter().peekable();
    for row in 0..n {
        let group = match copies.next_if(|&(r, _)| r as usize == row) {
            Some((_, first)) => group_of[first as usize],
            None => {
                next += 1;
                next - 1
            }
        };
        group_of.push(group);
    }
    group_of
}

/// Most keys a part of [`number_groups`] holds on average: its map then takes about 4.4 MB
/// (one part per core at a time; at 2^19 the two maps of a 1M-row table were 34 MB on top of
/// the loaded columns, the peak of a training run).
const PART_KEYS: usize = 1 << 17;

/// The split of rows whose groups, numbered in order of first appearance, are `group_of`
/// (see [`grouped_split`]).
pub(crate) fn draw_groups(
    labels: &[u32],
    group_of: &[u32],
    test_size: f64,
    seed: &[u8; 32],
) -> Split {
    let mut stream = SeededStream::new(seed, "stratified split");
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    // The groups of each class (the class of their first row), in order of first
    // appearance, and the size of each group of more than one row (the others have one).
    // Sized for the most groups there can be (pages of the room not used are never
    // touched): grown by doubling, the lists were copied and held twice.
    let mut class_count = vec![0usize; classes];
    for &y in labels {
        class_count[y as usize] += 1;
    }
    // One buffer, each class's list in a range as long as its rows (the most groups it
    // can have): one allocation the system takes back whole when it is freed.
    let mut starts = Vec::with_capacity(classes + 1);
    let mut at = 0;
    for &c in &class_count {
        starts.push(at);
        at += c;
    }
    let mut lists = vec![0u32; labels.len()];
    let mut lens = vec![0usize; classes];
    let mut larger: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
    let mut groups = 0usize;
    for (&y, &g) in labels.iter().zip(group_of) {
        if g as usize == groups {
            groups += 1;
            let y = y as usize;
            lists[starts[y] + lens[y]] = g;
            lens[y] += 1;
        } else {
            *larger.entry(g).or_insert(1) += 1;
        }
    }
    let size = |g: u32| larger.get(&g).map_or(1, |&s| s as usize);
    let mut test_group = vec![false; groups];
    let mut test_rows = 0;
    for (&start, &len) in starts.iter().zip(&lens) {
        let list = &mut lists[start..start + len];
        let rows: usize = list.iter().map(|&g| size(g)).sum();
        stream.shuffle(list);
        let mut take = (test_size * rows as f64).round() as usize;
        if take == 0 && test_size > 0.0 && rows >= 2 {
            take = 1;
        }
        let mut taken = 0;
        for &g in list.iter().take(list.len().saturating_sub(1)) {
            if taken == take {
                break;
            }
            let rows = size(g);
            if taken + rows <= take {
                taken += rows;
                test_group[g as usize] = true;
            }
        }
        test_rows += taken;
    }
    drop((larger, lists));
    let mut train = Vec::with_capacity(labels.len().saturating_sub(test_rows));
    let mut test = Vec::with_capacity(test_rows);
    for (i, &g) in group_of.iter().enumerate() {
        if test_group[g as usize] { test.push(i as u32) } else { train.push(i as u32) }
    }
    Split { train, test, groups }
}

/// Which of `parts` parts a key belongs to.
fn partition(key: u64, parts: usize) -> usize {
    (key % parts as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_is_fixed_by_the_seed() {
        let mut a = SeededStream::new(&[7; 32], "x");
        let mut b = SeededStream::new(&[7; 32], "x");
        let mut c = SeededStream::new(&[7; 32], "y");
        let va: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(va, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(va, (0..5).map(|_| c.next_u64()).collect::<Vec<_>>());
        // Pinned: the stream must never change, or recorded seeds stop reproducing splits.
        let mut z = SeededStream::new(&[0; 32], "stratified split");
        let first = z.next_u64();
        let mut again = SeededStream::new(&[0; 32], "stratified split");
        assert_eq!(first, again.next_u64());
        // Buffered, the stream is still the XOF's bytes in order, past a refill too.
        let mut h = blake3::Hasher::new_keyed(&[7; 32]);
        h.update(b"mlguard-learn-v1 x");
        let mut xof = h.finalize_xof();
        let mut d = SeededStream::new(&[7; 32], "x");
        for _ in 0..3 * STREAM_BUFFER / 8 + 5 {
            let mut b = [0u8; 8];
            xof.fill(&mut b);
            assert_eq!(d.next_u64(), u64::from_le_bytes(b));
        }
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            counts[a.below(3) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (900..1100).contains(&c)), "{counts:?}");
    }

    #[test]
    fn split_is_stratified_deterministic_and_complete() {
        let labels: Vec<u32> = (0..1000).map(|i| u32::from(i % 10 == 0)).collect();
        let s = stratified_split(&labels, 0.2, &[1; 32]);
        assert_eq!(s, stratified_split(&labels, 0.2, &[1; 32]));
        assert_ne!(s, stratified_split(&labels, 0.2, &[2; 32]));
        assert_eq!(s.test.len(), 200);
        assert_eq!(s.train.len() + s.test.len(), 1000);
        let pos_test = s.test.iter().filter(|&&i| labels[i as usize] == 1).count();
        assert_eq!(pos_test, 20, "10% positives in the test part too");
        let mut all: Vec<u32> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        // A class with two rows keeps one in each part.
        let s = stratified_split(&[0, 0, 0, 0, 1, 1], 0.25, &[3; 32]);
        assert_eq!(s.test.iter().filter(|&&i| i >= 4).count(), 1);
    }

    #[test]
    fn grouped_split_keeps_copies_together_and_is_the_plain_split_without_copies() {
        let labels: Vec<u32> = (0..1000).map(|i| u32::from(i % 10 == 0)).collect();
        let distinct: Vec<u64> = (0..1000).collect();
        assert_eq!(
            grouped_split(&labels, &distinct, 0.2, &[5; 32]),
            stratified_split(&labels, 0.2, &[5; 32]),
            "recorded seeds keep reproducing"
        );
        // Every row three times (300 groups): no group straddles the parts.
        let labels: Vec<u32> = (0..900).map(|i| u32::from((i % 300) % 10 == 0)).collect();
        let groups: Vec<u64> = (0..900).map(|i| (i % 300) as u64).collect();
        let s = grouped_split(&labels, &groups, 0.2, &[6; 32]);
        assert_eq!(s.test.len(), 180);
        let test_groups: std::collections::HashSet<u64> =
            s.test.iter().map(|&i| groups[i as usize]).collect();
        assert!(s.train.iter().all(|&i| !test_groups.contains(&groups[i as usize])));
        assert_eq!(s.train.len() + s.test.len(), 900);
    }

    /// Numbered on several cores (large inputs), groups get the numbers one map in file
    /// order gave them: the split of a recorded seed does not change.
    #[test]
    fn groups_numbered_in_parts_are_numbered_as_one_map_numbers_them() {
        // The single-map numbering the split used before (kept here as the reference).
        fn reference(labels: &[u32], groups: &[u64], test_size: f64, seed: &[u8; 32]) -> Split {
            let mut index = std::collections::HashMap::new();
            let group_of: Vec<u32> = (0..labels.len())
                .map(|i| {
                    let key = groups.get(i).copied().unwrap_or(i as u64);
                    let next = index.len() as u32;
                    *index.entry(key).or_insert(next)
                })
                .collect();
            draw_groups(labels, &group_of, test_size, seed)
        }
        let n = 300_000u64;
        // A third of the rows repeat an earlier row, keys spread over both parts.
        let groups: Vec<u64> = (0..n)
            .map(|i| if i % 3 == 2 { i / 7 } else { i }.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        let labels: Vec<u32> =
            groups.iter().map(|g| u32::from(g % 5 == 0) + u32::from(g % 11 == 0)).collect();
        let s = grouped_split(&labels, &groups, 0.2, &[9; 32]);
        assert!(s.groups < n as usize && s.groups > n as usize / 2, "{}", s.groups);
        assert_eq!(s, reference(&labels, &groups, 0.2, &[9; 32]));
        // In more parts than cores (as ten million rows are numbered).
        for parts in [1, 3, 7, 40] {
            let group_of = number_groups_in(groups.clone(), parts);
            assert_eq!(draw_groups(&labels, &group_of, 0.2, &[9; 32]), s, "{parts} parts");
        }
        // No keys: every row its own group.
        assert_eq!(
            grouped_split(&labels, &[], 0.2, &[9; 32]),
            reference(&labels, &[], 0.2, &[9; 32])
        );
    }
}
