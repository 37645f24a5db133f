//! A flood of connections that open and say nothing, against the real binary: more than its
//! connection cap, all at once. The server must keep its descriptors under the cap (its store
//! needs some too), answer the ones past the cap `503` at once, close the silent ones at the
//! request-head deadline, and meanwhile serve the sessions it has, then take new ones.
//!
//! `CONFAB_HOLD` (default 1,200) sets the flood's size and `CONFAB_HOLD_CAP` (default 1,000)
//! the server's `--max-connections`; `CONFAB_HOLD_CAP=limit` leaves the server its default,
//! derived from the open-file limit (19,000 at this machine's 20,000), for the long run in
//! `docs/RELIABILITY.md`. The test process holds one descriptor per flood connection too: it
//! raises its own open-file limit as far as allowed, and `CONFAB_HOLD` must stay under that.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_protocol::frame::ServerFrame;
use confab_testkit::load::env_or;
use confab_testkit::raw::Received;
use confab_testkit::{RawClient, test_token};
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::process::ServeProcess;

/// How a flood connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Answered 503 at once: the cap was reached.
    Refused,
    /// Taken, then closed at the request-head deadline.
    TimedOut,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_connections_past_the_cap_leaves_sessions_served() {
    let hold: usize = env_or("CONFAB_HOLD", 1_200);
    let own_limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1_024);
    assert!(
        (hold as u64) + 200 < own_limit,
        "CONFAB_HOLD={hold} needs more descriptors than this process may open ({own_limit})"
    );
    let cap: String = env_or("CONFAB_HOLD_CAP", "1000".to_owned());
    let mut flags = vec!["--request-head-timeout-secs", "5"];
    if cap != "limit" {
        flags.extend(["--max-connections", &cap]);
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start_with(dir.path(), &flags).await;
    let pid = server.child.id().expect("running");
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let conv = {
        let api = server.api();
        let c = api.post("/v1/Conversations", &[]).await.expect(201);
        let sid = c["sid"].as_str().unwrap().to_owned();
        for who in ["alice", "bob"] {
            api.post(
                &format!("/v1/Conversations/{sid}/Participants"),
                &[("Identity", who)],
            )
            .await
            .expect(201);
        }
        sid
    };
    let mut alice = session(addr, "alice").await;
    let mut bob = session(addr, "bob").await;

    // The flood: `hold` connections opened all at once (512 connecting at a time), each
    // holding its socket silent until the server closes it.
    let started = Instant::now();
    let (connected, mut all_connected) = tokio::sync::mpsc::channel::<()>(hold.max(1));
    let connecting = Arc::new(tokio::sync::Semaphore::new(512));
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..hold {
        let (connected, connecting) = (connected.clone(), connecting.clone());
        flood.spawn(async move {
            let permit = connecting.acquire_owned().await.unwrap();
            let mut s = tokio::net::TcpStream::connect(addr)
                .await
                .expect("the kernel takes the connection");
            drop(permit);
            connected.send(()).await.unwrap();
            let mut got = vec![];
            tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut got))
                .await
                .expect("the server closed the silent connection")
                .ok();
            if got.starts_with(b"HTTP/1.1 503") {
                Ended::Refused
            } else {
                assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
                Ended::TimedOut
            }
        });
    }
    drop(connected);
    for _ in 0..hold {
        all_connected
            .recv()
            .await
            .expect("every flood task connects");
    }
    let flooded_in = started.elapsed();
    let descriptors = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    let mut most_descriptors = descriptors();

    // Meanwhile alice and bob talk: every message is answered and delivered in order.
    for i in 0..50i64 {
        alice.send_seen_by(&mut bob, &conv, i).await;
        most_descriptors = most_descriptors.max(descriptors());
    }
    let talked = started.elapsed();

    let (mut refused, mut timed_out) = (0usize, 0usize);
    while let Some(ended) = flood.join_next().await {
        match ended.unwrap() {
            Ended::Refused => refused += 1,
            Ended::TimedOut => timed_out += 1,
        }
    }
    // `limit`: the cap the server derived from its own open-file limit.
    let cap_n: usize = cap
        .parse()
        .unwrap_or_else(|_| confab_server::listen::connection_cap(server_open_files(pid)));
    assert_eq!(refused + timed_out, hold);
    assert!(
        most_descriptors < cap_n + 200,
        "the server held {most_descriptors} descriptors with a cap of {cap_n} connections"
    );
    assert!(
        timed_out <= cap_n,
        "{timed_out} taken past a cap of {cap_n}"
    );
    if hold > cap_n {
        assert!(refused > 0, "a flood past the cap was refused in part");
    }
    // Every silent connection is gone: a new session gets in.
    let mut carol = session(addr, "carol").await;
    carol
        .call("conversation.join", json!({"conversation": conv}))
        .await
        .unwrap();
    eprintln!(
        "connection flood: {hold} silent connections in {flooded_in:?} against a cap of \
         {cap_n}: {refused} refused (503), {timed_out} closed at the head deadline; server \
         descriptors at most (sampled during the talk): {most_descriptors}; 50 messages answered and delivered by \
         {talked:?}; all closed by {:?}",
        started.elapsed()
    );
}

/// The soft open-file limit of process `pid`, from `/proc/PID/limits`.
fn server_open_files(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// A realtime session, welcomed.
async fn session(addr: SocketAddr, identity: &str) -> RawClient {
    let mut c = RawClient::connect(addr).await.unwrap();
    c.hello(&test_token(identity), None).await;
    match c.next().await {
        Received::Frame(ServerFrame::Welcome(_)) => c,
        other => panic!("{identity} not welcomed: {other:?}"),
    }
}
