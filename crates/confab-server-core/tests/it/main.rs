//! The server session's tests: against the client core on a simulated clock.
#![allow(clippy::unwrap_used)]

mod pair;
mod props;
mod world;
