//! The storage ports' contract, checked against each implementation: what the vault relies
//! on (atomic objects, a row and its audit entry committed together, one version per name,
//! an audit log without gaps, a policy stamp that moves when the policy does). The embedded
//! stores run here, and the scale-out ones against real servers the tests start:
//! PostgreSQL (catalog, audit log, policy) and moto (S3).

use std::io::{Read, Write};
use std::sync::Arc;

use mlguard_testkit::servers::{Moto, Postgres};
use mlguard_vault::store::{
    CatalogStore, ObjectStore, PgCatalog, PgPool, PolicyStore, S3Objects, Stores,
};
use mlguard_vault::{DatasetRecord, ModelRecord, Table, VaultError};

fn dataset(name: &str, version: u32) -> DatasetRecord {
    DatasetRecord {
        name: name.into(),
        version,
        object: format!("{name}-{version}.mlseal"),
        blake3: "00".repeat(32),
        size: 10,
        rows: 2,
        columns: 3,
        schema: "{}".into(),
        created: "2026-12-05T00:00:00Z".into(),
        actor: "local:test".into(),
        report: "{}".into(),
        // Versions stored before the columnar form existed have none.
        columnar: version
            .is_multiple_of(2)
            .then(|| (format!("{name}-{version}.columnar.mlseal"), "11".repeat(32))),
    }
}

fn entry(tag: &str) -> impl Fn(u64) -> (String, String) + Send + 'static {
    let tag = tag.to_owned();
    move |i| (format!("{{\"index\":{i},\"tag\":\"{tag}\"}}"), format!("mac-{i}"))
}

fn owned(tag: &str) -> mlguard_vault::store::OwnedAuditEntry {
    Box::new(entry(tag))
}

fn objects(o: &dyn ObjectStore) {
    assert!(o.list().expect("list").is_empty());
    let mut w = o.create("a1.mlseal").expect("create");
    w.write_all(b"sealed bytes").expect("write");
    assert!(o.list().expect("list").is_empty(), "nothing visible before commit");
    w.commit().expect("commit");
    let mut back = Vec::new();
    o.get("a1.mlseal").expect("get").read_to_end(&mut back).expect("read");
    assert_eq!(back, b"sealed bytes");

    // Dropped without commit: nothing stored, nothing listed.
    let mut w = o.create("a2.mlseal").expect("create");
    w.write_all(b"half").expect("write");
    drop(w);
    assert_eq!(o.list().expect("list"), ["a1.mlseal"]);

    // Committing over a name replaces it (a re-wrap).
    let mut w = o.create("a1.mlseal").expect("create");
    w.write_all(b"rewrapped").expect("write");
    w.commit().expect("commit");
    let mut back = Vec::new();
    o.get("a1.mlseal").expect("get").read_to_end(&mut back).expect("read");
    assert_eq!(back, b"rewrapped");

    // Names that could leave the store, or objects it does not hold, are refused.
    for bad in ["../x.mlseal", "a/b.mlseal", "", ".hidden", "incoming-x.mlseal"] {
        assert!(o.get(bad).is_err(), "{bad:?}");
        assert!(o.create(bad).is_err(), "{bad:?}");
    }
    assert!(o.get("missing.mlseal").is_err());

    o.delete("a1.mlseal").expect("delete");
    assert!(o.list().expect("list").is_empty());
    assert!(o.get("a1.mlseal").is_err());
    let scratch = o.scratch("test").expect("scratch");
    assert!(scratch.path().exists());
}

fn catalog(c: &dyn CatalogStore) {
    assert_eq!(c.next_version(Table::Datasets, "users").expect("next"), 1);
    assert_eq!(c.audit_len().expect("len"), 0);
    c.add_dataset(&dataset("users", 1), &entry("ingest 1")).expect("add");
    assert_eq!(c.next_version(Table::Datasets, "users").expect("next"), 2);
    assert_eq!(c.next_version(Table::Models, "users").expect("next"), 1);
    assert_eq!(c.dataset("users", None).expect("latest"), dataset("users", 1));
    assert_eq!(c.datasets().expect("list")[0].columnar, None);

    // A version stored meanwhile is a conflict, and its audit entry is not kept either.
    let e = c.add_dataset(&dataset("users", 1), &entry("again")).expect_err("taken");
    assert!(matches!(e, VaultError::Conflict(_)), "{e:?}");
    assert_eq!(c.audit_len().expect("len"), 1, "the entry went with the failed change");

    c.add_dataset(&dataset("users", 2), &entry("ingest 2")).expect("add");
    assert_eq!(
        c.dataset("users", None).expect("latest"),
        dataset("users", 2),
        "with its columnar form"
    );
    assert_eq!(c.dataset("users", Some(1)).expect("v1").version, 1);
    assert!(matches!(c.dataset("users", Some(9)), Err(VaultError::NotFound(_))));
    assert!(matches!(c.model("users", None), Err(VaultError::NotFound(_))));

    let m = ModelRecord {
        name: "churn".into(),
        version: 1,
        object: "m.mlseal".into(),
        blake3: "11".repeat(32),
        dataset: "users".into(),
        dataset_version: 2,
        target: "churned".into(),
        metrics: "{}".into(),
        created: "2026-12-05T00:00:00Z".into(),
        actor: "local:test".into(),
    };
    c.add_model(&m, &entry("train")).expect("model");
    assert_eq!(c.models().expect("models"), [m]);
    assert_eq!(c.datasets().expect("datasets").len(), 2);

    c.append_audit(owned("read")).expect("append");
    let log = c.audit_entries(0).expect("entries");
    let idx: Vec<u64> = log.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(idx, [0, 1, 2, 3], "dense, in order, built with its own index");
    assert!(log[3].1.contains("\"index\":3") && log[3].2 == "mac-3");
    assert_eq!(c.audit_entries(2).expect("from 2").len(), 2);

    assert_eq!(c.latest_checkpoint().expect("last"), None);
    c.add_checkpoint(4, "note 4", Some("f4")).expect("checkpoint");
    c.add_checkpoint(2, "note 2", None).expect("checkpoint");
    // Cosignatures replace the note and keep the frontier.
    c.add_checkpoint(4, "note 4 cosigned", None).expect("checkpoint");
    let latest = c.latest_checkpoint().expect("last").expect("one");
    assert_eq!(
        (latest.size, latest.note.as_str(), latest.frontier.as_deref()),
        (4, "note 4 cosigned", Some("f4"))
    );
    assert_eq!(
        c.checkpoints().expect("all"),
        [(2, "note 2".to_owned()), (4, "note 4 cosigned".to_owned())]
    );
    c.publish_checkpoint_key("mlguard.local/audit+abcd+key").expect("publish");

    let original = c.rewrite_audit_entry(1, &mut |t| t.replace("ingest", "erase")).expect("edit");
    assert!(original.contains("ingest 2"));
    assert!(c.audit_entries(1).expect("entries")[0].1.contains("erase 2"));

    c.use_group_commit().expect("group commit");
    c.append_audit(owned("grouped")).expect("append");
    c.sync().expect("barrier");
}

fn concurrent_appends(c: Arc<dyn CatalogStore>) {
    let before = c.audit_len().expect("len");
    std::thread::scope(|s| {
        for t in 0..4 {
            let c = Arc::clone(&c);
            s.spawn(move || {
                for _ in 0..25 {
                    c.append_audit(owned(&format!("thread {t}"))).expect("append");
                }
            });
        }
    });
    let log = c.audit_entries(before).expect("entries");
    assert_eq!(log.len(), 100);
    for (n, (i, text, _)) in log.iter().enumerate() {
        assert_eq!(*i, before + n as u64);
        assert!(text.contains(&format!("\"index\":{i}")), "each entry built with its index");
    }
}

fn policy(p: &dyn PolicyStore) {
    assert!(p.load().expect("load").is_none());
    assert!(p.stamp().expect("stamp").is_none());
    // Many first users at once each store the default: one stands, none fails.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| p.store("{\"first\":1}", false).expect("concurrent first store"));
        }
    });
    p.store("{\"first\":1}", false).expect("store");
    let (text, stamp) = p.load().expect("load").expect("stored");
    assert_eq!(text, "{\"first\":1}");
    p.store("{\"ignored\":1}", false).expect("store");
    assert_eq!(p.load().expect("load").expect("stored").0, text, "not replaced");
    // Stamps must move even when a change lands within the same clock tick.
    p.store("{\"other\":1}", true).expect("replace");
    let (text, again) = p.load().expect("load").expect("stored");
    assert_eq!(text, "{\"other\":1}");
    assert_ne!(again, stamp);
    assert_eq!(p.stamp().expect("stamp"), Some(again));
    assert!(!p.location().is_empty());
}

#[test]
fn the_embedded_stores_keep_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Stores { catalog: c, objects: o, policy: p } =
        Stores::create_embedded(dir.path()).expect("create");
    let config = std::fs::read_to_string(dir.path().join("config.toml")).expect("config");
    assert!(config.contains("catalog = \"sqlite\"") && config.contains("format = 1"), "{config}");
    assert!(Stores::create_embedded(dir.path()).is_err(), "a vault is created once");
    objects(&*o);
    catalog(&*c);
    policy(&*p);
    assert!(dir.path().join("audit/checkpoint.vkey").is_file());
    let c: Arc<dyn CatalogStore> = Arc::from(c);
    concurrent_appends(c);
}

#[test]
fn leftovers_of_dead_processes_are_swept_and_those_of_live_ones_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Stores { objects: o, .. } = Stores::create_embedded(dir.path()).expect("create");
    let live = o.scratch("live").expect("scratch");
    let writing = o.create("w1.mlseal").expect("create");
    // What a process killed mid-ingest leaves: files nobody holds.
    let objects = dir.path().join("objects");
    for dead in ["scratch-protected-abc", "incoming-xyz.mlseal"] {
        std::fs::write(objects.join(dead), b"plaintext rows").expect("write");
    }
    drop(Stores::open(dir.path()).expect("reopen"));
    let mut left: Vec<String> = std::fs::read_dir(&objects)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left[0].starts_with("incoming-") && left[1].starts_with("scratch-live-"), "{left:?}");
    assert!(live.path().exists());
    drop((live, writing));
    assert_eq!(std::fs::read_dir(&objects).expect("ls").count(), 0);
}

#[test]
fn the_postgres_catalog_keeps_the_contract() {
    let pg = Postgres::start();
    let url = pg.database("contract");
    let pool = Arc::new(PgPool::connect(&url).expect("connect"));
    let c = PgCatalog::open(Arc::clone(&pool)).expect("open");
    // Opening again (another server starting) finds the schema migrated.
    let again = PgCatalog::open(Arc::new(PgPool::connect(&url).expect("connect"))).expect("open");
    catalog(&c);
    policy(&c.policy());
    let c: Arc<dyn CatalogStore> = Arc::new(c);
    concurrent_appends(c);

    // Two processes' worth of handles (separate pools) appending at once: one log.
    let before = again.audit_len().expect("len");
    let a: Arc<dyn CatalogStore> = Arc::new(again);
    let b: Arc<dyn CatalogStore> =
        Arc::new(PgCatalog::open(Arc::new(PgPool::connect(&url).expect("connect"))).expect("open"));
    std::thread::scope(|s| {
        for (t, c) in [a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
            s.spawn(move || {
                for _ in 0..25 {
                    c.append_audit(owned(&format!("writer {t}"))).expect("append");
                }
            });
        }
    });
    let log = b.audit_entries(before).expect("entries");
    assert_eq!(log.len(), 100);
    for (n, (i, text, _)) in log.iter().enumerate() {
        assert_eq!(*i, before + n as u64, "consecutive across handles");
        assert!(text.contains(&format!("\"index\":{i}")));
    }

    // The database stopped: a clean refusal (nothing half-done), then service again.
    pg.stop_immediately();
    let e = a.append_audit(owned("while down")).expect_err("down");
    assert!(matches!(e, VaultError::AuditUnavailable(_)), "{e:?}");
    let e = a.dataset("users", None).expect_err("down");
    assert!(matches!(e, VaultError::Unavailable(_)), "{e:?}");
    assert_eq!(e.code(), "unavailable");
    pg.restart();
    let len = a.audit_len().expect("len after restart");
    a.append_audit(owned("after restart")).expect("append after restart");
    assert_eq!(a.audit_len().expect("len"), len + 1);
}

fn moto_settings(moto: &Moto) -> [(&'static str, String); 4] {
    [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", moto.access_key.clone()),
        ("AWS_SECRET_ACCESS_KEY", moto.secret_key.clone()),
        ("AWS_REGION", Moto::REGION.into()),
    ]
}

#[test]
fn the_s3_object_store_keeps_the_contract() {
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let moto = Moto::start(&venv);
    moto.boto3(&venv, "s3.create_bucket(Bucket='vault')");
    let settings = moto_settings(&moto);
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let o = S3Objects::open_with("s3://vault/team-a", &settings).expect("open");
    objects(&o);

    // Large objects go up in parts and come back in ranges, byte for byte.
    let big: Vec<u8> =
        (0..20_000_003u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let mut w = o.create("big.mlseal").expect("create");
    for chunk in big.chunks(1 << 16) {
        w.write_all(chunk).expect("write");
    }
    assert!(o.list().expect("list").is_empty(), "a multipart upload is invisible until done");
    w.commit().expect("commit");
    let mut back = Vec::new();
    o.get("big.mlseal").expect("get").read_to_end(&mut back).expect("read");
    assert!(back == big, "{} bytes back of {}", back.len(), big.len());
    // A multipart upload dropped uncommitted leaves no object and no upload behind.
    let mut w = o.create("dropped.mlseal").expect("create");
    w.write_all(&big).expect("write");
    drop(w);
    assert_eq!(o.list().expect("list"), ["big.mlseal"]);
    let uploads = moto
        .boto3(&venv, "print(len(s3.list_multipart_uploads(Bucket='vault').get('Uploads', [])))");
    assert_eq!(uploads, "0", "aborted uploads are gone");
    // The objects live under the prefix, beside nothing else.
    let keys = moto.boto3(
        &venv,
        "print(sorted(o['Key'] for o in s3.list_objects_v2(Bucket='vault')['Contents']))",
    );
    assert_eq!(keys, "['team-a/objects/big.mlseal']");

    // Requests are signed: a wrong secret is refused (moto checks SigV4 here).
    let mut wrong = settings.clone();
    wrong[2].1 = "not-the-secret";
    let e = S3Objects::open_with("s3://vault/team-a", &wrong).err().expect("refused");
    assert!(e.to_string().contains("credentials") || e.to_string().contains("403"), "{e}");
    // A missing bucket is a clear failure at open, not at the first write.
    let e = S3Objects::open_with("s3://no-such-bucket", &settings).err().expect("refused");
    assert!(e.to_string().contains("no-such-bucket") || e.code() == "unavailable", "{e}");
}

#[test]
fn the_postgres_catalog_over_verified_tls() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let pg = Postgres::start_tls(&ck.cert.pem(), &ck.key_pair.serialize_pem());
    let url = pg.database("tls");
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ck.cert.pem()).expect("write");
    let tls = format!("{url}?sslmode=require&sslrootcert={}", ca.display());
    let c =
        PgCatalog::open(Arc::new(PgPool::connect(&tls).expect("connect over TLS"))).expect("open");
    c.append_audit(owned("over tls")).expect("append");
    assert_eq!(c.audit_len().expect("len"), 1);
    // A certificate the client does not trust: refused, never sent in clear instead.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("other");
    let wrong = dir.path().join("wrong.pem");
    std::fs::write(&wrong, other.cert.pem()).expect("write");
    let e = PgPool::connect(&format!("{url}?sslmode=require&sslrootcert={}", wrong.display()))
        .err()
        .expect("untrusted");
    assert_eq!(e.code(), "unavailable", "{e}");
    // TLS required of a server that has none: refused.
    let plain = Postgres::start();
    let e = PgPool::connect(&format!(
        "{}?sslmode=require&sslrootcert={}",
        plain.database("x"),
        ca.display()
    ))
    .err()
    .expect("no TLS");
    assert_eq!(e.code(), "unavailable", "{e}");
}
