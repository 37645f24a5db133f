//! What reaches one session from elsewhere: the items of its bounded queue (answers put there
//! by its request tasks, events put there by the hub) and the switch that ends it. A module
//! of its own, so that the hub, the request tasks and the session driver share these types
//! without importing one another.

use std::sync::Arc;
use std::task::Waker;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use confab_protocol::frame::CloseReason;
use confab_server_core::{Ending, is_participant_left};
use confab_store::{LogEntry, LogEvent};
use futures_util::task::AtomicWaker;
use tokio::sync::watch;

/// An item of a session's queue; frames shared by every recipient are the WebSocket
/// library's shared text, made once per event.
pub(crate) type Item = confab_server_core::Item<Utf8Bytes>;

/// A committed event as every recipient gets it.
pub(crate) type Live = confab_server_core::Live<Utf8Bytes>;

/// A log row as a session replays it.
pub(crate) type Row = confab_server_core::Row<Utf8Bytes>;

/// A frame as WebSocket text, sharing its bytes; `None` for one that is not UTF-8 (never, for
/// a frame this server encoded).
pub(crate) fn text(frame: &Arc<[u8]>) -> Option<Utf8Bytes> {
    Utf8Bytes::try_from(Bytes::from_owner(frame.clone())).ok()
}

/// A committed event, checked and classified once for all its recipients.
pub(crate) fn live(event: &LogEvent) -> Option<Live> {
    Some(Live {
        stream: event.stream.clone(),
        seq: event.seq,
        text: text(&event.frame)?,
        participant_left: is_participant_left(&event.frame),
        frame: event.frame.clone(),
    })
}

/// A log row, ready to send.
pub(crate) fn row(entry: LogEntry) -> Option<Row> {
    Some(Row {
        seq: entry.seq,
        text: text(&entry.frame)?,
        frame: entry.frame,
    })
}

/// Ends a session, once: the first ending set wins.
#[derive(Clone)]
pub(crate) struct Kill(Arc<Switch>);

struct Switch {
    ending: watch::Sender<Option<Ending>>,
    /// Wakes the session's task when the ending is set: its task looks at the ending only
    /// when told to, not on every turn (`sources`).
    wake: AtomicWaker,
}

impl Kill {
    /// A switch, and what its session watches.
    pub fn new() -> (Kill, watch::Receiver<Option<Ending>>) {
        let (ending, rx) = watch::channel(None);
        let wake = AtomicWaker::new();
        (Kill(Arc::new(Switch { ending, wake })), rx)
    }

    /// Ends the session with `reason` and its code.
    pub fn kill(&self, reason: CloseReason, message: impl Into<String>) {
        self.end(Ending::close(reason, message));
    }

    /// Ends the session as `ending` says, unless it is already ending.
    pub fn end(&self, ending: Ending) {
        let set = self.0.ending.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(ending);
                true
            } else {
                false
            }
        });
        if set {
            self.0.wake.wake();
        }
    }

    /// `waker` is woken when the ending is set (an ending set before this call wakes
    /// nobody: the session looks at its ending first thing).
    pub fn wake_on_end(&self, waker: &Waker) {
        self.0.wake.register(waker);
    }
}
