//! The realtime endpoint's settings.

use std::time::Duration;

use crate::rest::rate_limit::RateLimit;

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
