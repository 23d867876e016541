//! RFC 6962 Merkle trees (the Certificate Transparency / RFC 9162 construction): leaf
//! hash SHA-256(0x00 ‖ entry), node hash SHA-256(0x01 ‖ left ‖ right), the tree split at
//! the largest power of two below its size; inclusion and consistency proofs, and their
//! verification as RFC 9162 §2.1.3.2 and §2.1.4.2 give it.

use aws_lc_rs::digest::{Context, SHA256, digest};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The hash of a leaf: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0], data])
}

/// The hash of an inner node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[1], left, right])
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The root of the tree over `leaves` (leaf hashes); SHA-256 of nothing when empty.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(digest(&SHA256, b"").as_ref());
            out
        }
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees, largest first
/// (one per set bit of the size), so appending a leaf and computing the root cost
/// O(log n) instead of rehashing every leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (leaves, root) of each perfect subtree, largest first.
    peaks: Vec<(u64, Hash)>,
}

impl Frontier {
    /// Leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(n, h)) = self.peaks.last() {
            if n != node.0 {
                break;
            }
            self.peaks.pop();
            node = (n * 2, node_hash(&h, &node.1));
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The peaks' hashes in hex, largest subtree first, comma-separated (their sizes follow
    /// from the tree's size), to resume the tree in another process.
    pub fn to_text(&self) -> String {
        let hexes: Vec<String> = self.peaks.iter().map(|(_, h)| mlguard_seal::hex(h)).collect();
        hexes.join(",")
    }

    /// The frontier of a tree of `size` leaves from [`Frontier::to_text`]; `None` unless
    /// there is one well-formed hash per perfect subtree of `size`.
    pub fn from_text(size: u64, text: &str) -> Option<Frontier> {
        let mut hashes = text.split(',').filter(|t| !t.is_empty());
        let mut peaks = Vec::new();
        for bit in (0..64).rev().map(|b| 1u64 << b).filter(|b| size & b != 0) {
            peaks.push((bit, mlguard_seal::unhex::<32>(hashes.next()?)?));
        }
        hashes.next().is_none().then_some(Frontier { size, peaks })
    }

    /// The root of the tree so far (equal to [`root`] over the same leaves).
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = peaks.next() else { return root(&[]) };
        for (_, h) in peaks {
            acc = node_hash(h, &acc);
        }
        acc
    }
}

/// The roots of the trees over the first `n` leaves for each `n` of `sizes` that is at most
/// `leaves.len()`, in one pass over the leaves (a root per checkpoint of a long log, where
/// [`root`] of each prefix would rehash the log once per checkpoint).
pub fn prefix_roots(
    leaves: &[Hash],
    sizes: impl IntoIterator<Item = u64>,
) -> std::collections::HashMap<u64, Hash> {
    let mut sizes: Vec<u64> = sizes.into_iter().filter(|&n| n <= leaves.len() as u64).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut roots = std::collections::HashMap::with_capacity(sizes.len());
    let mut f = Frontier::default();
    let mut leaves = leaves.iter();
    for n in sizes {
        while f.size() < n {
            let Some(l) = leaves.next() else { break };
            f.push(*l);
        }
        roots.insert(n, f.root());
    }
    roots
}

/// The inclusion proof of leaf `index` in the tree over `leaves` (RFC 6962 PATH).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut p = inclusion_proof(&leaves[..k], index);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = inclusion_proof(&leaves[k..], index - k);
        p.push(root(&leaves[..k]));
        p
    }
}

/// The consistency proof between the tree of the first `m` leaves and the tree over all
/// `leaves` (RFC 6962 PROOF).
pub fn consistency_proof(leaves: &[Hash], m: usize) -> Vec<Hash> {
    if m == 0 || m >= leaves.len() {
        return Vec::new();
    }
    subproof(m, leaves, true)
}

fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if whole { Vec::new() } else { vec![root(leaves)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], whole);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(root(&leaves[..k]));
        p
    }
}

/// Whether `proof` shows the leaf with hash `leaf` at `index` in a tree of `size` leaves
/// with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

/// Whether `proof` shows that the tree of `size1` leaves with root `root1` is a prefix of
/// the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> bool {
    if size1 > size2 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    if size1 == 0 {
        return proof.is_empty();
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if size1.is_power_of_two() {
        path.insert(0, *root1);
    }
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *root1 && sr == *root2 && s == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: &Hash) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The leaves of Certificate Transparency's reference tests.
    fn ct_leaves() -> Vec<Hash> {
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        data.iter().map(|d| leaf_hash(d)).collect()
    }

    /// Roots computed independently with Python's hashlib (the same values as
    /// Certificate Transparency's merkle_tree_test).
    #[test]
    fn roots_match_reference_values() {
        let leaves = ct_leaves();
        assert_eq!(
            hex(&root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&root(&leaves[..1])),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(
            hex(&root(&leaves[..3])),
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
        );
        assert_eq!(
            hex(&root(&leaves)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
    }

    #[test]
    fn the_frontier_has_the_same_roots() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), root(&[]));
        for (i, l) in leaves.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.root(), root(&leaves[..=i]), "{} leaves", i + 1);
            let again = Frontier::from_text(f.size(), &f.to_text()).expect("resumed");
            let prefix = prefix_roots(&leaves, [i as u64 + 1, 0, 1, 999]);
            assert_eq!(prefix.get(&(i as u64 + 1)), Some(&root(&leaves[..=i])));
            assert_eq!(prefix.get(&0), Some(&root(&[])));
            assert_eq!(prefix.get(&1), Some(&leaves[0]));
            assert!(!prefix.contains_key(&999), "more than the leaves");
            assert_eq!(again, f, "{} leaves", i + 1);
        }
        assert_eq!(f.size(), 300);
        // A text of another size, a hash short or extra, or not hex, is refused.
        let text = f.to_text();
        assert!(Frontier::from_text(301, &text).is_none());
        assert!(Frontier::from_text(299, &text).is_none());
        assert!(Frontier::from_text(300, &text[1..]).is_none());
        assert!(Frontier::from_text(300, &format!("{text},{text}")).is_none());
        assert!(Frontier::from_text(300, &text.replace('a', "g")).is_none());
    }

    #[test]
    fn every_proof_verifies_and_no_altered_one_does() {
        let leaves: Vec<Hash> = (0u32..37).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for n in 1..=leaves.len() {
            let tree = &leaves[..n];
            let r = root(tree);
            for i in 0..n {
                let p = inclusion_proof(tree, i);
                assert!(verify_inclusion(i as u64, n as u64, &tree[i], &p, &r), "{i} in {n}");
                let other = leaf_hash(b"other");
                assert!(!verify_inclusion(i as u64, n as u64, &other, &p, &r));
                if n > 1 {
                    assert!(!verify_inclusion(((i + 1) % n) as u64, n as u64, &tree[i], &p, &r));
                }
            }
            for m in 1..=n {
                let p = consistency_proof(tree, m);
                let rm = root(&tree[..m]);
                assert!(verify_consistency(m as u64, n as u64, &rm, &r, &p), "{m} -> {n}");
                if m < n {
                    let wrong = leaf_hash(b"forged");
                    assert!(!verify_consistency(m as u64, n as u64, &wrong, &r, &p));
                    assert!(!verify_consistency(m as u64, n as u64, &rm, &wrong, &p));
                }
            }
        }
    }
}
