//! The vocabulary every Confab part shares, with no I/O so that it builds for
//! `wasm32-unknown-unknown` and can sit inside the browser SDK.
//!
//! - [`sid`]: resource identifiers (`CH…`, `IM…`), their prefixes and validation.
//! - [`entity`]: conversations, participants, messages as the server keeps them.
//! - [`event`]: the encoded event frames written to the event log and pushed to clients.
//! - [`frame`]: the realtime protocol's frames (`hello`, `req`, `welcome`, `res`, `close`, ...).
//! - [`method`]: the realtime methods, each declared once with its params and result.
//! - [`error`]: the one table of numeric error codes.
//! - [`limits`]: the size and count limits of DESIGN.md section 5.
//! - [`token`]: reading an access token's claims *without* verifying it (a client needs `exp`).

pub mod entity;
pub mod error;
pub mod event;
pub mod frame;
pub mod limits;
pub mod method;
pub mod sid;
pub mod token;

pub use error::ErrorCode;
pub use sid::{Sid, SidKind};
