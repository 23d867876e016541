//! The pipeline as vault operations: ingest -> train -> reproduce -> predict, with every
//! artifact verified before use.

use std::path::Path;

use mlguard_data::{PiiKind, Protect, Schema, synth};
use mlguard_seal::Secret;
use mlguard_vault::{IngestOptions, SeedPolicy, Vault, VaultError};

mod common;

use common::request;

fn setup(dir: &Path) -> (Vault, Schema, std::path::PathBuf) {
    common::setup(dir, 5000, 11)
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
    let err = vault
        .ingest(&mlguard_vault::Ctx::local(), &bad, &schema, "users", &IngestOptions::default())
        .expect_err("invalid");
    assert!(matches!(err, VaultError::Invalid(_)), "{err}");
    assert!(vault.catalog().datasets().expect("list").is_empty());

    let d1 = vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    assert_eq!((d1.record.name.as_str(), d1.record.version, d1.record.rows), ("users", 1, 5000));
    let d2 = vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest again");
    assert_eq!(d2.record.version, 2);

    let m = vault.train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Secure)).expect("train");
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
    let (again, identical) =
        vault.reproduce(&mlguard_vault::Ctx::local(), "churn", Some(1)).expect("reproduce");
    assert!(identical, "bit-identical weights");
    // A check, not a new version: the stored model stays the latest.
    assert_eq!(again.record.version, 1);
    assert_eq!(vault.catalog().model("churn", None).expect("latest").version, 1);
    // Trained in 1 KiB of feature values (spilled to encrypted scratch files and read back
    // per pass of the fit): still the same weights, and no scratch file left behind.
    vault.set_train_memory_limit(1 << 10);
    let (_, identical) =
        vault.reproduce(&mlguard_vault::Ctx::local(), "churn", Some(1)).expect("spilled");
    assert!(identical, "a spilled fit is bit-identical");
    vault.set_train_memory_limit(mlguard_learn::DEFAULT_MEMORY_LIMIT);
    let objects: Vec<String> = std::fs::read_dir(dir.path().join("v/objects"))
        .expect("objects")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(objects.iter().all(|name| name.ends_with(".mlseal")), "{objects:?}");

    // Predict fresh rows; a row that breaks the schema is rejected by line.
    let mut fresh = Vec::new();
    synth::write_user_data(&mut fresh, 50, 99).expect("fresh");
    let fresh = String::from_utf8(fresh).expect("utf8").replacen(",free,", ",platinum,", 1);
    let bad_line =
        fresh.lines().position(|l| l.contains(",platinum,")).expect("corrupted row") as u64 + 1;
    let input = dir.path().join("fresh.csv");
    std::fs::write(&input, fresh).expect("write");
    let mut out = Vec::new();
    let p =
        vault.predict(&mlguard_vault::Ctx::local(), "churn@1", &input, &mut out).expect("predict");
    assert_eq!(p.predicted, 49);
    assert_eq!(p.rejected, vec![bad_line]);
    let out = String::from_utf8(out).expect("utf8");
    assert!(out.starts_with("line,user_id,prediction,p_0,p_1\n"), "{out}");
    assert_eq!(out.lines().count(), 50);
    // An id (echoed, not a feature) holding a line break comes out quoted and whole, and
    // the rejected row still is the one left out.
    let quoted = std::fs::read_to_string(&input).expect("read");
    let second = quoted.lines().nth(2).expect("a row").to_owned();
    let id = second.split(',').next().expect("id").to_owned();
    let quoted = quoted.replacen(&second, &second.replacen(&id, &format!("\"{id}\n+\""), 1), 1);
    std::fs::write(&input, quoted).expect("write");
    let mut again = Vec::new();
    let p = vault
        .predict(&mlguard_vault::Ctx::local(), "churn@1", &input, &mut again)
        .expect("predict");
    assert_eq!((p.predicted, p.rejected.len()), (49, 1));
    let again = String::from_utf8(again).expect("utf8");
    assert!(again.contains(&format!(",\"{id}\n+\",")), "{again}");
    assert_eq!(again.lines().count(), 51);

    // A flipped bit in the stored model: refused before anything is parsed.
    let path = dir.path().join("v/objects").join(&m.record.object);
    let mut bytes = std::fs::read(&path).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let err = vault.verify_model(&mlguard_vault::Ctx::local(), "churn@1").expect_err("tampered");
    assert!(matches!(err, VaultError::Seal(mlguard_seal::SealError::Crypto)), "{err}");
    assert!(
        vault.predict(&mlguard_vault::Ctx::local(), "churn@1", &input, &mut Vec::new()).is_err()
    );
}

#[test]
fn fixed_seeds_and_unknown_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    let a =
        vault.train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Fixed(46))).expect("train");
    let b =
        vault.train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Fixed(46))).expect("train");
    assert_eq!(a.trained.model.logistic.weights, b.trained.model.logistic.weights);
    assert_eq!(b.record.version, 2);
    let mut r = request(SeedPolicy::Secure);
    r.dataset = "nope".into();
    assert!(matches!(vault.train(&mlguard_vault::Ctx::local(), &r), Err(VaultError::NotFound(_))));
    assert!(matches!(vault.catalog().model("churn", Some(9)), Err(VaultError::NotFound(_))));
}

/// Reads a stored dataset back (verified and decrypted).
fn stored(dir: &Path, vault: &Vault, name: &str, version: u32) -> String {
    let d = vault.catalog().dataset(name, Some(version)).expect("record");
    let mut f = std::fs::File::open(dir.join("v/objects").join(&d.object)).expect("object");
    let mut out = Vec::new();
    mlguard_seal::open(&mut f, &mut out, &vault.keys(), mlguard_seal::SignerPolicy::TrustedOnly)
        .expect("open");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn ingestion_protects_refuses_unprotected_pii_and_checks_for_poison() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, mut schema, data) = setup(dir.path());
    let raw = std::fs::read_to_string(&data).expect("read");
    let first_email =
        raw.lines().nth(1).and_then(|l| l.split(',').nth(2)).expect("email").to_owned();

    // Personal data without an action: refused, nothing stored.
    for f in &mut schema.fields {
        f.protect = None;
    }
    let err = vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect_err("refused");
    assert!(
        matches!(&err, VaultError::UnprotectedPii(cols) if cols[..2] == ["full_name", "email"]),
        "{err}"
    );
    assert_eq!(err.code(), "unprotected_pii");
    assert!(vault.catalog().datasets().expect("list").is_empty());

    // --keep-pii: stored as it is, and the decision recorded with the version.
    let mut keep = IngestOptions::default();
    keep.protect.keep_pii = true;
    let kept =
        vault.ingest(&mlguard_vault::Ctx::local(), &data, &schema, "raw", &keep).expect("kept");
    assert_eq!(kept.kept_pii.len(), 6, "{:?}", kept.kept_pii);
    assert!(stored(dir.path(), &vault, "raw", 1).contains(&first_email));
    let report: serde_json::Value = serde_json::from_str(&kept.record.report).expect("json");
    assert_eq!(report["pii_kept"].as_array().map(Vec::len), Some(6));
    assert!(report["pii_kept_by"].is_string());

    // Actions: pseudonyms, redaction, generalisation; k-anonymity; the stored schema
    // describes the stored table.
    for f in &mut schema.fields {
        f.protect = f.pii.map(|p| match p {
            PiiKind::Ssn => Protect::Mask,
            PiiKind::DateOfBirth | PiiKind::PostalCode => Protect::Generalize,
            PiiKind::Name => Protect::Drop,
            _ => Protect::Pseudonymize,
        });
    }
    let d1 = vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    let text = stored(dir.path(), &vault, "users", 1);
    assert!(!text.contains(&first_email), "e-mails are pseudonymised");
    assert!(text.contains(",EMAIL_") && text.contains(",\"<US_SSN>\""));
    assert!(!text.lines().next().expect("header").contains("full_name"), "dropped");
    let a = d1.protection.anonymity.as_ref().expect("k-anonymity on birth year and ZIP");
    assert!(a.achieved >= 5, "{a:?}");
    assert_eq!(d1.record.rows, 5000 - d1.protection.suppressed.len() as u64);
    let stored_schema = Schema::from_json_str(&d1.record.schema).expect("schema");
    assert!(stored_schema.field("full_name").is_none());
    let validated = mlguard_data::validate_reader(
        text.as_bytes(),
        "stored",
        &stored_schema,
        &mlguard_data::ValidateOptions::default(),
    )
    .expect("validate");
    assert_eq!(validated.errors(), 0, "{}", validated.to_json());
    assert!(!d1.poison.failed(), "{}", d1.poison.report.to_json());
    assert_eq!(d1.poison.drifted, None, "no previous version");

    // A poisoned second batch: each row again with the other label. Flagged against
    // users@1 and stored with its report; refused when asked to.
    let mut lines: Vec<String> = raw.lines().map(str::to_owned).collect();
    let n = lines.len();
    for i in 1..n.min(201) {
        let mut cells: Vec<String> = lines[i].split(',').map(str::to_owned).collect();
        cells[0] = format!("{}", 100_000 + i);
        let label = cells.len() - 1;
        cells[label] = if cells[label] == "1" { "0".into() } else { "1".into() };
        lines.push(cells.join(","));
    }
    let poisoned = dir.path().join("poisoned.csv");
    std::fs::write(&poisoned, lines.join("\n") + "\n").expect("write");
    let strict = IngestOptions { reject_poisoned: true, ..IngestOptions::default() };
    let err = vault
        .ingest(&mlguard_vault::Ctx::local(), &poisoned, &schema, "users", &strict)
        .expect_err("refused");
    assert!(matches!(err, VaultError::Poisoned(_)), "{err}");
    let d2 = vault
        .ingest(
            &mlguard_vault::Ctx::local(),
            &poisoned,
            &schema,
            "users",
            &IngestOptions::default(),
        )
        .expect("stored");
    assert_eq!(d2.record.version, 2);
    assert!(d2.poison.failed());
    assert!(d2.poison.conflicts > 150, "{}", d2.poison.conflicts);
    assert!(d2.poison.drifted.is_some(), "compared with users@1");
    let report: serde_json::Value = serde_json::from_str(&d2.record.report).expect("json");
    assert_eq!(report["baseline"], "users@1");
    assert!(report["poison"]["findings"].as_array().is_some_and(|f| !f.is_empty()));
    assert_eq!(report["poison_flagged"], true);

    // Training on the flagged version is refused unless accepted; accepted, the model says
    // who accepted it, and is served.
    let mut req = request(SeedPolicy::Fixed(1));
    req.version = Some(2);
    let err = vault.train(&mlguard_vault::Ctx::local(), &req).expect_err("flagged");
    assert!(matches!(&err, VaultError::Flagged(v) if v == "users@2"), "{err}");
    assert!(!err.to_string().contains("--"), "the library names no CLI flag: {err}");
    req.accept_flagged = true;
    let m = vault.train(&mlguard_vault::Ctx::local(), &req).expect("accepted");
    assert_eq!(m.trained.model.info.provenance["dataset_poison_flagged"], true);
    assert!(m.trained.model.info.provenance.contains_key("accepted_flagged_by"));
    let served = format!("{}@{}", m.record.name, m.record.version);
    vault
        .prediction_model(&mlguard_vault::Ctx::local(), &served, 1)
        .expect("an accepted model is served");
}

#[test]
fn every_action_is_audited_and_tampering_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "user_id\nx\n").expect("write");
    vault
        .ingest(&mlguard_vault::Ctx::local(), &bad, &schema, "users", &IngestOptions::default())
        .expect_err("invalid");
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    let _m =
        vault.train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Secure)).expect("train");
    let mut fresh = Vec::new();
    synth::write_user_data(&mut fresh, 20, 5).expect("fresh");
    let input = dir.path().join("fresh.csv");
    std::fs::write(&input, fresh).expect("write");
    vault
        .predict(&mlguard_vault::Ctx::local(), "churn@1", &input, &mut Vec::new())
        .expect("predict");
    vault.checkpoint().expect("checkpoint");

    let entries = vault.catalog().audit_entries(0).expect("entries");
    let actions: Vec<(String, String)> = entries
        .iter()
        .map(|(_, t, _)| {
            let v: serde_json::Value = serde_json::from_str(t).expect("json");
            (v["action"].as_str().unwrap_or("").into(), v["outcome"].as_str().unwrap_or("").into())
        })
        .collect();
    let pairs: Vec<(&str, &str)> = actions.iter().map(|(a, o)| (a.as_str(), o.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("dataset.ingest", "denied"),
            ("dataset.ingest", "allowed"),
            ("model.train", "allowed"),
            ("model.predict", "allowed")
        ]
    );
    let ok = vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify");
    assert!(ok.ok(), "{:?}", ok.problems);
    assert_eq!((ok.entries, ok.checkpoints), (4, 1));
    let proof = vault.audit_proof(&mlguard_vault::Ctx::local(), 2).expect("proof");
    assert_eq!(proof["entry"]["action"], "model.train");

    // Each kind of tampering fails verification and names the first bad entry.
    // As an attacker with write access to the catalog file would, through a connection of
    // their own.
    let conn = rusqlite::Connection::open(dir.path().join("v/catalog.db")).expect("db");
    let backup: Vec<(i64, String, String)> = conn
        .prepare("SELECT idx, entry, mac FROM audit_entries")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let restore = || {
        conn.execute("DELETE FROM audit_entries", []).expect("clear");
        for (i, e, m) in &backup {
            conn.execute(
                "INSERT INTO audit_entries VALUES (?1, ?2, ?3)",
                rusqlite::params![i, e, m],
            )
            .expect("restore");
        }
    };
    let cases: [(&str, u64); 4] = [
        ("UPDATE audit_entries SET entry = replace(entry, 'allowed', 'denied') WHERE idx = 1", 1),
        ("DELETE FROM audit_entries WHERE idx = 2", 2),
        (
            "UPDATE audit_entries SET idx = idx + 100 WHERE idx = 1; UPDATE audit_entries SET idx = 1 WHERE idx = 2; UPDATE audit_entries SET idx = 2 WHERE idx = 101",
            1,
        ),
        ("DELETE FROM audit_entries WHERE idx = 3", 3),
    ];
    for (tamper, first) in cases {
        conn.execute_batch(tamper).expect("tamper");
        let r = vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify");
        assert!(!r.ok(), "{tamper}");
        assert_eq!(r.first_bad_entry, Some(first), "{tamper}: {:?}", r.problems);
        restore();
        assert!(vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify").ok(), "restored");
    }
    // A forged checkpoint signature.
    conn.execute("UPDATE audit_checkpoints SET note = replace(note, char(10) || '4' || char(10), char(10) || '3' || char(10))", [])
        .expect("forge");
    let r = vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify");
    assert!(r.problems.iter().any(|p| p.contains("does not verify")), "{:?}", r.problems);
    // Anything after the signatures (a note is parsed strictly).
    conn.execute(
        "UPDATE audit_checkpoints SET note = replace(note, char(10) || '3' || char(10), char(10) || '4' || char(10)) || 'junk' || char(10)",
        [],
    )
    .expect("append");
    let r = vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify");
    assert!(r.problems.iter().any(|p| p.contains("signature line")), "{:?}", r.problems);
}

/// A new process extends the audit tree from the frontier stored with the latest
/// checkpoint (not by rehashing the whole log) when the checkpoint's signature vouches for
/// it, and rehashes from the first entry when it does not.
#[test]
fn a_new_process_resumes_the_audit_tree_from_the_signed_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, _) = setup(dir.path());
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "user_id\nx\n").expect("write");
    let refused = |v: &Vault| {
        v.ingest(&mlguard_vault::Ctx::local(), &bad, &schema, "users", &IngestOptions::default())
            .expect_err("invalid");
    };
    for _ in 0..5 {
        refused(&vault);
    }
    drop(vault); // signs a checkpoint of 5 entries, with its frontier
    let open = || {
        let key = Secret::from_key_file(&dir.path().join("key")).expect("key");
        Vault::open(&dir.path().join("v"), &key).expect("open")
    };
    let conn = rusqlite::Connection::open(dir.path().join("v/catalog.db")).expect("db");
    let frontier = |conn: &rusqlite::Connection| -> Option<String> {
        conn.query_row(
            "SELECT frontier FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("frontier")
    };
    let stored = frontier(&conn).expect("a frontier is stored with the checkpoint");
    assert_eq!(stored.split(',').count(), 2, "5 entries: subtrees of 4 and 1");

    // A frontier its checkpoint does not sign is not trusted: the tree is rehashed.
    conn.execute("UPDATE audit_checkpoints SET frontier = replace(frontier, ',', ',0')", [])
        .expect("forge");
    conn.execute("UPDATE audit_checkpoints SET frontier = substr(frontier, 1, 129)", [])
        .expect("forge");
    let vault = open();
    refused(&vault);
    assert_eq!(vault.checkpoint().expect("checkpoint"), Some(6));
    let r = vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify");
    assert!(r.ok(), "{:?}", r.problems);
    drop(vault);

    // A signed one is: a new process does not read the entries it covers again. An entry
    // edited meanwhile is not signed over (the new checkpoint extends the tree of the
    // entries as they were) and `audit verify` names it.
    conn.execute(
        "UPDATE audit_entries SET entry = replace(entry, 'denied', 'allowed') WHERE idx = 0",
        [],
    )
    .expect("tamper");
    let vault = open();
    refused(&vault);
    let size = vault.checkpoint().expect("resumed: entry 0 is not read again");
    assert_eq!(size, Some(8), "6, verify's own entry, 1 more");
    let r = vault.verify_audit(&mlguard_vault::Ctx::local()).expect("verify");
    assert_eq!(r.first_bad_entry, Some(0), "{:?}", r.problems);
    assert!(
        r.problems.iter().all(|p| p.starts_with("entry 0") || p.contains("signed root")),
        "{:?}",
        r.problems
    );
}

#[test]
fn an_unwritable_audit_log_refuses_actions_without_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    let _m =
        vault.train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Secure)).expect("train");
    let objects = || std::fs::read_dir(dir.path().join("v/objects")).expect("objects").count();
    let before = objects();
    rusqlite::Connection::open(dir.path().join("v/catalog.db"))
        .expect("db")
        .execute_batch("CREATE TRIGGER no_audit BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'audit store is read-only'); END;")
        .expect("trigger");

    let err = vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect_err("refused");
    assert!(matches!(err, VaultError::AuditUnavailable(_)), "{err}");
    assert_eq!(vault.catalog().datasets().expect("list").len(), 1, "no second version");
    assert_eq!(objects(), before, "no object left behind");
    let err = vault
        .train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Secure))
        .expect_err("refused");
    assert!(matches!(err, VaultError::AuditUnavailable(_)), "{err}");
    assert_eq!(vault.catalog().models().expect("list").len(), 1);
    let mut out = Vec::new();
    let err = vault
        .predict(&mlguard_vault::Ctx::local(), "churn@1", &data, &mut out)
        .expect_err("refused");
    assert!(matches!(err, VaultError::AuditUnavailable(_)), "{err}");
    assert!(out.is_empty(), "no prediction released");
}

#[test]
fn a_serving_model_predicts_json_rows_and_rejects_bad_ones_by_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    let _m =
        vault.train(&mlguard_vault::Ctx::local(), &request(SeedPolicy::Fixed(3))).expect("train");
    let serving =
        vault.prediction_model(&mlguard_vault::Ctx::local(), "churn@1", 1).expect("serving");
    // A real row of the file as JSON.
    let text = std::fs::read_to_string(&data).expect("read");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let cells: Vec<&str> = lines.next().expect("row").split(',').collect();
    let mut good = serde_json::Map::new();
    for f in serving.features() {
        let i = header.iter().position(|h| h == f).expect("column");
        let v = cells[i];
        good.insert(
            f.clone(),
            v.parse::<f64>().map_or_else(|_| serde_json::Value::from(v), serde_json::Value::from),
        );
    }
    let good = serde_json::Value::Object(good);
    let mut bad_enum = good.clone();
    bad_enum["plan"] = "platinum".into();
    let mut bad_number = good.clone();
    bad_number["income"] = "lots".into();
    let rows = [good.clone(), bad_enum, serde_json::json!([1, 2]), bad_number, good];
    let out = serving.predict_json(&rows).expect("predict");
    assert_eq!(out.len(), 5);
    let rejected: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, mlguard_vault::RowPrediction::Rejected { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rejected, [1, 2, 3], "{out:?}");
    match (&out[0], &out[4]) {
        (
            mlguard_vault::RowPrediction::Predicted { prediction, probabilities },
            mlguard_vault::RowPrediction::Predicted { prediction: p2, .. },
        ) => {
            assert_eq!(prediction, p2, "same row, same prediction");
            let total: f64 = probabilities.values().filter_map(serde_json::Value::as_f64).sum();
            assert!((total - 1.0).abs() < 1e-9);
        }
        other => unreachable!("{other:?}"),
    }
    let json = serde_json::to_string(&out[1]).expect("json");
    assert!(json.contains("plan") && json.contains("errors"), "{json}");
}

/// Key rotation is a vault operation: audited before it acts, the vault's own objects
/// re-wrapped, earlier versions retired, and what the vault seals next uses the new key.
#[test]
fn key_rotation_is_audited_and_rewraps_the_vaults_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    let secret = Secret::from_key_file(&dir.path().join("key")).expect("key");
    let before = vault.catalog().audit_len().expect("len");
    let r = vault.rotate_keys(&mlguard_vault::Ctx::local(), &secret, true, &[]).expect("rotate");
    assert_eq!(r.version, 2);
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.rewrapped.len(), 2, "the dataset: its table and its columnar form");
    assert_eq!(r.retired, vec![1]);
    let entries = vault.catalog().audit_entries(before).expect("entries");
    assert_eq!(entries.len(), 1, "one entry per call");
    let v: serde_json::Value = serde_json::from_str(&entries[0].1).expect("json");
    assert_eq!(
        (v["action"].as_str(), v["outcome"].as_str()),
        (Some("key.rotate"), Some("allowed"))
    );
    assert_eq!(v["detail"]["rewrap"], true);
    // The re-wrapped dataset still reads, and a new version seals under the new key.
    vault
        .download_dataset(&mlguard_vault::Ctx::local(), "users")
        .expect("re-wrapped dataset reads");
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest after");
    vault.download_dataset(&mlguard_vault::Ctx::local(), "users@2").expect("new dataset reads");
}

#[test]
fn one_vault_serves_concurrent_operations_each_in_its_own_context() {
    use mlguard_vault::{Actor, Ctx};
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    let cx = |who: &str, id: &str| Ctx::new(Actor::Local(who.into()), id);
    // Two ingests of one name at once take consecutive versions; the later one is checked
    // against the earlier (its baseline), and each entry names its own actor and request.
    std::thread::scope(|s| {
        for who in ["ana", "ben"] {
            let (vault, schema, data) = (&vault, &schema, &data);
            s.spawn(move || {
                vault
                    .ingest(&cx(who, who), data, schema, "users", &IngestOptions::default())
                    .expect("ingest")
            });
        }
    });
    let versions: Vec<(u32, String)> = vault
        .catalog()
        .datasets()
        .expect("list")
        .into_iter()
        .map(|d| (d.version, d.actor))
        .collect();
    assert_eq!(versions.iter().map(|v| v.0).collect::<Vec<_>>(), [1, 2]);
    let mut actors: Vec<&str> = versions.iter().map(|v| v.1.as_str()).collect();
    actors.sort_unstable();
    assert_eq!(actors, ["local:ana", "local:ben"]);
    let second = vault.catalog().dataset("users", Some(2)).expect("v2");
    let report: serde_json::Value = serde_json::from_str(&second.report).expect("json");
    assert_eq!(report["baseline"], "users@1");
    for (_, text, _) in vault.catalog().audit_entries(0).expect("entries") {
        let e: serde_json::Value = serde_json::from_str(&text).expect("json");
        let who = e["actor"].as_str().unwrap_or("").trim_start_matches("local:").to_owned();
        assert_eq!(e["request_id"], who.as_str(), "{text}");
    }

    // Trainings and predictions at once, from four threads: every entry is in the log, in
    // one unbroken sequence that verifies.
    vault.train(&cx("ana", "t0"), &request(SeedPolicy::Secure)).expect("train");
    let record = "churn@1";
    std::thread::scope(|s| {
        for t in 0..4 {
            let (vault, data) = (&vault, &data);
            s.spawn(move || {
                for i in 0..3 {
                    let id = format!("p{t}-{i}");
                    let mut out = Vec::new();
                    vault.predict(&cx("ben", &id), record, data, &mut out).expect("predict");
                }
            });
        }
        let vault = &vault;
        s.spawn(move || {
            vault.train(&cx("ana", "t1"), &request(SeedPolicy::Secure)).expect("train")
        });
    });
    assert_eq!(vault.catalog().models().expect("models").len(), 2);
    let entries = vault.catalog().audit_entries(0).expect("entries");
    let predictions = entries.iter().filter(|(_, t, _)| t.contains("\"model.predict\"")).count();
    assert_eq!(predictions, 12);
    assert!(entries.iter().enumerate().all(|(i, (idx, _, _))| *idx == i as u64));
    vault.checkpoint().expect("checkpoint");
    let verified = vault.verify_audit(&Ctx::local()).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
}

#[test]
fn a_version_stored_meanwhile_by_another_writer_is_a_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    let ctx = mlguard_vault::Ctx::local();
    let d = vault.ingest(&ctx, &data, &schema, "users", &IngestOptions::default()).expect("ingest");
    let before = vault.catalog().audit_len().expect("len");
    let entry = |i: u64| (format!("{{\"index\":{i}}}"), String::new());
    let err = vault.catalog().add_dataset(&d.record, &entry).expect_err("taken");
    assert!(matches!(err, VaultError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("users@1 was stored meanwhile"), "{err}");
    assert_eq!(vault.catalog().audit_len().expect("len"), before, "no entry without the change");
}

/// Predictions served from memory (the server's path without a blocking thread): only for
/// a token whose role may predict, and a model reference resolved and loaded less than
/// `CACHE_TIME` ago; the entry is recorded before its receipt answers; a new version, or
/// the cache time passing, sends the caller back to the path that reads.
#[test]
fn predictions_from_memory_are_recorded_and_never_staler_than_the_cache_time() {
    use mlguard_vault::identity::CACHE_TIME;
    use mlguard_vault::{Actor, Ctx};
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = setup(dir.path());
    let local = Ctx::local();
    vault.ingest(&local, &data, &schema, "users", &IngestOptions::default()).expect("ingest");
    vault.train(&local, &request(SeedPolicy::Fixed(3))).expect("train");
    let principal = |user: &str, role: &str| {
        vault.add_user(&local, user, role).expect("user");
        let (_, token) = vault.create_token(&local, user, None).expect("token");
        assert!(vault.authenticate_cached(&token).is_none(), "not read yet");
        vault.authenticate(&token).expect("auth").expect("valid");
        vault.authenticate_cached(&token).expect("cached")
    };
    let app = principal("app", "model-consumer");
    let cx = || Ctx::new(Actor::Token(app.clone()), "from-memory");
    let cached = |cx: &Ctx| vault.prediction_model_cached(cx, "churn", 2).expect("no failure");
    let entries = || vault.catalog().audit_entries(0).expect("entries").len();

    assert!(cached(&cx()).is_none(), "not loaded yet");
    vault.prediction_model(&cx(), "churn", 2).expect("loaded");
    let before = entries();
    let (model, recorded) = cached(&cx()).expect("from memory");
    assert_eq!((model.record.name.as_str(), model.record.version), ("churn", 1));
    let index = recorded.wait().expect("recorded");
    let log = vault.catalog().audit_entries(index).expect("entry");
    let entry: serde_json::Value = serde_json::from_str(&log[0].1).expect("json");
    assert_eq!(
        (&entry["action"], &entry["outcome"], &entry["object"], &entry["detail"]["rows"]),
        (&"model.predict".into(), &"allowed".into(), &"churn".into(), &2.into()),
    );
    assert_eq!((entry["actor"].as_str(), entries()), (Some("app"), before + 1));

    // Anything the policy would refuse or ask a second factor for goes the other way,
    // which records it; so does a local user.
    let auditor = principal("eve", "auditor");
    let before = entries();
    assert!(cached(&Ctx::new(Actor::Token(auditor), "x")).is_none());
    assert!(cached(&local).is_none());
    assert_eq!(entries(), before, "nothing recorded by the path from memory");

    // A new version of the name: read again (at once, through this vault).
    vault.train(&local, &request(SeedPolicy::Fixed(4))).expect("train");
    assert!(cached(&cx()).is_none(), "a new version was added");
    assert_eq!(vault.prediction_model(&cx(), "churn", 2).expect("v2").record.version, 2);
    let (model, recorded) = cached(&cx()).expect("from memory");
    recorded.wait().expect("recorded");
    assert_eq!(model.record.version, 2);
    // And no older than the cache time.
    std::thread::sleep(CACHE_TIME);
    assert!(cached(&cx()).is_none(), "read more than the cache time ago");
}

/// A model made elsewhere (here: a model the vault trained, exported, with its provenance
/// doctored) is stored bound to the dataset version it claims, predicts as the original,
/// is refused when it does not fit that version, and is never reproducible.
#[test]
fn a_model_made_elsewhere_is_imported_against_its_dataset() {
    use mlguard_vault::ImportRequest;
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = common::setup(dir.path(), 2000, 3);
    let local = mlguard_vault::Ctx::local();
    vault.ingest(&local, &data, &schema, "users", &IngestOptions::default()).expect("ingest");
    vault.train(&local, &request(SeedPolicy::Secure)).expect("train");
    let (_, original) = vault.export_model(&local, "churn@1").expect("export");
    let mut claimed = original.clone();
    // What only the vault may say is replaced; the rest is kept.
    let p = &mut claimed.info.provenance;
    p.insert("mlguard.split_seed".into(), "00".repeat(32).into());
    p.insert("accepted_flagged_by".into(), "somebody".into());
    p.insert("dataset".into(), "elsewhere".into());
    p.insert("source".into(), "scikit-learn".into());
    let bytes = claimed.to_safetensors();
    let req = |name: &str| ImportRequest {
        name: name.into(),
        dataset: "users".into(),
        accept_flagged: false,
    };

    let (record, model) = vault.import_model(&local, &bytes, &req("imported")).expect("import");
    assert_eq!(
        (record.name.as_str(), record.version, record.dataset.as_str(), record.dataset_version),
        ("imported", 1, "users", 1)
    );
    let p = &model.info.provenance;
    assert_eq!(p["origin"], "import");
    assert_eq!(p["dataset"], "users");
    assert_eq!(p["source"], "scikit-learn");
    assert_eq!(p["imported_blake3"], blake3::hash(&bytes).to_hex().as_str());
    assert!(!p.contains_key("mlguard.split_seed") && !p.contains_key("accepted_flagged_by"));
    let (_, stored) = vault.verify_model(&local, "imported@1").expect("verify");
    assert_eq!(stored.logistic, original.logistic);
    assert_eq!(stored.info.provenance, model.info.provenance);

    // It predicts exactly as the model it came from.
    let mut fresh = Vec::new();
    synth::write_user_data(&mut fresh, 40, 8).expect("fresh");
    let input = dir.path().join("fresh.csv");
    std::fs::write(&input, fresh).expect("write");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    vault.predict(&local, "churn@1", &input, &mut a).expect("predict");
    vault.predict(&local, "imported@1", &input, &mut b).expect("predict imported");
    assert_eq!(a, b);
    let err = vault.reproduce(&local, "imported", Some(1)).expect_err("no seed");
    assert!(err.to_string().contains("no split seed"), "{err}");

    // Refused, nothing stored: not a model, a feature that is not a column, an id as a
    // feature, a numeric feature on a text column, a target that is not a column, a bad name.
    let refused = |bytes: &[u8], name: &str, why: &str| {
        let err = vault.import_model(&local, bytes, &req(name)).expect_err(why);
        assert!(matches!(err, VaultError::BadModel(_) | VaultError::Refused(_)), "{why}: {err}");
        assert!(err.is_refusal(), "{why}: {err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
    };
    refused(b"\x80\x04\x95not a model", "m", "not an mlguard model file");
    let renamed = |from: usize, to: &str| {
        let mut m = original.clone();
        m.info.encoding.numeric[from].name = to.into();
        m.to_safetensors()
    };
    refused(&renamed(0, "no_such_column"), "m", "feature no_such_column is not a column");
    let stored = vault.catalog().dataset("users", None).expect("dataset").schema;
    let stored = Schema::from_json_str(&stored).expect("schema");
    let id = stored.fields.iter().find(|f| f.role == Some(mlguard_data::Role::Id)).expect("id");
    refused(&renamed(0, &id.name), "m", &format!("feature {} is an id", id.name));
    let text = stored
        .fields
        .iter()
        .find(|f| f.field_type == mlguard_data::FieldType::String && f.role.is_none())
        .expect("a text column");
    refused(&renamed(0, &text.name), "m", "is not numeric");
    let mut untargeted = original.clone();
    untargeted.info.encoding.target = "verdict".into();
    refused(&untargeted.to_safetensors(), "m", "its target verdict is not a column");
    refused(&bytes, "a@2", "cannot name a model");
    let names: Vec<String> =
        vault.catalog().models().expect("models").iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, ["churn", "imported"]);
    let err = vault
        .import_model(&local, &bytes, &ImportRequest { dataset: "nobody".into(), ..req("m") })
        .expect_err("no dataset");
    assert!(matches!(err, VaultError::NotFound(_)), "{err}");
}
