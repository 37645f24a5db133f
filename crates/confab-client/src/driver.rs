//! The tokio driver: one task per client that pumps the core with a WebSocket and timers.
//!
//! It owns the [`Session`] and at most one socket. The socket's write half lives in a writer
//! task fed by a bounded channel, so a stalled network never blocks the driver (its timers,
//! including the heartbeat deadline, keep running); a full channel counts as a lost link.
//! Connecting runs in its own task too and reports back with a generation number, so the
//! answer of an attempt the core already gave up on is ignored.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use confab_client_core::{ClientState, ConnectionState, Output, Session, Transmit};
use confab_protocol::frame::{REALTIME_PATH, SUBPROTOCOL};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{ClientError, Command, Link};
use crate::events::ClientEvent;
use crate::options::{ClientOptions, LogLevel};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Frames waiting for the writer task; past this the link counts as lost. (The core sends
/// at most 64 requests at a time, plus pings.)
const WRITE_QUEUE: usize = 1024;

enum Reply {
    Request(oneshot::Sender<Result<Value, ClientError>>),
    Token(oneshot::Sender<Result<(), ClientError>>),
}

struct Socket {
    reader: SplitStream<Ws>,
    writer: mpsc::Sender<String>,
    task: JoinHandle<()>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The writer sends what it has and a close frame once its queue is dropped; a
        // writer stuck on a dead network is stopped a moment later.
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        tokio::spawn(async move {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        });
    }
}

pub(crate) struct Driver {
    session: Session,
    options: ClientOptions,
    cmd: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<ClientEvent>,
    conn: watch::Sender<ConnectionState>,
    state: watch::Sender<Option<ClientState>>,
    socket: Option<Socket>,
    /// The attempt whose answer counts.
    generation: u64,
    opened_tx: mpsc::UnboundedSender<(u64, Result<Ws, String>)>,
    opened_rx: mpsc::UnboundedReceiver<(u64, Result<Ws, String>)>,
    tokens_tx: mpsc::UnboundedSender<Result<String, String>>,
    tokens_rx: mpsc::UnboundedReceiver<Result<String, String>>,
    fetching_token: bool,
    /// The `exp` of the token a provider fetch was last started for: one fetch per token.
    fetched_for: Option<i64>,
    /// No provider fetch before this (after one that failed).
    fetch_not_before: Option<tokio::time::Instant>,
    /// A fetch is due once `fetch_not_before` passes.
    fetch_wanted: bool,
    replies: HashMap<u64, Reply>,
    shutdown: Vec<oneshot::Sender<()>>,
    /// Every `Client` handle is gone.
    orphaned: bool,
    /// The app's handles and the objects they read between calls.
    link: Link,
    /// The core's clock: unix ms at start plus monotonic time since, so a stepped system
    /// clock cannot stall the heartbeat or fire every timeout at once.
    epoch: (u64, std::time::Instant),
}

/// Unix time in ms.
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

macro_rules! log {
    ($driver:expr, $level:ident, $($arg:tt)*) => {
        if $driver.options.log_level <= LogLevel::$level {
            log!(@emit $level, $($arg)*);
        }
    };
    (@emit Trace, $($arg:tt)*) => { tracing::trace!(target: "confab_client", $($arg)*) };
    (@emit Debug, $($arg:tt)*) => { tracing::debug!(target: "confab_client", $($arg)*) };
    (@emit Info, $($arg:tt)*) => { tracing::info!(target: "confab_client", $($arg)*) };
    (@emit Warn, $($arg:tt)*) => { tracing::warn!(target: "confab_client", $($arg)*) };
    (@emit Error, $($arg:tt)*) => { tracing::error!(target: "confab_client", $($arg)*) };
}

impl Driver {
    pub(crate) fn new(
        token: String,
        options: ClientOptions,
        cmd: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<ClientEvent>,
        conn: watch::Sender<ConnectionState>,
        state: watch::Sender<Option<ClientState>>,
        link: Link,
    ) -> Driver {
        let (opened_tx, opened_rx) = mpsc::unbounded_channel();
        let (tokens_tx, tokens_rx) = mpsc::unbounded_channel();
        let epoch = (unix_ms(), std::time::Instant::now());
        Driver {
            session: Session::new(token, options.core_config(), rand::random(), epoch.0),
            options,
            cmd,
            events,
            conn,
            state,
            socket: None,
            generation: 0,
            opened_tx,
            opened_rx,
            tokens_tx,
            tokens_rx,
            fetching_token: false,
            fetched_for: None,
            fetch_not_before: None,
            fetch_wanted: false,
            replies: HashMap::new(),
            shutdown: vec![],
            orphaned: false,
            link,
            epoch,
        }
    }

    /// The core's "now": unix ms at start plus monotonic time since.
    fn now(&self) -> u64 {
        let elapsed = u64::try_from(self.epoch.1.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.epoch.0.saturating_add(elapsed)
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.flush();
            if (self.orphaned || !self.shutdown.is_empty())
                && self.session.connection_state() == ConnectionState::Disconnected
            {
                break;
            }
            let now = self.now();
            let mut wake = self.session.poll_timeout().map(|t| {
                tokio::time::Instant::now() + Duration::from_millis(t.saturating_sub(now))
            });
            if self.fetch_wanted
                && let Some(at) = self.fetch_not_before
            {
                wake = Some(wake.map_or(at, |w| w.min(at)));
            }
            tokio::select! {
                cmd = self.cmd.recv(), if !self.orphaned => match cmd {
                    Some(c) => self.command(c),
                    None => {
                        // Every handle is gone: nobody can hear this client any more.
                        self.orphaned = true;
                        self.session.shutdown();
                    }
                },
                frame = read(&mut self.socket) => self.frame(frame),
                Some((generation, result)) = self.opened_rx.recv() => self.opened(generation, result),
                Some(token) = self.tokens_rx.recv() => self.provided(token),
                () = sleep_until(wake) => {
                    let now = self.now();
                    self.session.handle_timeout(now);
                    let due = self
                        .fetch_not_before
                        .is_none_or(|t| t <= tokio::time::Instant::now());
                    if self.fetch_wanted && due {
                        self.fetch_token();
                    }
                }
            }
        }
        self.socket = None;
        self.link.store.close();
        for done in self.shutdown.drain(..) {
            let _ = done.send(());
        }
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Request {
                method,
                params,
                reply,
            } => {
                log!(self, Debug, %method, "request");
                let id = self.session.request(&method, params, self.now());
                self.replies.insert(id, Reply::Request(reply));
            }
            Command::UpdateToken { token, reply } => {
                match self.session.update_token(token, self.now()) {
                    Ok(Some(id)) => {
                        self.replies.insert(id, Reply::Token(reply));
                    }
                    Ok(None) => {
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(ClientError {
                            code: e.code.code(),
                            message: e.message,
                        }));
                    }
                }
            }
            Command::Reconnect => self.session.reconnect(self.now()),
            Command::Typing { conversation } => {
                let now = self.now();
                self.session.typing(&conversation, now);
            }
            Command::Apply { update, reply } => {
                for e in self.link.store.apply(&self.link, update) {
                    let _ = self.events.send(e);
                }
                let _ = reply.send(());
            }
            Command::Media { reply } => {
                let _ = reply.send(crate::media::MediaAccess {
                    service: self.session.media_service().cloned(),
                    token: self.session.token().to_owned(),
                    base: http_origin(&self.options.url),
                });
            }
            Command::Shutdown { reply } => {
                self.shutdown.push(reply);
                self.session.shutdown();
            }
        }
    }

    fn frame(&mut self, frame: Option<Result<Message, String>>) {
        match frame {
            Some(Ok(Message::Text(t))) => {
                log!(self, Trace, frame = %t.as_str(), "received");
                let now = self.now();
                self.session.handle_frame(t.as_str(), now);
            }
            Some(Ok(Message::Close(frame))) => {
                log!(self, Info, "connection closed by the server");
                self.socket = None;
                let code = frame.map(|f| u16::from(f.code));
                let now = self.now();
                self.session.handle_closed(now, code);
            }
            Some(Err(_)) | None => {
                log!(self, Info, "connection lost");
                self.socket = None;
                let now = self.now();
                self.session.handle_closed(now, None);
            }
            Some(Ok(_)) => {}
        }
    }

    fn opened(&mut self, generation: u64, result: Result<Ws, String>) {
        if generation != self.generation {
            return;
        }
        match result {
            Ok(ws) => {
                log!(self, Info, "connected");
                let (sink, reader) = ws.split();
                let (writer, rx) = mpsc::channel(WRITE_QUEUE);
                let task = tokio::spawn(write(sink, rx));
                self.socket = Some(Socket {
                    reader,
                    writer,
                    task,
                });
                self.session.handle_connected(self.now());
            }
            Err(e) => {
                log!(self, Warn, error = %e, "connection attempt failed");
                {
                    let now = self.now();
                    self.session.handle_closed(now, None);
                }
            }
        }
    }

    fn provided(&mut self, token: Result<String, String>) {
        self.fetching_token = false;
        let now = self.now();
        let ok = match token {
            Ok(t) => match self.session.update_token(t, now) {
                Ok(_) => {
                    log!(self, Debug, "token renewed from the provider");
                    true
                }
                Err(e) => {
                    log!(self, Warn, code = e.code.code(), message = %e.message, "the provider's token was refused");
                    false
                }
            },
            Err(e) => {
                log!(self, Warn, error = %e, "the token provider failed");
                false
            }
        };
        if !ok {
            // Try again, but not in a loop.
            self.fetched_for = None;
            self.fetch_wanted = true;
            self.fetch_not_before = Some(tokio::time::Instant::now() + Duration::from_secs(1));
        }
    }

    /// Asks the provider for a new token: once per token, never twice at once, and (after a
    /// failure) not before a pause.
    fn fetch_token(&mut self) {
        let Some(provider) = self.options.token_provider.clone() else {
            return;
        };
        let exp = confab_protocol::token::decode_unverified(self.session.token())
            .ok()
            .map(|t| t.claims.exp);
        if self.fetching_token || (exp.is_some() && self.fetched_for == exp) {
            return;
        }
        if self
            .fetch_not_before
            .is_some_and(|t| t > tokio::time::Instant::now())
        {
            self.fetch_wanted = true;
            return;
        }
        self.fetch_wanted = false;
        self.fetch_not_before = None;
        self.fetching_token = true;
        self.fetched_for = exp;
        let tx = self.tokens_tx.clone();
        tokio::spawn(async move {
            // A provider that panics counts as one that failed.
            let token = tokio::spawn(provider())
                .await
                .unwrap_or_else(|_| Err("the token provider panicked".into()));
            let _ = tx.send(token);
        });
    }

    /// Carries out what the core asks for and hands its outputs to the app, until it asks
    /// for nothing more.
    fn flush(&mut self) {
        loop {
            let mut any = false;
            while let Some(t) = self.session.poll_transmit() {
                any = true;
                self.transmit(t);
            }
            while let Some(o) = self.session.poll_output() {
                any = true;
                self.output(o);
            }
            if !any {
                return;
            }
        }
    }

    fn transmit(&mut self, t: Transmit) {
        match t {
            Transmit::Connect => {
                self.socket = None;
                self.generation += 1;
                let generation = self.generation;
                let url = format!("{}{REALTIME_PATH}", self.options.url.trim_end_matches('/'));
                let tx = self.opened_tx.clone();
                log!(self, Debug, %url, "connecting");
                tokio::spawn(async move {
                    let _ = tx.send((generation, open(&url).await));
                });
            }
            Transmit::Send(text) => {
                log!(self, Trace, frame = %redacted(&text), "sending");
                let sent = self
                    .socket
                    .as_ref()
                    .map(|s| s.writer.try_send(text).is_ok());
                if sent == Some(false) {
                    // The writer is stuck or gone: the link is as good as lost.
                    self.socket = None;
                    {
                        let now = self.now();
                        self.session.handle_closed(now, None);
                    }
                }
            }
            Transmit::Close => {
                self.socket = None;
                // An attempt still opening is abandoned too.
                self.generation += 1;
            }
        }
    }

    fn output(&mut self, o: Output) {
        if let Output::Response { id, result } = o {
            let to_client = |e: confab_protocol::frame::WireError| ClientError {
                code: e.code,
                message: e.message,
            };
            match self.replies.remove(&id) {
                Some(Reply::Request(r)) => {
                    let _ = r.send(result.map_err(to_client));
                }
                Some(Reply::Token(r)) => {
                    let _ = r.send(result.map(|_| ()).map_err(to_client));
                }
                None => {}
            }
            return;
        }
        match &o {
            Output::ConnectionStateChanged(s) => {
                log!(self, Debug, state = s.as_str(), "connection state");
                self.conn.send_replace(*s);
            }
            Output::StateChanged(s) => {
                log!(self, Debug, state = s.as_str(), "client state");
                self.state.send_replace(Some(*s));
            }
            Output::ConnectionError {
                terminal,
                code,
                message,
            } => {
                log!(self, Warn, terminal, code, %message, "connection error");
                if *terminal && *code == confab_protocol::ErrorCode::TokenExpired.code() {
                    // Closed for an expired token: a provider can still bring it back.
                    self.fetch_token();
                }
            }
            Output::TokenAboutToExpire { .. } | Output::TokenExpired => self.fetch_token(),
            _ => {}
        }
        self.link.store.set_identity(self.session.identity());
        for e in self.link.store.translate(&self.link, o) {
            // The app may have dropped its event stream; the client goes on regardless.
            let _ = self.events.send(e);
        }
    }
}

/// A frame fit for the log: access tokens (in `hello` and `token.update`) never reach it.
fn redacted(frame: &str) -> std::borrow::Cow<'_, str> {
    const KEY: &str = "\"token\":\"";
    let Some(start) = frame.find(KEY).map(|i| i + KEY.len()) else {
        return frame.into();
    };
    let end = frame[start..].find('"').map_or(frame.len(), |e| start + e);
    format!("{}<redacted>{}", &frame[..start], &frame[end..]).into()
}

/// The HTTP origin of the server at `url` (`ws://` or `http://`, with or without a path's
/// trailing slash).
fn http_origin(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.strip_prefix("ws") {
        Some(rest) => format!("http{rest}"),
        None => url.to_owned(),
    }
}

async fn open(url: &str) -> Result<Ws, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(SUBPROTOCOL),
    );
    // Nagle's algorithm would hold a small frame sent right after another until the first is
    // acknowledged (40 ms with a delayed ACK): no batching is worth that in a chat.
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

async fn write(mut sink: SplitSink<Ws, Message>, mut rx: mpsc::Receiver<String>) {
    while let Some(text) = rx.recv().await {
        if sink.feed(Message::Text(text.into())).await.is_err() {
            return;
        }
        while let Ok(text) = rx.try_recv() {
            if sink.feed(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

async fn read(socket: &mut Option<Socket>) -> Option<Result<Message, String>> {
    match socket {
        Some(s) => s.reader.next().await.map(|r| r.map_err(|e| e.to_string())),
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_redacted_from_logged_frames() {
        let f = r#"{"op":"hello","token":"eyJ.abc.def","sdk":"x"}"#;
        assert_eq!(
            super::redacted(f),
            r#"{"op":"hello","token":"<redacted>","sdk":"x"}"#
        );
        assert_eq!(
            super::redacted(r#"{"op":"ping","t":1}"#),
            r#"{"op":"ping","t":1}"#
        );
    }
}
