//! What a session is told and tells: its states (with how each is entered and left), its
//! settings, what it asks of the driver ([`Transmit`]) and what the app hears ([`Output`]).

use confab_protocol::ErrorCode;
use confab_protocol::event::EventFrame;
use confab_protocol::frame::WireError;
use confab_protocol::method::JoinedConversation;
use serde_json::Value;

use crate::backoff::Backoff;

/// Whether the client got going (DESIGN.md section 3), reported by `stateChanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Entered when the first connection is made and the first page of the user's
    /// conversations is loaded (after their `ConversationAdded` outputs). Not left.
    Initialized,
    /// Entered when the first connection could not be made: the token was refused, or no
    /// server answered within the reconnection window. Left for `Initialized` when a new
    /// token ([`Session::update_token`]) or [`Session::reconnect`] gets the client there.
    Failed,
}

impl ClientState {
    /// The wire name (`initialized`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientState::Initialized => "initialized",
            ClientState::Failed => "failed",
        }
    }
}

/// The link to the server, reported by `connectionStateChanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Offline with an attempt in progress or scheduled (backoff). Entered at start, on a
    /// lost link, on [`Session::reconnect`] or a new token; left for `Connected` on
    /// `welcome`, `Disconnected` when the window runs out, `Denied` on a refused token.
    Connecting,
    /// Online and ready. Entered on `welcome`; left on any loss (`Connecting`), a
    /// `token_expired` close (`Disconnected`), or [`Session::shutdown`] (`Disconnecting`).
    Connected,
    /// Going offline on purpose ([`Session::shutdown`]); left for `Disconnected` once the
    /// socket is closed.
    Disconnecting,
    /// Offline, no attempt in progress: the window ran out, the token expired, or the client
    /// shut down. Left for `Connecting` on [`Session::reconnect`] or a new token.
    Disconnected,
    /// The token was refused; nothing happens until [`Session::update_token`].
    Denied,
}

impl ConnectionState {
    /// The wire name (`connecting`, `connected`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Disconnecting => "disconnecting",
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Denied => "denied",
        }
    }
}

/// The shortest heartbeat interval the client keeps, whatever `welcome` says: a server that
/// asks for 0 or 1 ms (misconfigured, or hostile) would otherwise have the client send a ping
/// every millisecond. Well below any sensible setting (the server's default is 15 s; tests
/// run on 200 ms).
pub const MIN_HEARTBEAT_MS: u64 = 100;

/// Settings of a session. All times in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// How long the client keeps trying after a loss before `Disconnected`; `None`: forever.
    pub window_ms: Option<u64>,
    /// How long before `exp` `TokenAboutToExpire` comes (at once for shorter tokens).
    pub token_lead_ms: u64,
    /// How long a request may take, from the call, before it fails with 20408.
    pub request_timeout_ms: u64,
    /// How long opening a socket and getting `welcome` may take before the attempt counts
    /// as failed.
    pub connect_timeout_ms: u64,
    /// Conversations whose cursors are kept for resume.
    pub watch_cap: usize,
    /// Retry timing.
    pub backoff: Backoff,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_ms: Some(120_000),
            token_lead_ms: 180_000,
            request_timeout_ms: 30_000,
            connect_timeout_ms: 15_000,
            watch_cap: 500,
            backoff: Backoff::default(),
        }
    }
}

/// What the driver must do with the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    /// Open a WebSocket to the server (then call `handle_connected` or `handle_closed`).
    Connect,
    /// Send this text frame.
    Send(String),
    /// Close the socket and forget it (do not report its end).
    Close,
}

/// What the app hears.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `stateChanged`.
    StateChanged(ClientState),
    /// `connectionStateChanged`.
    ConnectionStateChanged(ConnectionState),
    /// `connectionError`: a refused token or close reason (`terminal`: no retry without a
    /// new token), or a failed attempt.
    ConnectionError {
        /// Whether the client stopped trying.
        terminal: bool,
        /// The numeric code.
        code: u32,
        /// What happened.
        message: String,
    },
    /// `tokenAboutToExpire`: once per token, the configured lead before `exp`.
    TokenAboutToExpire {
        /// Time left, on the server's clock.
        remaining_ms: u64,
    },
    /// `tokenExpired`: the token's `exp` passed (server's clock).
    TokenExpired,
    /// `conversationAdded` for each of the user's conversations, as `conversations.list`
    /// gives it (with the user's participant, counts and read state): those of the first
    /// page before `Initialized`, the rest a page at a time after it.
    ConversationAdded(Box<JoinedConversation>),
    /// A server event, exactly once and in order per stream.
    Event(Box<EventFrame>),
    /// The answer to a request made with [`Session::request`] or [`Session::update_token`].
    Response {
        /// The request.
        id: u64,
        /// Its result.
        result: Result<Value, WireError>,
    },
}

/// A call the session refuses at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreError {
    /// The numeric code.
    pub code: ErrorCode,
    /// Why.
    pub message: String,
}
