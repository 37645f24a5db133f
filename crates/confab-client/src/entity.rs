//! One shared object per entity, the way the JS SDK keeps one `Conversation` (or `Message`,
//! `Participant`, `User`) object per SID: every handle on an entity points at the same
//! [`Shared`], the driver updates it in place, and its own event streams hear each change.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

/// A stream of events, in order. Ends when no more can come: the client shut down, the user
/// left the conversation, the message was removed, the participant left, the client stopped
/// following the user.
pub struct EventStream<E> {
    rx: mpsc::UnboundedReceiver<E>,
    /// The entity the stream is about, kept alive for as long as someone listens to it (a
    /// stream on a message outlives the app's last handle on the message).
    _keep: Option<Arc<dyn Any + Send + Sync>>,
}

impl<E> EventStream<E> {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<E>) -> EventStream<E> {
        EventStream { rx, _keep: None }
    }

    /// The next event; `None` once the stream has ended.
    pub async fn next(&mut self) -> Option<E> {
        self.rx.recv().await
    }
}

impl<E> std::fmt::Debug for EventStream<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

/// An entity's state and the streams listening to it.
pub(crate) struct Shared<T, E> {
    data: Mutex<T>,
    /// `None` once the entity has no more to say (a removed message, a participant that
    /// left, a stopped client): streams asked for then end at once.
    listeners: Mutex<Option<Vec<mpsc::UnboundedSender<E>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind, still fit to read.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Send + 'static, E: Clone + Send + 'static> Shared<T, E> {
    pub fn new(data: T) -> Arc<Self> {
        Arc::new(Shared {
            data: Mutex::new(data),
            listeners: Mutex::new(Some(Vec::new())),
        })
    }

    /// Reads the state.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&lock(&self.data))
    }

    /// Changes the state (the caller says what changed, and emits it).
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut lock(&self.data))
    }

    /// A new stream of the entity's events from now on.
    pub fn subscribe(self: &Arc<Self>) -> EventStream<E> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some(listeners) = lock(&self.listeners).as_mut() {
            // Streams the app dropped go here too, not only when the entity next speaks.
            listeners.retain(|l| !l.is_closed());
            listeners.push(tx);
        }
        let keep: Arc<dyn Any + Send + Sync> = self.clone();
        EventStream {
            rx,
            _keep: Some(keep),
        }
    }

    /// Ends every stream on the entity (a later `subscribe` starts a new one).
    pub fn close(&self) {
        if let Some(listeners) = lock(&self.listeners).as_mut() {
            listeners.clear();
        }
    }

    /// Ends every stream on the entity, now and later.
    pub fn end(&self) {
        *lock(&self.listeners) = None;
    }

    /// Hands `e` to every stream (forgetting those the app dropped).
    pub fn emit(&self, e: &E) {
        if let Some(listeners) = lock(&self.listeners).as_mut() {
            listeners.retain(|l| l.send(e.clone()).is_ok());
        }
    }
}

/// Whether two handles point at the same entity.
pub(crate) fn same<T: ?Sized>(a: &Arc<T>, b: &Arc<T>) -> bool {
    Arc::ptr_eq(a, b)
}
