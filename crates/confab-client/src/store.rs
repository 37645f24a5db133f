//! The client's objects: one per conversation, message, participant and user, found by SID
//! (or identity), so that every handle the app gets on an entity is the same object, and the
//! lookups the handles make of it. `translate` turns each core output (and each answer that
//! tells of an object) into events, updating the objects in place.
//!
//! What is kept, and for how long: the user's conversations (with the participants the
//! client knows of) while the user is in them; any other conversation and every message
//! only while the app holds a handle or a stream on it (weak references, swept as the maps
//! grow); at most `cache_capacity` users, least recently touched dropped first. So a long
//! session's footprint follows what the user is in and what the app holds, not what it has
//! seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use confab_protocol::entity::{Message, Participant};
use confab_protocol::event::UserInfo;
use confab_protocol::sid::Sid;

use crate::client::Link;
use crate::conversation::ConversationHandle;
use crate::entity::{EventStream, Shared};
use crate::message::{MessageHandle, MessageShared, MessageUpdateReason};
use crate::participant::{
    ParticipantData, ParticipantHandle, ParticipantShared, ParticipantUpdateReason,
};
use crate::snapshot::{ConversationData, ConversationShared};
use crate::user::{UserEvent, UserHandle, UserShared, UserUpdateReason};

/// The weak maps are swept of dead entries when they have doubled since the last sweep.
const SWEEP_MIN: usize = 256;

mod translate;

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

    /// Puts `value` in; returns the entry it pushed out, if any.
    fn put(&mut self, key: &str, value: V) -> Option<V> {
        self.tick += 1;
        self.entries.insert(key.to_owned(), (self.tick, value));
        if self.entries.len() <= self.cap {
            return None;
        }
        // A scan, not an LRU list: caps are a few hundred and eviction is rare.
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, (t, _))| *t)
            .map(|(k, _)| k.clone())?;
        self.entries.remove(&oldest).map(|(_, v)| v)
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

/// The client's objects, shared by the driver and the app's handles.
#[derive(Clone)]
pub(crate) struct Store(Arc<Mutex<Inner>>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

struct Inner {
    /// The token's identity: its participants are the user's own.
    identity: Option<String>,
    /// The user's conversations, held.
    joined: HashMap<String, Arc<ConversationShared>>,
    /// Every conversation object alive (the user's among them).
    conversations: HashMap<String, Weak<ConversationShared>>,
    messages: HashMap<String, Weak<MessageShared>>,
    /// Every participant object alive, to end its streams when the client stops (its
    /// conversation's object may be gone).
    participants: HashMap<String, Weak<ParticipantShared>>,
    users: Bounded<Arc<UserShared>>,
    /// The client has stopped: streams asked for now end at once.
    closed: bool,
    sweep_at: usize,
}

impl Store {
    /// A store keeping at most `users_cap` users.
    pub fn new(users_cap: usize) -> Store {
        Store(Arc::new(Mutex::new(Inner {
            identity: None,
            joined: HashMap::new(),
            conversations: HashMap::new(),
            messages: HashMap::new(),
            participants: HashMap::new(),
            users: Bounded::new(users_cap),
            closed: false,
            sweep_at: SWEEP_MIN,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user's identity, once the token has been read.
    pub fn identity(&self) -> Option<String> {
        self.lock().identity.clone()
    }

    pub fn set_identity(&self, identity: Option<&str>) {
        let mut s = self.lock();
        if s.identity.as_deref() != identity
            && let Some(id) = identity
        {
            s.identity = Some(id.to_owned());
        }
    }

    /// The client has stopped: every stream of every object ends.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        for c in s.conversations.values().filter_map(Weak::upgrade) {
            c.end();
        }
        for m in s.messages.values().filter_map(Weak::upgrade) {
            m.end();
        }
        for p in s.participants.values().filter_map(Weak::upgrade) {
            p.end();
        }
        for u in s.users.values() {
            u.end();
        }
    }

    /// A new stream of an object's events; one that ends at once if the client has stopped
    /// (an object made after that, by a handle, is not among those `close` ended).
    pub fn subscribe<T, E>(&self, shared: &Arc<Shared<T, E>>) -> EventStream<E>
    where
        T: Send + 'static,
        E: Clone + Send + 'static,
    {
        // Under the store's lock, so that a stream is either ended by `close` or refused.
        let s = self.lock();
        if s.closed {
            let (_, rx) = tokio::sync::mpsc::unbounded_channel();
            return EventStream::new(rx);
        }
        shared.subscribe()
    }

    /// The one object of conversation `sid`.
    pub fn conversation(&self, link: &Link, sid: Sid) -> ConversationHandle {
        let c = self.lock().conversation(&sid);
        ConversationHandle::new(link, sid, c)
    }

    /// The object of conversation `sid`, if one is alive.
    pub fn peek(&self, link: &Link, sid: &str) -> Option<ConversationHandle> {
        let c = self.lock().conversations.get(sid).and_then(Weak::upgrade)?;
        let sid = c.with(|d| d.snapshot.sid.clone());
        Some(ConversationHandle::new(link, sid, c))
    }

    /// The user's conversations, most recently active first.
    pub fn joined(&self, link: &Link) -> Vec<ConversationHandle> {
        let mut all: Vec<(i64, ConversationHandle)> = self
            .lock()
            .joined
            .values()
            .map(|c| {
                let (at, sid) = c.with(|d| (d.last_activity, d.snapshot.sid.clone()));
                (at, ConversationHandle::new(link, sid, c.clone()))
            })
            .collect();
        all.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.sid().cmp(b.1.sid())));
        all.into_iter().map(|(_, h)| h).collect()
    }

    /// The one object of a message the app asked for, updated silently.
    pub fn message(&self, link: &Link, message: &Message) -> MessageHandle {
        let (h, _) = self.lock().message(message);
        message_handle(link, message, h)
    }

    /// The one object of a participant the app asked for, updated silently.
    pub fn participant(&self, link: &Link, p: &Participant) -> ParticipantHandle {
        let mut s = self.lock();
        let c = s.conversation(&p.conversation_sid);
        let (h, _) = s.participant(&c, p);
        participant_handle(link, p.sid.clone(), p.conversation_sid.clone(), h)
    }

    /// A participant the client already knows, by SID or identity.
    pub fn known_participant(
        &self,
        link: &Link,
        conversation: &Sid,
        sid: Option<&str>,
        identity: Option<&str>,
    ) -> Option<ParticipantHandle> {
        let c = self
            .lock()
            .conversations
            .get(conversation.as_str())
            .and_then(Weak::upgrade)?;
        let h = c.with(|d| {
            d.participants
                .iter()
                .find(|(k, p)| {
                    sid == Some(k.as_str())
                        || (identity.is_some()
                            && p.with(|p| {
                                !p.partial && p.participant.identity.as_deref() == identity
                            }))
                })
                .map(|(_, p)| p.clone())
        })?;
        let psid = h.with(|p| p.participant.sid.clone());
        Some(participant_handle(link, psid, conversation.clone(), h))
    }

    /// Drops a participant the server no longer has (met only through a late event).
    pub fn forget_participant(&self, conversation: &Sid, p: &Arc<ParticipantShared>) {
        let s = self.lock();
        if let Some(c) = s
            .conversations
            .get(conversation.as_str())
            .and_then(Weak::upgrade)
        {
            let sid = p.with(|d| d.participant.sid.clone());
            c.update(|d| {
                if d.participants
                    .get(sid.as_str())
                    .is_some_and(|q| Arc::ptr_eq(q, p))
                {
                    d.participants.remove(sid.as_str());
                }
            });
        }
        p.end();
    }

    /// The one object of a user the app looked up; the client follows it from now on.
    pub fn user(&self, link: &Link, info: &UserInfo) -> UserHandle {
        let (h, _) = self.lock().user(info);
        user_handle(link, &info.identity, h)
    }

    /// The users the client follows, most recently touched first.
    pub fn users(&self, link: &Link) -> Vec<UserHandle> {
        self.lock()
            .users
            .values()
            .into_iter()
            .map(|u| {
                let identity = u.with(|i| i.identity.clone());
                user_handle(link, &identity, u)
            })
            .collect()
    }

    /// Whether `user` is the object the client follows for `identity`.
    pub fn follows(&self, identity: &str, user: &Arc<UserShared>) -> bool {
        self.lock()
            .users
            .get(identity)
            .is_some_and(|u| Arc::ptr_eq(&u, user))
    }
}

fn message_handle(link: &Link, m: &Message, shared: Arc<MessageShared>) -> MessageHandle {
    MessageHandle {
        link: link.clone(),
        sid: m.sid.clone(),
        conversation_sid: m.conversation_sid.clone(),
        shared,
    }
}

fn participant_handle(
    link: &Link,
    sid: Sid,
    conversation_sid: Sid,
    shared: Arc<ParticipantShared>,
) -> ParticipantHandle {
    ParticipantHandle {
        link: link.clone(),
        sid,
        conversation_sid,
        shared,
    }
}

fn user_handle(link: &Link, identity: &str, shared: Arc<UserShared>) -> UserHandle {
    UserHandle {
        link: link.clone(),
        identity: identity.to_owned(),
        shared,
    }
}

impl Inner {
    fn held(&self) -> usize {
        self.conversations.len() + self.messages.len() + self.participants.len()
    }

    fn sweep(&mut self) {
        if self.held() < self.sweep_at {
            return;
        }
        self.conversations.retain(|_, w| w.strong_count() > 0);
        self.messages.retain(|_, w| w.strong_count() > 0);
        self.participants.retain(|_, w| w.strong_count() > 0);
        self.sweep_at = (2 * self.held()).max(SWEEP_MIN);
    }

    /// A participant object made: registered so the client's stop ends its streams.
    fn made(&mut self, sid: &Sid, data: ParticipantData) -> Arc<ParticipantShared> {
        let h = ParticipantShared::new(data);
        self.sweep();
        self.participants
            .insert(sid.as_str().to_owned(), Arc::downgrade(&h));
        h
    }

    fn conversation(&mut self, sid: &Sid) -> Arc<ConversationShared> {
        if let Some(c) = self.conversations.get(sid.as_str()).and_then(Weak::upgrade) {
            return c;
        }
        let c = ConversationShared::new(ConversationData::new(sid.clone()));
        self.sweep();
        self.conversations
            .insert(sid.as_str().to_owned(), Arc::downgrade(&c));
        c
    }

    fn message(&mut self, m: &Message) -> (Arc<MessageShared>, Vec<MessageUpdateReason>) {
        if let Some(h) = self.messages.get(m.sid.as_str()).and_then(Weak::upgrade) {
            let reasons = h.update(|old| {
                let r = MessageUpdateReason::between(old, m);
                *old = m.clone();
                r
            });
            return (h, reasons);
        }
        let h = MessageShared::new(m.clone());
        self.sweep();
        self.messages
            .insert(m.sid.as_str().to_owned(), Arc::downgrade(&h));
        (h, vec![])
    }

    /// The one object of participant `p` in `c`, made or updated; the reasons, or `None`
    /// when the client had not known it (fully) before.
    fn participant(
        &mut self,
        c: &Arc<ConversationShared>,
        p: &Participant,
    ) -> (Arc<ParticipantShared>, Option<Vec<ParticipantUpdateReason>>) {
        let known = c.with(|d| d.participants.get(p.sid.as_str()).cloned());
        if let Some(h) = known {
            let reasons = h.update(|d| {
                let r = (!d.partial).then(|| ParticipantUpdateReason::between(&d.participant, p));
                d.participant = p.clone();
                d.partial = false;
                r
            });
            return (h, reasons);
        }
        let h = self.made(
            &p.sid,
            ParticipantData {
                participant: p.clone(),
                typing: false,
                partial: false,
            },
        );
        c.update(|d| d.participants.insert(p.sid.as_str().to_owned(), h.clone()));
        (h, None)
    }

    /// The object the client follows for a user, made or updated.
    fn user(&mut self, info: &UserInfo) -> (Arc<UserShared>, Vec<UserUpdateReason>) {
        if let Some(h) = self.users.get(&info.identity) {
            let reasons = h.update(|old| {
                let r = UserUpdateReason::between(old, info);
                *old = info.clone();
                r
            });
            self.users.put(&info.identity, h.clone());
            return (h, reasons);
        }
        let h = UserShared::new(info.clone());
        if let Some(dropped) = self.users.put(&info.identity, h.clone()) {
            dropped.emit(&UserEvent::Unsubscribed);
            // No more comes of a user the client no longer follows.
            dropped.end();
        }
        (h, vec![])
    }

    fn handle(&self, link: &Link, c: &Arc<ConversationShared>) -> ConversationHandle {
        let sid = c.with(|d| d.snapshot.sid.clone());
        ConversationHandle::new(link, sid, c.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn the_least_recently_touched_entry_goes_first() {
        let mut b = Bounded::new(2);
        assert_eq!(b.put("a", 1), None);
        assert_eq!(b.put("b", 2), None);
        assert_eq!(b.put("a", 3), None);
        assert_eq!(b.put("c", 4), Some(2), "b was the least recently touched");
        assert_eq!(b.values(), vec![4, 3]);
    }
}
