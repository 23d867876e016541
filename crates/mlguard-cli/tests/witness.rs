//! Witnesses (C2SP tlog-witness, run by `mlguard witness serve`): a vault configured with
//! one gets its checkpoints cosigned, `audit verify` requires the cosignature, and a log
//! cut back together with its checkpoints — which a client with no memory would accept —
//! fails, because the witness saw it longer.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn mlguard(dir: &Path, state: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"));
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MLGUARD_VAULT", "v")
        .env("MLGUARD_KEY_FILE", "k")
        .env("MLGUARD_STATE_DIR", dir.join(state))
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    // A fresh client state each time: only the witness remembers.
    let state =
        format!("state-{}", std::time::UNIX_EPOCH.elapsed().map(|d| d.as_nanos()).unwrap_or(0));
    mlguard(dir, &state).args(args).output().expect("mlguard runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Witness(Child);

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_witness_cosigns_and_catches_a_log_cut_back() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    assert_eq!(run(dir, &["init", "--key-file", "k"]).status.code(), Some(0));
    for u in ["a", "b"] {
        assert_eq!(run(dir, &["user", "add", u, "--role", "auditor"]).status.code(), Some(0));
    }
    let log_key = std::fs::read_to_string(dir.join("v/audit/checkpoint.vkey")).expect("vkey");

    let mut child = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(["witness", "serve", "--key", "w.key", "--name", "witness.test/w1"])
        .args(["--log", log_key.trim(), "--state", "w-state.json"])
        .args(["--listen", "127.0.0.1:0", "--insecure-http"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("witness");
    let stdout = child.stdout.take().expect("stdout");
    let witness = Witness(child);
    let mut vkey = String::new();
    let mut url = String::new();
    for l in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rest) = l.strip_prefix("witness witness.test/w1 vkey ") {
            vkey = rest.to_owned();
        }
        if let Some(rest) = l.strip_prefix("serving ") {
            url = rest.split(' ').next().unwrap_or("").to_owned();
            break;
        }
    }
    assert!(vkey.starts_with("witness.test/w1+") && url.starts_with("http://"), "{vkey} {url}");
    let config = dir.join("v/config.toml");
    let mut c = std::fs::read_to_string(&config).expect("config");
    c.push_str(&format!("\n[[witnesses]]\nvkey = \"{vkey}\"\nurl = \"{url}\"\n"));
    std::fs::write(&config, c).expect("write");

    // Checkpoints are cosigned, and verify requires it.
    let o = run(dir, &["audit", "checkpoint"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("\u{2014} witness.test/w1 "), "{}", text(&o.stdout));
    for u in ["c", "d", "e"] {
        assert_eq!(run(dir, &["user", "add", u, "--role", "auditor"]).status.code(), Some(0));
    }
    let o = run(dir, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("w-state.json")).expect("state"))
            .expect("json");
    let size = seen.as_object().and_then(|o| o.values().next()).and_then(|v| v["size"].as_u64());
    assert!(size.is_some_and(|n| n > 4), "the witness saw the log grow: {seen}");

    // The tail cut back with its checkpoints: a client with no memory of its own ...
    let cut = "import sqlite3\nc = sqlite3.connect('v/catalog.db')\nc.execute('DELETE FROM audit_entries WHERE idx >= 4')\nc.execute('DELETE FROM audit_checkpoints WHERE size > 4')\nc.commit()";
    let status = Command::new("python3").args(["-c", cut]).current_dir(dir).status();
    assert!(status.is_ok_and(|s| s.success()));
    // ... is told by the witness.
    let o = run(dir, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let said = text(&o.stdout);
    assert!(said.contains("witness witness.test/w1") && said.contains("rolled back"), "{said}");

    // Without a reachable witness the cosignature is missing: verify fails closed.
    drop(witness);
    let o = run(dir, &["user", "add", "f", "--role", "auditor"]);
    assert_eq!(o.status.code(), Some(0), "the log stays writable: {}", text(&o.stderr));
}
