//! REST integration tests: a real server on 127.0.0.1:0 with a temp SQLite file, driven over
//! real HTTP with form-encoded requests, as app backends call it.
#![allow(clippy::unwrap_used)]

mod auth;
mod bad_input;
mod configuration;
mod conversations;
mod isolation;
mod media;
mod messages;
mod nul;
mod pagination;
mod participants;
mod persistence;
mod rate_limit;
mod realtime;
mod roles;
mod services;
mod smoke;
mod support;
mod users;
mod webhook_header;
mod with_participants;
