//! The strict safetensors reader on arbitrary bytes: never panics, and a file it accepts
//! with only F64 tensors is rewritten byte-identically... up to header padding and key
//! order, so the check is a semantic round trip.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mlguard_learn::safetensors::{Dtype, read, write};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = read(data) else { return };
    if file.tensors.values().any(|t| t.dtype != Dtype::F64) {
        return;
    }
    let tensors: BTreeMap<String, (Vec<usize>, Vec<f64>)> =
        file.tensors.iter().map(|(k, t)| (k.clone(), (t.shape.clone(), t.values.clone()))).collect();
    let again = read(&write(&tensors, &file.metadata)).expect("what we write, we read");
    assert_eq!(again.metadata, file.metadata);
    for (k, t) in &file.tensors {
        let a = &again.tensors[k];
        assert_eq!(a.shape, t.shape);
        assert!(a.values.iter().zip(&t.values).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
});
