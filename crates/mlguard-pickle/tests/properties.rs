//! Properties on arbitrary and mutated input (the fuzz targets' properties, run as part of
//! the suite): the scanner never panics, and a stream it could not read completely is never
//! reported clean.

use mlguard_findings::Severity;
use mlguard_pickle::{Format, IssueKind, ScanOptions, analyze, detect, scan_bytes};
use proptest::prelude::*;

/// A pickle that `detect` takes for one, was not read completely, and does not end for a
/// reason that stops the loader, has a finding at medium or above.
fn never_clean_when_unread(data: &[u8]) {
    let a = analyze(data, &[]);
    let findings = scan_bytes("p.pkl", data, &ScanOptions::default());
    let benign_end = a.issues.iter().any(|i| {
        matches!(
            i.kind,
            IssueKind::NotLoadable | IssueKind::JunkAfterStop(_) | IssueKind::NeedsEncoding
        )
    });
    let legacy = mlguard_pickle::legacy_torch_layout(data) && a.pickles >= 5;
    if detect(data) == Format::Pickle && !a.complete && !benign_end && !legacy {
        assert!(
            findings.iter().any(|f| f.severity >= Severity::Medium),
            "unreadable pickle reported clean: {data:?} {findings:?}"
        );
    }
}

/// A zip of two members (an `.npz`-like archive).
fn archive() -> Vec<u8> {
    mlguard_testkit::stored_zip(&[
        ("a.npy", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N."),
        ("b.txt", b"hello"),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_pickles(body in proptest::collection::vec(any::<u8>(), 0..200), proto in 0u8..6) {
        let mut data = if proto >= 2 { vec![0x80, proto] } else { Vec::new() };
        data.extend(body);
        never_clean_when_unread(&data);
    }

    #[test]
    fn mutated_archives(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut data = archive();
        for (i, b) in flips {
            let at = i.index(data.len());
            data[at] = b;
        }
        let _ = scan_bytes("m.npz", &data, &ScanOptions::default());
    }
}
