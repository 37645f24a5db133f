//! Chat load for the reliability checks (`docs/RELIABILITY.md`): SDK clients that each send
//! and receive in a few conversations, then a check that nothing acknowledged was lost,
//! nothing was stored twice, indexes are gapless, and every client saw exactly the server's
//! record, in order.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientOptions, ClientState, ConnectionState, LogLevel};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Api;

/// How long any wait may take before the check fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The value of environment variable `name` (a long mode's setting), or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This process's resident memory in KiB (`VmRSS`), 0 where `/proc` is missing.
pub fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Messages a second that [`ChatLoad`] sends into each conversation: half the server's shipped
/// per-conversation limit (100 a second), so the load is never refused for its rate.
pub const PER_CONVERSATION: f64 = 50.0;

/// What one client saw: per conversation, the `(index, body)` of each `MessageAdded`.
type View = Arc<Mutex<HashMap<String, Vec<(i64, String)>>>>;

/// Running clients, their writers and what they saw.
pub struct ChatLoad {
    /// The clients, `u0`, `u1`, ...
    pub clients: Vec<Client>,
    conversations: Vec<String>,
    views: Vec<(View, watch::Receiver<u64>)>,
    /// body -> (conversation, index) of every acknowledged message.
    acked: Arc<Mutex<HashMap<String, (String, i64)>>>,
    acks: watch::Receiver<usize>,
    stop: watch::Sender<bool>,
    writers: Vec<JoinHandle<Vec<u32>>>,
}

/// What a finished load shows.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Messages acknowledged to the writers.
    pub acknowledged: usize,
    /// Messages in the server's record.
    pub stored: usize,
    /// Sends that failed (never acknowledged); [`ChatLoad::finish`] fails the check if any
    /// did, so this is 0 in every report.
    pub failed: usize,
}

impl ChatLoad {
    /// Creates `conversations` conversations through `api` with identities `u0..u{clients}`
    /// in each, connects one client per identity to `ws` (a `ws://host:port` URL) with
    /// `token(identity)` and options changed by `tweak`, waits until all are initialized, and
    /// starts every client writing in turn to each conversation.
    pub async fn start(
        api: &Api,
        ws: &str,
        token: impl Fn(&str) -> String,
        clients: usize,
        conversations: usize,
        tweak: impl Fn(&mut ClientOptions),
    ) -> ChatLoad {
        let mut sids = vec![];
        for _ in 0..conversations {
            let conv = api.post("/v1/Conversations", &[]).await.expect(201);
            let sid = conv["sid"].as_str().unwrap().to_owned();
            for u in 0..clients {
                api.post(
                    &format!("/v1/Conversations/{sid}/Participants"),
                    &[("Identity", &format!("u{u}"))],
                )
                .await
                .expect(201);
            }
            sids.push(sid);
        }
        let mut load = ChatLoad {
            clients: vec![],
            conversations: sids,
            views: vec![],
            acked: Arc::default(),
            acks: watch::channel(0).1,
            stop: watch::channel(false).0,
            writers: vec![],
        };
        for u in 0..clients {
            let mut options = ClientOptions::new(ws);
            options.log_level = LogLevel::Silent;
            options.reconnection_window = None;
            options.request_timeout = Duration::from_secs(120);
            tweak(&mut options);
            let (client, mut events) = Client::new(token(&format!("u{u}")), options);
            let view: View = Arc::default();
            let (ready_tx, mut ready) = watch::channel(false);
            let (seen_tx, seen_rx) = watch::channel(0u64);
            let v = view.clone();
            tokio::spawn(async move {
                while let Some(e) = events.next().await {
                    match e {
                        ClientEvent::StateChanged(ClientState::Initialized) => {
                            ready_tx.send_replace(true);
                        }
                        ClientEvent::MessageAdded(m) => {
                            let m = m.snapshot();
                            v.lock()
                                .unwrap()
                                .entry(m.conversation_sid.to_string())
                                .or_default()
                                .push((m.index, m.body.unwrap_or_default()));
                            seen_tx.send_modify(|n| *n += 1);
                        }
                        _ => {}
                    }
                }
            });
            tokio::time::timeout(WAIT, ready.wait_for(|r| *r))
                .await
                .expect("initialized")
                .unwrap();
            load.clients.push(client);
            load.views.push((view, seen_rx));
        }
        // Writing starts once every client is in: a client's first connection starts at the
        // head (history before it is for `message.list`), so all must be there from message 0.
        let (acks_tx, acks) = watch::channel(0usize);
        let acks_tx = Arc::new(acks_tx);
        load.acks = acks;
        // Each conversation gets `PER_CONVERSATION` messages a second from all its writers
        // together: a chat's pace, under the server's shipped per-conversation limit.
        let clients_n = load.clients.len().max(1) as f64;
        let pace = Duration::from_secs_f64(
            clients_n / (PER_CONVERSATION * load.conversations.len().max(1) as f64),
        );
        for (u, client) in load.clients.iter().enumerate() {
            let (client, conversations, acked, acks_tx, mut stop) = (
                client.clone(),
                load.conversations.clone(),
                load.acked.clone(),
                acks_tx.clone(),
                load.stop.subscribe(),
            );
            load.writers.push(tokio::spawn(async move {
                let mut failed = vec![];
                let mut ticks = tokio::time::interval(pace);
                // After a send that waited out a crash, carry on at the pace, not in a burst.
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                for n in 0.. {
                    ticks.tick().await;
                    if *stop.borrow_and_update() {
                        return failed;
                    }
                    let conv = &conversations[n % conversations.len()];
                    let body = format!("u{u}-{n}");
                    // Sent while the link is down, it waits for the connection; a resend
                    // after a loss carries the same op_id, so it is never stored twice.
                    match client.send_message(conv, &body).await {
                        Ok(m) => {
                            acked.lock().unwrap().insert(body, (conv.clone(), m.index));
                            acks_tx.send_modify(|n| *n += 1);
                        }
                        Err(e) => failed.push(e.code),
                    }
                }
                failed
            }));
        }
        load
    }

    /// Waits until every client is connected.
    pub async fn all_connected(&self, what: &str) {
        for c in &self.clients {
            let mut state = c.watch_connection_state();
            tokio::time::timeout(WAIT, state.wait_for(|s| *s == ConnectionState::Connected))
                .await
                .unwrap_or_else(|_| panic!("{what}: a client did not reconnect"))
                .unwrap();
        }
    }

    /// Waits until `n` more messages were acknowledged.
    pub async fn more_acks(&mut self, n: usize, what: &str) {
        let target = *self.acks.borrow() + n;
        tokio::time::timeout(WAIT, self.acks.wait_for(|a| *a >= target))
            .await
            .unwrap_or_else(|_| panic!("{what}: no progress"))
            .unwrap();
    }

    /// Stops the writers, reads the server's record through `api`, checks it and every
    /// client's view against it (panicking on any difference), and shuts the clients down.
    pub async fn finish(mut self, api: &Api) -> Figures {
        self.stop.send_replace(true);
        let mut failed = vec![];
        for w in self.writers.drain(..) {
            failed.extend(
                tokio::time::timeout(WAIT, w)
                    .await
                    .expect("writers stop")
                    .unwrap(),
            );
        }
        // A send waits for the connection and is resent with its op_id, so a failure (a rate
        // refusal, a timeout) is a finding, not noise.
        assert!(failed.is_empty(), "sends failed with codes {failed:?}");
        let acked = self.acked.lock().unwrap().clone();
        let mut bodies: HashMap<String, (String, i64)> = HashMap::new();
        let mut records: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
        for conv in &self.conversations {
            let (items, _) = api
                .collect_pages(
                    &format!("/v1/Conversations/{conv}/Messages?PageSize=100"),
                    "messages",
                )
                .await;
            let mut record = vec![];
            for (position, m) in items.iter().enumerate() {
                let index = m["index"].as_i64().unwrap();
                assert_eq!(index, position as i64, "{conv}: indexes are gapless from 0");
                let body = m["body"].as_str().unwrap().to_owned();
                assert!(
                    bodies.insert(body.clone(), (conv.clone(), index)).is_none(),
                    "{body} stored twice"
                );
                record.push((index, body));
            }
            records.insert(conv.clone(), record);
        }
        for (body, at) in &acked {
            assert_eq!(
                bodies.get(body),
                Some(at),
                "acknowledged {body} lost or moved"
            );
        }
        for (u, (view, seen)) in self.views.iter_mut().enumerate() {
            for (conv, record) in &records {
                let deadline = tokio::time::Instant::now() + WAIT;
                loop {
                    let got = view.lock().unwrap().get(conv).cloned().unwrap_or_default();
                    if got.len() >= record.len() {
                        assert_eq!(&got, record, "u{u}'s view of {conv}");
                        break;
                    }
                    let more = tokio::time::timeout_at(deadline, seen.changed()).await;
                    assert!(
                        matches!(more, Ok(Ok(()))),
                        "u{u} ({:?}) saw {} of {} messages of {conv}; missing {:?}",
                        self.clients[u].connection_state(),
                        got.len(),
                        record.len(),
                        record
                            .iter()
                            .filter(|r| !got.contains(r))
                            .collect::<Vec<_>>()
                    );
                }
            }
        }
        for c in &self.clients {
            c.shutdown().await;
        }
        Figures {
            acknowledged: acked.len(),
            stored: records.values().map(Vec::len).sum(),
            failed: failed.len(),
        }
    }
}
