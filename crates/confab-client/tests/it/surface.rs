//! The conversations surface through the SDK with three live clients: every operation on a
//! conversation handle, every event on the handles' own streams and the clients' streams,
//! changes made through the REST API reaching clients live, users and reachability, the
//! paginator by last activity, and the bounded cache.

use std::time::Duration;

use confab_client::{Client, ClientEvent as E, ClientState, Direction};
use confab_testkit::TestServer;
use serde_json::json;

use crate::support::*;

fn is_identity(p: &confab_client::Participant, who: &str) -> bool {
    p.identity.as_deref() == Some(who)
}

#[tokio::test]
async fn three_clients_see_every_operation_and_event_of_a_conversation_live() {
    let server = TestServer::start_with(|c| {
        c.realtime.typing_timeout = Duration::from_millis(300);
    })
    .await;
    let api = server.api();
    let (alice, mut a_ev) = ready(&server, "alice").await;
    let (bob, mut b_ev) = ready(&server, "bob").await;
    let (carol, mut c_ev) = ready(&server, "carol").await;

    // Create, with every field, and join.
    let conv = alice
        .create_conversation_with(Some("Team"), Some("team"), Some(json!({"topic": "x"})))
        .await
        .unwrap();
    assert_eq!(conv.unique_name.as_deref(), Some("team"));
    assert_eq!(conv.attributes, r#"{"topic":"x"}"#);
    let sid = conv.sid.to_string();
    let a = alice.handle(&sid);
    let mut a_in = a.events();
    a.join().await.unwrap();
    until(
        &mut a_ev,
        |e| matches!(e, E::ConversationJoined(m) if m.conversation_sid.as_str() == sid),
    )
    .await;

    // The app backend makes alice the conversation's admin: a REST change, heard live.
    let roles = api.get("/v1/Roles").await.expect(200);
    let admin = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["friendly_name"] == "conversation admin")
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants/alice"),
        &[("RoleSid", admin.as_str())],
    )
    .await
    .expect(200);
    until(&mut a_in, |e| {
        matches!(e, E::ParticipantUpdated(p) if p.role_sid.as_ref().map(|r| r.as_str()) == Some(admin.as_str()))
    })
    .await;

    // Adding bob: alice's handle hears it, bob's client is told it joined.
    let added = a
        .add_participant("bob", Some(json!({"nick": "b"})))
        .await
        .unwrap();
    assert_eq!(added.attributes, r#"{"nick":"b"}"#);
    until(
        &mut a_in,
        |e| matches!(e, E::ParticipantJoined(p) if is_identity(p, "bob")),
    )
    .await;
    until(&mut b_ev, |e| {
        matches!(e, E::ConversationJoined(m) if m.conversation_sid.as_str() == sid && m.conversation.is_some())
    })
    .await;
    // Bob finds it by unique name; carol joins by SID.
    let b = bob.conversation_handle("team").await.unwrap();
    assert_eq!(b.sid(), sid);
    let mut b_in = b.events();
    let c = carol.handle(&sid);
    c.join().await.unwrap();
    let mut c_in = c.events();
    for events in [&mut a_in, &mut b_in] {
        until(
            events,
            |e| matches!(e, E::ParticipantJoined(p) if is_identity(p, "carol")),
        )
        .await;
    }
    let everyone: Vec<_> = b
        .participants()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.identity)
        .collect();
    assert_eq!(everyone, ["alice", "bob", "carol"]);
    assert_eq!(
        c.participant("bob").await.unwrap().attributes,
        r#"{"nick":"b"}"#
    );

    // Messages: send with attributes, edit one's own body and attributes, an admin removes
    // another's, a plain participant may not edit another's.
    let hello = a.send_message_with("hello", json!({"k": 1})).await.unwrap();
    for events in [&mut b_in, &mut c_in] {
        let seen = until(events, |e| matches!(e, E::MessageAdded(_))).await;
        let Some(E::MessageAdded(m)) = seen.last() else {
            unreachable!()
        };
        assert_eq!(
            (m.body.as_deref(), m.attributes.as_str()),
            (Some("hello"), r#"{"k":1}"#)
        );
    }
    let mine = b.send_message("mine").await.unwrap();
    b.update_message_body(mine.sid.as_str(), "mine, edited")
        .await
        .unwrap();
    b.update_message_attributes(mine.sid.as_str(), json!({"e": 1}))
        .await
        .unwrap();
    let refused = c
        .update_message_body(hello.sid.as_str(), "hijacked")
        .await
        .unwrap_err();
    assert_eq!(refused.code, 20403);
    let updates = until(
        &mut c_in,
        |e| matches!(e, E::MessageUpdated(m) if m.attributes == r#"{"e":1}"#),
    )
    .await;
    assert!(
        updates.iter().any(
            |e| matches!(e, E::MessageUpdated(m) if m.body.as_deref() == Some("mine, edited"))
        )
    );
    a.remove_message(mine.sid.as_str()).await.unwrap();
    until(
        &mut b_in,
        |e| matches!(e, E::MessageRemoved(m) if m.sid == mine.sid && m.body.is_none()),
    )
    .await;
    assert_eq!(
        c.message(hello.sid.as_str()).await.unwrap().body.as_deref(),
        Some("hello")
    );

    // Participant attributes: one's own.
    b.update_participant_attributes("bob", json!({"nick": "bobby"}))
        .await
        .unwrap();
    until(&mut a_in, |e| {
        matches!(e, E::ParticipantUpdated(p) if is_identity(p, "bob") && p.attributes == r#"{"nick":"bobby"}"#)
    })
    .await;

    // Conversation changes by its admin: everyone hears them, carol's cache follows.
    a.update_friendly_name("Team 2").await.unwrap();
    a.update_unique_name("team-2").await.unwrap();
    a.update_attributes(json!({"topic": "y"})).await.unwrap();
    until(
        &mut c_in,
        |e| matches!(e, E::ConversationUpdated(conv) if conv.attributes == r#"{"topic":"y"}"#),
    )
    .await;
    let cached = c.cached().unwrap();
    assert_eq!(
        (
            cached.friendly_name.as_deref(),
            cached.unique_name.as_deref()
        ),
        (Some("Team 2"), Some("team-2"))
    );
    assert_eq!(
        c.update_friendly_name("mine now").await.unwrap_err().code,
        20403
    );

    // Typing: ends after the timeout, or when the typer sends a message.
    c.typing();
    let typing = until(
        &mut a_in,
        |e| matches!(e, E::TypingEnded(t) if t.identity == "carol"),
    )
    .await;
    assert!(
        typing
            .iter()
            .any(|e| matches!(e, E::TypingStarted(t) if t.identity == "carol"))
    );
    b.typing();
    until(
        &mut c_in,
        |e| matches!(e, E::TypingStarted(t) if t.identity == "bob"),
    )
    .await;
    let typed = b.send_message("typed").await.unwrap();
    let seen = until(
        &mut c_in,
        |e| matches!(e, E::TypingEnded(t) if t.identity == "bob"),
    )
    .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, E::TypingStarted(t) if t.identity == "carol")),
        "a typer hears nothing of itself"
    );

    // Messages paged from an anchor, both ways; counts (the removed message is not counted).
    let back = a
        .messages(Some(typed.index), Direction::Backwards, 1)
        .await
        .unwrap();
    assert_eq!(back.items[0].index, typed.index);
    let older = back.next_page().await.unwrap();
    assert_eq!(older.items[0].index, hello.index);
    assert!(!older.has_next_page());
    let fwd = a.messages(Some(0), Direction::Forwards, 10).await.unwrap();
    assert_eq!(
        fwd.items.iter().map(|m| m.index).collect::<Vec<_>>(),
        [hello.index, typed.index]
    );
    let newest = a.messages(None, Direction::Backwards, 10).await.unwrap();
    assert_eq!(newest.items[0].index, typed.index);
    assert_eq!(c.messages_count().await.unwrap(), 2);
    assert_eq!(c.participants_count().await.unwrap(), 3);

    // Read horizon and unread count; others hear carol's horizon.
    assert_eq!(c.unread_messages_count().await.unwrap(), None);
    assert_eq!(c.set_last_read(0).await.unwrap(), Some(2));
    until(&mut a_in, |e| {
        matches!(e, E::ReadHorizon(h) if h.identity == "carol" && h.last_read_message_index == Some(0))
    })
    .await;
    assert_eq!(c.advance_last_read(1).await.unwrap(), Some(1));
    assert_eq!(c.unread_messages_count().await.unwrap(), Some(1));
    assert_eq!(c.set_all_read().await.unwrap(), Some(0));
    assert_eq!(c.set_all_unread().await.unwrap(), None);

    // Notification level.
    let muted = c.set_notification_level("muted").await.unwrap();
    assert_eq!(muted.notification_level, "muted");
    assert_eq!(c.summary().await.unwrap().notification_level, "muted");

    // The app backend posts a message and changes the conversation: live for everyone.
    api.post(
        &format!("/v1/Conversations/{sid}/Messages"),
        &[("Author", "system"), ("Body", "from the backend")],
    )
    .await
    .expect(201);
    for events in [&mut a_in, &mut b_in, &mut c_in] {
        until(
            events,
            |e| matches!(e, E::MessageAdded(m) if m.body.as_deref() == Some("from the backend")),
        )
        .await;
    }
    api.post(
        &format!("/v1/Conversations/{sid}"),
        &[("FriendlyName", "Renamed by the backend")],
    )
    .await
    .expect(200);
    until(&mut b_in, |e| {
        matches!(e, E::ConversationUpdated(conv) if conv.friendly_name.as_deref() == Some("Renamed by the backend"))
    })
    .await;

    // Users: one sharing a conversation, with reachability; profile changes through either
    // door reach the others; a user sharing nothing is unknown.
    let seen_alice = bob.user("alice").await.unwrap();
    assert!(seen_alice.is_online);
    alice
        .update_user(Some("Alice A"), Some(json!({"tz": "UTC"})))
        .await
        .unwrap();
    until(&mut b_ev, |e| {
        matches!(e, E::UserUpdated(u) if u.identity == "alice" && u.friendly_name.as_deref() == Some("Alice A"))
    })
    .await;
    api.post("/v1/Users/alice", &[("FriendlyName", "Alice B")])
        .await
        .expect(200);
    until(&mut c_ev, |e| {
        matches!(e, E::UserUpdated(u) if u.identity == "alice" && u.friendly_name.as_deref() == Some("Alice B"))
    })
    .await;
    until(&mut b_ev, |e| {
        matches!(e, E::UserUpdated(u) if u.identity == "alice" && u.friendly_name.as_deref() == Some("Alice B"))
    })
    .await;
    let subscribed = bob.subscribed_users();
    assert_eq!(subscribed[0].identity, "alice");
    assert_eq!(subscribed[0].friendly_name.as_deref(), Some("Alice B"));
    api.post("/v1/Users", &[("Identity", "stranger")])
        .await
        .expect(201);
    assert_eq!(carol.user("stranger").await.unwrap_err().code, 20404);
    assert_eq!(carol.user("carol").await.unwrap().identity, "carol");

    // Reachability: dave comes online, then goes offline.
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", "dave")],
    )
    .await
    .expect(201);
    let (dave, _d_ev) = ready(&server, "dave").await;
    until(
        &mut a_ev,
        |e| matches!(e, E::UserUpdated(u) if u.identity == "dave" && u.is_online),
    )
    .await;
    dave.shutdown().await;
    until(
        &mut a_ev,
        |e| matches!(e, E::UserUpdated(u) if u.identity == "dave" && !u.is_online),
    )
    .await;

    // Removing carol, bob leaving, alice deleting.
    a.remove_participant("carol").await.unwrap();
    until(
        &mut c_ev,
        |e| matches!(e, E::ConversationLeft(m) if m.conversation_sid.as_str() == sid),
    )
    .await;
    until(
        &mut a_in,
        |e| matches!(e, E::ParticipantLeft(p) if is_identity(p, "carol")),
    )
    .await;
    assert!(c.cached().is_none(), "carol's cache drops it");
    assert_eq!(c.fetch().await.unwrap_err().code, 20403);
    b.leave().await.unwrap();
    until(
        &mut b_ev,
        |e| matches!(e, E::ConversationLeft(m) if m.conversation_sid.as_str() == sid),
    )
    .await;
    // A stream of a conversation the user left ends after its last event.
    let left = until(&mut b_in, |e| matches!(e, E::ConversationLeft(_))).await;
    assert!(
        left.iter()
            .any(|e| matches!(e, E::ParticipantLeft(p) if is_identity(p, "bob")))
    );
    assert_eq!(tokio::time::timeout(WAIT, b_in.next()).await.unwrap(), None);
    a.delete().await.unwrap();
    until(
        &mut a_ev,
        |e| matches!(e, E::ConversationRemoved(m) if m.conversation_sid.as_str() == sid),
    )
    .await;
    assert_eq!(a.fetch().await.unwrap_err().code, 20404);
    // And every stream ends with its client.
    let mut later = alice.handle(&sid).events();
    alice.shutdown().await;
    assert_eq!(
        tokio::time::timeout(WAIT, later.next()).await.unwrap(),
        None
    );
    assert_eq!(
        tokio::time::timeout(WAIT, a.events().next()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn subscribed_conversations_page_by_last_activity_and_the_cache_stays_bounded() {
    let server = TestServer::start().await;
    let api = server.api();
    let mut sids = vec![];
    for i in 0..5 {
        let conv = api
            .post("/v1/Conversations", &[("FriendlyName", &format!("c{i}"))])
            .await
            .expect(201);
        let sid = conv["sid"].as_str().unwrap().to_owned();
        api.post(
            &format!("/v1/Conversations/{sid}/Participants"),
            &[("Identity", "alice")],
        )
        .await
        .expect(201);
        sids.push(sid);
    }
    // Messages dated by the backend make c1 the most recent, then c3.
    for (i, date) in [(3, "2030-01-01T00:00:00Z"), (1, "2030-01-02T00:00:00Z")] {
        api.post(
            &format!("/v1/Conversations/{}/Messages", sids[i]),
            &[("Author", "bob"), ("Body", "news"), ("DateCreated", date)],
        )
        .await
        .expect(201);
    }
    let mut opts = options(server.addr());
    opts.cache_capacity = 3;
    let (alice, mut events) = Client::new(server.token("alice"), opts);
    let seen = until(&mut events, |e| matches!(e, E::StateChanged(_))).await;
    assert_eq!(
        seen.last(),
        Some(&E::StateChanged(ClientState::Initialized))
    );
    let added: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            E::ConversationAdded(c) => Some(c.sid.to_string()),
            _ => None,
        })
        .collect();
    // The first page comes most recent first: c1, c3, then by joining, newest first.
    let want = [&sids[1], &sids[3], &sids[4], &sids[2], &sids[0]];
    assert_eq!(added.iter().collect::<Vec<_>>(), want);
    assert_eq!(alice.cached_conversations().len(), 3, "bounded");

    let mut walked = vec![];
    let mut page = alice.subscribed_conversations(2).await.unwrap();
    loop {
        assert!(page.items.len() <= 2);
        walked.extend(page.items.iter().map(|s| s.conversation.sid.to_string()));
        if !page.has_next_page() {
            break;
        }
        page = page.next_page().await.unwrap();
    }
    assert_eq!(walked.iter().collect::<Vec<_>>(), want);
    let first = alice.subscribed_conversations(1).await.unwrap();
    let s = &first.items[0];
    assert_eq!(
        (s.messages_count, s.participants_count, s.last_message_index),
        (1, 1, Some(0))
    );
    assert_eq!(s.last_activity, 1_893_542_400_000, "2030-01-02");
    assert_eq!(alice.cached_conversations().len(), 3, "still bounded");
    assert_eq!(
        alice.subscribed_conversations(0).await.unwrap_err().code,
        20001
    );
    // More than the largest page (50) gets the largest page.
    assert_eq!(
        alice
            .subscribed_conversations(51)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
}
