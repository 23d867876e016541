//! End to end over real TLS on loopback with a real HTTP client: roles, TOTP, per-row
//! prediction errors, the audit log verified through the API, and a 503 with no effect when
//! the audit store cannot be written.

use std::sync::Arc;

use mlguard_data::{InferOptions, Protect, infer_reader, synth};
use mlguard_seal::{Keystore, Secret};
use mlguard_server::{AppState, Certificate, ROUTES, serve, start};
use mlguard_vault::identity::{Action, TotpAlg, now_secs, otpauth_secret, totp_code};
use mlguard_vault::{IngestOptions, SeedPolicy, TrainRequest, Vault};
use serde_json::{Value, json};

fn totp_now(secret: &[u8]) -> String {
    totp_code(secret, TotpAlg::Sha1, now_secs())
}

/// A vault with a trained model `churn`, and tokens for three roles (the scientist with MFA).
fn setup(dir: &std::path::Path) -> (Vault, [String; 3], Vec<u8>, Value) {
    setup_on(dir, None)
}

/// As [`setup`], on the stores `backends` (the embedded default when None).
fn setup_on(
    dir: &std::path::Path,
    backends: Option<&mlguard_vault::store::Backends>,
) -> (Vault, [String; 3], Vec<u8>, Value) {
    let key = dir.join("key");
    let secret = Secret::create_key_file(&key).expect("key");
    match backends {
        Some(b) => drop(Vault::init_with(&dir.join("v"), &secret, b).expect("init")),
        None => drop(Keystore::init(&dir.join("v"), &secret).expect("init")),
    }
    let vault =
        Vault::open(&dir.join("v"), &Secret::from_key_file(&key).expect("key")).expect("open");
    let mut csv = Vec::new();
    synth::write_user_data(&mut csv, 2000, 5).expect("data");
    let mut schema = infer_reader(&csv[..], &InferOptions::default()).expect("infer").schema;
    for f in &mut schema.fields {
        if f.pii.is_some() {
            f.protect = Some(Protect::Drop);
        }
    }
    let data = dir.join("users.csv");
    std::fs::write(&data, &csv).expect("write");
    std::fs::write(dir.join("schema.json"), schema.to_json().to_string()).expect("schema");
    vault
        .ingest(&mlguard_vault::Ctx::local(), &data, &schema, "users", &IngestOptions::default())
        .expect("ingest");
    vault
        .train(
            &mlguard_vault::Ctx::local(),
            &TrainRequest {
                dataset: "users".into(),
                version: None,
                target: None,
                test_size: 0.2,
                fit: mlguard_learn::FitOptions::default(),
                seed: SeedPolicy::Fixed(1),
                name: Some("churn".into()),
                accept_flagged: false,
            },
        )
        .expect("train");
    // One row of the file as JSON, for predictions.
    let text = String::from_utf8(csv).expect("utf-8");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let cells: Vec<&str> = lines.next().expect("row").split(',').collect();
    let row: serde_json::Map<String, Value> = header
        .iter()
        .zip(&cells)
        .map(|(h, c)| {
            ((*h).to_owned(), c.parse::<f64>().map_or_else(|_| Value::from(*c), Value::from))
        })
        .collect();
    let mut tokens = Vec::new();
    let mut secret = Vec::new();
    for (user, role) in [("carol", "model-consumer"), ("sam", "data-scientist"), ("ada", "auditor")]
    {
        vault.add_user(&mlguard_vault::Ctx::local(), user, role).expect("user");
        if user == "sam" {
            let uri =
                vault.enroll_mfa(&mlguard_vault::Ctx::local(), user, TotpAlg::Sha1).expect("mfa");
            secret = otpauth_secret(&uri).expect("secret");
        }
        tokens.push(
            vault
                .create_token(&mlguard_vault::Ctx::local(), user, None)
                .expect("token")
                .1
                .to_string(),
        );
    }
    let tokens: [String; 3] = tokens.try_into().expect("three");
    (vault, tokens, secret, Value::Object(row))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_mfa_predictions_and_audit_over_real_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, [consumer, scientist, auditor], secret, row) = setup(dir.path());
    let cert = Certificate::self_signed().expect("certificate");
    assert_eq!(cert.fingerprint().len(), 32 * 3 - 1);
    let state = AppState::new(vault).expect("state");
    let server = start(
        Arc::clone(&state),
        "127.0.0.1:0".parse().expect("addr"),
        Some(cert.server_config().expect("tls")),
    )
    .await
    .expect("started");
    let addr = server.addr;
    // A client that trusts only this certificate.
    let tls = cert.client_config().expect("client tls");
    let client = reqwest::Client::builder().use_preconfigured_tls(tls).build().expect("client");
    let url = |p: &str| format!("https://localhost:{}{p}", addr.port());
    let bearer = |t: &str| format!("Bearer {t}");

    let r = client.get(url("/healthz")).send().await.expect("healthz");
    assert_eq!(r.status(), 200);
    let doc: Value =
        client.get(url("/openapi.json")).send().await.expect("openapi").json().await.expect("json");
    for (method, path, _, _) in ROUTES {
        assert!(
            doc["paths"][*path][*method].is_object(),
            "{method} {path} in the OpenAPI document"
        );
    }

    // The consumer predicts; a bad row is rejected by itself.
    let mut bad = row.clone();
    bad["plan"] = "platinum".into();
    let body = json!({"rows": [row, bad]});
    let r = client
        .post(url("/v1/models/churn/predict"))
        .header("authorization", bearer(&consumer))
        .json(&body)
        .send()
        .await
        .expect("predict");
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let v: Value = r.json().await.expect("json");
    assert!(v["results"][0]["prediction"].is_string(), "{v}");
    assert!(v["results"][1]["errors"][0].as_str().is_some_and(|e| e.starts_with("plan:")), "{v}");

    // Bodies that are not JSON, or not rows, are refused as such; a row that is not an
    // object is rejected by itself; a request too large to be answered on its async task
    // (read again on a blocking thread) gives the same answers.
    for (raw, code) in [
        ("{\"rows\": [", "bad_json"),
        ("[1, 2]", "bad_request"),
        ("{\"rows\": 3}", "bad_request"),
        ("{\"row\": []}", "bad_request"),
    ] {
        let r = client
            .post(url("/v1/models/churn/predict"))
            .header("authorization", bearer(&consumer))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 400, "{raw}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"], code, "{raw}: {v}");
    }
    let mut many: Vec<Value> = vec![row.clone(); 99];
    many.push(json!([1, 2]));
    let r = client
        .post(url("/v1/models/churn/predict"))
        .header("authorization", bearer(&consumer))
        .json(&json!({"rows": many}))
        .send()
        .await
        .expect("predict");
    assert_eq!(r.status(), 200);
    let w: Value = r.json().await.expect("json");
    assert_eq!(w["results"][0], v["results"][0], "{w}");
    assert_eq!(w["results"][98], v["results"][0], "{w}");
    assert!(
        w["results"][99]["errors"][0].as_str().is_some_and(|e| e.contains("JSON object")),
        "{w}"
    );

    // Refusals: no token, a forged token, a role without the permission.
    let r = client.post(url("/v1/models/churn/predict")).json(&body).send().await.expect("send");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "no_token", "{v}");
    // The last hex digit changed (to another one: a token ending in 0 stays valid with 0).
    let last = if consumer.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &consumer[..consumer.len() - 1]);
    let r = client
        .post(url("/v1/models/churn/predict"))
        .header("authorization", bearer(&forged))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let r = client
        .post(url("/v1/models/churn/export"))
        .header("authorization", bearer(&consumer))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let r = client
        .post(url("/v1/audit/verify"))
        .header("authorization", bearer(&consumer))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);

    // Training: refused to the consumer, done for the scientist (no TOTP needed).
    let train = json!({"dataset": "users", "name": "churn2"});
    let r = client
        .post(url("/v1/models/train"))
        .header("authorization", bearer(&consumer))
        .json(&train)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let r = client
        .post(url("/v1/models/train"))
        .header("authorization", bearer(&scientist))
        .json(&train)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.expect("json")["model"], "churn2@1");

    // Export needs a TOTP code; each code works once.
    let r = client
        .post(url("/v1/models/churn/export"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "mfa_required");
    let code = totp_now(&secret);
    let r = client
        .post(url("/v1/models/churn/export"))
        .header("authorization", bearer(&scientist))
        .header("x-mlguard-totp", &code)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.expect("body");
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    assert_eq!(bytes[8], b'{', "safetensors ({n}-byte header)");
    let r = client
        .post(url("/v1/models/churn/export"))
        .header("authorization", bearer(&scientist))
        .header("x-mlguard-totp", &code)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401, "a replayed code");

    // The auditor verifies the log through the API; it holds every request.
    let v: Value = client
        .post(url("/v1/audit/verify"))
        .header("authorization", bearer(&auditor))
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("json");
    assert_eq!(v["ok"], true, "{v}");
    let log = client
        .get(url("/v1/audit/entries"))
        .header("authorization", bearer(&auditor))
        .send()
        .await
        .expect("entries")
        .text()
        .await
        .expect("text");
    // One entry per request, named by the policy's action: allowed predictions with the
    // token that made them, and the refused token's attempt as denied.
    let entries: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).expect("an entry per line")).collect();
    let predict = |outcome: &str, actor: &str| {
        entries.iter().any(|e| {
            e["action"] == "model.predict" && e["outcome"] == outcome && e["actor"] == actor
        })
    };
    assert!(predict("allowed", "carol") && predict("denied", "anonymous"), "{log}");
    assert!(entries.iter().all(|e| !e["action"].as_str().unwrap_or("").starts_with("auth")));
    assert!(!log.contains(&consumer[17..]) && !log.contains(&code), "no secrets in the log");
    let note = client
        .get(url("/v1/audit/checkpoint"))
        .header("authorization", bearer(&auditor))
        .send()
        .await
        .expect("checkpoint")
        .text()
        .await
        .expect("text");
    assert!(note.contains("\n\n\u{2014} mlguard.local/audit/"), "{note}");

    // The audit store fails: the request is refused with 503 and nothing is released.
    let conn = rusqlite_connection(&dir.path().join("v/catalog.db"));
    conn.execute_batch("CREATE TRIGGER no_audit BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'read-only'); END;")
        .expect("trigger");
    let r = client
        .post(url("/v1/models/churn/predict"))
        .header("authorization", bearer(&consumer))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "audit_unavailable");
    conn.execute_batch("DROP TRIGGER no_audit;").expect("drop");

    let metrics =
        client.get(url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.contains(
            "mlguard_requests_total{route=\"/v1/models/{name}/predict\",status=\"200\"} 2"
        ),
        "{metrics}"
    );

    server.stop().await.expect("serve");
}

fn rusqlite_connection(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).expect("db");
    c.busy_timeout(std::time::Duration::from_secs(5)).expect("timeout");
    c
}

#[tokio::test]
async fn plain_http_only_on_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("key");
    Keystore::init(&dir.path().join("v"), &Secret::create_key_file(&key).expect("key"))
        .expect("init");
    let vault = Vault::open(&dir.path().join("v"), &Secret::from_key_file(&key).expect("key"))
        .expect("open");
    let state = AppState::new(vault).expect("state");
    let r = serve(state, "0.0.0.0:0".parse().expect("addr"), None, |_| {}, async {}).await;
    assert!(matches!(r, Err(mlguard_server::ServeError::NotLoopback(_))));
}

/// An upload of `dir`'s users.csv with its schema (multipart), with `options`.
fn upload_form(dir: &std::path::Path, options: Value) -> reqwest::multipart::Form {
    let schema = std::fs::read_to_string(dir.join("schema.json")).expect("schema");
    let csv = std::fs::read(dir.join("users.csv")).expect("csv");
    reqwest::multipart::Form::new()
        .text("schema", schema)
        .text("options", options.to_string())
        .part("data", reqwest::multipart::Part::bytes(csv).file_name("users.csv"))
}

/// A multipart upload body (schema, options, data) and its content type, built by hand for
/// in-process requests.
fn upload_body(dir: &std::path::Path, options: Value) -> (String, Vec<u8>) {
    let boundary = "mlguard-test-boundary";
    let schema = std::fs::read_to_string(dir.join("schema.json")).expect("schema");
    let csv = std::fs::read(dir.join("users.csv")).expect("csv");
    let mut body = Vec::new();
    for (name, value) in [("schema", schema), ("options", options.to_string())] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"users.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(&csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The role × endpoint × outcome matrix in process (`tower::ServiceExt::oneshot` on the
/// router), generated from the vault's policy: every role against every protected route,
/// without a TOTP code and with one, and a refused token; each answer has the status the
/// policy implies, and each request is exactly one audit entry naming the route's action
/// with the outcome the answer says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_endpoint_as_the_policy_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    role_endpoint_matrix(dir.path(), None).await;
}

/// The same matrix on the scale-out catalog: PostgreSQL (started by the test) for the
/// catalog, identities, policy and audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_endpoint_on_postgres() {
    let pg = mlguard_testkit::servers::Postgres::start();
    let url = pg.database("matrix");
    let backends = mlguard_vault::store::Backends::new(Some(&url), None).expect("backends");
    let dir = tempfile::tempdir().expect("tempdir");
    role_endpoint_matrix(dir.path(), Some(&backends)).await;
}

/// Blocking work (the vault's stores) from the test's async body.
fn b<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

async fn role_endpoint_matrix(
    dir: &std::path::Path,
    backends: Option<&mlguard_vault::store::Backends>,
) {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    let (vault, _, _, row) = b(|| setup_on(dir, backends));
    let local = mlguard_vault::Ctx::local();
    let policy = b(|| vault.read_policy(&local)).expect("policy");
    // A model file to import: the trained one, as it leaves the vault.
    let model_file = b(|| vault.export_model(&local, "churn")).expect("export").1.to_safetensors();
    let mut tokens = vec![("refused".to_string(), "mlg_0000_nope".to_string())];
    for role in mlguard_vault::identity::ROLES {
        let user = format!("m-{role}");
        b(|| vault.add_user(&local, &user, role)).expect("user");
        let token = b(|| vault.create_token(&local, &user, None)).expect("token").1;
        tokens.push((role.to_string(), token.to_string()));
    }
    let state = b(|| AppState::new(vault)).expect("state");
    let app = mlguard_server::router(Arc::clone(&state));
    let mut checked = 0;
    for (role, token) in &tokens {
        for (method, path, action, _) in ROUTES {
            let Some(action) = *action else { continue };
            let allowed = role != "refused" && policy.allows(role, action);
            let mfa = policy.needs_mfa(action);
            for with_code in [false, true] {
                if with_code && !(allowed && mfa) {
                    continue; // a code changes nothing elsewhere
                }
                let n = checked;
                // Objects for the request: a user to disable or enroll, a token to revoke.
                let (target, target_token) = b(|| {
                    let v = state.vault();
                    let t = format!("t-{n}");
                    v.add_user(&local, &t, "auditor").expect("target");
                    (t.clone(), v.create_token(&local, &t, None).expect("token").0)
                });
                let name = if path.starts_with("/v1/datasets") { "users" } else { "churn" };
                let mut path = path
                    .replace("{name}", if path.contains("/admin/") { &target } else { name })
                    .replace("{index}", "0")
                    .replace("{id}", &target_token);
                if path.ends_with("/consistency") {
                    path.push_str("?from=1");
                }
                if path.ends_with("/import") {
                    path.push_str("?dataset=users");
                }
                // With a code: a fresh user of the role, so each code is its user's first.
                let (token, code) = if with_code {
                    b(|| {
                        let v = state.vault();
                        let u = format!("c-{n}");
                        v.add_user(&local, &u, role).expect("user");
                        let uri = v.enroll_mfa(&local, &u, TotpAlg::Sha1).expect("mfa");
                        let t = v.create_token(&local, &u, None).expect("token").1.to_string();
                        (t, Some(totp_now(&otpauth_secret(&uri).expect("secret"))))
                    })
                } else {
                    (token.clone(), None)
                };
                let json_body =
                    |v: Value| ("application/json".to_string(), v.to_string().into_bytes());
                let (content_type, body) = match (*method, action) {
                    ("put", _) => json_body(serde_json::to_value(&*policy).expect("policy")),
                    ("post", Action::DatasetIngest) => upload_body(dir, json!({})),
                    ("post", Action::ModelPredict) => json_body(json!({"rows": [row.clone()]})),
                    ("post", Action::ModelTrain) if path.contains("/import") => {
                        ("application/octet-stream".to_string(), model_file.clone())
                    }
                    ("post", Action::ModelTrain) => {
                        json_body(json!({"dataset": "users", "name": format!("m-{role}")}))
                    }
                    ("post", Action::UserManage) if path == "/v1/admin/users" => {
                        json_body(json!({"name": format!("new-{n}"), "role": "auditor"}))
                    }
                    ("post", Action::TokenManage) => json_body(json!({"user": target})),
                    _ => (String::new(), Vec::new()),
                };
                let request_id = format!("matrix-{n}");
                let mut r = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&path)
                    .header("authorization", format!("Bearer {token}"))
                    .header("x-request-id", &request_id);
                if !content_type.is_empty() {
                    r = r.header("content-type", content_type);
                }
                if let Some(code) = code {
                    r = r.header("x-mlguard-totp", code);
                }
                let response = app
                    .clone()
                    .oneshot(r.body(Body::from(body)).expect("request"))
                    .await
                    .expect("answer");
                let status = response.status().as_u16();
                let text = axum::body::to_bytes(response.into_body(), 1 << 24)
                    .await
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let want: &[u16] = match (allowed, mfa, with_code) {
                    _ if role == "refused" => &[401],
                    (false, _, _) => &[403],
                    (true, true, false) => &[401],
                    _ => &[200, 201],
                };
                assert!(
                    want.contains(&status),
                    "{role} {method} {path} (code: {with_code}): {status}, want {want:?}: {text}"
                );
                // Exactly one entry for the request, with the route's action and outcome.
                let entries: Vec<Value> = b(|| state.vault().catalog().audit_entries(0))
                    .expect("entries")
                    .into_iter()
                    .map(|(_, t, _)| serde_json::from_str(&t).expect("json"))
                    .filter(|e: &Value| e["request_id"] == request_id.as_str())
                    .collect();
                let outcome = if status < 300 { "allowed" } else { "denied" };
                assert_eq!(entries.len(), 1, "{role} {method} {path}: {entries:?}");
                let action_name = entries[0]["action"].as_str().unwrap_or_default();
                let raw = action == Action::DatasetRead && action_name == "dataset.read-raw";
                assert!(
                    action_name == action.as_str() || raw,
                    "{role} {method} {path}: {entries:?}"
                );
                assert_eq!(entries[0]["outcome"], outcome, "{role} {method} {path}: {entries:?}");
                checked += 1;
            }
        }
    }
    let protected = ROUTES.iter().filter(|r| r.2.is_some()).count();
    assert!(checked > 6 * protected, "{checked} requests for {protected} routes");
    let ok = b(|| state.vault().verify_audit(&local)).expect("verify").ok();
    assert!(ok, "the log verifies after the matrix");
    // Closing the vault signs a checkpoint: in the stores, off the async workers.
    drop(app);
    b(|| drop(state));
}

/// Datasets and administration over HTTPS: a streamed upload ingested (and an invalid one
/// refused with its report, storing nothing), metadata, a download that is byte for byte
/// what was stored, raw data (a version that kept personal data) only for the data steward
/// with a TOTP code, tokens created and revoked through the API, a bad policy refused, and a
/// consistency proof that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_tokens_policy_and_proofs_over_https() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, [_, scientist, auditor], sam_secret, _) = setup(dir.path());
    let mut stewards = Vec::new();
    for user in ["sue", "admin"] {
        vault
            .add_user(
                &mlguard_vault::Ctx::local(),
                user,
                if user == "sue" { "data-steward" } else { "admin" },
            )
            .expect("user");
        let uri = vault.enroll_mfa(&mlguard_vault::Ctx::local(), user, TotpAlg::Sha1).expect("mfa");
        let token = vault
            .create_token(&mlguard_vault::Ctx::local(), user, None)
            .expect("token")
            .1
            .to_string();
        stewards.push((token, otpauth_secret(&uri).expect("secret")));
    }
    let [(steward, steward_secret), (admin, admin_secret)]: [(String, Vec<u8>); 2] =
        stewards.try_into().expect("two");
    let cert = Certificate::self_signed().expect("certificate");
    let state = AppState::new(vault).expect("state");
    let server = start(
        Arc::clone(&state),
        "127.0.0.1:0".parse().expect("addr"),
        Some(cert.server_config().expect("tls")),
    )
    .await
    .expect("started");
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(cert.client_config().expect("tls"))
        .build()
        .expect("client");
    let port = server.addr.port();
    let url = |p: &str| format!("https://localhost:{port}{p}");
    let bearer = |t: &str| format!("Bearer {t}");

    // Upload: the steward may, the scientist may not (refused before the body is read).
    let r = client
        .post(url("/v1/datasets/users"))
        .header("authorization", bearer(&scientist))
        .multipart(upload_form(dir.path(), json!({})))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403);
    let r = client
        .post(url("/v1/datasets/users"))
        .header("authorization", bearer(&steward))
        .multipart(upload_form(dir.path(), json!({"k": 2})))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["dataset"], "users@2", "{v}");
    assert_eq!(v["rows"], 2000, "{v}");

    // An invalid file: 422 with the validation report, nothing stored.
    let schema = std::fs::read_to_string(dir.path().join("schema.json")).expect("schema");
    let form = reqwest::multipart::Form::new().text("schema", schema.clone()).part(
        "data",
        reqwest::multipart::Part::bytes(b"not,the,header\n1,2,3\n".to_vec())
            .file_name("export.csv"),
    );
    let r = client
        .post(url("/v1/datasets/users"))
        .header("authorization", bearer(&steward))
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "invalid", "{v}");
    assert!(v["report"]["findings"].as_array().is_some_and(|f| !f.is_empty()), "{v}");
    // The report names the file the client sent, not the server's scratch file.
    assert_eq!(v["report"]["subject"], "export.csv", "{v}");
    assert!(!v.to_string().contains("scratch-upload"), "no scratch path: {v}");
    // A malformed upload: no schema part.
    let form = reqwest::multipart::Form::new().text("data", "a\n1\n");
    let r = client
        .post(url("/v1/datasets/users"))
        .header("authorization", bearer(&steward))
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("text").contains("no `schema` part"));

    // Metadata and a download: the bytes are the stored version's.
    let meta: Value = client
        .get(url("/v1/datasets/users@2"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(meta["raw"], false, "{meta}");
    let r = client
        .get(url("/v1/datasets/users@2/data"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let csv = r.bytes().await.expect("body");
    assert_eq!(csv.len() as u64, meta["size"].as_u64().expect("size"));
    assert_eq!(csv.iter().filter(|&&b| b == b'\n').count(), 2001);

    // A version that keeps personal data (the schema without its protect actions) is raw.
    let mut raw_schema: Value = serde_json::from_str(&schema).expect("json");
    for f in raw_schema["fields"].as_array_mut().expect("fields") {
        f.as_object_mut().expect("field").remove("protect");
    }
    let csv_bytes = std::fs::read(dir.path().join("users.csv")).expect("csv");
    let form = reqwest::multipart::Form::new()
        .text("schema", raw_schema.to_string())
        .text("options", json!({"keep_pii": true}).to_string())
        .part("data", reqwest::multipart::Part::bytes(csv_bytes.clone()));
    let r = client
        .post(url("/v1/datasets/people"))
        .header("authorization", bearer(&steward))
        .multipart(form)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let r = client
        .get(url("/v1/datasets/people/data"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 403, "a scientist reads protected data only");
    let r = client
        .get(url("/v1/datasets/people/data"))
        .header("authorization", bearer(&steward))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401, "raw data needs a TOTP code");
    let r = client
        .get(url("/v1/datasets/people/data"))
        .header("authorization", bearer(&steward))
        .header("x-mlguard-totp", totp_now(&steward_secret))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let body = r.text().await.expect("body");
    let text = String::from_utf8(csv_bytes).expect("utf-8");
    let email = text.split([',', '\n']).find(|c| c.contains('@')).expect("an e-mail");
    assert!(body.contains(email), "the raw version keeps {email}");

    // The model, inspected (no split seed), by the scientist.
    let v: Value = client
        .get(url("/v1/models/churn"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["model"], "churn@1", "{v}");
    assert!(v["info"]["provenance"].get("mlguard.split_seed").is_none(), "{v}");
    let _ = sam_secret;

    // Tokens through the API: created (shown once), used, revoked, refused.
    let mut codes = (0..2i64).map(|k| totp_code(&admin_secret, TotpAlg::Sha1, now_secs() + 30 * k));
    let v: Value = client
        .post(url("/v1/admin/tokens"))
        .header("authorization", bearer(&admin))
        .header("x-mlguard-totp", codes.next().expect("code"))
        .json(&json!({"user": "ada", "ttl_secs": 3600}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let (id, token) = (v["id"].as_str().expect("id"), v["token"].as_str().expect("token"));
    let ok =
        |t: &str| client.post(url("/v1/audit/verify")).header("authorization", bearer(t)).send();
    assert_eq!(ok(token).await.expect("send").status(), 200);
    let r = client
        .delete(url(&format!("/v1/admin/tokens/{id}")))
        .header("authorization", bearer(&admin))
        .header("x-mlguard-totp", codes.next().expect("code"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(ok(token).await.expect("send").status(), 401, "a revoked token");
    assert_eq!(ok(&auditor).await.expect("send").status(), 200, "other tokens still work");

    // A policy with an unknown role is refused, and the policy is unchanged. (A second
    // admin: a user's codes are single use, two per 30 s at most.)
    let (admin2, code) = {
        let v = state.vault();
        v.add_user(&mlguard_vault::Ctx::local(), "admin2", "admin").expect("user");
        let uri = v.enroll_mfa(&mlguard_vault::Ctx::local(), "admin2", TotpAlg::Sha1).expect("mfa");
        let t = v
            .create_token(&mlguard_vault::Ctx::local(), "admin2", None)
            .expect("token")
            .1
            .to_string();
        (t, totp_now(&otpauth_secret(&uri).expect("secret")))
    };
    let before =
        (*state.vault().read_policy(&mlguard_vault::Ctx::local()).expect("policy")).clone();
    let r = client
        .put(url("/v1/admin/roles"))
        .header("authorization", bearer(&admin2))
        .header("x-mlguard-totp", code)
        .json(&json!({"roles": {"root": ["*"]}, "mfa": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("text").contains("unknown role"));
    assert_eq!(
        (*state.vault().read_policy(&mlguard_vault::Ctx::local()).expect("policy")).clone(),
        before
    );

    // A consistency proof from an early tree size to the latest checkpoint verifies.
    let v: Value = client
        .get(url("/v1/audit/consistency?from=3"))
        .header("authorization", bearer(&auditor))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let h = |s: &Value| -> [u8; 32] {
        let s = s.as_str().expect("hex");
        let b: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect();
        b.try_into().expect("32 bytes")
    };
    let proof: Vec<[u8; 32]> = v["proof"].as_array().expect("proof").iter().map(h).collect();
    let size = v["tree_size"].as_u64().expect("size");
    assert!(size > 3);
    assert!(mlguard_vault::merkle::verify_consistency(
        3,
        size,
        &h(&v["from_root"]),
        &h(&v["root"]),
        &proof
    ));
    let r = client
        .get(url(&format!("/v1/audit/consistency?from={}", size + 100)))
        .header("authorization", bearer(&auditor))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 422);

    // An object gone from the store is an integrity failure, named by its id, never by a
    // server path.
    let object = state.vault().catalog().dataset("users", Some(1)).expect("record").object;
    let stored = dir.path().join("v/objects").join(&object);
    std::fs::remove_file(&stored).expect("remove");
    let r = client
        .get(url("/v1/datasets/users@1/data"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 500);
    let body = r.text().await.expect("text");
    assert!(body.contains("\"integrity\"") && body.contains(&object), "{body}");
    assert!(!body.contains(&*dir.path().to_string_lossy()), "{body}");

    // An internal failure (the object unreadable: a directory in its place) is a 500 that
    // names nothing of the server: the details are in the server's log.
    std::fs::create_dir(&stored).expect("a directory in its place");
    let r = client
        .get(url("/v1/datasets/users@1/data"))
        .header("authorization", bearer(&scientist))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 500);
    let id = r.headers()["x-request-id"].to_str().expect("id").to_owned();
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"], "internal", "{body}");
    assert_eq!(body["request_id"], id.as_str(), "the id to ask the server's log about");
    let body = body.to_string();
    assert!(!body.contains(&*dir.path().to_string_lossy()) && !body.contains("objects"), "{body}");

    server.stop().await.expect("serve");
}

/// Keys as certificate tools write them: PKCS#1 (`openssl genrsa -traditional`), SEC1
/// (`openssl ecparam -genkey`) and PKCS#8 all serve; a key of another certificate and a
/// file with no key are refused with what is wrong.
#[test]
fn tls_keys_in_every_pem_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let openssl = |args: &[&str]| {
        let o = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl runs (Debian's openssl package)");
        assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    openssl(&["genrsa", "-traditional", "-out", "rsa.pem", "2048"]);
    openssl(&["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec.pem"]);
    openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "ec8.pem"]);
    for (key, begin) in [
        ("rsa.pem", "BEGIN RSA PRIVATE KEY"),
        ("ec.pem", "BEGIN EC PRIVATE KEY"),
        ("ec8.pem", "BEGIN PRIVATE KEY"),
    ] {
        let cert = format!("{key}.crt");
        openssl(&[
            "req",
            "-new",
            "-x509",
            "-key",
            key,
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
            "-out",
            &cert,
        ]);
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect("pem");
        assert!(read(key).contains(begin), "{key} is {begin}");
        let c = Certificate::from_pem(&read(&cert), &read(key));
        assert!(c.is_ok(), "{key}: {}", c.err().map(|e| e.to_string()).unwrap_or_default());
        let err =
            Certificate::from_pem(&read(&cert), &read(&cert)).err().expect("no key").to_string();
        assert!(err.contains("holds no PEM private key"), "{err}");
    }
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect("pem");
    let err = Certificate::from_pem(&read("rsa.pem.crt"), &read("ec.pem")).err().expect("mismatch");
    assert!(err.to_string().contains("does not belong to the certificate"), "{err}");
}

/// The Python tools that check the API from outside: the OpenAPI validator and
/// schemathesis, installed by the test into a virtualenv of its own.
fn api_checkers() -> std::path::PathBuf {
    let venv = std::path::PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/api-checkers-venv"));
    let python = mlguard_testkit::python_venv(
        &venv,
        "import openapi_spec_validator, schemathesis",
        &["openapi-spec-validator==0.9.0", "schemathesis==4.32.5"],
    );
    python.with_file_name("")
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    let bin = api_checkers();
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = dir.path().join("openapi.json");
    std::fs::write(&doc, mlguard_server::openapi_document().to_string()).expect("write");
    let o = std::process::Command::new(bin.join("openapi-spec-validator"))
        .arg(&doc)
        .output()
        .expect("openapi-spec-validator runs");
    let said =
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{said}");
}

/// schemathesis generates requests from the document (valid and invalid ones) for every
/// operation, with a token of each role: no answer is a 5xx, and every answer matches the
/// document (status, content type, schema).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let bin = api_checkers();
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, [consumer, scientist, auditor], _, _) = setup(dir.path());
    let local = mlguard_vault::Ctx::local();
    let mut tokens = vec![consumer, scientist, auditor];
    for (user, role) in [("root", "admin"), ("stew", "data-steward")] {
        vault.add_user(&local, user, role).expect("user");
        tokens.push(vault.create_token(&local, user, None).expect("token").1.to_string());
    }
    let state = AppState::new(vault).expect("state");
    let server = start(Arc::clone(&state), "127.0.0.1:0".parse().expect("addr"), None)
        .await
        .expect("started");
    let base = format!("http://127.0.0.1:{}", server.addr.port());
    for token in tokens {
        let (bin, base, work) = (bin.clone(), base.clone(), dir.path().to_owned());
        let o = tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin.join("schemathesis"))
                .args(["run", &format!("{base}/openapi.json"), "--url", &base])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                ])
                .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "15"])
                .args(["--workers", "1", "--seed", "7", "--no-color"])
                .env("SCHEMATHESIS_HOOKS", "")
                // Its cache of found failures goes with the test's directory.
                .current_dir(&work)
                .output()
        })
        .await
        .expect("joined")
        .expect("schemathesis runs");
        let said =
            format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(o.status.success(), "{said}");
    }
    server.stop().await.expect("stopped");
}
