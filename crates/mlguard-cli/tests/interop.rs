//! Interop with the OpenSSF `model_signing` Python package, both ways. The script installs
//! what it needs into a virtualenv cached under Cargo's target directory.

use std::process::Command;

#[test]
fn model_signing_interop() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/model_signing.sh");
    let out = Command::new("bash")
        .arg(script)
        .env("MLGUARD", env!("CARGO_BIN_EXE_mlguard"))
        .env("VENV", concat!(env!("CARGO_TARGET_TMPDIR"), "/model-signing-venv"))
        .env_remove("MLGUARD_PASSPHRASE")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "interop failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("13 passed, 0 failed"), "{stdout}");
}
