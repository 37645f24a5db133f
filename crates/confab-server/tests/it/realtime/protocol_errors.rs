//! Frames that break the protocol close the offending session with `protocol_error` (20010)
//! and a reason; every other session goes on. An unknown method is answered, not fatal.

use confab_protocol::frame::{CloseReason, MAX_FRAME_BYTES};
use confab_testkit::{RawClient, TestServer};
use serde_json::json;

async fn expect_protocol_error(c: &mut RawClient, what: &str) -> String {
    let (reason, code, message) = c.closed().await;
    assert_eq!(reason, CloseReason::ProtocolError, "{what}: {message}");
    assert_eq!(code, 20010, "{what}");
    message
}

#[tokio::test]
async fn bad_frames_before_hello_close_with_protocol_error() {
    let server = TestServer::start().await;
    let token = server.token("alice");
    let cases = [
        ("malformed JSON", "{not json"),
        ("unknown op", r#"{"op":"subscribe"}"#),
        (
            "request before hello",
            r#"{"op":"req","id":1,"method":"conversation.create","params":{}}"#,
        ),
        ("ping before hello", r#"{"op":"ping","t":1}"#),
        ("hello without token", r#"{"op":"hello"}"#),
    ];
    for (what, frame) in cases {
        let mut c = RawClient::connect(server.addr()).await.unwrap();
        c.send_text(frame).await;
        let message = expect_protocol_error(&mut c, what).await;
        assert!(!message.is_empty());
    }
    // The server still takes good clients.
    let (_c, w) = RawClient::join(server.addr(), &token, None).await;
    assert_eq!(w.identity, "alice");
}

#[tokio::test]
async fn bad_frames_in_a_session_close_it_and_spare_the_others() {
    let server = TestServer::start().await;
    let (mut bystander, _) = server.realtime("bob").await;
    let too_big = format!(
        r#"{{"op":"ping","t":1,"pad":"{}"}}"#,
        "x".repeat(MAX_FRAME_BYTES + 1)
    );
    let cases: Vec<(&str, String)> = vec![
        ("malformed JSON", "[1,2".into()),
        ("unknown op", r#"{"op":"shout","loud":true}"#.into()),
        (
            "second hello",
            json!({"op":"hello","token": server.token("alice")}).to_string(),
        ),
        (
            "req without id",
            r#"{"op":"req","method":"user.get"}"#.into(),
        ),
        ("frame over the size limit", too_big),
    ];
    for (what, frame) in cases {
        let (mut c, _) = server.realtime("alice").await;
        c.send_text(&frame).await;
        expect_protocol_error(&mut c, what).await;
        let me = bystander
            .call("user.get", json!({}))
            .await
            .unwrap_or_else(|e| panic!("bystander after {what}: {e:?}"));
        assert_eq!(me["identity"], "bob");
    }
    let (mut c, _) = server.realtime("alice").await;
    c.send_binary(vec![1, 2, 3]).await;
    expect_protocol_error(&mut c, "binary frame").await;
}

#[tokio::test]
async fn an_unknown_method_is_answered_with_20011_and_the_session_stays() {
    let server = TestServer::start().await;
    let (mut c, _) = server.realtime("alice").await;
    let err = c
        .call("conversation.teleport", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20011, "{err:?}");
    let err = c
        .call("message.send", json!({"conversation": 5}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20001, "{err:?}");
    let me = c.call("user.get", json!({})).await;
    assert!(me.is_ok() || me.unwrap_err().code == 20404);
}
