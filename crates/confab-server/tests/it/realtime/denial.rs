//! `hello` with every class of token the token vectors hold: the good ones get `welcome`, the
//! refused ones `close {reason: denied}` with the token's code, and the socket closes.

use std::sync::Arc;

use confab_domain::Clock;
use confab_protocol::frame::{CloseReason, ServerFrame};
use confab_server::{Credentials, ServerClock};
use confab_testkit::{RawClient, Received, TestServer};
use serde_json::Value;

struct Fixed(i64);

impl Clock for Fixed {
    fn now_millis(&self) -> i64 {
        self.0
    }
}

fn vectors() -> Value {
    serde_json::from_str(confab_testkit::ACCESS_TOKEN_VECTORS).unwrap()
}

#[tokio::test]
async fn every_token_class_is_welcomed_or_denied_with_its_code() {
    let v = vectors();
    let credentials = Credentials {
        account_sid: v["account_sid"].as_str().unwrap().into(),
        auth_token: "auth-token-for-vectors".into(),
        api_key_sid: v["api_key_sid"].as_str().unwrap().into(),
        api_key_secret: v["api_key_secret"].as_str().unwrap().into(),
    };
    let now = v["now"].as_i64().unwrap();
    let server = TestServer::start_as(credentials, |c| {
        c.clock = ServerClock(Arc::new(Fixed(now * 1000)));
    })
    .await;
    let mut seen_codes = std::collections::BTreeSet::new();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let mut c = RawClient::connect(server.addr()).await.unwrap();
        c.hello(token, None).await;
        let first = c.next().await;
        // This server has only its default service: a valid token naming another service
        // verifies, then is refused for its grant (20106).
        let expected = match (
            case["expect"].as_str().unwrap(),
            &case["claims"]["service_sid"],
        ) {
            ("ok", Value::Null) => None,
            ("ok", _) => Some(20106),
            (_, _) => Some(case["code"].as_u64().unwrap() as u32),
        };
        match (expected, first) {
            (None, Received::Frame(ServerFrame::Welcome(w))) => {
                assert_eq!(
                    w.identity,
                    case["claims"]["identity"].as_str().unwrap(),
                    "{name}"
                );
                assert_eq!(w.server_time, now * 1000, "{name}");
            }
            (
                Some(code),
                Received::Frame(ServerFrame::Close {
                    code: got,
                    reason,
                    message,
                }),
            ) => {
                assert_eq!(reason, CloseReason::Denied, "{name}");
                assert_eq!(got, code, "{name}: {message}");
                assert!(!message.is_empty(), "{name}");
                assert_eq!(
                    c.until_closed().await,
                    Some(CloseReason::Denied.ws_code()),
                    "{name}"
                );
                seen_codes.insert(code);
            }
            (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
    }
    let all: std::collections::BTreeSet<u32> =
        [20101, 20102, 20103, 20104, 20105, 20106, 20107, 20157].into();
    assert_eq!(seen_codes, all, "every failure class was tried");
}

#[tokio::test]
async fn a_denied_client_leaves_other_sessions_untouched() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let mut intruder = RawClient::connect(server.addr()).await.unwrap();
    intruder.hello("not.a.jwt", None).await;
    let (reason, code, _) = intruder.closed().await;
    assert_eq!((reason, code), (CloseReason::Denied, 20101));
    let conv = alice
        .call("conversation.create", serde_json::json!({}))
        .await
        .expect("alice is still served");
    assert!(conv["sid"].as_str().unwrap().starts_with("CH"));
}
