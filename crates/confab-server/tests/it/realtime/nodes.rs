//! Two servers on one PostgreSQL database, as two nodes of a cluster: what one node caches
//! must not let through what the other has changed.

use confab_protocol::event::EventBody;
use confab_testkit::{FaultProxy, RawClient, TestDatabase, TestServer, nats_required_or_skip};
use serde_json::json;

use crate::support;

#[tokio::test]
async fn a_participant_removed_on_another_node_cannot_send_through_this_one() {
    let Some(db) = TestDatabase::required_or_skip() else {
        return;
    };
    let here = TestServer::start_with(|c| c.database = db.database()).await;
    let there = TestServer::start_with(|c| c.database = db.database()).await;
    let api = there.api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    let (mut alice, _) = here.realtime("alice").await;
    let send = |body: &str| json!({"conversation": conv, "body": body});
    // The first message fills this node's cache of alice's access to the conversation.
    alice
        .call("message.send", send("first"))
        .await
        .expect("a participant may send");
    api.delete(&format!("/v1/Conversations/{conv}/Participants/alice"))
        .await
        .expect(204);
    let refused = alice
        .call("message.send", send("after removal"))
        .await
        .expect_err("removed on the other node: not a participant any more");
    assert_eq!(refused.code, 20403);
    let (messages, _) = api
        .collect_pages(&format!("/v1/Conversations/{conv}/Messages"), "messages")
        .await;
    assert_eq!(messages.len(), 1, "the refused message was not written");
}

/// Nodes on one database, one NATS each (as given) and one media directory, each with the
/// test credentials.
async fn cluster(db: &TestDatabase, nats: &[String]) -> (Vec<TestServer>, tempfile::TempDir) {
    let media = tempfile::tempdir().unwrap();
    let shared = format!("file://{}", media.path().display());
    let mut nodes = vec![];
    for url in nats {
        nodes.push(
            TestServer::start_with(|c| {
                c.database = db.database();
                c.nats = Some(url.clone());
                c.media.store = Some(shared.clone());
                // A node silent for 1 s (five missed heartbeats) counts as gone.
                c.realtime.node_heartbeat = std::time::Duration::from_millis(200);
                c.realtime.node_silence = std::time::Duration::from_secs(1);
            })
            .await,
        );
    }
    (nodes, media)
}

/// Two nodes, the second reaching NATS through a fault proxy (to cut it off), and a
/// conversation of alice's and bob's.
async fn alice_and_bob_on_two_nodes(
    db: &TestDatabase,
    nats: String,
) -> (Vec<TestServer>, FaultProxy, String) {
    let upstream = tokio::net::lookup_host(nats.trim_start_matches("nats://"))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let cut_off = format!("nats://{}", proxy.local_addr());
    let (nodes, _media) = cluster(db, &[nats, cut_off]).await;
    let api = nodes[0].api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    support::participant(&api, &conv, "bob").await;
    (nodes, proxy, conv)
}

/// Reads events until `n` messages have come; returns their bodies, checking that the
/// conversation's `seq` rises by one each time (nothing lost, nothing twice, in order).
async fn messages(client: &mut RawClient, n: usize) -> Vec<String> {
    let mut bodies = vec![];
    let mut last: Option<i64> = None;
    while bodies.len() < n {
        let e = client.next_event().await;
        let Some(seq) = e.seq else { continue };
        if let Some(prev) = last {
            assert_eq!(seq, prev + 1, "seq after {prev}");
        }
        last = Some(seq);
        if let EventBody::MessageAdded(m) = e.body {
            bodies.push(m.body.unwrap_or_default());
        }
    }
    bodies
}

#[tokio::test]
async fn messages_sent_on_one_node_arrive_live_on_the_others_in_order() {
    let (Some(db), Some(nats)) = (TestDatabase::required_or_skip(), nats_required_or_skip()) else {
        return;
    };
    let (nodes, _media) = cluster(&db, &[nats.clone(), nats.clone(), nats]).await;
    let api = nodes[0].api();
    let conv = support::conversation(&api, &[]).await;
    let people = ["alice", "bob", "carol"];
    for who in people {
        support::participant(&api, &conv, who).await;
    }
    let mut clients = vec![];
    for (node, who) in nodes.iter().zip(people) {
        clients.push(node.realtime(who).await.0);
    }
    let rounds = 20;
    let mut sent = vec![];
    for round in 0..rounds {
        for (i, client) in clients.iter_mut().enumerate() {
            let body = format!("{}-{round}", people[i]);
            client
                .call("message.send", json!({"conversation": conv, "body": body}))
                .await
                .expect("sent");
            sent.push(body);
        }
    }
    for client in &mut clients {
        assert_eq!(messages(client, sent.len()).await, sent);
    }
}

#[tokio::test]
async fn a_node_cut_from_nats_still_delivers_what_it_missed() {
    let (Some(db), Some(nats)) = (TestDatabase::required_or_skip(), nats_required_or_skip()) else {
        return;
    };
    let (nodes, proxy, conv) = alice_and_bob_on_two_nodes(&db, nats).await;
    let api = nodes[0].api();
    let (mut alice, _) = nodes[0].realtime("alice").await;
    let (mut bob, bob_welcome) = nodes[1].realtime("bob").await;
    alice
        .call(
            "message.send",
            json!({"conversation": conv, "body": "before"}),
        )
        .await
        .unwrap();
    assert_eq!(messages(&mut bob, 1).await, ["before"]);
    // Bob's node loses NATS: every publish meant for it is lost.
    proxy.refuse_new(true);
    proxy.cut_all();
    let sent: Vec<String> = (0..5).map(|i| format!("while cut {i}")).collect();
    for body in &sent {
        alice
            .call("message.send", json!({"conversation": conv, "body": body}))
            .await
            .unwrap();
    }
    // A second session of bob's on the cut-off node replays them from the log: that must not
    // hide from the node that the first session never got them live.
    let resume = confab_protocol::frame::Resume {
        user_seq: bob_welcome.resumed.user_seq,
        conversations: [(conv.clone(), 0)].into(),
    };
    let (mut bob2, _) =
        RawClient::join(nodes[1].addr(), &nodes[1].token("bob"), Some(resume)).await;
    let mut all = vec!["before".to_owned()];
    all.extend(sent.iter().cloned());
    assert_eq!(messages(&mut bob2, all.len()).await, all);
    // The log is the truth: the node finds them there for the first session too.
    assert_eq!(messages(&mut bob, sent.len()).await, sent);
    // Bob's own membership stream too: added to a conversation while his node is cut off.
    let other = support::conversation(&api, &[]).await;
    support::participant(&api, &other, "bob").await;
    loop {
        let e = bob.next_event().await;
        if let EventBody::ConversationJoined(m) = e.body {
            assert_eq!(m.conversation_sid.as_str(), other);
            break;
        }
    }
    proxy.refuse_new(false);
}

/// The next `userUpdated` about `who`, skipping other events.
async fn presence_of(client: &mut RawClient, who: &str) -> bool {
    loop {
        let e = client.next_event().await;
        if let EventBody::UserUpdated(u) = e.body
            && u.identity == who
        {
            return u.is_online;
        }
    }
}

#[tokio::test]
async fn presence_crosses_nodes_and_a_silent_nodes_users_go_offline() {
    let (Some(db), Some(nats)) = (TestDatabase::required_or_skip(), nats_required_or_skip()) else {
        return;
    };
    let (nodes, proxy, _) = alice_and_bob_on_two_nodes(&db, nats).await;
    let (mut alice, _) = nodes[0].realtime("alice").await;
    let (_bob, _) = nodes[1].realtime("bob").await;
    assert!(
        presence_of(&mut alice, "bob").await,
        "bob came online on the other node"
    );
    let asked = alice
        .call("user.get", json!({"identity": "bob"}))
        .await
        .unwrap();
    assert_eq!(asked["is_online"], true);
    // Bob's node goes silent (as if killed): no goodbye, no more heartbeats.
    proxy.refuse_new(true);
    proxy.cut_all();
    assert!(
        !presence_of(&mut alice, "bob").await,
        "a silent node's users go offline once it has been silent for node_silence"
    );
    let asked = alice
        .call("user.get", json!({"identity": "bob"}))
        .await
        .unwrap();
    assert_eq!(asked["is_online"], false);
    proxy.refuse_new(false);
}

#[tokio::test]
async fn typing_and_profile_changes_cross_nodes() {
    let (Some(db), Some(nats)) = (TestDatabase::required_or_skip(), nats_required_or_skip()) else {
        return;
    };
    let (nodes, _media) = cluster(&db, &[nats.clone(), nats]).await;
    let api = nodes[0].api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    support::participant(&api, &conv, "bob").await;
    let (mut alice, _) = nodes[0].realtime("alice").await;
    let (mut bob, _) = nodes[1].realtime("bob").await;
    assert!(presence_of(&mut alice, "bob").await);
    let next_other = |e: confab_protocol::event::EventFrame| e.body;
    bob.call("conversation.typing", json!({"conversation": conv}))
        .await
        .unwrap();
    loop {
        match next_other(alice.next_event().await) {
            EventBody::TypingStarted(t) => {
                assert_eq!(t.identity, "bob");
                break;
            }
            EventBody::UserUpdated(_) => {}
            other => panic!("expected bob typing, got {other:?}"),
        }
    }
    bob.call("user.update", json!({"friendlyName": "Bob on node 1"}))
        .await
        .unwrap();
    loop {
        match next_other(alice.next_event().await) {
            EventBody::UserUpdated(u) if u.friendly_name.as_deref() == Some("Bob on node 1") => {
                assert!(u.is_online);
                break;
            }
            EventBody::UserUpdated(_) | EventBody::TypingEnded(_) => {}
            other => panic!("expected bob's new name, got {other:?}"),
        }
    }
}
