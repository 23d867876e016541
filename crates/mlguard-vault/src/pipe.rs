//! A bounded in-process pipe, and a writer that writes to two places: ingestion hands the
//! protected table, as protection writes it, to the readers that need it next (the
//! poisoning checks' first pass and the columnar form) instead of having them decrypt and
//! read it again from its scratch file.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Bytes sent at a time.
const CHUNK: usize = 1 << 18;
/// Chunks in flight: the memory the pipe holds is bounded by about `(DEPTH + 2) * CHUNK`
/// (chunks read are handed back to the writer to fill again, not freed: an allocator keeps
/// freed memory a while, and the pipe would churn through megabytes of it).
const DEPTH: usize = 2;

/// A pipe: what the [`PipeWriter`] writes, the [`PipeReader`] reads, in order, with at most
/// a few chunks between them (a writer ahead of its reader waits).
pub(crate) fn pipe() -> (PipeWriter, PipeReader) {
    let (tx, rx) = sync_channel(DEPTH);
    let (spare, spares) = channel();
    let finished = Arc::new(AtomicBool::new(false));
    (
        PipeWriter {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK),
            spares,
            finished: finished.clone(),
        },
        PipeReader { rx, cur: Vec::new(), pos: 0, spare, finished },
    )
}

/// The writing end of a [`pipe`]. Its reader stopping (on an error of its own, which it
/// reports) does not stop the writer: what it writes then goes nowhere.
pub(crate) struct PipeWriter {
    tx: Option<SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
    spares: Receiver<Vec<u8>>,
    finished: Arc<AtomicBool>,
}

impl PipeWriter {
    fn send(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut next = self.spares.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        next.clear();
        let chunk = std::mem::replace(&mut self.buf, next);
        if let Some(tx) = &self.tx
            && tx.send(chunk).is_err()
        {
            self.tx = None;
        }
    }

    /// Sends what is left and ends the stream: the reader reads to its end. A writer
    /// dropped without `finish` ends it with an error instead (its reader must not take a
    /// cut table for a whole one).
    pub(crate) fn finish(mut self) {
        self.send();
        self.finished.store(true, Ordering::Release);
        self.tx = None;
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.tx.is_none() {
            return Ok(data.len());
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The reading end of a [`pipe`].
pub(crate) struct PipeReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    spare: Sender<Vec<u8>>,
    finished: Arc<AtomicBool>,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    let read = std::mem::replace(&mut self.cur, chunk);
                    // The writer gone, nobody takes it back.
                    let _ = self.spare.send(read);
                    self.pos = 0;
                }
                // Every sender is gone: the end, if the writer said so.
                Err(_) if self.finished.load(Ordering::Acquire) => return Ok(0),
                Err(_) => {
                    return Err(io::Error::other("the table's writer stopped before its end"));
                }
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Writes everything to `first`, then the same bytes to `second`.
pub(crate) struct Tee<A, B> {
    pub(crate) first: A,
    pub(crate) second: B,
}

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.first.write_all(data)?;
        self.second.write_all(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.first.flush()?;
        self.second.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_read_in_order() {
        let (mut w, mut r) = pipe();
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            for part in sent.chunks(1000) {
                w.write_all(part).expect("write");
            }
            w.finish();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).expect("read");
        writer.join().expect("writer");
        assert_eq!(got, data);
    }

    #[test]
    fn a_writer_dropped_before_finishing_is_an_error_not_an_end() {
        let (mut w, mut r) = pipe();
        w.write_all(b"a,b\n1,").expect("write");
        w.send();
        drop(w);
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).expect_err("a cut stream");
        assert!(e.to_string().contains("stopped before its end"), "{e}");
        assert_eq!(got, b"a,b\n1,");
    }

    #[test]
    fn a_reader_that_stops_does_not_stop_the_writer() {
        let (mut w, r) = pipe();
        drop(r);
        for _ in 0..(DEPTH + 3) {
            w.write_all(&vec![0; CHUNK]).expect("write");
        }
        w.finish();
    }
}
