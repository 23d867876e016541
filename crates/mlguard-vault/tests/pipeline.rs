//! The pipeline as vault operations: ingest -> train -> reproduce -> predict, with every
//! artifact verified before use.

use std::path::Path;

use mlguard_data::{InferOptions, Protect, Schema, ValidateOptions, infer_reader, synth};
use mlguard_learn::FitOptions;
use mlguard_seal::{Keystore, Secret};
use mlguard_vault::{SeedPolicy, TrainRequest, Vault, VaultError};

fn setup(dir: &Path) -> (Vault, Schema, std::path::PathBuf) {
    let key = dir.join("key");
    Keystore::init(&dir.join("v"), &Secret::create_key_file(&key).expect("key")).expect("init");
    let vault =
        Vault::open(&dir.join("v"), &Secret::from_key_file(&key).expect("key")).expect("open");
    let mut csv = Vec::new();
    synth::write_user_data(&mut csv, 5000, 11).expect("data");
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

fn request(seed: SeedPolicy) -> TrainRequest {
    TrainRequest {
        dataset: "users".into(),
        version: None,
        target: None,
        test_size: 0.2,
        fit: FitOptions::default(),
        seed,
        name: Some("churn".into()),
    }
}

#[test]
fn ingest_train_reproduce_predict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut vault, schema, data) = setup(dir.path());

    // An invalid file is refused and nothing is stored.
    let bad = dir.path().join("bad.csv");
    let text = std::fs::read_to_string(&data).expect("read");
    std::fs::write(&bad, text.replacen("\n1,", "\n1,=cmd,", 1).replacen(",free,", ",platinum,", 1))
        .expect("write");
    let err =
        vault.ingest(&bad, &schema, "users", &ValidateOptions::default()).expect_err("invalid");
    assert!(matches!(err, VaultError::Invalid(_)), "{err}");
    assert!(vault.catalog().datasets().expect("list").is_empty());

    let d1 = vault.ingest(&data, &schema, "users", &ValidateOptions::default()).expect("ingest");
    assert_eq!((d1.record.name.as_str(), d1.record.version, d1.record.rows), ("users", 1, 5000));
    let d2 =
        vault.ingest(&data, &schema, "users", &ValidateOptions::default()).expect("ingest again");
    assert_eq!(d2.record.version, 2);

    let m = vault.train(&request(SeedPolicy::Secure)).expect("train");
    assert_eq!(
        (m.record.name.as_str(), m.record.version, m.record.dataset_version),
        ("churn", 1, 2)
    );
    assert!(
        m.trained.model.info.metrics.accuracy > 0.8,
        "{}",
        m.trained.model.info.metrics.accuracy
    );
    // The seed is sealed inside the model: not in the header, not in the catalog.
    let seed =
        m.trained.model.info.provenance["mlguard.split_seed"].as_str().expect("seed").to_owned();
    let object =
        std::fs::read(dir.path().join("v/objects").join(&m.record.object)).expect("object");
    assert!(!object.windows(seed.len()).any(|w| w == seed.as_bytes()), "the seed is encrypted");
    assert!(!m.record.metrics.contains(&seed));

    // Reproduce: same dataset version, same seed, bit-identical weights.
    let (again, identical) = vault.reproduce("churn", Some(1)).expect("reproduce");
    assert!(identical, "bit-identical weights");
    assert_eq!(again.record.version, 2);
    assert_eq!(again.trained.model.info.provenance["reproduced_from"], "churn@1");

    // Predict fresh rows; a row that breaks the schema is rejected by line.
    let mut fresh = Vec::new();
    synth::write_user_data(&mut fresh, 50, 99).expect("fresh");
    let fresh = String::from_utf8(fresh).expect("utf8").replacen(",free,", ",platinum,", 1);
    let bad_line =
        fresh.lines().position(|l| l.contains(",platinum,")).expect("corrupted row") as u64 + 1;
    let input = dir.path().join("fresh.csv");
    std::fs::write(&input, fresh).expect("write");
    let mut out = Vec::new();
    let p = vault.predict(&m.record, &input, &mut out).expect("predict");
    assert_eq!(p.predicted, 49);
    assert_eq!(p.rejected, vec![bad_line]);
    let out = String::from_utf8(out).expect("utf8");
    assert!(out.starts_with("line,user_id,prediction,p_0,p_1\n"), "{out}");
    assert_eq!(out.lines().count(), 50);

    // A flipped bit in the stored model: refused before anything is parsed.
    let path = dir.path().join("v/objects").join(&m.record.object);
    let mut bytes = std::fs::read(&path).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let err = vault.load_model(&m.record).expect_err("tampered");
    assert!(matches!(err, VaultError::Seal(mlguard_seal::SealError::Crypto)), "{err}");
    assert!(vault.predict(&m.record, &input, &mut Vec::new()).is_err());
}

#[test]
fn fixed_seeds_and_unknown_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut vault, schema, data) = setup(dir.path());
    vault.ingest(&data, &schema, "users", &ValidateOptions::default()).expect("ingest");
    let a = vault.train(&request(SeedPolicy::Fixed(46))).expect("train");
    let b = vault.train(&request(SeedPolicy::Fixed(46))).expect("train");
    assert_eq!(a.trained.model.logistic.weights, b.trained.model.logistic.weights);
    assert_eq!(b.record.version, 2);
    let mut r = request(SeedPolicy::Secure);
    r.dataset = "nope".into();
    assert!(matches!(vault.train(&r), Err(VaultError::NotFound(_))));
    assert!(matches!(vault.catalog().model("churn", Some(9)), Err(VaultError::NotFound(_))));
}
