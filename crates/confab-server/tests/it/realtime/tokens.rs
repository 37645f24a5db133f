//! Tokens on a live session: `token.update` renews in place (same identity and service only)
//! without losing an event; a session whose token passes `exp` + skew is closed with
//! `token_expired`.

use confab_protocol::frame::CloseReason;
use confab_testkit::{RawClient, TestServer};
use serde_json::json;

use super::tracker::{Tracker, assert_all_once, conversation_with, post_messages};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn an_expired_session_token_closes_the_session_with_token_expired() {
    let server = TestServer::start_with(|c| c.token_skew_secs = 0).await;
    let token = server.token_at("alice", None, now_secs(), 1);
    let (mut c, w) = RawClient::join(server.addr(), &token, None).await;
    assert!(w.token_expires_at <= (now_secs() + 1) * 1000);
    let (reason, code, _) = c.closed().await;
    assert_eq!((reason, code), (CloseReason::TokenExpired, 20104));
    assert!(now_secs() >= w.token_expires_at / 1000, "not before exp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_update_renews_in_place_without_losing_an_event() {
    let server = TestServer::start_with(|c| c.token_skew_secs = 0).await;
    let conv = conversation_with(&server.api(), "alice").await;
    let short = server.token_at("alice", None, now_secs(), 2);
    let mut t = Tracker::new(server.addr(), short);
    t.connect().await;
    let writer = tokio::spawn(post_messages(server.api(), conv.clone(), 0, 200));
    assert!(t.read_until(|t| t.delivered(&conv) >= 20).await);
    let fresh = server.token_with("alice", None, 3600);
    let client = t.client.as_mut().unwrap();
    let id = client
        .send_req("token.update", None, json!({ "token": fresh }))
        .await;
    let renewed = client.answer(id).await.expect("renewed");
    assert!(renewed["token_expires_at"].as_i64().unwrap() > (now_secs() + 3000) * 1000);
    // Past the first token's expiry the session goes on; no reconnect happens.
    let first_exp = now_secs() + 2;
    writer.await.unwrap();
    assert!(t.read_until(|t| t.delivered(&conv) == 200).await);
    while now_secs() <= first_exp {
        let client = t.client.as_mut().unwrap();
        client
            .send(&confab_protocol::frame::ClientFrame::Ping { t: 1 })
            .await;
        match client.next().await {
            confab_testkit::Received::Frame(confab_protocol::frame::ServerFrame::Pong {
                ..
            }) => {}
            other => panic!("session ended after token.update: {other:?}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(t.connects, 1);
    assert_all_once(&t.indexes[&conv], 200);
}

#[tokio::test]
async fn token_update_refuses_another_identity_or_a_bad_token() {
    let server = TestServer::start().await;
    let (mut c, _) = server.realtime("alice").await;
    let err = c
        .call("token.update", json!({ "token": server.token("mallory") }))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20106, "{err:?}");
    let err = c
        .call("token.update", json!({ "token": "garbage" }))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20101, "{err:?}");
    let err = c.call("token.update", json!({})).await.unwrap_err();
    assert_eq!(err.code, 20001, "{err:?}");
    // Still alice, still served.
    let me = c.call("user.get", json!({})).await.unwrap();
    assert_eq!(me["identity"], "alice");
}
