//! The columnar form's reader (an Arrow IPC stream) on arbitrary bytes, and behind a valid
//! stream's schema message: an error or batches, never a panic out of `read`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlguard_data::{DataError, Schema, columnar};

fuzz_target!(|data: &[u8]| {
    let _ = columnar::read::<_, DataError>(data, |_, batch| {
        let _ = batch.num_rows();
        Ok(())
    });
    let schema = Schema::from_json_str(r#"{"fields": [{"name": "a", "type": "integer"}]}"#)
        .expect("schema");
    let mut valid = Vec::new();
    if columnar::write("a,b\n1,x\n".as_bytes(), &schema, &mut valid).is_ok() {
        valid.truncate(valid.len() / 2);
        valid.extend_from_slice(data);
        let _ = columnar::read::<_, DataError>(&valid[..], |_, _| Ok(()));
    }
});
