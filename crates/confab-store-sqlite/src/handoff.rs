//! How a committed batch reaches its listener and its callers. With a tokio runtime (the
//! server's case) one task on the runtime takes each committed batch from a bounded queue,
//! hands its events to the listener and then answers its callers, batch after batch: commit
//! order and events-before-answers hold as if the writer did both, but the writer thread,
//! which every write waits for, goes straight on to the next transaction, and the sessions the
//! fan-out wakes are woken from inside the runtime rather than from a foreign thread (`confab
//! bench writes` lost a sixth of its throughput to the writer doing it). Without a runtime the
//! writer does both itself.

use std::sync::{Arc, OnceLock};

use confab_store::CommitListener;
use tokio::sync::mpsc;

use crate::writer::Job;

/// Committed batches waiting for the hand-off task; past it the writer waits, so the
/// listener never falls behind the writer without bound.
const QUEUE: usize = 256;

/// Where the store keeps its hand-off: set once, read by every commit.
pub(crate) type HandoffSlot = Arc<OnceLock<Handoff>>;

/// The writer's way to the listener and to the callers of a committed batch.
pub(crate) enum Handoff {
    /// The writer does it.
    Direct(Arc<dyn CommitListener>),
    /// A task on the runtime does it.
    Task(mpsc::Sender<Vec<Box<dyn Job>>>),
}

impl Handoff {
    /// A hand-off to `listener`, through a task on the current runtime if there is one.
    pub(crate) fn new(listener: Arc<dyn CommitListener>) -> Handoff {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Handoff::Direct(listener);
        };
        let (tx, mut rx) = mpsc::channel::<Vec<Box<dyn Job>>>(QUEUE);
        runtime.spawn(async move {
            while let Some(batch) = rx.recv().await {
                publish_then_answer(listener.as_ref(), batch);
            }
        });
        Handoff::Task(tx)
    }

    /// From the writer thread: a batch whose transaction committed, its writes in commit
    /// order.
    pub(crate) fn committed(&self, batch: Vec<Box<dyn Job>>) {
        match self {
            Handoff::Direct(listener) => publish_then_answer(listener.as_ref(), batch),
            Handoff::Task(tx) => {
                if let Err(mpsc::error::SendError(batch)) = tx.blocking_send(batch) {
                    // Only once the runtime is gone, with the server: nobody is left to hear
                    // of the events, but callers still hear of their writes.
                    tracing::debug!("committed a batch after the hand-off task stopped");
                    finish(batch);
                }
            }
        }
    }
}

/// Each write's events to the listener, in commit order, and only then the answers.
fn publish_then_answer(listener: &dyn CommitListener, batch: Vec<Box<dyn Job>>) {
    for job in &batch {
        let events = job.events();
        if !events.is_empty() {
            listener.committed(events);
        }
    }
    finish(batch);
}

/// Answers each caller of a committed batch.
pub(crate) fn finish(batch: Vec<Box<dyn Job>>) {
    for job in batch {
        job.finish(&Ok(()));
    }
}
