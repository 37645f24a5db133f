//! A raw realtime protocol client: frames in, frames out, no SDK logic (no reconnection, no
//! cursors, no de-duplication). Tests use it to drive the server exactly as the protocol
//! says and to check what comes back frame by frame.
//!
//! Every wait has a timeout ([`RawClient::WAIT`]) and panics with what it was waiting for, so
//! a test never hangs and never sleeps.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use confab_protocol::event::{EventBody, EventFrame};
use confab_protocol::frame::{
    ClientFrame, CloseReason, Incoming, REALTIME_PATH, Resume, SUBPROTOCOL, ServerFrame, Welcome,
    WireError, decode_incoming,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What the server sent, as the raw client sorts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// `welcome`, `res`, `pong` or `close`.
    Frame(ServerFrame),
    /// An event frame.
    Event(Box<EventFrame>),
    /// The WebSocket closed (with its close code, if one came) or the connection ended.
    Closed(Option<u16>),
}

/// A realtime connection without SDK logic.
pub struct RawClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Events read while waiting for something else, in arrival order.
    pending: VecDeque<Received>,
}

impl RawClient {
    /// How long any wait lasts before the test fails.
    pub const WAIT: Duration = Duration::from_secs(15);

    /// Opens a WebSocket to `addr`'s realtime endpoint, asking for the subprotocol.
    pub async fn connect(
        addr: SocketAddr,
    ) -> Result<RawClient, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{addr}{REALTIME_PATH}").into_client_request()?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(RawClient {
            ws,
            next_id: 1,
            pending: VecDeque::new(),
        })
    }

    /// Connects and sends `hello`; returns the client and the `welcome` (panics on anything
    /// else).
    pub async fn join(
        addr: SocketAddr,
        token: &str,
        resume: Option<Resume>,
    ) -> (RawClient, Welcome) {
        let mut c = Self::connect(addr).await.expect("websocket connects");
        c.hello(token, resume).await;
        let w = c.welcome().await;
        (c, w)
    }

    /// Sends a frame.
    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(&frame.encode()).await;
    }

    /// Sends any text as one frame.
    pub async fn send_text(&mut self, text: &str) {
        // A send to a closed socket is for the test to notice on its next read.
        let _ = self.ws.send(Message::Text(text.into())).await;
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(Message::Binary(bytes.into())).await;
    }

    /// Sends `hello`.
    pub async fn hello(&mut self, token: &str, resume: Option<Resume>) {
        self.send(&ClientFrame::Hello {
            token: token.to_owned(),
            resume,
            sdk: Some("confab-testkit-raw".into()),
        })
        .await;
    }

    /// Sends a `req` and returns its id.
    pub async fn send_req(&mut self, method: &str, op_id: Option<&str>, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&ClientFrame::Req {
            id,
            op_id: op_id.map(str::to_owned),
            method: method.to_owned(),
            params,
        })
        .await;
        id
    }

    /// Calls a method and waits for its answer; events that arrive meanwhile are kept for
    /// [`RawClient::next_event`].
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, WireError> {
        let id = self.send_req(method, None, params).await;
        self.answer(id).await
    }

    /// Sends message `m{index}` to `conversation`, checks that it is answered with `index`
    /// and that `reader`'s next event is that message at that index.
    pub async fn send_seen_by(&mut self, reader: &mut RawClient, conversation: &str, index: i64) {
        let body = format!("m{index}");
        let sent = self
            .call(
                "message.send",
                json!({"conversation": conversation, "body": body}),
            )
            .await
            .expect("message.send answered");
        assert_eq!(sent["index"], index);
        match reader.next_event().await.body {
            EventBody::MessageAdded(m) => {
                assert_eq!((m.body.as_deref(), m.index), (Some(body.as_str()), index))
            }
            other => panic!("expected messageAdded m{index}: {other:?}"),
        }
    }

    /// Like [`RawClient::call`] with an `op_id`.
    pub async fn call_op(
        &mut self,
        method: &str,
        op_id: &str,
        params: Value,
    ) -> Result<Value, WireError> {
        let id = self.send_req(method, Some(op_id), params).await;
        self.answer(id).await
    }

    /// Waits for the `res` of request `id`.
    pub async fn answer(&mut self, id: u64) -> Result<Value, WireError> {
        // Answers come in any order: one read while waiting for another is kept.
        let kept = self.pending.iter().position(
            |r| matches!(r, Received::Frame(ServerFrame::Res { id: got, .. }) if *got == id),
        );
        if let Some(Received::Frame(ServerFrame::Res { result, error, .. })) =
            kept.and_then(|i| self.pending.remove(i))
        {
            return answer_of(result, error);
        }
        loop {
            match self.read().await {
                Received::Frame(ServerFrame::Res {
                    id: got,
                    result,
                    error,
                }) if got == id => return answer_of(result, error),
                other @ (Received::Event(_) | Received::Frame(ServerFrame::Res { .. })) => {
                    self.pending.push_back(other)
                }
                Received::Frame(ServerFrame::Pong { .. }) => {}
                other => panic!("waiting for res {id}, got {other:?}"),
            }
        }
    }

    /// Waits for `welcome`.
    pub async fn welcome(&mut self) -> Welcome {
        match self.next().await {
            Received::Frame(ServerFrame::Welcome(w)) => w,
            other => panic!("waiting for welcome, got {other:?}"),
        }
    }

    /// The next event (kept ones first); panics on anything but an event or a pong.
    pub async fn next_event(&mut self) -> EventFrame {
        loop {
            match self.next().await {
                Received::Event(e) => return *e,
                Received::Frame(ServerFrame::Pong { .. }) => {}
                other => panic!("waiting for an event, got {other:?}"),
            }
        }
    }

    /// Waits for the `close` frame and the socket's end; returns reason and code. Events
    /// before it are dropped.
    pub async fn closed(&mut self) -> (CloseReason, u32, String) {
        loop {
            match self.next().await {
                Received::Frame(ServerFrame::Close {
                    reason,
                    code,
                    message,
                }) => {
                    // The WebSocket close follows.
                    loop {
                        if let Received::Closed(_) = self.next().await {
                            break;
                        }
                    }
                    return (reason, code, message);
                }
                Received::Closed(c) => panic!("socket closed (code {c:?}) without a close frame"),
                _ => {}
            }
        }
    }

    /// Waits until the socket ends, skipping anything before; returns the WebSocket close
    /// code if one came.
    pub async fn until_closed(&mut self) -> Option<u16> {
        loop {
            if let Received::Closed(c) = self.next().await {
                return c;
            }
        }
    }

    /// The next thing received (kept ones first).
    pub async fn next(&mut self) -> Received {
        match self.pending.pop_front() {
            Some(r) => r,
            None => self.read().await,
        }
    }

    async fn read(&mut self) -> Received {
        loop {
            let msg = match tokio::time::timeout(Self::WAIT, self.ws.next()).await {
                Ok(m) => m,
                Err(_) => panic!("nothing received within {:?}", Self::WAIT),
            };
            return match msg {
                None | Some(Err(_)) => Received::Closed(None),
                Some(Ok(Message::Close(f))) => Received::Closed(f.map(|f| u16::from(f.code))),
                Some(Ok(Message::Text(t))) => match decode_incoming(t.as_str()) {
                    Ok(Incoming::Frame(f)) => Received::Frame(f),
                    Ok(Incoming::Event(e)) => Received::Event(e),
                    Err(e) => panic!("undecodable frame from the server: {e}: {t}"),
                },
                Some(Ok(_)) => continue,
            };
        }
    }

    /// Closes the WebSocket politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A `res` frame's outcome.
fn answer_of(result: Option<Value>, error: Option<WireError>) -> Result<Value, WireError> {
    match (result, error) {
        (_, Some(e)) => Err(e),
        (Some(r), None) => Ok(r),
        (None, None) => Ok(Value::Null),
    }
}
