//! The Rust SDK end to end: a real server on 127.0.0.1:0, real WebSockets, the fault proxy
//! for bad networks.
#![allow(clippy::unwrap_used)]

mod faults;
mod lifecycle;
mod media;
mod objects;
mod resume;
mod scenarios;
mod support;
mod surface;
mod tokens;
