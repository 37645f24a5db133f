//! Typing indicators: broadcast to the conversation's other participants, never to the typer,
//! never to non-members, ended by a message or the timeout, never stored.

use std::time::Duration;

use confab_protocol::event::EventBody;
use confab_protocol::frame::{ClientFrame, ServerFrame};
use confab_testkit::{RawClient, Received, TestServer};
use serde_json::json;

use crate::support::sid;

/// A ping answered proves nothing else was on its way.
async fn nothing_more(c: &mut RawClient) {
    c.send(&ClientFrame::Ping { t: 9 }).await;
    match c.next().await {
        Received::Frame(ServerFrame::Pong { t: 9 }) => {}
        other => panic!("expected nothing more, got {other:?}"),
    }
}

#[tokio::test]
async fn typing_reaches_the_others_and_ends_with_a_message_or_the_timeout() {
    let server =
        TestServer::start_with(|c| c.realtime.typing_timeout = Duration::from_millis(300)).await;
    let api = server.api();
    let conv = sid(&api.post("/v1/Conversations", &[]).await.expect(201));
    for who in ["alice", "bob"] {
        api.post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[("Identity", who)],
        )
        .await
        .expect(201);
    }
    let (mut alice, _) = server.realtime("alice").await;
    let (mut bob, _) = server.realtime("bob").await;
    let (mut outsider, _) = server.realtime("eve").await;

    alice
        .call("conversation.typing", json!({"conversation": conv}))
        .await
        .unwrap();
    let e = bob.next_event().await;
    let EventBody::TypingStarted(t) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!((t.identity.as_str(), e.seq), ("alice", None));
    // Typing again within the timeout extends it, without a second typingStarted.
    alice
        .call("conversation.typing", json!({"conversation": conv}))
        .await
        .unwrap();
    // The timeout ends it.
    let e = bob.next_event().await;
    assert!(
        matches!(e.body, EventBody::TypingEnded(ref t) if t.identity == "alice"),
        "{e:?}"
    );

    // A message ends it at once.
    alice
        .call("conversation.typing", json!({"conversation": conv}))
        .await
        .unwrap();
    assert!(matches!(
        bob.next_event().await.body,
        EventBody::TypingStarted(_)
    ));
    alice
        .call(
            "message.send",
            json!({"conversation": conv, "body": "done typing"}),
        )
        .await
        .unwrap();
    let mut seen = vec![];
    while seen.len() < 2 {
        seen.push(bob.next_event().await.body);
    }
    assert!(
        seen.iter().any(|b| matches!(b, EventBody::TypingEnded(_))),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|b| matches!(b, EventBody::MessageAdded(_))),
        "{seen:?}"
    );

    // The typer and non-members hear nothing of it; a non-member may not type.
    loop {
        match alice.next().await {
            Received::Event(e) if matches!(e.body, EventBody::MessageAdded(_)) => break,
            Received::Event(e) => assert!(
                !matches!(
                    e.body,
                    EventBody::TypingStarted(_) | EventBody::TypingEnded(_)
                ),
                "the typer heard its own typing: {e:?}"
            ),
            _ => {}
        }
    }
    nothing_more(&mut outsider).await;
    let err = outsider
        .call("conversation.typing", json!({"conversation": conv}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20403);
    nothing_more(&mut bob).await;
    // Never stored: the log holds the message and memberships only.
    let (msgs, _) = api
        .collect_pages(&format!("/v1/Conversations/{conv}/Messages"), "messages")
        .await;
    assert_eq!(msgs.len(), 1);
}
