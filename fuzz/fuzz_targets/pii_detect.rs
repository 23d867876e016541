//! The personal-data detectors, the column judgement and the national-id checks on
//! arbitrary text, and the table scan and the poisoning checks on arbitrary bytes: never
//! panic; spans are in bounds, on character boundaries, ordered and disjoint; every listed
//! row exists.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_data::Schema;
use mlguard_data::pii::{ColumnHint, Kind, column_hint, detect, national_id_valid, scan_table};
use mlguard_data::poison::{PoisonOptions, check_reader};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let all = ColumnHint {
        phone: true,
        ssn: true,
        version: false,
        dob: true,
        name: true,
        postal: true,
        id: Some(Kind::NlBsn),
    };
    let lines: Vec<&str> = text.lines().collect();
    let judged = column_hint(ColumnHint::default(), &lines);
    for hint in [None, Some(all), Some(judged)] {
        let mut last = 0;
        for s in detect(&text, hint) {
            assert!(s.start >= last && s.start < s.end && s.end <= text.len(), "{s:?}");
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            last = s.end;
        }
    }
    for kind in Kind::ALL {
        let _ = national_id_valid(kind, &text);
    }
    let _ = scan_table(data, b',', &ColumnHint::from_name, |_, _, cell, s| {
        assert!(s.end <= cell.len());
    });
    // Every column numeric, the last one the label: the checks see whatever the bytes hold.
    if let Ok(table) = mlguard_data::TableReader::new(data, b',') {
        let fields: Vec<String> = table
            .header()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let role = if i + 1 == table.header().len() { r#","role":"target""# } else { "" };
                format!(r#"{{"name":{},"type":"number"{role}}}"#, serde_json::Value::from(h.as_str()))
            })
            .collect();
        if let Ok(schema) = Schema::from_json_str(&format!(r#"{{"fields":[{}]}}"#, fields.join(","))) {
            // A table never drifts from itself.
            if let Ok(d) = mlguard_data::poison::drift(data, data, &schema, b',') {
                assert!(d.is_empty(), "{d:?}");
            }
            if let Ok(r) = check_reader(data, data, &schema, &PoisonOptions::default()) {
                for c in &r.conflicts {
                    assert!(c.rows.iter().all(|&row| row >= 1 && row <= r.rows));
                }
                assert!(r.outliers.iter().all(|o| o.row >= 1 && o.row <= r.rows && o.z.is_finite()));
            }
        }
    }
});
