//! The server side of a realtime session as a sans-IO state machine (DESIGN.md section 4),
//! the counterpart of `confab-client-core`.
//!
//! [`Session`] decides everything about one client's connection: `hello` and what comes of
//! its token, `welcome` with the resumed cursors, the replay of each stream's log after the
//! client's cursor, the cursors of live events (a repeat dropped, a gap read from the log, a
//! cursor older than the log answered with `conversationReset`), membership changes that
//! start or stop following a conversation, the heartbeat and token deadlines, batching writes,
//! and how the session ends. It does no I/O and reads no clock: time comes in as
//! milliseconds, socket reads as [`Read`], committed events as queue [`Item`]s, log pages as
//! [`Row`]s. So it is tested against the client core on a simulated clock with an in-memory
//! log (`tests/it/pair.rs`), and the server's tokio task only moves bytes and calls the store.
//!
//! A driver calls, in a loop:
//! - inputs: [`Session::handle_read`] for what the socket gave (while
//!   [`Session::wants_frames`]); [`Session::handle_item`] for what the session's queue holds
//!   and [`Session::handle_queue_empty`] when it holds nothing, as [`Session::want_items`]
//!   says; the answers to its actions ([`Session::handle_authenticated`] or
//!   [`Session::handle_refused`], [`Session::handle_memberships`], [`Session::handle_log`],
//!   [`Session::handle_store_failed`], [`Session::handle_renewed`]); [`Session::handle_timeout`]
//!   when [`Session::poll_timeout`]'s moment has come; [`Session::handle_kill`] and
//!   [`Session::handle_shutdown`] when something outside ends it;
//! - outputs, after every input: [`Session::poll_action`] until `None` (authenticate,
//!   subscribe, read, run a request, ...), then [`Session::poll_transmit`] until `None`
//!   (frames to write, flushes, and the ending), then [`Session::poll_timeout`].
//!
//! Frames shared by every recipient of an event are the driver's type `P` (the server uses
//! the WebSocket library's shared text): the session only holds and hands them back.

mod follow;
mod session;
mod types;

pub use follow::Want;
pub use session::{Session, error_answer, result_answer};
pub use types::{
    Action, Authenticated, Config, Ending, Ephemeral, Item, Lag, Live, LogRead, MediaLimits, Phase,
    Read, Renewed, Row, Transmit, is_participant_left,
};
