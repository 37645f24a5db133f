//! A world for the server session and the client core to meet in, on a simulated clock: an
//! in-memory store (conversation logs, alice's user log, her memberships), a hub that fills
//! the server session's bounded queue, a link that can be cut or go silent, and the two
//! state machines pumped until nothing is left to do. The same shape as quinn's `Pair`:
//! move the clock to the next wake-up of either side and drive both until idle.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use confab_client_core::{
    Config as ClientConfig, Output, Session as Client, Transmit as ClientTransmit,
};
use confab_protocol::entity::{Message, NotificationLevel, Participant};
use confab_protocol::event::{EventBody, EventFrame, Membership, USER_STREAM, encode_event};
use confab_protocol::frame::{CloseReason, ServerFrame};
use confab_protocol::method::Request;
use confab_protocol::sid::Sid;
use confab_protocol::token::{b64_encode, decode_unverified};
use confab_server_core::{
    Action, Authenticated, Config, Ending, Item, Lag, Live, Phase, Read, Renewed, Row, Session,
    Transmit, Want, is_participant_left, result_answer,
};
use confab_store::{Memberships, Stream};
use serde_json::json;

/// Shared frame text, as the server's driver shares `Utf8Bytes`.
pub type Text = Arc<str>;

pub const ALICE: &str = "alice";
/// The simulated clock starts here (unix ms), so that tokens' `exp` are real times.
pub const T0: u64 = 1_800_000_000_000;
pub const HOUR: u64 = 3_600_000;
/// The server's clock skew allowance on `exp`.
const SKEW_MS: u64 = 60_000;

/// A token shaped like the real thing, for `identity`, expiring at `exp_ms`.
pub fn token(identity: &str, exp_ms: u64) -> String {
    let h = b64_encode(br#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#);
    let exp = (exp_ms / 1000) as i64;
    let claims = json!({
        "iss": "SK00", "sub": "AC00", "exp": exp, "nbf": exp - 3600,
        "grants": {"identity": identity, "chat": {}},
    });
    format!("{h}.{}.c2ln", b64_encode(claims.to_string().as_bytes()))
}

pub fn conversation(n: u8) -> Sid {
    Sid::from_trusted(format!("CH{n:032x}"))
}

fn service() -> Sid {
    Sid::from_trusted(format!("IS{:032x}", 7))
}

/// A conversation's log and members.
#[derive(Default)]
struct Log {
    rows: Vec<Arc<[u8]>>,
    /// Rows with a `seq` below this are pruned.
    kept_from: i64,
    members: BTreeSet<String>,
    next_message: i64,
}

/// The server's end of one connection.
struct ServerEnd {
    id: usize,
    s: Session<Text>,
    idle_told: bool,
    /// Frames written and not flushed yet.
    written: Vec<Text>,
    /// Whether the client's socket is this one (not one it has given up on).
    attached: bool,
}

/// A session as the hub sees it: its queue, its subscriptions, and how to stop it.
#[derive(Default)]
struct Slot {
    queue: VecDeque<Item<Text>>,
    subs: HashSet<Stream>,
    lag: Arc<Lag>,
    /// The hub closed it (slow consumer); the session hears it on the next pump.
    killed: Option<Ending>,
}

/// What the world does to the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Up,
    /// Frames are lost both ways and no side is told (a half-open connection).
    Silent,
}

pub struct World {
    pub now: u64,
    pub config: Config,
    pub queue_capacity: usize,
    logs: BTreeMap<Sid, Log>,
    user_log: Vec<Arc<[u8]>>,
    server: Option<ServerEnd>,
    /// Sessions whose client has moved on, still running until they notice.
    orphans: Vec<ServerEnd>,
    /// The hub's view of each session, by id.
    slots: BTreeMap<usize, Slot>,
    pub client: Client,
    pub link: Link,
    /// The next publishes the hub loses (as a node cut from the bus would).
    pub lose_publishes: usize,
    /// Messages bob sends in this conversation whenever the session reads a log, for the
    /// next so many reads (to commit while it replays): (conversation, messages, reads).
    pub chatter_on_read: Option<(u8, usize, usize)>,
    /// Events the app got, by stream: (seq, type).
    pub got: BTreeMap<String, Vec<(i64, String)>>,
    /// The leaves the app heard of on its user stream: (conversation, `conversation_seq`).
    pub leaves: std::collections::HashSet<(String, i64)>,
    /// Every output of the client, in order.
    pub outputs: Vec<Output>,
    pub connects: usize,
    /// Sessions that ended, by how.
    pub endings: Vec<Ending>,
    /// Requests the server ran, by method.
    pub ran: Vec<&'static str>,
    /// Events the hub dropped because a replaying session's queue was full (forgiven).
    pub forgiven: usize,
    /// The `seq` of alice's latest joining of each conversation.
    joined_at: BTreeMap<Sid, i64>,
}

impl World {
    /// A world where alice's client starts connecting now, with a token good for `ttl` ms.
    pub fn new(ttl: u64) -> World {
        let config = Config {
            heartbeat_ms: 15_000,
            heartbeat_grace_ms: 5_000,
            ..Config::default()
        };
        let client_config = ClientConfig {
            window_ms: None,
            ..ClientConfig::default()
        };
        World {
            now: T0,
            config,
            queue_capacity: 64,
            logs: BTreeMap::new(),
            user_log: vec![],
            server: None,
            orphans: vec![],
            slots: BTreeMap::new(),
            client: Client::new(token(ALICE, T0 + ttl), client_config, 7, T0),
            link: Link::Up,
            lose_publishes: 0,
            chatter_on_read: None,
            got: BTreeMap::new(),
            leaves: Default::default(),
            outputs: vec![],
            connects: 0,
            endings: vec![],
            ran: vec![],
            forgiven: 0,
            joined_at: BTreeMap::new(),
        }
    }

    // ---- the store and the hub ----

    /// A conversation with alice and bob in it.
    pub fn create(&mut self, n: u8) -> Sid {
        let sid = conversation(n);
        self.logs.insert(sid.clone(), Log::default());
        self.join(n, "bob");
        self.join(n, ALICE);
        sid
    }

    fn participant(&self, sid: &Sid, who: &str) -> Participant {
        Participant {
            sid: Sid::from_trusted(format!("MB{:032x}", who.len())),
            conversation_sid: sid.clone(),
            identity: Some(who.to_owned()),
            attributes: "{}".into(),
            messaging_binding: None,
            role_sid: None,
            last_read_message_index: None,
            last_read_timestamp: None,
            notification_level: NotificationLevel::Default,
            date_created: 1,
            date_updated: 1,
        }
    }

    /// Logs an event in conversation `n` (and, for alice's membership, in her user log) in
    /// one commit, and publishes it.
    fn commit(&mut self, sid: &Sid, body: EventBody, user: Option<EventBody>) {
        let log = self.logs.entry(sid.clone()).or_default();
        let seq = log.rows.len() as i64 + 1;
        let frame: Arc<[u8]> = encode_event(sid.as_str(), Some(seq), &body).into();
        log.rows.push(frame.clone());
        let mut events = vec![(Stream::Conversation(sid.clone()), seq, frame)];
        if let Some(user) = user {
            let useq = self.user_log.len() as i64 + 1;
            let frame: Arc<[u8]> = encode_event(USER_STREAM, Some(useq), &user).into();
            self.user_log.push(frame.clone());
            events.push((self.user_stream(), useq, frame));
        }
        self.publish(events);
    }

    fn membership(&self, sid: &Sid) -> Membership {
        Membership {
            conversation_sid: sid.clone(),
            participant_sid: None,
            conversation_seq: self.head(sid),
            conversation: None,
        }
    }

    /// Whether `who` is in conversation `n` now.
    pub fn member(&self, n: u8, who: &str) -> bool {
        self.logs
            .get(&conversation(n))
            .is_some_and(|l| l.members.contains(who))
    }

    pub fn join(&mut self, n: u8, who: &str) {
        let sid = conversation(n);
        let p = self.participant(&sid, who);
        self.logs
            .entry(sid.clone())
            .or_default()
            .members
            .insert(who.to_owned());
        let log_len = self.head(&sid);
        if who == ALICE {
            self.joined_at.insert(sid.clone(), log_len + 1);
        }
        let user = (who == ALICE).then(|| {
            EventBody::ConversationJoined(Membership {
                conversation_seq: log_len + 1,
                ..self.membership(&sid)
            })
        });
        self.commit(&sid, EventBody::ParticipantJoined(p), user);
    }

    pub fn leave(&mut self, n: u8, who: &str) {
        let sid = conversation(n);
        let p = self.participant(&sid, who);
        if let Some(log) = self.logs.get_mut(&sid) {
            log.members.remove(who);
        }
        let log_len = self.head(&sid);
        let user = (who == ALICE).then(|| {
            EventBody::ConversationLeft(Membership {
                conversation_seq: log_len + 1,
                ..self.membership(&sid)
            })
        });
        self.commit(&sid, EventBody::ParticipantLeft(p), user);
    }

    /// A message from bob in conversation `n`.
    pub fn message(&mut self, n: u8) {
        let sid = conversation(n);
        let log = self.logs.entry(sid.clone()).or_default();
        let index = log.next_message;
        log.next_message += 1;
        let m = Message {
            sid: Sid::from_trusted(format!("IM{index:032x}")),
            conversation_sid: sid.clone(),
            index,
            author: "bob".into(),
            body: Some(format!("m{index}")),
            attributes: "{}".into(),
            participant_sid: None,
            date_created: 1,
            date_updated: 1,
            media: None,
        };
        self.commit(&sid, EventBody::MessageAdded(m), None);
    }

    /// Drops conversation `n`'s log rows below `seq` (retention).
    pub fn prune(&mut self, n: u8, seq: i64) {
        if let Some(log) = self.logs.get_mut(&conversation(n)) {
            log.kept_from = log.kept_from.max(seq);
        }
    }

    pub fn head(&self, sid: &Sid) -> i64 {
        self.logs.get(sid).map_or(0, |l| l.rows.len() as i64)
    }

    pub fn user_head(&self) -> i64 {
        self.user_log.len() as i64
    }

    /// Conversations alice is in now.
    pub fn alices(&self) -> Vec<Sid> {
        self.logs
            .iter()
            .filter(|(_, l)| l.members.contains(ALICE))
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn user_stream(&self) -> Stream {
        Stream::User {
            service: service(),
            identity: ALICE.into(),
        }
    }

    /// The hub: each event to every session subscribed to its stream; a full queue is
    /// forgiven while replaying, else closes the session.
    fn publish(&mut self, events: Vec<(Stream, i64, Arc<[u8]>)>) {
        if self.lose_publishes > 0 {
            self.lose_publishes -= 1;
            return;
        }
        let capacity = self.queue_capacity;
        for (stream, seq, frame) in events {
            let text: Text = std::str::from_utf8(&frame).unwrap().into();
            let live = Arc::new(Live {
                participant_left: is_participant_left(&frame),
                stream,
                seq,
                frame,
                text,
            });
            for slot in self.slots.values_mut() {
                if !slot.subs.contains(&live.stream) || slot.killed.is_some() {
                    continue;
                }
                if slot.queue.len() >= capacity {
                    if slot.lag.forgive() {
                        self.forgiven += 1;
                    } else {
                        slot.killed = Some(Ending::close(CloseReason::SlowConsumer, "full"));
                    }
                    continue;
                }
                slot.queue.push_back(Item::Event(live.clone()));
            }
        }
    }

    /// What the server's check against the log does for publishes lost between nodes: the
    /// newest entry of every stream a session follows goes to it again (its gap check reads
    /// whatever it missed before).
    pub fn reconcile(&mut self) {
        let capacity = self.queue_capacity;
        let heads: Vec<(usize, Stream, Row<Text>)> = self
            .slots
            .iter()
            .flat_map(|(id, slot)| slot.subs.iter().map(move |s| (*id, s.clone())))
            .filter_map(|(id, stream)| {
                let head = match &stream {
                    Stream::Conversation(sid) => self.head(sid),
                    Stream::User { .. } => self.user_head(),
                };
                let row = self.read_log(&stream, head - 1, 1).pop()?;
                Some((id, stream, row))
            })
            .collect();
        for (id, stream, row) in heads {
            if let Some(slot) = self.slots.get_mut(&id)
                && slot.queue.len() < capacity
            {
                slot.queue.push_back(Item::Event(Arc::new(Live {
                    participant_left: is_participant_left(&row.frame),
                    stream,
                    seq: row.seq,
                    frame: row.frame,
                    text: row.text,
                })));
            }
        }
    }

    fn read_log(&self, stream: &Stream, after: i64, limit: u32) -> Vec<Row<Text>> {
        let (rows, kept_from) = match stream {
            Stream::Conversation(sid) => match self.logs.get(sid) {
                Some(l) => (&l.rows, l.kept_from),
                None => return vec![],
            },
            Stream::User { .. } => (&self.user_log, 0),
        };
        rows.iter()
            .enumerate()
            .map(|(i, f)| (i as i64 + 1, f))
            .filter(|(seq, _)| *seq > after && *seq >= kept_from)
            .take(limit as usize)
            .map(|(seq, frame)| Row {
                seq,
                text: std::str::from_utf8(frame).unwrap().into(),
                frame: frame.clone(),
            })
            .collect()
    }

    fn memberships(&self) -> Memberships {
        Memberships {
            user_seq: self.user_head(),
            conversations: self
                .alices()
                .into_iter()
                .map(|s| {
                    let h = self.head(&s);
                    (s, h)
                })
                .collect(),
        }
    }

    // ---- the link ----

    /// The connection dies and both sides are told.
    pub fn cut(&mut self) {
        if let Some(mut end) = self.server.take() {
            end.s.handle_read(Read::Gone, self.now);
            self.server_outputs(&mut end);
        }
        self.client.handle_closed(self.now, None);
        self.link = Link::Up;
    }

    /// Ends the server session as the hub or the server would.
    pub fn kill(&mut self, ending: Ending) {
        if let Some(end) = &self.server
            && let Some(slot) = self.slots.get_mut(&end.id)
        {
            slot.killed = Some(ending);
        }
    }

    // ---- pumping ----

    /// Drives both sides until neither has anything to do now.
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            if !self.pump_once() {
                return;
            }
        }
        panic!("the pair never went idle");
    }

    /// Moves the clock to the next wake-up (up to `until`) and settles; false once past it.
    pub fn step(&mut self, until: u64) -> bool {
        self.settle();
        let next = [self.client.poll_timeout()]
            .into_iter()
            .chain(
                self.server
                    .iter()
                    .chain(&self.orphans)
                    .map(|e| e.s.poll_timeout()),
            )
            .flatten()
            .min();
        let (at, more) = match next {
            Some(t) if t <= until => (t, true),
            _ => (until, false),
        };
        self.now = self.now.max(at);
        self.client.handle_timeout(self.now);
        for end in self.server.iter_mut().chain(self.orphans.iter_mut()) {
            end.s.handle_timeout(self.now);
        }
        self.settle();
        more
    }

    /// Runs the clock `ms` forward, waking at every timer.
    pub fn run(&mut self, ms: u64) {
        let until = self.now + ms;
        while self.step(until) {}
    }

    /// One round of both sides' work; whether anything happened.
    fn pump_once(&mut self) -> bool {
        let mut busy = false;
        while let Some(t) = self.client.poll_transmit() {
            busy = true;
            match t {
                ClientTransmit::Connect => {
                    self.connects += 1;
                    if let Some(mut old) = self.server.take() {
                        old.attached = false;
                        self.orphans.push(old);
                    }
                    let slot = Slot::default();
                    let id = self.connects;
                    self.server = Some(ServerEnd {
                        id,
                        s: Session::new(self.config.clone(), slot.lag.clone(), self.now),
                        idle_told: false,
                        written: vec![],
                        attached: true,
                    });
                    self.slots.insert(id, slot);
                    self.link = Link::Up;
                    self.client.handle_connected(self.now);
                }
                ClientTransmit::Send(text) => {
                    if self.link == Link::Up
                        && let Some(end) = self.server.as_mut()
                        && end.s.wants_frames()
                    {
                        end.s.handle_read(Read::Text(text), self.now);
                    }
                }
                ClientTransmit::Close => {
                    if let Some(mut end) = self.server.take() {
                        end.attached = false;
                        if self.link == Link::Up {
                            end.s.handle_read(Read::Closed, self.now);
                        }
                        self.orphans.push(end);
                    }
                }
            }
        }
        while let Some(o) = self.client.poll_output() {
            busy = true;
            if let Output::Event(e) = &o {
                self.record(e);
            }
            self.outputs.push(o);
        }
        if let Some(mut end) = self.server.take() {
            busy |= self.server_turn(&mut end);
            if end.s.phase() != Phase::Ended {
                self.server = Some(end);
            }
        }
        let mut orphans = std::mem::take(&mut self.orphans);
        for end in &mut orphans {
            busy |= self.server_turn(end);
        }
        orphans.retain(|e| e.s.phase() != Phase::Ended);
        self.orphans.extend(orphans);
        let live: HashSet<usize> = self
            .server
            .iter()
            .chain(&self.orphans)
            .map(|e| e.id)
            .collect();
        self.slots.retain(|id, _| live.contains(id));
        busy
    }

    fn record(&mut self, e: &EventFrame) {
        let Some(seq) = e.seq else {
            if let EventBody::ConversationReset(r) = &e.body {
                self.got
                    .entry(e.stream.clone())
                    .or_default()
                    .push((r.seq, "reset".into()));
            }
            return;
        };
        if let EventBody::ConversationLeft(m) = &e.body {
            self.leaves
                .insert((m.conversation_sid.to_string(), m.conversation_seq));
        }
        let kind = match &e.body {
            EventBody::ParticipantLeft(p) if p.identity.as_deref() == Some(ALICE) => "left-me",
            body => body.type_name(),
        };
        self.got
            .entry(e.stream.clone())
            .or_default()
            .push((seq, kind.into()));
    }

    /// The server session's actions, queue and writes; whether anything happened.
    fn server_turn(&mut self, end: &mut ServerEnd) -> bool {
        let mut heard = false;
        if let Some(ending) = self.slots.get_mut(&end.id).and_then(|s| s.killed.take()) {
            end.s.handle_kill(ending);
            heard = true;
        }
        heard |= self.server_outputs(end);
        let mut told = false;
        match end.s.want_items() {
            Want::Next | Want::Drain => {
                let item = self
                    .slots
                    .get_mut(&end.id)
                    .and_then(|s| s.queue.pop_front());
                if let Some(item) = item {
                    end.s.handle_item(item, self.now);
                    heard = true;
                } else if !end.idle_told || end.s.want_items() == Want::Drain {
                    // As the server's driver does: once the queue is found empty after the
                    // session heard anything, it is told.
                    end.idle_told = true;
                    end.s.handle_queue_empty(self.now);
                    told = true;
                }
            }
            Want::Nothing => {}
        }
        let wrote = self.server_outputs(end);
        if heard {
            end.idle_told = false;
        }
        heard || wrote || (told && end.s.want_items() != Want::Next)
    }

    /// Carries out the session's actions and writes: frames reach the client only when
    /// flushed (or with the ending, which flushes).
    fn server_outputs(&mut self, end: &mut ServerEnd) -> bool {
        let mut busy = false;
        while let Some(a) = end.s.poll_action() {
            busy = true;
            self.act(end, a);
        }
        let heard = end.attached && self.link == Link::Up;
        while let Some(t) = end.s.poll_transmit() {
            busy = true;
            match t {
                Transmit::Text(text) => end.written.push(text.into()),
                Transmit::Shared(text) => end.written.push(text),
                Transmit::Flush => {
                    for text in std::mem::take(&mut end.written) {
                        if heard {
                            self.tell_client(&text);
                        }
                    }
                }
                Transmit::End(ending) => {
                    for text in std::mem::take(&mut end.written) {
                        if heard {
                            self.tell_client(&text);
                        }
                    }
                    if let Ending::Close {
                        reason,
                        code,
                        message,
                    } = &ending
                    {
                        let close = ServerFrame::Close {
                            code: *code,
                            reason: *reason,
                            message: message.clone(),
                        };
                        if heard {
                            self.tell_client(&close.encode());
                        }
                    }
                    self.endings.push(ending.clone());
                    // The socket closes; a client that took a `close` frame has let it go.
                    if heard {
                        let code = match ending {
                            Ending::Close { reason, .. } => Some(reason.ws_code()),
                            _ => None,
                        };
                        self.client.handle_closed(self.now, code);
                    }
                }
            }
        }
        busy
    }

    fn tell_client(&mut self, text: &str) {
        self.client.handle_frame(text, self.now);
    }

    fn act(&mut self, end: &mut ServerEnd, action: Action) {
        match action {
            Action::Authenticate { token, .. } => {
                let claims = decode_unverified(&token).unwrap().claims;
                let exp_ms = (claims.exp * 1000) as u64;
                if exp_ms + SKEW_MS <= self.now {
                    end.s
                        .handle_refused(CloseReason::Denied, 20104, "expired".into());
                    return;
                }
                end.s.handle_authenticated(Authenticated {
                    identity: claims.grants.identity.unwrap(),
                    service: service(),
                    token_expires_at: exp_ms as i64,
                    token_deadline: exp_ms + SKEW_MS,
                });
            }
            Action::Subscribe(s) => {
                if let Some(slot) = self.slots.get_mut(&end.id) {
                    slot.subs.insert(s);
                }
            }
            Action::Unsubscribe(s) => {
                if let Some(slot) = self.slots.get_mut(&end.id) {
                    slot.subs.remove(&s);
                }
            }
            Action::ReadMemberships => {
                end.s
                    .handle_memberships(self.memberships(), self.now as i64, self.now)
            }
            Action::ReadLog(r) => {
                if let Some((n, count, reads)) = self.chatter_on_read {
                    for _ in 0..count {
                        self.message(n);
                    }
                    self.chatter_on_read = (reads > 1).then_some((n, count, reads - 1));
                }
                let rows = self.read_log(&r.stream, r.after, r.limit);
                end.s.handle_log(rows);
            }
            Action::Run { id, request, .. } => {
                self.ran.push(request.name());
                let result = match request {
                    Request::ConversationsList(_) => {
                        r#"{"items":[],"next_page_token":null,"previous_page_token":null}"#
                    }
                    _ => "{}",
                };
                if let Some(slot) = self.slots.get_mut(&end.id) {
                    slot.queue
                        .push_back(Item::Answer(result_answer(id, result)));
                }
            }
            Action::Renew { id, token } => {
                let claims = decode_unverified(&token).unwrap().claims;
                let exp_ms = (claims.exp * 1000) as u64;
                end.s.handle_renewed(
                    id,
                    Ok(Renewed {
                        token_expires_at: exp_ms as i64,
                        token_deadline: exp_ms + SKEW_MS,
                    }),
                    self.now,
                );
            }
            Action::Opened | Action::Heard(..) | Action::Finished(_) => {}
        }
    }

    // ---- checks ----

    /// The app got every event of each conversation alice is in, from where its record of
    /// that conversation starts, once and in order, up to the log's head; only a reset, or
    /// alice's leaving and joining again, may skip. And its user stream from 1 to the head,
    /// once and in order.
    pub fn check_complete(&self) {
        for (stream, got) in &self.got {
            let mut last: Option<i64> = None;
            let mut may_skip = false;
            for (seq, kind) in got {
                if kind == "reset" {
                    last = Some(*seq);
                    // A reset to where alice left: what came before the leave is gone, and
                    // her next membership starts after a skip.
                    may_skip = self.leaves.contains(&(stream.clone(), *seq));
                    continue;
                }
                match last {
                    Some(l) if may_skip => assert!(*seq > l, "{stream}: {seq} after {l}: {got:?}"),
                    Some(l) => assert_eq!(*seq, l + 1, "{stream}: {seq} after {l}: {got:?}"),
                    None => {}
                }
                last = Some(*seq);
                may_skip = kind == "left-me";
            }
        }
        let user: Vec<i64> = self
            .got
            .get(USER_STREAM)
            .map(|g| g.iter().map(|(s, _)| *s).collect())
            .unwrap_or_default();
        let want: Vec<i64> = (1..=self.user_head()).collect();
        assert_eq!(user, want, "user stream");
        for sid in self.alices() {
            let got = self.got.get(sid.as_str());
            // Followed from alice's joining: nothing may have come since.
            let last = got
                .and_then(|g| g.last())
                .map(|(s, _)| *s)
                .max(self.joined_at.get(&sid).copied());
            assert_eq!(
                last,
                Some(self.head(&sid)),
                "{sid} not up to its head: {got:?}"
            );
        }
    }

    /// The client is connected and every event delivered.
    pub fn quiet_and_connected(&mut self) {
        self.run(1_000);
        assert_eq!(
            self.client.connection_state(),
            confab_client_core::ConnectionState::Connected
        );
    }
}
