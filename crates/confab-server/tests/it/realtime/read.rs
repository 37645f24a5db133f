//! Read horizons over realtime: set, advance, all read, all unread, with the unread count;
//! broadcast live (coalesced), never logged.

use confab_protocol::event::EventBody;
use confab_testkit::TestServer;
use serde_json::{Value, json};

use crate::support::sid;

#[tokio::test]
async fn read_horizons_move_count_unread_and_reach_the_others_coalesced_without_logging() {
    let server = TestServer::start().await;
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
    for i in 0..5 {
        api.post(
            &format!("/v1/Conversations/{conv}/Messages"),
            &[("Body", &format!("m{i}"))],
        )
        .await
        .expect(201);
    }
    let (mut alice, w) = server.realtime("alice").await;
    let (mut bob, _) = server.realtime("bob").await;
    let head = w.resumed.conversations[&conv];
    let read = |r: Value| {
        (
            r["last_read_message_index"].clone(),
            r["unread_messages_count"].clone(),
        )
    };

    let r = alice
        .call(
            "conversation.setLastRead",
            json!({"conversation": conv, "index": 2}),
        )
        .await
        .unwrap();
    assert_eq!(read(r), (json!(2), json!(2)));
    let e = bob.next_event().await;
    let EventBody::ReadHorizon(h) = &e.body else {
        panic!("{e:?}")
    };
    assert_eq!(
        (h.identity.as_str(), h.last_read_message_index, e.seq),
        ("alice", Some(2), None)
    );

    let r = alice
        .call(
            "conversation.advanceLastRead",
            json!({"conversation": conv, "index": 1}),
        )
        .await
        .unwrap();
    assert_eq!(read(r), (json!(2), json!(2)), "advancing never moves back");
    let r = alice
        .call(
            "conversation.setLastRead",
            json!({"conversation": conv, "index": 99}),
        )
        .await
        .unwrap();
    assert_eq!(read(r), (json!(4), json!(0)), "clamped to the last message");
    let r = alice
        .call("conversation.setAllUnread", json!({"conversation": conv}))
        .await
        .unwrap();
    assert_eq!(read(r), (Value::Null, Value::Null));
    for i in 0..10 {
        alice
            .call(
                "conversation.setLastRead",
                json!({"conversation": conv, "index": i % 5}),
            )
            .await
            .unwrap();
    }
    let r = alice
        .call("conversation.setAllRead", json!({"conversation": conv}))
        .await
        .unwrap();
    assert_eq!(read(r), (json!(4), json!(0)));
    // Bob hears a few coalesced updates, ending with the latest value, not one per call.
    let mut updates = 1; // the first one, above
    loop {
        let e = bob.next_event().await;
        let EventBody::ReadHorizon(h) = e.body else {
            panic!("{e:?}")
        };
        updates += 1;
        if h.last_read_message_index == Some(4) {
            break;
        }
    }
    assert!(updates <= 4, "coalesced: {updates} updates for 15 calls");
    // The unread count shows in the conversation list.
    let page = alice.call("conversations.list", json!({})).await.unwrap();
    assert_eq!(page["items"][0]["unread_messages_count"], 0);
    // Not in the log: the conversation's head is where it was.
    let (_c, w2) = server.realtime("carol").await;
    drop(w2);
    let (_a2, w3) = server.realtime("alice").await;
    assert_eq!(w3.resumed.conversations[&conv], head);
    // Only a participant has a read horizon.
    let (mut eve, _) = server.realtime("eve").await;
    let err = eve
        .call("conversation.setAllRead", json!({"conversation": conv}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20403);
    let err = alice
        .call("conversation.setLastRead", json!({"conversation": conv}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20001);
}
