//! The client core under any sequence of inputs, frames from the server included: well-formed
//! ones with any values (cursors, seqs, ids, close reasons), cut ones, and any bytes at all.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use confab_client_core::{ClientState, Config, ConnectionState as C, Output, Session, Transmit};
use confab_protocol::frame::{ClientFrame, CloseReason};
use confab_protocol::token::b64_encode;
use serde_json::json;

/// Reads the fuzzer's bytes as a sequence of small choices; past the end every read is 0.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn take(&mut self, n: usize) -> String {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// A token shaped like the real thing, expiring at `exp` (the core never checks signatures).
/// Written by hand rather than through `serde_json::Value`: a session makes many, and under
/// the fuzzer's instrumentation the generic encoder cost a tenth of every run.
fn token(exp: i64) -> String {
    static HEADER: LazyLock<String> =
        LazyLock::new(|| b64_encode(br#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#));
    let claims = format!(
        r#"{{"iss":"SK00","sub":"AC00","exp":{exp},"nbf":{},"grants":{{"identity":"alice","chat":{{}}}}}}"#,
        exp.saturating_sub(3600)
    );
    format!("{}.{}.c2ln", *HEADER, b64_encode(claims.as_bytes()))
}

fn stream(b: u8) -> String {
    match b % 4 {
        0 => "user".into(),
        n => format!("CH{:032x}", n),
    }
}

/// A server frame chosen and filled in by the bytes. The server's word on cursors is the
/// truth the core follows (a `welcome`'s `resumed`, a `conversationJoined`'s
/// `conversation_seq`), so those never go back behind what `delivered` holds; everything
/// else, event `seq`s above all, takes any value.
///
/// The frames are written with `format!`: every value is a number or one of a few fixed
/// strings, and `serde_json::Value` cost a tenth of each run under the fuzzer.
fn server_frame(b: &mut Bytes<'_>, now: u64, delivered: &BTreeMap<String, i64>) -> String {
    let at = |s: &str| delivered.get(s).copied().unwrap_or(0);
    let now = now as i64;
    let text = match b.byte() % 6 {
        0 => {
            let convs: Vec<String> = (1..4u8)
                .map(|n| {
                    let s = stream(n);
                    format!(r#""{s}":{}"#, at(&s) + i64::from(b.byte() % 3))
                })
                .collect();
            let server_time = now + i64::from(b.u16()) - 30_000;
            let expires = now + i64::from(b.u16()) * 100;
            let (heartbeat, grace) = (b.u16(), b.u16());
            let user_seq = at("user") + i64::from(b.byte() % 3);
            format!(
                r#"{{"op":"welcome","identity":"alice","service_sid":"IS0","server_time":{server_time},"token_expires_at":{expires},"heartbeat_ms":{heartbeat},"heartbeat_grace_ms":{grace},"resumed":{{"user_seq":{user_seq},"conversations":{{{}}}}}}}"#,
                convs.join(",")
            )
        }
        1 => {
            let s = stream(b.byte());
            let seq = i64::from(b.byte()) - 2;
            let (ty, data) = if s == "user" {
                let joined_at = at(&stream(1)) + i64::from(b.byte() % 3);
                (
                    "conversationJoined",
                    format!(
                        r#"{{"identity":"alice","conversation_sid":"{}","conversation_seq":{joined_at}}}"#,
                        stream(1)
                    ),
                )
            } else {
                (
                    "messageAdded",
                    format!(
                        r#"{{"sid":"IM{:032x}","conversation_sid":"{s}","index":{seq},"author":"bob","body":"m","attributes":"{{}}","participant_sid":null,"date_created":1,"date_updated":1}}"#,
                        b.byte()
                    ),
                )
            };
            let seq = if b.byte().is_multiple_of(8) {
                String::new()
            } else {
                format!(r#","seq":{seq}"#)
            };
            format!(r#"{{"op":"event","stream":"{s}","type":"{ty}","data":{data}{seq}}}"#)
        }
        2 => {
            let id = u64::from(b.byte());
            if b.byte().is_multiple_of(2) {
                format!(r#"{{"op":"res","id":{id},"result":{{"ok":true}}}}"#)
            } else {
                let code = 20500 + u32::from(b.byte());
                format!(
                    r#"{{"op":"res","id":{id},"error":{{"code":{code},"status":500,"message":"x"}}}}"#
                )
            }
        }
        3 => {
            let reasons = [
                "denied",
                "token_expired",
                "slow_consumer",
                "shutting_down",
                "protocol_error",
                "too_many_sessions",
                "unknown_reason",
            ];
            let reason = reasons[usize::from(b.byte()) % reasons.len()];
            let code = 20000 + u32::from(b.u16() % 200);
            format!(r#"{{"op":"close","code":{code},"reason":"{reason}","message":"x"}}"#)
        }
        4 => format!(r#"{{"op":"pong","t":{}}}"#, b.u16()),
        _ => {
            let n = usize::from(b.byte());
            return b.take(n);
        }
    };
    // The corpus replay (a debug build) checks the hand-written frames are JSON.
    debug_assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_ok(),
        "{text}"
    );
    text
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Socket {
    None,
    Opening,
    Open,
}

struct World {
    s: Session,
    now: u64,
    socket: Socket,
    state: C,
    client: Option<ClientState>,
    delivered: BTreeMap<String, i64>,
    asked: BTreeSet<u64>,
    answered: BTreeSet<u64>,
    stopped: bool,
    shut: bool,
}

impl World {
    fn pump(&mut self) {
        while let Some(t) = self.s.poll_transmit() {
            match t {
                Transmit::Connect => {
                    assert!(!self.stopped, "connected by itself while stopped");
                    assert!(!self.shut, "connected after shutdown");
                    assert!(
                        self.socket == Socket::None,
                        "a second socket while one is open"
                    );
                    self.socket = Socket::Opening;
                }
                Transmit::Close => self.socket = Socket::None,
                Transmit::Send(text) => {
                    assert!(
                        self.socket == Socket::Open,
                        "sent on no open socket: {text}"
                    );
                    if let Err(e) = serde_json::from_str::<ClientFrame>(&text) {
                        panic!("sent a frame that does not decode ({e}): {text}");
                    }
                }
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
                    assert!(self.asked.contains(&id), "an answer to {id}, never asked");
                    assert!(self.answered.insert(id), "request {id} answered twice");
                }
                _ => {}
            }
        }
        assert_eq!(self.s.connection_state(), self.state);
    }

    fn step(&mut self, b: &mut Bytes<'_>) {
        match b.byte() % 12 {
            0 => {
                let until = self.now + u64::from(b.u16()) * 10;
                while let Some(t) = self.s.poll_timeout().filter(|t| *t <= until) {
                    self.now = self.now.max(t);
                    self.s.handle_timeout(self.now);
                    self.pump();
                    if let Some(next) = self.s.poll_timeout() {
                        assert!(
                            next > self.now,
                            "a timer left in the past: {next} <= {}",
                            self.now
                        );
                    }
                }
                self.now = until;
            }
            1 if self.socket == Socket::Opening => {
                self.socket = Socket::Open;
                self.s.handle_connected(self.now);
            }
            2 if self.socket != Socket::None => {
                self.socket = Socket::None;
                let code = match b.byte() % 4 {
                    0 => None,
                    1 => Some(CloseReason::Denied.ws_code()),
                    2 => Some(1006),
                    _ => Some(b.u16()),
                };
                self.s.handle_closed(self.now, code);
            }
            3..=6 if self.socket == Socket::Open => {
                let text = server_frame(b, self.now, &self.delivered);
                self.s.handle_frame(&text, self.now);
            }
            7 if self.socket == Socket::Open => {
                let text = server_frame(b, self.now, &self.delivered);
                let cut = usize::from(b.u16()) % (text.len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(0);
                self.s.handle_frame(&text[..cut], self.now);
            }
            8 => {
                let method = ["message.send", "message.list", "conversation.get", "typing"]
                    [usize::from(b.byte()) % 4];
                if method == "typing" {
                    self.s.typing(&stream(1), self.now);
                } else {
                    let id = self.s.request(method, json!({}), self.now);
                    self.asked.insert(id);
                }
            }
            9 => {
                let t = if b.byte().is_multiple_of(4) {
                    let n = usize::from(b.byte() % 64);
                    b.take(n)
                } else {
                    token((self.now / 1000) as i64 + i64::from(b.u16()) - 600)
                };
                match self.s.update_token(t, self.now) {
                    Ok(Some(id)) => {
                        self.asked.insert(id);
                    }
                    Ok(None) if !self.shut => self.stopped = false,
                    _ => {}
                }
            }
            10 => {
                if b.byte().is_multiple_of(2) {
                    self.s.reconnect(self.now);
                } else {
                    self.s.network_online(self.now);
                }
                if !self.shut && matches!(self.state, C::Disconnected | C::Denied) {
                    self.stopped = false;
                }
            }
            11 if b.byte().is_multiple_of(8) => {
                self.shut = true;
                self.s.shutdown();
            }
            _ => {}
        }
        self.pump();
    }
}

/// The client core's promises under any inputs: transitions stay within the documented ones,
/// every stream's events reach the app in increasing `seq` with no repeat, every request is
/// answered once and nothing is answered that was not asked, one socket at a time, nothing
/// sent but frames that decode, a stopped or shut-down client never connects by itself, no
/// timer is left in the past, and shutting down answers everything still pending.
pub fn client(data: &[u8]) {
    let mut b = Bytes(data);
    let now = 1_000_000;
    let mut w = World {
        s: Session::new(token(4_000), Config::default(), u64::from(b.byte()), now),
        now,
        socket: Socket::None,
        // The first output repeats the starting state; take it as the start.
        state: C::Disconnected,
        client: None,
        delivered: BTreeMap::new(),
        asked: BTreeSet::new(),
        answered: BTreeSet::new(),
        stopped: false,
        shut: false,
    };
    w.s.handle_timeout(now);
    w.pump();
    let mut steps = 0;
    while !b.done() && steps < 2_000 {
        w.step(&mut b);
        steps += 1;
    }
    w.s.shutdown();
    w.pump();
    for id in &w.asked {
        assert!(w.answered.contains(id), "request {id} never answered");
    }
}
