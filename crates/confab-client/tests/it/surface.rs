//! The conversations surface through the SDK with three live clients: every operation on a
//! conversation handle, every event on the handles' own streams and the clients' streams,
//! changes made through the REST API reaching clients live, users and reachability, the
//! paginator by last activity, and the conversations the client holds.

use std::time::Duration;

use confab_client::{
    Client, ClientEvent as E, ClientState, ConversationStatus, ConversationUpdateReason as CR,
    Direction, MessageUpdateReason as MR, ParticipantHandle, ParticipantUpdateReason as PR,
    UserUpdateReason as UR,
};
use confab_testkit::TestServer;
use serde_json::json;

use crate::support::*;

fn is_identity(p: &ParticipantHandle, who: &str) -> bool {
    p.identity().as_deref() == Some(who)
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
        |e| matches!(e, E::ConversationJoined(c) if c.sid().as_str() == sid),
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
        matches!(e, E::ParticipantUpdated { participant: p, reasons }
            if reasons.contains(&PR::RoleSid)
                && p.snapshot().role_sid.as_ref().map(|r| r.as_str()) == Some(admin.as_str()))
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
        matches!(e, E::ConversationJoined(c) if c.sid().as_str() == sid && c.cached().is_some())
    })
    .await;
    // Bob finds it by unique name; carol joins by SID.
    let b = bob.conversation_by_unique_name("team").await.unwrap();
    assert_eq!(b.sid().as_str(), sid);
    assert_eq!(
        bob.conversation_by_sid(&sid).await.unwrap(),
        b,
        "one object per conversation"
    );
    assert_eq!(bob.peek_conversation_by_sid(&sid), Some(b.clone()));
    assert_eq!(
        bob.conversation_by_unique_name("no-such")
            .await
            .unwrap_err()
            .code,
        20404
    );
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
        .filter_map(|p| p.identity())
        .collect();
    assert_eq!(everyone, ["alice", "bob", "carol"]);
    assert_eq!(
        c.participant("bob").await.unwrap().snapshot().attributes,
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
        let m = m.snapshot();
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
    let updates = until(&mut c_in, |e| {
        matches!(e, E::MessageUpdated { message, reasons }
            if reasons.contains(&MR::Attributes) && message.snapshot().attributes == r#"{"e":1}"#)
    })
    .await;
    assert!(
        updates
            .iter()
            .any(|e| matches!(e, E::MessageUpdated { message, reasons }
        if reasons.contains(&MR::Body) && message.body().as_deref() == Some("mine, edited")))
    );
    a.remove_message(mine.sid.as_str()).await.unwrap();
    until(
        &mut b_in,
        |e| matches!(e, E::MessageRemoved(m) if m.sid() == &mine.sid && m.body().is_none()),
    )
    .await;
    assert_eq!(
        c.message(hello.sid.as_str())
            .await
            .unwrap()
            .body()
            .as_deref(),
        Some("hello")
    );

    // Participant attributes: one's own.
    b.update_participant_attributes("bob", json!({"nick": "bobby"}))
        .await
        .unwrap();
    until(&mut a_in, |e| {
        matches!(e, E::ParticipantUpdated { participant: p, reasons }
            if is_identity(p, "bob") && reasons.contains(&PR::Attributes)
                && p.snapshot().attributes == r#"{"nick":"bobby"}"#)
    })
    .await;

    // Conversation changes by its admin: everyone hears them, carol's cache follows.
    a.update_friendly_name("Team 2").await.unwrap();
    a.update_unique_name("team-2").await.unwrap();
    a.update_attributes(json!({"topic": "y"})).await.unwrap();
    until(
        &mut c_in,
        |e| matches!(e, E::ConversationUpdated { reasons, .. } if reasons.contains(&CR::Attributes)),
    )
    .await;
    let cached = c.cached().unwrap();
    assert_eq!(cached.attributes, r#"{"topic":"y"}"#);
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
        |e| matches!(e, E::TypingEnded(t) if is_identity(t, "carol")),
    )
    .await;
    assert!(
        typing
            .iter()
            .any(|e| matches!(e, E::TypingStarted(t) if is_identity(t, "carol")))
    );
    b.typing();
    // Everything carol's stream said since she typed, to check she heard nothing of herself.
    let mut seen = until(
        &mut c_in,
        |e| matches!(e, E::TypingStarted(t) if is_identity(t, "bob")),
    )
    .await;
    let typed = b.send_message("typed").await.unwrap();
    seen.extend(
        until(
            &mut c_in,
            |e| matches!(e, E::TypingEnded(t) if is_identity(t, "bob")),
        )
        .await,
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, E::TypingStarted(t) if is_identity(t, "carol"))),
        "a typer hears nothing of itself"
    );

    // Messages paged from an anchor, both ways, each page oldest first, with the pages on
    // either side; counts (the removed message is not counted).
    let back = a
        .messages(Some(typed.index), Direction::Backwards, 1)
        .await
        .unwrap();
    assert_eq!(back.items[0].index(), typed.index);
    assert!(back.has_prev_page());
    // Keyset paging cannot tell whether a page from a cursor has one before it: nothing
    // newer than the newest comes as an empty page.
    assert!(back.next_page().await.unwrap().items.is_empty());
    let older = back.prev_page().await.unwrap();
    assert_eq!(older.items[0].index(), hello.index);
    assert!(!older.has_prev_page() && older.has_next_page());
    assert_eq!(older.prev_page().await.unwrap_err().code, 20001);
    let again = older.next_page().await.unwrap();
    assert_eq!(again.items[0].index(), typed.index);
    let fwd = a.messages(Some(0), Direction::Forwards, 10).await.unwrap();
    let indexes = |p: &confab_client::Paginator<confab_client::MessageHandle>| {
        p.items.iter().map(|m| m.index()).collect::<Vec<_>>()
    };
    assert_eq!(indexes(&fwd), [hello.index, typed.index]);
    let newest = a.messages(None, Direction::Backwards, 10).await.unwrap();
    assert_eq!(indexes(&newest), [hello.index, typed.index], "oldest first");
    let newest_one = a.messages(None, Direction::Backwards, 1).await.unwrap();
    assert_eq!(indexes(&newest_one), [typed.index]);
    assert_eq!(
        indexes(&newest_one.prev_page().await.unwrap()),
        [hello.index]
    );
    assert_eq!(
        newest_one.items[0], again.items[0],
        "one object per message"
    );
    assert_eq!(c.messages_count().await.unwrap(), 2);
    assert_eq!(c.participants_count().await.unwrap(), 3);

    // Read horizon and unread count; others hear carol's horizon.
    assert_eq!(c.unread_messages_count().await.unwrap(), None);
    assert_eq!(c.set_last_read(0).await.unwrap(), Some(2));
    until(&mut a_in, |e| {
        matches!(e, E::ParticipantUpdated { participant: p, reasons }
            if is_identity(p, "carol") && reasons.contains(&PR::LastReadMessageIndex)
                && p.last_read_message_index() == Some(0))
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
            |e| matches!(e, E::MessageAdded(m) if m.body().as_deref() == Some("from the backend")),
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
        matches!(e, E::ConversationUpdated { conversation, reasons }
            if reasons == &[CR::FriendlyName, CR::DateUpdated]
                && conversation.friendly_name().as_deref() == Some("Renamed by the backend"))
    })
    .await;

    // Users: one sharing a conversation, with reachability; profile changes through either
    // door reach the others; a user sharing nothing is unknown.
    let seen_alice = bob.user("alice").await.unwrap();
    assert!(seen_alice.is_online());
    assert_eq!(
        bob.user("alice").await.unwrap(),
        seen_alice,
        "one object per user"
    );
    alice
        .update_user(Some("Alice A"), Some(json!({"tz": "UTC"})))
        .await
        .unwrap();
    until(&mut b_ev, |e| {
        matches!(e, E::UserUpdated { user, reasons }
            if user.identity() == "alice" && reasons.contains(&UR::FriendlyName)
                && reasons.contains(&UR::Attributes))
    })
    .await;
    api.post("/v1/Users/alice", &[("FriendlyName", "Alice B")])
        .await
        .expect(200);
    // Carol does not follow alice: what changed is unknown to her client, so all is named.
    until(&mut c_ev, |e| {
        matches!(e, E::UserUpdated { user, reasons }
            if user.identity() == "alice" && reasons.len() == 3
                && user.friendly_name().as_deref() == Some("Alice B"))
    })
    .await;
    until(&mut b_ev, |e| {
        matches!(e, E::UserUpdated { user, reasons }
            if user.identity() == "alice" && reasons == &[UR::FriendlyName]
                && user.friendly_name().as_deref() == Some("Alice B"))
    })
    .await;
    let subscribed = bob.subscribed_users();
    assert_eq!(subscribed[0].identity(), "alice");
    assert_eq!(subscribed[0].friendly_name().as_deref(), Some("Alice B"));
    assert_eq!(
        seen_alice.friendly_name().as_deref(),
        Some("Alice B"),
        "updated in place"
    );
    // Another's profile is the other's: refused, and nothing is written.
    assert_eq!(
        seen_alice
            .update_friendly_name("mallory")
            .await
            .unwrap_err()
            .code,
        20403
    );
    assert_eq!(
        bob.user("alice").await.unwrap().friendly_name().as_deref(),
        Some("Alice B")
    );
    assert_eq!(
        bob.own_user()
            .await
            .unwrap()
            .update_friendly_name("Bob")
            .await
            .unwrap()
            .friendly_name
            .as_deref(),
        Some("Bob")
    );
    api.post("/v1/Users", &[("Identity", "stranger")])
        .await
        .expect(201);
    assert_eq!(carol.user("stranger").await.unwrap_err().code, 20404);
    assert_eq!(carol.user("carol").await.unwrap().identity(), "carol");

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
        |e| matches!(e, E::UserUpdated { user, reasons } if user.identity() == "dave" && reasons.contains(&UR::ReachabilityOnline) && user.is_online()),
    )
    .await;
    dave.shutdown().await;
    until(
        &mut a_ev,
        |e| matches!(e, E::UserUpdated { user, .. } if user.identity() == "dave" && !user.is_online()),
    )
    .await;

    // Removing carol, bob leaving, alice deleting.
    a.remove_participant("carol").await.unwrap();
    until(
        &mut c_ev,
        |e| matches!(e, E::ConversationLeft(c) if c.sid().as_str() == sid),
    )
    .await;
    until(
        &mut a_in,
        |e| matches!(e, E::ParticipantLeft(p) if is_identity(p, "carol")),
    )
    .await;
    assert_eq!(c.status(), ConversationStatus::NotParticipating);
    assert!(
        carol.peek_conversation_by_sid(&sid).is_some(),
        "held by the app"
    );
    assert!(!carol.conversations().contains(&c), "no longer carol's");
    assert_eq!(c.fetch().await.unwrap_err().code, 20403);
    b.leave().await.unwrap();
    until(
        &mut b_ev,
        |e| matches!(e, E::ConversationLeft(c) if c.sid().as_str() == sid),
    )
    .await;
    // A stream of a conversation the user left ends after its last event.
    let left = until(&mut b_in, |e| matches!(e, E::ConversationRemoved(_))).await;
    assert!(
        left.iter()
            .any(|e| matches!(e, E::ParticipantLeft(p) if is_identity(p, "bob")))
    );
    assert_eq!(tokio::time::timeout(WAIT, b_in.next()).await.unwrap(), None);
    a.delete().await.unwrap();
    until(
        &mut a_ev,
        |e| matches!(e, E::ConversationRemoved(c) if c.sid().as_str() == sid),
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
async fn subscribed_conversations_page_by_last_activity_into_the_client_s_objects() {
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
            E::ConversationAdded(c) => Some(c.sid().to_string()),
            _ => None,
        })
        .collect();
    // The first page comes most recent first: c1, c3, then by joining, newest first.
    let want = [&sids[1], &sids[3], &sids[4], &sids[2], &sids[0]];
    assert_eq!(added.iter().collect::<Vec<_>>(), want);
    // The user's conversations are all kept (the capacity bounds users), most recent first.
    let held: Vec<_> = alice
        .conversations()
        .iter()
        .map(|c| c.sid().to_string())
        .collect();
    assert_eq!(held.len(), 5);
    assert_eq!(held[..2], [sids[1].clone(), sids[3].clone()]);

    let mut walked = vec![];
    let mut page = alice.subscribed_conversations(2).await.unwrap();
    loop {
        assert!(page.items.len() <= 2);
        assert!(!page.has_prev_page());
        walked.extend(page.items.iter().map(|c| c.sid().to_string()));
        if !page.has_next_page() {
            break;
        }
        page = page.next_page().await.unwrap();
    }
    assert_eq!(walked.iter().collect::<Vec<_>>(), want);
    let first = alice.subscribed_conversations(1).await.unwrap();
    let c1 = &first.items[0];
    assert_eq!(
        alice.peek_conversation_by_sid(&sids[1]).as_ref(),
        Some(c1),
        "the page's object is the client's"
    );
    assert_eq!(c1.status(), ConversationStatus::Joined);
    assert_eq!(c1.last_message().map(|m| m.index), Some(0));
    let s = c1.summary().await.unwrap();
    assert_eq!(
        (s.messages_count, s.participants_count, s.last_message_index),
        (1, 1, Some(0))
    );
    assert_eq!(s.last_activity, 1_893_542_400_000, "2030-01-02");
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
