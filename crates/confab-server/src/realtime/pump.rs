//! The pump: a session's one writer task. It owns the socket's write half and every stream
//! cursor of the session, so exactly-once, in-order delivery is decided in one place.
//!
//! It sends `welcome`, replays each stream's log after the client's cursor, then takes
//! whatever the queue holds (answers, and live events put there by the hub since the session
//! subscribed), drains all of it, and flushes once. For each event it keeps the stream's
//! cursor: a `seq` at or below the cursor was delivered already and is dropped; one past a gap
//! makes the pump read the missing events from the log first. A cursor older than the log
//! yields `conversationReset` (reload the conversation; later events follow).
//!
//! Membership events of the user stream move the session's subscriptions: joining a
//! conversation subscribes and reads its log from the join's `seq`; leaving delivers the
//! conversation's events up to the leave and unsubscribes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use confab_protocol::event::{EventBody, Reset, decode_event, encode_event};
use confab_protocol::frame::{CloseReason, Resumed};
use confab_protocol::sid::Sid;
use confab_store::{LogEntry, Stream};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, timeout};

use super::Realtime;
use super::hub::Subscriber;
use super::session::{Ending, Ephemeral, Live, Outbound, is_participant_left, send_close};

/// Log rows read per store call during a replay.
const REPLAY_PAGE: u32 = 256;
/// Queue items taken per flush at most, so one flush never holds a huge batch.
const BATCH: usize = 256;
/// The least time between two flushes of events to a session. A session that gets events
/// faster than this waits out the rest of it, so that the events of that moment go in one
/// write: on this machine class one `write` costs 6-8 us of CPU whatever its size (and the
/// reader's `read` as much again), so a room of a thousand busy members cost a write per
/// message per member (`confab bench big-room`: 7.5 us of server CPU per delivery, 3.9 with
/// this gap, and 252,000 deliveries a second at p99 25 ms against 115,000). A session whose
/// last flush is older sends at once, so a quiet one's latency does not change; answers
/// (`res`, `pong`) never wait.
const FLUSH_GAP: Duration = Duration::from_millis(15);

/// What the pump starts with.
pub(crate) struct Start {
    /// The encoded `welcome`.
    pub welcome: String,
    /// The user stream's head when the session subscribed.
    pub user_head: i64,
    /// The head of each conversation the identity was in when the session subscribed.
    pub heads: HashMap<Sid, i64>,
    /// Conversations to read to their end whatever their cursor (subscribed after their
    /// head was read).
    pub unsure: Vec<Sid>,
    /// The client's cursors of conversations the identity is no longer in.
    pub departed: HashMap<Sid, i64>,
}

/// How a membership event of the user stream is followed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// Live: subscriptions change and the conversation's log is read at once.
    Live,
    /// During the first replay: cursors change; conversation logs are read after the user
    /// log, so a conversation joined and left within the replay yields only what the
    /// identity was there for.
    Replay,
}

/// Rounds of reading the logs again after a replay during which live events were dropped.
/// Three were too few: with a small queue and a steady writer, each round on PostgreSQL saw a
/// few new events overflow, and a reader that kept up was closed.
const CATCH_UP_ROUNDS: usize = 32;

/// Why the pump stopped pumping.
struct Stopped;

/// The writer task of one session.
pub(crate) struct Pump {
    sink: SplitSink<WebSocket, Message>,
    rx: mpsc::Receiver<Outbound>,
    ended: watch::Receiver<Option<Ending>>,
    rt: Arc<Realtime>,
    sub: Subscriber,
    service: Sid,
    identity: String,
    user_cursor: i64,
    conversations: HashMap<Sid, i64>,
    /// During the first replay: the client's cursors of conversations it has left since.
    departed: HashMap<Sid, i64>,
    /// The latest news (`userUpdated`) delivered about each identity.
    news: HashMap<String, u64>,
    /// When the live loop last flushed.
    flushed_at: Option<Instant>,
}

impl Pump {
    /// A pump for a session whose streams start at `resumed`'s cursors.
    pub fn new(
        sink: SplitSink<WebSocket, Message>,
        rx: mpsc::Receiver<Outbound>,
        rt: Arc<Realtime>,
        sub: Subscriber,
        service: Sid,
        identity: String,
        resumed: Resumed,
    ) -> Pump {
        let conversations = resumed
            .conversations
            .into_iter()
            .map(|(sid, cursor)| (Sid::from_trusted(sid), cursor))
            .collect();
        let mut ended = sub.kill.watch();
        if ended.borrow().is_some() {
            // Ended before the pump started: its first wait must see it.
            ended.mark_changed();
        }
        Pump {
            sink,
            rx,
            ended,
            rt,
            sub,
            service,
            identity,
            user_cursor: resumed.user_seq,
            conversations,
            departed: HashMap::new(),
            news: HashMap::new(),
            flushed_at: None,
        }
    }

    /// The identity's membership stream.
    fn user_stream(&self) -> Stream {
        Stream::User {
            service: self.service.clone(),
            identity: self.identity.clone(),
        }
    }

    /// Runs until the session ends, then sends the close frame (if the peer can get one).
    pub async fn run(mut self, start: Start) {
        if self.serve(start).await.is_err() && self.ended.borrow().is_none() {
            self.sub.kill.end(Ending::Drop("the connection failed"));
        }
        let ending = self.ended.borrow().clone();
        self.rt.record_close(match &ending {
            Some(Ending::Close { reason, .. }) => reason.as_str(),
            Some(Ending::Broken { .. }) => CloseReason::ProtocolError.as_str(),
            _ => "dropped",
        });
        if let Some(Ending::Close {
            reason,
            code,
            message,
        }) = ending
        {
            // A stopping server still delivers the answers already queued: their writes are
            // committed, and the client should not have to resend them.
            let mut answers = vec![];
            if reason == CloseReason::ShuttingDown {
                while let Ok(item) = self.rx.try_recv() {
                    if let Outbound::Text(t) = item {
                        answers.push(t);
                    }
                }
            }
            Box::pin(send_close(&mut self.sink, answers, reason, code, message)).await;
        } else if let Some(Ending::Broken { ws_code, why }) = ending {
            Box::pin(super::session::fail(&mut self.sink, ws_code, why)).await;
        } else if matches!(ending, Some(Ending::PeerClosed)) {
            // Flushes the close WebSocket queued in answer to the client's; a peer that does
            // not read it within a second will not.
            let _ = tokio::time::timeout(Duration::from_secs(1), self.sink.close()).await;
        }
    }

    async fn serve(&mut self, start: Start) -> Result<(), Stopped> {
        // The replays' state is large and lives only for a moment: boxed, so that the task of
        // every open session, idle or not, keeps only the live loop's (see also `handle`).
        Box::pin(self.start(start)).await?;
        loop {
            let item = tokio::select! {
                biased;
                _ = self.ended.changed() => return Err(Stopped),
                item = self.rx.recv() => item.ok_or(Stopped)?,
            };
            let answer = matches!(item, Outbound::Text(_));
            self.handle(item).await?;
            let (taken, answers) = self.take_queued(1).await?;
            if let Some(due) = self.flushed_at.map(|at| at + FLUSH_GAP)
                && !(answer || answers)
                && due > Instant::now()
                && taken < BATCH
            {
                // Busy: what comes in the rest of the gap goes in the same write.
                Box::pin(self.gather_until(due, taken)).await?;
            }
            self.flush().await?;
            self.flushed_at = Some(Instant::now());
        }
    }

    /// Handles what the queue holds now, up to [`BATCH`] items in all with the `taken` so far;
    /// the new total, and whether an answer was among them.
    async fn take_queued(&mut self, mut taken: usize) -> Result<(usize, bool), Stopped> {
        let mut answers = false;
        while taken < BATCH {
            match self.rx.try_recv() {
                Ok(item) => {
                    answers |= matches!(item, Outbound::Text(_));
                    self.handle(item).await?;
                }
                Err(_) => break,
            }
            taken += 1;
        }
        Ok((taken, answers))
    }

    /// Handles what comes until `due`, up to [`BATCH`] items in all with the `taken` so far;
    /// an answer ends the wait at once.
    async fn gather_until(&mut self, due: Instant, mut taken: usize) -> Result<(), Stopped> {
        let sleep = tokio::time::sleep_until(due);
        tokio::pin!(sleep);
        while taken < BATCH {
            let item = tokio::select! {
                biased;
                _ = self.ended.changed() => return Err(Stopped),
                item = self.rx.recv() => item.ok_or(Stopped)?,
                () = &mut sleep => return Ok(()),
            };
            let answer = matches!(item, Outbound::Text(_));
            self.handle(item).await?;
            taken += 1;
            if answer {
                return Ok(());
            }
        }
        Ok(())
    }

    /// `welcome`, then the replay after the client's cursors, up to live.
    async fn start(&mut self, start: Start) -> Result<(), Stopped> {
        self.feed(Message::Text(start.welcome.into())).await?;
        self.flush().await?;
        self.departed = start.departed;
        if self.user_cursor < start.user_head {
            self.replay_user(Follow::Replay).await?;
        }
        self.departed.clear();
        // Only conversations behind their head need a read (a thousand idle ones need none);
        // ones joined during the replay, or subscribed late, are read to their end.
        let mut due: Vec<(Sid, i64)> = self
            .conversations
            .iter()
            .filter_map(|(sid, &cursor)| {
                let unsure = start.unsure.contains(sid);
                match start.heads.get(sid) {
                    Some(&head) if cursor < head || unsure => Some((sid.clone(), head)),
                    Some(_) => None,
                    None => Some((sid.clone(), cursor)),
                }
            })
            .collect();
        due.sort();
        for (sid, head) in due {
            self.replay_conversation(&sid, head, None).await?;
        }
        self.catch_up_after_lag().await?;
        // The node has heard every followed conversation this far (what the bus between
        // nodes fails to bring after it, the reconcile loop finds).
        for (sid, &cursor) in &self.conversations {
            self.rt
                .hub
                .note_heard(&Stream::Conversation(sid.clone()), cursor);
        }
        self.rt
            .hub
            .note_heard(&self.user_stream(), self.user_cursor);
        self.flush().await
    }

    /// Live events that did not fit in the queue while the replay ran were dropped (see
    /// [`super::hub::Lag`]); they are all in the logs, so the pump reads every stream it
    /// follows to its end once more, as often as it takes (each round reads only what came
    /// during the previous one, so a reader that keeps up converges; nothing is buffered
    /// meanwhile, so more rounds cost no memory). A client that has not caught up after
    /// [`CATCH_UP_ROUNDS`] is a slow consumer.
    async fn catch_up_after_lag(&mut self) -> Result<(), Stopped> {
        for _ in 0..CATCH_UP_ROUNDS {
            if !self.sub.lag.take_lagged() {
                // What queued up during the replay goes out first, while a full queue is still
                // forgiven: else the first live event after the replay could find the queue
                // full of items the pump was about to take, and close a client that keeps up.
                self.drain_queue().await?;
                self.sub.lag.replay_done();
                if !self.sub.lag.take_lagged() {
                    return Ok(());
                }
                // Lagged between the check and the end of the replay: read once more, now
                // with a full queue counting as slow.
            }
            self.replay_user(Follow::Live).await?;
            let mut all: Vec<(Sid, i64)> = self
                .conversations
                .iter()
                .map(|(sid, &c)| (sid.clone(), c))
                .collect();
            all.sort();
            for (sid, cursor) in all {
                self.replay_conversation(&sid, cursor, None).await?;
            }
        }
        self.drain_queue().await?;
        self.sub.lag.replay_done();
        if self.sub.lag.take_lagged() {
            self.sub.kill.kill(
                CloseReason::SlowConsumer,
                "the session fell behind while catching up: resume later",
            );
            return Err(Stopped);
        }
        Ok(())
    }

    /// Handles every item queued now, without waiting for more.
    async fn drain_queue(&mut self) -> Result<(), Stopped> {
        while let Ok(item) = self.rx.try_recv() {
            self.handle(item).await?;
        }
        Ok(())
    }

    async fn handle(&mut self, item: Outbound) -> Result<(), Stopped> {
        match item {
            Outbound::Text(t) => self.feed(Message::Text(t.into())).await,
            Outbound::Ephemeral(e) => {
                let Ephemeral {
                    conversation,
                    frame,
                    once,
                } = *e;
                if !self.conversations.contains_key(&conversation) {
                    return Ok(());
                }
                if let Some((about, version)) = once {
                    let last = self.news.entry(about).or_default();
                    if *last >= version {
                        return Ok(());
                    }
                    *last = version;
                }
                self.send_event(&frame).await
            }
            Outbound::Event(live) => match &live.event.stream {
                // Membership changes may read logs: boxed, off the live loop's state.
                Stream::User { .. } => {
                    Box::pin(self.on_user_event(live.event.seq, &live.event.frame)).await
                }
                Stream::Conversation(sid) => self.on_conversation_event(sid, &live).await,
            },
        }
    }

    async fn on_conversation_event(&mut self, sid: &Sid, live: &Live) -> Result<(), Stopped> {
        let seq = live.event.seq;
        let Some(&cursor) = self.conversations.get(sid) else {
            return Ok(());
        };
        if seq <= cursor {
            return Ok(());
        }
        if seq > cursor + 1 {
            // A gap: read from the log (boxed, off the live loop's state).
            Box::pin(self.replay_conversation(sid, seq - 1, Some(seq - 1))).await?;
        }
        if self.conversations.get(sid).is_some_and(|&c| c < seq) {
            self.send_text(live.text.clone()).await?;
            if let Some(cursor) = self.conversations.get_mut(sid) {
                *cursor = seq;
            }
            if live.participant_left && self.left_by_me(&live.event.frame) {
                // Removed without a user-stream event (the user was deleted with its log).
                self.forget(sid);
            }
        }
        Ok(())
    }

    /// Whether `frame` is a `participantLeft` of this session's identity. Looks at the type
    /// in the frame's head first, so other events cost no decoding.
    fn left_by_me(&self, frame: &[u8]) -> bool {
        if !is_participant_left(frame) {
            return false;
        }
        matches!(
            decode_event(frame).map(|e| e.body),
            Ok(EventBody::ParticipantLeft(p)) if p.identity.as_deref() == Some(self.identity.as_str())
        )
    }

    async fn on_user_event(&mut self, seq: i64, frame: &Arc<[u8]>) -> Result<(), Stopped> {
        if seq <= self.user_cursor {
            return Ok(());
        }
        if seq > self.user_cursor + 1 {
            self.replay_user(Follow::Live).await?;
        }
        if self.user_cursor < seq {
            self.apply_user_event(seq, frame, Follow::Live).await?;
        }
        Ok(())
    }

    /// Delivers a user-stream event and follows its membership change: a leave delivers the
    /// conversation's events up to it first (a conversation's events come before the
    /// `conversationLeft` that ends them); a join starts following the conversation after.
    async fn apply_user_event(
        &mut self,
        seq: i64,
        frame: &Arc<[u8]>,
        follow: Follow,
    ) -> Result<(), Stopped> {
        let body = decode_event(frame).ok().map(|e| e.body);
        match &body {
            Some(EventBody::ConversationLeft(m)) => {
                let sid = &m.conversation_sid;
                if let Some(cursor) = self.departed.remove(sid) {
                    self.conversations.entry(sid.clone()).or_insert(cursor);
                }
                if self.conversations.contains_key(sid) {
                    let last = m.conversation_seq;
                    self.replay_conversation(sid, last, Some(last)).await?;
                    self.forget(sid);
                }
            }
            Some(EventBody::ConversationRemoved(m)) => {
                self.departed.remove(&m.conversation_sid);
                self.forget(&m.conversation_sid);
            }
            _ => {}
        }
        self.send_event(frame).await?;
        self.user_cursor = seq;
        if let Some(EventBody::ConversationJoined(m)) = body {
            let sid = m.conversation_sid;
            self.departed.remove(&sid);
            if follow == Follow::Replay || !self.conversations.contains_key(&sid) {
                // A join after the client's user cursor: any older cursor of this
                // conversation belongs to an earlier membership.
                self.conversations.insert(sid.clone(), m.conversation_seq);
                self.rt
                    .hub
                    .subscribe(Stream::Conversation(sid.clone()), &self.sub);
                if follow == Follow::Live {
                    // Events committed between the join and the subscription are in the log.
                    self.replay_conversation(&sid, m.conversation_seq, None)
                        .await?;
                }
            }
        }
        Ok(())
    }

    fn forget(&mut self, sid: &Sid) {
        if self.conversations.remove(sid).is_some() {
            self.rt
                .hub
                .unsubscribe(&Stream::Conversation(sid.clone()), self.sub.id);
        }
    }

    /// Delivers a conversation's log after its cursor: everything there is, or up to
    /// `stop_at`. If the log does not reach back to the cursor, or ends before `target`, the
    /// client gets `conversationReset` and the cursor moves past what is missing.
    async fn replay_conversation(
        &mut self,
        sid: &Sid,
        target: i64,
        stop_at: Option<i64>,
    ) -> Result<(), Stopped> {
        loop {
            let Some(&after) = self.conversations.get(sid) else {
                return Ok(());
            };
            if stop_at.is_some_and(|s| after >= s) {
                return Ok(());
            }
            let rows = self
                .read(self.rt.domain.store_handle().conversation_log(
                    sid.as_str(),
                    after,
                    REPLAY_PAGE,
                ))
                .await?;
            let full = rows.len() == REPLAY_PAGE as usize;
            if rows.is_empty() && after < target {
                // Everything after the cursor was pruned.
                return self.reset(sid, target).await;
            }
            for row in rows {
                if stop_at.is_some_and(|s| row.seq > s) {
                    return Ok(());
                }
                let Some(&cursor) = self.conversations.get(sid) else {
                    return Ok(());
                };
                if row.seq <= cursor {
                    continue;
                }
                if row.seq > cursor + 1 {
                    // The log no longer reaches back to the cursor.
                    self.reset(sid, row.seq - 1).await?;
                }
                self.send_event(&row.frame).await?;
                self.conversations.insert(sid.clone(), row.seq);
                if self.left_by_me(&row.frame) {
                    // The identity is out from here on (its own `participantLeft`).
                    self.forget(sid);
                    return self.flush().await;
                }
            }
            self.flush().await?;
            if !full {
                if let Some(&cursor) = self.conversations.get(sid) {
                    self.rt
                        .hub
                        .note_heard(&Stream::Conversation(sid.clone()), cursor);
                }
                return Ok(());
            }
        }
    }

    /// Tells the client its cursor of `sid` is older than the log: reload the conversation;
    /// events after `seq` follow.
    async fn reset(&mut self, sid: &Sid, seq: i64) -> Result<(), Stopped> {
        let frame = encode_event(
            sid.as_str(),
            None,
            &EventBody::ConversationReset(Reset { seq }),
        );
        self.send_event(&Arc::from(frame)).await?;
        self.conversations.insert(sid.clone(), seq);
        Ok(())
    }

    /// Delivers the user log after the cursor up to its end, following its membership
    /// events as `follow` says.
    async fn replay_user(&mut self, follow: Follow) -> Result<(), Stopped> {
        loop {
            let after = self.user_cursor;
            let rows: Vec<LogEntry> = self
                .read(self.rt.domain.store_handle().user_log(
                    self.service.as_str(),
                    &self.identity,
                    after,
                    REPLAY_PAGE,
                ))
                .await?;
            let full = rows.len() == REPLAY_PAGE as usize;
            for row in rows {
                if row.seq <= self.user_cursor {
                    continue;
                }
                self.apply_user_event(row.seq, &row.frame, follow).await?;
            }
            self.flush().await?;
            if !full {
                return Ok(());
            }
        }
    }

    async fn read<T>(
        &self,
        read: impl Future<Output = confab_store::StoreResult<T>>,
    ) -> Result<T, Stopped> {
        read.await.map_err(|e| {
            tracing::error!(error = %e, "realtime: log read failed");
            self.sub
                .kill
                .end(Ending::Drop("the log could not be read; resume"));
            Stopped
        })
    }

    async fn send_event(&mut self, frame: &Arc<[u8]>) -> Result<(), Stopped> {
        // Shares the stored bytes; the check is a UTF-8 scan, no copy.
        let text = Utf8Bytes::try_from(Bytes::from_owner(frame.clone())).map_err(|_| Stopped)?;
        self.send_text(text).await
    }

    async fn send_text(&mut self, text: Utf8Bytes) -> Result<(), Stopped> {
        self.feed(Message::Text(text)).await
    }

    async fn feed(&mut self, m: Message) -> Result<(), Stopped> {
        let write_timeout = self.rt.config.write_timeout;
        let Pump { sink, ended, .. } = self;
        io(ended, write_timeout, sink.feed(m)).await
    }

    async fn flush(&mut self) -> Result<(), Stopped> {
        let write_timeout = self.rt.config.write_timeout;
        let Pump { sink, ended, .. } = self;
        io(ended, write_timeout, sink.flush()).await
    }
}

/// One socket write, abandoned when the session ends or the write deadline passes.
async fn io(
    ended: &mut watch::Receiver<Option<Ending>>,
    deadline: Duration,
    write: impl Future<Output = Result<(), axum::Error>>,
) -> Result<(), Stopped> {
    // Any ending (or a dropped sender) stops the session; reading the version is one atomic load.
    if ended.has_changed().unwrap_or(true) {
        return Err(Stopped);
    }
    let mut write = std::pin::pin!(write);
    // Nearly every write completes at once, the socket having room: it then costs no timer and
    // no wait on the ending, which were a tenth of the pump's time per delivery.
    let first = std::future::poll_fn(|cx| match write.as_mut().poll(cx) {
        Poll::Ready(r) => Poll::Ready(Some(r)),
        Poll::Pending => Poll::Ready(None),
    })
    .await;
    if let Some(r) = first {
        return r.map_err(|_| Stopped);
    }
    // The wait (a timer and the ending's notification) is boxed: a few hundred bytes that
    // every session's task would otherwise carry for good.
    Box::pin(async move {
        tokio::select! {
            biased;
            _ = ended.changed() => Err(Stopped),
            r = timeout(deadline, write) => match r {
                Ok(Ok(())) => Ok(()),
                _ => Err(Stopped),
            },
        }
    })
    .await
}

impl Drop for Pump {
    fn drop(&mut self) {
        let hub = &self.rt.hub;
        hub.unsubscribe(&self.user_stream(), self.sub.id);
        for sid in self.conversations.keys() {
            hub.unsubscribe(&Stream::Conversation(sid.clone()), self.sub.id);
        }
    }
}
