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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use confab_protocol::sid::{Sid, SidKind};
    use confab_store::{LogEvent, StoreResult, Stream};
    use rusqlite::Connection;
    use tokio::sync::oneshot;

    use super::*;
    use crate::writer::Poisoned;

    /// Counts the events the listener was handed.
    struct Counting(AtomicUsize);

    impl CommitListener for Counting {
        fn committed(&self, events: &[LogEvent]) {
            self.0.fetch_add(events.len(), Ordering::SeqCst);
        }
    }

    /// A committed write of one event whose caller hears how many events the listener had
    /// been handed when it was answered.
    struct Probe {
        events: Vec<LogEvent>,
        heard: Arc<Counting>,
        reply: oneshot::Sender<usize>,
    }

    impl Job for Probe {
        fn run(&mut self, _: &Connection) -> Result<(), Poisoned> {
            Ok(())
        }

        fn events(&self) -> &[LogEvent] {
            &self.events
        }

        fn finish(self: Box<Self>, commit: &StoreResult<()>) {
            assert!(commit.is_ok());
            let _ = self.reply.send(self.heard.0.load(Ordering::SeqCst));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_task_hands_on_a_batchs_events_before_answering_any_of_its_writes() {
        let heard = Arc::new(Counting(AtomicUsize::new(0)));
        let handoff = Handoff::new(heard.clone());
        assert!(matches!(handoff, Handoff::Task(_)), "a runtime is running");
        let sid = Sid::from_random(SidKind::Conversation, [7; 16]);
        let mut answers = Vec::new();
        let mut batch: Vec<Box<dyn Job>> = Vec::new();
        for seq in 1..=50 {
            let (reply, answer) = oneshot::channel();
            answers.push(answer);
            batch.push(Box::new(Probe {
                events: vec![LogEvent {
                    stream: Stream::Conversation(sid.clone()),
                    seq,
                    frame: Arc::from(&b"{}"[..]),
                }],
                heard: heard.clone(),
                reply,
            }));
        }
        // As the writer thread does: from outside the runtime.
        std::thread::spawn(move || handoff.committed(batch))
            .join()
            .expect("the hand-off");
        for answer in answers {
            let seen = tokio::time::timeout(std::time::Duration::from_secs(10), answer)
                .await
                .expect("answered in time")
                .expect("answered");
            assert_eq!(
                seen, 50,
                "every event of the batch went on before this answer"
            );
        }
    }
}
