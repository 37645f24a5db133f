//! The realtime endpoint, `GET /v1/realtime` (subprotocol `confab.v1.json`): one WebSocket per
//! client, through which it calls every operation and receives every change live, and after
//! any disconnect resumes with nothing lost and nothing twice. `docs/PROTOCOL.md` is the
//! specification; DESIGN.md sections 3 and 4 the contract.
//!
//! How a write reaches a session: the domain commits it with its events, the store hands the
//! committed events to the [`hub`] in commit order, and the hub puts each (encoded once,
//! shared) into the bounded queue of every session subscribed to its stream (a full queue
//! closes that session with `slow_consumer`). Each session is one task (`driver`) around a
//! sans-IO state machine (`confab_server_core::Session`) that owns the session's cursors:
//! it replays the logs after the client's cursors, checks every live event's `seq` (a gap is
//! read from the log), and writes in batches.
//!
//! - [`hub`]: which session listens to which stream, and the hand-off of committed events.
//! - `outbound`: what a session's queue holds, and the switch that ends a session.
//! - `driver`: a session's task; `wire`: its socket (reads, writes, closes).
//! - `requests`: runs each request in a task of its own, with `op_id` de-duplication
//!   (`dedup`); `dispatch` routes each method of the table to the domain.
//! - `typing`, `horizons`, `presence`: the ephemeral events (typing indicators, coalesced
//!   read horizons, reachability and profile news).
//! - `bus`: other nodes (NATS), and the check against the log for what the bus lost.
//! - `echo`: a WebSocket echo on the same stack, for conformance suites; off by default.

pub(crate) mod bus;
mod dedup;
mod dispatch;
mod driver;
mod echo;
mod horizons;
pub(crate) mod hub;
mod outbound;
mod presence;
mod requests;
mod typing;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::routing::get;
use confab_domain::{Actor, Domain};
use confab_protocol::frame::{MAX_FRAME_BYTES, REALTIME_PATH, SUBPROTOCOL};
use confab_protocol::sid::Sid;
use confab_token::Verifier;
use tokio::sync::watch;

pub use echo::ECHO_PATH;

use crate::rest::rate_limit::{RateLimit, RateLimiter};

/// Settings of the realtime endpoint.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// The heartbeat interval H told to clients in `welcome`.
    pub heartbeat: Duration,
    /// Silence allowed beyond 2H before a link is declared dead.
    pub heartbeat_grace: Duration,
    /// How long a new connection may take to send `hello`.
    pub hello_timeout: Duration,
    /// How long one write to a client's socket may take before the session is dropped.
    pub write_timeout: Duration,
    /// Frames a session's outbound queue holds; one more closes it with `slow_consumer`.
    pub queue_capacity: usize,
    /// Requests one session may have running at once; one more is answered with 20429 and
    /// not run.
    pub max_pending_requests: usize,
    /// How long `op_id` answers are remembered (longer than any client's request timeout).
    pub op_ttl: Duration,
    /// The most `op_id`s remembered at once; past it the oldest are forgotten first.
    pub op_cache_entries: usize,
    /// How long conversation log rows are kept for replay; `None` keeps them forever.
    pub log_retention: Option<Duration>,
    /// How often old log rows are pruned.
    pub prune_interval: Duration,
    /// How long a typing indicator lasts without another `conversation.typing`.
    pub typing_timeout: Duration,
    /// Sessions one identity may have open on this server at once; one more is closed with
    /// `too_many_sessions` (20429) right after `hello`.
    pub max_sessions_per_identity: usize,
    /// Requests one identity may make, over all its sessions on this server; past it a
    /// request is answered 20429 and not run.
    pub identity_rate: RateLimit,
    /// Messages (`message.send`) one conversation may take from realtime clients, all senders
    /// together; past it a send is answered 20429 and not run.
    pub conversation_rate: RateLimit,
    /// With several nodes: how often a node says on the bus that it is alive, with its users.
    pub node_heartbeat: Duration,
    /// With several nodes: how long a node may stay silent on the bus before its users count
    /// as offline everywhere (a few missed heartbeats).
    pub node_silence: Duration,
    /// Serves a WebSocket echo at [`ECHO_PATH`] on the realtime endpoint's WebSocket stack,
    /// for conformance suites (`scripts/autobahn`). Off unless asked for.
    pub websocket_echo: bool,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            heartbeat: Duration::from_secs(15),
            heartbeat_grace: Duration::from_secs(5),
            hello_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            queue_capacity: 1024,
            max_pending_requests: 64,
            op_ttl: Duration::from_secs(300),
            // A few tens of megabytes at most (a message's entry keeps no answer).
            op_cache_entries: 100_000,
            log_retention: Some(Duration::from_secs(7 * 24 * 3600)),
            prune_interval: Duration::from_secs(60),
            typing_timeout: Duration::from_secs(5),
            max_sessions_per_identity: 10,
            // Far above what a person or an app's screens do; they stop a runaway client.
            identity_rate: RateLimit {
                per_second: 100.0,
                burst: 200,
            },
            // A thousand participants' messages at this rate are a million deliveries a
            // second, past what one server delivers: it stops a flood of one conversation,
            // not a busy one (the reference product's 30 a second is a setting, not this).
            conversation_rate: RateLimit {
                per_second: 1000.0,
                burst: 2000,
            },
            node_heartbeat: Duration::from_secs(2),
            node_silence: Duration::from_secs(8),
            websocket_echo: false,
        }
    }
}

/// Everything sessions share.
pub(crate) struct Realtime {
    pub domain: Domain,
    pub verifier: Verifier,
    pub hub: Arc<hub::Hub>,
    pub config: RealtimeConfig,
    pub ops: dedup::OpCache,
    pub typing: Arc<typing::TypingTracker>,
    pub horizons: Arc<horizons::Horizons>,
    pub presence: presence::Presence,
    /// Open sessions per (service, identity), for `max_sessions_per_identity`.
    slots: std::sync::Mutex<std::collections::HashMap<(Sid, String), usize>>,
    identity_limiter: RateLimiter,
    conversation_limiter: RateLimiter,
    /// Turns true when the server stops: every session closes with `shutting_down`.
    pub shutdown: watch::Receiver<bool>,
    next_id: AtomicU64,
    /// Sessions and requests under way, so that shutdown can wait for them.
    active: watch::Sender<usize>,
    /// Open sessions (past `hello`).
    sessions: watch::Sender<usize>,
    /// Sessions ended, by close reason (`dropped` for links dropped without a close frame).
    closes: std::sync::Mutex<std::collections::HashMap<&'static str, u64>>,
}

/// One of an identity's session slots, given back when dropped.
pub(crate) struct Slot<'a> {
    rt: &'a Realtime,
    key: (Sid, String),
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut slots = lock(&self.rt.slots);
        if let Some(n) = slots.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                slots.remove(&self.key);
            }
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts one session or request as under way while it lives.
pub(crate) struct Active(watch::Sender<usize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Realtime {
    pub fn new(
        domain: Domain,
        verifier: Verifier,
        hub: Arc<hub::Hub>,
        config: RealtimeConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Realtime {
        Realtime {
            ops: dedup::OpCache::new(config.op_ttl, config.op_cache_entries),
            typing: Arc::new(typing::TypingTracker::new(config.typing_timeout)),
            horizons: Arc::default(),
            presence: presence::Presence::default(),
            slots: Default::default(),
            identity_limiter: RateLimiter::new(config.identity_rate),
            conversation_limiter: RateLimiter::new(config.conversation_rate),
            domain,
            verifier,
            hub,
            config,
            shutdown,
            next_id: AtomicU64::new(1),
            active: watch::channel(0).0,
            sessions: watch::channel(0).0,
            closes: Default::default(),
        }
    }

    /// Takes one of the identity's session slots until the guard is dropped; `None` when it
    /// has all of them open already.
    pub fn session_slot(&self, service: &Sid, identity: &str) -> Option<Slot<'_>> {
        let key = (service.clone(), identity.to_owned());
        let mut slots = lock(&self.slots);
        let n = slots.entry(key.clone()).or_default();
        if *n >= self.config.max_sessions_per_identity.max(1) {
            return None;
        }
        *n += 1;
        Some(Slot { rt: self, key })
    }

    /// Whether the identity may make one more request now. A refused request is answered
    /// 20429 and neither run nor remembered under its `op_id`.
    pub fn admit(&self, actor: &Actor) -> bool {
        let Actor::User { service, identity } = actor else {
            return true;
        };
        self.identity_limiter
            .check_at(&format!("{service}/{identity}"), std::time::Instant::now())
            .is_ok()
    }

    /// Whether the conversation (by SID, once the sender is known to be a participant) may
    /// take one more message now.
    pub fn admit_message(&self, conversation: &Sid) -> bool {
        self.conversation_limiter
            .check_at(conversation.as_str(), std::time::Instant::now())
            .is_ok()
    }

    /// Counts an open session until the guard is dropped.
    pub fn session_opened(&self) -> Active {
        self.sessions.send_modify(|n| *n += 1);
        Active(self.sessions.clone())
    }

    /// Waits until exactly `n` sessions are open, at most `wait`; true if they are.
    pub async fn wait_sessions(&self, n: usize, wait: Duration) -> bool {
        let mut rx = self.sessions.subscribe();
        tokio::time::timeout(wait, rx.wait_for(|open| *open == n))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Records how a session ended.
    pub fn record_close(&self, reason: &'static str) {
        let mut closes = self
            .closes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *closes.entry(reason).or_default() += 1;
    }

    /// Sessions ended with `reason` so far.
    pub fn closes(&self, reason: &str) -> u64 {
        self.closes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(reason)
            .copied()
            .unwrap_or(0)
    }

    /// Marks a session or request as under way until the guard is dropped.
    pub fn active(&self) -> Active {
        self.active.send_modify(|n| *n += 1);
        Active(self.active.clone())
    }

    /// Waits until no session or request is under way, at most `grace`; true if none is.
    pub async fn idle(&self, grace: Duration) -> bool {
        let mut rx = self.active.subscribe();
        tokio::time::timeout(grace, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub(crate) fn next_session_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// The route of the realtime endpoint (and the echo, when asked for).
pub(crate) fn router(rt: Arc<Realtime>) -> Router {
    let mut router = Router::new().route(REALTIME_PATH, get(upgrade));
    if rt.config.websocket_echo {
        router = router.route(ECHO_PATH, get(echo::upgrade));
    }
    router.with_state(rt)
}

async fn upgrade(State(rt): State<Arc<Realtime>>, ws: WebSocketUpgrade) -> Response {
    // Boxed: the socket is large, and a future keeps its arguments' room for good.
    websocket(ws.protocols([SUBPROTOCOL]))
        .on_upgrade(move |socket| driver::run(rt, Box::new(socket)))
}

/// The WebSocket settings of every socket this server accepts: limits and buffers.
fn websocket(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Sized on purpose (DESIGN.md section 5): the read buffer is allocated whole for every
        // connection, idle or not, and most client frames are below 1 KiB (a larger one is
        // read in more calls and grows the buffer). 8 KiB here cost 6 KiB more per connection
        // (`confab bench idle`: 21 KiB against 15 KiB), 2 KiB 1 KiB more; tungstenite's
        // default is 128 KiB.
        .read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(MAX_FRAME_BYTES * 4)
}

/// Hands on what streams held back too long waiting for an earlier `seq` (see [`hub::HOLD`]),
/// until the server stops.
pub(crate) async fn release_held(rt: Arc<Realtime>) {
    rt.hub.release_held(rt.shutdown.clone()).await;
}

/// Prunes conversation log rows older than the retention, every `prune_interval`, until
/// `shutdown` turns true.
pub(crate) async fn prune_logs(rt: Arc<Realtime>) {
    let Some(retention) = rt.config.log_retention else {
        return;
    };
    let mut shutdown = rt.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            () = tokio::time::sleep(rt.config.prune_interval) => {}
        }
        let before = rt
            .domain
            .clock()
            .now_millis()
            .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        prune_before(&rt, before).await;
    }
}

/// Announces the profile changes the domain reports (friendly name, attributes, role, through
/// either door) to the users who share a conversation with the changed user, until
/// `shutdown` turns true.
pub(crate) async fn announce_profiles(rt: Arc<Realtime>) {
    let Some(mut news) = rt.hub.take_profile_news() else {
        return;
    };
    let mut shutdown = rt.shutdown.clone();
    loop {
        let first = tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            next = news.recv() => match next {
                Some(n) => n,
                None => return,
            },
        };
        // A burst of changes to one user is one announcement of how it is now.
        let mut seen = std::collections::HashSet::from([first.clone()]);
        let mut due = vec![first];
        while let Ok(n) = news.try_recv() {
            if seen.insert(n.clone()) {
                due.push(n);
            }
        }
        for (service, identity) in due {
            rt.presence.announce(&rt, &service, &identity).await;
        }
    }
}

/// Deletes every conversation log row written before `before` (unix ms), in batches.
pub(crate) async fn prune_before(rt: &Realtime, before: i64) -> u64 {
    let mut total = 0;
    loop {
        match rt.domain.prune_logs(before, 5000).await {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(error = %e, "pruning the event log failed");
                return total;
            }
        }
    }
}
