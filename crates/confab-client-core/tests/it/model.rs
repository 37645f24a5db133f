//! The core against a simple model under random sequences of inputs: transitions stay within
//! the documented ones, every stream's events reach the app in increasing `seq` with no
//! repeat, every request is answered once, a stopped client never connects by itself, and no
//! timer is ever left in the past.

use std::collections::{BTreeMap, BTreeSet};

use confab_client_core::{ClientState, Config, ConnectionState as C, Output, Session, Transmit};
use confab_protocol::frame::{ClientFrame, CloseReason, Resumed, ServerFrame, Welcome};
use proptest::prelude::*;

use crate::harness::{conv_sid, message_event, token};

#[derive(Debug, Clone)]
enum Input {
    Advance(u64),
    Open,
    Fail,
    Welcome,
    /// An event on conversation `n`: the next one (`back` 0), or a repeat of the head
    /// (`back` 1) or of one before it.
    Event {
        n: u8,
        back: u8,
    },
    Close(u8),
    Request(bool),
    Renew,
    Reconnect,
    Shutdown,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (0u64..40_000).prop_map(Input::Advance),
        3 => Just(Input::Open),
        2 => Just(Input::Fail),
        3 => Just(Input::Welcome),
        5 => (0u8..3, 0u8..3).prop_map(|(n, back)| Input::Event { n, back }),
        1 => (0u8..5).prop_map(Input::Close),
        2 => any::<bool>().prop_map(Input::Request),
        1 => Just(Input::Renew),
        1 => Just(Input::Reconnect),
        1 => Just(Input::Shutdown),
    ]
}

fn allowed(from: C, to: C) -> bool {
    use C::*;
    matches!(
        (from, to),
        (
            Connecting,
            Connected | Disconnected | Denied | Disconnecting
        ) | (
            Connected,
            Connecting | Disconnected | Disconnecting | Denied
        ) | (Disconnecting, Disconnected)
            | (Disconnected | Denied, Connecting | Disconnecting)
    )
}

struct World {
    s: Session,
    now: u64,
    /// The simulated server's log heads.
    heads: BTreeMap<String, i64>,
    socket: Socket,
    state: C,
    client: Option<ClientState>,
    delivered: BTreeMap<String, i64>,
    asked: BTreeSet<u64>,
    answered: BTreeSet<u64>,
    sent_reqs: BTreeMap<u64, String>,
    /// Stopped (denied, disconnected): no Connect allowed until the app acts.
    stopped: bool,
    last_hello: Option<Option<confab_protocol::frame::Resume>>,
    welcomed: bool,
    shut: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Socket {
    None,
    Opening,
    Open,
}

impl World {
    fn pump(&mut self) {
        while let Some(t) = self.s.poll_transmit() {
            match t {
                Transmit::Connect => {
                    assert!(!self.stopped, "connected by itself while stopped");
                    self.socket = Socket::Opening;
                    self.welcomed = false;
                }
                Transmit::Close => {
                    self.socket = Socket::None;
                    self.welcomed = false;
                }
                Transmit::Send(text) => match serde_json::from_str::<ClientFrame>(&text).unwrap() {
                    ClientFrame::Hello { resume, .. } => self.last_hello = Some(resume),
                    ClientFrame::Req { id, method, .. } => {
                        self.sent_reqs.insert(id, method);
                    }
                    ClientFrame::Ping { .. } => {}
                },
            }
        }
        while let Some(o) = self.s.poll_output() {
            match o {
                Output::ConnectionStateChanged(to) => {
                    assert!(allowed(self.state, to), "{:?} -> {to:?}", self.state);
                    self.state = to;
                    if matches!(to, C::Denied | C::Disconnected) {
                        self.stopped = true;
                    }
                }
                Output::StateChanged(st) => {
                    assert!(
                        !(self.client == Some(ClientState::Initialized)
                            && st == ClientState::Failed),
                        "initialized, then failed"
                    );
                    self.client = Some(st);
                }
                Output::Event(e) => {
                    if let Some(seq) = e.seq {
                        let last = self.delivered.entry(e.stream.clone()).or_insert(0);
                        assert!(seq > *last, "{} delivered {seq} after {last}", e.stream);
                        *last = seq;
                    }
                }
                Output::Response { id, .. } => {
                    assert!(self.answered.insert(id), "request {id} answered twice");
                }
                _ => {}
            }
        }
        assert_eq!(self.s.connection_state(), self.state);
    }

    fn apply(&mut self, i: Input) {
        match i {
            Input::Advance(ms) => {
                let until = self.now + ms;
                while let Some(t) = self.s.poll_timeout().filter(|t| *t <= until) {
                    self.now = t;
                    self.s.handle_timeout(t);
                    self.pump();
                    if let Some(next) = self.s.poll_timeout() {
                        assert!(next > t, "a timer left in the past: {next} <= {t}");
                    }
                }
                self.now = until;
            }
            Input::Open if self.socket == Socket::Opening => {
                self.socket = Socket::Open;
                self.s.handle_connected(self.now);
            }
            Input::Fail if self.socket != Socket::None => {
                self.socket = Socket::None;
                self.welcomed = false;
                self.s.handle_closed(self.now, None);
            }
            Input::Welcome if self.socket == Socket::Open && self.last_hello.is_some() => {
                // The server resumes from the client's cursors, capped at its heads.
                let resume = self.last_hello.take().flatten();
                let mut resumed = Resumed::default();
                for (sid, head) in &self.heads {
                    let c = resume
                        .as_ref()
                        .and_then(|r| r.conversations.get(sid).copied())
                        .unwrap_or(*head);
                    resumed.conversations.insert(sid.clone(), c.min(*head));
                }
                let w = ServerFrame::Welcome(Welcome {
                    identity: "alice".into(),
                    service_sid: "IS0".into(),
                    server_time: self.now as i64,
                    token_expires_at: (self.now + 3_600_000) as i64,
                    heartbeat_ms: 15_000,
                    heartbeat_grace_ms: 5_000,
                    resumed,
                    media: None,
                });
                self.s.handle_frame(&w.encode(), self.now);
                self.welcomed = true;
            }
            Input::Event { n, back } if self.socket == Socket::Open && self.welcomed => {
                let sid = conv_sid(n);
                let head = self.heads.entry(sid.clone()).or_insert(0);
                let seq = if back == 0 {
                    *head += 1;
                    *head
                } else if *head >= i64::from(back) {
                    // A repeat of the head (back 1) or of an older event.
                    *head - i64::from(back) + 1
                } else {
                    return self.pump();
                };
                self.s
                    .handle_frame(&message_event(&sid, seq, seq - 1), self.now);
            }
            Input::Close(r) if self.socket == Socket::Open => {
                let reason = [
                    CloseReason::Denied,
                    CloseReason::TokenExpired,
                    CloseReason::SlowConsumer,
                    CloseReason::ShuttingDown,
                    CloseReason::ProtocolError,
                ][usize::from(r)];
                let f = ServerFrame::Close {
                    code: reason.code().code(),
                    reason,
                    message: String::new(),
                };
                self.s.handle_frame(&f.encode(), self.now);
            }
            Input::Request(mutation) => {
                let method = if mutation {
                    "message.send"
                } else {
                    "message.list"
                };
                let id = self.s.request(method, serde_json::json!({}), self.now);
                self.asked.insert(id);
            }
            Input::Renew => {
                let exp = (self.now / 1000) as i64 + 7200;
                if let Ok(None) = self.s.update_token(token("alice", exp), self.now)
                    && !self.shut
                {
                    self.stopped = false;
                }
            }
            Input::Reconnect => {
                self.s.reconnect(self.now);
                if self.state == C::Disconnected && !self.shut {
                    self.stopped = false;
                }
            }
            Input::Shutdown => {
                self.shut = true;
                self.s.shutdown();
            }
            _ => {}
        }
        self.pump();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn the_core_keeps_its_promises_under_any_inputs(inputs in prop::collection::vec(input(), 1..120)) {
        let now = 1_000_000;
        let mut w = World {
            s: Session::new(token("alice", 4_000), Config::default(), 9, now),
            now,
            heads: BTreeMap::new(),
            socket: Socket::None,
            state: C::Connecting,
            client: None,
            delivered: BTreeMap::new(),
            asked: BTreeSet::new(),
            answered: BTreeSet::new(),
            sent_reqs: BTreeMap::new(),
            stopped: false,
            last_hello: None,
            welcomed: false,
            shut: false,
        };
        // The first output repeats the starting state; take it as the start.
        w.state = C::Disconnected;
        w.s.handle_timeout(now);
        w.pump();
        for i in inputs {
            w.apply(i);
        }
        // Shutting down answers everything still pending.
        w.s.shutdown();
        w.pump();
        for id in &w.asked {
            prop_assert!(w.answered.contains(id), "request {} never answered", id);
        }
    }
}
