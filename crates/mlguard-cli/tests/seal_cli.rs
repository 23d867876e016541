//! `mlguard init | seal | open | verify | inspect | keys` end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct Env {
    dir: tempfile::TempDir,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Env {
    fn new() -> Env {
        Env { dir: tempfile::tempdir().expect("tempdir") }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs mlguard in the temp dir with a clean environment for vault variables.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
        c.args(args).current_dir(self.dir.path()).env("NO_COLOR", "1").stdin(Stdio::null());
        for var in ["MLGUARD_VAULT", "MLGUARD_KEY_FILE", "MLGUARD_PASSPHRASE"] {
            c.env_remove(var);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("mlguard runs")
    }

    fn key_vault(&self, name: &str) -> Vec<(&'static str, String)> {
        let o = self.run(&["init", "--vault", name, "--key-file", &format!("{name}.key")], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        vec![("MLGUARD_VAULT", name.to_owned()), ("MLGUARD_KEY_FILE", format!("{name}.key"))]
    }

    fn run_in(&self, vault: &[(&'static str, String)], args: &[&str]) -> Output {
        let env: Vec<(&str, &str)> = vault.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.run(args, &env)
    }

    fn write(&self, p: &str, bytes: &[u8]) {
        std::fs::write(self.path(p), bytes).expect("write");
    }
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).expect("read");
    let i = at.min(b.len() - 1);
    b[i] ^= 0x01;
    std::fs::write(path, b).expect("write");
}

#[test]
fn seal_verify_open_round_trip_and_tamper() {
    let e = Env::new();
    let v = e.key_vault("v");
    let plain: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    e.write("model.bin", &plain);
    let o = e.run_in(&v, &["seal", "model.bin", "--kind", "model", "--meta", "name=churn"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("sealed model.bin -> model.bin.mlseal (3,000,000 bytes, model")
    );
    let o = e.run_in(&v, &["verify", "model.bin.mlseal"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("verified"));

    let o = e.run(&["inspect", "model.bin.mlseal", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["core"]["kind"], "model");
    assert_eq!(j["core"]["size"], 3_000_000);
    assert_eq!(j["core"]["meta"]["name"], "churn");
    assert_eq!(j["recipients"], serde_json::json!([1]));
    assert!(!text(&o.stdout).contains("wrapped"), "no key material in inspect");

    let o = e.run_in(&v, &["open", "model.bin.mlseal", "-o", "back.bin"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(e.path("back.bin")).expect("read"), plain);
    let o = e.run_in(&v, &["open", "model.bin.mlseal", "-o", "back.bin"]);
    assert_eq!(o.status.code(), Some(2), "no overwrite without --force");
    assert!(text(&o.stderr).contains("--force"));
    let o = e.run_in(&v, &["open", "model.bin.mlseal", "-o", "back.bin", "--force"]);
    assert_eq!(o.status.code(), Some(0));

    // One flipped bit in the last segment: verify and open fail, nothing is written.
    std::fs::copy(e.path("model.bin.mlseal"), e.path("bad.mlseal")).expect("copy");
    flip(&e.path("bad.mlseal"), 2_900_000);
    let o = e.run_in(&v, &["verify", "bad.mlseal"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("failed verification"), "{}", text(&o.stderr));
    let o = e.run_in(&v, &["open", "bad.mlseal", "-o", "leak.bin"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!e.path("leak.bin").exists(), "a failed open leaves nothing behind");
    let leftovers: Vec<_> = std::fs::read_dir(e.dir.path())
        .expect("ls")
        .flatten()
        .filter(|d| d.file_name().to_string_lossy().starts_with(".mlguard-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
    let o = e.run_in(&v, &["verify", "model.bin", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["valid"], false);
    assert!(j["error"].as_str().unwrap_or("").contains("not a sealed artifact"));
}

#[test]
fn passphrase_vaults() {
    let e = Env::new();
    let good = [("MLGUARD_PASSPHRASE", "correct horse battery staple")];
    let o = e.run(&["init", "--vault", "p"], &good);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("Argon2id"));
    e.write("x.txt", b"hello");
    let o = e.run(&["--vault", "p", "seal", "x.txt"], &good);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = e.run(
        &["--vault", "p", "verify", "x.txt.mlseal"],
        &[("MLGUARD_PASSPHRASE", "wrong horse battery staple")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("wrong passphrase"), "{}", text(&o.stderr));
    e.write("pass.txt", b"correct horse battery staple\n");
    let o =
        e.run(&["--vault", "p", "--passphrase-file", "pass.txt", "verify", "x.txt.mlseal"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = e.run(&["--vault", "p", "verify", "x.txt.mlseal"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("MLGUARD_PASSPHRASE"),
        "says how to give one: {}",
        text(&o.stderr)
    );
    let o = e.run(&["init", "--vault", "q"], &[("MLGUARD_PASSPHRASE", "short")]);
    assert_eq!(o.status.code(), Some(2));
    let o = e.run(&["--vault", "nowhere", "verify", "x.txt.mlseal"], &good);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("mlguard init"), "{}", text(&o.stderr));
}

#[cfg(unix)]
#[test]
fn key_file_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let e = Env::new();
    e.write("k", &[7u8; 32]);
    std::fs::set_permissions(e.path("k"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = e.run(&["init", "--vault", "v", "--key-file", "k"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("chmod 600"), "{}", text(&o.stderr));
    let e2 = Env::new();
    e2.key_vault("v");
    let mode = std::fs::metadata(e2.path("v.key")).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "a created key file is private");
}

#[test]
fn untrusted_signers_and_trust() {
    let e = Env::new();
    let a = e.key_vault("a");
    let b = e.key_vault("b");
    e.write("d.csv", b"x,y\n1,2\n");
    assert_eq!(e.run_in(&a, &["seal", "d.csv", "--kind", "dataset"]).status.code(), Some(0));
    // Vault b cannot open what a sealed (its data key is not wrapped for b), and does not
    // trust a's signature.
    let o = e.run_in(&b, &["verify", "d.csv.mlseal"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("does not trust"), "{}", text(&o.stderr));
    let o = e.run_in(&b, &["verify", "d.csv.mlseal", "--allow-untrusted-signer"]);
    assert_eq!(o.status.code(), Some(1), "trust aside, b holds no key for it");
    // Within one vault: a foreign signer's key becomes acceptable once trusted.
    let o = e.run_in(&b, &["keys", "export-public", "-o", "b.pem"]);
    assert_eq!(o.status.code(), Some(0));
    let o = e.run_in(&a, &["keys", "trust", "b.pem", "--name", "partner"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = e.run_in(&a, &["keys", "list"]);
    assert!(text(&o.stdout).contains("partner"));
}

#[test]
fn rotate_and_rewrap() {
    let e = Env::new();
    let v = e.key_vault("v");
    e.write("f1", b"first");
    e.write("f2", b"second");
    assert_eq!(e.run_in(&v, &["seal", "f1"]).status.code(), Some(0));
    assert_eq!(e.run_in(&v, &["seal", "f2"]).status.code(), Some(0));
    // A plain rotation: old artifacts still open.
    let o = e.run_in(&v, &["keys", "rotate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(e.run_in(&v, &["verify", "f1.mlseal"]).status.code(), Some(0));
    // Rewrap f1 only: v1 and v2 are retired, so f2 (wrapped only for v1) stops opening.
    let before = std::fs::read(e.path("f1.mlseal")).expect("read");
    let o = e.run_in(&v, &["keys", "rotate", "--rewrap", "f1.mlseal"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let after = std::fs::read(e.path("f1.mlseal")).expect("read");
    assert_eq!(before[before.len() - 21..], after[after.len() - 21..], "payload untouched");
    assert_eq!(e.run_in(&v, &["open", "f1.mlseal", "-o", "f1.out"]).status.code(), Some(0));
    assert_eq!(std::fs::read(e.path("f1.out")).expect("read"), b"first");
    let o = e.run_in(&v, &["verify", "f2.mlseal"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("retired"), "{}", text(&o.stderr));
    let o = e.run_in(&v, &["keys", "list"]);
    let list = text(&o.stdout);
    assert!(
        list.contains("v1")
            && list.contains("retired")
            && list.contains("v3")
            && list.contains("active"),
        "{list}"
    );
}

#[test]
fn secrets_never_reach_output() {
    let e = Env::new();
    let pass = "correct horse battery staple";
    let good = [("MLGUARD_PASSPHRASE", pass)];
    let mut outputs = vec![e.run(&["init", "--vault", "p"], &good)];
    e.write("x.txt", b"hello");
    outputs.push(e.run(&["--vault", "p", "seal", "x.txt"], &good));
    outputs.push(e.run(
        &["--vault", "p", "verify", "x.txt.mlseal"],
        &[("MLGUARD_PASSPHRASE", "a wrong passphrase!")],
    ));
    outputs.push(e.run(&["--vault", "p", "keys", "list"], &good));
    outputs.push(e.run(&["inspect", "x.txt.mlseal", "--json"], &[]));
    outputs.push(e.run(&["--vault", "p", "verify", "x.txt.mlseal", "--json"], &good));
    let keyring = std::fs::read_to_string(e.path("p/keyring.json")).expect("keyring");
    for o in &outputs {
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert!(
            !all.contains(pass) && !all.contains("a wrong passphrase!"),
            "passphrase leaked: {all}"
        );
        assert!(!all.contains("\"wrapped\""), "wrapped keys leaked: {all}");
    }
    assert!(!keyring.contains(pass), "the keyring never holds the passphrase");
    // A key file's bytes never appear either.
    let v = e.key_vault("k");
    let key = std::fs::read(e.path("k.key")).expect("key");
    let hexkey: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let o = e.run_in(&v, &["keys", "list"]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!all.contains(&hexkey));
}
