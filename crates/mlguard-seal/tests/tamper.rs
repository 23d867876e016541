//! No modification of a sealed artifact gets past `verify` or `open`.

use std::io::Cursor;

use mlguard_seal::{
    Kind, PLAIN_SEGMENT, SEGMENT_SIZE, SealError, SealKeys, SealOptions, SignerPolicy, SigningKey,
    SymmetricKey, TAG_LEN, open, rewrap, seal, verify,
};
use proptest::prelude::*;

struct Fixture {
    master: [u8; 32],
    signer: Vec<u8>,
}

fn pkcs8() -> Vec<u8> {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .expect("key")
        .as_ref()
        .to_vec()
}

impl Fixture {
    fn new() -> Fixture {
        let mut master = [0u8; 32];
        aws_lc_rs::rand::fill(&mut master).expect("random");
        Fixture { master, signer: pkcs8() }
    }

    fn keys(&self) -> SealKeys {
        self.keys_with(vec![(1, &self.master)], 1)
    }

    fn keys_with(&self, masters: Vec<(u32, &[u8; 32])>, active: u32) -> SealKeys {
        let masters = masters
            .into_iter()
            .map(|(v, k)| (v, SymmetricKey::from_slice(k).expect("key")))
            .collect();
        SealKeys::new(
            masters,
            active,
            SigningKey::from_pkcs8(&self.signer).expect("signer"),
            vec![],
        )
    }

    fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let opts = SealOptions { kind: Kind::Model, meta: serde_json::Map::new() };
        seal(&mut Cursor::new(plain), &mut out, &self.keys(), &opts).expect("seal");
        out
    }
}

fn opens(sealed: &[u8], keys: &SealKeys) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::new();
    open(&mut Cursor::new(sealed), &mut out, keys, SignerPolicy::TrustedOnly)?;
    Ok(out)
}

fn rejected(sealed: &[u8], keys: &SealKeys) -> bool {
    verify(&mut Cursor::new(sealed), keys, SignerPolicy::TrustedOnly).is_err()
        && opens(sealed, keys).is_err()
}

/// Offset of the payload: 12 + header length.
fn payload_offset(sealed: &[u8]) -> usize {
    12 + u32::from_be_bytes([sealed[8], sealed[9], sealed[10], sealed[11]]) as usize
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn round_trips_at_segment_edges() {
    let f = Fixture::new();
    for len in
        [0, 1, 100, PLAIN_SEGMENT - 1, PLAIN_SEGMENT, PLAIN_SEGMENT + 1, 2 * PLAIN_SEGMENT + 5]
    {
        let plain = pattern(len);
        let sealed = f.seal(&plain);
        assert_eq!(opens(&sealed, &f.keys()).expect("opens"), plain, "len {len}");
        let segments = len.div_ceil(PLAIN_SEGMENT).max(1);
        assert_eq!(sealed.len(), payload_offset(&sealed) + len + segments * TAG_LEN, "len {len}");
    }
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let f = Fixture::new();
    let keys = f.keys();
    let sealed = f.seal(b"the weights of a small but very secret model");
    for byte in 0..sealed.len() {
        for bit in 0..8 {
            let mut t = sealed.clone();
            t[byte] ^= 1 << bit;
            assert!(
                rejected(&t, &keys),
                "flip of bit {bit} in byte {byte} of {} was accepted",
                sealed.len()
            );
        }
    }
}

#[test]
fn sampled_bit_flips_in_a_multi_segment_artifact() {
    let f = Fixture::new();
    let keys = f.keys();
    let sealed = f.seal(&pattern(2 * PLAIN_SEGMENT + 1234));
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let pos = (x % sealed.len() as u64) as usize;
        let mut t = sealed.clone();
        t[pos] ^= 1 << (x >> 60 & 7);
        assert!(rejected(&t, &keys), "flip at {pos} accepted");
    }
}

#[test]
fn truncation_extension_reordering_and_duplication_are_rejected() {
    let f = Fixture::new();
    let keys = f.keys();
    let plain = pattern(3 * PLAIN_SEGMENT);
    let sealed = f.seal(&plain);
    let p = payload_offset(&sealed);
    // Truncation at the header, at every segment boundary, and inside segments.
    let mut cuts = vec![0, 5, 12, p - 1, p];
    for s in 1..3 {
        cuts.push(p + s * SEGMENT_SIZE);
        cuts.push(p + s * SEGMENT_SIZE - 1);
        cuts.push(p + s * SEGMENT_SIZE + 7);
    }
    cuts.push(p + 100);
    cuts.push(sealed.len() - 1);
    cuts.push(sealed.len() - TAG_LEN);
    for cut in cuts {
        assert!(rejected(&sealed[..cut], &keys), "truncation at {cut} accepted");
    }
    // Extension.
    for extra in [&b"\0"[..], &sealed[p..p + SEGMENT_SIZE]] {
        let mut t = sealed.clone();
        t.extend_from_slice(extra);
        assert!(rejected(&t, &keys), "extension by {} bytes accepted", extra.len());
    }
    // Swapped segments (0 and 1 are both full, so the lengths still fit).
    let seg = |i: usize| sealed[p + i * SEGMENT_SIZE..p + (i + 1) * SEGMENT_SIZE].to_vec();
    let mut swapped = sealed[..p].to_vec();
    swapped.extend(seg(1));
    swapped.extend(seg(0));
    swapped.extend_from_slice(&sealed[p + 2 * SEGMENT_SIZE..]);
    assert!(rejected(&swapped, &keys), "swapped segments accepted");
    // A duplicated segment in place of another.
    let mut dup = sealed[..p].to_vec();
    dup.extend(seg(0));
    dup.extend(seg(0));
    dup.extend_from_slice(&sealed[p + 2 * SEGMENT_SIZE..]);
    assert!(rejected(&dup, &keys), "duplicated segment accepted");
    // Dropping the last segment and re-marking nothing: the signed size catches it.
    assert!(rejected(&sealed[..p + 2 * SEGMENT_SIZE], &keys));
    assert_eq!(opens(&sealed, &keys).expect("intact"), plain);
}

/// Replaces `from` by `to` in the header (same length keeps the payload offset valid).
fn edit_header(sealed: &[u8], from: &str, to: &str) -> Vec<u8> {
    let p = payload_offset(sealed);
    let header = std::str::from_utf8(&sealed[12..p]).expect("utf8 header").replacen(from, to, 1);
    let mut out = sealed[..8].to_vec();
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&sealed[p..]);
    out
}

#[test]
fn edited_header_fields_are_rejected() {
    let f = Fixture::new();
    let keys = f.keys();
    let sealed = f.seal(b"model bytes");
    let header =
        std::str::from_utf8(&sealed[12..payload_offset(&sealed)]).expect("utf8").to_owned();
    let edits = [
        ("\"kind\":\"model\"", "\"kind\":\"file\""),
        ("\"size\":11", "\"size\":10"),
        ("\"size\":11", "\"size\":12"),
        ("\"meta\":{}", "\"meta\":{\"x\":1}"),
        ("\"key_version\":1", "\"key_version\":2"),
        ("\"format\":1", "\"format\":2"),
        ("\"recipients\":[", "\"recipients\":[],\"extra\":["),
    ];
    for (from, to) in edits {
        assert!(header.contains(from), "{from} not in {header}");
        assert!(rejected(&edit_header(&sealed, from, to), &keys), "edit {from} -> {to} accepted");
    }
    // Whitespace inside the signed core changes the signed bytes.
    assert!(rejected(&edit_header(&sealed, "\"kind\":", "\"kind\": "), &keys));
    // Not an artifact at all.
    let err =
        verify(&mut Cursor::new(b"PK\x03\x04 a zip file"), &keys, SignerPolicy::TrustedOnly).err();
    assert!(matches!(err, Some(SealError::Malformed { .. })), "{err:?}");
    let mut big = sealed.clone();
    big[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        verify(&mut Cursor::new(&big), &keys, SignerPolicy::TrustedOnly),
        Err(SealError::Limit { .. })
    ));
}

#[test]
fn wrong_rotated_and_untrusted_keys_are_rejected() {
    let f = Fixture::new();
    let sealed = f.seal(b"data");
    // A different master key under the same version: the one opaque error.
    let other = Fixture::new();
    let wrong = SealKeys::new(
        vec![(1, SymmetricKey::from_slice(&other.master).expect("k"))],
        1,
        SigningKey::from_pkcs8(&f.signer).expect("s"),
        vec![],
    );
    assert!(matches!(opens(&sealed, &wrong), Err(SealError::Crypto)));
    // Only a newer version: the artifact's key was rotated away.
    let newer = f.keys_with(vec![(2, &other.master)], 2);
    assert!(
        matches!(opens(&sealed, &newer), Err(SealError::NoKey { versions }) if versions == vec![1])
    );
    // Signed by a key the vault does not trust.
    assert!(verify(&mut Cursor::new(&sealed), &f.keys(), SignerPolicy::TrustedOnly).is_ok());
    let untrusting = SealKeys::new(
        vec![(1, SymmetricKey::from_slice(&f.master).expect("k"))],
        1,
        SigningKey::from_pkcs8(&other.signer).expect("s"),
        vec![],
    );
    assert!(matches!(opens(&sealed, &untrusting), Err(SealError::UntrustedSigner { .. })));
    let v = verify(&mut Cursor::new(&sealed), &untrusting, SignerPolicy::AllowUntrusted)
        .expect("allowed when asked");
    assert!(!v.signer_trusted);
    // Trusting the signer's public key makes it acceptable.
    let trusting = SealKeys::new(
        vec![(1, SymmetricKey::from_slice(&f.master).expect("k"))],
        1,
        SigningKey::from_pkcs8(&other.signer).expect("s"),
        vec![SigningKey::from_pkcs8(&f.signer).expect("s").public_key()],
    );
    assert!(
        verify(&mut Cursor::new(&sealed), &trusting, SignerPolicy::TrustedOnly)
            .expect("trusted")
            .signer_trusted
    );
}

#[test]
fn rewrap_changes_recipients_only() {
    let f = Fixture::new();
    let plain = pattern(PLAIN_SEGMENT + 10);
    let sealed = f.seal(&plain);
    let mut v2 = [0u8; 32];
    aws_lc_rs::rand::fill(&mut v2).expect("random");
    let both = f.keys_with(vec![(1, &f.master), (2, &v2)], 2);
    let mut rewrapped = Vec::new();
    rewrap(&mut Cursor::new(&sealed), &mut rewrapped, &both).expect("rewrap");
    let (p1, p2) = (payload_offset(&sealed), payload_offset(&rewrapped));
    assert_eq!(&sealed[p1..], &rewrapped[p2..], "payload untouched");
    let only_v2 = f.keys_with(vec![(2, &v2)], 2);
    assert_eq!(opens(&rewrapped, &only_v2).expect("opens with v2"), plain);
    assert!(
        matches!(opens(&sealed, &only_v2), Err(SealError::NoKey { .. })),
        "the old wrapping needs v1"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_bytes_round_trip(plain in prop::collection::vec(any::<u8>(), 0..3000)) {
        let f = Fixture::new();
        let sealed = f.seal(&plain);
        prop_assert_eq!(opens(&sealed, &f.keys()).expect("opens"), plain);
    }

    #[test]
    fn arbitrary_bytes_never_open(junk in prop::collection::vec(any::<u8>(), 0..600), keep_magic: bool) {
        let f = Fixture::new();
        let mut data = junk;
        if keep_magic {
            let mut d = b"MLGSEAL\x01".to_vec();
            d.extend(data);
            data = d;
        }
        prop_assert!(rejected(&data, &f.keys()));
    }
}

/// Sealed with a digest taken beforehand, an input is read once and opens to itself; an
/// input that differs from its digest (same size or not) is refused.
#[test]
fn a_known_digest_seals_in_one_read_and_a_wrong_one_is_refused() {
    use mlguard_seal::{Digest, seal_known};
    let f = Fixture::new();
    let opts = SealOptions { kind: Kind::Dataset, meta: serde_json::Map::new() };
    for len in [0, 1, PLAIN_SEGMENT, PLAIN_SEGMENT + 1, 3 * PLAIN_SEGMENT + 17] {
        let plain = pattern(len);
        let digest = Digest { size: len as u64, blake3: *blake3::hash(&plain).as_bytes() };
        let mut out = Vec::new();
        seal_known(&mut &plain[..], &mut out, &f.keys(), &opts, [7; 16], &digest).expect("seal");
        assert_eq!(opens(&out, &f.keys()).expect("opens"), plain, "{len} bytes");
        // The same artifact as the two-pass seal would describe.
        let core = verify(&mut Cursor::new(&out), &f.keys(), SignerPolicy::TrustedOnly)
            .expect("verifies")
            .core;
        assert_eq!(
            (core.size, core.blake3),
            (len as u64, blake3::hash(&plain).to_hex().to_string())
        );
        if len == 0 {
            continue;
        }
        let mut changed = plain.clone();
        changed[len / 2] ^= 1;
        let e = seal_known(&mut &changed[..], &mut Vec::new(), &f.keys(), &opts, [7; 16], &digest)
            .expect_err("not the digested bytes");
        assert!(matches!(e, SealError::Refused(_)), "{e}");
        let e =
            seal_known(&mut &plain[..len - 1], &mut Vec::new(), &f.keys(), &opts, [7; 16], &digest)
                .expect_err("shorter");
        assert!(matches!(e, SealError::Refused(_)), "{e}");
    }
}
