//! Progress of long work told to a Python callable: `callback(done, total)`, the bytes of
//! the input read so far and all the work's bytes (the input's size times the passes the
//! work makes over it; `None` when not known ahead), at most ten times a second while the
//! work runs and once more, with `done == total`, when it has finished. An exception the
//! callback raises stops the work (its next read fails) and is raised in its place: a
//! callback is also the way to cancel.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Most often the callback is called.
const EVERY: Duration = Duration::from_millis(100);

/// The progress of one piece of work; clones count into the same total. Without a
/// callback, counting costs nothing.
#[derive(Clone, Default)]
pub(crate) struct Progress(Option<Arc<Shared>>);

struct Shared {
    callback: Py<PyAny>,
    total: Option<u64>,
    told: Mutex<Told>,
}

#[derive(Default)]
struct Told {
    done: u64,
    /// The total a meter was last told (the vault's operations say their own).
    total: Option<u64>,
    last: Option<Instant>,
    error: Option<PyErr>,
}

fn stopped() -> io::Error {
    io::Error::other("stopped by the progress callback")
}

impl Progress {
    /// Progress over `passes` reads of an input of `size` bytes (`None`: unknown).
    pub(crate) fn new(callback: Option<Py<PyAny>>, size: Option<u64>, passes: u64) -> Progress {
        Progress(callback.map(|callback| {
            Arc::new(Shared {
                callback,
                total: size.map(|s| s.saturating_mul(passes)),
                told: Mutex::new(Told::default()),
            })
        }))
    }

    /// `read` more bytes were read; tells the callback if it is due.
    fn add(&self, read: usize) -> io::Result<()> {
        let Some(p) = &self.0 else { return Ok(()) };
        let mut t = p.told.lock().map_err(|_| stopped())?;
        if t.error.is_some() {
            return Err(stopped());
        }
        t.done = t.done.saturating_add(read as u64);
        if t.last.is_some_and(|l| l.elapsed() < EVERY) {
            return Ok(());
        }
        t.last = Some(Instant::now());
        // Never more than the total (a Parquet file's footer is read more than once).
        let done = p.total.map_or(t.done, |total| t.done.min(total));
        if let Err(e) = Python::attach(|py| p.callback.call1(py, (done, p.total)).map(drop)) {
            t.error = Some(e);
            return Err(stopped());
        }
        Ok(())
    }

    /// A meter for the vault's long operations, which count their own reads and say
    /// their own total (`None` without a callback).
    pub(crate) fn meter(&self) -> Option<mlguard_vault::Meter> {
        let p = Arc::clone(self.0.as_ref()?);
        Some(mlguard_vault::Meter::new(move |done, total| {
            let mut t = p.told.lock().map_err(|_| stopped())?;
            if t.error.is_some() {
                return Err(stopped());
            }
            // Reads on two threads may tell their counts out of order: never backwards.
            (t.done, t.total) = (t.done.max(done), total);
            if t.last.is_some_and(|l| l.elapsed() < EVERY) {
                return Ok(());
            }
            t.last = Some(Instant::now());
            let done = t.done;
            if let Err(e) = Python::attach(|py| p.callback.call1(py, (done, total)).map(drop)) {
                t.error = Some(e);
                return Err(stopped());
            }
            Ok(())
        }))
    }

    /// The exception the callback raised, if it did: the work's error is this one.
    pub(crate) fn raised(&self) -> Option<PyErr> {
        let p = self.0.as_ref()?;
        p.told.lock().ok()?.error.take()
    }

    /// The work finished: the last call, everything done.
    pub(crate) fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let Some(p) = &self.0 else { return Ok(()) };
        let (done, total) = match p.told.lock() {
            Ok(t) => {
                let total = p.total.or(t.total);
                (total.unwrap_or(t.done), total)
            }
            Err(_) => (p.total.unwrap_or(0), p.total),
        };
        p.callback.call1(py, (done, total)).map(drop)
    }

    /// `inner`, its reads counted.
    pub(crate) fn counted<R>(&self, inner: R) -> Counted<R> {
        Counted { inner, progress: self.clone() }
    }
}

/// A reader whose reads count towards a [`Progress`].
pub(crate) struct Counted<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n)?;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}
