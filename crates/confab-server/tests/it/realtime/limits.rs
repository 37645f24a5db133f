//! Overload limits: sessions per identity, request rates per identity and per conversation,
//! a flood of connections with bad tokens while good clients are served, the connection cap,
//! and the request-head and write deadlines.

use std::time::Duration;

use confab_protocol::frame::{CloseReason, ServerFrame};
use confab_server::rest::rate_limit::RateLimit;
use confab_testkit::raw::Received;
use confab_testkit::{RawClient, TestServer};
use serde_json::json;

use super::tracker::conversation_with;

/// A conversation of alice and bob.
async fn alice_and_bob(api: &confab_testkit::Api) -> String {
    let conv = conversation_with(api, "alice").await;
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[("Identity", "bob")],
    )
    .await
    .expect(201);
    conv
}

/// A limit that never refills within a test: `burst` requests, then none.
fn only(burst: u32) -> RateLimit {
    RateLimit {
        per_second: 1e-9,
        burst,
    }
}

#[tokio::test]
async fn an_identity_gets_its_sessions_and_no_more_until_one_closes() {
    let server = TestServer::start_with(|c| c.realtime.max_sessions_per_identity = 2).await;
    let (first, _) = server.realtime("alice").await;
    let (_second, _) = server.realtime("alice").await;
    let mut third = RawClient::connect(server.addr()).await.unwrap();
    third.hello(&server.token("alice"), None).await;
    let Received::Frame(ServerFrame::Close {
        reason,
        code,
        message,
    }) = third.next().await
    else {
        panic!("a close frame");
    };
    assert_eq!(
        (reason, code),
        (CloseReason::TooManySessions, 20429),
        "{message}"
    );
    assert_eq!(
        third.until_closed().await,
        Some(CloseReason::TooManySessions.ws_code())
    );
    // Another identity is not affected.
    let (_bob, _) = server.realtime("bob").await;
    // Once one of alice's sessions is gone, she may open another.
    first.close().await;
    server.wait_realtime_sessions(2).await;
    let (_again, w) = server.realtime("alice").await;
    assert_eq!(w.identity, "alice");
    assert_eq!(server.realtime_closes("too_many_sessions"), 1);
}

#[tokio::test]
async fn an_identity_past_its_rate_is_refused_with_20429_and_nothing_changes() {
    let server = TestServer::start_with(|c| c.realtime.identity_rate = only(3)).await;
    let api = server.api();
    let conv = alice_and_bob(&api).await;
    let (mut alice, _) = server.realtime("alice").await;
    let send = |body: &str| json!({"conversation": conv, "body": body});
    for body in ["a", "b", "c"] {
        alice.call("message.send", send(body)).await.unwrap();
    }
    // Past the burst: refused, whatever the method.
    let refused = alice.call_op("message.send", "op-1", send("d")).await;
    assert_eq!(refused.unwrap_err().code, 20429);
    let read = alice
        .call("conversation.get", json!({"conversation": conv}))
        .await;
    assert_eq!(read.unwrap_err().code, 20429);
    // Bob has his own budget; the refused message was not stored.
    let (mut bob, _) = server.realtime("bob").await;
    let page = bob
        .call("message.list", json!({"conversation": conv}))
        .await
        .unwrap();
    let bodies: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, ["a", "b", "c"]);
}

/// One request a second, bursts of one.
const SLOW: RateLimit = RateLimit {
    per_second: 1.0,
    burst: 1,
};

#[tokio::test]
async fn a_refusal_for_the_rate_is_not_remembered_and_a_resend_of_a_done_request_is_free() {
    refusal_not_remembered(|c| c.realtime.identity_rate = SLOW).await;
}

#[tokio::test]
async fn a_refusal_for_the_conversation_rate_is_not_remembered_either() {
    refusal_not_remembered(|c| c.realtime.conversation_rate = SLOW).await;
}

/// With a limit of one message a second (by `limit`), a resend of an answered request gets
/// its answer uncharged, and a refused one runs when resent after a pause.
async fn refusal_not_remembered(limit: impl FnOnce(&mut confab_server::ServerConfig)) {
    let server = TestServer::start_with(limit).await;
    let api = server.api();
    let conv = conversation_with(&api, "alice").await;
    let (mut alice, _) = server.realtime("alice").await;
    let send = |body: &str| json!({"conversation": conv, "body": body});
    let first = alice
        .call_op("message.send", "op-1", send("a"))
        .await
        .unwrap();
    // The bucket is empty now; a resend of the answered request gets its answer, uncharged.
    let again = alice
        .call_op("message.send", "op-1", send("a"))
        .await
        .unwrap();
    assert_eq!(again["sid"], first["sid"]);
    let refused = alice.call_op("message.send", "op-2", send("b")).await;
    assert_eq!(refused.unwrap_err().code, 20429);
    // Resent after a pause, as a client does, the refused request runs: the refusal was not
    // remembered as its answer.
    let sent = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            match alice.call_op("message.send", "op-2", send("b")).await {
                Ok(m) => return m,
                Err(e) => assert_eq!(e.code, 20429),
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the bucket refills");
    assert_eq!(sent["body"], "b");
    let bodies: Vec<_> = api
        .get(&format!("/v1/Conversations/{conv}/Messages"))
        .await
        .expect(200)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, ["a", "b"], "each once");
}

#[tokio::test]
async fn a_conversation_past_its_rate_refuses_more_messages_from_anyone() {
    let server = TestServer::start_with(|c| c.realtime.conversation_rate = only(2)).await;
    let api = server.api();
    let busy = alice_and_bob(&api).await;
    let quiet = conversation_with(&api, "bob").await;
    let (mut alice, _) = server.realtime("alice").await;
    let (mut bob, _) = server.realtime("bob").await;
    for body in ["a", "b"] {
        alice
            .call("message.send", json!({"conversation": busy, "body": body}))
            .await
            .unwrap();
    }
    let refused = bob
        .call("message.send", json!({"conversation": busy, "body": "c"}))
        .await;
    assert_eq!(refused.unwrap_err().code, 20429);
    // An outsider cannot spend the conversation's budget (refused as a non-participant),
    // nor can a malformed message: after two of each, both of quiet's messages still go.
    let (mut mallory, _) = server.realtime("mallory").await;
    for _ in 0..2 {
        let outsider = mallory
            .call("message.send", json!({"conversation": quiet, "body": "x"}))
            .await;
        assert_eq!(outsider.unwrap_err().code, 20403);
        let empty = bob
            .call("message.send", json!({"conversation": quiet, "body": ""}))
            .await;
        assert_ne!(empty.unwrap_err().code, 20429);
    }
    // Other conversations, and other methods in this one, go on.
    for body in ["q", "r"] {
        bob.call("message.send", json!({"conversation": quiet, "body": body}))
            .await
            .unwrap();
    }
    bob.call("message.list", json!({"conversation": busy}))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_tokens_leaves_good_clients_served() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = alice_and_bob(&api).await;
    let (mut alice, _) = server.realtime("alice").await;
    let (mut bob, _) = server.realtime("bob").await;
    let started = std::time::Instant::now();
    // 16 attackers, each opening connections with forged tokens as fast as it can, until
    // the talk below is over and it has made at least `CONFAB_FLOOD` (40 in CI).
    let per_attacker: usize = confab_testkit::load::env_or("CONFAB_FLOOD", 40);
    let addr = server.addr();
    let forged = format!("{}x", server.token("mallory"));
    let (talk_over, over) = tokio::sync::watch::channel(false);
    let mut attackers = vec![];
    for _ in 0..16 {
        let (forged, over) = (forged.clone(), over.clone());
        attackers.push(tokio::spawn(async move {
            let mut denied = 0;
            let mut tried = 0;
            while tried < per_attacker || !*over.borrow() {
                tried += 1;
                let Ok(mut c) = RawClient::connect(addr).await else {
                    continue;
                };
                c.hello(&forged, None).await;
                if let Received::Frame(ServerFrame::Close { reason, .. }) = c.next().await {
                    assert_eq!(reason, CloseReason::Denied);
                    denied += 1;
                }
            }
            denied
        }));
    }
    // Meanwhile alice and bob talk: every message is answered and delivered.
    for i in 0..50i64 {
        alice.send_seen_by(&mut bob, &conv, i).await;
    }
    let talked = started.elapsed();
    assert!(
        attackers.iter().all(|a| !a.is_finished()),
        "the flood lasted the whole talk"
    );
    talk_over.send_replace(true);
    let mut denied = 0;
    for a in attackers {
        denied += a.await.unwrap();
    }
    assert!(denied >= 16 * per_attacker);
    assert_eq!(
        server.realtime_closes("denied"),
        denied as u64,
        "every forged hello was denied"
    );
    eprintln!(
        "bad-token flood: {denied} forged connections denied in {:?}; meanwhile 50 messages \
         answered and delivered in {talked:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_the_in_flight_limit_are_answered_20429_and_the_session_stays() {
    let server = TestServer::start_with(|c| c.realtime.max_pending_requests = 1).await;
    let conv = conversation_with(&server.api(), "alice").await;
    let (mut alice, _) = server.realtime("alice").await;
    // 200 requests sent back to back, without waiting for answers: each waits for the store
    // while the session reads the next, so most find the one slot taken.
    let mut ids = vec![];
    for _ in 0..200 {
        ids.push(
            alice
                .send_req("conversation.get", None, json!({"conversation": conv}))
                .await,
        );
    }
    let (mut ok, mut busy) = (0, 0);
    for id in ids {
        match alice.answer(id).await {
            Ok(c) => {
                assert_eq!(c["sid"], conv);
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.code, 20429, "{e:?}");
                busy += 1;
            }
        }
    }
    assert!(ok >= 1 && busy >= 1, "{ok} answered, {busy} refused");
    // Every request got its answer, and the session goes on.
    alice
        .call("conversation.get", json!({"conversation": conv}))
        .await
        .unwrap();
}

/// Reads what the server sends on `stream` until it closes, at most `within`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = vec![];
    tokio::time::timeout(within, stream.read_to_end(&mut got))
        .await
        .expect("the server closed the connection in time")
        .ok();
    String::from_utf8_lossy(&got).into_owned()
}

/// Opens a connection and completes one request on it, so the server surely counts it.
async fn kept_alive(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0; 1024];
    let mut n = 0;
    while !String::from_utf8_lossy(&answer[..n]).ends_with("ok") {
        let more = s.read(&mut answer[n..]).await.unwrap();
        assert!(more > 0, "closed before answering");
        n += more;
    }
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"));
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_503_and_the_sessions_in_go_on() {
    let server = TestServer::start_with(|c| c.max_connections = Some(6)).await;
    let conv = alice_and_bob(&server.api()).await;
    let (mut alice, _) = server.realtime("alice").await;
    let (mut bob, _) = server.realtime("bob").await;
    // The REST client of the setup has gone; the server sees its connection close.
    server.wait_open_connections(2).await;
    let mut fillers = vec![];
    for _ in 0..4 {
        fillers.push(kept_alive(server.addr()).await);
    }
    assert_eq!(server.open_connections(), 6);
    // The cap is reached: a new connection is told 503 and closed, whatever it is for.
    for _ in 0..3 {
        let mut late = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let answer = read_until_closed(&mut late, Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
        assert!(answer.contains("retry-after: 1"), "{answer:?}");
    }
    assert!(RawClient::connect(server.addr()).await.is_err());
    assert_eq!(server.connections_refused(), 4);
    assert_eq!(server.open_connections(), 6, "refusals hold nothing");
    // The sessions already in are served as before.
    alice
        .call(
            "message.send",
            json!({"conversation": conv, "body": "still here"}),
        )
        .await
        .unwrap();
    match bob.next_event().await.body {
        confab_protocol::event::EventBody::MessageAdded(m) => {
            assert_eq!(m.body.as_deref(), Some("still here"))
        }
        other => panic!("{other:?}"),
    }
    // A connection that closes gives its place back: the next one gets in (once the server
    // has seen the close, which it does on its own time, hence the tries).
    drop(fillers.pop());
    server.wait_open_connections(5).await;
    let mut carol = RawClient::connect(server.addr()).await.unwrap();
    carol.hello(&server.token("carol"), None).await;
    assert!(matches!(
        carol.next().await,
        Received::Frame(ServerFrame::Welcome(_))
    ));
    assert_eq!(server.open_connections(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_say_nothing_are_closed_at_the_head_deadline() {
    use tokio::io::AsyncWriteExt;
    let server =
        TestServer::start_with(|c| c.request_head_timeout = Duration::from_millis(300)).await;
    let conv = alice_and_bob(&server.api()).await;
    let (mut alice, _) = server.realtime("alice").await;
    // Silent from the start, a head dribbled and never finished, and an idle kept-alive
    // connection: each is closed by the server, none holds its descriptor for good.
    let mut silent = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut dribbling = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    dribbling
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut idle = kept_alive(server.addr()).await;
    for s in [&mut silent, &mut dribbling, &mut idle] {
        read_until_closed(s, Duration::from_secs(10)).await;
    }
    // A realtime session is past its request head: the deadline does not touch it.
    alice
        .call(
            "message.send",
            json!({"conversation": conv, "body": "later"}),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_answered_408_and_its_connection_closed() {
    use tokio::io::AsyncWriteExt;
    let server =
        TestServer::start_with(|c| c.request_head_timeout = Duration::from_millis(300)).await;
    let c = server.credentials().clone();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", c.account_sid, c.auth_token),
    );
    // A whole head promising 1,000 bytes, then a few of them, then nothing: the head was on
    // time, the body never will be.
    let mut slow = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(
        format!(
            "POST /v1/Conversations HTTP/1.1\r\nhost: x\r\nauthorization: Basic {auth}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\n\
             FriendlyName=slo"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("20408"), "{answer}");
    // Nothing was created, and the server serves the next request.
    let list = server.api().get("/v1/Conversations").await.expect(200);
    assert_eq!(list["conversations"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_answers_is_dropped_at_the_write_deadline() {
    use tokio::io::AsyncWriteExt;
    let server =
        TestServer::start_with(|c| c.write_stall_timeout = Duration::from_millis(300)).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut deaf = socket.connect(server.addr()).await.unwrap();
    server.wait_open_connections(1).await;
    // Requests pipelined without reading a byte of the answers, until the server stops
    // taking them (its answers fill the socket) or drops the connection.
    let requests = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n".repeat(1000);
    while let Ok(Ok(())) =
        tokio::time::timeout(Duration::from_secs(2), deaf.write_all(&requests)).await
    {}
    // Dropped at the write deadline: its place under the cap is free again.
    server.wait_open_connections(0).await;
}

#[tokio::test]
async fn a_conversation_has_one_budget_by_sid_or_unique_name() {
    let server = TestServer::start_with(|c| c.realtime.conversation_rate = only(1)).await;
    let api = server.api();
    let c = api
        .post("/v1/Conversations", &[("UniqueName", "room")])
        .await
        .expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", "alice")],
    )
    .await
    .expect(201);
    let (mut alice, _) = server.realtime("alice").await;
    alice
        .call("message.send", json!({"conversation": sid, "body": "a"}))
        .await
        .unwrap();
    let by_name = alice
        .call("message.send", json!({"conversation": "room", "body": "b"}))
        .await;
    assert_eq!(by_name.unwrap_err().code, 20429);
}
