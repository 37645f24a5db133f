//! What every session, request and background task of the realtime endpoint shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use confab_domain::{Actor, Domain};
use confab_protocol::sid::Sid;
use confab_token::Verifier;
use tokio::sync::watch;

use super::config::RealtimeConfig;
use super::{dedup, horizons, hub, presence, typing};
use crate::rest::rate_limit::RateLimiter;

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
    /// The media limits `welcome` tells clients.
    pub media: confab_server_core::MediaLimits,
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
        media: confab_server_core::MediaLimits,
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
            media,
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

    /// Where presence tells the other nodes of its changes, when there are other nodes.
    pub fn presence_notes(&self) -> Option<&dyn presence::PresenceNotes> {
        self.hub
            .bus()
            .map(|bus| &**bus as &dyn presence::PresenceNotes)
    }

    pub(crate) fn next_session_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}
