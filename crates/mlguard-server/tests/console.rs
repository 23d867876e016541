//! The web console in a real browser: Debian's Chromium, headless, over WebDriver, against
//! the server over TLS. Every role signs in and visits every page (what it sees and is
//! refused comes from the policy), forms are submitted, a forged post is refused, a
//! dataset named `<script>alert(1)</script>` is shown as text, an expired session and a
//! revoked token are sent back to sign in, and everything lands in the audit log. A
//! screenshot of each page goes to `target/tmp/console-screenshots/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mlguard_data::{InferOptions, PiiKind, Protect, infer_reader, synth};
use mlguard_seal::{Keystore, Secret};
use mlguard_server::ui::SECTIONS;
use mlguard_server::{AppState, Certificate, start};
use mlguard_testkit::browser::Browser;
use mlguard_vault::identity::{
    Action, Policy, ROLES, TotpAlg, now_secs, otpauth_secret, totp_code,
};
use mlguard_vault::{Ctx, IngestOptions, SeedPolicy, TrainRequest, Vault};
use serde_json::Value;

const HOSTILE: &str = "<script>alert(1)</script>";

struct Setup {
    vault: Vault,
    /// (user, role, token) for every role.
    people: Vec<(String, String, String)>,
    /// The admin's TOTP secret.
    admin_totp: Vec<u8>,
}

fn setup(dir: &Path) -> Setup {
    let key = dir.join("key");
    let secret = Secret::create_key_file(&key).expect("key");
    drop(Keystore::init(&dir.join("v"), &secret).expect("init"));
    let vault =
        Vault::open(&dir.join("v"), &Secret::from_key_file(&key).expect("key")).expect("open");
    let local = Ctx::local();
    vault.set_policy(&local, &test_policy()).expect("policy");
    let mut csv = Vec::new();
    synth::write_user_data(&mut csv, 1500, 9).expect("data");
    let mut schema = infer_reader(&csv[..], &InferOptions::default()).expect("infer").schema;
    for f in &mut schema.fields {
        f.protect = f.pii.map(|p| match p {
            PiiKind::DateOfBirth | PiiKind::PostalCode => Protect::Generalize,
            _ => Protect::Pseudonymize,
        });
    }
    let data = dir.join("users.csv");
    std::fs::write(&data, &csv).expect("write");
    // k-anonymity too, for the protection report's every part.
    let opts = IngestOptions {
        protect: mlguard_data::protect::ProtectOptions { k: 5, ..Default::default() },
        ..IngestOptions::default()
    };
    for name in ["users", HOSTILE] {
        vault.ingest(&local, &data, &schema, name, &opts).expect("ingest");
    }
    vault
        .train(
            &local,
            &TrainRequest {
                dataset: "users".into(),
                version: None,
                target: None,
                test_size: 0.2,
                fit: mlguard_learn::FitOptions::default(),
                seed: SeedPolicy::Secure,
                name: Some("churn".into()),
                accept_flagged: false,
            },
        )
        .expect("train");
    let mut people = Vec::new();
    let mut admin_totp = Vec::new();
    for role in ROLES {
        let user = format!("u-{role}");
        vault.add_user(&local, &user, role).expect("user");
        if *role == "admin" {
            let uri = vault.enroll_mfa(&local, &user, TotpAlg::Sha1).expect("mfa");
            admin_totp = otpauth_secret(&uri).expect("secret");
        }
        let (_, token) = vault.create_token(&local, &user, None).expect("token");
        people.push((user, (*role).to_owned(), token.to_string()));
    }
    Setup { vault, people, admin_totp }
}

/// The default policy, with second factors asked for user management, raw data and model
/// export only (each code is good once per 30 s: the test uses one).
fn test_policy() -> Policy {
    Policy {
        mfa: vec!["user.*".into(), "dataset.read-raw".into(), "model.export".into()],
        ..Policy::default()
    }
}

/// A vault served over TLS on loopback.
struct Served {
    state: Arc<AppState>,
    server: mlguard_server::Running,
    /// `https://localhost:PORT`.
    base: String,
    /// A client that trusts only the server's certificate and follows no redirect.
    client: reqwest::Client,
}

async fn serve(vault: Vault) -> Served {
    let cert = Certificate::self_signed().expect("certificate");
    let state = AppState::new(vault).expect("state");
    let server = start(
        Arc::clone(&state),
        "127.0.0.1:0".parse().expect("addr"),
        Some(cert.server_config().expect("tls")),
    )
    .await
    .expect("started");
    let base = format!("https://localhost:{}", server.addr.port());
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(cert.client_config().expect("client tls"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Served { state, server, base, client }
}

fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

fn sign_in(b: &Browser, base: &str, token: &str) {
    b.goto(&format!("{base}/ui/sign-in"));
    b.fill("input[name=token]", token);
    b.click("form.sign-in button");
}

fn sign_out(b: &Browser) {
    b.click("form.who button");
    assert!(b.url().ends_with("/ui/sign-in?why=signed-out"), "{}", b.url());
}

/// No script and no inline style anywhere in a page the console wrote.
fn clean(b: &Browser) {
    let source = b.source();
    assert!(b.find_all("script").is_empty(), "a script element on {}", b.url());
    assert!(!source.contains(" style="), "an inline style on {}", b.url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_every_page_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Setup { vault, people, admin_totp } = setup(dir.path());
    let policy = test_policy();
    let Served { state, server, base, client } = serve(vault).await;
    let shots = shots();
    let people2 = people.clone();
    let base2 = base.clone();
    let st = Arc::clone(&state);
    // WebDriver calls block: the browser runs on a thread of its own while the server
    // answers on the runtime's.
    let browser_session = tokio::task::spawn_blocking(move || {
        let (people, base, state) = (people2, base2, st);
        let b = Browser::start();
        let mut admin_session = None;
        // The role × page matrix, from the policy the server enforces.
        let policy = test_policy();
        for (user, role, token) in &people {
            sign_in(&b, &base, token);
            if !policy.allows(role, Action::ConsoleSignIn) {
                assert!(b.url().contains("/ui/sign-in"), "{role} got in: {}", b.url());
                assert!(b.page_text().contains("Refused"), "{role}: {}", b.page_text());
                b.screenshot(&shots.join(format!("{role}-refused-sign-in.png")));
                continue;
            }
            let text = b.page_text();
            assert!(text.contains(user) && text.contains(role), "{role} signed in: {text}");
            let nav: Vec<String> = b.find_all("header nav a").iter().map(|a| b.text(a)).collect();
            let may = |any: &[Action]| any.iter().any(|a| policy.allows(role, *a));
            let allowed: Vec<&str> =
                SECTIONS.iter().filter(|(_, _, any)| may(any)).map(|(_, name, _)| *name).collect();
            assert_eq!(nav, allowed, "{role}'s sections");
            for (href, name, any) in SECTIONS {
                b.goto(&format!("{base}{href}"));
                clean(&b);
                let page = b.page_text();
                let slug = name.to_lowercase().replace(' ', "-");
                b.screenshot(&shots.join(format!("{role}-{slug}.png")));
                if may(any) {
                    assert!(!page.contains("Refused"), "{role} refused {href}: {page}");
                    assert_eq!(b.title(), format!("{name} · mlguard"));
                } else {
                    assert!(page.contains("Refused"), "{role} was shown {href}: {page}");
                }
            }
            match role.as_str() {
                "data-steward" => steward(&b, &base, &shots),
                "data-scientist" => scientist(&b, &base, &shots),
                "auditor" => auditor(&b, &base, &shots, &state),
                "admin" => {
                    admin(&b, &base, &shots, &admin_totp);
                    admin_session = b.cookie("__Host-mlguard-session");
                    // A forged post (no anti-forgery token) from another site: the browser
                    // does not send the session cookie across sites (SameSite=Strict).
                    let forged = format!(
                        "data:text/html,<form method=post action={base}/ui/admin/tokens/create><input name=user value=u-admin><button>go</button></form>"
                    );
                    b.goto(&forged);
                    b.click("button");
                    assert!(b.url().contains("/ui/sign-in"), "a cross-site post was served: {}", b.url());
                    b.goto(&format!("{base}/ui/datasets"));
                    assert!(b.url().ends_with("/ui/datasets"), "the session survived: {}", b.url());
                }
                _ => {}
            }
            sign_out(&b);
            b.goto(&format!("{base}/ui/datasets"));
            assert!(b.url().contains("/ui/sign-in"), "signed out, still in: {}", b.url());
        }
        // An expired session is sent back to sign in.
        let (_, _, token) = people.iter().find(|p| p.1 == "auditor").expect("auditor");
        sign_in(&b, &base, token);
        state.set_session_idle(Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(20));
        b.goto(&format!("{base}/ui/audit"));
        assert!(b.url().ends_with("/ui/sign-in?why=expired"), "{}", b.url());
        assert!(b.page_text().contains("Your session ended"));
        b.screenshot(&shots.join("expired.png"));
        state.set_session_idle(mlguard_server::ui::SESSION_IDLE);
        // A revoked token ends its session at the next page.
        let (user, _, token) = people.iter().find(|p| p.1 == "data-scientist").expect("scientist");
        sign_in(&b, &base, token);
        let id = token.split('_').nth(1).expect("token id");
        state.vault().revoke_token(&Ctx::local(), id).expect("revoke");
        b.goto(&format!("{base}/ui/models"));
        assert!(b.url().ends_with("/ui/sign-in?why=token-refused"), "{user}: {} {}", b.url(), b.page_text());
        admin_session.expect("the admin's session cookie")
    })
    .await
    .expect("browser thread");

    // The admin's session cookie without the form's anti-forgery token: refused, recorded.
    // (The session ended at sign-out: sign in again over plain HTTP requests.)
    let r = client.get(format!("{base}/ui/sign-in")).send().await.expect("sign-in page");
    for (name, want) in [
        ("content-security-policy", "default-src 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        let got = r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(got.contains(want), "{name}: {got:?}");
    }
    let missing = client.get(format!("{base}/ui/no-such-page")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().contains_key("content-security-policy"));
    let pre = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-mlguard-sign-in="))
        .expect("sign-in cookie")
        .to_owned();
    assert!(pre.contains("HttpOnly") && pre.contains("Secure") && pre.contains("SameSite=Strict"));
    let pre_value = pre.split(';').next().expect("value").to_owned();
    let csrf = pre_value.split_once('=').expect("=").1.to_owned();
    let (_, _, admin_token) = people.iter().find(|p| p.1 == "admin").expect("admin");
    // Without the form's token bound to its cookie: refused.
    let r = client
        .post(format!("{base}/ui/sign-in"))
        .form(&[("token", admin_token.as_str()), ("csrf", "forged")])
        .header("cookie", &pre_value)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let r = client
        .post(format!("{base}/ui/sign-in"))
        .form(&[("token", admin_token.as_str()), ("csrf", csrf.as_str())])
        .header("cookie", &pre_value)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-mlguard-session="))
        .expect("session cookie")
        .to_owned();
    assert!(
        session.contains("HttpOnly")
            && session.contains("Secure")
            && session.contains("SameSite=Strict")
    );
    let session = session.split(';').next().expect("value").to_owned();
    assert_ne!(session, format!("__Host-mlguard-session={browser_session}"), "a new session id");
    // Signing in again from a browser that has a session ends that session: an id is never
    // carried over a sign-in.
    let r = client.get(format!("{base}/ui/sign-in")).send().await.expect("sign-in page");
    let pre = set_cookie(&r, "__Host-mlguard-sign-in").expect("sign-in cookie");
    let again = client
        .post(format!("{base}/ui/sign-in"))
        .form(&[("token", admin_token.as_str()), ("csrf", pre.split_once('=').expect("=").1)])
        .header("cookie", format!("{pre}; {session}"))
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), 303);
    let renewed = set_cookie(&again, "__Host-mlguard-session").expect("session cookie");
    assert_ne!(renewed, session);
    let old = client
        .get(format!("{base}/ui/admin"))
        .header("cookie", &session)
        .send()
        .await
        .expect("old session");
    assert_eq!(old.headers()["location"], "/ui/sign-in?why=expired", "the old id is gone");
    let session = renewed;
    let r = client
        .post(format!("{base}/ui/admin/tokens/create"))
        .form(&[("user", "u-admin")])
        .header("cookie", &session)
        .send()
        .await
        .expect("forged post");
    assert_eq!(r.status(), 403, "a post without the anti-forgery token");
    assert!(r.text().await.expect("body").contains("anti-forgery"));

    // Everything above is in the audit log, which verifies.
    let v = state.vault();
    let entries: Vec<Value> = v
        .audit_entries(&Ctx::local(), 0)
        .expect("entries")
        .iter()
        .map(|e| serde_json::from_str(e).expect("json"))
        .collect();
    let has = |actor: &str, action: &str, outcome: &str, op: Option<&str>| {
        entries.iter().any(|e| {
            e["actor"] == actor
                && e["action"] == action
                && e["outcome"] == outcome
                && op.is_none_or(|op| e["detail"]["op"] == op)
        })
    };
    for (user, role, _) in &people {
        let signed = policy.allows(role, Action::ConsoleSignIn);
        assert!(
            has(user, "console.sign-in", if signed { "allowed" } else { "denied" }, None),
            "{user}"
        );
        if !signed {
            continue;
        }
        for (href, _, any) in SECTIONS {
            // Each page is an allowance of one of its actions, or the refusal of the first.
            let seen = if any.iter().any(|a| policy.allows(role, *a)) {
                any.iter().any(|a| has(user, a.as_str(), "allowed", None))
            } else {
                has(user, any[0].as_str(), "denied", None)
            };
            assert!(seen, "{user} {href}");
        }
    }
    assert!(has("u-auditor", "console.sign-in", "allowed", Some("expired")));
    // The revoked token's session end, recorded as the refusal it is, with why.
    assert!(has("anonymous", "console.sign-in", "denied", Some("token-refused")));
    assert!(has("u-admin", "console.sign-in", "allowed", Some("sign-out")));
    assert!(has("u-admin", "token.manage", "denied", None), "the forged post");
    assert!(has("u-admin", "console.sign-in", "denied", None), "the forged sign-in");
    assert!(v.verify_audit(&Ctx::local()).expect("verify").ok());
    server.stop().await.expect("stop");
}

fn steward(b: &Browser, base: &str, shots: &Path) {
    b.goto(&format!("{base}/ui/datasets"));
    // The hostile name is text, never markup.
    let link = b
        .find_all("table a")
        .into_iter()
        .find(|a| b.text(a) == HOSTILE)
        .expect("the hostile dataset is listed as text");
    let _ = link;
    assert!(b.source().contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let encoded = HOSTILE.bytes().map(|c| format!("%{c:02X}")).collect::<String>();
    b.goto(&format!("{base}/ui/datasets/{encoded}@1"));
    clean(b);
    let page = b.page_text();
    assert!(page.contains(&format!("{HOSTILE}@1")), "{page}");
    b.screenshot(&shots.join("data-steward-hostile-dataset.png"));
    b.goto(&format!("{base}/ui/datasets/users@1"));
    clean(b);
    let page = b.page_text();
    for what in [
        "Schema",
        "Protection",
        "Poisoning checks",
        "pseudonym",
        "Rows in / out",
        "k-anonymity",
        "k achieved",
        "l-diversity",
        "Generalisation",
        "the schema's protect",
    ] {
        assert!(page.contains(what), "{what} missing: {page}");
    }
    b.screenshot(&shots.join("data-steward-dataset.png"));
}

fn scientist(b: &Browser, base: &str, shots: &Path) {
    b.goto(&format!("{base}/ui/models"));
    b.click("table a");
    clean(b);
    let page = b.page_text();
    assert!(page.contains("users@1") && page.contains("churn@1"), "{page}");
    assert!(page.contains("secure"), "the seed policy: {page}");
    assert!(!page.contains("split_seed"), "never the seed: {page}");
    assert_eq!(b.find_all("svg.chart polyline").len(), 2, "the ROC curve and the calibration plot");
    b.screenshot(&shots.join("data-scientist-model.png"));
    // Export needs a code: refused without one.
    b.click("form.inline button");
    assert!(b.page_text().contains("Refused"), "{}", b.page_text());
}

fn auditor(b: &Browser, base: &str, shots: &Path, state: &AppState) {
    b.goto(&format!("{base}/ui/audit?outcome=denied"));
    clean(b);
    let rows = b.find_all("table.timeline tbody tr");
    assert!(!rows.is_empty(), "denied entries (the consumer's sign-in)");
    assert_eq!(b.find_all("table.timeline tbody tr.outcome-denied").len(), rows.len());
    assert!(!b.find_all("svg.chart rect.refused").is_empty(), "denied in the hourly chart");
    b.screenshot(&shots.join("auditor-audit-denied.png"));
    b.click("table.timeline tbody tr a");
    assert!(b.page_text().contains("verified"), "{}", b.page_text());
    b.screenshot(&shots.join("auditor-inclusion-proof.png"));
    b.goto(&format!("{base}/ui/audit"));
    b.click("form.inline button");
    let page = b.page_text();
    assert!(page.contains("verified") && page.contains("signed checkpoints"), "{page}");
    b.screenshot(&shots.join("auditor-verify.png"));
    // Someone with write access to the catalog edits an entry: the console names it.
    let catalog = state.vault().catalog();
    let edited = 3;
    let original = catalog
        .rewrite_audit_entry(edited, &mut |t| t.replace("\"allowed\"", "\"denied\""))
        .expect("edit");
    b.goto(&format!("{base}/ui/audit"));
    b.click("form.inline button");
    let page = b.page_text();
    assert!(
        page.contains("tampered") && page.contains(&format!("First bad entry: {edited}")),
        "{page}"
    );
    b.screenshot(&shots.join("auditor-verify-tampered.png"));
    catalog.rewrite_audit_entry(edited, &mut |_| original.clone()).expect("restore");
}

fn admin(b: &Browser, base: &str, shots: &Path, totp: &[u8]) {
    b.goto(&format!("{base}/ui/admin"));
    b.click("form[action='/ui/admin/tokens'] button");
    let page = b.page_text();
    assert!(page.contains("u-auditor") && page.contains("active"), "{page}");
    b.screenshot(&shots.join("admin-tokens.png"));
    b.goto(&format!("{base}/ui/admin"));
    b.fill("form[action='/ui/admin/tokens/create'] input[name=user]", "u-auditor");
    b.click("form[action='/ui/admin/tokens/create'] button");
    let secret = b.text(&b.find("pre.secret"));
    assert!(secret.starts_with("mlg_"), "{secret}");
    let id = secret.split('_').nth(1).expect("id").to_owned();
    b.goto(&format!("{base}/ui/admin"));
    b.fill("form[action='/ui/admin/tokens/revoke'] input[name=id]", &id);
    b.click("form[action='/ui/admin/tokens/revoke'] button");
    assert!(b.page_text().contains("is revoked"), "{}", b.page_text());
    b.goto(&format!("{base}/ui/admin"));
    b.click("form[action='/ui/admin/policy'] button");
    assert_eq!(b.find_all("table.matrix tbody tr").len(), Action::ALL.len(), "{}", b.page_text());
    b.screenshot(&shots.join("admin-policy.png"));
    // The policy replaced from its page: a broken one refused, the one shown accepted.
    b.fill("form.policy textarea", "{");
    b.click("form.policy button");
    let page = b.page_text();
    assert!(page.contains("Refused") && page.contains("not a policy"), "{page}");
    b.goto(&format!("{base}/ui/admin"));
    b.click("form[action='/ui/admin/policy'] button");
    assert!(b.text(&b.find("form.policy textarea")).contains("console.sign-in"));
    b.click("form.policy button");
    assert!(b.page_text().contains("The policy is replaced"), "{}", b.page_text());
    // Adding a user needs a code too (user.* asks for one): refused without.
    b.goto(&format!("{base}/ui/admin"));
    b.fill("form[action='/ui/admin/users/add'] input[name=user]", "u-new");
    b.click("form[action='/ui/admin/users/add'] button");
    let page = b.page_text();
    assert!(page.contains("Refused") && page.contains("TOTP"), "{page}");
    // Enrolment needs a code (user.* asks for one): refused without, then with one.
    b.goto(&format!("{base}/ui/admin"));
    b.fill("form[action='/ui/admin/mfa'] input[name=user]", "u-auditor");
    b.click("form[action='/ui/admin/mfa'] button");
    assert!(b.page_text().contains("Refused"), "{}", b.page_text());
    b.goto(&format!("{base}/ui/admin"));
    b.fill("form[action='/ui/admin/mfa'] input[name=user]", "u-auditor");
    let code = totp_code(totp, TotpAlg::Sha1, now_secs());
    b.fill("form[action='/ui/admin/mfa'] input[name=totp]", &code);
    b.click("form[action='/ui/admin/mfa'] button");
    assert!(!b.find_all("figure.qr svg path").is_empty(), "{}", b.page_text());
    assert!(b.text(&b.find("pre.secret")).starts_with("otpauth://totp/"));
    b.screenshot(&shots.join("admin-mfa-enrolment.png"));
}

/// Signing in needs a TOTP code where the policy lists `console.sign-in` under `mfa`; a
/// visitor without a session is sent to sign in; a version stored with personal data kept
/// is downloaded only with a fresh code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_where_the_policy_asks_and_no_page_without_a_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Setup { vault, people, .. } = setup(dir.path());
    let local = Ctx::local();
    let mut policy = test_policy();
    policy.mfa.push("console.sign-in".into());
    vault.set_policy(&local, &policy).expect("policy");
    let secret =
        otpauth_secret(&vault.enroll_mfa(&local, "u-data-steward", TotpAlg::Sha1).expect("mfa"))
            .expect("secret");
    let mut schema = mlguard_data::Schema::from_json_str(
        &vault.dataset(&local, "users@1").expect("users").schema,
    )
    .expect("schema");
    for f in &mut schema.fields {
        f.protect = None;
    }
    let raw = IngestOptions {
        protect: mlguard_data::protect::ProtectOptions { keep_pii: true, ..Default::default() },
        ..IngestOptions::default()
    };
    vault.ingest(&local, &dir.path().join("users.csv"), &schema, "raw", &raw).expect("raw");
    let Served { state, server, base, client } = serve(vault).await;
    let r = client.get(format!("{base}/ui/datasets")).send().await.expect("get");
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/sign-in?why=none");
    let (_, _, token) = people.iter().find(|p| p.1 == "data-steward").expect("steward");
    let sign_in = |code: Option<String>| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let r = client.get(format!("{base}/ui/sign-in")).send().await.expect("form");
            let pre = set_cookie(&r, "__Host-mlguard-sign-in").expect("cookie");
            let csrf = pre.split_once('=').expect("=").1.to_owned();
            let mut form = vec![("token", token), ("csrf", csrf)];
            if let Some(c) = code {
                form.push(("totp", c));
            }
            let r = client
                .post(format!("{base}/ui/sign-in"))
                .header("cookie", pre)
                .form(&form)
                .send()
                .await
                .expect("post");
            let session = set_cookie(&r, "__Host-mlguard-session");
            (r.status().as_u16(), r.text().await.expect("body"), session)
        }
    };
    let (status, page, session) = sign_in(None).await;
    assert_eq!((status, session), (401, None));
    assert!(page.contains("needs a TOTP code"), "{page}");
    let code = || totp_code(&secret, TotpAlg::Sha1, now_secs());
    let (status, _, session) = sign_in(Some(code())).await;
    assert_eq!(status, 303);
    let session = session.expect("a session");
    // The landing page needs no second code: the session passed the first.
    let home =
        client.get(format!("{base}/ui/")).header("cookie", &session).send().await.expect("home");
    assert_eq!(home.status(), 303);
    assert_eq!(home.headers()["location"], "/ui/datasets");
    // The session's page carries its anti-forgery token for the download form.
    let page = client
        .get(format!("{base}/ui/datasets/raw@1"))
        .header("cookie", &session)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("personal data kept"), "{page}");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf")
        .to_owned();
    let download = |code: Option<String>| {
        let mut form = vec![("csrf", csrf.clone())];
        if let Some(c) = code {
            form.push(("totp", c));
        }
        client
            .post(format!("{base}/ui/datasets/raw@1/download"))
            .header("cookie", &session)
            .form(&form)
            .send()
    };
    let r = download(None).await.expect("download");
    assert_eq!(r.status(), 401, "raw data without a code");
    // The sign-in used this step's code: wait for the next one.
    let step = now_secs() / 30;
    while now_secs() / 30 == step {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = download(Some(code())).await.expect("download");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"].to_str().expect("ascii").contains("raw-1.csv"));
    let csv = r.text().await.expect("csv");
    let stored = state.vault().dataset(&Ctx::local(), "raw@1").expect("record");
    assert_eq!(csv.len() as u64, stored.size, "the whole table");
    assert_eq!(csv.lines().count() as u64, stored.rows + 1, "the header and every row");
    server.stop().await.expect("stop");
}

/// A cookie the response sets, as `name=value`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}
