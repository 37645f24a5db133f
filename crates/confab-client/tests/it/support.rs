//! Helpers: client options for a test server, and waiting on events with a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use confab_client::{ClientEvent, ClientOptions, Events};

/// How long any wait lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn options(addr: SocketAddr) -> ClientOptions {
    ClientOptions::new(format!("ws://{addr}"))
}

/// Where events come from: a client's stream or one conversation's (the same type).
pub trait Source {
    async fn next_event(&mut self) -> Option<ClientEvent>;
}

impl Source for Events {
    async fn next_event(&mut self) -> Option<ClientEvent> {
        self.next().await
    }
}

/// Reads events until `want` matches one; returns everything read, the match last.
pub async fn until(
    events: &mut impl Source,
    want: impl Fn(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let mut seen = vec![];
    loop {
        match tokio::time::timeout(WAIT, events.next_event()).await {
            Ok(Some(e)) => {
                let done = want(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            Ok(None) => panic!("the event stream ended; seen: {seen:?}"),
            Err(_) => panic!("timed out; seen: {seen:?}"),
        }
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Starts a client and waits until it is initialized.
pub async fn ready(
    server: &confab_testkit::TestServer,
    identity: &str,
) -> (confab_client::Client, Events) {
    let (client, mut events) =
        confab_client::Client::new(server.token(identity), options(server.addr()));
    until(&mut events, |e| {
        matches!(
            e,
            ClientEvent::StateChanged(confab_client::ClientState::Initialized)
        )
    })
    .await;
    (client, events)
}
