//! A WebSocket echo at [`ECHO_PATH`], for conformance suites (the Autobahn TestSuite run by
//! `scripts/autobahn`): served only with [`super::RealtimeConfig::websocket_echo`]
//! (`confab serve --websocket-echo`), never by default.
//!
//! Such suites need a peer that sends back each message it gets; the realtime endpoint
//! answers requests instead. So the echo stands on the realtime endpoint's own WebSocket
//! stack: the same upgrade with the same limits and buffers ([`super::websocket`]), the same
//! reading of a broken frame into a close code ([`super::wire::broken`]), the same failing
//! of the connection ([`super::wire::fail`]), the same silence deadline and write timeout,
//! and the same stop on shutdown. Only what is done with a message differs.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, sleep_until, timeout};

use super::context::Realtime;
use super::wire::{Broken, broken, close_back, fail, stopping};

/// Where the echo is served when it is on.
pub const ECHO_PATH: &str = "/_conformance/echo";

pub(super) async fn upgrade(State(rt): State<Arc<Realtime>>, ws: WebSocketUpgrade) -> Response {
    super::websocket(ws).on_upgrade(move |socket| run(rt, socket))
}

/// Sends back every text and binary message until the peer closes, breaks WebSocket, goes
/// silent, or the server stops.
async fn run(rt: Arc<Realtime>, socket: WebSocket) {
    let _active = rt.active();
    let (mut sink, mut stream) = socket.split();
    let mut shutdown = rt.shutdown.clone();
    let silence = rt.config.heartbeat * 2 + rt.config.heartbeat_grace;
    let mut silent_until = Instant::now() + silence;
    loop {
        let read = tokio::select! {
            () = stopping(&mut shutdown) => {
                let bye = CloseFrame { code: 1001, reason: "the server is stopping".into() };
                let _ = timeout(rt.config.write_timeout, sink.send(Message::Close(Some(bye)))).await;
                return;
            }
            () = sleep_until(silent_until) => return,
            read = stream.next() => read,
        };
        silent_until = Instant::now() + silence;
        let answer = match read {
            None => return,
            Some(Ok(Message::Close(_))) => {
                // Flushes the close WebSocket queued in answer (RFC 6455 section 5.5.1).
                close_back(&mut sink).await;
                return;
            }
            Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => m,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Err(e)) => {
                match broken(e) {
                    Broken::Violation(ws_code, why) => fail(&mut sink, ws_code, why).await,
                    Broken::TooLarge(why) => fail(&mut sink, 1009, why).await,
                    Broken::Gone => {}
                }
                return;
            }
        };
        match timeout(rt.config.write_timeout, sink.send(answer)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
