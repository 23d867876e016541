//! Every operation audits itself: each public operation of the vault (found in the source,
//! so a new one cannot be left out of this list), called by a refused token, by a role the
//! policy does not allow and by one it allows (with a fresh TOTP code where the policy asks
//! for one) and by the local user, writes exactly one audit entry per call, naming the
//! policy's action, with the outcome of the call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use mlguard_data::Schema;
use mlguard_seal::{Kind, SealOptions, Secret, SignerPolicy};
use mlguard_vault::identity::{Action, AuthError, Policy, TotpAlg, hotp, otpauth_secret};
use mlguard_vault::{
    Actor, Ctx, ImportRequest, IngestOptions, SeedPolicy, TrainRequest, Vault, VaultError,
};

mod common;

type Op<'a> = Box<dyn Fn(&Vault, &Ctx) -> Result<(), VaultError> + 'a>;

struct Fixture {
    dir: tempfile::TempDir,
    vault: Vault,
    key: PathBuf,
    schema: Schema,
    data: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, schema, data) = common::setup(dir.path(), 400, 5);
    let key = dir.path().join("key");
    let local = Ctx::local();
    vault.ingest(&local, &data, &schema, "users", &IngestOptions::default()).expect("ingest");
    vault.train(&local, &train_request()).expect("train");
    Fixture { dir, vault, key, schema, data }
}

fn train_request() -> TrainRequest {
    common::request(SeedPolicy::Secure)
}

/// The names of the vault's public operations: its `pub fn NAME(&self, cx: &Ctx, ...)`.
fn operations_in_source() -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut found = BTreeSet::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).expect("src").map(|e| e.expect("entry").path()));
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("read");
        // Signatures may wrap after `(`: join each one up to its `)`.
        let flat = text.split("pub fn ").skip(1).map(|rest| {
            let end = rest.find(')').unwrap_or(rest.len());
            rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
        });
        for sig in flat {
            if let Some((name, args)) = sig.split_once('(')
                && args.trim_start().starts_with("&self, cx: &Ctx")
            {
                found.insert(name.split('<').next().unwrap_or(name).to_owned());
            }
        }
    }
    found
}

#[test]
fn every_operation_writes_one_entry_per_call_allowed_or_denied() {
    let f = fixture();
    let v = &f.vault;
    let local = Ctx::local();
    let policy = v.read_policy(&local).expect("policy");

    // One user per role, with a second factor and a token.
    let mut members = Vec::new();
    for role in mlguard_vault::identity::ROLES {
        let user = format!("u-{role}");
        v.add_user(&local, &user, role).expect("user");
        let uri = v.enroll_mfa(&local, &user, TotpAlg::Sha1).expect("mfa");
        let (_, token) = v.create_token(&local, &user, None).expect("token");
        let who = v.authenticate(&token).expect("auth").expect("valid");
        members.push((who, otpauth_secret(&uri).expect("secret")));
    }
    // Each call a fresh TOTP step: codes are single use.
    let clock = AtomicI64::new(1_900_000_000);
    let context = |role: &str| {
        let (who, secret) = members.iter().find(|(w, _)| w.role == role).expect("member");
        let at = clock.fetch_add(30, Ordering::SeqCst);
        let code = format!("{:06}", hotp(secret, TotpAlg::Sha1, at as u64 / 30, 6));
        Ctx::new(Actor::Token(who.clone()), "complete").with_totp(Some(&code)).at(at)
    };

    let n = AtomicUsize::new(0);
    let fresh = |prefix: &str| format!("{prefix}-{}", n.fetch_add(1, Ordering::SeqCst));
    let secret = Secret::from_key_file(&f.key).expect("key");
    let (schema, data) = (&f.schema, &f.data);
    // An artifact sealed by this vault, a model file, and a public key to trust.
    let mut sealed = Vec::new();
    let opts = SealOptions { kind: Kind::File, meta: Default::default() };
    let mut note = std::io::Cursor::new(b"a file outside the vault".to_vec());
    v.seal_artifact(&local, "note.txt", &mut note, &mut sealed, &opts).expect("seal");
    let model_file = f.dir.path().join("model.safetensors");
    std::fs::write(&model_file, b"weights").expect("model");
    let public_pem = v.keys().signer_public().to_pem();
    let exported = v.export_model(&local, "churn@1").expect("export").1.to_safetensors();
    // (operation, its action, the outcome of an allowed call)
    let ops: Vec<(&str, Action, &str, Op<'_>)> = vec![
        (
            "add_user",
            Action::UserManage,
            "allowed",
            Box::new(|v, cx| v.add_user(cx, &fresh("new"), "auditor")),
        ),
        ("users", Action::UserManage, "allowed", Box::new(|v, cx| v.users(cx).map(drop))),
        (
            "disable_user",
            Action::UserManage,
            "allowed",
            Box::new(|v, cx| {
                let name = fresh("gone");
                v.add_user(&Ctx::local(), &name, "auditor")?;
                v.disable_user(cx, &name)
            }),
        ),
        (
            "enroll_mfa",
            Action::UserManage,
            "allowed",
            Box::new(|v, cx| v.enroll_mfa(cx, "u-auditor", TotpAlg::Sha256).map(drop)),
        ),
        (
            "create_token",
            Action::TokenManage,
            "allowed",
            Box::new(|v, cx| v.create_token(cx, "u-auditor", Some(60)).map(drop)),
        ),
        (
            "revoke_token",
            Action::TokenManage,
            "allowed",
            Box::new(|v, cx| {
                let (id, _) = v.create_token(&Ctx::local(), "u-auditor", Some(60))?;
                v.revoke_token(cx, &id)
            }),
        ),
        ("tokens", Action::TokenManage, "allowed", Box::new(|v, cx| v.tokens(cx).map(drop))),
        (
            "read_policy",
            Action::RoleManage,
            "allowed",
            Box::new(|v, cx| v.read_policy(cx).map(drop)),
        ),
        (
            "set_policy",
            Action::RoleManage,
            "allowed",
            Box::new(|v, cx| v.set_policy(cx, &Policy::default())),
        ),
        (
            "rotate_keys",
            Action::KeyRotate,
            "allowed",
            Box::new(|v, cx| v.rotate_keys(cx, &secret, false, &[]).map(drop)),
        ),
        (
            "ingest",
            Action::DatasetIngest,
            "allowed",
            Box::new(|v, cx| {
                v.ingest(cx, data, schema, "users", &IngestOptions::default()).map(drop)
            }),
        ),
        // A table received into an encrypted scratch file (a server's upload).
        (
            "ingest_from",
            Action::DatasetIngest,
            "allowed",
            Box::new(|v, cx| {
                let mut upload = v.sealed_scratch("upload")?;
                let mut w = upload.writer()?;
                std::io::Write::write_all(&mut w, &std::fs::read(data).expect("data"))
                    .expect("write");
                w.finish()?;
                let source = mlguard_vault::IngestSource::Sealed(&upload);
                v.ingest_from(cx, &source, schema, "users", &IngestOptions::default()).map(drop)
            }),
        ),
        // An upload: allowed before its body is read, then ingested (one entry in all).
        (
            "allow_ingest",
            Action::DatasetIngest,
            "allowed",
            Box::new(|v, cx| {
                v.allow_ingest(cx, "users")?;
                v.ingest(cx, data, schema, "users", &IngestOptions::default()).map(drop)
            }),
        ),
        (
            "ingest_abandoned",
            Action::DatasetIngest,
            "failed",
            Box::new(|v, cx| v.ingest_abandoned(cx, "users", "the connection closed")),
        ),
        (
            "protection_key",
            Action::DatasetProtect,
            "allowed",
            Box::new(|v, cx| v.protection_key(cx, "in.csv", "out.csv", 5).map(drop)),
        ),
        (
            "download_dataset",
            Action::DatasetRead,
            "allowed",
            Box::new(|v, cx| v.download_dataset(cx, "users@1").map(drop)),
        ),
        (
            "poison_baseline",
            Action::DatasetRead,
            "allowed",
            Box::new(|v, cx| v.poison_baseline(cx, "users@1", "new.csv").map(drop)),
        ),
        (
            "list_datasets",
            Action::DatasetList,
            "allowed",
            Box::new(|v, cx| v.list_datasets(cx).map(drop)),
        ),
        (
            "dataset",
            Action::DatasetRead,
            "allowed",
            Box::new(|v, cx| v.dataset(cx, "users@1").map(drop)),
        ),
        (
            "train",
            Action::ModelTrain,
            "allowed",
            Box::new(|v, cx| v.train(cx, &train_request()).map(drop)),
        ),
        (
            "reproduce",
            Action::ModelTrain,
            "allowed",
            Box::new(|v, cx| v.reproduce(cx, "churn", Some(1)).map(drop)),
        ),
        (
            "import_model",
            Action::ModelTrain,
            "allowed",
            Box::new(|v, cx| {
                let req = ImportRequest {
                    name: "imported".into(),
                    dataset: "users@1".into(),
                    accept_flagged: true,
                };
                v.import_model(cx, &exported, &req).map(drop)
            }),
        ),
        (
            "list_models",
            Action::ModelList,
            "allowed",
            Box::new(|v, cx| v.list_models(cx).map(drop)),
        ),
        ("model", Action::ModelRead, "allowed", Box::new(|v, cx| v.model(cx, "churn@1").map(drop))),
        (
            "verify_model",
            Action::ModelRead,
            "allowed",
            Box::new(|v, cx| v.verify_model(cx, "churn@1").map(drop)),
        ),
        (
            "export_model",
            Action::ModelExport,
            "allowed",
            Box::new(|v, cx| v.export_model(cx, "churn@1").map(drop)),
        ),
        (
            "export_signed",
            Action::ModelExport,
            "allowed",
            Box::new(|v, cx| v.export_signed(cx, "churn@1", "exported").map(drop)),
        ),
        (
            "predict",
            Action::ModelPredict,
            "allowed",
            Box::new(|v, cx| v.predict(cx, "churn@1", data, &mut Vec::new()).map(drop)),
        ),
        (
            "prediction_model",
            Action::ModelPredict,
            "allowed",
            Box::new(|v, cx| v.prediction_model(cx, "churn@1", 3).map(drop)),
        ),
        (
            // As the server calls it: from memory when it can (its entry waited for),
            // else the call that may read (and records a refusal).
            "prediction_model_cached",
            Action::ModelPredict,
            "allowed",
            Box::new(|v, cx| match v.prediction_model_cached(cx, "churn@1", 3)? {
                Some((_, recorded)) => recorded.wait().map(drop),
                None => v.prediction_model(cx, "churn@1", 3).map(drop),
            }),
        ),
        (
            "audit_entries",
            Action::AuditRead,
            "allowed",
            Box::new(|v, cx| v.audit_entries(cx, 0).map(drop)),
        ),
        (
            "audit_checkpoint",
            Action::AuditRead,
            "allowed",
            Box::new(|v, cx| v.audit_checkpoint(cx).map(drop)),
        ),
        (
            "audit_proof",
            Action::AuditRead,
            "allowed",
            Box::new(|v, cx| v.audit_proof(cx, 1).map(drop)),
        ),
        (
            "audit_consistency",
            Action::AuditRead,
            "allowed",
            Box::new(|v, cx| v.audit_consistency(cx, 1).map(drop)),
        ),
        (
            "verify_audit",
            Action::AuditVerify,
            "allowed",
            Box::new(|v, cx| v.verify_audit(cx).map(drop)),
        ),
        (
            "seal_artifact",
            Action::KeyUse,
            "allowed",
            Box::new(|v, cx| {
                let opts = SealOptions { kind: Kind::File, meta: Default::default() };
                let mut input = std::io::Cursor::new(b"a file outside the vault".to_vec());
                v.seal_artifact(cx, "note.txt", &mut input, &mut Vec::new(), &opts).map(drop)
            }),
        ),
        (
            "open_artifact",
            Action::KeyUse,
            "allowed",
            Box::new(|v, cx| {
                let mut input = &sealed[..];
                v.open_artifact(
                    cx,
                    "note.mlseal",
                    &mut input,
                    &mut Vec::new(),
                    SignerPolicy::TrustedOnly,
                )
                .map(drop)
            }),
        ),
        (
            "verify_artifact",
            Action::KeyUse,
            "allowed",
            Box::new(|v, cx| {
                let mut input = &sealed[..];
                v.verify_artifact(cx, "note.mlseal", &mut input, SignerPolicy::TrustedOnly)
                    .map(drop)
            }),
        ),
        (
            "sign_model_files",
            Action::KeyUse,
            "allowed",
            Box::new(|v, cx| v.sign_model_files(cx, &model_file, None).map(drop)),
        ),
        (
            "trust_signer",
            Action::KeyTrust,
            "allowed",
            Box::new(|v, cx| v.trust_signer(cx, &public_pem, &fresh("partner")).map(drop)),
        ),
        (
            "collect_garbage",
            Action::VaultGc,
            "allowed",
            Box::new(|v, cx| v.collect_garbage(cx, std::time::Duration::from_secs(3600)).map(drop)),
        ),
        (
            "migrate",
            Action::VaultMigrate,
            // Into the stores the vault is in: not empty, refused (and recorded as such).
            "denied",
            Box::new(|v, cx| v.migrate(cx, &mlguard_vault::store::Backends::default()).map(drop)),
        ),
        (
            "console_sign_in",
            Action::ConsoleSignIn,
            "allowed",
            Box::new(|v, cx| v.console_sign_in(cx)),
        ),
        (
            "console_view",
            Action::ConsoleSignIn,
            "allowed",
            Box::new(|v, cx| v.console_view(cx, "/ui/")),
        ),
        (
            "console_sign_out",
            Action::ConsoleSignIn,
            "allowed",
            Box::new(|v, cx| v.console_sign_out(cx, "sign-out")),
        ),
        // A refusal made before the vault was asked (a forged console form): recorded as
        // denied for everyone, and returned.
        (
            "refuse",
            Action::TokenManage,
            "denied",
            Box::new(|v, cx| {
                Err(v.refuse(cx, Action::TokenManage, "tokens", "no anti-forgery token"))
            }),
        ),
        // The decision every operation starts with: a refusal is recorded, an allowance
        // is left to the operation that follows (so it writes none on its own).
        (
            "authorize",
            Action::ModelPredict,
            "none",
            Box::new(|v, cx| v.authorize(cx, Action::ModelPredict, "churn@1")),
        ),
    ];

    let tested: BTreeSet<String> = ops.iter().map(|o| o.0.to_owned()).collect();
    assert_eq!(tested, operations_in_source(), "every public operation is in this test");

    let entries = |v: &Vault| v.catalog().audit_entries(0).expect("entries");
    for (name, action, allowed_outcome, op) in &ops {
        let allowed_role = mlguard_vault::identity::ROLES
            .iter()
            .find(|r| policy.allows(r, *action))
            .expect("a role that may");
        let forbidden_role = mlguard_vault::identity::ROLES
            .iter()
            .find(|r| !policy.allows(r, *action))
            .expect("a role that may not");
        let cases = [
            (Ctx::new(Actor::Refused(AuthError::BadToken), "complete"), "denied"),
            (context(forbidden_role), "denied"),
            (context(allowed_role), *allowed_outcome),
            (Ctx::local(), *allowed_outcome),
        ];
        for (cx, outcome) in cases {
            let before = entries(v).len();
            let result = op(v, &cx);
            let after = entries(v);
            let who = cx.actor_name();
            if outcome == "none" {
                assert!(result.is_ok(), "{name} by {who}: {result:?}");
                assert_eq!(after.len(), before, "{name} by {who}: an allowance writes nothing");
                continue;
            }
            assert_eq!(outcome == "denied", result.is_err(), "{name} by {who}: {result:?}");
            // The operation's own entries: the set-up calls of an op (a user to disable, a
            // token to revoke) are the local user's, with their own request id.
            let mine: Vec<serde_json::Value> = after[before..]
                .iter()
                .map(|(_, text, _)| serde_json::from_str(text).expect("json"))
                .filter(|e: &serde_json::Value| e["request_id"] == cx.request_id())
                .collect();
            assert_eq!(mine.len(), 1, "{name} by {who}: {mine:?}");
            assert_eq!(mine[0]["action"], action.as_str(), "{name} by {who}");
            assert_eq!(mine[0]["outcome"], outcome, "{name} by {who}: {:?}", mine[0]);
            assert_eq!(mine[0]["actor"], who.as_str(), "{name}");
        }
    }
    let verified = v.verify_audit(&local).expect("verify");
    assert!(verified.ok(), "{:?}", verified.problems);
}
