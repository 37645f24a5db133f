//! The realtime protocol's frames (v1, subprotocol [`SUBPROTOCOL`]): one JSON object per
//! WebSocket text frame, tagged by `op`. `docs/PROTOCOL.md` is the prose specification; these
//! types are its single definition in code, shared by the server, the SDKs and the test kit.
//!
//! Client to server: [`ClientFrame`] (`hello`, `req`, `ping`). Server to client: [`ServerFrame`]
//! (`welcome`, `res`, `pong`, `close`) and event frames, which are encoded once when committed
//! (see [`crate::event`]) and sent as stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;

/// The WebSocket subprotocol a client asks for and the server confirms.
pub const SUBPROTOCOL: &str = "confab.v1.json";

/// The path of the realtime endpoint.
pub const REALTIME_PATH: &str = "/v1/realtime";

/// The largest frame either side accepts, in bytes. A message body of 32 KiB can grow about
/// six-fold when JSON-escaped (`\u0000` for each control byte), attributes add 4 KiB more, so
/// 256 KiB holds the largest legal request or event with room to spare.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// A frame a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ClientFrame {
    /// The first frame of every connection: the access token, and where to resume from.
    Hello {
        /// The access token (never in the URL).
        token: String,
        /// Cursors of the streams the client already holds, to resume without loss. Absent:
        /// start fresh at every stream's head.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
        /// The SDK's name and version, for logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdk: Option<String>,
    },
    /// A call of one operation, answered by exactly one `res` with the same `id`.
    Req {
        /// Chosen by the client, unique among its requests in flight.
        id: u64,
        /// Idempotency key of a mutating request: a retry with the same `op_id` gets the
        /// first attempt's answer instead of doing the operation twice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op_id: Option<String>,
        /// The operation, such as `message.send`.
        method: String,
        /// Its parameters (an object; absent means `{}`).
        #[serde(default, skip_serializing_if = "Value::is_null")]
        params: Value,
    },
    /// App-level heartbeat; answered by `pong` with the same `t`.
    Ping {
        /// Any number the client likes (typically its clock).
        #[serde(default)]
        t: i64,
    },
}

/// Where a client resumes from: the last `seq` it has seen of each stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The last `seq` of the identity's user stream the client has seen.
    pub user_seq: i64,
    /// The last `seq` of each watched conversation, by SID.
    #[serde(default)]
    pub conversations: BTreeMap<String, i64>,
}

/// A frame the server sends (event frames aside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum ServerFrame {
    /// The answer to `hello`: the session is open.
    Welcome(Welcome),
    /// The answer to a `req`.
    Res {
        /// The request's `id`.
        id: u64,
        /// Present on success.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        /// Present on failure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<WireError>,
    },
    /// The answer to `ping`.
    Pong {
        /// The ping's `t`.
        t: i64,
    },
    /// Sent just before the server closes the connection.
    Close {
        /// The numeric error code of the reason (see [`CloseReason::code`] and, for `denied`,
        /// the token code).
        code: u32,
        /// Why.
        reason: CloseReason,
        /// A human-readable explanation.
        #[serde(default)]
        message: String,
    },
}

/// The `welcome` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The identity the token carries.
    pub identity: String,
    /// The service the session is in.
    pub service_sid: String,
    /// The server's clock, unix milliseconds: clients schedule token renewal on it.
    pub server_time: i64,
    /// The token's `exp`, unix milliseconds.
    pub token_expires_at: i64,
    /// The heartbeat interval H in milliseconds: the client pings after H without sending,
    /// and either side may drop the link after 2H plus the grace period of silence.
    pub heartbeat_ms: u64,
    /// The silence allowed beyond 2H, in milliseconds.
    pub heartbeat_grace_ms: u64,
    /// The cursors the server delivers after (see [`Resumed`]).
    pub resumed: Resumed,
    /// Where uploads go and how large they may be; absent from a server without media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaService>,
}

/// The media service as `welcome` tells it: the client configuration's media links and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaService {
    /// Path of the upload endpoint on the server the client connected to
    /// (`/media/v1/Services/{IS}/Media`).
    pub service_url: String,
    /// Path of the endpoint that gives temporary URLs of several uploads at once.
    pub set_url: String,
    /// Files one message may carry.
    pub attachments_count_limit: u32,
    /// The largest file, in bytes.
    pub attachment_size_limit: u64,
    /// The files of one message together, in bytes.
    pub attachments_total_size_limit: u64,
}

/// What `welcome` says about the streams: for each one the server will deliver, the cursor
/// it delivers after. Replayed events (`seq` above the cursor) follow `welcome`, then live ones.
/// A `conversationJoined` replayed on the user stream moves its conversation's cursor to the
/// join's `conversation_seq` (an older cursor belonged to an earlier membership).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The user stream's cursor: the client's `user_seq`, or the stream's head when the
    /// client gave none (nothing older is replayed then).
    pub user_seq: i64,
    /// Each conversation the identity belongs to, with its cursor: the client's, or the
    /// conversation's head when the client did not watch it.
    pub conversations: BTreeMap<String, i64>,
}

/// An error in a `res`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// The numeric code (`docs/PROTOCOL.md`).
    pub code: u32,
    /// The HTTP status the same error has in the REST API.
    pub status: u16,
    /// What went wrong.
    pub message: String,
}

impl WireError {
    /// An error of `code` with `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> WireError {
        WireError {
            code: code.code(),
            status: code.http_status(),
            message: message.into(),
        }
    }
}

/// Why the server closes a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The token in `hello` was refused; retry only with a new token.
    Denied,
    /// The session's token passed `exp` (plus the skew allowance).
    TokenExpired,
    /// The client did not read fast enough; it should reconnect and resume after a pause.
    SlowConsumer,
    /// The server is stopping; reconnect (to it or another node) and resume.
    ShuttingDown,
    /// The client broke the protocol (malformed frame, unknown op, a frame before or after
    /// `hello` that does not belong there, a frame over the size limit).
    ProtocolError,
    /// The identity has as many sessions open on this server as it may; retry after a pause
    /// (a session of its own that just dropped may still count for a moment).
    TooManySessions,
}

impl CloseReason {
    /// The numeric code that goes with the reason. A `denied` close carries the refused
    /// token's own code (20101-20157) instead; 20003 stands for it where there is none.
    pub fn code(self) -> ErrorCode {
        match self {
            CloseReason::Denied => ErrorCode::AuthenticationFailed,
            CloseReason::TokenExpired => ErrorCode::TokenExpired,
            CloseReason::SlowConsumer => ErrorCode::SlowConsumer,
            CloseReason::ShuttingDown => ErrorCode::Unavailable,
            CloseReason::ProtocolError => ErrorCode::ProtocolError,
            CloseReason::TooManySessions => ErrorCode::TooManyRequests,
        }
    }

    /// The WebSocket close code sent with the reason: 1001 (going away) for a stopping
    /// server, 1008 (policy) for refusals, 4000-range codes for the rest, so that a client
    /// that never saw the `close` frame still learns the reason.
    pub fn ws_code(self) -> u16 {
        match self {
            CloseReason::Denied => 4401,
            CloseReason::TokenExpired => 4402,
            CloseReason::SlowConsumer => 4008,
            CloseReason::ShuttingDown => 1001,
            CloseReason::ProtocolError => 1008,
            CloseReason::TooManySessions => 4429,
        }
    }

    /// The reason a WebSocket close code stands for.
    pub fn from_ws_code(code: u16) -> Option<CloseReason> {
        [
            CloseReason::Denied,
            CloseReason::TokenExpired,
            CloseReason::SlowConsumer,
            CloseReason::ShuttingDown,
            CloseReason::ProtocolError,
            CloseReason::TooManySessions,
        ]
        .into_iter()
        .find(|r| r.ws_code() == code)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Denied => "denied",
            CloseReason::TokenExpired => "token_expired",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::ShuttingDown => "shutting_down",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::TooManySessions => "too_many_sessions",
        }
    }
}

impl ServerFrame {
    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        // These types hold only strings, numbers, maps with string keys and JSON values:
        // serializing them cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ClientFrame {
    /// Encodes the frame as JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A server-to-client frame as a client reads it: one of [`ServerFrame`], or an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// `welcome`, `res`, `pong` or `close`.
    Frame(ServerFrame),
    /// An event frame.
    Event(Box<crate::event::EventFrame>),
}

/// Decodes a frame from the server (clients and tests).
pub fn decode_incoming(text: &str) -> Result<Incoming, serde_json::Error> {
    #[derive(Deserialize)]
    struct Op<'a> {
        #[serde(borrow)]
        op: &'a str,
    }
    let op: Op<'_> = serde_json::from_str(text)?;
    if op.op == "event" {
        crate::event::decode_event(text.as_bytes()).map(|e| Incoming::Event(Box::new(e)))
    } else {
        serde_json::from_str(text).map(Incoming::Frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_round_trip_with_their_wire_names() {
        let hello: ClientFrame = serde_json::from_str(
            r#"{"op":"hello","token":"t","resume":{"user_seq":3,"conversations":{"CH1":7}}}"#,
        )
        .unwrap();
        let ClientFrame::Hello { resume, .. } = &hello else {
            panic!("{hello:?}")
        };
        assert_eq!(resume.as_ref().unwrap().conversations["CH1"], 7);
        let req: ClientFrame =
            serde_json::from_str(r#"{"op":"req","id":1,"method":"message.send"}"#).unwrap();
        assert_eq!(
            req,
            ClientFrame::Req {
                id: 1,
                op_id: None,
                method: "message.send".into(),
                params: Value::Null
            }
        );
        for f in [hello, req, ClientFrame::Ping { t: 5 }] {
            assert_eq!(serde_json::from_str::<ClientFrame>(&f.encode()).unwrap(), f);
        }
    }

    #[test]
    fn server_frames_decode_as_clients_read_them() {
        let close = ServerFrame::Close {
            code: 20104,
            reason: CloseReason::TokenExpired,
            message: "x".into(),
        };
        let text = close.encode();
        assert!(text.contains(r#""reason":"token_expired""#), "{text}");
        assert_eq!(decode_incoming(&text).unwrap(), Incoming::Frame(close));
        let ev = r#"{"op":"event","stream":"user","seq":1,"type":"conversationLeft","data":{"conversation_sid":"CH00000000000000000000000000000000","participant_sid":null,"conversation_seq":4}}"#;
        assert!(matches!(decode_incoming(ev).unwrap(), Incoming::Event(_)));
    }

    #[test]
    fn close_reasons_map_to_ws_codes_and_back() {
        for r in [
            CloseReason::Denied,
            CloseReason::TokenExpired,
            CloseReason::SlowConsumer,
            CloseReason::ShuttingDown,
            CloseReason::ProtocolError,
        ] {
            assert_eq!(CloseReason::from_ws_code(r.ws_code()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                Value::String(r.as_str().into())
            );
        }
    }
}
