//! The audit appender the catalogs share: one thread per catalog that takes every entry
//! queued while its previous batch was written and appends them all in one transaction
//! (each entry its own consecutive index), and a [`Receipt`] per entry that says when
//! it is appended — to a thread that waits for it, or to a task that awaits it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::{Context, Poll, Waker};

use super::OwnedAuditEntry;
use crate::VaultError;

/// Most entries the appender writes in one transaction.
pub(crate) const MAX_BATCH: usize = 512;

/// An entry waiting for the appender.
pub(crate) struct Job {
    pub(crate) build: OwnedAuditEntry,
    reply: Reply,
}

/// What becomes of an entry given to an appender: its index once appended (and durable,
/// when the catalog's group commit is on), or why it could not be. Wait for it with
/// [`Receipt::wait`] or `.await` it.
#[must_use = "an audit entry is not known to be recorded until its receipt answers"]
pub struct Receipt {
    slot: Arc<Slot>,
}

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    answered: Condvar,
}

/// The answer, once given, and the task to wake when it comes.
#[derive(Default)]
struct SlotState {
    answer: Option<Result<u64, String>>,
    waker: Option<Waker>,
}

/// The appender's end of a [`Receipt`]; answers "the appender stopped" if dropped unanswered.
struct Reply {
    slot: Arc<Slot>,
    sent: bool,
}

impl Reply {
    fn send(mut self, answer: Result<u64, String>) {
        self.answer(answer);
    }

    fn answer(&mut self, answer: Result<u64, String>) {
        self.sent = true;
        let waker = match self.slot.state.lock() {
            Ok(mut st) => {
                st.answer = Some(answer);
                st.waker.take()
            }
            Err(_) => None,
        };
        self.slot.answered.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.sent {
            self.answer(Err("the audit appender stopped".into()));
        }
    }
}

impl Receipt {
    /// Blocks until the entry is appended: its index.
    pub fn wait(self) -> Result<u64, VaultError> {
        let mut st = self.slot.state.lock().map_err(crate::poisoned)?;
        loop {
            if let Some(answer) = st.answer.take() {
                return answer.map_err(VaultError::AuditUnavailable);
            }
            st = self.slot.answered.wait(st).map_err(crate::poisoned)?;
        }
    }
}

impl Future for Receipt {
    type Output = Result<u64, VaultError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = match self.slot.state.lock() {
            Ok(st) => st,
            Err(e) => return Poll::Ready(Err(crate::poisoned(e))),
        };
        match st.answer.take() {
            Some(answer) => Poll::Ready(answer.map_err(VaultError::AuditUnavailable)),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A running appender: entries given to it are appended in order of arrival.
pub(crate) struct Appender {
    queue: mpsc::Sender<Job>,
}

impl Appender {
    /// Starts the thread `name`, which appends each batch of waiting jobs with
    /// `append` (the first index of the batch, the others following it).
    pub(crate) fn spawn(
        name: &str,
        mut append: impl FnMut(&[Job]) -> Result<u64, VaultError> + Send + 'static,
    ) -> Result<Appender, VaultError> {
        let (queue, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Ok(first) = jobs.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(j) => batch.push(j),
                            Err(_) => break,
                        }
                    }
                    let answer = append(&batch).map_err(|e| match e {
                        VaultError::AuditUnavailable(why) => why,
                        e => e.to_string(),
                    });
                    for (i, j) in batch.into_iter().enumerate() {
                        j.reply.send(answer.clone().map(|first| first + i as u64));
                    }
                }
            })
            .map_err(|e| VaultError::Internal(format!("cannot start the audit appender: {e}")))?;
        Ok(Appender { queue })
    }

    /// Queues an entry; its receipt answers once it is appended.
    pub(crate) fn enqueue(&self, build: OwnedAuditEntry) -> Result<Receipt, VaultError> {
        let slot = Arc::new(Slot::default());
        let job = Job { build, reply: Reply { slot: Arc::clone(&slot), sent: false } };
        self.queue
            .send(job)
            .map_err(|_| VaultError::AuditUnavailable("the audit appender stopped".into()))?;
        Ok(Receipt { slot })
    }
}
