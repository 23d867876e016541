//! A witness's `add-checkpoint` requests come from anyone: any body never panics, and is
//! cosigned only if it carries a checkpoint the trusted log signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_vault::audit::AuditKeys;
use mlguard_vault::witness::{Cosigner, Witness};

fuzz_target!(|data: &[u8]| {
    let Ok(log) = AuditKeys::from_seed(&[7; 32], "mlguard.local/audit/fuzz".into()) else { return };
    let Ok(dir) = tempfile::tempdir() else { return };
    let Ok(cosigner) = Cosigner::from_seed("witness.fuzz/w", &[8; 32]) else { return };
    let Ok(w) = Witness::open(cosigner, &[log.verifier_key()], &dir.path().join("s.json")) else {
        return;
    };
    let body = String::from_utf8_lossy(data);
    if let Ok(a) = w.add_checkpoint(&body, 1) {
        if a.status == 200 {
            let note = body.split_once("\n\n").map(|(_, n)| n).unwrap_or("");
            assert!(log.open_checkpoint(note).is_ok(), "cosigned a note the log did not sign");
        }
    }
});
