//! The durability barrier of group commit, shared by the catalogs: commits return before
//! they are durable; whoever releases a result first waits for one flush that covers every
//! commit made so far, and callers that arrive while a flush runs share the next one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use crate::{VaultError, poisoned};

/// Counts commits and the flushes that made them durable.
#[derive(Default)]
pub(crate) struct GroupCommit {
    /// Whether commits may return before they are durable.
    on: AtomicBool,
    /// Commits made (counted after each commit).
    commits: AtomicU64,
    /// (commits known durable, a flush running)
    durable: Mutex<(u64, bool)>,
    flushed: Condvar,
}

impl GroupCommit {
    /// Turns group commit on.
    pub(crate) fn enable(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    /// Whether it is on.
    pub(crate) fn enabled(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    /// Counts a commit.
    pub(crate) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::SeqCst);
    }

    /// Returns once every commit counted so far is durable, running `flush` (which makes
    /// every earlier commit durable) when no running flush covers them. At once when group
    /// commit is off.
    pub(crate) fn sync(
        &self,
        flush: impl Fn() -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        if !self.enabled() {
            return Ok(());
        }
        let seq = self.commits.load(Ordering::SeqCst);
        let mut st = self.durable.lock().map_err(poisoned)?;
        loop {
            if st.0 >= seq {
                return Ok(());
            }
            if st.1 {
                st = self.flushed.wait(st).map_err(poisoned)?;
                continue;
            }
            st.1 = true;
            let target = self.commits.load(Ordering::SeqCst);
            drop(st);
            let done = flush();
            st = self.durable.lock().map_err(poisoned)?;
            st.1 = false;
            if done.is_ok() {
                st.0 = st.0.max(target);
            }
            self.flushed.notify_all();
            done?;
        }
    }
}
