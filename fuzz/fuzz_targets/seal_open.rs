//! `open`/`verify` on edited artifacts. The input is a list of (offset, xor) edits applied
//! to a valid sealed test vector (or, with a leading 0 byte, a whole file): any edit that
//! changes the file must make verification fail, and nothing may panic.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use mlguard_seal::{SealKeys, SignerPolicy, SigningKey, SymmetricKey};

const KEYS: &str = include_str!("../../crates/mlguard-seal/tests/data/vector-keys.json");
const VALID: &[u8] = include_bytes!("../../crates/mlguard-seal/tests/data/small.mlseal");

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn keys() -> SealKeys {
    let k: serde_json::Value = serde_json::from_str(KEYS).expect("keys");
    let master = SymmetricKey::from_slice(&unhex(k["master_v1"].as_str().expect("m"))).expect("m");
    let signer = SigningKey::from_pkcs8(&unhex(k["signing_pkcs8"].as_str().expect("s"))).expect("s");
    SealKeys::new(vec![(1, master)], 1, signer, vec![])
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let file: Vec<u8> = match data.split_first() {
        Some((0, rest)) => rest.to_vec(),
        _ => {
            let mut f = VALID.to_vec();
            for edit in data.chunks_exact(3) {
                let pos = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % f.len();
                f[pos] ^= edit[2];
            }
            f
        }
    };
    let verified = mlguard_seal::verify(&mut Cursor::new(&file), &keys, SignerPolicy::TrustedOnly).is_ok();
    assert_eq!(verified, file == VALID, "an edited artifact verified, or the original did not");
    let mut out = Vec::new();
    let opened = mlguard_seal::open(&mut Cursor::new(&file), &mut out, &keys, SignerPolicy::TrustedOnly).is_ok();
    assert_eq!(opened, verified);
});
