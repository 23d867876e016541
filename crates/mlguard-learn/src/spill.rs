//! Training on more rows than memory holds: feature values go to spill files the caller
//! provides (the vault's are encrypted under a key that lives only in the process), and the
//! fit reads them back [`TILE`] rows at a time, in the tiles and order it reads rows from
//! memory, so a spilled fit is the same fit.

use std::io::{self, Read, Write};

use crate::linear::{Rows, TILE, Tile, chunk_count, chunk_range};

/// Where training puts what it does not keep in memory.
pub trait Spill: Sync {
    /// A new, empty spill file.
    fn create(&self) -> io::Result<Box<dyn SpillFile>>;
}

/// A file written once, then read from the start any number of times, also at once.
pub trait SpillFile: Send + Sync {
    /// Writes its content (replacing any).
    fn writer(&mut self) -> io::Result<Box<dyn SpillWriter + Send>>;
    /// Reads its content (written and finished before) from the start.
    fn reader(&self) -> io::Result<Box<dyn Read + Send>>;
}

/// Writes a spill file.
pub trait SpillWriter: Write {
    /// Ends the content: a reader sees all of it.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Spill files kept in memory (for tests: the spilled code paths without a disk).
#[derive(Debug, Default, Clone, Copy)]
pub struct MemorySpill;

type Shared = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;

struct MemoryFile(Shared);

struct MemoryWriter(Shared);

fn locked(v: &Shared) -> io::Result<std::sync::MutexGuard<'_, Vec<u8>>> {
    v.lock().map_err(|_| io::Error::other("a spill file's lock is poisoned"))
}

impl Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        locked(&self.0)?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SpillWriter for MemoryWriter {
    fn finish(self: Box<Self>) -> io::Result<()> {
        Ok(())
    }
}

impl SpillFile for MemoryFile {
    fn writer(&mut self) -> io::Result<Box<dyn SpillWriter + Send>> {
        locked(&self.0)?.clear();
        Ok(Box::new(MemoryWriter(self.0.clone())))
    }
    fn reader(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(io::Cursor::new(locked(&self.0)?.clone())))
    }
}

impl Spill for MemorySpill {
    fn create(&self) -> io::Result<Box<dyn SpillFile>> {
        Ok(Box::new(MemoryFile(Shared::default())))
    }
}

/// Appends values as little-endian bytes.
pub(crate) fn put<T: Copy, const N: usize>(
    out: &mut Vec<u8>,
    values: &[T],
    bytes: impl Fn(T) -> [u8; N],
) {
    out.reserve(values.len() * N);
    for &v in values {
        out.extend_from_slice(&bytes(v));
    }
}

/// Reads `n` values of `N` little-endian bytes into `into` (cleared first), through `buf`.
pub(crate) fn take<T, const N: usize>(
    src: &mut dyn Read,
    n: usize,
    buf: &mut Vec<u8>,
    into: &mut Vec<T>,
    value: impl Fn([u8; N]) -> T,
) -> io::Result<()> {
    buf.resize(n * N, 0);
    src.read_exact(buf)?;
    into.clear();
    into.extend(buf.chunks_exact(N).map(|b| {
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        value(a)
    }));
    Ok(())
}

/// Reads a block's row count; `None` at the end of the file.
pub(crate) fn block_rows(src: &mut dyn Read) -> io::Result<Option<usize>> {
    let mut b = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        match src.read(&mut b[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            k => got += k,
        }
    }
    usize::try_from(u64::from_le_bytes(b))
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a spill block is too large"))
}

/// Columns of rows, as spill blocks hold them: a row count, then each numeric column's
/// values (f32), each categorical column's indexes (u32) and, in tiles, the labels (u32).
#[derive(Debug, Default)]
pub(crate) struct Block {
    pub(crate) numeric: Vec<Vec<f32>>,
    pub(crate) categorical: Vec<Vec<u32>>,
    pub(crate) y: Vec<u32>,
    bytes: Vec<u8>,
}

impl Block {
    pub(crate) fn new(numeric: usize, categorical: usize) -> Block {
        Block {
            numeric: vec![Vec::new(); numeric],
            categorical: vec![Vec::new(); categorical],
            ..Block::default()
        }
    }

    /// Appends rows `a..b` of `other` (of the same columns).
    pub(crate) fn extend_from(&mut self, other: &Block, a: usize, b: usize) {
        for (v, o) in self.numeric.iter_mut().zip(&other.numeric) {
            v.extend_from_slice(&o[a..b]);
        }
        for (v, o) in self.categorical.iter_mut().zip(&other.categorical) {
            v.extend_from_slice(&o[a..b]);
        }
        self.y.extend_from_slice(&other.y[a..b]);
    }

    pub(crate) fn clear(&mut self) {
        self.numeric.iter_mut().for_each(Vec::clear);
        self.categorical.iter_mut().for_each(Vec::clear);
        self.y.clear();
    }

    /// Writes the block of `rows` rows (labels too when `labels`).
    pub(crate) fn write(
        &mut self,
        out: &mut dyn Write,
        rows: usize,
        labels: bool,
    ) -> io::Result<()> {
        let mut bytes = std::mem::take(&mut self.bytes);
        let numeric: Vec<&[f32]> = self.numeric.iter().map(Vec::as_slice).collect();
        let categorical: Vec<&[u32]> = self.categorical.iter().map(Vec::as_slice).collect();
        let done = write_block(
            out,
            rows,
            &numeric,
            &categorical,
            labels.then_some(&self.y[..]),
            &mut bytes,
        );
        self.bytes = bytes;
        done
    }

    /// Its rows as a [`Tile`].
    pub(crate) fn tile(&self) -> Tile<'_> {
        Tile {
            numeric: self.numeric.iter().map(|v| v.into()).collect(),
            categorical: self.categorical.iter().map(Vec::as_slice).collect(),
            y: &self.y,
        }
    }

    /// Reads the next block (labels too when `labels`): its rows, `None` at the end of the
    /// file.
    pub(crate) fn read(&mut self, src: &mut dyn Read, labels: bool) -> io::Result<Option<usize>> {
        let Some(rows) = block_rows(src)? else { return Ok(None) };
        for c in &mut self.numeric {
            take(src, rows, &mut self.bytes, c, f32::from_le_bytes)?;
        }
        for c in &mut self.categorical {
            take(src, rows, &mut self.bytes, c, u32::from_le_bytes)?;
        }
        if labels {
            take(src, rows, &mut self.bytes, &mut self.y, u32::from_le_bytes)?;
        }
        Ok(Some(rows))
    }
}

/// Writes one block of `rows` rows from column slices (see [`Block`]), through `bytes`.
pub(crate) fn write_block(
    out: &mut dyn Write,
    rows: usize,
    numeric: &[&[f32]],
    categorical: &[&[u32]],
    labels: Option<&[u32]>,
    bytes: &mut Vec<u8>,
) -> io::Result<()> {
    bytes.clear();
    bytes.extend_from_slice(&(rows as u64).to_le_bytes());
    for c in numeric {
        put(bytes, &c[..rows], f32::to_le_bytes);
    }
    for c in categorical {
        put(bytes, &c[..rows], u32::to_le_bytes);
    }
    if let Some(y) = labels {
        put(bytes, &y[..rows], u32::to_le_bytes);
    }
    out.write_all(bytes)
}

/// The training rows of a spilled fit: one spill file per chunk of the objective (see
/// [`chunk_range`]), each a sequence of [`TILE`]-row blocks from the chunk's first row.
pub(crate) struct SpilledRows {
    pub(crate) n: usize,
    pub(crate) numeric: usize,
    pub(crate) categorical: usize,
    pub(crate) chunks: Vec<Box<dyn SpillFile>>,
}

impl Rows for SpilledRows {
    type Error = io::Error;

    fn tiles(
        &self,
        start: usize,
        end: usize,
        f: &mut dyn FnMut(&Tile<'_>),
    ) -> Result<(), io::Error> {
        let Some(file) = (0..chunk_count(self.n))
            .find(|&c| chunk_range(self.n, c) == (start, end))
            .and_then(|c| self.chunks.get(c))
        else {
            return Err(io::Error::other("rows asked for are not a chunk of the spilled fit"));
        };
        let mut src = file.reader()?;
        let mut block = Block::new(self.numeric, self.categorical);
        let mut seen = 0;
        while let Some(m) = block.read(&mut *src, true)? {
            if m > TILE || seen + m > end - start {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a spilled tile is too long",
                ));
            }
            f(&block.tile());
            seen += m;
        }
        if seen != end - start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a spilled chunk is cut short",
            ));
        }
        Ok(())
    }
}
