//! The client's objects: one per conversation, message, participant and user, found by SID
//! (or identity), so that every handle the app gets on an entity is the same object. The
//! driver turns each core output into [`ClientEvent`]s here, updating the objects in place
//! and telling their own streams first.
//!
//! What is kept, and for how long: the user's conversations (with the participants the
//! client knows of) while the user is in them; any other conversation and every message
//! only while the app holds a handle or a stream on it (weak references, swept as the maps
//! grow); at most `cache_capacity` users, least recently touched dropped first. So a long
//! session's footprint follows what the user is in and what the app holds, not what it has
//! seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use confab_client_core::Output;
use confab_protocol::ErrorCode;
use confab_protocol::entity::{Message, NotificationLevel, Participant};
use confab_protocol::event::{EventBody, EventFrame, Typing, UserInfo};
use confab_protocol::method::{self as m, JoinedConversation};
use confab_protocol::sid::Sid;

use crate::client::{Link, Update};
use crate::conversation::ConversationHandle;
use crate::entity::{EventStream, Shared};
use crate::events::ClientEvent;
use crate::message::{MessageEvent, MessageHandle, MessageShared, MessageUpdateReason};
use crate::participant::{
    ParticipantData, ParticipantEvent, ParticipantHandle, ParticipantShared,
    ParticipantUpdateReason,
};
use crate::snapshot::{
    ConversationData, ConversationShared, ConversationStatus, ConversationUpdateReason,
};
use crate::user::{UserEvent, UserHandle, UserShared, UserUpdateReason};

/// The weak maps are swept of dead entries when they have doubled since the last sweep.
const SWEEP_MIN: usize = 256;

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

/// An event for the app, told first to the streams of its conversation.
fn tell(out: &mut Vec<ClientEvent>, conversation: &ConversationShared, e: ClientEvent) {
    conversation.emit(&e);
    out.push(e);
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

    /// The events of what an answer told (the driver's, in turn with the core's outputs): a
    /// conversation read as the user's is listed (`ConversationAdded` the first time,
    /// `ConversationUpdated` after), a read horizon set moves the conversation's.
    pub fn apply(&self, link: &Link, update: Update) -> Vec<ClientEvent> {
        let mut out = vec![];
        let mut s = self.lock();
        match update {
            Update::Summaries(all) => {
                for j in &all {
                    s.listed(link, j, &mut out);
                }
            }
            Update::Read {
                conversation,
                index,
            } => {
                // By unique name, or one the client holds no object for: nothing to update.
                if let Some(c) = s.conversations.get(&conversation).and_then(Weak::upgrade) {
                    let r = c.update(|d| d.set_read(index));
                    s.updated(link, &c, r.into_iter().collect(), &mut out);
                }
            }
        }
        out
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

    /// The app-facing events of a core output, with every object they touch updated and
    /// the objects' own streams told. Responses are the driver's.
    pub fn translate(&self, link: &Link, o: Output) -> Vec<ClientEvent> {
        let mut out = vec![];
        match o {
            Output::StateChanged(s) => out.push(ClientEvent::StateChanged(s)),
            Output::ConnectionStateChanged(s) => out.push(ClientEvent::ConnectionStateChanged(s)),
            Output::ConnectionError {
                terminal,
                code,
                message,
            } => out.push(ClientEvent::ConnectionError {
                terminal,
                code,
                message,
            }),
            Output::TokenAboutToExpire { remaining_ms } => {
                out.push(ClientEvent::TokenAboutToExpire {
                    remaining: std::time::Duration::from_millis(remaining_ms),
                });
            }
            Output::TokenExpired => out.push(ClientEvent::TokenExpired),
            Output::ConversationAdded(j) => self.lock().listed(link, &j, &mut out),
            Output::Event(e) => self.lock().event(link, *e, &mut out),
            Output::Response { .. } => {}
        }
        out
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

/// Unix time in ms.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A participant known only from an ephemeral event, until the client reads the rest.
fn partial_participant(conversation: &Sid, sid: Sid, identity: &str) -> Participant {
    Participant {
        sid,
        conversation_sid: conversation.clone(),
        identity: Some(identity.to_owned()),
        attributes: "{}".into(),
        messaging_binding: None,
        role_sid: None,
        last_read_message_index: None,
        last_read_timestamp: None,
        notification_level: NotificationLevel::Default,
        date_created: 0,
        date_updated: 0,
    }
}

/// The reasons naming every field a participant has, for one the client meets in an
/// update (what it was before is unknown).
fn present(p: &Participant) -> Vec<ParticipantUpdateReason> {
    use ParticipantUpdateReason as R;
    let mut r = vec![R::DateUpdated];
    if p.attributes != "{}" {
        r.push(R::Attributes);
    }
    if p.role_sid.is_some() {
        r.push(R::RoleSid);
    }
    if p.last_read_message_index.is_some() {
        r.push(R::LastReadMessageIndex);
    }
    if p.last_read_timestamp.is_some() {
        r.push(R::LastReadTimestamp);
    }
    r
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

    /// The participant an ephemeral event names: known, or made from the event and read in
    /// full in the background.
    fn typist(
        &mut self,
        link: &Link,
        c: &Arc<ConversationShared>,
        sid: Option<&Sid>,
        identity: &str,
    ) -> Option<(Sid, Arc<ParticipantShared>)> {
        let known = c.with(|d| {
            d.participants
                .iter()
                .find(|(k, p)| {
                    sid.is_some_and(|s| s.as_str() == k.as_str())
                        || (sid.is_none()
                            && p.with(|p| p.participant.identity.as_deref() == Some(identity)))
                })
                .map(|(_, p)| p.clone())
        });
        if let Some(h) = known {
            let psid = h.with(|p| p.participant.sid.clone());
            return Some((psid, h));
        }
        // A typer with no participant (an operator, say) is no one the app could be shown.
        let sid = sid?.clone();
        let conversation = c.with(|d| d.snapshot.sid.clone());
        let h = self.made(
            &sid,
            ParticipantData {
                participant: partial_participant(&conversation, sid.clone(), identity),
                typing: false,
                partial: true,
            },
        );
        c.update(|d| d.participants.insert(sid.as_str().to_owned(), h.clone()));
        let (link, fill, participant) = (link.clone(), h.clone(), sid.as_str().to_owned());
        tokio::spawn(async move {
            let asked = m::ParticipantRef {
                conversation: conversation.as_str().to_owned(),
                participant,
            };
            match link.call::<m::ParticipantGet>(asked).await {
                Ok(full) => fill.update(|d| {
                    if d.partial {
                        d.participant = full;
                        d.partial = false;
                    }
                }),
                // A late event of a participant that has left: it is no one now.
                Err(e) if e.code == ErrorCode::NotFound.code() => {
                    link.store.forget_participant(&conversation, &fill);
                }
                Err(_) => {}
            }
        });
        Some((sid, h))
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

    /// An item of the user's listing.
    fn listed(&mut self, link: &Link, j: &JoinedConversation, out: &mut Vec<ClientEvent>) {
        let c = self.conversation(&j.conversation.sid);
        let (fresh, reasons) = c.update(|d| {
            let fresh = !d.announced || d.snapshot.status != ConversationStatus::Joined;
            let r = d.apply_summary(j);
            d.announced = true;
            (fresh, r)
        });
        self.participant(&c, &j.participant);
        self.joined
            .insert(j.conversation.sid.as_str().to_owned(), c.clone());
        let h = self.handle(link, &c);
        if fresh {
            tell(out, &c, ClientEvent::ConversationAdded(h));
        } else if !reasons.is_empty() {
            let e = ClientEvent::ConversationUpdated {
                conversation: h,
                reasons,
            };
            tell(out, &c, e);
        }
    }

    fn updated(
        &self,
        link: &Link,
        c: &Arc<ConversationShared>,
        reasons: Vec<ConversationUpdateReason>,
        out: &mut Vec<ClientEvent>,
    ) {
        if reasons.is_empty() {
            return;
        }
        let e = ClientEvent::ConversationUpdated {
            conversation: self.handle(link, c),
            reasons,
        };
        tell(out, c, e);
    }

    /// A participant changed: its own event, and the conversation's when it is the user's
    /// (its read horizon and notification level are the conversation's too).
    fn participant_updated(
        &self,
        link: &Link,
        c: &Arc<ConversationShared>,
        (sid, p): (Sid, Arc<ParticipantShared>),
        reasons: Vec<ParticipantUpdateReason>,
        out: &mut Vec<ClientEvent>,
    ) {
        let (identity, index, level) = p.with(|d| {
            let level = (!d.partial).then_some(d.participant.notification_level);
            (
                d.participant.identity.clone(),
                d.participant.last_read_message_index,
                level,
            )
        });
        if identity.is_some() && identity == self.identity {
            let mine = c.update(|d| {
                let mut r: Vec<_> = d.set_read(index).into_iter().collect();
                r.extend(level.and_then(|l| d.set_level(l)));
                r
            });
            self.updated(link, c, mine, out);
        }
        if reasons.is_empty() {
            return;
        }
        p.emit(&ParticipantEvent::Updated(reasons.clone()));
        let participant = participant_handle(link, sid, c.with(|d| d.snapshot.sid.clone()), p);
        let e = ClientEvent::ParticipantUpdated {
            participant,
            reasons,
        };
        tell(out, c, e);
    }

    fn typing(&mut self, link: &Link, t: &Typing, started: bool, out: &mut Vec<ClientEvent>) {
        let c = self.conversation(&t.conversation_sid);
        let Some((sid, p)) = self.typist(link, &c, t.participant_sid.as_ref(), &t.identity) else {
            return;
        };
        p.update(|d| d.typing = started);
        let (own, e): (_, fn(ParticipantHandle) -> ClientEvent) = if started {
            (ParticipantEvent::TypingStarted, ClientEvent::TypingStarted)
        } else {
            (ParticipantEvent::TypingEnded, ClientEvent::TypingEnded)
        };
        p.emit(&own);
        let h = participant_handle(link, sid, t.conversation_sid.clone(), p);
        tell(out, &c, e(h));
    }

    fn event(&mut self, link: &Link, e: EventFrame, out: &mut Vec<ClientEvent>) {
        match e.body {
            EventBody::ConversationAdded(conv) | EventBody::ConversationUpdated(conv) => {
                let c = self.conversation(&conv.sid);
                let reasons = c.update(|d| d.apply(&conv));
                self.updated(link, &c, reasons, out);
            }
            EventBody::ConversationJoined(mem) => {
                let c = self.conversation(&mem.conversation_sid);
                let (fresh, reasons) = c.update(|d| {
                    let fresh = !d.announced || d.snapshot.status != ConversationStatus::Joined;
                    if fresh {
                        // A new participant: nothing read yet, notified by default, active now.
                        d.set_read(None);
                        d.set_level(NotificationLevel::Default);
                        d.last_activity = d.last_activity.max(unix_ms());
                    }
                    let mut r = mem
                        .conversation
                        .as_ref()
                        .map(|v| d.apply(v))
                        .unwrap_or_default();
                    r.extend(d.set_status(ConversationStatus::Joined));
                    d.announced = true;
                    (fresh, r)
                });
                self.joined
                    .insert(mem.conversation_sid.as_str().to_owned(), c.clone());
                if fresh {
                    let h = self.handle(link, &c);
                    tell(out, &c, ClientEvent::ConversationAdded(h.clone()));
                    tell(out, &c, ClientEvent::ConversationJoined(h));
                    // Its counts and last message are read at once, and come as an update.
                    let (link, sid) = (link.clone(), mem.conversation_sid.clone());
                    tokio::spawn(async move {
                        let _ = link.summary(sid.as_str()).await;
                    });
                } else {
                    self.updated(link, &c, reasons, out);
                }
            }
            EventBody::ConversationLeft(mem) | EventBody::ConversationRemoved(mem) => {
                let Some(c) = self.joined.remove(mem.conversation_sid.as_str()) else {
                    return;
                };
                let was = c.update(|d| {
                    d.announced = false;
                    let was = d.snapshot.status;
                    d.set_status(ConversationStatus::NotParticipating);
                    was
                });
                self.updated(link, &c, vec![ConversationUpdateReason::Status], out);
                // Nothing more comes of its participants either: their streams end, and a
                // return meets new objects.
                for p in c
                    .update(|d| std::mem::take(&mut d.participants))
                    .into_values()
                {
                    p.end();
                }
                let h = self.handle(link, &c);
                if was == ConversationStatus::Joined {
                    tell(out, &c, ClientEvent::ConversationLeft(h.clone()));
                }
                tell(out, &c, ClientEvent::ConversationRemoved(h));
                // Nothing more comes of a conversation the user is not in: its streams end.
                c.close();
            }
            EventBody::ConversationReset(r) => {
                let c = self.conversation(&Sid::from_trusted(e.stream));
                let e = ClientEvent::ConversationReset {
                    conversation: self.handle(link, &c),
                    seq: r.seq,
                };
                tell(out, &c, e);
            }
            EventBody::MessageAdded(msg) => {
                let c = self.conversation(&msg.conversation_sid);
                let (h, _) = self.message(&msg);
                let added = ClientEvent::MessageAdded(message_handle(link, &msg, h));
                tell(out, &c, added);
                let last = c.update(|d| d.set_last(msg.index, Some(msg.date_created)));
                self.updated(link, &c, last.into_iter().collect(), out);
            }
            EventBody::MessageUpdated(msg) => {
                let c = self.conversation(&msg.conversation_sid);
                let (h, reasons) = self.message(&msg);
                if !reasons.is_empty() {
                    h.emit(&MessageEvent::Updated(reasons.clone()));
                }
                let message = message_handle(link, &msg, h);
                tell(out, &c, ClientEvent::MessageUpdated { message, reasons });
            }
            EventBody::MessageRemoved(msg) => {
                let c = self.conversation(&msg.conversation_sid);
                let (h, _) = self.message(&msg);
                h.emit(&MessageEvent::Removed);
                // Nothing more comes of a removed message.
                h.end();
                tell(
                    out,
                    &c,
                    ClientEvent::MessageRemoved(message_handle(link, &msg, h)),
                );
            }
            EventBody::ParticipantJoined(p) => {
                let c = self.conversation(&p.conversation_sid);
                let (h, _) = self.participant(&c, &p);
                let h = participant_handle(link, p.sid.clone(), p.conversation_sid.clone(), h);
                tell(out, &c, ClientEvent::ParticipantJoined(h));
            }
            EventBody::ParticipantUpdated(p) => {
                let c = self.conversation(&p.conversation_sid);
                let (h, reasons) = self.participant(&c, &p);
                let reasons = reasons.unwrap_or_else(|| present(&p));
                self.participant_updated(link, &c, (p.sid.clone(), h), reasons, out);
            }
            EventBody::ParticipantLeft(p) => {
                let c = self.conversation(&p.conversation_sid);
                let (h, _) = self.participant(&c, &p);
                c.update(|d| d.participants.remove(p.sid.as_str()));
                h.emit(&ParticipantEvent::Left);
                // A participant that comes back is a new one, with a new SID.
                h.end();
                let h = participant_handle(link, p.sid.clone(), p.conversation_sid.clone(), h);
                tell(out, &c, ClientEvent::ParticipantLeft(h));
            }
            EventBody::ReadHorizon(hz) => {
                let c = self.conversation(&hz.conversation_sid);
                let Some(p) = self.typist(link, &c, Some(&hz.participant_sid), &hz.identity) else {
                    return;
                };
                let reasons = p.1.update(|d| {
                    if d.participant.last_read_message_index == hz.last_read_message_index {
                        return vec![];
                    }
                    d.participant.last_read_message_index = hz.last_read_message_index;
                    vec![ParticipantUpdateReason::LastReadMessageIndex]
                });
                self.participant_updated(link, &c, p, reasons, out);
            }
            EventBody::TypingStarted(t) => self.typing(link, &t, true, out),
            EventBody::TypingEnded(t) => self.typing(link, &t, false, out),
            EventBody::UserUpdated(u) => {
                let (h, reasons) = match self.users.get(&u.identity) {
                    Some(_) => self.user(&u),
                    // One the client does not follow is not taken in (strangers' presence
                    // would push out the users the app looked up); what changed is unknown.
                    None => (UserShared::new(u.clone()), UserUpdateReason::all()),
                };
                if reasons.is_empty() {
                    return;
                }
                h.emit(&UserEvent::Updated(reasons.clone()));
                out.push(ClientEvent::UserUpdated {
                    user: user_handle(link, &u.identity, h),
                    reasons,
                });
            }
        }
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
