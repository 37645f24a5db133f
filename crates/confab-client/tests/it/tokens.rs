//! Tokens: renewal in place without a lost event, expiry into `Disconnected`, the provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientState, ConnectionState as C};
use confab_testkit::TestServer;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewing_on_about_to_expire_keeps_the_session_and_loses_no_message() {
    let server = TestServer::start_with(|c| c.token_skew_secs = 0).await;
    let api = server.api();
    let conv = api.post("/v1/Conversations", &[]).await.expect(201);
    let sid = conv["sid"].as_str().unwrap().to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", "alice")],
    )
    .await
    .expect(201);
    let mut opts = options(server.addr());
    opts.token_lead = Duration::from_millis(1_500);
    let first_exp = now_secs() + 3;
    let (client, mut events) = Client::new(server.token_at("alice", None, first_exp - 3, 3), opts);
    until(&mut events, |e| {
        matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
    })
    .await;
    let writer = {
        let (api, sid) = (api.clone(), sid.clone());
        tokio::spawn(async move {
            for i in 0..60 {
                api.post(
                    &format!("/v1/Conversations/{sid}/Messages"),
                    &[("Body", &format!("m{i}"))],
                )
                .await
                .expect(201);
            }
        })
    };
    let seen = until(&mut events, |e| {
        matches!(e, ClientEvent::TokenAboutToExpire { .. })
    })
    .await;
    client.update_token(server.token("alice")).await.unwrap();
    writer.await.unwrap();
    let mut all = seen;
    let indexes = |all: &[ClientEvent]| -> Vec<i64> {
        all.iter()
            .filter_map(|e| match e {
                ClientEvent::MessageAdded(m) => Some(m.index()),
                _ => None,
            })
            .collect()
    };
    while indexes(&all).len() < 60 {
        all.extend(until(&mut events, |e| matches!(e, ClientEvent::MessageAdded(_))).await);
    }
    assert_eq!(indexes(&all), (0..60).collect::<Vec<_>>());
    // Past the first token's exp (+1 s) nothing happens to the session: no close, no event.
    let left = (first_exp + 1 - now_secs()).max(0) as u64;
    let quiet = tokio::time::timeout(Duration::from_secs(left), events.next()).await;
    assert!(quiet.is_err(), "{quiet:?}");
    assert!(
        !all.iter()
            .any(|e| matches!(e, ClientEvent::ConnectionStateChanged(C::Connecting))),
        "{all:?}"
    );
    assert_eq!(client.connection_state(), C::Connected);
}

#[tokio::test]
async fn an_expired_token_ends_in_token_expired_then_disconnected() {
    let server = TestServer::start_with(|c| c.token_skew_secs = 0).await;
    let (client, mut events) = Client::new(
        server.token_at("alice", None, now_secs(), 2),
        options(server.addr()),
    );
    until(&mut events, |e| {
        matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
    })
    .await;
    let seen = until(&mut events, |e| {
        *e == ClientEvent::ConnectionStateChanged(C::Disconnected)
    })
    .await;
    let expired = seen
        .iter()
        .position(|e| *e == ClientEvent::TokenExpired)
        .expect("tokenExpired");
    assert!(
        expired < seen.len() - 1,
        "tokenExpired before disconnected: {seen:?}"
    );
    // update_token revives the disconnected client.
    client.update_token(server.token("alice")).await.unwrap();
    until(&mut events, |e| {
        *e == ClientEvent::ConnectionStateChanged(C::Connected)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_provider_keeps_the_client_connected_across_short_lived_tokens() {
    let server = Arc::new(TestServer::start_with(|c| c.token_skew_secs = 0).await);
    let minted = Arc::new(AtomicUsize::new(0));
    let mut opts = options(server.addr());
    opts.token_lead = Duration::from_millis(1_500);
    let opts = {
        let (server, minted) = (server.clone(), minted.clone());
        opts.with_token_provider(move || {
            let (server, minted) = (server.clone(), minted.clone());
            async move {
                // Each token outlives the one before, as a real token endpoint's do.
                let n = minted.fetch_add(1, Ordering::SeqCst) as i64;
                Ok(server.token_at("alice", None, now_secs(), 3 + n))
            }
        })
    };
    let (client, mut events) = Client::new(server.token_at("alice", None, now_secs(), 2), opts);
    let mut seen = vec![];
    while minted.load(Ordering::SeqCst) < 3 {
        seen.extend(
            until(&mut events, |e| {
                matches!(e, ClientEvent::TokenAboutToExpire { .. })
            })
            .await,
        );
    }
    // Each renewal came before its token's end: no expiry, no reconnect.
    assert!(!seen.contains(&ClientEvent::TokenExpired), "{seen:?}");
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, ClientEvent::ConnectionStateChanged(_)))
            .count(),
        2,
        "connecting, connected, nothing else: {seen:?}"
    );
    assert_eq!(client.connection_state(), C::Connected);
    client.shutdown().await;
}
