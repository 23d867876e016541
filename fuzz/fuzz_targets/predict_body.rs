//! A prediction request's body comes from any client: any bytes never panic, and the rows
//! read straight from them are the rows of the same bytes parsed as a JSON value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_vault::rows::{JsonRow, PredictBody};

fuzz_target!(|data: &[u8]| {
    let read = serde_json::from_slice::<PredictBody<'_>>(data);
    let value = serde_json::from_slice::<serde_json::Value>(data);
    if let Ok(body) = read {
        let value = value.expect("rows read from bytes that are not JSON");
        let rows = value["rows"].as_array().expect("rows read where the value has none");
        assert_eq!(rows.len(), body.rows.len());
        for (got, want) in body.rows.iter().zip(rows) {
            let reference = JsonRow::of_value(want);
            match (got, &reference) {
                (JsonRow::Fields(g), JsonRow::Fields(w)) => {
                    // A repeated member: the value keeps its last occurrence, as predictions do.
                    for (k, v) in w {
                        let last = g.iter().rev().find(|(gk, _)| gk == k).map(|(_, gv)| gv);
                        assert_eq!(last, Some(v), "{k}");
                    }
                }
                (g, w) => assert_eq!(g, w),
            }
        }
    }
});
