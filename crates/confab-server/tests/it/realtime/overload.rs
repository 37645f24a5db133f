//! A reader that stops reading is closed with `slow_consumer` once its bounded queue fills,
//! and resumes cleanly from its cursors with nothing lost or repeated.

use confab_testkit::TestServer;

use super::tracker::{Tracker, assert_all_once, conversation_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_reader_is_closed_as_slow_consumer_and_resumes_cleanly() {
    let server = TestServer::start_with(|c| c.realtime.queue_capacity = 8).await;
    let conv = conversation_with(&server.api(), "alice").await;
    let mut t = Tracker::new(server.addr(), server.token("alice"));
    t.connect().await;
    // Alice reads nothing while large messages pile up: the socket buffers fill, then the
    // queue, and the server closes her session rather than buffer without bound.
    let body = "x".repeat(16 * 1024);
    let api = server.api();
    let mut sent = 0;
    while server.realtime_closes("slow_consumer") == 0 {
        assert!(sent < 5000, "the queue bound never closed the session");
        api.post(
            &format!("/v1/Conversations/{conv}/Messages"),
            &[("Author", "writer"), ("Body", body.as_str())],
        )
        .await
        .expect(201);
        sent += 1;
    }
    server.wait_realtime_sessions(0).await;
    // She reads what reached her socket, reconnects with her cursors, and gets the rest.
    t.read_through(|t| t.delivered(&conv) == sent).await;
    assert_all_once(&t.indexes[&conv], sent);
    assert!(t.connects >= 2);
}
