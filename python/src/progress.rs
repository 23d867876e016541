//! Progress of long work told to a Python callable: `callback(done, total)`, the bytes of
//! the input read so far and all the work's bytes (the input's size times the passes the
//! work makes over it; `None` when not known ahead), at most ten times a second while the
//! work runs and once more, with `done == total`, when it has finished. An exception the
//! callback raises stops the work (its next read fails) and is raised in its place: a
//! callback is also the way to cancel.
//!
//! The counting is the vault's own ([`mlguard_vault::Meter`], [`mlguard_vault::Tally`]):
//! the data functions count their reads here, the vault's operations count theirs and say
//! their own total.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlguard_vault::{Meter, Metered, Tally};
use pyo3::prelude::*;

/// Most often the callback is called.
const EVERY: Duration = Duration::from_millis(100);

/// The progress of one piece of work; clones count into the same total. Without a
/// callback, counting costs nothing.
#[derive(Clone, Default)]
pub(crate) struct Progress {
    shared: Option<Arc<Shared>>,
    meter: Option<Meter>,
    /// The reads of the data functions ([`Progress::counted`]).
    tally: Tally,
}

struct Shared {
    callback: Py<PyAny>,
    /// The total known ahead (the data functions'), if any.
    total: Option<u64>,
    told: Mutex<Told>,
}

#[derive(Default)]
struct Told {
    done: u64,
    /// The total the meter was last told.
    total: Option<u64>,
    last: Option<Instant>,
    error: Option<PyErr>,
}

fn stopped() -> io::Error {
    io::Error::other("stopped by the progress callback")
}

impl Progress {
    /// Progress over `passes` reads of an input of `size` bytes (`None`: unknown, or said
    /// by the vault's operation as it goes).
    pub(crate) fn new(callback: Option<Py<PyAny>>, size: Option<u64>, passes: u64) -> Progress {
        let Some(callback) = callback else { return Progress::default() };
        let total = size.map(|s| s.saturating_mul(passes));
        let shared = Arc::new(Shared { callback, total, told: Mutex::new(Told::default()) });
        let p = Arc::clone(&shared);
        let meter = Meter::new(move |done, total| {
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
        });
        let tally = meter.tally(total);
        Progress { shared: Some(shared), meter: Some(meter), tally }
    }

    /// The meter for the vault's long operations, which count their own reads and say
    /// their own total (`None` without a callback).
    pub(crate) fn meter(&self) -> Option<Meter> {
        self.meter.clone()
    }

    /// The exception the callback raised, if it did: the work's error is this one.
    pub(crate) fn raised(&self) -> Option<PyErr> {
        let p = self.shared.as_ref()?;
        p.told.lock().ok()?.error.take()
    }

    /// The work finished: the last call, everything done.
    pub(crate) fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let Some(p) = &self.shared else { return Ok(()) };
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
    pub(crate) fn counted<R>(&self, inner: R) -> Metered<R> {
        self.tally.reader(inner)
    }
}
