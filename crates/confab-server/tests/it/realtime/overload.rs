//! A reader that stops reading is closed with `slow_consumer` once its bounded queue fills,
//! and resumes cleanly from its cursors with nothing lost or repeated; again and again
//! (`CONFAB_SLOW_CYCLES`, 3 in CI), with the process's memory reported after each cycle.

use confab_testkit::TestServer;
use confab_testkit::load::{env_or, resident_kib};

use super::tracker::{Tracker, assert_all_once, conversation_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_reader_is_closed_as_slow_consumer_and_resumes_cleanly() {
    let cycles: u64 = env_or("CONFAB_SLOW_CYCLES", 3);
    let server = TestServer::start_with(|c| c.realtime.queue_capacity = 8).await;
    let conv = conversation_with(&server.api(), "alice").await;
    let mut t = Tracker::new(server.addr(), server.token_with("alice", None, 23 * 3600));
    t.connect().await;
    let body = "x".repeat(16 * 1024);
    let api = server.api();
    let mut sent = 0;
    let mut rss = vec![];
    for cycle in 1..=cycles {
        // Alice reads nothing while large messages pile up: the socket buffers fill, then
        // the queue, and the server closes her session rather than buffer without bound.
        let mut this_cycle = 0;
        while server.realtime_closes("slow_consumer") < cycle {
            assert!(
                this_cycle < 5000,
                "the queue bound never closed the session"
            );
            api.post(
                &format!("/v1/Conversations/{conv}/Messages"),
                &[("Author", "writer"), ("Body", body.as_str())],
            )
            .await
            .expect(201);
            sent += 1;
            this_cycle += 1;
        }
        server.wait_realtime_sessions(0).await;
        // She reads what reached her socket, reconnects with her cursors, and gets the rest.
        t.read_through(|t| t.delivered(&conv) == sent).await;
        assert_all_once(&t.indexes[&conv], sent);
        rss.push(resident_kib());
    }
    assert!(t.connects as u64 > cycles);
    eprintln!(
        "slow consumers: {cycles} closes, each resumed with all {sent} messages once, in order; \
         resident memory after each cycle (KiB): {rss:?}"
    );
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
    // The writer keeps going from before the reconnect until the replay has been read, then
    // writes 20 more, each once the reader has the one before: the transition from replay to
    // live is crossed by a reader that keeps up (a queue of 2 cannot absorb scheduling
    // hiccups of a writer that runs ahead, which is what the first test is about).
    let (delivered, mut seen_by_writer) = tokio::sync::watch::channel(0usize);
    let writer = {
        let (api, conv) = (server.api(), conv.clone());
        tokio::spawn(async move {
            let mut n = BACKLOG;
            let mut after = 0;
            while after < 20 && n < BACKLOG + 2000 {
                super::tracker::post_messages(api.clone(), conv.clone(), n, 1).await;
                n += 1;
                if *seen_by_writer.borrow() >= BACKLOG {
                    after += 1;
                    let caught_up = seen_by_writer.wait_for(|d| *d >= n);
                    tokio::time::timeout(std::time::Duration::from_secs(20), caught_up)
                        .await
                        .expect("the reader keeps up after the replay")
                        .expect("the reader is there");
                }
            }
            n
        })
    };
    t.connect().await;
    // The writer ends once the reader has everything (it waits for each of its last 20).
    let total = tokio::select! {
        _ = t.read_until(|t| {
            delivered.send_replace(t.delivered(&conv));
            false
        }) => panic!(
            "closed: slow_consumer closes {}",
            server.realtime_closes("slow_consumer")
        ),
        total = writer => total.unwrap(),
    };
    assert_all_once(&t.indexes[&conv], total);
    assert_eq!(server.realtime_closes("slow_consumer"), 0);
}
