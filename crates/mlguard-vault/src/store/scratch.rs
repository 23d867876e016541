//! Scratch files whose content is encrypted under a key that exists only in this
//! process's memory: plaintext the vault makes (a protected table being checked and
//! sealed, a stored dataset decrypted for training or download) never reaches the disk in
//! clear, and what a killed process leaves cannot be read by anyone.
//!
//! The file is a sequence of chunks of [`CHUNK`] plaintext bytes (the last one shorter,
//! possibly empty), each sealed with AES-256-GCM under the scratch key: nonce = a random
//! 4-byte prefix ‖ the chunk's index (big endian), additional data = whether it is the
//! last chunk (so a file cut at a chunk boundary does not read as complete). Reads seek
//! to any position; each chunk read is authenticated.

use std::io::{self, Read, Seek, SeekFrom, Write};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::VaultError;

/// Plaintext bytes per chunk.
pub(crate) const CHUNK: usize = 64 << 10;
const TAG: usize = 16;

/// An encrypted scratch file (removed, with its key, when dropped).
pub struct Scratch {
    file: tempfile::NamedTempFile,
    key: Zeroizing<[u8; 32]>,
    prefix: [u8; 4],
}

fn sealing_key(key: &[u8; 32]) -> io::Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| io::Error::other("cannot set up the scratch key"))
}

fn nonce(prefix: [u8; 4], index: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(&prefix);
    n[4..].copy_from_slice(&index.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

impl Scratch {
    /// An encrypted scratch file in `file` (a fresh, owner-only temporary file), with a
    /// fresh random key.
    pub fn new(file: tempfile::NamedTempFile) -> Result<Scratch, VaultError> {
        Ok(Scratch {
            file,
            key: Zeroizing::new(mlguard_seal::random::<32>()?),
            prefix: mlguard_seal::random::<4>()?,
        })
    }

    /// Writes its content from the start (call [`ScratchWriter::finish`] at the end), under
    /// a fresh key: a second write never reuses the first one's nonces.
    pub fn writer(&mut self) -> Result<ScratchWriter, VaultError> {
        self.key = Zeroizing::new(mlguard_seal::random::<32>()?);
        self.prefix = mlguard_seal::random::<4>()?;
        let mut file = self.file.reopen().map_err(crate::io_err("cannot write a scratch file"))?;
        file.set_len(0).map_err(crate::io_err("cannot write a scratch file"))?;
        file.seek(SeekFrom::Start(0)).map_err(crate::io_err("cannot write a scratch file"))?;
        Ok(ScratchWriter {
            out: io::BufWriter::with_capacity(CHUNK + TAG, file),
            key: sealing_key(&self.key).map_err(crate::io_err("scratch"))?,
            prefix: self.prefix,
            buf: Zeroizing::new(Vec::with_capacity(CHUNK)),
            index: 0,
            hasher: blake3::Hasher::new(),
            size: 0,
        })
    }

    /// The bytes it takes on disk (its content encrypted: a little more than the content).
    pub fn stored_len(&self) -> Result<u64, VaultError> {
        let meta = self.file.as_file().metadata();
        Ok(meta.map_err(crate::io_err("cannot read a scratch file"))?.len())
    }

    /// Reads its content (written and finished before), from the start; seekable.
    pub fn reader(&self) -> Result<ScratchReader, VaultError> {
        let file = self.file.reopen().map_err(crate::io_err("cannot read a scratch file"))?;
        ScratchReader::new(file, &self.key, self.prefix)
    }

    /// Opens readers of its content (written and finished before) for as long as the
    /// scratch file lives (after, opening fails): for a reader of tables that opens its
    /// input again by itself ([`mlguard_data::input::open_reopenable`]).
    pub fn reopener(&self) -> impl Fn() -> io::Result<ScratchReader> + Send + Sync + 'static {
        let (path, key, prefix) = (self.file.path().to_owned(), self.key.clone(), self.prefix);
        move || {
            let file = std::fs::File::open(&path)?;
            ScratchReader::new(file, &key, prefix).map_err(io::Error::other)
        }
    }
}

/// Writes an encrypted scratch file.
pub struct ScratchWriter {
    out: io::BufWriter<std::fs::File>,
    key: LessSafeKey,
    prefix: [u8; 4],
    buf: Zeroizing<Vec<u8>>,
    index: u64,
    /// The plaintext's digest and size so far (so it can be sealed in one read).
    hasher: blake3::Hasher,
    size: u64,
}

impl ScratchWriter {
    fn seal(&mut self, last: bool) -> io::Result<()> {
        let mut chunk = Zeroizing::new(std::mem::take(&mut *self.buf));
        // Hashed a whole chunk at a time: BLAKE3 hashes many of its 1 KiB blocks at once
        // (SIMD) only when given them together, not a table row at a time.
        self.hasher.update(&chunk);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(self.prefix, self.index),
                Aad::from([u8::from(last)]),
                &mut chunk,
            )
            .map_err(|_| io::Error::other("cannot encrypt a scratch chunk"))?;
        self.out.write_all(&chunk)?;
        self.out.write_all(tag.as_ref())?;
        self.index += 1;
        chunk.clear();
        *self.buf = std::mem::take(&mut *chunk);
        Ok(())
    }

    /// Seals the last chunk and flushes: the content is complete.
    pub fn finish(self) -> Result<(), VaultError> {
        self.finish_digest().map(|_| ())
    }

    /// [`ScratchWriter::finish`], returning the plaintext's size and BLAKE3 digest (for
    /// [`mlguard_seal::seal_known`]).
    pub fn finish_digest(mut self) -> Result<mlguard_seal::Digest, VaultError> {
        let done = self.seal(true).and_then(|()| self.out.flush());
        done.map_err(crate::io_err("cannot write a scratch file"))?;
        Ok(mlguard_seal::Digest { size: self.size, blake3: *self.hasher.finalize().as_bytes() })
    }
}

impl Write for ScratchWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // A full chunk is sealed only once more data follows: the last chunk (full or
        // not) is sealed as the last by `finish`.
        if self.buf.len() == CHUNK && !data.is_empty() {
            self.seal(false)?;
        }
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads an encrypted scratch file; seekable.
pub struct ScratchReader {
    file: std::fs::File,
    key: LessSafeKey,
    prefix: [u8; 4],
    last_index: u64,
    len: u64,
    pos: u64,
    chunk: Option<(u64, Zeroizing<Vec<u8>>)>,
}

impl ScratchReader {
    fn new(
        file: std::fs::File,
        key: &[u8; 32],
        prefix: [u8; 4],
    ) -> Result<ScratchReader, VaultError> {
        let disk = file.metadata().map_err(crate::io_err("cannot read a scratch file"))?.len();
        let tampered = || VaultError::Tampered("a scratch file was cut or changed".into());
        let body = disk.checked_sub(TAG as u64).ok_or_else(tampered)?;
        let (full, last) = (body / (CHUNK + TAG) as u64, body % (CHUNK + TAG) as u64);
        if last > CHUNK as u64 {
            return Err(tampered());
        }
        Ok(ScratchReader {
            file,
            key: sealing_key(key).map_err(crate::io_err("scratch"))?,
            prefix,
            last_index: full,
            len: full * CHUNK as u64 + last,
            pos: 0,
            chunk: None,
        })
    }

    /// The plaintext length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn load(&mut self, index: u64) -> io::Result<()> {
        if self.chunk.as_ref().is_some_and(|(i, _)| *i == index) {
            return Ok(());
        }
        let last = index == self.last_index;
        let plain = if last { (self.len - index * CHUNK as u64) as usize } else { CHUNK };
        // The previous chunk's buffer, reused (it is zeroised when the reader is dropped):
        // a fresh one per 64 KiB was an allocation, a zeroing and a wipe each.
        let mut buf = self.chunk.take().map_or_else(|| Zeroizing::new(Vec::new()), |(_, b)| b);
        buf.clear();
        buf.resize(plain + TAG, 0);
        self.file.seek(SeekFrom::Start(index * (CHUNK + TAG) as u64))?;
        self.file.read_exact(&mut buf)?;
        let n = self
            .key
            .open_in_place(nonce(self.prefix, index), Aad::from([u8::from(last)]), &mut buf)
            .map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "a scratch chunk does not authenticate")
            })?
            .len();
        buf.truncate(n);
        self.chunk = Some((index, buf));
        Ok(())
    }
}

impl Read for ScratchReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        let index = self.pos / CHUNK as u64;
        self.load(index)?;
        let Some((_, chunk)) = &self.chunk else { return Ok(0) };
        let at = (self.pos - index * CHUNK as u64) as usize;
        let n = out.len().min(chunk.len().saturating_sub(at));
        out[..n].copy_from_slice(&chunk[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ScratchReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// Scratch files as training's spill files: feature values a training run does not keep in
/// memory reach the disk only encrypted, under keys that die with the process.
impl mlguard_learn::SpillFile for Scratch {
    fn writer(&mut self) -> io::Result<Box<dyn mlguard_learn::SpillWriter + Send>> {
        Ok(Box::new(Scratch::writer(self).map_err(io::Error::other)?))
    }

    fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(Scratch::reader(self).map_err(io::Error::other)?))
    }
}

impl mlguard_learn::SpillWriter for ScratchWriter {
    fn finish(self: Box<Self>) -> io::Result<()> {
        ScratchWriter::finish(*self).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> Scratch {
        Scratch::new(tempfile::NamedTempFile::new().expect("tmp")).expect("scratch")
    }

    #[test]
    fn what_is_written_reads_back_and_is_not_on_disk_in_clear() {
        for size in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            let mut s = scratch();
            let data: Vec<u8> = (0..size).map(|i| b"name,email\nada,ada@x.org\n"[i % 25]).collect();
            let mut w = s.writer().expect("writer");
            for part in data.chunks(1000) {
                w.write_all(part).expect("write");
            }
            let digest = w.finish_digest().expect("finish");
            assert_eq!(
                digest,
                mlguard_seal::Digest { size: size as u64, blake3: *blake3::hash(&data).as_bytes() }
            );
            let disk = std::fs::read(s.file.path()).expect("disk");
            if size >= 25 {
                assert!(!disk.windows(11).any(|w| w == b"ada@x.org\nn"), "plaintext on disk");
            }
            let mut r = s.reader().expect("reader");
            assert_eq!(r.len(), size as u64);
            let mut back = Vec::new();
            r.read_to_end(&mut back).expect("read");
            assert!(back == data, "size {size}");
            // Seeks anywhere (sealing reads its input twice).
            if size > 10 {
                r.seek(SeekFrom::Start(size as u64 - 10)).expect("seek");
                let mut tail = Vec::new();
                r.read_to_end(&mut tail).expect("read");
                assert_eq!(tail, data[size - 10..]);
            }
        }
    }

    /// Written twice, a scratch file is sealed under another key (GCM nonces are never
    /// reused), and readers opened after read the second content, also by reopening.
    #[test]
    fn a_second_write_uses_a_fresh_key() {
        let mut s = scratch();
        let mut w = s.writer().expect("writer");
        w.write_all(&[0u8; 100]).expect("write");
        w.finish().expect("finish");
        let first = std::fs::read(s.file.path()).expect("disk");
        let mut w = s.writer().expect("writer");
        w.write_all(&[0u8; 100]).expect("write");
        w.finish().expect("finish");
        let second = std::fs::read(s.file.path()).expect("disk");
        assert_eq!(first.len(), second.len());
        assert_ne!(first, second, "the same plaintext sealed again under the same nonces");
        let open = s.reopener();
        let mut back = Vec::new();
        open().expect("reopen").read_to_end(&mut back).expect("read");
        assert_eq!(back, vec![0u8; 100]);
        drop(s);
        assert!(open().is_err(), "gone with the scratch file");
    }

    #[test]
    fn a_changed_or_cut_file_does_not_read() {
        let mut s = scratch();
        let mut w = s.writer().expect("writer");
        w.write_all(&vec![7u8; 2 * CHUNK]).expect("write");
        w.finish().expect("finish");
        let path = s.file.path().to_owned();
        let mut disk = std::fs::read(&path).expect("disk");
        disk[5] ^= 1;
        std::fs::write(&path, &disk).expect("write");
        assert!(s.reader().expect("reader").read_to_end(&mut Vec::new()).is_err());
        disk[5] ^= 1;
        disk.truncate(CHUNK + TAG); // the first chunk alone, as if complete
        std::fs::write(&path, &disk).expect("write");
        assert!(s.reader().map(|mut r| r.read_to_end(&mut Vec::new()).is_err()).unwrap_or(true));
        // Another scratch's key does not open it.
        let other = scratch();
        std::fs::copy(&path, other.file.path()).expect("copy");
        assert!(
            other.reader().map(|mut r| r.read_to_end(&mut Vec::new()).is_err()).unwrap_or(true)
        );
    }
}
