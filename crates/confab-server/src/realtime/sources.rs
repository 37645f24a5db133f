//! Which of a session task's sources woke it. The task waits on its queue, its socket, its
//! ending, the server's shutdown, its timer and a store read all at once; polling each of them
//! on every wake-up costs a lock or more apiece (the shutdown signal's lock is shared by every
//! session), and in a busy server nearly every wake-up is a delivery on the queue. So the
//! socket, the timer, and the rest together (the "signals"), are polled with wakers of their
//! own that note that they fired: a turn polls the queue, and only the sources that fired
//! since.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A source of wake-ups: when it fires, it says so and wakes the task.
struct Source {
    fired: AtomicBool,
    task: Arc<AtomicWaker>,
}

impl Wake for Source {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Noted before the task is woken, so that the woken task finds the note.
        self.fired.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// One source and the waker it is polled with.
struct Polled {
    source: Arc<Source>,
    waker: Waker,
}

impl Polled {
    fn new(task: &Arc<AtomicWaker>) -> Polled {
        let source = Arc::new(Source {
            // Everything is polled on the first turn.
            fired: AtomicBool::new(true),
            task: task.clone(),
        });
        Polled {
            waker: Waker::from(source.clone()),
            source,
        }
    }

    fn take(&self) -> bool {
        self.source.fired.swap(false, Ordering::AcqRel)
    }

    fn fire(&self) {
        self.source.fired.store(true, Ordering::Release);
    }
}

/// A session task's sources of wake-ups besides its queue.
pub(crate) struct Sources {
    task: Arc<AtomicWaker>,
    socket: Polled,
    /// Moved by nearly every batch of writes (the session's flush gap), so apart from the
    /// rest.
    timer: Polled,
    signals: Polled,
}

impl Sources {
    pub(crate) fn new() -> Sources {
        let task = Arc::new(AtomicWaker::new());
        Sources {
            socket: Polled::new(&task),
            timer: Polled::new(&task),
            signals: Polled::new(&task),
            task,
        }
    }

    /// Where the sources' wake-ups go: the task polling now. Called first in every poll, so
    /// that a source firing after its note was read still wakes the task.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        self.task.register(cx.waker());
    }

    /// Whether the socket fired since this was last asked (the note is cleared).
    pub(crate) fn take_socket(&self) -> bool {
        self.socket.take()
    }

    /// Whether the timer fired since this was last asked (the note is cleared).
    pub(crate) fn take_timer(&self) -> bool {
        self.timer.take()
    }

    /// Whether a signal fired since this was last asked (the note is cleared).
    pub(crate) fn take_signals(&self) -> bool {
        self.signals.take()
    }

    /// The waker of the signals, for a signal that wakes rather than is polled.
    pub(crate) fn signals_waker(&self) -> &Waker {
        &self.signals.waker
    }

    /// The context to poll the socket in.
    pub(crate) fn socket_cx(&self) -> Context<'_> {
        Context::from_waker(&self.socket.waker)
    }

    /// The context to poll the timer in.
    pub(crate) fn timer_cx(&self) -> Context<'_> {
        Context::from_waker(&self.timer.waker)
    }

    /// The context to poll the signals in.
    pub(crate) fn signals_cx(&self) -> Context<'_> {
        Context::from_waker(&self.signals.waker)
    }

    /// The socket is to be polled on the next turn (it gave something, and may have more, or
    /// the session wants frames again).
    pub(crate) fn poll_socket_next(&self) {
        self.socket.fire();
    }

    /// The timer is to be polled on the next turn (it was set anew).
    pub(crate) fn poll_timer_next(&self) {
        self.timer.fire();
    }

    /// The signals are to be polled on the next turn (one was ready and the others were not
    /// looked at, or one is new: a store read).
    pub(crate) fn poll_signals_next(&self) {
        self.signals.fire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_source_firing_notes_itself_and_wakes_the_task_last_registered() {
        let sources = Sources::new();
        // All are polled on the first turn.
        assert!(sources.take_socket() && sources.take_timer() && sources.take_signals());
        assert!(!sources.take_socket() && !sources.take_timer() && !sources.take_signals());

        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(count.clone());
        sources.register(&Context::from_waker(&task));
        sources.socket_cx().waker().wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(sources.take_socket());
        assert!(
            !sources.take_signals(),
            "only the source that fired is noted"
        );

        sources.register(&Context::from_waker(&task));
        sources.signals_cx().waker().wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(sources.take_signals());
        assert!(!sources.take_socket() && !sources.take_timer());

        sources.register(&Context::from_waker(&task));
        sources.timer_cx().waker().wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(sources.take_timer());
        assert!(!sources.take_socket() && !sources.take_signals());

        // Without a new registration the task is not woken again, but the note is kept.
        sources.socket_cx().waker().wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert!(sources.take_socket());

        sources.poll_socket_next();
        sources.poll_timer_next();
        sources.poll_signals_next();
        assert!(sources.take_socket() && sources.take_timer() && sources.take_signals());
    }
}
