//! Single-stream compressed files, as `joblib.dump(..., compress=...)` writes them: zlib,
//! gzip, bz2, xz, lzma (legacy "alone" format), lz4 frames, and joblib's old `ZF` zlib
//! files. Decompression is limited like zip members (ratio and total size), so a
//! compression bomb is a finding, not an outage.

use std::io::{self, Write};

use crate::archive::{MAX_RATIO, output_cap};

/// A compression format, recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// zlib (RFC 1950).
    Zlib,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// bzip2.
    Bz2,
    /// xz.
    Xz,
    /// Legacy LZMA ("alone") as Python's `lzma.FORMAT_ALONE` writes it.
    Lzma,
    /// An LZ4 frame.
    Lz4,
    /// joblib < 0.10: `ZF`, the hex length padded to 19 bytes, then zlib.
    JoblibZfile,
}

/// Length of the `ZF` header of joblib's old compressed files: `ZF`, then the hex length
/// left-justified to `len(hex(2**64))` — 19 characters under Python 3, 20 under Python 2
/// (whose `hex` adds an `L`).
const ZFILE_HEADER: usize = 2 + 19;
const ZFILE_HEADER_PY2: usize = 2 + 20;

impl Codec {
    /// The codec whose magic `data` starts with.
    pub fn detect(data: &[u8]) -> Option<Codec> {
        Some(match data {
            [0x78, b, ..] if (0x7800u16 | u16::from(*b)).is_multiple_of(31) => Codec::Zlib,
            [0x1f, 0x8b, ..] => Codec::Gzip,
            [b'B', b'Z', b'h', b'1'..=b'9', ..] => Codec::Bz2,
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Codec::Xz,
            // Properties byte 0x5d (lc=3, lp=0, pb=2: what every encoder writes), then a
            // dictionary size whose low byte is 0.
            [0x5d, 0, _, _, _, ..] => Codec::Lzma,
            [0x04, 0x22, 0x4d, 0x18, ..] => Codec::Lz4,
            [b'Z', b'F', b'0', b'x', ..] if data.len() > ZFILE_HEADER => Codec::JoblibZfile,
            _ => return None,
        })
    }

    /// A short name for locations (`model.joblib:zlib`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zlib => "zlib",
            Codec::Gzip => "gzip",
            Codec::Bz2 => "bz2",
            Codec::Xz => "xz",
            Codec::Lzma => "lzma",
            Codec::Lz4 => "lz4",
            Codec::JoblibZfile => "zfile",
        }
    }
}

/// A sink that refuses to grow past `cap` bytes.
struct Capped {
    out: Vec<u8>,
    cap: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.out.len() + buf.len() > self.cap {
            return Err(io::Error::other(Bomb));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct Bomb;

impl std::fmt::Display for Bomb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("output limit")
    }
}

impl std::error::Error for Bomb {}

/// Decompresses `data`, charging `budget`; `Err` says why it could not be inspected.
pub(crate) fn decompress(codec: Codec, data: &[u8], budget: &mut u64) -> Result<Vec<u8>, String> {
    let cap = output_cap(data.len(), *budget);
    let mut sink = Capped { out: Vec::new(), cap };
    let result = match codec {
        Codec::Zlib => io::copy(&mut flate2::read::ZlibDecoder::new(data), &mut sink).map(drop),
        Codec::JoblibZfile => {
            // The padding is spaces: the zlib stream starts after the 19 or 20 characters.
            let py2 = data.get(ZFILE_HEADER) == Some(&b' ');
            let body = &data[if py2 { ZFILE_HEADER_PY2 } else { ZFILE_HEADER }.min(data.len())..];
            io::copy(&mut flate2::read::ZlibDecoder::new(body), &mut sink).map(drop)
        }
        Codec::Gzip => io::copy(&mut flate2::read::MultiGzDecoder::new(data), &mut sink).map(drop),
        Codec::Bz2 => io::copy(&mut bzip2::read::MultiBzDecoder::new(data), &mut sink).map(drop),
        Codec::Lz4 => io::copy(&mut lz4_flex::frame::FrameDecoder::new(data), &mut sink).map(drop),
        Codec::Xz => {
            lzma_rs::xz_decompress(&mut io::BufReader::new(data), &mut sink).map_err(lzma_error)
        }
        Codec::Lzma => {
            lzma_rs::lzma_decompress(&mut io::BufReader::new(data), &mut sink).map_err(lzma_error)
        }
    };
    match result {
        Ok(()) => {
            *budget = budget.saturating_sub(sink.out.len() as u64);
            Ok(sink.out)
        }
        Err(e) if e.get_ref().is_some_and(|i| i.is::<Bomb>()) || sink.out.len() >= cap => {
            Err(format!(
                "{} data decompresses to more than {cap} bytes (ratio over {MAX_RATIO}:1 or total over the limit): a compression bomb?",
                codec.name()
            ))
        }
        Err(e) => Err(format!("{} data is corrupt or truncated: {e}", codec.name())),
    }
}

fn lzma_error(e: lzma_rs::error::Error) -> io::Error {
    match e {
        lzma_rs::error::Error::IoError(io) => io,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_joblib_compressors_and_not_pickles() {
        assert_eq!(Codec::detect(b"\x78\x9c\x01"), Some(Codec::Zlib));
        assert_eq!(Codec::detect(b"\x78\x01\x01"), Some(Codec::Zlib));
        assert_eq!(Codec::detect(b"\x1f\x8b\x08"), Some(Codec::Gzip));
        assert_eq!(Codec::detect(b"BZh91AY"), Some(Codec::Bz2));
        assert_eq!(Codec::detect(b"\xfd7zXZ\x00\x00"), Some(Codec::Xz));
        assert_eq!(Codec::detect(b"\x5d\x00\x00\x80\x00"), Some(Codec::Lzma));
        assert_eq!(Codec::detect(b"\x04\x22\x4d\x18\x64"), Some(Codec::Lz4));
        assert_eq!(Codec::detect(b"\x80\x04\x95"), None);
        assert_eq!(Codec::detect(b"]q\x00(K\x01e."), None);
        assert_eq!(Codec::detect(b"\x78\x00"), None);
    }

    #[test]
    fn bombs_and_corrupt_streams_are_errors() {
        use flate2::{Compression, write::ZlibEncoder};
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&vec![0u8; 64 << 20]).unwrap_or_default();
        let bomb = z.finish().unwrap_or_default();
        // 64 MiB of zeros is an array, not a bomb; past what is left of the budget it is.
        let mut budget = crate::archive::MAX_TOTAL_BYTES;
        assert!(decompress(Codec::Zlib, &bomb, &mut budget).is_ok());
        let mut budget = 32 << 20;
        let e = decompress(Codec::Zlib, &bomb, &mut budget).err().unwrap_or_default();
        assert!(e.contains("compression bomb"), "{e}");
        let e = decompress(Codec::Zlib, &bomb[..bomb.len() / 2], &mut budget).err();
        assert!(e.is_some_and(|e| e.contains("compression bomb") || e.contains("corrupt")));
        let e = decompress(Codec::Xz, b"\xfd7zXZ\x00garbage", &mut budget).err();
        assert!(e.is_some_and(|e| e.contains("corrupt")), "xz garbage");
    }
}
