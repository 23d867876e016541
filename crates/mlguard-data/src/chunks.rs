//! Bytes from one thread to another through a bounded channel of chunks: what a producer
//! that only writes (a decompressor, a decrypter, a format converter) hands to a consumer
//! that reads. Fewer wake-ups than an OS pipe (64 KiB per system call), errors carried to
//! the reader, memory bounded by the channel's depth times the chunk size.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Bytes, or why there are no more.
pub type Chunk = io::Result<Vec<u8>>;

/// A pipe `depth` chunks deep whose writer sends chunks of `chunk_bytes`.
pub fn pipe(depth: usize, chunk_bytes: usize) -> (ChunkRead, ChunkWrite) {
    let (tx, rx) = sync_channel(depth);
    (ChunkRead::new(rx), ChunkWrite { tx, buf: Vec::new(), chunk_bytes: chunk_bytes.max(1) })
}

/// The reading end: the bytes of every chunk in order, a chunk's error as a read error,
/// and the end once every sender is gone.
pub struct ChunkRead {
    rx: Receiver<Chunk>,
    pending: Vec<u8>,
    at: usize,
}

impl ChunkRead {
    /// Reads what is sent on `rx`.
    pub fn new(rx: Receiver<Chunk>) -> ChunkRead {
        ChunkRead { rx, pending: Vec::new(), at: 0 }
    }
}

impl Read for ChunkRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.pending.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The writing end: buffers a chunk, sends it when full, and what is left when dropped
/// (the reader then sees the end). `BrokenPipe` once the reader is gone.
pub struct ChunkWrite {
    tx: SyncSender<Chunk>,
    buf: Vec<u8>,
    chunk_bytes: usize,
}

impl ChunkWrite {
    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk_bytes));
        self.tx
            .send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reader stopped"))
    }

    /// Sends what is buffered, then `error`: the reader's next read past those bytes fails
    /// with it.
    pub fn fail(mut self, error: io::Error) {
        if !self.buf.is_empty() {
            let _ = self.send();
        }
        let _ = self.tx.send(Err(error));
    }
}

impl Write for ChunkWrite {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(self.chunk_bytes);
        }
        let n = data.len().min(self.chunk_bytes - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.chunk_bytes {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ChunkWrite {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.send();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_whole_and_in_order_and_a_gone_reader_stops_the_writer() {
        let chunk = 1 << 16;
        let data: Vec<u8> = (0..(5 * chunk / 2 + 7)).map(|i| (i % 251) as u8).collect();
        let (mut reader, mut writer) = pipe(2, chunk);
        let back = std::thread::scope(|s| {
            s.spawn(|| {
                for part in data.chunks(7_000) {
                    writer.write_all(part).expect("write");
                }
                drop(writer);
            });
            let mut back = Vec::new();
            reader.read_to_end(&mut back).expect("read");
            back
        });
        assert_eq!(back, data);

        let (reader, mut writer) = pipe(2, chunk);
        drop(reader);
        let e = writer.write_all(&vec![0u8; 4 * chunk]).expect_err("nobody reads");
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn an_error_follows_the_bytes_before_it() {
        let (mut reader, mut writer) = pipe(4, 1 << 10);
        writer.write_all(b"abc").expect("write");
        writer.fail(io::Error::new(io::ErrorKind::InvalidData, "bad"));
        let mut buf = [0u8; 3];
        reader.read_exact(&mut buf).expect("the bytes first");
        assert_eq!(&buf, b"abc");
        assert_eq!(
            reader.read(&mut buf).expect_err("then the error").kind(),
            io::ErrorKind::InvalidData
        );
    }
}
