//! Initialization, states, denial, revival, the window, shutdown, requests.

use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientState, ConnectionState as C};
use confab_testkit::{FaultProxy, TestServer};

use crate::support::*;

#[tokio::test]
async fn a_client_connects_and_initializes_after_loading_its_conversations() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = api
        .post("/v1/Conversations", &[("FriendlyName", "room")])
        .await
        .expect(201);
    let sid = conv["sid"].as_str().unwrap().to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", "alice")],
    )
    .await
    .expect(201);
    let (client, mut events) = Client::new(server.token("alice"), options(server.addr()));
    let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
    assert_eq!(seen[0], ClientEvent::ConnectionStateChanged(C::Connecting));
    assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Connected)));
    assert!(
        seen.iter()
            .any(|e| matches!(e, ClientEvent::ConversationAdded(c) if c.sid().as_str() == sid)),
        "{seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&ClientEvent::StateChanged(ClientState::Initialized))
    );
    assert_eq!(client.client_state(), Some(ClientState::Initialized));
    assert_eq!(client.connection_state(), C::Connected);
}

#[tokio::test]
async fn a_message_reaches_sender_and_member_once() {
    let server = TestServer::start().await;
    let (alice, mut a_events) = Client::new(server.token("alice"), options(server.addr()));
    let (bob, mut b_events) = Client::new(server.token("bob"), options(server.addr()));
    for events in [&mut a_events, &mut b_events] {
        until(events, |e| {
            matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
        })
        .await;
    }
    let conv = alice.create_conversation(Some("pair")).await.unwrap();
    alice.join(conv.sid.as_str()).await.unwrap();
    bob.join(conv.sid.as_str()).await.unwrap();
    let sent = alice
        .send_message(conv.sid.as_str(), "hello bob")
        .await
        .unwrap();
    assert_eq!(sent.index, 0);
    for events in [&mut a_events, &mut b_events] {
        let seen = until(events, |e| matches!(e, ClientEvent::MessageAdded(_))).await;
        let ClientEvent::MessageAdded(m) = seen.last().unwrap() else {
            unreachable!()
        };
        assert_eq!(m.body().as_deref(), Some("hello bob"));
    }
}

#[tokio::test]
async fn a_bad_token_is_denied_with_its_code_and_a_new_token_revives_the_failed_client() {
    let server = TestServer::start().await;
    for (token, code) in [
        ("not.a.jwt".to_owned(), 20101),
        (
            server.token_at("alice", None, now_secs() - 7200, 3600),
            20104,
        ),
        (format!("{}x", server.token("alice")), 20107),
    ] {
        let (client, mut events) = Client::new(token, options(server.addr()));
        let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
        let error = seen.iter().find_map(|e| match e {
            ClientEvent::ConnectionError { terminal, code, .. } => Some((*terminal, *code)),
            _ => None,
        });
        assert_eq!(error, Some((true, code)), "{seen:?}");
        assert!(
            seen.contains(&ClientEvent::ConnectionStateChanged(C::Denied)),
            "{code}: {seen:?}"
        );
        assert_eq!(
            seen.last(),
            Some(&ClientEvent::StateChanged(ClientState::Failed))
        );
        assert_eq!(client.connection_state(), C::Denied);
        if code == 20104 {
            client.update_token(server.token("alice")).await.unwrap();
            let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
            assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Connecting)));
            assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Connected)));
            assert_eq!(
                seen.last(),
                Some(&ClientEvent::StateChanged(ClientState::Initialized))
            );
        }
        client.shutdown().await;
    }
}

#[tokio::test]
async fn no_server_within_the_window_ends_disconnected_and_failed() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    proxy.refuse_new(true);
    let mut opts = options(proxy.local_addr());
    opts.reconnection_window = Some(Duration::from_millis(1_500));
    let (client, mut events) = Client::new(server.token("alice"), opts);
    let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
    assert_eq!(
        seen.last(),
        Some(&ClientEvent::StateChanged(ClientState::Failed))
    );
    assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Disconnected)));
    assert!(
        proxy.accepted_connections() >= 2,
        "it retried inside the window"
    );
    // Back online: reconnect() starts a new window and the client gets there.
    proxy.refuse_new(false);
    client.reconnect();
    let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
    assert_eq!(
        seen.last(),
        Some(&ClientEvent::StateChanged(ClientState::Initialized))
    );
}

#[tokio::test]
async fn a_request_made_offline_is_delivered_once_after_reconnecting() {
    let server = TestServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let (alice, mut events) = Client::new(server.token("alice"), options(proxy.local_addr()));
    until(&mut events, |e| {
        matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
    })
    .await;
    let conv = alice.create_conversation(None).await.unwrap();
    alice.join(conv.sid.as_str()).await.unwrap();
    proxy.refuse_new(true);
    proxy.cut_all();
    until(&mut events, |e| {
        *e == ClientEvent::ConnectionStateChanged(C::Connecting)
    })
    .await;
    let sid = conv.sid.to_string();
    let send = {
        let alice = alice.clone();
        tokio::spawn(async move { alice.send_message(&sid, "written offline").await })
    };
    // Back online: the message goes once; the sender hears it once.
    proxy.refuse_new(false);
    let m = send.await.unwrap().unwrap();
    let seen = until(&mut events, |e| matches!(e, ClientEvent::MessageAdded(_))).await;
    assert!(seen.contains(&ClientEvent::ConnectionStateChanged(C::Connected)));
    let (msgs, _) = server
        .api()
        .collect_pages(
            &format!("/v1/Conversations/{}/Messages", conv.sid),
            "messages",
        )
        .await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["index"], m.index);
}

#[tokio::test]
async fn shutdown_goes_disconnecting_then_disconnected_and_ends_the_events() {
    let server = TestServer::start().await;
    let (client, mut events) = Client::new(server.token("alice"), options(server.addr()));
    until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
    client.shutdown().await;
    let mut rest = vec![];
    while let Some(e) = tokio::time::timeout(WAIT, events.next()).await.unwrap() {
        rest.push(e);
    }
    assert_eq!(
        rest,
        [
            ClientEvent::ConnectionStateChanged(C::Disconnecting),
            ClientEvent::ConnectionStateChanged(C::Disconnected)
        ]
    );
    assert_eq!(client.connection_state(), C::Disconnected);
    let err = client.send_message("CH00", "x").await.unwrap_err();
    assert_eq!(err.code, 20503);
}

#[tokio::test]
async fn every_refused_token_class_of_the_token_vectors_is_denied_with_its_code() {
    let v: serde_json::Value = serde_json::from_str(confab_testkit::ACCESS_TOKEN_VECTORS).unwrap();
    let credentials = confab_server::Credentials {
        account_sid: v["account_sid"].as_str().unwrap().into(),
        auth_token: "auth-token-for-vectors".into(),
        api_key_sid: v["api_key_sid"].as_str().unwrap().into(),
        api_key_secret: v["api_key_secret"].as_str().unwrap().into(),
    };
    let at = v["now"].as_i64().unwrap() * 1000;
    let server = TestServer::start_as(credentials, |c| {
        c.clock = confab_server::ServerClock(std::sync::Arc::new(Fixed(at)));
    })
    .await;
    let mut codes = std::collections::BTreeSet::new();
    for case in v["cases"].as_array().unwrap() {
        let Some(code) = case["code"].as_u64() else {
            continue;
        };
        let (client, mut events) =
            Client::new(case["token"].as_str().unwrap(), options(server.addr()));
        let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
        let name = case["name"].as_str().unwrap();
        let error = seen.iter().find_map(|e| match e {
            ClientEvent::ConnectionError { terminal, code, .. } => Some((*terminal, *code)),
            _ => None,
        });
        assert_eq!(error, Some((true, code as u32)), "{name}: {seen:?}");
        assert_eq!(client.connection_state(), C::Denied, "{name}");
        assert_eq!(
            seen.last(),
            Some(&ClientEvent::StateChanged(ClientState::Failed)),
            "{name}"
        );
        codes.insert(code);
        client.shutdown().await;
    }
    assert_eq!(codes.len(), 8, "every class: {codes:?}");
}

struct Fixed(i64);

impl confab_domain::Clock for Fixed {
    fn now_millis(&self) -> i64 {
        self.0
    }
}

/// Collects what `tracing` writes, for checking the SDK's verbosity.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

// One thread: the driver task logs under this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn the_log_level_option_sets_the_sdks_verbosity() {
    let server = TestServer::start().await;
    for (level, expect_frames) in [
        (confab_client::LogLevel::Silent, false),
        (confab_client::LogLevel::Trace, true),
    ] {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut opts = options(server.addr());
        opts.log_level = level;
        let (client, mut events) = Client::new(server.token("alice"), opts);
        until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
        client.shutdown().await;
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let sdk_lines = text.lines().filter(|l| l.contains("confab_client")).count();
        if expect_frames {
            assert!(text.contains("\"op\":\"hello\""), "{text}");
            assert!(
                !text.contains(&server.token("alice")[..40]),
                "no token in the log"
            );
        } else {
            assert_eq!(sdk_lines, 0, "{text}");
        }
    }
}

#[tokio::test]
async fn typing_shows_on_the_other_client_and_ends_by_itself() {
    let server = TestServer::start_with(|c| {
        c.realtime.typing_timeout = Duration::from_millis(300);
    })
    .await;
    let (alice, mut a_events) = Client::new(server.token("alice"), options(server.addr()));
    let (bob, mut b_events) = Client::new(server.token("bob"), options(server.addr()));
    for events in [&mut a_events, &mut b_events] {
        until(events, |e| {
            matches!(e, ClientEvent::StateChanged(ClientState::Initialized))
        })
        .await;
    }
    let conv = alice.create_conversation(None).await.unwrap();
    alice.join(&conv.sid).await.unwrap();
    bob.join(&conv.sid).await.unwrap();
    alice.typing(&conv.sid);
    let seen = until(&mut b_events, |e| {
        matches!(e, ClientEvent::TypingStarted(_))
    })
    .await;
    let ClientEvent::TypingStarted(t) = seen.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(t.identity().as_deref(), Some("alice"));
    until(&mut b_events, |e| matches!(e, ClientEvent::TypingEnded(_))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_in_a_thousand_conversations_initializes_after_one_page_then_hears_of_the_rest() {
    let server = TestServer::start().await;
    // The most conversations an identity may be in, made through REST by 8 writers.
    let mut writers = vec![];
    for w in 0..8 {
        let api = server.api();
        writers.push(tokio::spawn(async move {
            for _ in 0..125 {
                let c = api.post("/v1/Conversations", &[]).await.expect(201);
                let sid = c["sid"].as_str().unwrap().to_owned();
                api.post(
                    &format!("/v1/Conversations/{sid}/Participants"),
                    &[("Identity", "busy")],
                )
                .await
                .expect(201);
            }
            w
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let over = server
        .api()
        .post("/v1/Conversations", &[])
        .await
        .expect(201);
    let over = over["sid"].as_str().unwrap().to_owned();
    server
        .api()
        .post(
            &format!("/v1/Conversations/{over}/Participants"),
            &[("Identity", "busy")],
        )
        .await
        .expect_error(400, 50302);
    let (client, mut events) = Client::new(server.token("busy"), options(server.addr()));
    let seen = until(&mut events, |e| matches!(e, ClientEvent::StateChanged(_))).await;
    assert_eq!(
        seen.last(),
        Some(&ClientEvent::StateChanged(ClientState::Initialized))
    );
    let added = seen
        .iter()
        .filter(|e| matches!(e, ClientEvent::ConversationAdded(_)))
        .count();
    assert_eq!(added, 50, "one page, whatever the account size");
    assert_eq!(client.connection_state(), C::Connected);
    // The rest follow in the background, each once.
    let mut sids: std::collections::HashSet<String> = seen
        .iter()
        .filter_map(|e| match e {
            ClientEvent::ConversationAdded(c) => Some(c.sid().to_string()),
            _ => None,
        })
        .collect();
    let mut total = sids.len();
    while sids.len() < 1000 {
        let more = until(&mut events, |e| {
            matches!(e, ClientEvent::ConversationAdded(_))
        })
        .await;
        if let Some(ClientEvent::ConversationAdded(c)) = more.last() {
            sids.insert(c.sid().to_string());
            total += 1;
        }
    }
    assert_eq!(total, 1000, "every conversation added once");
}
