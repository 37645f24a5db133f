//! Resume after a cut, a stall and a server restart while a writer keeps sending: every event
//! of the watched streams arrives exactly once and in order (the tracker asserts each `seq`),
//! and the messages delivered are exactly those in the conversation's record.

use std::time::Duration;

use confab_testkit::{FaultProxy, TestServer};

use super::tracker::{Tracker, assert_all_once, conversation_with, post_messages};

const BEFORE: usize = 60;
const DURING: usize = 120;

fn quick_heartbeat(c: &mut confab_server::ServerConfig) {
    c.realtime.heartbeat = Duration::from_millis(200);
    c.realtime.heartbeat_grace = Duration::from_millis(200);
}

/// The tracker's cursor is the conversation log's head: nothing committed was left out.
async fn assert_at_head(server: &TestServer, t: &Tracker, conv: &str) {
    let (_c, w) = server.realtime("alice").await;
    let cursor = t.resume.as_ref().unwrap().conversations[conv];
    assert_eq!(
        cursor, w.resumed.conversations[conv],
        "delivered up to the log's head"
    );
}

/// Messages the conversation holds, by index, through REST.
async fn recorded(server: &TestServer, conv: &str) -> usize {
    let (msgs, _) = server
        .api()
        .collect_pages(
            &format!("/v1/Conversations/{conv}/Messages?PageSize=100"),
            "messages",
        )
        .await;
    msgs.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_cut_delivers_everything_once_while_others_send() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    // A slow network all along: every chunk is held 2 ms each way.
    proxy.set_delay(Duration::from_millis(2));
    let conv = conversation_with(&server.api(), "alice").await;
    server
        .api()
        .post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[("Identity", "bob")],
        )
        .await
        .expect(201);
    let mut t = Tracker::new(proxy.local_addr(), server.token("alice"));
    t.connect().await;
    // Bob sends over his own realtime session, an app backend over REST, both at once.
    let (bob, _) = server.realtime("bob").await;
    let bob_sends = tokio::spawn(send_as(bob, conv.clone(), DURING / 2));
    let backend = tokio::spawn(post_messages(
        server.api(),
        conv.clone(),
        0,
        BEFORE + DURING / 2,
    ));
    assert!(t.read_until(|t| t.delivered(&conv) >= BEFORE / 2).await);
    proxy.cut_all();
    // Reconnecting is refused for a moment; the writers go on while alice is away and
    // while she replays.
    proxy.refuse_new(true);
    assert!(
        confab_testkit::RawClient::connect(proxy.local_addr())
            .await
            .is_err(),
        "a refused connection does not open"
    );
    proxy.refuse_new(false);
    t.read_through(|t| t.delivered(&conv) == BEFORE + DURING)
        .await;
    bob_sends.await.unwrap();
    backend.await.unwrap();
    assert_all_once(&t.indexes[&conv], BEFORE + DURING);
    assert_eq!(recorded(&server, &conv).await, BEFORE + DURING);
    assert_at_head(&server, &t, &conv).await;
    assert!(t.connects >= 2, "the cut forced a reconnect");
}

/// Sends `n` messages through a realtime session, each with its own `op_id`.
async fn send_as(mut c: confab_testkit::RawClient, conv: String, n: usize) {
    for i in 0..n {
        c.call_op(
            "message.send",
            &format!("bob-{i}"),
            serde_json::json!({"conversation": conv, "body": format!("b{i}")}),
        )
        .await
        .expect("sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_stall_dropped_by_the_heartbeat_deadline() {
    let server = TestServer::start_with(quick_heartbeat).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let conv = conversation_with(&server.api(), "alice").await;
    let mut t = Tracker::new(proxy.local_addr(), server.token("alice"));
    t.connect().await;
    post_messages(server.api(), conv.clone(), 0, BEFORE).await;
    assert!(t.read_until(|t| t.delivered(&conv) == BEFORE).await);
    proxy.stall();
    // Silent past 2H + grace: the server drops the session by itself.
    server.wait_realtime_sessions(0).await;
    assert_eq!(server.realtime_closes("dropped"), 1);
    let writer = tokio::spawn(post_messages(server.api(), conv.clone(), BEFORE, DURING));
    proxy.resume();
    t.read_through(|t| t.delivered(&conv) == BEFORE + DURING)
        .await;
    writer.await.unwrap();
    assert_all_once(&t.indexes[&conv], BEFORE + DURING);
    // At least the reconnect after the stall; on a loaded machine a 200 ms heartbeat may
    // drop the new session too (seen in CI), and the resume must hold all the same.
    assert!(t.connects >= 2, "the stall forced a reconnect");
    assert_at_head(&server, &t, &conv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_server_restart_with_writes_during_the_replay() {
    let mut server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let conv = conversation_with(&server.api(), "alice").await;
    let mut t = Tracker::new(proxy.local_addr(), server.token("alice"));
    t.connect().await;
    post_messages(server.api(), conv.clone(), 0, BEFORE).await;
    assert!(t.read_until(|t| t.delivered(&conv) >= BEFORE / 3).await);
    server.restart_same_port().await;
    // The session saw `shutting_down` (or the cut); the client resumes on the new process
    // while a writer commits more, some of it during the replay.
    let writer = tokio::spawn(post_messages(server.api(), conv.clone(), BEFORE, DURING));
    t.read_through(|t| t.delivered(&conv) == BEFORE + DURING)
        .await;
    writer.await.unwrap();
    assert_all_once(&t.indexes[&conv], BEFORE + DURING);
    assert_eq!(recorded(&server, &conv).await, BEFORE + DURING);
    assert_at_head(&server, &t, &conv).await;
}

#[tokio::test]
async fn shutdown_tells_sessions_shutting_down() {
    let mut server = TestServer::start().await;
    let (mut c, _) = server.realtime("alice").await;
    let stop = async { server.stop().await };
    let closed = async { c.closed().await };
    let ((), (reason, code, _)) = tokio::join!(stop, closed);
    assert_eq!(reason, confab_protocol::frame::CloseReason::ShuttingDown);
    assert_eq!(code, 20503);
}

#[tokio::test]
async fn a_cursor_older_than_the_log_gets_conversation_reset() {
    let server = TestServer::start().await;
    let conv = conversation_with(&server.api(), "alice").await;
    let (_c, w) = server.realtime("alice").await;
    let cursor = w.resumed.conversations[&conv];
    drop(_c);
    post_messages(server.api(), conv.clone(), 0, 5).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(server.prune_logs_before(now + 1).await >= 5);
    post_messages(server.api(), conv.clone(), 5, 1).await;
    let mut resume = confab_protocol::frame::Resume {
        user_seq: w.resumed.user_seq,
        ..Default::default()
    };
    resume.conversations.insert(conv.clone(), cursor);
    let (mut c, _) =
        confab_testkit::RawClient::join(server.addr(), &server.token("alice"), Some(resume)).await;
    // A reset, not a replay: the client reloads the conversation; the kept event follows.
    let first = c.next().await;
    let confab_testkit::Received::Event(reset) = first else {
        panic!("{first:?}")
    };
    assert_eq!(reset.stream, conv);
    assert_eq!(reset.seq, None);
    let confab_protocol::event::EventBody::ConversationReset(r) = reset.body else {
        panic!("{reset:?}")
    };
    // Everything up to the kept event is gone: the reset stands for the seq before it.
    let kept = c.next_event().await;
    assert_eq!(kept.seq, Some(r.seq + 1));
    assert!(r.seq > cursor + 5 - 1, "{r:?} after cursor {cursor}");
    let confab_protocol::event::EventBody::MessageAdded(m) = kept.body else {
        panic!("{kept:?}")
    };
    assert_eq!(m.index, 5);
}
