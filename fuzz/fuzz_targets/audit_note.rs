//! Audit checkpoints read back from the catalog (which someone may have edited) or saved by
//! a client: any text as a signed note, a verifier key or a checkpoint body never panics,
//! and only the note this key signed opens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_vault::audit::AuditKeys;
use mlguard_vault::merkle::leaf_hash;

fuzz_target!(|data: &[u8]| {
    let Ok(keys) = AuditKeys::from_seed(&[7; 32], "mlguard.local/audit/fuzz".into()) else { return };
    let text = String::from_utf8_lossy(data);
    let _ = mlguard_vault::note::parse(&text);
    let _ = mlguard_vault::note::Verifier::parse(&text);
    let _ = mlguard_vault::note::Checkpoint::parse(&text);
    if let Ok((size, root)) = keys.open_checkpoint(&text) {
        // Whatever opened carries exactly the body the key signs for that size and root.
        let body = |note: &str| note.split_once("\n\n").map(|(b, _)| b.to_owned());
        assert_eq!(body(&keys.checkpoint(size, &root)), body(&text));
    }
    let signed = keys.checkpoint(data.len() as u64, &leaf_hash(data));
    assert_eq!(keys.open_checkpoint(&signed), Ok((data.len() as u64, leaf_hash(data))));
});
