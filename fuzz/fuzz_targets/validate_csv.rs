//! CSV + schema path: the first input byte picks a schema and options, the rest is the
//! CSV file. Asserts the report's invariants, not only the absence of a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_data::{InferOptions, Schema, ValidateOptions, infer_reader, validate_reader};

const SCHEMAS: &[&str] = &[
    r#"{"fields": [{"name": "a"}, {"name": "b"}]}"#,
    r#"{"fields": [
        {"name": "id", "type": "integer"},
        {"name": "e", "type": "string", "format": "email", "pii": "email", "constraints": {"unique": true}},
        {"name": "n", "type": "number", "decimalChar": ",", "groupChar": ".", "constraints": {"minimum": 0}},
        {"name": "d", "type": "date", "format": "%d/%m/%Y", "constraints": {"required": true}},
        {"name": "s", "type": "string", "constraints": {"pattern": "[a-z]+", "enum": ["ab", "cd"]}},
        {"name": "l", "type": "list", "itemType": "integer", "constraints": {"maxLength": 3}},
        {"name": "o", "type": "object"},
        {"name": "g", "type": "geopoint"}
    ], "primaryKey": "id", "uniqueKeys": [["s", "d"]], "missingValues": ["", "NA"]}"#,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, csv)) = data.split_first() else { return };
    let schema = Schema::from_json_str(SCHEMAS[usize::from(sel) % SCHEMAS.len()]).expect("fixed schemas are valid");
    let opts = ValidateOptions {
        max_errors: usize::from(sel >> 4),
        threads: 1 + usize::from(sel >> 6),
        max_field_bytes: 1 + usize::from(sel),
        strict: sel & 1 == 1,
        ..ValidateOptions::default()
    };
    let report = validate_reader(csv, "fuzz.csv", &schema, &opts).expect("in-memory input cannot fail to read");
    assert!(report.findings.len() <= opts.max_errors);
    let counted: u64 = report.counts.iter().map(|c| c.count).sum();
    assert_eq!(counted, report.findings.len() as u64 + report.omitted);
    let _ = infer_reader(csv, &InferOptions::default());
});
