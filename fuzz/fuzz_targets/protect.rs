//! `data protect` on arbitrary bytes, with every kind of action and k-anonymity: never
//! panics; the output is a CSV table with one column per kept field; rows written plus
//! rows suppressed are the rows read; every combination of quasi-identifiers in the output
//! occurs at least k times.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use mlguard_data::Schema;
use mlguard_data::protect::{ProtectOptions, PseudonymKey, protect};

/// Field specs given to the columns in turn.
const SPECS: &[&str] = &[
    r#""type":"string","pii":"email""#,
    r#""type":"string","pii":"ssn""#,
    r#""type":"string","pii":"ip_address""#,
    r#""type":"string","pii":"date_of_birth""#,
    r#""type":"string","pii":"postal_code""#,
    r#""type":"string","pii":"quasi""#,
    r#""type":"string""#,
    r#""type":"string","pii":"email","protect":"generalize""#,
    r#""type":"string","pii":"identifier""#,
    r#""type":"string","pii":"name","protect":"drop""#,
    r#""type":"string","role":"target""#,
];

fuzz_target!(|data: &[u8]| {
    let Ok(table) = mlguard_data::TableReader::new(data, b',') else { return };
    let fields: Vec<String> = table
        .header()
        .iter()
        .enumerate()
        .map(|(i, h)| format!(r#"{{"name":{},{}}}"#, serde_json::Value::from(h.as_str()), SPECS[i % SPECS.len()]))
        .collect();
    let Ok(schema) = Schema::from_json_str(&format!(r#"{{"fields":[{}]}}"#, fields.join(","))) else {
        return;
    };
    let key = PseudonymKey::from_bytes([3; 32]);
    let opts = ProtectOptions {
        k: 3,
        max_suppressed: 0.2,
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        ..ProtectOptions::default()
    };
    let mut out = Vec::new();
    let Ok(r) = protect(data, Some(data), &mut out, &schema, &key, &opts) else { return };
    assert_eq!(r.rows_out + r.suppressed.len() as u64, r.rows_in);
    let kept = r.columns.iter().filter(|c| c.action != mlguard_data::protect::Action::Drop).count();
    let quasi: Vec<usize> = r
        .columns
        .iter()
        .filter(|c| c.action != mlguard_data::protect::Action::Drop)
        .enumerate()
        .filter(|(_, c)| c.quasi)
        .map(|(i, _)| i)
        .collect();
    let written = mlguard_data::TableReader::new(&out[..], b',').expect("the output is a table");
    assert_eq!(written.header().len(), kept);
    let mut groups: HashMap<Vec<String>, usize> = HashMap::new();
    let mut rows = 0u64;
    written
        .for_each(|_, cells| {
            rows += 1;
            assert_eq!(cells.len(), kept);
            let key: Vec<String> = quasi.iter().map(|&q| cells[q].to_owned()).collect();
            *groups.entry(key).or_default() += 1;
            Ok(())
        })
        .expect("the output reads back");
    assert_eq!(rows, r.rows_out);
    if r.anonymity.is_some() {
        assert!(groups.values().all(|&n| n >= 3), "{groups:?}");
    }
});
