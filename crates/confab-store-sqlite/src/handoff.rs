//! How the writer thread hands committed events on. With a tokio runtime (the server's case)
//! a task on the runtime takes each committed batch's events from a bounded queue and gives
//! them to the listener, in commit order: the writer thread, which every write waits for,
//! neither runs the fan-out nor wakes sessions from outside the runtime (each such wake-up is
//! a cross-thread notification; `confab bench writes` and `big-room` lost a sixth of their
//! throughput to them). Without a runtime the writer calls the listener itself.

use std::sync::{Arc, OnceLock};

use confab_store::{CommitListener, LogEvent};
use tokio::sync::mpsc;

/// Committed batches waiting for the hand-off task; past it the writer waits (the listener
/// must never fall behind the writer without bound).
const QUEUE: usize = 1024;

/// Where the store keeps its hand-off: set once, read by every commit.
pub(crate) type HandoffSlot = Arc<OnceLock<Handoff>>;

/// The writer's way to the listener.
pub(crate) enum Handoff {
    /// The writer calls the listener.
    Direct(Arc<dyn CommitListener>),
    /// A task on the runtime calls it.
    Task(mpsc::Sender<Vec<Vec<LogEvent>>>),
}

impl Handoff {
    /// A hand-off to `listener`, through a task on the current runtime if there is one.
    pub(crate) fn new(listener: Arc<dyn CommitListener>) -> Handoff {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Handoff::Direct(listener);
        };
        let (tx, mut rx) = mpsc::channel::<Vec<Vec<LogEvent>>>(QUEUE);
        runtime.spawn(async move {
            while let Some(batch) = rx.recv().await {
                for events in &batch {
                    listener.committed(events);
                }
            }
        });
        Handoff::Task(tx)
    }

    /// From the writer thread: the events of one committed batch's writes, each write's in
    /// `seq` order, the writes in commit order.
    pub(crate) fn committed(&self, batch: Vec<Vec<LogEvent>>) {
        match self {
            Handoff::Direct(listener) => {
                for events in &batch {
                    listener.committed(events);
                }
            }
            Handoff::Task(tx) => {
                if tx.blocking_send(batch).is_err() {
                    // Only once the runtime is gone, with the server.
                    tracing::debug!("committed events after the hand-off task stopped");
                }
            }
        }
    }
}
