//! The realtime endpoint over real WebSockets with the raw protocol client: sessions, live
//! events, requests, resume, faults through the proxy.

mod authz;
mod basics;
mod denial;
mod limits;
mod membership_resume;
mod nodes;
mod odd_input;
mod overload;
mod presence;
mod protocol_errors;
mod read;
mod requests;
mod resume;
mod token_attacks;
mod tokens;
mod tracker;
mod typing;
mod websocket;
