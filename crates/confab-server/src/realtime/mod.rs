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
//! - [`hub`]: which session listens to which stream, and the hand-off of committed events
//!   (in `seq` order per stream).
//! - `outbound`: what a session's queue holds, and the switch that ends a session.
//! - `driver`: a session's task; `sources`: which of its sources woke it, so that a delivery
//!   polls only the queue; `wire`: its socket (reads, writes, closes); `tokens`: its token
//!   checks at `hello` and `token.update`.
//! - `requests`: runs each request in a task of its own, with `op_id` de-duplication
//!   (`dedup`); `dispatch` routes each method of the table to the domain.
//! - `typing`, `horizons`: the ephemeral events (typing indicators, coalesced read horizons).
//! - `presence`: who is online; `news`: announcing reachability and profile changes.
//! - `bus`: the notes nodes send one another (NATS); `nodes`: what a node does with them,
//!   its heartbeat, and the check against the log for what the bus lost.
//! - `context`: what sessions share; `config`: the settings; `tasks`: background work.
//! - `echo`: a WebSocket echo on the same stack, for conformance suites; off by default.

pub(crate) mod bus;
mod config;
mod context;
mod dedup;
mod dispatch;
mod driver;
mod echo;
mod horizons;
pub(crate) mod hub;
mod news;
pub(crate) mod nodes;
mod outbound;
mod presence;
mod requests;
mod sources;
mod tasks;
mod tokens;
mod typing;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use axum::routing::get;
use confab_protocol::frame::{MAX_FRAME_BYTES, REALTIME_PATH, SUBPROTOCOL};

pub use config::RealtimeConfig;
pub(crate) use context::Realtime;
pub use echo::ECHO_PATH;
pub(crate) use tasks::{announce_profiles, prune_before, prune_logs, release_held};

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
