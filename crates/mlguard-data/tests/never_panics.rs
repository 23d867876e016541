//! Untrusted input never panics: arbitrary bytes as CSV, under schemas that exercise every
//! code path (keys, formats, patterns, enums, missing values).

use mlguard_data::{InferOptions, Schema, ValidateOptions, infer_reader, validate_reader};
use proptest::prelude::*;

fn schemas() -> Vec<Schema> {
    [
        r#"{"fields": [{"name": "a"}, {"name": "b"}]}"#,
        r#"{"fields": [
            {"name": "id", "type": "integer"},
            {"name": "e", "type": "string", "format": "email", "pii": "email", "constraints": {"unique": true, "maxLength": 5}},
            {"name": "n", "type": "number", "decimalChar": ",", "bareNumber": false, "constraints": {"minimum": 0, "enum": [1, 2]}},
            {"name": "d", "type": "date", "format": "%d/%m/%Y", "constraints": {"required": true}},
            {"name": "t", "type": "datetime", "constraints": {"maximum": "2020-01-01T00:00:00Z"}},
            {"name": "s", "type": "string", "constraints": {"pattern": "[a-z]+", "enum": ["ab", "cd"]}},
            {"name": "l", "type": "list", "itemType": "integer", "constraints": {"minLength": 2}}
        ],
        "primaryKey": "id", "uniqueKeys": [["s", "d"]], "missingValues": ["", "NA"], "fieldsMatch": "subset"}"#,
    ]
    .iter()
    .map(|s| Schema::from_json_str(s).expect("schema"))
    .collect()
}

fn csvish() -> impl Strategy<Value = Vec<u8>> {
    // Bytes biased towards CSV syntax so the tokenizer's states are all reached.
    let byte = prop_oneof![
        4 => prop::sample::select(b",\"\n\r\tab1-=@;.\xef\xbb\xbf\xff".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        prop::collection::vec(byte, 0..400),
        prop::collection::vec(any::<u8>(), 0..200),
        "(id,e,n,d,t,s,l\n)?([0-9A-Za-z,\"\n.@/:-]{0,30}\n){0,12}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(data in csvish(), threads in 1usize..4, max_errors in 0usize..5, field_limit in 1usize..64) {
        for schema in schemas() {
            let opts = ValidateOptions { threads, max_errors, max_field_bytes: field_limit, ..ValidateOptions::default() };
            let r = validate_reader(&data[..], "fuzz.csv", &schema, &opts).expect("in-memory input cannot fail to read");
            prop_assert!(r.findings.len() <= max_errors);
            let counted: u64 = r.counts.iter().map(|c| c.count).sum();
            prop_assert_eq!(counted, r.findings.len() as u64 + r.omitted);
        }
        let _ = infer_reader(&data[..], &InferOptions::default());
        let _ = infer_reader(&data[..], &InferOptions { sample_rows: Some(3), target: Some("a".into()), ..InferOptions::default() });
    }

    #[test]
    fn arbitrary_schema_json_never_panics(text in "\\{\"fields\": \\[(\\{\"name\": \"[a-c]\", \"type\": \"(string|number|integer|date|list|any|foo)\"(, \"format\": \"[%a-zA-Y]{0,6}\")?(, \"constraints\": \\{\"(minimum|maxLength|pattern|enum)\": (1|\"x\"|\\[\\]|\"\\[\")\\})?\\},? ?){0,3}\\]\\}") {
        let _ = Schema::from_json_str(&text);
    }

    #[test]
    fn protect_never_panics_and_keeps_every_row(data in csvish(), k in 1usize..4) {
        use mlguard_data::protect::{ProtectOptions, PseudonymKey, protect};
        let schema = Schema::from_json_str(r#"{"fields": [
            {"name": "id", "type": "string", "pii": "identifier"},
            {"name": "e", "type": "string", "pii": "email", "protect": "generalize"},
            {"name": "n", "type": "string", "pii": "quasi"},
            {"name": "d", "type": "string", "pii": "date_of_birth"},
            {"name": "t", "type": "string", "pii": "ip_address"},
            {"name": "s", "type": "string", "pii": "postal_code"},
            {"name": "l", "type": "string", "role": "target"},
            {"name": "a", "type": "string"}
        ], "missingValues": ["", "NA"]}"#).expect("schema");
        let key = PseudonymKey::from_bytes([9; 32]);
        let opts = ProtectOptions { k, ..ProtectOptions::default() };
        let mut out = Vec::new();
        if let Ok(r) = protect(&data[..], Some(&data[..]), &mut out, &schema, &key, &opts) {
            prop_assert_eq!(r.rows_out + r.suppressed.len() as u64, r.rows_in);
            prop_assert!(r.anonymity.as_ref().is_none_or(|a| a.achieved == 0 || a.achieved >= k));
        }
    }
}
