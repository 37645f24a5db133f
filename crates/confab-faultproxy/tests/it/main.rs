//! Integration tests for the fault proxy: a tiny echo server on 127.0.0.1:0 with the proxy in
//! front of it, and a client driving each fault. Waits are on events with a timeout; the only
//! fixed durations are the short windows in which a test asserts that nothing arrives.
#![allow(clippy::unwrap_used)]

mod cut;
mod delay;
mod lifecycle;
mod passthrough;
mod refuse;
mod stall;
mod support;
