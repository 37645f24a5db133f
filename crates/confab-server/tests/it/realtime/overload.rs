//! A reader that stops reading is closed with `slow_consumer` once its bounded queue fills,
//! and resumes cleanly from its cursors with nothing lost or repeated.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_replaying_a_backlog_is_not_a_slow_consumer() {
    // A queue of 2 overflows as soon as a few messages are written while the pump replays:
    // the session must catch up from the log rather than be closed.
    let server = TestServer::start_with(|c| c.realtime.queue_capacity = 2).await;
    let conv = conversation_with(&server.api(), "alice").await;
    let mut t = Tracker::new(server.addr(), server.token("alice"));
    t.connect().await;
    t.client.take().unwrap().close().await;
    const BACKLOG: usize = 300;
    super::tracker::post_messages(server.api(), conv.clone(), 0, BACKLOG).await;
    // The writer keeps going from before the reconnect until the replay has been read, and a
    // little longer.
    let delivered = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (api, conv, delivered) = (server.api(), conv.clone(), delivered.clone());
        tokio::spawn(async move {
            let mut n = BACKLOG;
            let mut after = 0;
            while after < 20 && n < BACKLOG + 2000 {
                super::tracker::post_messages(api.clone(), conv.clone(), n, 1).await;
                n += 1;
                if delivered.load(Ordering::SeqCst) >= BACKLOG {
                    after += 1;
                }
            }
            n
        })
    };
    t.connect().await;
    let seen = delivered.clone();
    assert!(
        t.read_until(|t| {
            seen.store(t.delivered(&conv), Ordering::SeqCst);
            t.delivered(&conv) >= BACKLOG
        })
        .await,
        "closed during the replay"
    );
    let total = writer.await.unwrap();
    assert!(
        t.read_until(|t| t.delivered(&conv) == total).await,
        "closed after the replay"
    );
    assert_all_once(&t.indexes[&conv], total);
    assert_eq!(server.realtime_closes("slow_consumer"), 0);
}
