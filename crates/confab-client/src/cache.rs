//! What the client remembers between calls: the conversations it has heard of and the users
//! it has looked up or heard from, each bounded (least recently touched goes first), so that a
//! client in many conversations keeps a small, steady footprint; and who listens to which
//! conversation's events. The driver applies each event here before the app hears it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use confab_protocol::entity::Conversation;
use confab_protocol::event::UserInfo;

use tokio::sync::mpsc;

use crate::events::ClientEvent;

/// A map that keeps at most `cap` entries, dropping the least recently touched.
#[derive(Debug)]
struct Bounded<V> {
    cap: usize,
    tick: u64,
    entries: HashMap<String, (u64, V)>,
}

impl<V: Clone> Bounded<V> {
    fn new(cap: usize) -> Self {
        Bounded {
            cap: cap.max(1),
            tick: 0,
            entries: HashMap::new(),
        }
    }

    fn put(&mut self, key: &str, value: V) {
        self.tick += 1;
        self.entries.insert(key.to_owned(), (self.tick, value));
        if self.entries.len() > self.cap {
            // A scan, not an LRU list: caps are a few hundred and eviction is rare.
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// The values, most recently touched first.
    fn values(&self) -> Vec<V> {
        let mut v: Vec<&(u64, V)> = self.entries.values().collect();
        v.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        v.into_iter().map(|(_, v)| v.clone()).collect()
    }

    fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key).map(|(_, v)| v.clone())
    }
}

/// The client's cache, shared by the driver (which applies events) and the app's handles.
#[derive(Debug, Clone)]
pub(crate) struct Cache(Arc<Mutex<Inner>>);

#[derive(Debug)]
struct Inner {
    conversations: Bounded<Conversation>,
    users: Bounded<UserInfo>,
    /// Per-conversation event streams ([`crate::ConversationHandle::events`]); registered
    /// here, not through the driver's commands, so a stream hears every event after its call.
    watchers: HashMap<String, Vec<mpsc::UnboundedSender<ClientEvent>>>,
    /// The client has stopped.
    closed: bool,
}

impl Cache {
    /// A cache of at most `cap` conversations and `cap` users.
    pub fn new(cap: usize) -> Cache {
        Cache(Arc::new(Mutex::new(Inner {
            conversations: Bounded::new(cap),
            users: Bounded::new(cap),
            watchers: HashMap::new(),
            closed: false,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new stream of `conversation`'s events.
    pub fn watch(&self, conversation: &str) -> mpsc::UnboundedReceiver<ClientEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut c = self.lock();
        if c.closed {
            // The client is gone: the stream ends at once.
            return rx;
        }
        // Streams the app dropped go here too, not only when their conversation next speaks.
        c.watchers.retain(|_, ws| {
            ws.retain(|w| !w.is_closed());
            !ws.is_empty()
        });
        c.watchers
            .entry(conversation.to_owned())
            .or_default()
            .push(tx);
        rx
    }

    /// The client has stopped: every conversation stream ends.
    pub fn close(&self) {
        let mut c = self.lock();
        c.closed = true;
        c.watchers.clear();
    }

    /// Applies an event the app is about to hear, and hands it to its conversation's
    /// streams (dropping those whose receiver is gone).
    pub fn apply(&self, e: &ClientEvent) {
        let mut c = self.lock();
        if let Some(sid) = e.conversation_sid()
            && let Some(watchers) = c.watchers.get_mut(sid.as_str())
        {
            watchers.retain(|w| w.send(e.clone()).is_ok());
            let over = matches!(
                e,
                ClientEvent::ConversationLeft(_) | ClientEvent::ConversationRemoved(_)
            );
            if watchers.is_empty() || over {
                // Nothing more comes of a conversation the user left: its streams end.
                c.watchers.remove(sid.as_str());
            }
        }
        match e {
            ClientEvent::ConversationAdded(conv) | ClientEvent::ConversationUpdated(conv) => {
                c.conversations.put(conv.sid.as_str(), (**conv).clone());
            }
            ClientEvent::ConversationJoined(m) => {
                if let Some(conv) = &m.conversation {
                    c.conversations.put(conv.sid.as_str(), conv.clone());
                }
            }
            ClientEvent::ConversationLeft(m) | ClientEvent::ConversationRemoved(m) => {
                c.conversations.remove(m.conversation_sid.as_str());
            }
            ClientEvent::UserUpdated(u) => c.users.put(&u.identity, (**u).clone()),
            _ => {}
        }
    }

    /// Remembers a user looked up.
    pub fn put_user(&self, u: &UserInfo) {
        self.lock().users.put(&u.identity, u.clone());
    }

    /// Remembers a conversation fetched.
    pub fn put_conversation(&self, conv: &Conversation) {
        self.lock()
            .conversations
            .put(conv.sid.as_str(), conv.clone());
    }

    /// The cached conversations, most recently touched first.
    pub fn conversations(&self) -> Vec<Conversation> {
        self.lock().conversations.values()
    }

    /// A cached conversation.
    pub fn conversation(&self, sid: &str) -> Option<Conversation> {
        self.lock().conversations.get(sid)
    }

    /// The cached users, most recently touched first.
    pub fn users(&self) -> Vec<UserInfo> {
        self.lock().users.values()
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn the_least_recently_touched_entry_goes_first() {
        let mut b = Bounded::new(2);
        b.put("a", 1);
        b.put("b", 2);
        b.put("a", 3);
        b.put("c", 4);
        assert_eq!(b.values(), vec![4, 3], "b was the least recently touched");
        b.remove("a");
        assert_eq!(b.values(), vec![4]);
    }
}
