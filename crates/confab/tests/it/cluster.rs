//! Three `confab serve` nodes on one PostgreSQL database and one NATS server, with SDK clients
//! on different nodes, each behind a proxy that plays the load balancer: a node killed with
//! SIGKILL mid-traffic, and NATS restarted mid-traffic, lose nothing acknowledged; the killed
//! node's clients resume on another node with no gap and no duplicate; and the killed node's
//! users go offline for the others within a bound.

use std::net::SocketAddr;
use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientOptions, ClientState, Events};
use confab_testkit::{FaultProxy, NatsProcess, RawClient, TestDatabase, test_token};
use serde_json::Value;

use crate::process::ServeProcess;

/// How long any wait lasts before the test fails.
const WAIT: Duration = Duration::from_secs(60);
/// Messages each sender sends.
const PER_SENDER: usize = 60;

fn addr(node: &ServeProcess) -> SocketAddr {
    node.url.trim_start_matches("http://").parse().unwrap()
}

/// A node on the database and NATS, with `media` as its shared media directory.
async fn node(
    db: &TestDatabase,
    nats: &NatsProcess,
    media: &std::path::Path,
) -> (ServeProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    let nats = nats.url();
    let media = format!("file://{}", media.display());
    let node = ServeProcess::start_with(
        dir.path(),
        &["--database", &url, "--nats", &nats, "--media-store", &media],
    )
    .await;
    (node, dir)
}

/// A client's events as they came.
struct Heard {
    events: Events,
    log: Vec<ClientEvent>,
}

impl Heard {
    /// Reads events into the log until `done` holds of it; panics after [`WAIT`].
    async fn until(&mut self, done: impl Fn(&[ClientEvent]) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.log) {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Ok(Some(e)) => self.log.push(e),
                Ok(None) => panic!("the client's events ended"),
                Err(_) => panic!("timed out; heard {} events", self.log.len()),
            }
        }
    }

    /// Reads until `n` messages have come; returns the bodies of all heard.
    async fn messages(&mut self, n: usize) -> Vec<String> {
        self.until(|log| bodies(log).len() >= n).await;
        bodies(&self.log)
    }
}

fn bodies(log: &[ClientEvent]) -> Vec<String> {
    log.iter()
        .filter_map(|e| match e {
            ClientEvent::MessageAdded(m) => Some(m.body().unwrap_or_default()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_and_nats_restarted_mid_traffic_lose_nothing() {
    let (Some(db), Some(bin)) = (
        TestDatabase::required_or_skip(),
        NatsProcess::binary_or_skip(),
    ) else {
        return;
    };
    let mut nats = NatsProcess::start(&bin).await;
    let media = tempfile::tempdir().unwrap();
    let mut nodes = vec![];
    for _ in 0..3 {
        nodes.push(node(&db, &nats, media.path()).await);
    }
    let api = nodes[0].0.api();
    let conv = api
        .post("/v1/Conversations", &[("FriendlyName", "cluster")])
        .await
        .expect(201)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let people = ["alice", "bob", "carol", "dave"];
    for who in people {
        api.post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[("Identity", who)],
        )
        .await
        .expect(201);
    }
    // alice, bob and carol use the SDK, each through a load balancer of its own that starts
    // on node 0, 1 and 2; dave sits on node 2 with no way to another node.
    let mut balancers = vec![];
    let mut clients = vec![];
    for (i, who) in people[..3].iter().enumerate() {
        let lb = FaultProxy::start(addr(&nodes[i].0)).await.unwrap();
        let (client, events) = Client::new(
            test_token(who),
            ClientOptions::new(format!("ws://{}", lb.local_addr())),
        );
        let mut heard = Heard {
            events,
            log: vec![],
        };
        let ready = ClientEvent::StateChanged(ClientState::Initialized);
        heard.until(|log| log.contains(&ready)).await;
        balancers.push(lb);
        clients.push((client, heard));
    }
    let (_dave, _) = RawClient::join(addr(&nodes[2].0), &test_token("dave"), None).await;

    // Everyone sends, all at once.
    let mut senders = vec![];
    for (i, (client, _)) in clients.iter().enumerate() {
        let (client, conv, who) = (client.clone(), conv.clone(), people[i]);
        senders.push(tokio::spawn(async move {
            for n in 0..PER_SENDER {
                client
                    .send_message(&conv, &format!("{who} {n}"))
                    .await
                    .unwrap_or_else(|e| panic!("{who} {n}: {e:?}"));
            }
        }));
    }
    // Mid-traffic: node 2 is killed, and its load balancer fails over to node 0.
    clients[0].1.messages(20).await;
    let (killed, _dir) = nodes.pop().unwrap();
    killed.kill().await;
    balancers[2].set_upstream(addr(&nodes[0].0));
    // Then NATS goes down and comes back.
    clients[0].1.messages(40).await;
    nats.restart().await;
    for s in senders {
        s.await.unwrap();
    }

    // The record: every acknowledged message once, in index order.
    let (messages, _) = api
        .collect_pages(&format!("/v1/Conversations/{conv}/Messages"), "messages")
        .await;
    let record: Vec<String> = messages
        .iter()
        .map(|m: &Value| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(record.len(), 3 * PER_SENDER, "each send acknowledged once");
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m["index"], i as i64);
    }
    // Every client heard exactly the record, in order: alice and bob through the bus
    // (across a NATS restart), carol after resuming on another node.
    for (i, (_, heard)) in clients.iter_mut().enumerate() {
        assert_eq!(heard.messages(record.len()).await, record, "{}", people[i]);
    }

    // dave's node is gone without a word: the others take him offline within a bound
    // (8 s of silence, checked every 2 s).
    clients[0]
        .1
        .until(|log| {
            log.iter().any(|e| {
                matches!(e, ClientEvent::UserUpdated { user, .. } if user.identity() == "dave" && !user.is_online())
            })
        })
        .await;
}
