//! The client core on simulated time: every state transition and timer, backoff sequences,
//! a 2-minute window and a 24-hour token in milliseconds of real time, and a property test
//! against a simple model.
#![allow(clippy::unwrap_used)]

mod harness;
mod lifecycle;
mod model;
mod requests;
mod timers;
