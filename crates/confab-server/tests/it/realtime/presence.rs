//! Reachability and user updates: announced to the users who share a conversation, once per
//! session however many conversations they share, never to strangers.

use confab_protocol::event::EventBody;
use confab_protocol::frame::{ClientFrame, ServerFrame};
use confab_testkit::{RawClient, Received, TestServer};
use serde_json::json;

use crate::support::sid;

async fn nothing_more(c: &mut RawClient) {
    c.send(&ClientFrame::Ping { t: 5 }).await;
    match c.next().await {
        Received::Frame(ServerFrame::Pong { t: 5 }) => {}
        other => panic!("expected nothing more, got {other:?}"),
    }
}

async fn user_update(c: &mut RawClient) -> confab_protocol::event::UserInfo {
    let e = c.next_event().await;
    let EventBody::UserUpdated(u) = e.body else {
        panic!("{e:?}")
    };
    assert_eq!(e.seq, None);
    u
}

#[tokio::test]
async fn users_sharing_a_conversation_hear_of_each_others_presence_and_profile_once() {
    let server = TestServer::start().await;
    let api = server.api();
    for _ in 0..2 {
        let conv = sid(&api.post("/v1/Conversations", &[]).await.expect(201));
        for who in ["alice", "bob"] {
            api.post(
                &format!("/v1/Conversations/{conv}/Participants"),
                &[("Identity", who)],
            )
            .await
            .expect(201);
        }
    }
    let (mut bob, _) = server.realtime("bob").await;
    let (mut carol, _) = server.realtime("carol").await;

    let (mut alice, _) = server.realtime("alice").await;
    let u = user_update(&mut bob).await;
    assert_eq!((u.identity.as_str(), u.is_online), ("alice", true));
    // A second session of alice's is no news.
    let (alice2, _) = server.realtime("alice").await;
    let me = alice
        .call(
            "user.update",
            json!({"friendlyName": "Alice A.", "attributes": {"team": "blue"}}),
        )
        .await
        .unwrap();
    assert_eq!(me["friendly_name"], "Alice A.");
    let u = user_update(&mut bob).await;
    assert_eq!(
        (
            u.friendly_name.as_deref(),
            u.attributes.as_str(),
            u.is_online
        ),
        (Some("Alice A."), r#"{"team":"blue"}"#, true)
    );
    // One of two sessions going is no news either; the last one is.
    alice2.close().await;
    nothing_more(&mut bob).await;
    alice.close().await;
    let u = user_update(&mut bob).await;
    assert_eq!((u.identity.as_str(), u.is_online), ("alice", false));
    // Shared twice, heard once each time; a stranger heard nothing.
    nothing_more(&mut bob).await;
    nothing_more(&mut carol).await;
}

#[tokio::test]
async fn a_user_edits_only_its_own_profile() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let err = alice
        .call("user.update", json!({"attributes": "not json"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20001);
    let me = alice.call("user.get", json!({})).await.unwrap();
    assert_eq!(me["attributes"], "{}", "a refused update changed nothing");
}
