//! The streams a session follows: their cursors, and the replays that bring the client up to
//! date, as a stack of jobs that each run until they need a log read.
//!
//! Each stream has a cursor, the last `seq` delivered. A live event at or below it was
//! delivered already and is dropped; one past a gap waits while the gap is read from the log.
//! A cursor older than the log yields `conversationReset` (reload the conversation; later
//! events follow). Membership events of the user stream move what is followed: joining a
//! conversation follows it from the join's `seq` (reading what came between the join and the
//! subscription); leaving delivers the conversation's events up to the leave, then stops.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use confab_protocol::event::{EventBody, Reset, decode_event, encode_event};
use confab_protocol::sid::Sid;
use confab_store::Stream;

use crate::types::{Action, Ending, Item, Lag, Live, LogRead, Row, Transmit, is_participant_left};

mod jobs;

use jobs::{CatchUp, Job};

/// How a membership event of the user stream is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Live: subscriptions change and the conversation's log is read at once.
    Live,
    /// During the first replay: cursors change; conversation logs are read after the user
    /// log, so a conversation joined and left within the replay yields only what the
    /// identity was there for.
    Replay,
}

/// What the session does next with its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Nothing now: replay work is under way.
    Nothing,
    /// The next item, waiting for it if there is none.
    Next,
    /// Every item there is now, then [`Follower::queue_empty`].
    Drain,
}

/// Room for transmits a session keeps once its queue of them is empty: enough for a busy
/// session's usual batch without growing again.
const KEPT_TRANSMITS: usize = 16;

/// What a session writes and asks for.
#[derive(Debug)]
pub(crate) struct Out<P> {
    transmits: VecDeque<Transmit<P>>,
    pub actions: VecDeque<Action>,
    /// Set when the work decides the session must end.
    pub end: Option<Ending>,
    /// Whether something was written since the last flush.
    pub dirty: bool,
}

impl<P> Default for Out<P> {
    fn default() -> Self {
        Out {
            transmits: VecDeque::new(),
            actions: VecDeque::new(),
            end: None,
            dirty: false,
        }
    }
}

impl<P> Out<P> {
    /// Writes a frame (it goes out at the next flush).
    pub fn write(&mut self, t: Transmit<P>) {
        self.dirty |= matches!(t, Transmit::Text(_) | Transmit::Shared(_));
        self.transmits.push_back(t);
    }

    /// Sends what was written.
    pub fn flush(&mut self) {
        if self.dirty {
            self.dirty = false;
            self.transmits.push_back(Transmit::Flush);
        }
    }

    /// The next transmit for the driver.
    pub fn next(&mut self) -> Option<Transmit<P>> {
        let next = self.transmits.pop_front();
        if next.is_none() && self.transmits.capacity() > KEPT_TRANSMITS {
            // A replay's burst leaves no room behind in a session that goes quiet.
            self.transmits.shrink_to(KEPT_TRANSMITS);
        }
        next
    }
}

/// The followed streams of one session, and the replay work under way.
#[derive(Debug)]
pub(crate) struct Follower<P> {
    service: Sid,
    identity: String,
    user_cursor: i64,
    conversations: HashMap<Sid, i64>,
    /// During the first replay: the client's cursors of conversations it has left since.
    departed: HashMap<Sid, i64>,
    /// The latest news (`userUpdated`) delivered about each identity.
    news: HashMap<String, u64>,
    jobs: Vec<Job<P>>,
    /// A job waiting for its log read.
    reading: Option<Job<P>>,
    /// The queue is being drained for the catch-up.
    draining: bool,
    lag: Arc<Lag>,
    page: u32,
    rounds: usize,
}

/// The first replay's plan.
pub(crate) struct Start {
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

impl<P: Clone> Follower<P> {
    /// Streams starting at the cursors of `welcome`.
    pub fn new(
        service: Sid,
        identity: String,
        user_cursor: i64,
        conversations: HashMap<Sid, i64>,
        lag: Arc<Lag>,
        page: u32,
        rounds: usize,
    ) -> Follower<P> {
        Follower {
            service,
            identity,
            user_cursor,
            conversations,
            departed: HashMap::new(),
            news: HashMap::new(),
            jobs: vec![],
            reading: None,
            draining: false,
            lag,
            page,
            rounds,
        }
    }

    /// The identity's membership stream.
    pub fn user_stream(&self) -> Stream {
        Stream::User {
            service: self.service.clone(),
            identity: self.identity.clone(),
        }
    }

    /// Every stream followed now.
    pub fn streams(&self) -> Vec<Stream> {
        let mut all = vec![self.user_stream()];
        all.extend(
            self.conversations
                .keys()
                .map(|s| Stream::Conversation(s.clone())),
        );
        all
    }

    /// Plans the first replay: the user log after the cursor, then the conversations behind
    /// their heads, then the catch-up for anything dropped meanwhile.
    pub fn start(&mut self, start: Start, out: &mut Out<P>) {
        self.departed = start.departed;
        self.jobs.push(Job::FirstDone);
        self.jobs.push(Job::CatchUp {
            round: 0,
            stage: CatchUp::Check,
        });
        self.jobs.push(Job::StartConversations {
            heads: start.heads,
            unsure: start.unsure,
        });
        if self.user_cursor < start.user_head {
            self.jobs.push(self.user_job(Follow::Replay));
        }
        self.drive(out);
    }

    /// What the session does next with its queue.
    pub fn want(&self) -> Want {
        if self.reading.is_some() {
            Want::Nothing
        } else if self.waiting_for_drain() {
            Want::Drain
        } else if self.jobs.is_empty() {
            Want::Next
        } else {
            Want::Nothing
        }
    }

    /// Whether replay work is under way (or waits for a read or a drain).
    pub fn busy(&self) -> bool {
        self.reading.is_some() || !self.jobs.is_empty()
    }

    /// Takes a queue item. Returns whether it was an answer.
    pub fn item(&mut self, item: Item<P>, out: &mut Out<P>) -> bool {
        match item {
            Item::Answer(text) => {
                out.write(Transmit::Text(text));
                return true;
            }
            Item::Ephemeral(e) => {
                if !self.conversations.contains_key(&e.conversation) {
                    return false;
                }
                if let Some((about, version)) = &e.once {
                    let last = self.news.entry(about.clone()).or_default();
                    if *last >= *version {
                        return false;
                    }
                    *last = *version;
                }
                out.write(Transmit::Shared(e.text.clone()));
            }
            Item::Event(live) => match &live.stream {
                Stream::User { .. } => {
                    if live.seq <= self.user_cursor {
                        return false;
                    }
                    if live.seq > self.user_cursor + 1 {
                        self.jobs.push(Job::UserEvent(live));
                        self.jobs.push(self.user_job(Follow::Live));
                    } else {
                        self.user_live(&live, out);
                    }
                    self.drive(out);
                }
                Stream::Conversation(sid) => {
                    let Some(&cursor) = self.conversations.get(sid) else {
                        return false;
                    };
                    if live.seq <= cursor {
                        return false;
                    }
                    if live.seq > cursor + 1 {
                        let (sid, gap_end) = (sid.clone(), live.seq - 1);
                        self.jobs.push(Job::ConversationEvent(live));
                        self.jobs.push(Job::Conversation {
                            sid,
                            target: gap_end,
                            stop_at: Some(gap_end),
                        });
                        self.drive(out);
                    } else {
                        self.conversation_event(&live, out);
                    }
                }
            },
        }
        false
    }

    /// The queue is empty: a drain for the catch-up is complete.
    pub fn queue_empty(&mut self, out: &mut Out<P>) {
        if self.draining {
            self.draining = false;
            self.drive(out);
        }
    }

    /// The log read asked for came back.
    pub fn rows(&mut self, rows: Vec<Row<P>>, out: &mut Out<P>) {
        match self.reading.take() {
            Some(Job::User { follow, .. }) => {
                let full = rows.len() == self.page as usize;
                self.jobs.push(Job::User {
                    follow,
                    rows: Some(rows.into()),
                    full,
                });
            }
            Some(Job::Conversation {
                sid,
                target,
                stop_at,
            }) => {
                if self.conversation_rows(&sid, target, stop_at, rows, out) {
                    self.jobs.push(Job::Conversation {
                        sid,
                        target,
                        stop_at,
                    });
                }
            }
            Some(other) => self.jobs.push(other),
            None => return,
        }
        self.drive(out);
    }

    fn user_job(&self, follow: Follow) -> Job<P> {
        Job::User {
            follow,
            rows: None,
            full: true,
        }
    }

    /// Whether the catch-up waits for the queue to be drained.
    fn waiting_for_drain(&self) -> bool {
        self.draining
            && matches!(
                self.jobs.last(),
                Some(Job::CatchUp {
                    stage: CatchUp::Drained | CatchUp::Last,
                    ..
                })
            )
    }

    /// Runs jobs until one needs a read or a drain, or none is left.
    fn drive(&mut self, out: &mut Out<P>) {
        while self.reading.is_none() && !self.waiting_for_drain() && out.end.is_none() {
            let Some(job) = self.jobs.pop() else {
                return;
            };
            self.step(job, out);
        }
    }

    fn read(&mut self, job: Job<P>, stream: Stream, after: i64, out: &mut Out<P>) {
        self.reading = Some(job);
        out.actions.push_back(Action::ReadLog(LogRead {
            stream,
            after,
            limit: self.page,
        }));
    }

    /// Delivers a conversation's log rows after its cursor; true if another page is due.
    fn conversation_rows(
        &mut self,
        sid: &Sid,
        target: i64,
        stop_at: Option<i64>,
        rows: Vec<Row<P>>,
        out: &mut Out<P>,
    ) -> bool {
        let Some(&after) = self.conversations.get(sid) else {
            return false;
        };
        let full = rows.len() == self.page as usize;
        if rows.is_empty() && after < target {
            // Everything after the cursor was pruned.
            self.reset(sid, target, out);
            return false;
        }
        for row in rows {
            let Some(&cursor) = self.conversations.get(sid) else {
                return false;
            };
            if row.seq <= cursor {
                continue;
            }
            let stop = stop_at.unwrap_or(i64::MAX);
            if row.seq > cursor + 1 && cursor < stop {
                // The log no longer reaches back to the cursor (nor, past a stop, to it).
                self.reset(sid, (row.seq - 1).min(stop), out);
            }
            if row.seq > stop {
                out.flush();
                return false;
            }
            out.write(Transmit::Shared(row.text));
            self.conversations.insert(sid.clone(), row.seq);
            if self.left_by_me(&row.frame) {
                // The identity is out from here on (its own `participantLeft`).
                self.forget(sid, out);
                out.flush();
                return false;
            }
        }
        out.flush();
        if !full && let Some(&cursor) = self.conversations.get(sid) {
            out.actions
                .push_back(Action::Heard(Stream::Conversation(sid.clone()), cursor));
        }
        full
    }

    /// Delivers a live conversation event that follows its cursor.
    fn conversation_event(&mut self, live: &Live<P>, out: &mut Out<P>) {
        let Stream::Conversation(sid) = &live.stream else {
            return;
        };
        out.write(Transmit::Shared(live.text.clone()));
        // Once per delivery to every session: no new key, so no clone of the SID.
        if let Some(cursor) = self.conversations.get_mut(sid) {
            *cursor = live.seq;
        }
        if live.participant_left && self.left_by_me(&live.frame) {
            // Removed without a user-stream event (the user was deleted with its log).
            self.forget(sid, out);
        }
    }

    /// Delivers a live user-stream event that follows the user cursor, queueing what it asks
    /// to run next.
    fn user_live(&mut self, live: &Live<P>, out: &mut Out<P>) {
        let first = self.user_event(live.seq, &live.frame, live.text.clone(), Follow::Live, out);
        self.jobs.extend(first);
    }

    /// Delivers a user-stream event and follows its membership change: a leave delivers the
    /// conversation's events up to it first (a conversation's events come before the
    /// `conversationLeft` that ends them); a join follows the conversation after. Returns
    /// the jobs to run before anything else, bottom first: the replay up to a leave (and the
    /// rest of the event after it), or the replay after a live join.
    fn user_event(
        &mut self,
        seq: i64,
        frame: &[u8],
        text: P,
        follow: Follow,
        out: &mut Out<P>,
    ) -> Vec<Job<P>> {
        let body = decode_event(frame).ok().map(|e| e.body);
        match &body {
            Some(EventBody::ConversationLeft(m)) => {
                let sid = &m.conversation_sid;
                if let Some(cursor) = self.departed.remove(sid) {
                    self.conversations.entry(sid.clone()).or_insert(cursor);
                }
                if self.conversations.contains_key(sid) {
                    let last = m.conversation_seq;
                    return vec![
                        Job::AfterLeave {
                            seq,
                            text,
                            sid: sid.clone(),
                        },
                        Job::Conversation {
                            sid: sid.clone(),
                            target: last,
                            stop_at: Some(last),
                        },
                    ];
                }
            }
            Some(EventBody::ConversationRemoved(m)) => {
                self.departed.remove(&m.conversation_sid);
                self.forget(&m.conversation_sid, out);
            }
            _ => {}
        }
        out.write(Transmit::Shared(text));
        self.user_cursor = seq;
        if let Some(EventBody::ConversationJoined(m)) = body {
            let sid = m.conversation_sid;
            self.departed.remove(&sid);
            if follow == Follow::Replay || !self.conversations.contains_key(&sid) {
                // A join after the client's user cursor: any older cursor of this
                // conversation belongs to an earlier membership.
                self.conversations.insert(sid.clone(), m.conversation_seq);
                out.actions
                    .push_back(Action::Subscribe(Stream::Conversation(sid.clone())));
                if follow == Follow::Live {
                    // Events committed between the join and the subscription are in the log.
                    return vec![Job::Conversation {
                        sid,
                        target: m.conversation_seq,
                        stop_at: None,
                    }];
                }
            }
        }
        vec![]
    }

    fn forget(&mut self, sid: &Sid, out: &mut Out<P>) {
        if self.conversations.remove(sid).is_some() {
            out.actions
                .push_back(Action::Unsubscribe(Stream::Conversation(sid.clone())));
        }
    }

    /// Tells the client its cursor of `sid` is older than the log: reload the conversation;
    /// events after `seq` follow.
    fn reset(&mut self, sid: &Sid, seq: i64, out: &mut Out<P>) {
        let frame = encode_event(
            sid.as_str(),
            None,
            &EventBody::ConversationReset(Reset { seq }),
        );
        out.write(Transmit::Text(String::from_utf8(frame).unwrap_or_default()));
        self.conversations.insert(sid.clone(), seq);
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
}
