//! The task that runs one realtime session: it pumps the session's state machine
//! (`confab_server_core::Session`, which decides everything) with what the socket, the
//! session's queue, the store and the clock give, and carries out what it asks: writes,
//! subscriptions at the hub, log reads through the domain, requests in tasks of their own.
//! One task per session owns the socket; it reads, writes, and waits on one thing at a time
//! from each source.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use confab_domain::Actor;
use confab_protocol::ErrorCode;
use confab_protocol::frame::{CloseReason, WireError};
use confab_protocol::sid::Sid;
use confab_server_core::{
    Action, Authenticated, Ending, Lag, LogRead, Renewed, Session, Transmit, Want, error_answer,
};
use confab_store::{Memberships, StoreResult};
use confab_token::{TokenError, VerifiedToken};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, sleep_until};

use super::context::Realtime;
use super::hub::Subscriber;
use super::news;
use super::outbound::{Item, Kill, row};
use super::sources::Sources;
use super::tokens::{Refusal, authenticate, renew, token_left_ms};
use super::wire::{self, Sink};

/// What the session waits for from the store.
enum Reply {
    /// The token verified (its service looked up), or not.
    Verified(Result<(VerifiedToken, Sid), Refusal>),
    /// The identity signed in (its user made if new), or not.
    SignedIn(Result<(), Refusal>),
    Memberships(StoreResult<Memberships>),
    Log(StoreResult<Vec<confab_store::LogEntry>>),
}

type Pending<'a> = Pin<Box<dyn Future<Output = Reply> + Send + 'a>>;

/// What woke a session's task.
enum Woke {
    Ended,
    Stopping,
    Timer,
    Reply(Reply),
    Read(confab_server_core::Read),
    Item(Option<Item>),
}

/// One turn in this many, the socket and the signals that fired are looked at before the
/// queue.
const LOOK_AROUND: u32 = 8;

/// The session's settings, from the endpoint's.
fn config(rt: &Realtime) -> confab_server_core::Config {
    confab_server_core::Config {
        heartbeat_ms: ms(rt.config.heartbeat),
        heartbeat_grace_ms: ms(rt.config.heartbeat_grace),
        hello_timeout_ms: ms(rt.config.hello_timeout),
        media: Some(rt.media),
        ..Default::default()
    }
}

/// How many requests a session may have under way at once.
fn request_slots(rt: &Realtime) -> usize {
    rt.config.max_pending_requests.max(1)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One session's state besides its state machine.
struct Driver<'a> {
    rt: &'a Arc<Realtime>,
    epoch: Instant,
    sink: Sink,
    stream: SplitStream<WebSocket>,
    rx: mpsc::Receiver<Item>,
    sub: Subscriber,
    ended: watch::Receiver<Option<Ending>>,
    pending: Option<Pending<'a>>,
    requests: Arc<Semaphore>,
    /// Known once the token verified.
    who: Option<(Sid, String)>,
    /// Who the session is, while its sign-in runs.
    signing_in: Option<Authenticated>,
    slot: Option<super::context::Slot<'a>>,
    open: Option<super::context::Active>,
    done: bool,
}

/// Runs a session on an upgraded socket until it ends.
pub(crate) async fn run(rt: Arc<Realtime>, socket: Box<WebSocket>) {
    let _active = rt.active();
    let (sink, stream) = futures_util::StreamExt::split(*socket);
    let (tx, rx) = mpsc::channel(rt.config.queue_capacity);
    let (kill, ended) = Kill::new();
    let lag = Arc::new(Lag::default());
    let sub = Subscriber {
        id: rt.next_session_id(),
        identity: String::new(),
        tx,
        kill,
        lag: lag.clone(),
    };
    let mut d = Driver {
        epoch: Instant::now(),
        rt: &rt,
        sink,
        stream,
        rx,
        sub,
        ended,
        pending: None,
        requests: Arc::new(Semaphore::new(request_slots(&rt))),
        who: None,
        signing_in: None,
        slot: None,
        open: None,
        done: false,
    };
    let mut s: Session<Utf8Bytes> = Session::new(config(&rt), lag, 0);
    d.pump(&mut s).await;
    // The slot goes before the session stops counting as open, so whoever waits for the
    // count to drop finds the slot free too.
    drop(d.slot.take());
    let opened = d.open.take().is_some();
    if opened
        && let Some((service, identity)) = d.who.take()
        && rt.presence.closed(&service, &identity, rt.presence_notes())
    {
        Box::pin(news::announce(&rt, &service, &identity)).await;
    }
}

impl<'a> Driver<'a> {
    fn now(&self) -> u64 {
        ms(self.epoch.elapsed())
    }

    /// The session's clock reading of an instant `left_ms` from now.
    fn deadline_in(&self, left_ms: i64) -> u64 {
        self.now()
            .saturating_add(u64::try_from(left_ms).unwrap_or(0))
    }

    async fn pump(&mut self, s: &mut Session<Utf8Bytes>) {
        let mut shutdown = self.rt.shutdown.clone();
        // Both live across the loop's turns: a turn per delivery must not register with the
        // server-wide shutdown signal (one lock for every session) nor with the timer wheel
        // each time; the timer moves only when the session's deadline does.
        let stopping = wire::stopping(&mut shutdown);
        tokio::pin!(stopping);
        let mut stopped = false;
        let timer = sleep_until(far());
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        let sources = Sources::new();
        self.sub.kill.wake_on_end(sources.signals_waker());
        let mut wanted_frames = false;
        // Whether the queue was found empty since the session last heard anything.
        let mut idle = false;
        let mut turns: u32 = 0;
        let mut yielded = false;
        loop {
            // What the session asks for, until it asks for nothing more (a failed write ends
            // it, which asks for more).
            loop {
                let mut asked = false;
                while let Some(a) = s.poll_action() {
                    asked = true;
                    self.act(s, a).await;
                    // It may have started a store read, which is polled from then on.
                    sources.poll_signals_next();
                }
                while let Some(t) = s.poll_transmit() {
                    asked = true;
                    if !self.write(t).await {
                        // The write was abandoned: the session was ended meanwhile (its
                        // ending says how), or the socket failed and nothing more reaches the
                        // client.
                        let ending = self.ended.borrow_and_update().clone();
                        s.handle_kill(ending.unwrap_or(Ending::Drop("the connection failed")));
                    }
                }
                if !asked {
                    break;
                }
            }
            if self.done {
                return;
            }
            // Take what the queue holds now, as the session wants it; once it is empty, say
            // so (the session then flushes, now or at the end of its gap).
            match s.want_items() {
                Want::Drain => {
                    match self.rx.try_recv() {
                        Ok(item) => s.handle_item(item, self.now()),
                        Err(_) => s.handle_queue_empty(self.now()),
                    }
                    continue;
                }
                Want::Next if !idle => {
                    match self.rx.try_recv() {
                        Ok(item) => s.handle_item(item, self.now()),
                        // With a request of its own under way, the session lets the other
                        // tasks run once before it flushes: a write's events reach the queue
                        // just before its answer, whose request task is often queued behind
                        // this one, and waiting for it writes both at once (one write and one
                        // wake-up for the client instead of two; `confab bench writes` ran a
                        // tenth slower without it).
                        Err(_)
                            if !yielded
                                && self.requests.available_permits() < request_slots(self.rt) =>
                        {
                            yielded = true;
                            tokio::task::yield_now().await;
                        }
                        Err(_) => {
                            s.handle_queue_empty(self.now());
                            idle = true;
                            yielded = false;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let take_items = s.want_items() == Want::Next;
            let deadline = s
                .poll_timeout()
                .map(|t| self.epoch + Duration::from_millis(t));
            if deadline != armed {
                if let Some(at) = deadline {
                    timer.as_mut().reset(at);
                }
                armed = deadline;
                sources.poll_timer_next();
            }
            // The queue is looked at first: in a busy room nearly every wake-up is a delivery.
            // The socket and the signals are polled only once they fired (`sources`), and
            // every few turns before the queue, so that a queue which never empties keeps
            // neither a client's requests nor its ending waiting.
            turns = turns.wrapping_add(1);
            let queue_first = !turns.is_multiple_of(LOOK_AROUND);
            let wants_frames = s.wants_frames();
            if wants_frames && !wanted_frames {
                sources.poll_socket_next();
            }
            wanted_frames = wants_frames;
            let woke = {
                let Driver {
                    stream,
                    rx,
                    pending,
                    ended,
                    ..
                } = self;
                let mut queue = |cx: &mut Context<'_>| match take_items {
                    true => rx.poll_recv(cx).map(Woke::Item),
                    false => Poll::Pending,
                };
                std::future::poll_fn(|cx| {
                    if queue_first && let Poll::Ready(w) = queue(cx) {
                        // The notes are read on a turn that may sleep, after registering.
                        return Poll::Ready(w);
                    }
                    sources.register(cx);
                    if armed.is_some()
                        && sources.take_timer()
                        && timer.as_mut().poll(&mut sources.timer_cx()).is_ready()
                    {
                        return Poll::Ready(Woke::Timer);
                    }
                    if sources.take_signals() {
                        let cx = &mut sources.signals_cx();
                        let woke = if ended.has_changed().unwrap_or(false) {
                            Some(Woke::Ended)
                        } else if !stopped && stopping.as_mut().poll(cx).is_ready() {
                            Some(Woke::Stopping)
                        } else if let Some(p) = pending.as_mut()
                            && let Poll::Ready(reply) = p.as_mut().poll(cx)
                        {
                            Some(Woke::Reply(reply))
                        } else {
                            None
                        };
                        if let Some(woke) = woke {
                            // The others were not looked at.
                            sources.poll_signals_next();
                            return Poll::Ready(woke);
                        }
                    }
                    if wants_frames && sources.take_socket() {
                        let next = stream.poll_next_unpin(&mut sources.socket_cx());
                        if let Poll::Ready(next) = next {
                            // More may be buffered.
                            sources.poll_socket_next();
                            return Poll::Ready(Woke::Read(wire::read(next)));
                        }
                    }
                    if !queue_first {
                        return queue(cx);
                    }
                    Poll::Pending
                })
                .await
            };
            match woke {
                Woke::Ended => {
                    let ending = self.ended.borrow_and_update().clone();
                    if let Some(ending) = ending {
                        s.handle_kill(ending);
                    }
                }
                Woke::Stopping => {
                    stopped = true;
                    s.handle_shutdown();
                }
                Woke::Timer => {
                    // Set again on the next turn, even to the same instant.
                    armed = None;
                    s.handle_timeout(self.now());
                }
                Woke::Reply(reply) => {
                    self.pending = None;
                    self.reply(s, reply);
                }
                Woke::Read(read) => s.handle_read(read, self.now()),
                Woke::Item(Some(item)) => s.handle_item(item, self.now()),
                Woke::Item(None) => s.handle_kill(Ending::Drop("the queue closed")),
            }
            idle = false;
        }
    }

    /// Writes one transmit; false if the socket failed.
    async fn write(&mut self, t: Transmit<Utf8Bytes>) -> bool {
        let deadline = self.rt.config.write_timeout;
        let Driver { sink, ended, .. } = self;
        match t {
            Transmit::Text(text) => {
                wire::io(ended, deadline, sink.feed(Message::Text(text.into()))).await
            }
            Transmit::Shared(text) => {
                wire::io(ended, deadline, sink.feed(Message::Text(text))).await
            }
            Transmit::Flush => wire::io(ended, deadline, sink.flush()).await,
            Transmit::End(ending) => {
                self.end(ending).await;
                true
            }
        }
    }

    async fn end(&mut self, ending: Ending) {
        self.done = true;
        match ending {
            Ending::Close {
                reason,
                code,
                message,
            } => {
                // A stopping server still delivers the answers already queued: their writes
                // are committed, and the client should not have to resend them.
                let mut owed = vec![];
                if reason == CloseReason::ShuttingDown {
                    while let Ok(item) = self.rx.try_recv() {
                        owed.push(item);
                    }
                }
                let answers = Session::<Utf8Bytes>::owed(owed);
                Box::pin(wire::send_close(
                    &mut self.sink,
                    answers,
                    reason,
                    code,
                    message,
                ))
                .await;
            }
            Ending::Broken { ws_code, why } => {
                Box::pin(wire::fail(&mut self.sink, ws_code, why)).await;
            }
            Ending::PeerClosed => Box::pin(wire::close_back(&mut self.sink)).await,
            Ending::Drop(why) => tracing::trace!(why, "realtime: session dropped"),
        }
    }

    async fn act(&mut self, s: &mut Session<Utf8Bytes>, action: Action) {
        let rt = self.rt;
        match action {
            Action::Authenticate {
                token,
                sdk,
                resuming,
            } => {
                tracing::debug!(
                    sdk = sdk.as_deref().unwrap_or("unknown"),
                    resuming,
                    "realtime hello"
                );
                self.pending = Some(Box::pin(async move {
                    Reply::Verified(authenticate(rt, &token).await)
                }));
            }
            Action::Subscribe(stream) => rt.hub.subscribe(stream, &self.sub),
            Action::Unsubscribe(stream) => rt.hub.unsubscribe(&stream, self.sub.id),
            Action::ReadMemberships => {
                let Some((service, identity)) = self.who.clone() else {
                    return;
                };
                self.pending = Some(Box::pin(async move {
                    Reply::Memberships(rt.domain.memberships(&service, &identity).await)
                }));
            }
            Action::ReadLog(LogRead {
                stream,
                after,
                limit,
            }) => {
                self.pending = Some(Box::pin(async move {
                    Reply::Log(rt.domain.log_after(&stream, after, limit).await)
                }));
            }
            Action::Run { id, op_id, request } => {
                let Some((service, identity)) = self.who.clone() else {
                    return;
                };
                let Ok(permit) = self.requests.clone().try_acquire_owned() else {
                    let busy = WireError::new(
                        ErrorCode::TooManyRequests,
                        format!("more than {} requests in flight", request_slots(rt)),
                    );
                    s.answer(error_answer(id, busy), self.now());
                    return;
                };
                let actor = Actor::User { service, identity };
                // Boxed: the task then holds a pointer, and tokio does not copy the whole
                // request's state in and out of the task on spawn and on finish.
                let run = Box::pin(super::requests::request(
                    rt.clone(),
                    actor,
                    self.sub.tx.clone(),
                    id,
                    op_id,
                    request,
                ));
                tokio::spawn(async move {
                    run.await;
                    drop(permit);
                });
            }
            Action::Renew { id, token } => {
                let Some((service, identity)) = self.who.clone() else {
                    return;
                };
                let renewed = renew(rt, &identity, &service, &token).map(|v| Renewed {
                    token_expires_at: v.exp.saturating_mul(1000),
                    token_deadline: self.deadline_in(token_left_ms(rt, v.exp)),
                });
                s.handle_renewed(id, renewed, self.now());
            }
            Action::Opened => {
                self.open = Some(rt.session_opened());
                if let Some((service, identity)) = &self.who
                    && rt.presence.opened(service, identity, rt.presence_notes())
                {
                    // Before `welcome`: whoever connects after this client's `welcome` finds
                    // it online already and is not told again. Boxed: a store read's future
                    // would otherwise take room in every session's task for good.
                    Box::pin(news::announce(rt, service, identity)).await;
                }
            }
            Action::Heard(stream, seq) => rt.hub.note_heard(&stream, seq),
            Action::Finished(label) => {
                if let Some(label) = label {
                    rt.record_close(label);
                }
            }
        }
    }

    /// A read came back.
    fn reply(&mut self, s: &mut Session<Utf8Bytes>, reply: Reply) {
        match reply {
            Reply::Verified(Err((reason, code, message)))
            | Reply::SignedIn(Err((reason, code, message))) => {
                tracing::debug!(code, %message, "realtime hello refused");
                s.handle_refused(reason, code, message);
            }
            Reply::Verified(Ok((verified, service))) => self.verified(s, verified, service),
            Reply::SignedIn(Ok(())) => {
                if let Some(who) = self.signing_in.take() {
                    s.handle_authenticated(who);
                }
            }
            Reply::Memberships(Ok(m)) => {
                let server_time = self.rt.domain.clock().now_millis();
                s.handle_memberships(m, server_time, self.now());
            }
            Reply::Log(Ok(rows)) => s.handle_log(rows.into_iter().filter_map(row).collect()),
            Reply::Memberships(Err(e)) | Reply::Log(Err(e)) => {
                tracing::error!(error = %e, "realtime: a log read failed");
                s.handle_store_failed();
            }
        }
    }

    /// The token verified: take one of the identity's session slots, then sign it in.
    fn verified(&mut self, s: &mut Session<Utf8Bytes>, verified: VerifiedToken, service: Sid) {
        let rt = self.rt;
        let identity = verified.identity.clone();
        // Before anything else is read or written for it: a client looping on a full set of
        // sessions costs no store work.
        let Some(slot) = rt.session_slot(&service, &identity) else {
            let reason = CloseReason::TooManySessions;
            let message = format!(
                "{identity} has {} sessions open already: close one, or retry later",
                rt.config.max_sessions_per_identity
            );
            s.handle_refused(reason, reason.code().code(), message);
            return;
        };
        self.slot = Some(slot);
        self.sub.identity = identity.clone();
        self.who = Some((service.clone(), identity.clone()));
        self.signing_in = Some(Authenticated {
            identity: identity.clone(),
            service: service.clone(),
            token_expires_at: verified.exp.saturating_mul(1000),
            token_deadline: self.deadline_in(token_left_ms(rt, verified.exp)),
        });
        self.pending = Some(Box::pin(async move {
            Reply::SignedIn(
                rt.domain
                    .sign_in(&service, &identity)
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        // The token verified, but its identity cannot be a user here (a SID-shaped
                        // identity, say), or the store failed.
                        let (reason, code) = if e.code == ErrorCode::InvalidParameter {
                            (CloseReason::Denied, TokenError::BadService.code().code())
                        } else {
                            let r = CloseReason::ShuttingDown;
                            (r, r.code().code())
                        };
                        (reason, code, e.message)
                    }),
            )
        }));
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}
