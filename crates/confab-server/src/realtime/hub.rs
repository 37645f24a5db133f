//! The hub: which sessions listen to which stream, and the hand-off of committed events to
//! them.
//!
//! The domain calls [`Hub::publish`] right after each commit with the write's events. The hub
//! looks up the stream's subscribers and puts the shared event (its bytes encoded once, at
//! commit) into each session's bounded outbound queue without waiting. A queue that is full
//! marks its session a slow consumer: the session is closed with `slow_consumer` and the
//! client resumes from its cursors, so slowness never grows memory and never loses data.
//!
//! Delivery through the hub is a hint, not the truth: each session checks every stream's
//! `seq` and reads the log for anything it did not get (see `pump`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use confab_domain::EventSink;
use confab_protocol::frame::CloseReason;
use confab_protocol::sid::Sid;
use confab_server_core::{Ephemeral, Lag};
use confab_store::{LogEvent, Stream};
use tokio::sync::mpsc;

use super::bus::Bus;
use super::outbound::{Item, Kill, live, text};

/// A session as the hub sees it: where its events go and how to stop it.
#[derive(Clone)]
pub(crate) struct Subscriber {
    /// Unique per session.
    pub id: u64,
    /// The session's identity (ephemeral events skip their sender's own sessions).
    pub identity: String,
    /// The session's outbound queue.
    pub tx: mpsc::Sender<Item>,
    /// Closes the session.
    pub kill: Kill,
    /// Whether the session is still replaying, and fell behind meanwhile.
    pub lag: Arc<Lag>,
}

/// Subscriptions by stream.
#[derive(Default)]
pub(crate) struct Hub {
    streams: Mutex<HashMap<Stream, Vec<Subscriber>>>,
    profiles: ProfileNews,
    /// The other nodes, when there are any (`ServerConfig::nats`).
    bus: OnceLock<Arc<Bus>>,
    /// For each stream followed here: the newest `seq` this node has heard of, and when it
    /// last heard or checked (see `bus::reconcile`).
    heard: Mutex<HashMap<Stream, Heard>>,
}

/// What a node has heard of a stream it serves.
#[derive(Debug, Clone, Copy)]
struct Heard {
    /// The newest `seq` heard; `None` until a session's replay or an event tells.
    seq: Option<i64>,
    /// When it last heard or checked.
    at: Instant,
}

/// Users whose profile changed, passed from the domain (which must not wait) to the task that
/// announces them (`super::announce_profiles`).
struct ProfileNews {
    tx: mpsc::UnboundedSender<(Sid, String)>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<(Sid, String)>>>,
}

impl Default for ProfileNews {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        ProfileNews {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl Hub {
    /// The users whose profile changed, as (service, identity); `None` after the first call.
    pub fn take_profile_news(&self) -> Option<mpsc::UnboundedReceiver<(Sid, String)>> {
        lock(&self.profiles.rx).take()
    }

    /// Starts delivering `stream`'s events to `sub` (once, however often it is called).
    pub fn subscribe(&self, stream: Stream, sub: &Subscriber) {
        let mut streams = lock(&self.streams);
        let subs = streams.entry(stream).or_default();
        if !subs.iter().any(|s| s.id == sub.id) {
            subs.push(sub.clone());
        }
    }

    /// Stops delivering `stream`'s events to session `id`.
    pub fn unsubscribe(&self, stream: &Stream, id: u64) {
        let mut streams = lock(&self.streams);
        if let Some(subs) = streams.get_mut(stream) {
            subs.retain(|s| s.id != id);
            if subs.is_empty() {
                streams.remove(stream);
                lock(&self.heard).remove(stream);
            }
        }
    }

    /// The bus to the other nodes, if there is one.
    pub fn bus(&self) -> Option<&Arc<Bus>> {
        self.bus.get()
    }

    /// From now on what this hub publishes also goes to the other nodes.
    pub fn set_bus(&self, bus: Arc<Bus>) {
        let _ = self.bus.set(bus);
    }

    /// A session replayed `stream` up to `seq`: the node has heard that far.
    ///
    /// Only a stream the node has no figure for takes it. A replay that went past what the
    /// node heard means a publish was lost: the node's figure stays, so that the reconcile
    /// loop hands the newest entry to every session here (raising it would hide the loss from
    /// the sessions that did not replay).
    pub fn note_heard(&self, stream: &Stream, seq: i64) {
        if self.bus.get().is_none() {
            return;
        }
        let streams = lock(&self.streams);
        if !streams.contains_key(stream) {
            // Not followed here (a conversation left while offline): nothing to check.
            return;
        }
        let mut heard = lock(&self.heard);
        let h = heard.entry(stream.clone()).or_insert(Heard {
            seq: None,
            at: Instant::now(),
        });
        h.seq.get_or_insert(seq);
    }

    /// How many streams the node tracks for the reconcile loop.
    pub fn followed_streams(&self) -> usize {
        lock(&self.heard).len()
    }

    /// Up to `max` followed streams not heard of or checked for `quiet`, the quietest first,
    /// with the `seq` heard; they count as checked now.
    pub fn quiet_streams(&self, quiet: Duration, max: usize) -> Vec<(Stream, i64)> {
        let now = Instant::now();
        let mut heard = lock(&self.heard);
        let mut due: Vec<(Instant, Stream, i64)> = heard
            .iter()
            .filter(|(_, h)| now.duration_since(h.at) >= quiet)
            .filter_map(|(stream, h)| Some((h.at, stream.clone(), h.seq?)))
            .collect();
        due.sort_by_key(|(at, _, _)| *at);
        due.truncate(max);
        for (_, stream, _) in &due {
            if let Some(h) = heard.get_mut(stream) {
                h.at = now;
            }
        }
        due.into_iter()
            .map(|(_, stream, seq)| (stream, seq))
            .collect()
    }

    /// Hands committed events to this node's sessions (from this node's commits, the bus or
    /// the reconcile loop).
    pub fn deliver(&self, events: &[LogEvent]) {
        let streams = lock(&self.streams);
        let mut heard = self.bus.get().map(|_| lock(&self.heard));
        for event in events {
            let Some(subs) = streams.get(&event.stream) else {
                continue;
            };
            if let Some(heard) = heard.as_mut() {
                // Per event on the delivery path: the key is cloned only for a new stream.
                let now = Instant::now();
                match heard.get_mut(&event.stream) {
                    Some(h) => {
                        h.seq = Some(h.seq.map_or(event.seq, |s| s.max(event.seq)));
                        h.at = now;
                    }
                    None => {
                        heard.insert(
                            event.stream.clone(),
                            Heard {
                                seq: Some(event.seq),
                                at: now,
                            },
                        );
                    }
                }
            }
            let Some(event) = live(event).map(Arc::new) else {
                tracing::error!(stream = ?event.stream, seq = event.seq, "an event frame is not UTF-8");
                continue;
            };
            for sub in subs {
                match sub.tx.try_send(Item::Event(event.clone())) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        if !sub.lag.forgive() {
                            sub.kill.kill(
                                CloseReason::SlowConsumer,
                                "the outbound queue is full: read faster, then resume",
                            );
                        }
                    }
                    // The session is ending; it unsubscribes on its way out.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
    }

    /// A user's profile changed here: the announcing task tells everyone concerned.
    pub fn profile_changed_here(&self, service: &Sid, identity: &str) {
        // Fails only once the announcing task has stopped with the server.
        let _ = self
            .profiles
            .tx
            .send((service.clone(), identity.to_owned()));
    }
}

impl Hub {
    /// Hands an ephemeral event (typing, read horizons) of `conversation` to its sessions,
    /// except those of `skip`. Nothing is kept for later: a session whose queue is full
    /// misses it.
    pub fn publish_ephemeral(&self, conversation: &Sid, frame: Arc<[u8]>, skip: Option<&str>) {
        if let Some(bus) = self.bus.get() {
            bus.ephemeral(conversation, &frame, skip);
        }
        self.deliver_ephemeral(conversation, &frame, skip);
    }

    /// [`Hub::publish_ephemeral`] for this node's sessions only.
    pub fn deliver_ephemeral(&self, conversation: &Sid, frame: &Arc<[u8]>, skip: Option<&str>) {
        let streams = lock(&self.streams);
        let Some(subs) = streams.get(&Stream::Conversation(conversation.clone())) else {
            return;
        };
        let Some(text) = text(frame) else {
            return;
        };
        for sub in subs.iter().filter(|s| Some(s.identity.as_str()) != skip) {
            if has_headroom(sub) {
                let _ = sub.tx.try_send(Item::Ephemeral(Box::new(Ephemeral {
                    conversation: conversation.clone(),
                    text: text.clone(),
                    once: None,
                })));
            }
        }
    }

    /// News about `about` for the sessions of its conversations (not its own), numbered
    /// `version`: each session gets it once, through the first of `conversations` it follows,
    /// with that conversation's frame (`frame_for`).
    pub fn publish_news(
        &self,
        conversations: &[Sid],
        frame_for: impl Fn(&Sid) -> Option<Utf8Bytes>,
        about: &str,
        version: u64,
    ) {
        let streams = lock(&self.streams);
        let mut told = std::collections::HashSet::new();
        for conversation in conversations {
            let Some(subs) = streams.get(&Stream::Conversation(conversation.clone())) else {
                continue;
            };
            let mut frame = None;
            for sub in subs.iter().filter(|s| s.identity != about) {
                if !has_headroom(sub) || !told.insert(sub.id) {
                    continue;
                }
                let Some(text) = frame.get_or_insert_with(|| frame_for(conversation)).clone()
                else {
                    continue;
                };
                let _ = sub.tx.try_send(Item::Ephemeral(Box::new(Ephemeral {
                    conversation: conversation.clone(),
                    text,
                    once: Some((about.to_owned(), version)),
                })));
            }
        }
    }
}

impl EventSink for Hub {
    fn publish(&self, events: &[LogEvent]) {
        if let Some(bus) = self.bus.get() {
            bus.events(events);
        }
        self.deliver(events);
    }

    fn user_changed(&self, service: &Sid, identity: &str) {
        // Announced from here, to this node's sessions and (whole) to the other nodes.
        self.profile_changed_here(service, identity);
    }
}

/// Ephemeral events take at most half of a session's queue: the rest stays for committed
/// events, whose overflow closes the session.
fn has_headroom(sub: &Subscriber) -> bool {
    sub.tx.capacity() * 2 >= sub.tx.max_capacity()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something did, the map is still sound.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
