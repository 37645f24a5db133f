//! The hub: which sessions listen to which stream, and the hand-off of committed events to
//! them.
//!
//! The store hands the hub each committed write's events, in commit order (see the domain's
//! commit listener); the bus hands it what other nodes committed. For each event the hub
//! finds its stream's topic and puts the shared event (encoded once) into the bounded queue
//! of every session subscribed, without waiting. A full queue closes its session as a slow
//! consumer (it resumes from its cursors: slowness never grows memory and never loses data).
//!
//! Each topic keeps its stream in `seq` order: an event ahead of the next expected one (a
//! writer's hand-off overtaken by the next writer's on PostgreSQL, or the bus bringing two
//! nodes' events crosswise) waits a moment for the one before it ([`HOLD`]); if that does not
//! come (a publish lost between nodes) it goes on anyway, and each session reads the gap from
//! the log. There is no lock over all streams on the delivery path: topics sit in shards, and
//! a delivery holds only its own topic.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use confab_domain::EventSink;
use confab_protocol::frame::CloseReason;
use confab_protocol::sid::Sid;
use confab_server_core::{Ephemeral, Lag};
use confab_store::{LogEvent, Stream};
use tokio::sync::{Notify, mpsc};

use super::bus::Bus;
use super::outbound::{Item, Kill, Live, live, text};

/// How long an event ahead of its stream's next `seq` waits for the ones before it.
pub(crate) const HOLD: Duration = Duration::from_millis(20);

/// Events one stream may hold back at most; one more releases them all.
const HOLD_MAX: usize = 256;

/// Shards of the topic map: subscribing takes one shard's lock for a moment, delivering
/// reads one.
const SHARDS: usize = 16;

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

/// One stream's subscribers and order.
#[derive(Default)]
struct Topic {
    /// Replaced whole on every change, so a delivery reads it without copying.
    subs: RwLock<Arc<[Subscriber]>>,
    order: Mutex<Order>,
}

/// Where a stream's delivery stands.
#[derive(Default)]
struct Order {
    /// The last `seq` handed to the subscribers.
    last: Option<i64>,
    /// Events ahead of it, waiting for those before them.
    held: BTreeMap<i64, Arc<Live>>,
    /// When the oldest held event came (tokio's clock, which tests can stop).
    held_since: Option<tokio::time::Instant>,
    /// With other nodes: the newest `seq` the node has heard of (see `bus::reconcile`), and
    /// when it last heard of the stream or checked it against the log; `None` until a
    /// session's replay or an event tells.
    heard: Option<(i64, Instant)>,
}

/// Subscriptions by stream.
pub(crate) struct Hub {
    shards: Vec<RwLock<HashMap<Stream, Arc<Topic>>>>,
    hasher: std::collections::hash_map::RandomState,
    /// Streams holding events back, for [`Hub::release_held`].
    holding: Mutex<Vec<Stream>>,
    held: Notify,
    profiles: ProfileNews,
    /// The other nodes, when there are any (`ServerConfig::nats`).
    bus: OnceLock<Arc<Bus>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: Default::default(),
            holding: Mutex::default(),
            held: Notify::new(),
            profiles: ProfileNews::default(),
            bus: OnceLock::new(),
        }
    }
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
    fn shard(&self, stream: &Stream) -> &RwLock<HashMap<Stream, Arc<Topic>>> {
        let h = self.hasher.hash_one(stream);
        &self.shards[(h as usize) % SHARDS]
    }

    fn topic(&self, stream: &Stream) -> Option<Arc<Topic>> {
        read(self.shard(stream)).get(stream).cloned()
    }

    /// The users whose profile changed, as (service, identity); `None` after the first call.
    pub fn take_profile_news(&self) -> Option<mpsc::UnboundedReceiver<(Sid, String)>> {
        lock(&self.profiles.rx).take()
    }

    /// Starts delivering `stream`'s events to `sub` (once, however often it is called).
    pub fn subscribe(&self, stream: Stream, sub: &Subscriber) {
        let topic = write(self.shard(&stream))
            .entry(stream)
            .or_default()
            .clone();
        let mut subs = write(&topic.subs);
        if !subs.iter().any(|s| s.id == sub.id) {
            let mut more = subs.to_vec();
            more.push(sub.clone());
            *subs = more.into();
        }
    }

    /// Stops delivering `stream`'s events to session `id`.
    pub fn unsubscribe(&self, stream: &Stream, id: u64) {
        let mut shard = write(self.shard(stream));
        let Some(topic) = shard.get(stream) else {
            return;
        };
        let mut subs = write(&topic.subs);
        let left: Vec<Subscriber> = subs.iter().filter(|s| s.id != id).cloned().collect();
        let empty = left.is_empty();
        *subs = left.into();
        drop(subs);
        if empty {
            shard.remove(stream);
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
        // Not followed here (a conversation left while offline): nothing to check.
        let Some(topic) = self.topic(stream) else {
            return;
        };
        lock(&topic.order)
            .heard
            .get_or_insert_with(|| (seq, Instant::now()));
    }

    /// How many streams the node follows.
    pub fn followed_streams(&self) -> usize {
        self.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Up to `max` followed streams not heard of or checked for `quiet`, the quietest first,
    /// with the `seq` heard; they count as checked now.
    pub fn quiet_streams(&self, quiet: Duration, max: usize) -> Vec<(Stream, i64)> {
        let now = Instant::now();
        let mut due: Vec<(Instant, Stream, i64, Arc<Topic>)> = vec![];
        for shard in &self.shards {
            for (stream, topic) in read(shard).iter() {
                if let Some((seq, at)) = lock(&topic.order).heard
                    && now.duration_since(at) >= quiet
                {
                    due.push((at, stream.clone(), seq, topic.clone()));
                }
            }
        }
        due.sort_by_key(|(at, ..)| *at);
        due.truncate(max);
        due.into_iter()
            .map(|(_, stream, seq, topic)| {
                if let Some(heard) = lock(&topic.order).heard.as_mut() {
                    heard.1 = now;
                }
                (stream, seq)
            })
            .collect()
    }

    /// Hands committed events to this node's sessions (from this node's commits, the bus or
    /// the reconcile loop), each stream in `seq` order.
    pub fn deliver(&self, events: &[LogEvent]) {
        let tracks_heard = self.bus.get().is_some();
        for event in events {
            let Some(topic) = self.topic(&event.stream) else {
                continue;
            };
            let Some(live) = live(event).map(Arc::new) else {
                tracing::error!(stream = ?event.stream, seq = event.seq, "an event frame is not UTF-8");
                continue;
            };
            if sequence(&topic, live, tracks_heard) {
                // Registered once the topic's lock is let go: the releasing task takes them
                // the other way round.
                lock(&self.holding).push(event.stream.clone());
                self.held.notify_one();
            }
        }
    }

    /// Hands on, gap or not, what streams held back for longer than [`HOLD`], until the
    /// server stops: the sessions read any gap from the log.
    pub(crate) async fn release_held(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let next = {
                let mut holding = lock(&self.holding);
                let now = tokio::time::Instant::now();
                let mut next: Option<tokio::time::Instant> = None;
                holding.retain(|stream| {
                    let Some(topic) = self.topic(stream) else {
                        return false;
                    };
                    let mut order = lock(&topic.order);
                    match order.held_since {
                        Some(since) if now.duration_since(since) >= HOLD => {
                            release(&topic, &mut order);
                            false
                        }
                        Some(since) => {
                            let due = since + HOLD;
                            next = Some(next.map_or(due, |n| n.min(due)));
                            true
                        }
                        None => false,
                    }
                });
                next
            };
            let wait = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => self.held.notified().await,
                }
            };
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                () = wait => {}
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
        let Some(topic) = self.topic(&Stream::Conversation(conversation.clone())) else {
            return;
        };
        let Some(text) = text(frame) else {
            return;
        };
        let subs = read(&topic.subs).clone();
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
        let mut told = std::collections::HashSet::new();
        for conversation in conversations {
            let Some(topic) = self.topic(&Stream::Conversation(conversation.clone())) else {
                continue;
            };
            let subs = read(&topic.subs).clone();
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

/// Hands `live` to the topic's sessions in its stream's `seq` order: now, with whatever held
/// back it lets go; later, if it is ahead of the next `seq`; never, if it came before. True
/// if it is the first event the stream holds back.
fn sequence(topic: &Topic, live: Arc<Live>, tracks_heard: bool) -> bool {
    let mut order = lock(&topic.order);
    if tracks_heard {
        let seq = order.heard.map_or(live.seq, |(s, _)| s.max(live.seq));
        order.heard = Some((seq, Instant::now()));
    }
    match order.last {
        Some(last) if live.seq <= last => false,
        Some(last) if live.seq > last + 1 => {
            let first = order.held.is_empty();
            order.held.insert(live.seq, live);
            if order.held.len() > HOLD_MAX {
                release(topic, &mut order);
                false
            } else {
                if first {
                    order.held_since = Some(tokio::time::Instant::now());
                }
                first
            }
        }
        _ => {
            hand_out(topic, &live);
            // What waited for this one goes now, as far as there is no gap.
            let mut last = live.seq;
            while let Some(entry) = order.held.first_entry() {
                if *entry.key() != last + 1 {
                    break;
                }
                let next = entry.remove();
                hand_out(topic, &next);
                last = next.seq;
            }
            order.last = Some(last);
            if order.held.is_empty() {
                order.held_since = None;
            }
            false
        }
    }
}

/// Hands on everything a stream held back, in `seq` order, gaps and all.
fn release(topic: &Topic, order: &mut Order) {
    for (_, live) in std::mem::take(&mut order.held) {
        if order.last.is_none_or(|l| live.seq > l) {
            hand_out(topic, &live);
            order.last = Some(live.seq);
        }
    }
    order.held_since = None;
}

/// Puts an event into the queue of each of the topic's sessions.
fn hand_out(topic: &Topic, live: &Arc<Live>) {
    let subs = read(&topic.subs).clone();
    for sub in subs.iter() {
        match sub.tx.try_send(Item::Event(live.clone())) {
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

// Nothing panics while holding these locks; if something did, what they guard is still sound.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// `Hash` is what a shard is chosen by.
const _: fn() = || {
    fn is_hash<T: Hash>() {}
    is_hash::<Stream>();
};

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Stream {
        Stream::Conversation(Sid::from_trusted(format!("CH{:032x}", 1)))
    }

    fn event(seq: i64) -> LogEvent {
        LogEvent {
            stream: stream(),
            seq,
            frame: Arc::from(format!(r#"{{"op":"event","seq":{seq}}}"#).into_bytes()),
        }
    }

    fn subscriber(hub: &Hub) -> mpsc::Receiver<Item> {
        let (tx, rx) = mpsc::channel(64);
        let sub = Subscriber {
            id: 1,
            identity: "alice".into(),
            tx,
            kill: Kill::new().0,
            lag: Arc::default(),
        };
        hub.subscribe(stream(), &sub);
        rx
    }

    fn seqs(rx: &mut mpsc::Receiver<Item>) -> Vec<i64> {
        let mut got = vec![];
        while let Ok(Item::Event(e)) = rx.try_recv() {
            got.push(e.seq);
        }
        got
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_is_handed_on_in_seq_order_and_a_gap_waits_only_a_moment() {
        let hub = Arc::new(Hub::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let releaser = tokio::spawn({
            let hub = hub.clone();
            async move { hub.release_held(stopped).await }
        });
        let mut rx = subscriber(&hub);
        hub.deliver(&[event(1)]);
        // 3 overtook 2 (two writers' hand-offs crossed): it waits for 2.
        hub.deliver(&[event(3)]);
        assert_eq!(seqs(&mut rx), [1]);
        hub.deliver(&[event(2)]);
        assert_eq!(seqs(&mut rx), [2, 3]);
        // A repeat is dropped.
        hub.deliver(&[event(3)]);
        assert_eq!(seqs(&mut rx), Vec::<i64>::new());
        // 4 never comes (a publish lost between nodes): 5 and 6 go on after the hold, and
        // the session reads 4 from the log.
        hub.deliver(&[event(5), event(6)]);
        assert_eq!(seqs(&mut rx), Vec::<i64>::new());
        tokio::time::sleep(HOLD + Duration::from_millis(5)).await;
        assert_eq!(seqs(&mut rx), [5, 6]);
        hub.deliver(&[event(4), event(7)]);
        assert_eq!(seqs(&mut rx), [7]);
        stop.send_replace(true);
        releaser.await.unwrap();
    }
}
