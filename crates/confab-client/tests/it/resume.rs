//! A cut, a stall and a server restart, each followed by resume with every message delivered
//! exactly once and in order while another client keeps sending.

use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientState, ConnectionState as C, Events};
use confab_testkit::{FaultProxy, TestServer};

use crate::support::*;

const TOTAL: usize = 120;

/// Alice (through the proxy) and Bob (direct) in one conversation; Bob will send.
async fn pair(server: &TestServer, proxy: &FaultProxy) -> (Client, Events, Client, String) {
    let (alice, mut a_events) = Client::new(server.token("alice"), options(proxy.local_addr()));
    let (bob, mut b_events) = Client::new(server.token("bob"), options(server.addr()));
    for events in [&mut a_events, &mut b_events] {
        until(events, |e| {
            matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
        })
        .await;
    }
    let conv = bob.create_conversation(None).await.unwrap();
    let sid = conv.sid.to_string();
    bob.join(&sid).await.unwrap();
    alice.join(&sid).await.unwrap();
    (alice, a_events, bob, sid)
}

fn sending(bob: Client, sid: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for i in 0..TOTAL {
            bob.send_message(&sid, &format!("m{i}")).await.unwrap();
        }
    })
}

/// Reads until every message arrived (counting those in `seen` already); checks each came
/// once, in order.
async fn all_once(events: &mut Events, mut seen: Vec<ClientEvent>) -> Vec<ClientEvent> {
    let mut indexes: Vec<i64> = seen
        .iter()
        .filter_map(|e| match e {
            ClientEvent::MessageAdded(m) => Some(m.index()),
            _ => None,
        })
        .collect();
    while indexes.len() < TOTAL {
        let more = until(events, |e| matches!(e, ClientEvent::MessageAdded(_))).await;
        for e in &more {
            if let ClientEvent::MessageAdded(m) = e {
                indexes.push(m.index());
            }
        }
        seen.extend(more);
    }
    assert_eq!(
        indexes,
        (0..TOTAL as i64).collect::<Vec<_>>(),
        "each message once, in order"
    );
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cut() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let (_alice, mut events, bob, sid) = pair(&server, &proxy).await;
    let writer = sending(bob, sid);
    let before = until(
        &mut events,
        |e| matches!(e, ClientEvent::MessageAdded(m) if m.index() >= 20),
    )
    .await;
    proxy.cut_all();
    let seen = all_once(&mut events, before).await;
    writer.await.unwrap();
    assert!(
        seen.contains(&ClientEvent::ConnectionStateChanged(C::Connecting)),
        "the cut was noticed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_stall_noticed_by_the_heartbeat() {
    let server = TestServer::start_with(|c| {
        c.realtime.heartbeat = Duration::from_millis(300);
        c.realtime.heartbeat_grace = Duration::from_millis(300);
    })
    .await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let (_alice, mut events, bob, sid) = pair(&server, &proxy).await;
    let writer = sending(bob, sid);
    let mut before = until(
        &mut events,
        |e| matches!(e, ClientEvent::MessageAdded(m) if m.index() >= 20),
    )
    .await;
    proxy.stall();
    // The client hears nothing for 2H + grace and gives the link up; then the network heals.
    before.extend(
        until(&mut events, |e| {
            *e == ClientEvent::ConnectionStateChanged(C::Connecting)
        })
        .await,
    );
    proxy.resume();
    let seen = all_once(&mut events, before).await;
    writer.await.unwrap();
    assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Connected)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_restart() {
    let mut server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let (_alice, mut events, bob, sid) = pair(&server, &proxy).await;
    for i in 0..TOTAL / 2 {
        bob.send_message(&sid, &format!("m{i}")).await.unwrap();
    }
    let before = until(
        &mut events,
        |e| matches!(e, ClientEvent::MessageAdded(m) if m.index() >= 10),
    )
    .await;
    bob.shutdown().await;
    server.restart_same_port().await;
    // Bob comes back on the new process and sends the rest while alice resumes.
    let (bob, mut b_events) = Client::new(server.token("bob"), options(server.addr()));
    until(&mut b_events, |e| {
        matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
    })
    .await;
    let writer = tokio::spawn(async move {
        for i in TOTAL / 2..TOTAL {
            bob.send_message(&sid, &format!("m{i}")).await.unwrap();
        }
    });
    let seen = all_once(&mut events, before).await;
    writer.await.unwrap();
    assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Connecting)));
}
