//! What goes in and out of a [`crate::Session`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use confab_protocol::frame::CloseReason;
use confab_protocol::method::Request;
use confab_protocol::sid::Sid;
use confab_store::Stream;

/// Settings of a session. Times in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The heartbeat interval H told to the client in `welcome`.
    pub heartbeat_ms: u64,
    /// Silence allowed beyond 2H before the link counts as dead.
    pub heartbeat_grace_ms: u64,
    /// How long a new connection may take to send `hello`.
    pub hello_timeout_ms: u64,
    /// Log rows asked for per read while replaying.
    pub replay_page: u32,
    /// The least time between two flushes of events: a session that gets events faster
    /// waits out the rest of it, so that the events of that moment go in one write (on this
    /// machine class one `write` costs 6-8 us of CPU whatever its size, and the reader's
    /// `read` as much again). Answers never wait.
    pub flush_gap_ms: u64,
    /// Queue items handled between two flushes at most.
    pub batch: usize,
    /// Rounds of reading the logs again after a replay during which live events were
    /// dropped, before the session counts as a slow consumer.
    pub catch_up_rounds: usize,
    /// The media service's limits, told in `welcome`; `None` when the server has none.
    pub media: Option<MediaLimits>,
}

/// The media limits `welcome` tells a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Files one message may carry.
    pub per_message: u32,
    /// The largest file, in bytes.
    pub file_bytes: u64,
    /// The files of one message together, in bytes.
    pub message_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            heartbeat_ms: 15_000,
            heartbeat_grace_ms: 5_000,
            hello_timeout_ms: 10_000,
            replay_page: 256,
            flush_gap_ms: 15,
            batch: 256,
            // Three were too few: with a small queue and a steady writer, each round on
            // PostgreSQL saw a few new events overflow, and a reader that kept up was closed.
            catch_up_rounds: 32,
            media: None,
        }
    }
}

/// What the driver read from the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A text frame.
    Text(String),
    /// A WebSocket ping or pong: no data, but proof of life.
    Control,
    /// The client sent a WebSocket close.
    Closed,
    /// The connection ended without a close.
    Gone,
    /// The client broke WebSocket itself: the close code to fail the connection with
    /// (1002, or 1007 for text that is not UTF-8), and why.
    Broken(u16, String),
    /// A frame the protocol does not take (binary, or over the size limit), and why.
    Bad(String),
}

/// How a session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Tell the client why (a `close` frame, then a WebSocket close with the reason's code).
    Close {
        /// Why.
        reason: CloseReason,
        /// The numeric code (the refused token's own for `denied`).
        code: u32,
        /// An explanation.
        message: String,
    },
    /// Just drop the connection: the peer is gone or silent, nothing can reach it.
    Drop(&'static str),
    /// The client sent a WebSocket close: answer it with a close of the same code (RFC 6455
    /// section 5.5.1), then drop.
    PeerClosed,
    /// The client broke WebSocket itself: fail the connection with a WebSocket close of this
    /// code and no `close` frame (RFC 6455 section 7.1.7).
    Broken {
        /// 1002, or 1007 for text that is not UTF-8.
        ws_code: u16,
        /// What was wrong.
        why: String,
    },
}

impl Ending {
    /// A close for `reason` with its own code.
    pub fn close(reason: CloseReason, message: impl Into<String>) -> Ending {
        Ending::Close {
            reason,
            code: reason.code().code(),
            message: message.into(),
        }
    }

    /// The name statistics count the ending under (`dropped` for a link dropped without a
    /// close frame).
    pub fn label(&self) -> &'static str {
        match self {
            Ending::Close { reason, .. } => reason.as_str(),
            Ending::Broken { .. } => CloseReason::ProtocolError.as_str(),
            Ending::Drop(_) | Ending::PeerClosed => "dropped",
        }
    }
}

/// A committed event as the hub hands it to every recipient: classified once, with the
/// driver's shared form of its frame (`P`), so that a delivery costs no scan or copy.
#[derive(Debug)]
pub struct Live<P> {
    /// Its stream.
    pub stream: Stream,
    /// Its `seq` there.
    pub seq: i64,
    /// The encoded frame.
    pub frame: Arc<[u8]>,
    /// The frame as the driver sends it.
    pub text: P,
    /// Whether it is a `participantLeft`, the one conversation event a session must look
    /// inside (its own identity's leave ends the stream for it).
    pub participant_left: bool,
}

/// Whether `frame` is a `participantLeft` event, by the type in its head (frames are encoded
/// with `type` before `data`).
pub fn is_participant_left(frame: &[u8]) -> bool {
    const MARK: &[u8] = br#""type":"participantLeft""#;
    let head = &frame[..frame.len().min(160)];
    head.windows(MARK.len()).any(|w| w == MARK)
}

/// An ephemeral event of a conversation (typing, a read horizon, news about a user).
#[derive(Debug)]
pub struct Ephemeral<P> {
    /// Its conversation: delivered only while the session follows it.
    pub conversation: Sid,
    /// The frame as the driver sends it.
    pub text: P,
    /// News about this identity, numbered: delivered once per session whatever the number
    /// of conversations it came through.
    pub once: Option<(String, u64)>,
}

/// What a session's outbound queue holds.
#[derive(Debug)]
pub enum Item<P> {
    /// A request's answer (`res`), encoded for this session alone.
    Answer(String),
    /// A committed event, shared by every recipient.
    Event(Arc<Live<P>>),
    /// An ephemeral event, shared by every recipient.
    Ephemeral(Box<Ephemeral<P>>),
}

/// A row read back from a log, with the driver's form of its frame.
#[derive(Debug, Clone)]
pub struct Row<P> {
    /// Its `seq`.
    pub seq: i64,
    /// The encoded frame.
    pub frame: Arc<[u8]>,
    /// The frame as the driver sends it.
    pub text: P,
}

/// A log read the session asks for: rows of `stream` after `after`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    /// Which log.
    pub stream: Stream,
    /// The `seq` to read after.
    pub after: i64,
    /// Rows at most.
    pub limit: u32,
}

/// Something the driver must do for the session (besides the socket's writes).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Verify `hello`'s token and sign its identity in; answer with
    /// [`crate::Session::handle_authenticated`] or [`crate::Session::handle_refused`].
    Authenticate {
        /// The access token.
        token: String,
        /// The SDK's name and version, as it gave them (for the logs).
        sdk: Option<String>,
        /// Whether the client resumes (gave cursors).
        resuming: bool,
    },
    /// Deliver `stream`'s events to the session's queue from now on.
    Subscribe(Stream),
    /// Stop delivering `stream`'s events to it.
    Unsubscribe(Stream),
    /// Read where the identity's streams stand; answer with
    /// [`crate::Session::handle_memberships`] (or [`crate::Session::handle_store_failed`]).
    ReadMemberships,
    /// Read a log; answer with [`crate::Session::handle_log`] (or
    /// [`crate::Session::handle_store_failed`]).
    ReadLog(LogRead),
    /// Run a request as the session's identity; its answer comes back through the queue as
    /// [`Item::Answer`]. (A request over the driver's limit of requests in flight is answered
    /// with 20429 through [`crate::Session::answer`] instead.)
    Run {
        /// The request's `id`.
        id: u64,
        /// Its `op_id`, for a mutation.
        op_id: Option<String>,
        /// The method and its params.
        request: Request,
    },
    /// Verify a new token for the session (`token.update`); answer with
    /// [`crate::Session::handle_renewed`].
    Renew {
        /// The request's `id`.
        id: u64,
        /// The new token.
        token: String,
    },
    /// The session is open (past `welcome`): count it, say the identity is online.
    Opened,
    /// The node has heard `stream` up to this `seq` (for the check against the log that
    /// finds publishes lost between nodes).
    Heard(Stream, i64),
    /// The session ended, counted under this name (`None`: not counted, a connection that
    /// went before saying `hello`); the driver stops after the writes before it.
    Finished(Option<&'static str>),
}

/// While a session replays its logs it does not take from its queue, so a busy moment can
/// fill the queue through no fault of the client. Until the replay is done a full queue only
/// marks the session lagged, and the session reads the logs again (everything dropped is
/// there). Shared by the session and the hub that fills its queue.
#[derive(Debug)]
pub struct Lag {
    replaying: AtomicBool,
    lagged: AtomicBool,
}

impl Default for Lag {
    fn default() -> Self {
        Lag {
            replaying: AtomicBool::new(true),
            lagged: AtomicBool::new(false),
        }
    }
}

impl Lag {
    /// From now on a full queue closes the session.
    pub fn replay_done(&self) {
        self.replaying.store(false, Ordering::SeqCst);
    }

    /// Whether the session is still replaying.
    pub fn is_replaying(&self) -> bool {
        self.replaying.load(Ordering::SeqCst)
    }

    /// Whether events were dropped since the last call.
    pub fn take_lagged(&self) -> bool {
        self.lagged.swap(false, Ordering::SeqCst)
    }

    /// A full queue: true if that is forgiven (the session is replaying), and noted.
    pub fn forgive(&self) -> bool {
        if self.replaying.load(Ordering::SeqCst) {
            self.lagged.store(true, Ordering::SeqCst);
            true
        } else {
            false
        }
    }
}

/// The outcome of [`Action::Authenticate`]: who the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The token's identity.
    pub identity: String,
    /// The token's service.
    pub service: Sid,
    /// The token's `exp`, unix milliseconds.
    pub token_expires_at: i64,
    /// When the token stops being acceptable here (`exp` plus the skew), in the session's
    /// clock.
    pub token_deadline: u64,
}

/// The outcome of a renewal (`token.update`) that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewed {
    /// The new token's `exp`, unix milliseconds.
    pub token_expires_at: i64,
    /// When it stops being acceptable here, in the session's clock.
    pub token_deadline: u64,
}

/// What the session asks the driver to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit<P> {
    /// A frame encoded for this session alone.
    Text(String),
    /// A frame shared by every recipient.
    Shared(P),
    /// Send what was written so far.
    Flush,
    /// The last transmit: end the connection as the ending says. For a `close` of a stopping
    /// server, the answers still in the queue go first (their writes are committed).
    End(Ending),
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `hello`.
    Hello,
    /// `hello` read; the token, the sign-in and the streams' heads being read.
    Opening,
    /// Past `welcome`.
    Open,
    /// Ended.
    Ended,
}

impl<P> crate::session::Session<P> {
    /// The queue items a stopping session still owes its client: answers only (their
    /// writes are committed; events the client reads again on resuming).
    pub fn owed(items: impl IntoIterator<Item = Item<P>>) -> Vec<String> {
        items
            .into_iter()
            .filter_map(|i| match i {
                Item::Answer(t) => Some(t),
                _ => None,
            })
            .collect()
    }
}
