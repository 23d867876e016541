//! Opening a table as sent (compression, Parquet, workbooks and binary formats by content, encoding, dialect
//! sniffing) on arbitrary bytes, alone and behind each compression's magic: never panics,
//! and what it hands on is UTF-8 text whenever it transcodes.
#![no_main]

use std::io::{Cursor, Read};

use libfuzzer_sys::fuzz_target;
use mlguard_data::input::open_reader;

fn open(bytes: Vec<u8>) {
    if let Ok((reader, _)) = open_reader(Box::new(Cursor::new(bytes)), None) {
        let mut out = Vec::new();
        let _ = reader.take(1 << 22).read_to_end(&mut out);
    }
}

fuzz_target!(|data: &[u8]| {
    open(data.to_vec());
    // gzip, bzip2, xz, zstd, UTF-16, a workbook (zip), Arrow IPC and Parquet (whose readers run on threads of their own
    // under catch_unwind: a malformed file must come back as an error).
    for magic in [&b"\x1f\x8b"[..], b"BZh9", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"\xff\xfe", b"PAR1", b"ARROW1", b"PK\x03\x04"] {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(data);
        open(bytes);
    }
});
