//! Schema documents: arbitrary bytes as a schema never panic, and a schema that loads
//! survives a round trip through JSON unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_data::Schema;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(schema) = Schema::from_json_str(text) {
        let again = Schema::from_json(&schema.to_json()).expect("a loaded schema reloads");
        assert_eq!(again, schema);
    }
});
