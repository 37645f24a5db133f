//! A driver for tests: the session, a simulated clock, and helpers that play the server's
//! part frame by frame.

use confab_client_core::{Config, ConnectionState, Output, Session, Transmit};
use confab_protocol::frame::{ClientFrame, CloseReason, Resumed, ServerFrame, Welcome};
use confab_protocol::token::b64_encode;
use serde_json::{Value, json};

/// A token shaped like the real thing (the core never checks signatures).
pub fn token(identity: &str, exp_secs: i64) -> String {
    let h = b64_encode(br#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#);
    let claims = json!({
        "iss": "SK00", "sub": "AC00", "exp": exp_secs, "nbf": exp_secs - 3600,
        "grants": {"identity": identity, "chat": {}},
    });
    let p = b64_encode(claims.to_string().as_bytes());
    format!("{h}.{p}.c2ln")
}

pub const HOUR: u64 = 3_600_000;

pub struct Sim {
    pub s: Session,
    pub now: u64,
    pub outputs: Vec<Output>,
    pub sent: Vec<ClientFrame>,
    pub connects: usize,
    pub closes: usize,
}

impl Sim {
    /// A session started at `now` (ms) with a token expiring `ttl` ms later.
    pub fn start(config: Config, now: u64, ttl: u64) -> Sim {
        let t = token("alice", ((now + ttl) / 1000) as i64);
        let mut sim = Sim {
            s: Session::new(t, config, 42, now),
            now,
            outputs: vec![],
            sent: vec![],
            connects: 0,
            closes: 0,
        };
        sim.s.handle_timeout(now);
        sim.drain();
        sim
    }

    /// Collects transmits and outputs.
    pub fn drain(&mut self) {
        while let Some(t) = self.s.poll_transmit() {
            match t {
                Transmit::Connect => self.connects += 1,
                Transmit::Send(text) => self.sent.push(serde_json::from_str(&text).unwrap()),
                Transmit::Close => self.closes += 1,
            }
        }
        while let Some(o) = self.s.poll_output() {
            self.outputs.push(o);
        }
    }

    /// Moves the clock to the next wake-up (if before `limit`) and runs it.
    pub fn step(&mut self, limit: u64) -> bool {
        match self.s.poll_timeout() {
            Some(t) if t <= limit => {
                assert!(
                    t >= self.now || t + 1 >= self.now,
                    "a wake-up in the past: {t} < {}",
                    self.now
                );
                self.now = self.now.max(t);
                self.s.handle_timeout(self.now);
                self.drain();
                true
            }
            _ => {
                self.now = self.now.max(limit);
                self.s.handle_timeout(self.now);
                self.drain();
                false
            }
        }
    }

    /// Runs the clock forward to `until`, waking at every timer.
    pub fn run_until(&mut self, until: u64) {
        while self.step(until) {}
    }

    pub fn connected(&mut self) {
        self.s.handle_connected(self.now);
        self.drain();
    }

    pub fn frame(&mut self, f: &ServerFrame) {
        self.s.handle_frame(&f.encode(), self.now);
        self.drain();
    }

    pub fn raw(&mut self, text: &str) {
        self.s.handle_frame(text, self.now);
        self.drain();
    }

    pub fn closed(&mut self) {
        self.closed_with_code(None);
    }

    /// The socket ended with WebSocket close code `code` (its `close` frame missed).
    pub fn closed_with_code(&mut self, code: Option<u16>) {
        self.s.handle_closed(self.now, code);
        self.drain();
    }

    /// Welcome with `resumed`, server clock `offset` ms ahead of the device.
    pub fn welcome_with(&mut self, resumed: Resumed, offset: i64, token_exp_ms: i64) {
        self.frame(&ServerFrame::Welcome(Welcome {
            identity: "alice".into(),
            service_sid: "IS00".into(),
            server_time: self.now as i64 + offset,
            token_expires_at: token_exp_ms,
            heartbeat_ms: 15_000,
            heartbeat_grace_ms: 5_000,
            resumed,
            media: None,
        }));
    }

    /// Opens the socket, takes `hello`, answers `welcome` and the first page.
    pub fn go_online(&mut self, resumed: Resumed) {
        self.connected();
        assert!(
            matches!(self.sent.last(), Some(ClientFrame::Hello { .. })),
            "{:?}",
            self.sent
        );
        let exp = self.token_exp();
        self.welcome_with(resumed, 0, exp);
        self.answer_first_page(json!([]));
    }

    /// The `exp` of the session's token, in ms.
    pub fn token_exp(&self) -> i64 {
        let t = confab_protocol::token::decode_unverified(self.s.token()).unwrap();
        t.claims.exp * 1000
    }

    /// Answers a pending `conversations.list` if one was sent.
    pub fn answer_first_page(&mut self, items: Value) {
        self.answer_page(items, None);
    }

    /// Answers the latest `conversations.list` sent with `items` and `next` as the next
    /// page's token; returns the `pageToken` that request carried.
    pub fn answer_page(&mut self, items: Value, next: Option<&str>) -> Option<String> {
        let found = self.sent.iter().rev().find_map(|f| match f {
            ClientFrame::Req {
                id, method, params, ..
            } if method == "conversations.list" => {
                Some((*id, params["pageToken"].as_str().map(str::to_owned)))
            }
            _ => None,
        });
        let (id, token) = found?;
        self.frame(&ServerFrame::Res {
            id,
            result: Some(
                json!({"items": items, "next_page_token": next, "previous_page_token": null}),
            ),
            error: None,
        });
        token
    }

    /// `conversations.list` requests sent so far.
    pub fn pages_asked(&self) -> usize {
        self.sent
            .iter()
            .filter(
                |f| matches!(f, ClientFrame::Req { method, .. } if method == "conversations.list"),
            )
            .count()
    }

    pub fn close_with(&mut self, reason: CloseReason, code: u32) {
        self.frame(&ServerFrame::Close {
            code,
            reason,
            message: "test".into(),
        });
    }

    pub fn states(&self) -> Vec<ConnectionState> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::ConnectionStateChanged(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    pub fn last_hello_resume(&self) -> Option<confab_protocol::frame::Resume> {
        self.sent.iter().rev().find_map(|f| match f {
            ClientFrame::Hello { resume, .. } => Some(resume.clone()),
            _ => None,
        })?
    }
}

/// A `messageAdded` event frame's text for conversation `sid` at `seq`.
pub fn message_event(sid: &str, seq: i64, index: i64) -> String {
    json!({
        "op": "event", "stream": sid, "seq": seq, "type": "messageAdded",
        "data": {
            "sid": format!("IM{:032x}", seq), "conversation_sid": sid, "index": index,
            "author": "bob", "body": format!("m{index}"), "attributes": "{}",
            "participant_sid": null, "date_created": 1, "date_updated": 1,
        }
    })
    .to_string()
}

pub fn conv_sid(n: u8) -> String {
    format!("CH{:032x}", n)
}

pub fn resumed(user_seq: i64, convs: &[(&str, i64)]) -> Resumed {
    Resumed {
        user_seq,
        conversations: convs.iter().map(|(s, q)| (s.to_string(), *q)).collect(),
    }
}
