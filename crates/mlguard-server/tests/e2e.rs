//! End to end over real TLS on loopback with a real HTTP client: roles, TOTP, per-row
//! prediction errors, the audit log verified through the API, and a 503 with no effect when
//! the audit store cannot be written.

use std::sync::Arc;

use mlguard_data::{InferOptions, Protect, infer_reader, synth};
use mlguard_seal::{Keystore, Secret};
use mlguard_server::{AppState, Certificate, ROUTES, serve, start};
use mlguard_vault::identity::{TotpAlg, now_secs, otpauth_secret, totp_code};
use mlguard_vault::{IngestOptions, SeedPolicy, TrainRequest, Vault};
use serde_json::{Value, json};

fn totp_now(secret: &[u8]) -> String {
    totp_code(secret, TotpAlg::Sha1, now_secs())
}

/// A vault with a trained model `churn`, and tokens for three roles (the scientist with MFA).
fn setup(dir: &std::path::Path) -> (Vault, [String; 3], Vec<u8>, Value) {
    let key = dir.join("key");
    Keystore::init(&dir.join("v"), &Secret::create_key_file(&key).expect("key")).expect("init");
    let mut vault =
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
    vault.ingest(&data, &schema, "users", &IngestOptions::default()).expect("ingest");
    vault
        .train(&TrainRequest {
            dataset: "users".into(),
            version: None,
            target: None,
            test_size: 0.2,
            fit: mlguard_learn::FitOptions::default(),
            seed: SeedPolicy::Fixed(1),
            name: Some("churn".into()),
        })
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
        vault.add_user(user, role).expect("user");
        if user == "sam" {
            let uri = vault.enroll_mfa(user, TotpAlg::Sha1).expect("mfa");
            secret = otpauth_secret(&uri).expect("secret");
        }
        tokens.push(vault.create_token(user, None).expect("token").1.to_string());
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

    // Refusals: no token, a forged token, a role without the permission.
    let r = client.post(url("/v1/models/churn/predict")).json(&body).send().await.expect("send");
    assert_eq!(r.status(), 401);
    let forged = format!("{}0", &consumer[..consumer.len() - 1]);
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
    assert!(log.contains("\"authz.model.predict\"") && log.contains("\"authn.model.predict\""));
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
            "mlguard_requests_total{route=\"/v1/models/{name}/predict\",status=\"200\"} 1"
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

/// The role × endpoint matrix over HTTPS, generated from the vault's policy: every role
/// against every protected route, without a TOTP code and with one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_against_every_endpoint_as_the_policy_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (vault, _, _, row) = setup(dir.path());
    let policy = vault.policy().expect("policy");
    let mut users = Vec::new();
    for role in mlguard_vault::identity::ROLES {
        let user = format!("m-{role}");
        vault.add_user(&user, role).expect("user");
        let uri = vault.enroll_mfa(&user, TotpAlg::Sha1).expect("mfa");
        let token = vault.create_token(&user, None).expect("token").1.to_string();
        users.push((role.to_string(), token, otpauth_secret(&uri).expect("secret")));
    }
    let cert = Certificate::self_signed().expect("certificate");
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
    let now = now_secs();
    let mut checked = 0;
    for (role, token, secret) in &users {
        // Codes of the current step and the next (both inside the ±1 window), each used once.
        let mut codes = (0..2i64).map(|k| totp_code(secret, TotpAlg::Sha1, now + 30 * k));
        for (method, path, action, _) in ROUTES.iter().filter(|r| !r.2.is_empty()) {
            let allowed = policy.allows(role, action);
            let mfa = policy.needs_mfa(action);
            let path = path.replace("{name}", "churn").replace("{index}", "0");
            let body = match *action {
                "model.predict" => json!({"rows": [row.clone()]}),
                "model.train" => json!({"dataset": "users", "name": format!("m-{role}")}),
                "user.manage" => {
                    json!({"name": format!("new-{role}-{checked}"), "role": "auditor"})
                }
                _ => json!({}),
            };
            for with_code in [false, true] {
                if with_code && !(allowed && mfa) {
                    continue; // a code changes nothing elsewhere; do not spend one
                }
                let mut r = if *method == "get" {
                    client.get(format!("https://localhost:{}{path}", addr.port()))
                } else {
                    client.post(format!("https://localhost:{}{path}", addr.port())).json(&body)
                };
                r = r.header("authorization", format!("Bearer {token}"));
                if with_code {
                    r = r.header("x-mlguard-totp", codes.next().expect("a code"));
                }
                let status = r.send().await.expect("send").status().as_u16();
                let want: &[u16] = match (allowed, mfa, with_code) {
                    (false, _, _) => &[403],
                    (true, true, false) => &[401],
                    _ => &[200, 201],
                };
                assert!(
                    want.contains(&status),
                    "{role} {method} {path} (code: {with_code}): {status}, want {want:?}"
                );
                checked += 1;
            }
        }
    }
    let protected = ROUTES.iter().filter(|r| !r.2.is_empty()).count();
    assert!(checked > 5 * protected, "{checked} requests for {protected} routes");
    let ok = state.with_vault(|v| v.verify_audit().expect("verify").ok()).expect("vault");
    assert!(ok, "the log verifies after the matrix");
    server.stop().await.expect("serve");
}
