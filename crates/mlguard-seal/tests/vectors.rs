//! Format test vectors: committed sealed files, each with the expected outcome in
//! `tests/data/vectors.json`, checked by one table-driven test. They pin the format: an
//! incompatible change to it fails here.
//!
//! The keys in `tests/data/vector-keys.json` are test keys, public on purpose. To
//! regenerate the vectors (only when the format version changes):
//! `MLGUARD_REGENERATE_VECTORS=1 cargo test -p mlguard-seal --test vectors -- --ignored`.

use std::fs;
use std::io::Cursor;
use std::path::PathBuf;

use mlguard_seal::{
    Kind, SealError, SealKeys, SealOptions, SignerPolicy, SigningKey, SymmetricKey,
};
use serde_json::{Value, json};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn keys() -> SealKeys {
    let k: Value =
        serde_json::from_slice(&fs::read(data("vector-keys.json")).expect("keys")).expect("json");
    let master =
        SymmetricKey::from_slice(&unhex(k["master_v1"].as_str().expect("master"))).expect("master");
    let signer = SigningKey::from_pkcs8(&unhex(k["signing_pkcs8"].as_str().expect("signer")))
        .expect("signer");
    SealKeys::new(vec![(1, master)], 1, signer, vec![])
}

fn outcome(r: Result<Vec<u8>, SealError>) -> String {
    match r {
        Ok(p) => format!("ok:{}", hex(&p)),
        Err(SealError::Crypto) => "crypto".into(),
        Err(SealError::Malformed { .. }) => "malformed".into(),
        Err(SealError::UntrustedSigner { .. }) => "untrusted".into(),
        Err(SealError::NoKey { .. }) => "nokey".into(),
        Err(SealError::Limit { .. }) => "limit".into(),
        Err(e) => format!("other:{e}"),
    }
}

#[test]
fn vectors_have_their_expected_outcome() {
    let keys = keys();
    let manifest: Value =
        serde_json::from_slice(&fs::read(data("vectors.json")).expect("manifest")).expect("json");
    let vectors = manifest["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 9);
    for v in vectors {
        let file = v["file"].as_str().expect("file");
        let expect = v["expect"].as_str().expect("expect");
        let bytes = fs::read(data(file)).expect("vector file");
        let mut out = Vec::new();
        let got = outcome(
            mlguard_seal::open(
                &mut Cursor::new(&bytes),
                &mut out,
                &keys,
                SignerPolicy::TrustedOnly,
            )
            .map(|_| out),
        );
        assert_eq!(got, expect, "{file}: {}", v["what"]);
    }
}

/// Regenerates the vectors. Ignored: run by hand when the format changes.
#[test]
#[ignore = "regenerates committed test data"]
fn regenerate() {
    if std::env::var_os("MLGUARD_REGENERATE_VECTORS").is_none() {
        return;
    }
    let keys = keys();
    let seal = |plain: &[u8], kind: Kind, meta: Value, keys: &SealKeys| -> Vec<u8> {
        let meta = meta.as_object().cloned().unwrap_or_default();
        let mut out = Vec::new();
        mlguard_seal::seal(&mut Cursor::new(plain), &mut out, keys, &SealOptions { kind, meta })
            .expect("seal");
        out
    };
    let small_plain = b"mlguard test vector\n";
    let small = seal(small_plain, Kind::File, json!({"purpose": "test vector"}), &keys);
    let empty = seal(b"", Kind::Dataset, json!({}), &keys);
    let edit = |bytes: &[u8], from: &str, to: &str| -> Vec<u8> {
        let len = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        let header = std::str::from_utf8(&bytes[12..12 + len]).expect("utf8").replacen(from, to, 1);
        let mut out = bytes[..8].to_vec();
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&bytes[12 + len..]);
        out
    };
    let mut flipped = small.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let mut extended = small.clone();
    extended.push(0);
    let mut bad_magic = small.clone();
    bad_magic[0] = b'X';
    let stranger_master = SymmetricKey::from_slice(&unhex(&"11".repeat(32))).expect("k");
    let stranger =
        SealKeys::new(vec![(1, stranger_master)], 1, SigningKey::generate().expect("key"), vec![]);
    let foreign = seal(small_plain, Kind::File, json!({}), &stranger);
    let ok = |p: &[u8]| format!("ok:{}", hex(p));
    let vectors = vec![
        ("empty.mlseal", empty.clone(), ok(b""), "an empty dataset: one empty final segment"),
        ("small.mlseal", small.clone(), ok(small_plain), "a small file with metadata"),
        ("small-flipped-tag.mlseal", flipped, "crypto".into(), "last bit of the GCM tag flipped"),
        (
            "small-truncated.mlseal",
            small[..small.len() - 1].to_vec(),
            "crypto".into(),
            "last byte removed",
        ),
        ("small-extended.mlseal", extended, "crypto".into(), "one byte appended"),
        (
            "small-kind-edited.mlseal",
            edit(&small, "\"kind\":\"file\"", "\"kind\":\"model\""),
            "crypto".into(),
            "signed core edited",
        ),
        ("small-bad-magic.mlseal", bad_magic, "malformed".into(), "magic changed"),
        (
            "small-recipient-v2.mlseal",
            edit(&small, "\"key_version\":1", "\"key_version\":2"),
            "nokey".into(),
            "data key wrapped for an unknown master key version",
        ),
        (
            "foreign-signer.mlseal",
            foreign,
            "untrusted".into(),
            "signed by a key the vault does not trust",
        ),
    ];
    let mut manifest = Vec::new();
    for (file, bytes, expect, what) in vectors {
        fs::write(data(file), bytes).expect("write vector");
        manifest.push(json!({"file": file, "expect": expect, "what": what}));
    }
    let doc = json!({
        "comment": "Expected outcome of opening each file with tests/data/vector-keys.json: ok:<plaintext hex>, crypto (the one opaque verification error), malformed, untrusted, nokey.",
        "format": 1,
        "vectors": manifest,
    });
    fs::write(data("vectors.json"), serde_json::to_string_pretty(&doc).expect("json") + "\n")
        .expect("write manifest");
}

/// Prints fresh test keys (to create `vector-keys.json` once).
#[test]
#[ignore = "prints new test keys"]
fn new_test_keys() {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .expect("key");
    let mut master = [0u8; 32];
    aws_lc_rs::rand::fill(&mut master).expect("random");
    println!("{}", json!({"master_v1": hex(&master), "signing_pkcs8": hex(pkcs8.as_ref())}));
}
