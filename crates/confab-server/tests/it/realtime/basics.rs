//! Welcome, requests and live delivery.

use confab_protocol::event::EventBody;
use confab_testkit::TestServer;
use serde_json::json;

#[tokio::test]
async fn welcome_carries_identity_server_time_token_expiry_and_heartbeat() {
    let server = TestServer::start().await;
    let (_c, w) = server.realtime("alice").await;
    assert_eq!(w.identity, "alice");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((w.server_time - now).abs() < 60_000, "{w:?}");
    assert!(w.token_expires_at > now + 3_000_000, "{w:?}");
    assert_eq!(w.heartbeat_ms, 15_000);
    assert_eq!(w.resumed.user_seq, 0);
    assert!(w.resumed.conversations.is_empty());
}

#[tokio::test]
async fn a_message_reaches_every_member_live_once_with_its_index() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let (mut bob, _) = server.realtime("bob").await;
    let conv = alice
        .call("conversation.create", json!({"friendlyName": "room"}))
        .await
        .unwrap();
    let sid = conv["sid"].as_str().unwrap().to_owned();
    alice
        .call("conversation.join", json!({"conversation": sid}))
        .await
        .unwrap();
    // A conversation user may not add others (no addParticipant in its default role).
    let refused = alice
        .call(
            "participant.add",
            json!({"conversation": sid, "identity": "bob"}),
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, 20403);
    bob.call("conversation.join", json!({"conversation": sid}))
        .await
        .unwrap();
    // Bob learns of the membership on his user stream, then sees the conversation's events.
    let joined = bob.next_event().await;
    assert_eq!(joined.stream, "user");
    assert!(
        matches!(joined.body, EventBody::ConversationJoined(_)),
        "{joined:?}"
    );

    let sent = alice
        .call(
            "message.send",
            json!({"conversation": sid, "body": "hello"}),
        )
        .await
        .unwrap();
    assert_eq!(sent["index"], 0);
    for client in [&mut alice, &mut bob] {
        loop {
            let e = client.next_event().await;
            if let EventBody::MessageAdded(m) = &e.body {
                assert_eq!(e.stream, sid);
                assert_eq!(m.body.as_deref(), Some("hello"));
                assert_eq!(m.index, 0);
                break;
            }
        }
    }
}

#[tokio::test]
async fn a_message_posted_through_rest_reaches_connected_members_live() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = api
        .post("/v1/Conversations", &[("UniqueName", "support")])
        .await
        .expect(201);
    let sid = conv["sid"].as_str().unwrap().to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", "carol")],
    )
    .await
    .expect(201);
    let (mut carol, w) = server.realtime("carol").await;
    assert!(w.resumed.conversations.contains_key(&sid), "{w:?}");
    api.post(
        &format!("/v1/Conversations/{sid}/Messages"),
        &[("Author", "agent"), ("Body", "how can I help?")],
    )
    .await
    .expect(201);
    let e = carol.next_event().await;
    assert_eq!(e.stream, sid);
    let EventBody::MessageAdded(m) = e.body else {
        panic!("{e:?}")
    };
    assert_eq!(m.body.as_deref(), Some("how can I help?"));
    assert_eq!(e.seq, Some(w.resumed.conversations[&sid] + 1));
}
