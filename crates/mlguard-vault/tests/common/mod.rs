//! What the vault's test suites share: a vault with a synthetic users table ready to ingest.

use std::path::{Path, PathBuf};

use mlguard_data::{InferOptions, Protect, Schema, infer_reader, synth};
use mlguard_learn::FitOptions;
use mlguard_seal::{Keystore, Secret};
use mlguard_vault::{SeedPolicy, TrainRequest, Vault};

/// A new vault at `dir/v` unlocked by the key file `dir/key`, and `rows` synthetic users
/// (`seed`) in `dir/users.csv` with their inferred schema, personal data dropped.
pub(crate) fn setup(dir: &Path, rows: u64, seed: u64) -> (Vault, Schema, PathBuf) {
    let key = dir.join("key");
    Keystore::init(&dir.join("v"), &Secret::create_key_file(&key).expect("key")).expect("init");
    let vault =
        Vault::open(&dir.join("v"), &Secret::from_key_file(&key).expect("key")).expect("open");
    let mut csv = Vec::new();
    synth::write_user_data(&mut csv, rows, seed).expect("data");
    let mut schema = infer_reader(&csv[..], &InferOptions::default()).expect("infer").schema;
    for f in &mut schema.fields {
        if f.pii.is_some() {
            f.protect = Some(Protect::Drop);
        }
    }
    let data = dir.join("users.csv");
    std::fs::write(&data, &csv).expect("write");
    (vault, schema, data)
}

/// Training `churn` on the latest `users` with `seed`.
pub(crate) fn request(seed: SeedPolicy) -> TrainRequest {
    TrainRequest {
        dataset: "users".into(),
        version: None,
        target: None,
        test_size: 0.2,
        fit: FitOptions::default(),
        seed,
        name: Some("churn".into()),
        accept_flagged: false,
    }
}
