//! No secret reaches the log, at the most verbose level there is: `confab serve --log trace`
//! (every crate, the HTTP and WebSocket libraries included) is taken through REST calls with
//! both credential pairs and with near-miss passwords, realtime sessions, a token renewal and
//! refused tokens, and its whole log is searched for every secret it saw.

use std::time::Duration;

use confab_testkit::{Api, RawClient, test_credentials};
use serde_json::json;

use crate::process::ServeProcess;

fn token(identity: &str, ttl_secs: i64) -> String {
    let c = test_credentials();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    confab_token::mint(
        &confab_token::ApiKey {
            sid: c.api_key_sid.clone(),
            secret: c.api_key_secret.clone(),
        },
        &confab_token::TokenSpec {
            account_sid: &c.account_sid,
            identity,
            service_sid: None,
            now,
            ttl_secs,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_ever_written_to_the_log_even_at_trace() {
    let c = test_credentials();
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::start_logging(dir.path(), "trace").await;
    let url = server.url.clone();
    let addr = url.trim_start_matches("http://").parse().unwrap();

    // REST: both pairs, and near misses of each secret (a wrong password is a secret too: it
    // is often a real one mistyped).
    let account = Api::new(url.clone(), &c.account_sid, &c.auth_token);
    let conv = account
        .post("/v1/Conversations", &[("FriendlyName", "logs")])
        .await
        .expect(201);
    let conv = conv["sid"].as_str().unwrap().to_owned();
    account
        .post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[("Identity", "alice")],
        )
        .await
        .expect(201);
    Api::new(url.clone(), &c.api_key_sid, &c.api_key_secret)
        .get("/v1/Conversations")
        .await
        .expect(200);
    let near_miss_token = format!("{}x", c.auth_token);
    let near_miss_secret = format!("{}x", c.api_key_secret);
    Api::new(url.clone(), &c.account_sid, &near_miss_token)
        .get("/v1/Conversations")
        .await
        .expect(401);
    Api::new(url.clone(), &c.api_key_sid, &near_miss_secret)
        .get("/v1/Conversations")
        .await
        .expect(401);

    // Realtime: a session, a message, a renewal, and a refused token.
    let first = token("alice", 3600);
    let renewal = token("alice", 7200);
    let (mut alice, _) = RawClient::join(addr, &first, None).await;
    alice
        .call(
            "message.send",
            json!({ "conversation": conv, "body": "hello" }),
        )
        .await
        .expect("sent");
    alice
        .call("token.update", json!({ "token": renewal }))
        .await
        .expect("renewed");
    let forged = format!("{}AAAA", &first[..first.len() - 4]);
    let mut mallory = RawClient::connect(addr).await.unwrap();
    mallory.hello(&forged, None).await;
    assert_eq!(mallory.closed().await.1, 20107);
    drop(alice);

    let log = server.log.take().expect("captured");
    assert!(server.terminate(Duration::from_secs(20)).await.success());
    let log = log.await.unwrap();
    // The session's `sdk` is logged at debug: its line shows the verbose levels were on.
    assert!(
        log.contains("confab-testkit-raw"),
        "debug logging was on: {log}"
    );
    let signature = |t: &str| t.rsplit('.').next().unwrap().to_owned();
    let basic = |user: &str, password: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    };
    for (what, secret) in [
        ("the auth token", c.auth_token.clone()),
        ("the API key secret", c.api_key_secret.clone()),
        ("a near miss of the auth token", near_miss_token.clone()),
        ("a near miss of the API key secret", near_miss_secret),
        ("an access token", first.clone()),
        ("an access token's signature", signature(&first)),
        ("a renewal's signature", signature(&renewal)),
        ("a forged token's signature", signature(&forged)),
        (
            "the account's basic-auth header",
            basic(&c.account_sid, &c.auth_token),
        ),
        (
            "the API key's basic-auth header",
            basic(&c.api_key_sid, &c.api_key_secret),
        ),
        (
            "a near miss's basic-auth header",
            basic(&c.account_sid, &near_miss_token),
        ),
    ] {
        if let Some(line) = log.lines().find(|l| l.contains(&secret)) {
            panic!("{what} is in the log: {line}");
        }
    }
    eprintln!(
        "{} log lines at trace, no secret in any",
        log.lines().count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_level_holds_for_the_websocket_library_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::start_logging(dir.path(), "warn").await;
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    // Sessions that open, talk and end badly: what the WebSocket library logs about.
    for _ in 0..3 {
        let (mut alice, _) = RawClient::join(addr, &token("alice", 3600), None).await;
        alice
            .call("conversations.list", json!({}))
            .await
            .expect("listed");
        drop(alice);
    }
    let log = server.log.take().expect("captured");
    assert!(server.terminate(Duration::from_secs(20)).await.success());
    let log = log.await.unwrap();
    // The secrets cap (the WebSocket library at debug at most) must not raise it above
    // the level asked for.
    for level in ["TRACE", "DEBUG", "INFO"] {
        assert!(
            !log.lines().any(|l| l.contains(level)),
            "--log warn wrote {level} lines: {log}"
        );
    }
}
