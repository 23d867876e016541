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

/// Row indexes of the training and test parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows, in file order.
    pub train: Vec<usize>,
    /// Test rows, in file order.
    pub test: Vec<usize>,
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
        if t { test.push(i) } else { train.push(i) }
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
    // Groups numbered in order of first appearance.
    let key = |i: usize| groups.get(i).copied().unwrap_or(i as u64);
    let parts = local_groups(labels.len(), &key);
    // Each part's local group -> global group (u32::MAX until its first row is met).
    let mut global: Vec<Vec<u32>> = parts.iter().map(|p| vec![u32::MAX; p.groups]).collect();
    let mut cursor = vec![0usize; parts.len()];
    let mut next = 0u32;
    let group_of: Vec<usize> = (0..labels.len())
        .map(|i| {
            let part = partition(key(i), parts.len());
            let local = parts[part].rows[cursor[part]] as usize;
            cursor[part] += 1;
            if global[part][local] == u32::MAX {
                global[part][local] = next;
                next += 1;
            }
            global[part][local] as usize
        })
        .collect();
    draw_groups(labels, &group_of, test_size, seed)
}

/// The split of rows whose groups, numbered in order of first appearance, are `group_of`
/// (see [`grouped_split`]).
fn draw_groups(labels: &[u32], group_of: &[usize], test_size: f64, seed: &[u8; 32]) -> Split {
    let mut stream = SeededStream::new(seed, "stratified split");
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    // Each group's size, and the groups of each class (the class of their first row), in
    // order of first appearance.
    let mut sizes: Vec<usize> = Vec::new();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    let mut class_rows = vec![0usize; classes];
    let mut first_label: Vec<u32> = Vec::new();
    for (&y, &g) in labels.iter().zip(group_of) {
        if g == sizes.len() {
            sizes.push(0);
            first_label.push(y);
            by_class[y as usize].push(g);
        }
        sizes[g] += 1;
        class_rows[first_label[g] as usize] += 1;
    }
    let mut test_group = vec![false; sizes.len()];
    for (class, list) in by_class.iter_mut().enumerate() {
        stream.shuffle(list);
        let rows = class_rows[class];
        let mut take = (test_size * rows as f64).round() as usize;
        if take == 0 && test_size > 0.0 && rows >= 2 {
            take = 1;
        }
        let mut taken = 0;
        for &g in list.iter().take(list.len().saturating_sub(1)) {
            if taken == take {
                break;
            }
            if taken + sizes[g] <= take {
                taken += sizes[g];
                test_group[g] = true;
            }
        }
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, &g) in group_of.iter().enumerate() {
        if test_group[g] { test.push(i) } else { train.push(i) }
    }
    Split { train, test, groups: sizes.len() }
}

/// The rows of one part of the keys (see [`local_groups`]).
struct LocalGroups {
    /// For each row of the part, in row order, its group numbered within the part in order
    /// of first appearance.
    rows: Vec<u32>,
    /// Groups in the part.
    groups: usize,
}

/// Which of `parts` parts a key belongs to.
fn partition(key: u64, parts: usize) -> usize {
    (key % parts as u64) as usize
}

/// Numbers the groups of `n` rows (rows with equal `key(i)` form a group), the keys dealt
/// into one part per core by [`partition`], each part numbered on a core of its own
/// (one 1M-entry map was 0.1 s of a 1M-row training; two half-size maps in parallel take
/// half the time or less). Keys come from the data: each part's map is keyed with a random
/// SipHash key, so no table can make it slow. A table whose keys all fall in one part only
/// runs on one core.
fn local_groups(n: usize, key: &(impl Fn(usize) -> u64 + Sync)) -> Vec<LocalGroups> {
    // Small inputs: one part, no thread to start.
    let parts = if n < 1 << 16 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 8)
    };
    let number = |part: usize| {
        let mut index: std::collections::HashMap<u64, u32> =
            std::collections::HashMap::with_capacity(n / parts + 1);
        let mut rows = Vec::with_capacity(n / parts + 1);
        for i in 0..n {
            let k = key(i);
            if partition(k, parts) == part {
                let next = index.len() as u32;
                rows.push(*index.entry(k).or_insert(next));
            }
        }
        LocalGroups { rows, groups: index.len() }
    };
    crate::cores::map_on_cores((0..parts).collect(), number)
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
        let pos_test = s.test.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!(pos_test, 20, "10% positives in the test part too");
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
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
            s.test.iter().map(|&i| groups[i]).collect();
        assert!(s.train.iter().all(|&i| !test_groups.contains(&groups[i])));
        assert_eq!(s.train.len() + s.test.len(), 900);
    }

    /// Numbered on several cores (large inputs), groups get the numbers one map in file
    /// order gave them: the split of a recorded seed does not change.
    #[test]
    fn groups_numbered_in_parts_are_numbered_as_one_map_numbers_them() {
        // The single-map numbering the split used before (kept here as the reference).
        fn reference(labels: &[u32], groups: &[u64], test_size: f64, seed: &[u8; 32]) -> Split {
            let mut index = std::collections::HashMap::new();
            let group_of: Vec<usize> = (0..labels.len())
                .map(|i| {
                    let key = groups.get(i).copied().unwrap_or(i as u64);
                    let next = index.len();
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
        // No keys: every row its own group.
        assert_eq!(
            grouped_split(&labels, &[], 0.2, &[9; 32]),
            reference(&labels, &[], 0.2, &[9; 32])
        );
    }
}
