//! The session state machine. See the crate docs for how a driver pumps it.

use std::collections::{BTreeMap, VecDeque};

use confab_protocol::ErrorCode;
use confab_protocol::frame::{
    ClientFrame, CloseReason, Incoming, MAX_FRAME_BYTES, MediaService, ServerFrame, WireError,
    decode_incoming,
};
use confab_protocol::method::{
    ConversationTyping, ConversationsList, JoinedConversation, Method, TokenUpdate,
};
use confab_protocol::token::decode_unverified;
use serde_json::Value;

use crate::backoff::Rng;
use crate::streams::{Streams, Verdict};
use crate::types::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// No socket.
    Idle,
    /// `Connect` asked for; waiting for the socket.
    Opening { since: u64 },
    /// `hello` sent; waiting for `welcome`.
    Hello { since: u64 },
    /// In session.
    Up {
        last_rx: u64,
        last_tx: u64,
        heartbeat_ms: u64,
        grace_ms: u64,
    },
}

#[derive(Debug, Clone)]
struct Pending {
    /// Its `req` frame, encoded once: a resend after a lost link is the same frame, with the
    /// same `id` and `op_id`.
    frame: String,
    deadline: u64,
    /// Sent on the current link (and not answered yet).
    sent: bool,
}

/// Requests in flight at once: the server runs 64 per session and answers more with 20429.
const MAX_IN_FLIGHT: usize = 64;

/// How long after a failed page of conversations it is asked for again.
const PAGE_RETRY_MS: u64 = 2_000;

/// What an internal request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Internal {
    /// A page of the user's conversations: the first, for `Initialized`, or a next one,
    /// fetched in the background after it.
    Page,
    /// `token.update` with this token.
    Renew(String),
    /// Nobody waits for the answer (typing).
    Ignore,
}

/// The client session. See the crate docs.
#[derive(Debug)]
pub struct Session {
    config: Config,
    rng: Rng,
    token: String,
    identity: Option<String>,
    /// The token's `exp` in unix ms (server clock).
    expires_at: Option<i64>,
    /// Server clock minus local clock, from `welcome` (0 before the first).
    offset_ms: i64,
    /// The media service from the last `welcome`.
    media: Option<MediaService>,
    /// Whether a `welcome` ever gave the server's clock.
    synced: bool,
    /// When a page of conversations is asked for again after it failed.
    page_retry_at: Option<u64>,
    /// The token of the next page of conversations, owed to the app after `Initialized`.
    next_page: Option<String>,
    warned: bool,
    expired: bool,
    conn: ConnectionState,
    client: Option<ClientState>,
    link: Link,
    /// Attempts since the loss.
    retry: u32,
    next_attempt_at: Option<u64>,
    window_end: Option<u64>,
    shut: bool,
    streams: Streams,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    internal: BTreeMap<u64, Internal>,
    transmits: VecDeque<Transmit>,
    outputs: VecDeque<Output>,
}

fn token_facts(token: &str) -> (Option<String>, Option<i64>) {
    match decode_unverified(token) {
        Ok(t) => (
            t.claims.grants.identity.clone(),
            Some(t.claims.exp.saturating_mul(1000)),
        ),
        Err(_) => (None, None),
    }
}

impl Session {
    /// A session that starts connecting at `now` with `token`; `seed` feeds the jitter and
    /// the `op_id`s.
    pub fn new(token: String, config: Config, seed: u64, now: u64) -> Session {
        let (identity, expires_at) = token_facts(&token);
        let mut s = Session {
            streams: Streams::new(config.watch_cap),
            config,
            rng: Rng::new(seed),
            token,
            identity,
            expires_at,
            offset_ms: 0,
            synced: false,
            media: None,
            page_retry_at: None,
            next_page: None,
            warned: false,
            expired: false,
            conn: ConnectionState::Connecting,
            client: None,
            link: Link::Idle,
            retry: 0,
            next_attempt_at: Some(now),
            window_end: None,
            shut: false,
            next_id: 1,
            pending: BTreeMap::new(),
            internal: BTreeMap::new(),
            transmits: VecDeque::new(),
            outputs: VecDeque::new(),
        };
        s.outputs
            .push_back(Output::ConnectionStateChanged(ConnectionState::Connecting));
        s.window_end = s.config.window_ms.map(|w| now.saturating_add(w));
        s.retry = 1;
        s
    }

    // ---- getters ----

    /// The connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.conn
    }

    /// The client state, once there is one.
    pub fn client_state(&self) -> Option<ClientState> {
        self.client
    }

    /// The media service as the last `welcome` told it: where uploads go, relative to the
    /// server's origin, and the limits; `None` before the first or from a server without media.
    pub fn media_service(&self) -> Option<&MediaService> {
        self.media.as_ref()
    }

    /// The identity the token carries, if it could be read.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The current token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The resume cursors.
    pub fn streams(&self) -> &Streams {
        &self.streams
    }

    /// Server clock minus local clock, in ms.
    pub fn clock_offset_ms(&self) -> i64 {
        self.offset_ms
    }

    // ---- outputs ----

    /// The next thing to do with the socket.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing the app should hear.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Session::handle_timeout`] should run next (local ms), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut t: Option<u64> = None;
        let mut at = |x: Option<u64>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.conn == ConnectionState::Connecting {
            if self.link == Link::Idle {
                at(self.next_attempt_at);
            }
            at(self.window_end);
        }
        match self.link {
            Link::Opening { since } | Link::Hello { since } => {
                at(Some(since.saturating_add(self.config.connect_timeout_ms)))
            }
            Link::Up {
                last_rx,
                last_tx,
                heartbeat_ms,
                grace_ms,
            } => {
                at(Some(last_tx.saturating_add(heartbeat_ms)));
                at(Some(self.dead_at(last_rx, heartbeat_ms, grace_ms)));
            }
            Link::Idle => {}
        }
        if !self.shut {
            if !self.warned {
                at(self.warn_at());
            }
            if !self.expired {
                at(self.expire_at());
            }
        }
        at(self.pending.values().map(|p| p.deadline).min());
        if matches!(self.link, Link::Up { .. }) {
            at(self.page_retry_at);
        }
        t
    }

    // ---- inputs ----

    /// Time has come: runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.link {
            Link::Opening { since } | Link::Hello { since }
                if now >= since.saturating_add(self.config.connect_timeout_ms) =>
            {
                self.transmits.push_back(Transmit::Close);
                self.error(
                    false,
                    ErrorCode::Unavailable,
                    "no welcome within the connect timeout",
                );
                self.lost(now, false);
            }
            Link::Up {
                last_rx,
                last_tx,
                heartbeat_ms,
                grace_ms,
            } => {
                if now >= self.dead_at(last_rx, heartbeat_ms, grace_ms) {
                    self.transmits.push_back(Transmit::Close);
                    self.error(false, ErrorCode::Unavailable, "the server went silent");
                    self.lost(now, false);
                } else if now >= last_tx.saturating_add(heartbeat_ms) {
                    self.send(ClientFrame::Ping { t: now as i64 }, now);
                }
            }
            _ => {}
        }
        // The token's deadlines after the link's: losing the link adopts a renewal the server
        // had no time to answer, whose deadlines may be due already.
        if !self.shut {
            if !self.warned && self.warn_at().is_some_and(|t| t <= now) {
                self.warned = true;
                let remaining = self
                    .expires_at
                    .map_or(0, |e| e.saturating_sub(self.server_now(now)).max(0) as u64);
                self.outputs.push_back(Output::TokenAboutToExpire {
                    remaining_ms: remaining,
                });
            }
            if !self.expired && self.expire_at().is_some_and(|t| t <= now) {
                self.expired = true;
                self.warned = true;
                self.outputs.push_back(Output::TokenExpired);
                if self.conn == ConnectionState::Connecting && self.synced {
                    // An expired token cannot connect: stop until the app gives a new one.
                    // (Before the server's clock is known the device's may be wrong: the
                    // server decides then.)
                    self.stop(
                        now,
                        ConnectionState::Disconnected,
                        ErrorCode::TokenExpired,
                        "the access token expired",
                    );
                }
            }
        }
        if self.conn == ConnectionState::Connecting {
            if self.window_end.is_some_and(|w| w <= now) {
                if self.link != Link::Idle {
                    self.transmits.push_back(Transmit::Close);
                    self.link = Link::Idle;
                }
                self.stop(
                    now,
                    ConnectionState::Disconnected,
                    ErrorCode::Unavailable,
                    "no server within the reconnection window",
                );
            } else if self.link == Link::Idle && self.next_attempt_at.is_some_and(|t| t <= now) {
                self.next_attempt_at = None;
                self.link = Link::Opening { since: now };
                self.transmits.push_back(Transmit::Connect);
            }
        }
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.complete(
                id,
                Err(WireError::new(
                    ErrorCode::RequestTimeout,
                    "the request timed out",
                )),
                now,
            );
        }
        if matches!(self.link, Link::Up { .. }) && self.page_retry_at.is_some_and(|t| t <= now) {
            self.page_retry_at = None;
            self.ask_page(now);
        }
    }

    /// The socket asked for with [`Transmit::Connect`] is open: say `hello`.
    pub fn handle_connected(&mut self, now: u64) {
        if !matches!(self.link, Link::Opening { .. }) {
            return;
        }
        self.link = Link::Hello { since: now };
        let hello = ClientFrame::Hello {
            token: self.token.clone(),
            resume: self.streams.resume(),
            sdk: Some(concat!("confab-client-core/", env!("CARGO_PKG_VERSION")).into()),
        };
        self.transmits.push_back(Transmit::Send(hello.encode()));
    }

    /// A text frame arrived.
    pub fn handle_frame(&mut self, text: &str, now: u64) {
        match &mut self.link {
            Link::Up { last_rx, .. } => *last_rx = now,
            Link::Hello { .. } => {}
            _ => return,
        }
        let Ok(incoming) = decode_incoming(text) else {
            // A frame this version does not know: ignore it rather than drop the link.
            return;
        };
        match incoming {
            Incoming::Event(e) => {
                if self.streams.accept(&e) == Verdict::Deliver {
                    self.outputs.push_back(Output::Event(e));
                }
            }
            Incoming::Frame(ServerFrame::Welcome(w)) => {
                self.offset_ms = w.server_time.saturating_sub(now as i64);
                let first_sync = !self.synced;
                self.synced = true;
                self.expires_at = Some(w.token_expires_at);
                if first_sync {
                    // Warnings raised on the device's clock before the server's was known
                    // come again at their true time.
                    if self.expire_at().is_some_and(|t| t > now) {
                        self.expired = false;
                    }
                    if self.warn_at().is_some_and(|t| t > now) {
                        self.warned = false;
                    }
                }
                self.link = Link::Up {
                    last_rx: now,
                    last_tx: now,
                    heartbeat_ms: w.heartbeat_ms.max(MIN_HEARTBEAT_MS),
                    grace_ms: w.heartbeat_grace_ms,
                };
                self.streams.welcome(&w.resumed);
                self.media = w.media;
                self.retry = 0;
                self.window_end = None;
                self.set_conn(ConnectionState::Connected);
                // Requests made offline, or whose answer the lost link swallowed, go now
                // with their op_id: the server answers a repeat with the first answer.
                self.pump_requests(now);
                self.page_retry_at = None;
                self.ask_page(now);
            }
            Incoming::Frame(ServerFrame::Res { id, result, error }) => {
                let result = match error {
                    Some(e) => Err(e),
                    None => Ok(result.unwrap_or(Value::Null)),
                };
                self.on_response(id, result, now);
            }
            Incoming::Frame(ServerFrame::Pong { .. }) => {}
            Incoming::Frame(ServerFrame::Close {
                code,
                reason,
                message,
            }) => self.on_close(reason, code, message, now),
        }
    }

    /// The socket closed by itself or could not be opened. (A socket the session asked to
    /// close with [`Transmit::Close`] is forgotten; its end is not reported.)
    ///
    /// `ws_code` is the WebSocket close code if one came: a refusal or an expiry (4401, 4402)
    /// whose `close` frame was missed still counts as one, and a slow-consumer or
    /// too-many-sessions close (4008, 4429) still backs off.
    pub fn handle_closed(&mut self, now: u64, ws_code: Option<u16>) {
        if self.link == Link::Idle {
            return;
        }
        match ws_code.and_then(CloseReason::from_ws_code) {
            Some(reason @ (CloseReason::Denied | CloseReason::TokenExpired)) => {
                let code = reason.code().code();
                self.on_close(reason, code, format!("closed: {}", reason.as_str()), now);
            }
            reason => {
                self.link = Link::Idle;
                self.error(false, ErrorCode::Unavailable, "the connection was lost");
                // A slow-consumer or too-many-sessions close whose `close` frame was missed
                // still means "not now".
                let pause = matches!(
                    reason,
                    Some(CloseReason::SlowConsumer | CloseReason::TooManySessions)
                );
                self.lost(now, pause);
            }
        }
    }

    /// Calls method `M` with `params`; the answer comes as [`Output::Response`] with the id
    /// returned (its result is `M`'s [`Method::Result`]).
    pub fn call<M: Method>(&mut self, params: &M::Params, now: u64) -> u64 {
        // Params are plain data: encoding them cannot fail.
        let params = serde_json::to_value(params).unwrap_or(Value::Null);
        self.request(M::NAME, params, now)
    }

    /// Calls the method named `method` (one of [`confab_protocol::method::METHODS`]) with
    /// `params`; the answer comes as [`Output::Response`] with the id returned. Mutations
    /// carry an `op_id`, so a resend after a lost link never acts twice. A name not in the
    /// table is answered at once with 20011, without going to the server.
    pub fn request(&mut self, method: &str, params: Value, now: u64) -> u64 {
        let id = self.take_id();
        let Some(info) = confab_protocol::method::info(method) else {
            let why = format!("unknown method {method:?}");
            self.outputs.push_back(Output::Response {
                id,
                result: Err(WireError::new(ErrorCode::UnknownMethod, why)),
            });
            return id;
        };
        if matches!(
            self.conn,
            ConnectionState::Disconnected
                | ConnectionState::Denied
                | ConnectionState::Disconnecting
        ) {
            let why = format!("the client is {}", self.conn.as_str());
            self.outputs.push_back(Output::Response {
                id,
                result: Err(WireError::new(ErrorCode::Unavailable, why)),
            });
            return id;
        }
        let op_id = info.mutates.then(|| self.new_op_id(now));
        let pending = Pending {
            frame: ClientFrame::Req {
                id,
                op_id,
                method: method.to_owned(),
                params,
            }
            .encode(),
            deadline: now.saturating_add(self.config.request_timeout_ms),
            sent: false,
        };
        // A frame the server would refuse closes the whole session; refuse it here instead,
        // or it would be resent after every reconnect.
        if pending.frame.len() > MAX_FRAME_BYTES {
            let why = format!("the request is larger than {MAX_FRAME_BYTES} bytes");
            self.outputs.push_back(Output::Response {
                id,
                result: Err(WireError::new(ErrorCode::InvalidParameter, why)),
            });
            return id;
        }
        self.pending.insert(id, pending);
        self.pump_requests(now);
        id
    }

    /// Tells the conversation's other participants that the user is typing. Sent only while
    /// connected (never queued: a typing signal from the past means nothing); returns whether
    /// it went.
    pub fn typing(&mut self, conversation: &str, now: u64) -> bool {
        if !matches!(self.link, Link::Up { .. }) {
            return false;
        }
        let params = serde_json::json!({ "conversation": conversation });
        self.internal_request(Internal::Ignore, ConversationTyping::NAME, params, now);
        true
    }

    /// Takes a new token. On a live session it is renewed in place (`token.update`; the
    /// answer comes as [`Output::Response`] with the returned id); otherwise it is kept for
    /// the next `hello` and, if the client had stopped, a new connection starts.
    pub fn update_token(&mut self, token: String, now: u64) -> Result<Option<u64>, CoreError> {
        if self.shut {
            return Err(CoreError {
                code: ErrorCode::Unavailable,
                message: "the client was shut down".into(),
            });
        }
        let (identity, expires_at) = token_facts(&token);
        if let (Some(old), Some(new)) = (&self.identity, &identity)
            && old != new
        {
            return Err(CoreError {
                code: ErrorCode::TokenBadGrant,
                message: format!("the new token is for {new:?}, not {old:?}"),
            });
        }
        if matches!(self.link, Link::Up { .. }) && self.conn == ConnectionState::Connected {
            let params = serde_json::json!({ "token": token });
            let id = self.internal_request(Internal::Renew(token), TokenUpdate::NAME, params, now);
            return Ok(Some(id));
        }
        self.adopt(token, identity, expires_at);
        match self.conn {
            ConnectionState::Disconnected | ConnectionState::Denied => self.restart(now),
            ConnectionState::Connecting => self.new_window(now),
            _ => {}
        }
        Ok(None)
    }

    /// Starts a new reconnection window at once (after `Disconnected`, or to cut a backoff
    /// short). Does nothing when connected, denied or shut down.
    pub fn reconnect(&mut self, now: u64) {
        if self.shut {
            return;
        }
        match self.conn {
            ConnectionState::Disconnected => self.restart(now),
            ConnectionState::Connecting => self.new_window(now),
            _ => {}
        }
    }

    /// The device is back online (the browser's `online` event): retry now.
    pub fn network_online(&mut self, now: u64) {
        self.reconnect(now);
    }

    /// Goes offline for good: `Disconnecting`, the socket closed, `Disconnected`. Pending
    /// requests fail.
    pub fn shutdown(&mut self) {
        if self.shut {
            return;
        }
        self.shut = true;
        self.next_attempt_at = None;
        self.window_end = None;
        self.fail_pending("the client shut down");
        self.set_conn(ConnectionState::Disconnecting);
        if self.link != Link::Idle {
            self.link = Link::Idle;
            self.transmits.push_back(Transmit::Close);
        }
        self.set_conn(ConnectionState::Disconnected);
    }

    // ---- internals ----

    fn server_now(&self, now: u64) -> i64 {
        (now as i64).saturating_add(self.offset_ms)
    }

    /// Local ms of a server-clock instant.
    fn local(&self, server_ms: i64) -> u64 {
        server_ms.saturating_sub(self.offset_ms).max(0) as u64
    }

    fn warn_at(&self) -> Option<u64> {
        self.expires_at
            .map(|e| self.local(e.saturating_sub(self.config.token_lead_ms as i64)))
    }

    fn expire_at(&self) -> Option<u64> {
        self.expires_at.map(|e| self.local(e))
    }

    fn dead_at(&self, last_rx: u64, heartbeat_ms: u64, grace_ms: u64) -> u64 {
        last_rx
            .saturating_add(heartbeat_ms.saturating_mul(2))
            .saturating_add(grace_ms)
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// 32 hex digits: the time in milliseconds (48 bits), then 80 random bits. Time first
    /// puts the server's index entry for it at the index's end (see its migrations).
    fn new_op_id(&mut self, now: u64) -> String {
        format!(
            "{:012x}{:016x}{:04x}",
            now & 0xffff_ffff_ffff,
            self.rng.next_u64(),
            self.rng.next_u64() & 0xffff
        )
    }

    fn set_conn(&mut self, state: ConnectionState) {
        if self.conn != state {
            self.conn = state;
            self.outputs
                .push_back(Output::ConnectionStateChanged(state));
        }
    }

    fn set_client(&mut self, state: ClientState) {
        if self.client != Some(state) {
            self.client = Some(state);
            self.outputs.push_back(Output::StateChanged(state));
        }
    }

    fn error(&mut self, terminal: bool, code: ErrorCode, message: &str) {
        self.outputs.push_back(Output::ConnectionError {
            terminal,
            code: code.code(),
            message: message.to_owned(),
        });
    }

    fn send(&mut self, frame: ClientFrame, now: u64) {
        if let Link::Up { last_tx, .. } = &mut self.link {
            *last_tx = now;
        }
        self.transmits.push_back(Transmit::Send(frame.encode()));
    }

    /// Sends the oldest unsent requests while the link is up and fewer than
    /// [`MAX_IN_FLIGHT`] await their answer.
    fn pump_requests(&mut self, now: u64) {
        if !matches!(self.link, Link::Up { .. }) {
            return;
        }
        let mut in_flight = self.pending.values().filter(|p| p.sent).count();
        let mut frames = vec![];
        for p in self.pending.values_mut() {
            if in_flight >= MAX_IN_FLIGHT {
                break;
            }
            if !p.sent {
                p.sent = true;
                in_flight += 1;
                frames.push(p.frame.clone());
            }
        }
        for f in frames {
            if let Link::Up { last_tx, .. } = &mut self.link {
                *last_tx = now;
            }
            self.transmits.push_back(Transmit::Send(f));
        }
    }

    /// Asks for the page of conversations owed, unless one is on its way: the first page
    /// until the client is initialized, then each next page in turn, so that the app hears
    /// of every conversation (`ConversationAdded`) without `Initialized` waiting for them.
    fn ask_page(&mut self, now: u64) {
        if self.internal.values().any(|i| *i == Internal::Page) {
            return;
        }
        let token = if self.client != Some(ClientState::Initialized) {
            None
        } else if let Some(t) = &self.next_page {
            Some(t.clone())
        } else {
            return;
        };
        let mut params = serde_json::json!({"pageSize": 50, "order": "recent"});
        if let Some(t) = &token {
            params["pageToken"] = Value::String(t.clone());
        }
        self.internal_request(Internal::Page, ConversationsList::NAME, params, now);
    }

    /// A new reconnection window from `now`, with an attempt at once.
    fn new_window(&mut self, now: u64) {
        self.window_end = self.config.window_ms.map(|w| now.saturating_add(w));
        self.retry = 1;
        if self.link == Link::Idle {
            self.next_attempt_at = Some(now);
        }
    }

    fn internal_request(&mut self, what: Internal, method: &str, params: Value, now: u64) -> u64 {
        let id = self.request(method, params, now);
        self.internal.insert(id, what);
        id
    }

    fn complete(&mut self, id: u64, result: Result<Value, WireError>, now: u64) {
        if self.pending.remove(&id).is_none() {
            return;
        }
        match self.internal.remove(&id) {
            Some(Internal::Page) => {
                if result.is_err() {
                    // Asked again shortly on this link (or on the next welcome).
                    self.page_retry_at = Some(now.saturating_add(PAGE_RETRY_MS));
                } else {
                    self.ask_page(now);
                }
            }
            Some(Internal::Renew(_)) | None => {
                self.outputs.push_back(Output::Response { id, result });
            }
            Some(Internal::Ignore) => {}
        }
    }

    fn on_response(&mut self, id: u64, result: Result<Value, WireError>, now: u64) {
        match self.internal.get(&id).cloned() {
            Some(Internal::Page) => {
                if let Ok(page) = &result {
                    for item in page["items"].as_array().into_iter().flatten() {
                        if let Ok(c) = serde_json::from_value::<JoinedConversation>(item.clone()) {
                            self.outputs
                                .push_back(Output::ConversationAdded(Box::new(c)));
                        }
                    }
                    self.next_page = page["next_page_token"].as_str().map(str::to_owned);
                    self.set_client(ClientState::Initialized);
                }
            }
            Some(Internal::Renew(token)) if result.is_ok() => {
                let (identity, _) = token_facts(&token);
                let expires_at = result
                    .as_ref()
                    .ok()
                    .and_then(|v| v["token_expires_at"].as_i64());
                self.adopt(token, identity, expires_at);
            }
            Some(Internal::Renew(_) | Internal::Ignore) | None => {}
        }
        self.complete(id, result, now);
        self.pump_requests(now);
    }

    /// Makes `token` the session's token and re-arms its timers.
    fn adopt(&mut self, token: String, identity: Option<String>, expires_at: Option<i64>) {
        self.token = token;
        if identity.is_some() {
            self.identity = identity;
        }
        // A token that does not live longer than the one it replaces warns not again: a
        // provider handing out the same token again must not be asked in a loop.
        let later = match (self.expires_at, expires_at) {
            (Some(old), Some(new)) => new > old,
            _ => true,
        };
        self.expires_at = expires_at;
        if later {
            self.warned = false;
            self.expired = false;
        }
    }

    fn on_close(&mut self, reason: CloseReason, code: u32, message: String, now: u64) {
        self.link = Link::Idle;
        // The socket closes after this frame; the driver's `handle_closed` then finds the
        // link already idle.
        self.transmits.push_back(Transmit::Close);
        match reason {
            CloseReason::Denied => {
                self.outputs.push_back(Output::ConnectionError {
                    terminal: true,
                    code,
                    message,
                });
                self.fail_pending("the token was refused");
                self.next_attempt_at = None;
                self.window_end = None;
                self.set_conn(ConnectionState::Denied);
                if self.client.is_none() {
                    self.set_client(ClientState::Failed);
                }
            }
            CloseReason::TokenExpired
                if self
                    .internal
                    .values()
                    .any(|i| matches!(i, Internal::Renew(_))) =>
            {
                // The old token ran out while its successor was on the way (a page waking
                // from sleep fires both at once): come back with the new one, which `lost`
                // adopts; its `token.update` is answered after the next `welcome`.
                self.outputs.push_back(Output::ConnectionError {
                    terminal: false,
                    code,
                    message,
                });
                self.lost(now, false);
            }
            CloseReason::TokenExpired => {
                if !self.expired {
                    self.expired = true;
                    self.warned = true;
                    self.outputs.push_back(Output::TokenExpired);
                }
                self.outputs.push_back(Output::ConnectionError {
                    terminal: true,
                    code,
                    message,
                });
                self.stop(
                    now,
                    ConnectionState::Disconnected,
                    ErrorCode::TokenExpired,
                    "",
                );
            }
            CloseReason::SlowConsumer
            | CloseReason::ShuttingDown
            | CloseReason::ProtocolError
            | CloseReason::TooManySessions => {
                self.outputs.push_back(Output::ConnectionError {
                    terminal: false,
                    code,
                    message,
                });
                if reason == CloseReason::ProtocolError {
                    // One of the requests on this link broke the protocol: resending them
                    // would only close the next session too.
                    let sent: Vec<u64> = self
                        .pending
                        .iter()
                        .filter(|(_, p)| p.sent)
                        .map(|(id, _)| *id)
                        .collect();
                    for id in sent {
                        let e = WireError::new(
                            ErrorCode::ProtocolError,
                            "the server refused this request's frame",
                        );
                        self.complete(id, Err(e), now);
                    }
                }
                // Both mean "not now": come back after a pause, not at once.
                self.lost(
                    now,
                    matches!(
                        reason,
                        CloseReason::SlowConsumer | CloseReason::TooManySessions
                    ),
                );
            }
        }
    }

    /// The link is gone: try again inside the window.
    fn lost(&mut self, now: u64, slow: bool) {
        self.link = Link::Idle;
        // Unanswered requests go again after the next welcome, with their op_id; a typing
        // signal does not (it would be news from the past).
        let stale: Vec<u64> = self
            .internal
            .iter()
            .filter(|(_, i)| **i == Internal::Ignore)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.internal.remove(&id);
            self.pending.remove(&id);
        }
        for p in self.pending.values_mut() {
            p.sent = false;
        }
        // A renewal the server had no time to answer: the next hello carries the new token
        // (its token.update then goes again and is answered there).
        let renewing = self.internal.values().find_map(|i| match i {
            Internal::Renew(t) => Some(t.clone()),
            Internal::Page | Internal::Ignore => None,
        });
        if let Some(token) = renewing {
            let (identity, expires_at) = token_facts(&token);
            self.adopt(token, identity, expires_at);
        }
        if self.shut {
            self.set_conn(ConnectionState::Disconnected);
            return;
        }
        if !matches!(
            self.conn,
            ConnectionState::Connected | ConnectionState::Connecting
        ) {
            return;
        }
        if self.conn == ConnectionState::Connected || self.window_end.is_none() && self.retry == 0 {
            self.window_end = self.config.window_ms.map(|w| now.saturating_add(w));
        }
        self.set_conn(ConnectionState::Connecting);
        let delay = if slow && self.retry == 0 {
            self.config.backoff.after_slow_consumer_ms(&mut self.rng)
        } else {
            self.config.backoff.delay_ms(self.retry, &mut self.rng)
        };
        self.retry = self.retry.saturating_add(1);
        self.next_attempt_at = Some(now.saturating_add(delay));
    }

    /// Stops trying: `state` is `Disconnected` or `Denied`.
    fn stop(&mut self, _now: u64, state: ConnectionState, code: ErrorCode, why: &str) {
        if self.link != Link::Idle {
            self.transmits.push_back(Transmit::Close);
        }
        self.link = Link::Idle;
        self.next_attempt_at = None;
        self.window_end = None;
        self.fail_pending(if why.is_empty() {
            "the client stopped"
        } else {
            why
        });
        if !why.is_empty() {
            self.error(true, code, why);
        }
        self.set_conn(state);
        if self.client.is_none() {
            self.set_client(ClientState::Failed);
        }
    }

    /// A new start after `Disconnected` or `Denied`: a fresh window, an attempt now.
    fn restart(&mut self, now: u64) {
        self.retry = 1;
        self.window_end = self.config.window_ms.map(|w| now.saturating_add(w));
        self.next_attempt_at = Some(now);
        self.link = Link::Idle;
        self.set_conn(ConnectionState::Connecting);
    }

    fn fail_pending(&mut self, why: &str) {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        for id in ids {
            self.complete(id, Err(WireError::new(ErrorCode::Unavailable, why)), 0);
        }
    }
}
