//! The Confab client session as a sans-IO state machine (DESIGN.md sections 1 and 3).
//!
//! [`Session`] holds everything a client decides: its connection and client states, the
//! token's deadlines on the server's clock, backoff with jitter inside the reconnection window,
//! the heartbeat, pending requests with their `op_id`s and timeouts, and the resume cursors
//! that make every event reach the app exactly once and in order. It does no I/O and reads no
//! clock: time comes in as milliseconds, randomness from a seeded [`backoff::Rng`]. So it is
//! tested on simulated time (a 2-minute window in microseconds), and the same code runs in
//! the tokio driver (`confab-client`) and, compiled to WebAssembly, in the browser.
//!
//! A driver calls, in a loop:
//! - inputs: [`Session::handle_connected`], [`Session::handle_frame`],
//!   [`Session::handle_closed`] for what the socket did (one socket at a time: after
//!   [`Transmit::Close`] the old one is forgotten); [`Session::handle_timeout`] when
//!   [`Session::poll_timeout`]'s moment has come; and the app's calls ([`Session::request`],
//!   [`Session::update_token`], [`Session::reconnect`], [`Session::shutdown`]);
//! - outputs, after every input: [`Session::poll_transmit`] until `None` (open a socket,
//!   send a frame, close it), [`Session::poll_output`] until `None` (events for the app),
//!   then [`Session::poll_timeout`] for the next wake-up.

pub mod backoff;
mod session;
pub mod streams;
mod types;

pub use session::Session;
pub use types::{
    ClientState, Config, ConnectionState, CoreError, MIN_HEARTBEAT_MS, Output, Transmit,
};
