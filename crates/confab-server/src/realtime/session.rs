//! One realtime session: the task that reads the socket and decides when the session ends.
//!
//! The order of a session's life:
//! 1. Read `hello` (within the hello timeout), verify its token; a refusal is answered with
//!    `close {reason: denied}` and the token's code.
//! 2. Subscribe to the identity's user stream, then read where its streams stand
//!    ([`confab_store::Store::memberships`]) and subscribe to each conversation: anything
//!    committed from here on reaches the session's queue, so the replay that follows misses
//!    nothing (DESIGN.md section 4: subscribe and buffer, replay, release without duplicates).
//! 3. Hand the socket's write half to the pump (`pump.rs`), which sends `welcome`, replays the
//!    logs after the client's cursors, then drains the queue.
//! 4. Read frames: `req` runs as its own task (answers go through the queue), `ping` is
//!    answered with `pong`, anything else ends the session with `protocol_error`. Any frame
//!    received resets the silence deadline (2H + grace); the token's `exp` + skew is another.
//!
//! Whoever ends a session (this task, the hub for a slow consumer, the server on shutdown)
//! does it through [`Kill`]; the pump then sends the `close` frame and the socket closes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use confab_domain::Actor;
use confab_protocol::frame::{ClientFrame, CloseReason, Resumed, ServerFrame, Welcome, WireError};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{LogEvent, Stream};
use confab_token::{TokenError, VerifiedToken};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};

use super::Realtime;
use super::hub::{Lag, Subscriber};
use super::pump::{Pump, Start};
use super::requests::{request, res};

/// What goes into a session's outbound queue. Small on purpose: the queue's first block of
/// slots is allocated with it, for every session.
pub(crate) enum Outbound {
    /// A frame encoded for this session alone (`res`, `pong`).
    Text(String),
    /// A committed event, shared by every recipient.
    Event(Arc<Live>),
    /// An ephemeral event of a conversation (typing), delivered only while it is followed.
    Ephemeral(Box<Ephemeral>),
}

/// An ephemeral event of a conversation.
pub(crate) struct Ephemeral {
    /// Its conversation.
    pub conversation: Sid,
    /// The encoded frame, shared by every recipient.
    pub frame: Arc<[u8]>,
    /// News about this identity, numbered: delivered once per session.
    pub once: Option<(String, u64)>,
}

/// A committed event as the hub hands it to every recipient: checked and classified once,
/// so that a delivery costs no scan of the frame.
pub(crate) struct Live {
    /// The event as committed.
    pub event: LogEvent,
    /// Its frame as WebSocket text.
    pub text: Utf8Bytes,
    /// Whether it is a `participantLeft`, the one event a recipient must look inside (its own
    /// leave ends the conversation's stream for it).
    pub participant_left: bool,
}

impl Live {
    /// `None` for a frame that is not UTF-8 (never, for a frame this server encoded).
    pub fn new(event: &LogEvent) -> Option<Live> {
        let text = Utf8Bytes::try_from(Bytes::from_owner(event.frame.clone())).ok()?;
        Some(Live {
            participant_left: is_participant_left(&event.frame),
            event: event.clone(),
            text,
        })
    }
}

/// Whether `frame` is a `participantLeft` event, by the type in its head (frames are encoded
/// with `type` before `data`).
pub(crate) fn is_participant_left(frame: &[u8]) -> bool {
    const MARK: &[u8] = br#""type":"participantLeft""#;
    let head = &frame[..frame.len().min(160)];
    head.windows(MARK.len()).any(|w| w == MARK)
}

/// How a session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Tell the client why (`close` frame, then a WebSocket close with the reason's code).
    Close {
        reason: CloseReason,
        code: u32,
        message: String,
    },
    /// Just drop the connection: the peer is gone or silent, nothing can reach it.
    Drop(&'static str),
    /// The client sent a WebSocket close: answer it with a close of the same code (RFC 6455
    /// section 5.5.1: WebSocket queued that answer when it read the close), then drop.
    PeerClosed,
    /// The client broke WebSocket itself: fail the connection with a WebSocket close of this
    /// code (1002, or 1007 for text that is not UTF-8) and no `close` frame (RFC 6455 section
    /// 7.1.7; nothing more of ours belongs on a connection in that state).
    Broken { ws_code: u16, why: String },
}

/// Ends a session, once: the first ending set wins.
#[derive(Clone)]
pub(crate) struct Kill(Arc<watch::Sender<Option<Ending>>>);

impl Kill {
    fn new() -> (Kill, watch::Receiver<Option<Ending>>) {
        let (tx, rx) = watch::channel(None);
        (Kill(Arc::new(tx)), rx)
    }

    /// Ends the session with `reason` and its code.
    pub fn kill(&self, reason: CloseReason, message: impl Into<String>) {
        self.end(Ending::Close {
            reason,
            code: reason.code().code(),
            message: message.into(),
        });
    }

    /// Ends the session as `ending` says, unless it is already ending.
    pub fn end(&self, ending: Ending) {
        self.0.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(ending);
                true
            } else {
                false
            }
        });
    }

    /// Watches for the end.
    pub fn watch(&self) -> watch::Receiver<Option<Ending>> {
        self.0.subscribe()
    }
}

/// Sends `close` and closes the socket, for sessions that end before the pump exists.
async fn refuse(
    rt: &Realtime,
    sink: &mut SplitSink<WebSocket, Message>,
    reason: CloseReason,
    code: u32,
    message: String,
) {
    rt.record_close(reason.as_str());
    send_close(sink, vec![], reason, code, message).await;
}

/// Sends what is left to say (`answers`, then the `close` frame) and the WebSocket close,
/// giving up after a second: a peer that does not read by then will not.
pub(crate) async fn send_close(
    sink: &mut SplitSink<WebSocket, Message>,
    answers: Vec<String>,
    reason: CloseReason,
    code: u32,
    message: String,
) {
    let frame = ServerFrame::Close {
        code,
        reason,
        message,
    };
    let _ = timeout(Duration::from_secs(1), async {
        for t in answers {
            sink.feed(Message::Text(t.into())).await?;
        }
        sink.send(Message::Text(frame.encode().into())).await?;
        sink.send(Message::Close(Some(CloseFrame {
            code: reason.ws_code(),
            reason: reason.as_str().into(),
        })))
        .await
    })
    .await;
}

/// Fails a connection whose client broke WebSocket: a WebSocket close with `ws_code`, given a
/// second to leave.
pub(crate) async fn fail(sink: &mut SplitSink<WebSocket, Message>, ws_code: u16, why: String) {
    tracing::debug!(ws_code, %why, "realtime: a client broke WebSocket");
    let frame = CloseFrame {
        code: ws_code,
        reason: match ws_code {
            1007 => "text that is not UTF-8",
            1009 => "message too big",
            _ => "WebSocket protocol violation",
        }
        .into(),
    };
    let _ = timeout(
        Duration::from_secs(1),
        sink.send(Message::Close(Some(frame))),
    )
    .await;
}

/// What the next frame read was.
enum Read {
    Text(String),
    /// A WebSocket ping or pong: no data, but proof of life.
    Control,
    /// The connection ended without a close.
    Gone,
    /// The client sent a WebSocket close.
    Closed,
    /// The client broke WebSocket itself: the close code to fail the connection with, and why.
    Broken(u16, String),
    Bad(String),
}

async fn next_frame(stream: &mut futures_util::stream::SplitStream<WebSocket>) -> Read {
    match stream.next().await {
        None => Read::Gone,
        Some(Ok(Message::Close(_))) => Read::Closed,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Read::Control,
        Some(Ok(Message::Binary(_))) => {
            Read::Bad("binary frames are not part of the protocol".into())
        }
        Some(Ok(Message::Text(t))) => Read::Text(t.as_str().to_owned()),
        Some(Err(e)) => match broken(e) {
            Broken::Violation(code, why) => Read::Broken(code, why),
            Broken::TooLarge(why) => Read::Bad(why),
            Broken::Gone => Read::Gone,
        },
    }
}

/// What a read error means.
pub(crate) enum Broken {
    /// The client broke WebSocket: the close code to fail the connection with, and why.
    Violation(u16, String),
    /// A frame or message over the size limit.
    TooLarge(String),
    /// The connection is gone.
    Gone,
}

/// Reads a read error as [`Broken`].
pub(crate) fn broken(e: axum::Error) -> Broken {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = e.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Utf8(_)) => {
            Broken::Violation(1007, format!("text that is not UTF-8: {inner}"))
        }
        Some(WsError::Protocol(_)) => Broken::Violation(1002, inner.to_string()),
        Some(WsError::Capacity(_)) => Broken::TooLarge(format!("unreadable frame: {inner}")),
        _ => Broken::Gone,
    }
}

/// The instant a token with `exp` (unix seconds) stops being acceptable on this server.
fn token_deadline(rt: &Realtime, exp: i64) -> Instant {
    let now_ms = rt.domain.clock().now_millis();
    let end_ms = exp
        .saturating_add(rt.verifier.skew_secs())
        .saturating_mul(1000);
    let left = u64::try_from(end_ms.saturating_sub(now_ms)).unwrap_or(0);
    Instant::now() + Duration::from_millis(left)
}

/// Runs a session on an upgraded socket until it ends.
pub(crate) async fn run(rt: Arc<Realtime>, socket: Box<WebSocket>) {
    let _active = rt.active();
    // The handshake (hello, the token, sign-in, the first store reads) holds much state for a
    // moment: boxed, it is freed once done, and an open session's task keeps only what its
    // loop needs (its future was 5.8 KB for every connection, idle or not).
    if let Some(open) = Box::pin(open(&rt, *socket)).await {
        serve(&rt, open).await;
    }
}

/// A session past its handshake: what its loop needs.
struct Open<'a> {
    stream: futures_util::stream::SplitStream<WebSocket>,
    tx: mpsc::Sender<Outbound>,
    me: Subscriber,
    kill: Kill,
    ended: watch::Receiver<Option<Ending>>,
    pump: tokio::task::JoinHandle<()>,
    service: Sid,
    identity: String,
    exp: i64,
    slot: super::Slot<'a>,
    open: super::Active,
}

/// Reads `hello`, verifies its token, signs the identity in, subscribes and starts the pump;
/// `None` if the session was refused (after telling the client why).
async fn open(rt: &Arc<Realtime>, socket: WebSocket) -> Option<Open<'_>> {
    let (mut sink, mut stream) = socket.split();
    let first_text = async {
        loop {
            match next_frame(&mut stream).await {
                Read::Control => continue,
                other => return other,
            }
        }
    };
    let text = match timeout(rt.config.hello_timeout, first_text).await {
        Ok(Read::Text(t)) => t,
        Ok(Read::Control) => return None,
        Ok(Read::Gone) => return None,
        Ok(Read::Closed) => {
            // Closed before hello: answer the close (RFC 6455 section 5.5.1), then go.
            let _ = timeout(Duration::from_secs(1), sink.close()).await;
            return None;
        }
        Ok(Read::Broken(ws_code, why)) => {
            rt.record_close(CloseReason::ProtocolError.as_str());
            fail(&mut sink, ws_code, why).await;
            return None;
        }
        Ok(Read::Bad(why)) => {
            let code = CloseReason::ProtocolError.code().code();
            refuse(rt, &mut sink, CloseReason::ProtocolError, code, why).await;
            return None;
        }
        Err(_) => {
            let code = CloseReason::ProtocolError.code().code();
            let why = "no hello within the hello timeout".to_owned();
            refuse(rt, &mut sink, CloseReason::ProtocolError, code, why).await;
            return None;
        }
    };
    let (token, resume) = match serde_json::from_str::<ClientFrame>(&text) {
        Ok(ClientFrame::Hello { token, resume, sdk }) => {
            tracing::debug!(
                sdk = sdk.as_deref().unwrap_or("unknown"),
                resuming = resume.is_some(),
                "realtime hello"
            );
            (token, resume)
        }
        Ok(_) => {
            let code = CloseReason::ProtocolError.code().code();
            let why = "the first frame must be hello".to_owned();
            refuse(rt, &mut sink, CloseReason::ProtocolError, code, why).await;
            return None;
        }
        Err(e) => {
            let code = CloseReason::ProtocolError.code().code();
            refuse(
                rt,
                &mut sink,
                CloseReason::ProtocolError,
                code,
                malformed(&e),
            )
            .await;
            return None;
        }
    };
    let (verified, service) = match authenticate(rt, &token).await {
        Ok(v) => v,
        Err((reason, code, message)) => {
            tracing::debug!(code, %message, "realtime hello refused");
            refuse(rt, &mut sink, reason, code, message).await;
            return None;
        }
    };
    let identity = verified.identity.clone();
    // Before anything else is read or written for it: a client looping on a full set of
    // sessions costs no store work.
    let Some(slot) = rt.session_slot(&service, &identity) else {
        let reason = CloseReason::TooManySessions;
        let message = format!(
            "{identity} has {} sessions open already: close one, or retry later",
            rt.config.max_sessions_per_identity
        );
        refuse(rt, &mut sink, reason, reason.code().code(), message).await;
        return None;
    };
    if let Err(e) = rt.domain.sign_in(&service, &identity).await {
        // The token verified, but its identity cannot be a user here (a SID-shaped identity,
        // say), or the store failed.
        let (reason, code) = if e.code == confab_protocol::ErrorCode::InvalidParameter {
            (CloseReason::Denied, TokenError::BadService.code().code())
        } else {
            (
                CloseReason::ShuttingDown,
                CloseReason::ShuttingDown.code().code(),
            )
        };
        refuse(rt, &mut sink, reason, code, e.message).await;
        return None;
    }

    // Subscribe first, then read where the streams stand: nothing committed in between is
    // missed, and anything delivered twice is dropped by its seq. Conversations can only be
    // subscribed once known, so their heads are read again after subscribing: a head that
    // moved in between is behind a cursor and gets read from the log.
    let (tx, rx) = mpsc::channel(rt.config.queue_capacity);
    let (kill, ended) = Kill::new();
    let sub = Subscriber {
        identity: identity.clone(),
        id: rt.next_session_id(),
        tx: tx.clone(),
        kill: kill.clone(),
        lag: Arc::new(Lag::replaying()),
    };
    let user_stream = Stream::User {
        service: service.clone(),
        identity: identity.clone(),
    };
    rt.hub.subscribe(user_stream.clone(), &sub);
    let store = rt.domain.store_handle();
    let mut first = None;
    let mut heads = None;
    for _ in 0..2 {
        match store.memberships(service.as_str(), &identity).await {
            Ok(h) => {
                for (sid, _) in &h.conversations {
                    rt.hub.subscribe(Stream::Conversation(sid.clone()), &sub);
                }
                if first.is_none() {
                    first = Some(h);
                } else {
                    heads = Some(h);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "realtime: reading memberships failed");
                rt.hub.unsubscribe(&user_stream, sub.id);
                for (sid, _) in first.iter().flat_map(|h| &h.conversations) {
                    rt.hub
                        .unsubscribe(&Stream::Conversation(sid.clone()), sub.id);
                }
                let code = CloseReason::ShuttingDown.code().code();
                let why = "the server could not load the session; retry".to_owned();
                refuse(rt, &mut sink, CloseReason::ShuttingDown, code, why).await;
                return None;
            }
        }
    }
    let (Some(first), Some(heads)) = (first, heads) else {
        return None;
    };
    // Joined between the two reads: subscribed after its head was read, so read to its end.
    let unsure: Vec<Sid> = heads
        .conversations
        .iter()
        .filter(|(sid, _)| !first.conversations.iter().any(|(f, _)| f == sid))
        .map(|(sid, _)| sid.clone())
        .collect();
    // Left between the two reads: not followed.
    for (sid, _) in &first.conversations {
        if !heads.conversations.iter().any(|(h, _)| h == sid) {
            rt.hub
                .unsubscribe(&Stream::Conversation(sid.clone()), sub.id);
        }
    }
    // Without `resume` the client starts fresh at every stream's head; with it, from its
    // cursors (clamped to what exists), even a user cursor of 0.
    let mut resumed = Resumed {
        user_seq: resume
            .as_ref()
            .map_or(heads.user_seq, |r| r.user_seq.clamp(0, heads.user_seq)),
        ..Default::default()
    };
    let client_cursor = |sid: &str| {
        resume
            .as_ref()
            .and_then(|r| r.conversations.get(sid))
            .copied()
    };
    let mut conversation_heads = std::collections::HashMap::new();
    for (sid, head) in &heads.conversations {
        let cursor = client_cursor(sid.as_str()).map_or(*head, |c| c.clamp(0, *head));
        resumed
            .conversations
            .insert(sid.as_str().to_owned(), cursor);
        conversation_heads.insert(sid.clone(), *head);
    }
    // Conversations the client watched that the identity is no longer in: if the user log
    // shows it left one after the client's user cursor, the events up to the leave are due.
    let departed = resume
        .iter()
        .flat_map(|r| r.conversations.iter())
        .filter_map(|(sid, seq)| Some((Sid::parse(SidKind::Conversation, sid)?, (*seq).max(0))))
        .filter(|(sid, _)| !conversation_heads.contains_key(sid))
        .collect();
    let welcome = ServerFrame::Welcome(Welcome {
        identity: identity.clone(),
        service_sid: service.as_str().to_owned(),
        server_time: rt.domain.clock().now_millis(),
        token_expires_at: verified.exp.saturating_mul(1000),
        heartbeat_ms: duration_ms(rt.config.heartbeat),
        heartbeat_grace_ms: duration_ms(rt.config.heartbeat_grace),
        resumed: resumed.clone(),
    });
    let _open = rt.session_opened();
    if rt.presence.opened(&service, &identity, rt.hub.bus()) {
        // Before `welcome`: whoever connects after this client's `welcome` finds it online
        // already and is not told again.
        rt.presence.announce(rt, &service, &identity).await;
    }
    let me = sub.clone();
    let pump = Pump::new(
        sink,
        rx,
        rt.clone(),
        sub,
        service.clone(),
        identity.clone(),
        resumed,
    );
    let pump = tokio::spawn(pump.run(Start {
        welcome: welcome.encode(),
        user_head: heads.user_seq,
        heads: conversation_heads,
        unsure,
        departed,
    }));

    Some(Open {
        stream,
        tx,
        me,
        kill,
        ended,
        pump,
        service,
        identity,
        exp: verified.exp,
        slot,
        open: _open,
    })
}

/// The session's loop: reads frames, runs requests, keeps the deadlines, then ends the session.
async fn serve<'a>(rt: &'a Arc<Realtime>, open: Open<'a>) {
    let Open {
        mut stream,
        tx,
        me,
        kill,
        mut ended,
        pump,
        service,
        identity,
        exp,
        slot,
        open: _open,
    } = open;
    let actor = Actor::User {
        service: service.clone(),
        identity: identity.clone(),
    };
    let pending = Arc::new(tokio::sync::Semaphore::new(
        rt.config.max_pending_requests.max(1),
    ));
    let mut shutdown = rt.shutdown.clone();
    let silence = rt.config.heartbeat * 2 + rt.config.heartbeat_grace;
    let mut silent_until = Instant::now() + silence;
    let mut expires = token_deadline(rt, exp);
    loop {
        tokio::select! {
            biased;
            _ = ended.changed() => break,
            () = stopping(&mut shutdown) => {
                kill.kill(CloseReason::ShuttingDown, "the server is stopping: reconnect and resume");
                break;
            }
            () = sleep_until(silent_until) => {
                kill.end(Ending::Drop("heartbeat deadline passed"));
                break;
            }
            () = sleep_until(expires) => {
                kill.kill(CloseReason::TokenExpired, "the access token has expired");
                break;
            }
            read = next_frame(&mut stream) => {
                silent_until = Instant::now() + silence;
                let text = match read {
                    Read::Text(t) => t,
                    Read::Control => continue,
                    Read::Gone => {
                        kill.end(Ending::Drop("the connection ended"));
                        break;
                    }
                    Read::Closed => {
                        kill.end(Ending::PeerClosed);
                        break;
                    }
                    Read::Broken(ws_code, why) => {
                        kill.end(Ending::Broken { ws_code, why });
                        break;
                    }
                    Read::Bad(why) => {
                        kill.kill(CloseReason::ProtocolError, why);
                        break;
                    }
                };
                match serde_json::from_str::<ClientFrame>(&text) {
                    Err(e) => {
                        kill.kill(CloseReason::ProtocolError, malformed(&e));
                        break;
                    }
                    Ok(ClientFrame::Hello { .. }) => {
                        kill.kill(CloseReason::ProtocolError, "hello may be sent only once");
                        break;
                    }
                    Ok(ClientFrame::Ping { t }) => {
                        queue(&tx, &me, ServerFrame::Pong { t }.encode());
                    }
                    Ok(ClientFrame::Req { id, method, params, .. }) if method == "token.update" => {
                        let answer = match renew(rt, &identity, &service, params) {
                            Ok(v) => {
                                expires = token_deadline(rt, v.exp);
                                Ok(json!({ "token_expires_at": v.exp.saturating_mul(1000) }))
                            }
                            Err(e) => Err(e),
                        };
                        queue(&tx, &me, res(id, answer));
                    }
                    Ok(ClientFrame::Req { id, op_id, method, params }) => {
                        let Ok(permit) = pending.clone().try_acquire_owned() else {
                            let busy = WireError::new(
                                confab_protocol::ErrorCode::TooManyRequests,
                                format!("more than {} requests in flight", rt.config.max_pending_requests),
                            );
                            queue(&tx, &me, res(id, Err(busy)));
                            continue;
                        };
                        // Boxed: the task then holds a pointer, and tokio does not copy the
                        // whole request's state in and out of the task on spawn and on finish.
                        let run = Box::pin(request(rt.clone(), actor.clone(), tx.clone(), id, op_id, method, params));
                        tokio::spawn(async move {
                            run.await;
                            drop(permit);
                        });
                    }
                }
            }
        }
    }
    // The pump sends the close frame (bounded by its write timeout) and unsubscribes.
    drop(tx);
    let _ = pump.await;
    // The slot goes before the session stops counting as open, so whoever waits for the
    // count to drop finds the slot free too.
    drop(slot);
    if rt.presence.closed(&service, &identity, rt.hub.bus()) {
        rt.presence.announce(rt, &service, &identity).await;
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn malformed(e: &serde_json::Error) -> String {
    format!("malformed or unknown frame: {e}")
}

/// Verifies a `hello` token and resolves its service.
async fn authenticate(
    rt: &Realtime,
    token: &str,
) -> Result<(VerifiedToken, Sid), (CloseReason, u32, String)> {
    let denied = |e: TokenError| (CloseReason::Denied, e.code().code(), e.to_string());
    let now = rt.domain.clock().now_millis() / 1000;
    let v = rt.verifier.verify(token, now).map_err(denied)?;
    let service = match &v.service_sid {
        None => rt.domain.default_service(),
        Some(s) => {
            let sid =
                Sid::parse(SidKind::Service, s).ok_or_else(|| denied(TokenError::BadService))?;
            match rt.domain.store_handle().service(sid.as_str()).await {
                Ok(Some(_)) => sid,
                Ok(None) => return Err(denied(TokenError::BadService)),
                Err(e) => {
                    // A passing store failure is no reason to refuse the token for good.
                    tracing::error!(error = %e, "realtime: reading the token's service failed");
                    let r = CloseReason::ShuttingDown;
                    return Err((
                        r,
                        r.code().code(),
                        "the server could not check the token; retry".into(),
                    ));
                }
            }
        }
    };
    Ok((v, service))
}

/// `token.update`: a new token for the same identity and service, verified now.
fn renew(
    rt: &Realtime,
    identity: &str,
    service: &Sid,
    params: Value,
) -> Result<VerifiedToken, WireError> {
    let token = params.get("token").and_then(Value::as_str).ok_or_else(|| {
        WireError::new(
            confab_protocol::ErrorCode::InvalidParameter,
            "params.token is required",
        )
    })?;
    let now = rt.domain.clock().now_millis() / 1000;
    let v = rt
        .verifier
        .verify(token, now)
        .map_err(|e| WireError::new(e.code(), e.to_string()))?;
    let same_service = v
        .service_sid
        .as_deref()
        .map_or(rt.domain.default_service() == *service, |s| {
            s == service.as_str()
        });
    if v.identity != identity || !same_service {
        return Err(WireError::new(
            TokenError::BadService.code(),
            "the new token must carry the session's identity and service",
        ));
    }
    Ok(v)
}

/// Queues a frame the session itself answers with (`pong`, `token.update`, a refused
/// request). A full queue means a slow consumer, unless the pump is still replaying (it does
/// not read the queue then): the frame waits for room instead.
fn queue(tx: &mpsc::Sender<Outbound>, sub: &Subscriber, text: String) {
    if let Err(mpsc::error::TrySendError::Full(Outbound::Text(text))) =
        tx.try_send(Outbound::Text(text))
    {
        if sub.lag.is_replaying() {
            let tx = tx.clone();
            tokio::spawn(async move { tx.send(Outbound::Text(text)).await });
        } else {
            sub.kill.kill(
                CloseReason::SlowConsumer,
                "the outbound queue is full: read faster, then resume",
            );
        }
    }
}

/// Resolves when the server starts stopping (holding no lock across the wait).
pub(crate) async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}
