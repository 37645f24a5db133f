//! A test client that keeps cursors, reconnects with them, and checks that every stream it
//! watches arrives exactly once and in order: each event's `seq` must be its stream's cursor
//! plus one, across any number of reconnects.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use confab_protocol::event::{EventBody, EventFrame};
use confab_protocol::frame::{Resume, ServerFrame};
use confab_testkit::{Api, RawClient, Received};

/// A raw client with an SDK's bookkeeping, and assertions instead of recovery.
pub struct Tracker {
    addr: SocketAddr,
    token: String,
    pub client: Option<RawClient>,
    /// The cursors to resume from.
    pub resume: Option<Resume>,
    /// Message indexes delivered, per conversation, in delivery order.
    pub indexes: BTreeMap<String, Vec<i64>>,
    /// How many times it connected.
    pub connects: usize,
}

impl Tracker {
    pub fn new(addr: SocketAddr, token: String) -> Tracker {
        Tracker {
            addr,
            token,
            client: None,
            resume: None,
            indexes: BTreeMap::new(),
            connects: 0,
        }
    }

    /// Connects (resuming when it has cursors) and checks the server resumes from them.
    pub async fn connect(&mut self) {
        let (client, w) = RawClient::join(self.addr, &self.token, self.resume.clone()).await;
        match &mut self.resume {
            None => {
                self.resume = Some(Resume {
                    user_seq: w.resumed.user_seq,
                    conversations: w.resumed.conversations.clone(),
                })
            }
            Some(r) => {
                assert_eq!(w.resumed.user_seq, r.user_seq, "user cursor honoured");
                for (sid, seq) in &r.conversations {
                    assert_eq!(
                        w.resumed.conversations.get(sid),
                        Some(seq),
                        "{sid} cursor honoured"
                    );
                }
            }
        }
        self.client = Some(client);
        self.connects += 1;
    }

    pub fn delivered(&self, conversation: &str) -> usize {
        self.indexes.get(conversation).map_or(0, Vec::len)
    }

    /// Reads until `done` holds; returns false if the connection ended first.
    pub async fn read_until(&mut self, done: impl Fn(&Tracker) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            let Some(client) = self.client.as_mut() else {
                return false;
            };
            match client.next().await {
                Received::Event(e) => self.apply(*e),
                Received::Frame(ServerFrame::Close { .. }) | Received::Closed(_) => {
                    self.client = None;
                    return false;
                }
                Received::Frame(ServerFrame::Pong { .. } | ServerFrame::Res { .. }) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Reads until `done`, reconnecting with the cursors whenever the connection ends.
    pub async fn read_through(&mut self, done: impl Fn(&Tracker) -> bool) {
        while !self.read_until(&done).await {
            self.connect().await;
        }
    }

    fn apply(&mut self, e: EventFrame) {
        let resume = self.resume.as_mut().expect("connected once");
        let Some(seq) = e.seq else {
            // Presence, typing and read horizons are ephemeral; a reset is not expected here.
            assert!(
                !matches!(e.body, EventBody::ConversationReset(_)),
                "unexpected reset {e:?}"
            );
            return;
        };
        let cursor = if e.stream == "user" {
            &mut resume.user_seq
        } else {
            resume
                .conversations
                .get_mut(&e.stream)
                .unwrap_or_else(|| panic!("event of an unwatched stream {e:?}"))
        };
        assert_eq!(
            seq,
            *cursor + 1,
            "stream {} delivered exactly once, in order",
            e.stream
        );
        *cursor = seq;
        if let EventBody::MessageAdded(m) = &e.body {
            self.indexes
                .entry(e.stream.clone())
                .or_default()
                .push(m.index);
        }
    }
}

/// Posts `n` messages through REST, one after another; returns their indexes.
pub async fn post_messages(api: Api, conversation: String, from: usize, n: usize) -> Vec<i64> {
    let mut out = vec![];
    for i in from..from + n {
        let m = api
            .post(
                &format!("/v1/Conversations/{conversation}/Messages"),
                &[("Author", "writer"), ("Body", &format!("m{i}"))],
            )
            .await
            .expect(201);
        out.push(m["index"].as_i64().unwrap());
    }
    out
}

/// Creates a conversation with `identity` in it; returns its SID.
pub async fn conversation_with(api: &Api, identity: &str) -> String {
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", identity)],
    )
    .await
    .expect(201);
    sid
}

/// Checks that `indexes` are exactly 0..n, in order.
pub fn assert_all_once(indexes: &[i64], n: usize) {
    let expected: Vec<i64> = (0..n as i64).collect();
    assert_eq!(indexes, expected.as_slice(), "every message once, in order");
}
