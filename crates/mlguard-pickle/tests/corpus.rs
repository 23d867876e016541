//! The public model-scan corpus (`../shared/corpus/model-scan-public/`): what this version
//! classifies as labelled. Skipped when the corpus is not beside the checkout.

use std::path::Path;

use mlguard_findings::Severity;
use mlguard_pickle::{Format, ScanOptions, detect, scan_bytes};

#[test]
fn corpus_pickles_are_classified_as_labelled() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/model-scan-public");
    let Ok(labels) = std::fs::read_to_string(root.join("labels.csv")) else {
        eprintln!("corpus not found at {}: skipped", root.display());
        return;
    };
    let (mut checked, mut wrong, mut uninspected) = (0, Vec::new(), Vec::new());
    for line in labels.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (file, label) = (cols[0], cols[1]);
        let Ok(data) = std::fs::read(root.join(file)) else { continue };
        checked += 1;
        let findings = scan_bytes(file, &data, &ScanOptions::default());
        let flagged = findings.iter().any(|f| f.severity >= Severity::Medium);
        if flagged != (label == "malicious") {
            wrong.push(format!("{file} ({label})"));
        }
        // 7-Zip archives are not opened: flagged as not inspected, never passed as clean.
        if matches!(detect(&data), Format::SevenZip) {
            assert!(
                findings
                    .iter()
                    .any(|f| f.check == "model.format.not-inspected"
                        && f.severity == Severity::Medium),
                "{file}: {findings:?}"
            );
            uninspected.push(file.to_owned());
        }
    }
    eprintln!("corpus: {checked} files checked, not opened (flagged for that): {uninspected:?}");
    assert!(checked >= 60, "{checked}");
    assert!(wrong.is_empty(), "misclassified: {wrong:?}");
}
