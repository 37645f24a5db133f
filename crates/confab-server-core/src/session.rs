//! The session state machine. See the crate docs for how a driver pumps it.

use std::collections::HashMap;
use std::sync::Arc;

use confab_protocol::ErrorCode;
use confab_protocol::frame::{
    ClientFrame, CloseReason, MediaService, Resume, Resumed, ServerFrame, Welcome, WireError,
};
use confab_protocol::method::{Request, RequestError, TokenRenewed};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{Memberships, Stream};

use crate::follow::{Follower, Out, Start, Want};
use crate::types::{
    Action, Authenticated, Config, Ending, Item, Lag, Phase, Read, Renewed, Row, Transmit,
};

/// What is known while the session opens.
#[derive(Debug)]
struct Opening {
    who: Authenticated,
    /// The first read of the identity's streams (the second one gives the heads).
    first: Option<Memberships>,
}

/// One realtime session. See the crate docs.
#[derive(Debug)]
pub struct Session<P> {
    config: Config,
    phase: Phase,
    lag: Arc<Lag>,
    hello_deadline: u64,
    resume: Option<Resume>,
    opening: Option<Opening>,
    /// Subscribed while opening, to take back if opening fails.
    subscribed: Vec<Stream>,
    follower: Option<Follower<P>>,
    last_rx: u64,
    token_deadline: u64,
    /// Queue items taken since the last flush, and whether an answer was among them.
    taken: usize,
    answers: bool,
    flushed_at: Option<u64>,
    flush_at: Option<u64>,
    out: Out<P>,
}

fn malformed(e: &serde_json::Error) -> String {
    format!("malformed or unknown frame: {e}")
}

/// A `res` frame with an error.
pub fn error_answer(id: u64, error: WireError) -> String {
    ServerFrame::Res {
        id,
        result: None,
        error: Some(error),
    }
    .encode()
}

/// A `res` frame with a result (already encoded as JSON).
pub fn result_answer(id: u64, result_json: &str) -> String {
    format!(r#"{{"op":"res","id":{id},"result":{result_json}}}"#)
}

impl<P: Clone> Session<P> {
    /// A connection just upgraded at `now` (ms, any clock of the driver's), waiting for
    /// `hello`. `lag` is shared with the hub that fills the session's queue.
    pub fn new(config: Config, lag: Arc<Lag>, now: u64) -> Session<P> {
        Session {
            hello_deadline: now.saturating_add(config.hello_timeout_ms),
            config,
            phase: Phase::Hello,
            lag,
            resume: None,
            opening: None,
            subscribed: vec![],
            follower: None,
            last_rx: now,
            token_deadline: u64::MAX,
            taken: 0,
            answers: false,
            flushed_at: None,
            flush_at: None,
            out: Out::default(),
        }
    }

    // ---- getters ----

    /// Where the session stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether the driver should read the socket now (not while the session opens: what
    /// the client sends after `hello` waits for `welcome`).
    pub fn wants_frames(&self) -> bool {
        matches!(self.phase, Phase::Hello | Phase::Open)
    }

    /// What the driver should do with the session's queue now.
    pub fn want_items(&self) -> Want {
        match (&self.follower, self.phase) {
            (Some(f), Phase::Open) => f.want(),
            _ => Want::Nothing,
        }
    }

    // ---- outputs ----

    /// The next write to the socket.
    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        self.out.next()
    }

    /// The next thing the driver must do.
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.out.actions.pop_front();
        if action.is_none() && self.out.actions.capacity() > 0 {
            // Actions come in bursts (a hello, a replay) and are large: an idle session
            // keeps no room for them (`confab bench idle`: half a KiB per connection).
            self.out.actions = Default::default();
        }
        action
    }

    /// When [`Session::handle_timeout`] should run next, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.phase {
            Phase::Hello => Some(self.hello_deadline),
            Phase::Open => {
                let silence = self.silence_deadline();
                let mut t = silence.min(self.token_deadline);
                if let Some(f) = self.flush_at {
                    t = t.min(f);
                }
                Some(t)
            }
            Phase::Opening | Phase::Ended => None,
        }
    }

    // ---- inputs ----

    /// What the socket gave.
    pub fn handle_read(&mut self, read: Read, now: u64) {
        match self.phase {
            Phase::Hello => self.before_hello(read),
            Phase::Open => {
                self.last_rx = now;
                self.in_session(read, now);
            }
            Phase::Opening | Phase::Ended => {}
        }
    }

    /// The token of `hello` verified and its identity signed in.
    pub fn handle_authenticated(&mut self, who: Authenticated) {
        if self.phase != Phase::Opening {
            return;
        }
        self.token_deadline = who.token_deadline;
        let user = Stream::User {
            service: who.service.clone(),
            identity: who.identity.clone(),
        };
        self.subscribe(user);
        self.opening = Some(Opening { who, first: None });
        self.out.actions.push_back(Action::ReadMemberships);
    }

    /// `hello` was refused (its token, too many sessions, ...): tell the client why.
    pub fn handle_refused(&mut self, reason: CloseReason, code: u32, message: String) {
        if self.phase == Phase::Opening {
            self.refuse(reason, code, message);
        }
    }

    /// Where the identity's streams stand (after [`Action::ReadMemberships`]); `server_time`
    /// is the server's clock now (unix ms), for `welcome`.
    pub fn handle_memberships(&mut self, m: Memberships, server_time: i64, now: u64) {
        let Some(opening) = self.opening.as_mut() else {
            return;
        };
        match opening.first.take() {
            None => {
                // Subscribe first, then read again: nothing committed in between is missed,
                // and anything delivered twice is dropped by its seq. A conversation can only
                // be subscribed once known, so its head is read again after subscribing: a
                // head that moved in between is behind a cursor and gets read from the log.
                let convs: Vec<Sid> = m.conversations.iter().map(|(s, _)| s.clone()).collect();
                opening.first = Some(m);
                for sid in convs {
                    self.subscribe(Stream::Conversation(sid));
                }
                self.out.actions.push_back(Action::ReadMemberships);
            }
            Some(first) => {
                if let Some(opening) = self.opening.take() {
                    self.open(opening.who, first, m, server_time, now);
                }
            }
        }
    }

    /// A read the session asked for failed.
    pub fn handle_store_failed(&mut self) {
        match self.phase {
            Phase::Opening => {
                let reason = CloseReason::ShuttingDown;
                let message = "the server could not load the session; retry".to_owned();
                self.refuse(reason, reason.code().code(), message);
            }
            Phase::Open => self.end(Ending::Drop("the log could not be read; resume")),
            _ => {}
        }
    }

    /// Log rows after [`Action::ReadLog`].
    pub fn handle_log(&mut self, rows: Vec<Row<P>>) {
        if let Some(f) = self.follower.as_mut() {
            f.rows(rows, &mut self.out);
        }
        self.after_work();
    }

    /// An item from the session's queue.
    pub fn handle_item(&mut self, item: Item<P>, now: u64) {
        let Some(f) = self.follower.as_mut() else {
            return;
        };
        let draining = f.want() == Want::Drain;
        let answer = f.item(item, &mut self.out);
        self.after_work();
        if draining || self.phase != Phase::Open {
            return;
        }
        self.taken += 1;
        self.answers |= answer;
        if self.taken >= self.config.batch || (answer && self.flush_at.is_some()) {
            self.flush(now);
        }
    }

    /// The session's queue is empty now.
    pub fn handle_queue_empty(&mut self, now: u64) {
        let Some(f) = self.follower.as_mut() else {
            return;
        };
        if f.want() == Want::Drain {
            f.queue_empty(&mut self.out);
            self.after_work();
            return;
        }
        if !self.out.dirty || self.flush_at.is_some() {
            return;
        }
        match self.flushed_at.map(|at| at + self.config.flush_gap_ms) {
            // Busy: what comes in the rest of the gap goes in the same write.
            Some(due) if !self.answers && due > now => self.flush_at = Some(due),
            _ => self.flush(now),
        }
    }

    /// A renewal (`token.update` request `id`) was verified, or refused.
    pub fn handle_renewed(&mut self, id: u64, result: Result<Renewed, WireError>, now: u64) {
        let answer = match result {
            Ok(r) => {
                self.token_deadline = r.token_deadline;
                let renewed = TokenRenewed {
                    token_expires_at: r.token_expires_at,
                };
                match serde_json::to_string(&renewed) {
                    Ok(json) => result_answer(id, &json),
                    Err(_) => return,
                }
            }
            Err(e) => error_answer(id, e),
        };
        self.answer(answer, now);
    }

    /// Sends an answer the driver made (a request refused before it ran).
    pub fn answer(&mut self, text: String, now: u64) {
        if self.phase != Phase::Open {
            return;
        }
        self.out.write(Transmit::Text(text));
        if self.follower.as_ref().is_some_and(|f| !f.busy()) {
            self.flush(now);
        }
    }

    /// Someone ended the session (the hub for a slow consumer, say).
    pub fn handle_kill(&mut self, ending: Ending) {
        self.end(ending);
    }

    /// The server is stopping.
    pub fn handle_shutdown(&mut self) {
        match self.phase {
            Phase::Ended => {}
            Phase::Open => self.end(Ending::close(
                CloseReason::ShuttingDown,
                "the server is stopping: reconnect and resume",
            )),
            _ => {
                let reason = CloseReason::ShuttingDown;
                self.refuse(
                    reason,
                    reason.code().code(),
                    "the server is stopping".into(),
                );
            }
        }
    }

    /// Time has come: runs every deadline due at `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.phase {
            Phase::Hello if now >= self.hello_deadline => {
                let reason = CloseReason::ProtocolError;
                let message = "no hello within the hello timeout".to_owned();
                self.refuse(reason, reason.code().code(), message);
            }
            Phase::Open => {
                if now >= self.silence_deadline() {
                    self.end(Ending::Drop("heartbeat deadline passed"));
                } else if now >= self.token_deadline {
                    self.end(Ending::close(
                        CloseReason::TokenExpired,
                        "the access token has expired",
                    ));
                } else if self.flush_at.is_some_and(|t| t <= now) {
                    self.flush(now);
                }
            }
            _ => {}
        }
    }

    // ---- internals ----

    fn silence_deadline(&self) -> u64 {
        self.last_rx
            .saturating_add(self.config.heartbeat_ms.saturating_mul(2))
            .saturating_add(self.config.heartbeat_grace_ms)
    }

    fn flush(&mut self, now: u64) {
        self.out.flush();
        self.flushed_at = Some(now);
        self.flush_at = None;
        self.taken = 0;
        self.answers = false;
    }

    /// After replay work: an ending it decided.
    fn after_work(&mut self) {
        if let Some(ending) = self.out.end.take() {
            self.end(ending);
        }
    }

    fn subscribe(&mut self, stream: Stream) {
        self.subscribed.push(stream.clone());
        self.out.actions.push_back(Action::Subscribe(stream));
    }

    fn before_hello(&mut self, read: Read) {
        match read {
            Read::Text(text) => match serde_json::from_str::<ClientFrame>(&text) {
                Ok(ClientFrame::Hello { token, resume, sdk }) => {
                    let resuming = resume.is_some();
                    self.resume = resume;
                    self.phase = Phase::Opening;
                    self.out.actions.push_back(Action::Authenticate {
                        token,
                        sdk,
                        resuming,
                    });
                }
                Ok(_) => self.protocol_refusal("the first frame must be hello".into()),
                Err(e) => self.protocol_refusal(malformed(&e)),
            },
            Read::Control => {}
            Read::Gone => self.finish(Ending::Drop("gone before hello"), None),
            // Closed before hello: answer the close (RFC 6455 section 5.5.1), then go.
            Read::Closed => self.finish(Ending::PeerClosed, None),
            Read::Broken(ws_code, why) => {
                let ending = Ending::Broken { ws_code, why };
                let label = ending.label();
                self.finish(ending, Some(label));
            }
            Read::Bad(why) => self.protocol_refusal(why),
        }
    }

    fn in_session(&mut self, read: Read, now: u64) {
        let text = match read {
            Read::Text(t) => t,
            Read::Control => return,
            Read::Gone => return self.end(Ending::Drop("the connection ended")),
            Read::Closed => return self.end(Ending::PeerClosed),
            Read::Broken(ws_code, why) => return self.end(Ending::Broken { ws_code, why }),
            Read::Bad(why) => return self.end(Ending::close(CloseReason::ProtocolError, why)),
        };
        match serde_json::from_str::<ClientFrame>(&text) {
            Err(e) => self.end(Ending::close(CloseReason::ProtocolError, malformed(&e))),
            Ok(ClientFrame::Hello { .. }) => self.end(Ending::close(
                CloseReason::ProtocolError,
                "hello may be sent only once",
            )),
            Ok(ClientFrame::Ping { t }) => {
                let pong = ServerFrame::Pong { t }.encode();
                self.answer(pong, now);
            }
            Ok(ClientFrame::Req {
                id,
                op_id,
                method,
                params,
            }) => match Request::parse(&method, params) {
                Ok(Request::TokenUpdate(p)) => {
                    self.out
                        .actions
                        .push_back(Action::Renew { id, token: p.token });
                }
                Ok(request) => {
                    self.out
                        .actions
                        .push_back(Action::Run { id, op_id, request });
                }
                Err(RequestError::Unknown(m)) => {
                    let e =
                        WireError::new(ErrorCode::UnknownMethod, format!("unknown method {m:?}"));
                    self.answer(error_answer(id, e), now);
                }
                Err(RequestError::Params(why)) => {
                    let e = WireError::new(ErrorCode::InvalidParameter, why);
                    self.answer(error_answer(id, e), now);
                }
            },
        }
    }

    fn protocol_refusal(&mut self, message: String) {
        let reason = CloseReason::ProtocolError;
        self.refuse(reason, reason.code().code(), message);
    }

    /// Ends a session that never opened, telling the client why.
    fn refuse(&mut self, reason: CloseReason, code: u32, message: String) {
        let ending = Ending::Close {
            reason,
            code,
            message,
        };
        self.finish(ending, Some(reason.as_str()));
    }

    /// Ends an open session.
    fn end(&mut self, ending: Ending) {
        if self.phase == Phase::Open {
            let label = ending.label();
            self.finish(ending, Some(label));
        } else if self.phase != Phase::Ended {
            // Not open yet: only what tells the client is counted.
            let label = match &ending {
                Ending::Close { reason, .. } => Some(reason.as_str()),
                Ending::Broken { .. } => Some(ending.label()),
                _ => None,
            };
            self.finish(ending, label);
        }
    }

    fn finish(&mut self, ending: Ending, counted: Option<&'static str>) {
        if self.phase == Phase::Ended {
            return;
        }
        self.phase = Phase::Ended;
        let streams = match self.follower.take() {
            Some(f) => f.streams(),
            None => std::mem::take(&mut self.subscribed),
        };
        for stream in streams {
            self.out.actions.push_back(Action::Unsubscribe(stream));
        }
        self.out.write(Transmit::End(ending));
        self.out.actions.push_back(Action::Finished(counted));
    }

    /// Both reads of the identity's streams are in: say `welcome` and start the replay.
    fn open(
        &mut self,
        who: Authenticated,
        first: Memberships,
        heads: Memberships,
        server_time: i64,
        now: u64,
    ) {
        // Joined between the two reads: subscribed after its head was read, so read to its
        // end.
        let unsure: Vec<Sid> = heads
            .conversations
            .iter()
            .filter(|(sid, _)| !first.conversations.iter().any(|(f, _)| f == sid))
            .map(|(sid, _)| sid.clone())
            .collect();
        // Left between the two reads: not followed.
        for (sid, _) in &first.conversations {
            if !heads.conversations.iter().any(|(h, _)| h == sid) {
                let stream = Stream::Conversation(sid.clone());
                self.subscribed.retain(|s| *s != stream);
                self.out.actions.push_back(Action::Unsubscribe(stream));
            }
        }
        // Without `resume` the client starts fresh at every stream's head; with it, from its
        // cursors (clamped to what exists), even a user cursor of 0.
        let resume = self.resume.take();
        let mut resumed = Resumed {
            user_seq: resume
                .as_ref()
                .map_or(heads.user_seq, |r| r.user_seq.clamp(0, heads.user_seq)),
            ..Default::default()
        };
        let mut conversation_heads = HashMap::new();
        let mut cursors = HashMap::new();
        for (sid, head) in &heads.conversations {
            let cursor = resume
                .as_ref()
                .and_then(|r| r.conversations.get(sid.as_str()))
                .map_or(*head, |c| (*c).clamp(0, *head));
            resumed
                .conversations
                .insert(sid.as_str().to_owned(), cursor);
            cursors.insert(sid.clone(), cursor);
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
            identity: who.identity.clone(),
            service_sid: who.service.as_str().to_owned(),
            server_time,
            token_expires_at: who.token_expires_at,
            heartbeat_ms: self.config.heartbeat_ms,
            heartbeat_grace_ms: self.config.heartbeat_grace_ms,
            resumed: resumed.clone(),
            media: self.config.media.map(|m| {
                let path = format!("/media/v1/Services/{}/Media", who.service);
                MediaService {
                    set_url: format!("{path}Set"),
                    service_url: path,
                    attachments_count_limit: m.per_message,
                    attachment_size_limit: m.file_bytes,
                    attachments_total_size_limit: m.message_bytes,
                }
            }),
        });
        self.phase = Phase::Open;
        self.last_rx = now;
        self.subscribed.clear();
        self.out.actions.push_back(Action::Opened);
        self.out.write(Transmit::Text(welcome.encode()));
        self.out.flush();
        let mut follower = Follower::new(
            who.service,
            who.identity,
            resumed.user_seq,
            cursors,
            self.lag.clone(),
            self.config.replay_page,
            self.config.catch_up_rounds,
        );
        follower.start(
            Start {
                user_head: heads.user_seq,
                heads: conversation_heads,
                unsure,
                departed,
            },
            &mut self.out,
        );
        self.follower = Some(follower);
        self.after_work();
    }
}
