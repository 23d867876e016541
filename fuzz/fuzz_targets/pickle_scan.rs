//! The pickle parser and scanner on arbitrary bytes: never panics, and a stream it could
//! not fully read is never reported clean.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_findings::Severity;
use mlguard_pickle::{Format, ScanOptions, analyze, detect, scan_bytes};

fuzz_target!(|data: &[u8]| {
    let a = analyze(data, &[]);
    let findings = scan_bytes("fuzz.pkl", data, &ScanOptions::default());
    // The loader stops at a name it cannot decode, and never reads bytes after the STOP of
    // a whole pickle: both are low-severity notes, not unread code.
    let stops_loader = a.issues.iter().any(|i| {
        matches!(i.kind, mlguard_pickle::IssueKind::NotLoadable | mlguard_pickle::IssueKind::JunkAfterStop(_))
    });
    // A legacy torch.save file ends in raw storages the loader reads as data: its five
    // pickles are analysed, the rest is not opcodes.
    let legacy = mlguard_pickle::legacy_torch_layout(data) && a.pickles >= 5;
    if detect(data) == Format::Pickle && !a.complete && !stops_loader && !legacy {
        assert!(findings.iter().any(|f| f.severity >= Severity::Medium), "an unreadable pickle was reported clean");
    }
});
