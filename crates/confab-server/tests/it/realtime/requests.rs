//! Requests: `op_id` de-duplication, membership changes moving the live subscriptions.

use confab_protocol::event::EventBody;
use confab_testkit::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_retried_op_id_gets_the_first_answer_and_does_nothing_twice() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let conv = alice
        .call_op(
            "conversation.create",
            "create-1",
            json!({"uniqueName": "once"}),
        )
        .await
        .unwrap();
    let again = alice
        .call_op(
            "conversation.create",
            "create-1",
            json!({"uniqueName": "once"}),
        )
        .await
        .unwrap();
    assert_eq!(conv, again, "the retry answers with the first conversation");
    let sid = conv["sid"].as_str().unwrap().to_owned();
    alice
        .call("conversation.join", json!({"conversation": sid}))
        .await
        .unwrap();
    let send = json!({"conversation": sid, "body": "only once"});
    let first = alice
        .call_op("message.send", "send-1", send.clone())
        .await
        .unwrap();
    let second = alice.call_op("message.send", "send-1", send).await.unwrap();
    assert_eq!(first["sid"], second["sid"]);
    let next = alice
        .call("message.send", json!({"conversation": sid, "body": "next"}))
        .await
        .unwrap();
    assert_eq!(next["index"], 1, "the retry made no second message");
    let (msgs, _) = server
        .api()
        .collect_pages(&format!("/v1/Conversations/{sid}/Messages"), "messages")
        .await;
    assert_eq!(msgs.len(), 2);
}

#[tokio::test]
async fn joining_subscribes_live_and_leaving_stops_delivery() {
    let server = TestServer::start().await;
    let api = server.api();
    let (mut bob, _) = server.realtime("bob").await;
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    let messages = format!("/v1/Conversations/{sid}/Messages");
    api.post(&messages, &[("Body", "before bob")])
        .await
        .expect(201);
    // Bob joins by himself: his user stream says so, then the conversation's events follow.
    bob.call("conversation.join", json!({"conversation": sid}))
        .await
        .unwrap();
    let mut joined_at = None;
    loop {
        let e = bob.next_event().await;
        match e.body {
            EventBody::ConversationJoined(m) => joined_at = Some(m.conversation_seq),
            EventBody::ParticipantJoined(_) => {}
            other => panic!("unexpected {other:?}"),
        }
        if joined_at.is_some() {
            break;
        }
    }
    api.post(&messages, &[("Body", "for bob")])
        .await
        .expect(201);
    let e = bob.next_event().await;
    assert_eq!(e.seq, Some(joined_at.unwrap() + 1));
    assert!(
        matches!(e.body, EventBody::MessageAdded(ref m) if m.body.as_deref() == Some("for bob"))
    );
    // Removed by the backend: the leave arrives, then nothing more of that conversation.
    api.delete(&format!("/v1/Conversations/{sid}/Participants/bob"))
        .await
        .expect(204);
    let mut left = false;
    while !left {
        let e = bob.next_event().await;
        left = matches!(e.body, EventBody::ConversationLeft(_));
    }
    api.post(&messages, &[("Body", "after bob")])
        .await
        .expect(201);
    // A marker on a stream bob still has: his own new conversation.
    let mine = bob.call("conversation.create", json!({})).await.unwrap();
    bob.call("conversation.join", json!({"conversation": mine["sid"]}))
        .await
        .unwrap();
    loop {
        let e = bob.next_event().await;
        assert_ne!(e.stream, sid, "an event of a conversation bob left: {e:?}");
        if matches!(e.body, EventBody::ConversationJoined(_)) {
            break;
        }
    }
}

#[tokio::test]
async fn a_deleted_user_stops_hearing_its_conversations() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    api.post(
        &format!("/v1/Conversations/{sid}/Participants"),
        &[("Identity", "dora")],
    )
    .await
    .expect(201);
    let (mut dora, _) = server.realtime("dora").await;
    api.delete("/v1/Users/dora").await.expect(204);
    let left = dora.next_event().await;
    assert!(
        matches!(left.body, EventBody::ParticipantLeft(_)),
        "{left:?}"
    );
    api.post(
        &format!("/v1/Conversations/{sid}/Messages"),
        &[("Body", "not for dora")],
    )
    .await
    .expect(201);
    // A ping answered proves nothing else was on its way.
    dora.send(&confab_protocol::frame::ClientFrame::Ping { t: 1 })
        .await;
    match dora.next().await {
        confab_testkit::Received::Frame(confab_protocol::frame::ServerFrame::Pong { t: 1 }) => {}
        other => panic!("a deleted user heard {other:?}"),
    }
}

#[tokio::test]
async fn message_pages_follow_their_tokens_both_ways() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let sid = own_conversation(&mut alice).await;
    send_numbered(&mut alice, &sid, 5).await;
    let mut seen = vec![];
    let mut token: Option<String> = None;
    loop {
        let mut params = json!({"conversation": sid, "pageSize": 2, "order": "desc"});
        if let Some(t) = &token {
            params["pageToken"] = json!(t);
        }
        let page = alice.call("message.list", params).await.unwrap();
        for m in page["items"].as_array().unwrap() {
            seen.push(m["index"].as_i64().unwrap());
        }
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec![4, 3, 2, 1, 0]);
    let err = alice
        .call(
            "message.list",
            json!({"conversation": sid, "pageToken": "junk"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 20001);
}

/// As on REST: a page size above a list's largest gets the largest page; 0 is refused.
#[tokio::test]
async fn a_page_size_above_the_largest_gets_the_largest_page() {
    let server = TestServer::start().await;
    let api = server.api();
    let mut convs = vec![];
    for _ in 0..55 {
        let conv = crate::support::conversation(&api, &[]).await;
        crate::support::participant(&api, &conv, "alice").await;
        convs.push(conv);
    }
    let sid = convs[0].clone();
    for i in 0..105 {
        crate::support::message(&api, &sid, "alice", &format!("m{i}")).await;
    }
    let (mut alice, _) = server.realtime("alice").await;
    let count = |page: &serde_json::Value| page["items"].as_array().unwrap().len();
    for (method, params, largest) in [
        ("message.list", json!({"conversation": sid}), 100),
        ("conversations.list", json!({}), 50),
        ("conversations.list", json!({"order": "recent"}), 50),
    ] {
        for size in [1000, 101, u32::MAX] {
            let mut p = params.clone();
            p["pageSize"] = json!(size);
            let page = alice.call(method, p).await.unwrap();
            assert_eq!(count(&page), largest, "{method} {params} {size}");
        }
        let mut p = params.clone();
        p["pageSize"] = json!(0);
        assert_eq!(alice.call(method, p).await.unwrap_err().code, 20001);
    }
}

#[tokio::test]
async fn messages_page_backwards_and_forwards_from_an_anchor() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let sid = own_conversation(&mut alice).await;
    send_numbered(&mut alice, &sid, 10).await;
    let indexes = |page: &serde_json::Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["index"].as_i64().unwrap())
            .collect()
    };
    let back = alice
        .call(
            "message.list",
            json!({"conversation": sid, "anchor": 6, "pageSize": 3}),
        )
        .await
        .unwrap();
    assert_eq!(indexes(&back), [6, 5, 4]);
    let older = alice
        .call(
            "message.list",
            json!({"conversation": sid, "pageSize": 3, "order": "desc", "pageToken": back["next_page_token"]}),
        )
        .await
        .unwrap();
    assert_eq!(indexes(&older), [3, 2, 1]);
    let forward = alice
        .call(
            "message.list",
            json!({"conversation": sid, "anchor": 6, "direction": "forwards", "pageSize": 3}),
        )
        .await
        .unwrap();
    assert_eq!(indexes(&forward), [6, 7, 8]);
    let err = alice
        .call(
            "message.list",
            json!({"conversation": sid, "anchor": 6, "direction": "up"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 20001);
}

#[tokio::test]
async fn a_participant_mutes_a_conversation_if_its_role_allows() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    let quiet =
        crate::support::new_role(&api, "/v1", "quiet", "conversation", "leaveConversation").await;
    let parts = format!("/v1/Conversations/{sid}/Participants");
    api.post(&parts, &[("Identity", "alice")]).await.expect(201);
    api.post(&parts, &[("Identity", "bob"), ("RoleSid", quiet.as_str())])
        .await
        .expect(201);
    let (mut alice, _) = server.realtime("alice").await;
    let r = alice
        .call(
            "conversation.setNotificationLevel",
            json!({"conversation": sid, "level": "muted"}),
        )
        .await
        .unwrap();
    assert_eq!(r["notification_level"], "muted");
    let page = alice.call("conversations.list", json!({})).await.unwrap();
    assert_eq!(page["items"][0]["notification_level"], "muted");
    let err = alice
        .call(
            "conversation.setNotificationLevel",
            json!({"conversation": sid, "level": "loud"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 20001);
    let (mut bob, _) = server.realtime("bob").await;
    let err = bob
        .call(
            "conversation.setNotificationLevel",
            json!({"conversation": sid, "level": "muted"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 20403, "its role lacks editNotificationLevel");
}

#[tokio::test]
async fn typing_reads_and_profiles_work_in_any_service() {
    let server = TestServer::start().await;
    let api = server.api();
    let is = crate::support::service(&api, "second").await;
    let base = format!("/v1/Services/{is}");
    let c = api
        .post(&format!("{base}/Conversations"), &[])
        .await
        .expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    for who in ["alice", "bob"] {
        api.post(
            &format!("{base}/Conversations/{sid}/Participants"),
            &[("Identity", who)],
        )
        .await
        .expect(201);
    }
    api.post(
        &format!("{base}/Conversations/{sid}/Messages"),
        &[("Body", "x")],
    )
    .await
    .expect(201);
    let token = |who: &str| server.token_with(who, Some(&is), 3600);
    let (mut alice, _) =
        confab_testkit::RawClient::join(server.addr(), &token("alice"), None).await;
    let (mut bob, _) = confab_testkit::RawClient::join(server.addr(), &token("bob"), None).await;
    alice
        .call("conversation.typing", json!({"conversation": sid}))
        .await
        .unwrap();
    let r = alice
        .call("conversation.setAllRead", json!({"conversation": sid}))
        .await
        .unwrap();
    assert_eq!(r["unread_messages_count"], 0);
    alice
        .call("user.update", json!({"friendlyName": "A"}))
        .await
        .unwrap();
    let mut kinds = vec![];
    while kinds.len() < 3 {
        let e = bob.next_event().await;
        kinds.push(e.body.type_name());
    }
    assert!(kinds.contains(&"typingStarted"), "{kinds:?}");
    assert!(kinds.contains(&"readHorizon"), "{kinds:?}");
    assert!(kinds.contains(&"userUpdated"), "{kinds:?}");
}

#[tokio::test]
async fn empty_updates_and_sid_shaped_identities_are_refused() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.realtime("alice").await;
    let sid = own_conversation(&mut alice).await;
    let m = alice
        .call("message.send", json!({"conversation": sid, "body": "x"}))
        .await
        .unwrap();
    for (method, params) in [
        (
            "message.update",
            json!({"conversation": sid, "message": m["sid"]}),
        ),
        ("conversation.update", json!({"conversation": sid})),
        (
            "participant.update",
            json!({"conversation": sid, "participant": "alice"}),
        ),
        ("user.update", json!({})),
    ] {
        let err = alice.call(method, params).await.unwrap_err();
        assert_eq!(err.code, 20001, "{method}");
    }
    // An identity shaped like a user SID could stand for someone else's user.
    let user_sid = format!("US{}", "ab".repeat(16));
    let mut c = confab_testkit::RawClient::connect(server.addr())
        .await
        .unwrap();
    c.hello(&server.token(&user_sid), None).await;
    let (reason, code, _) = c.closed().await;
    assert_eq!(
        (reason, code),
        (confab_protocol::frame::CloseReason::Denied, 20106)
    );
}

/// A conversation the client creates and joins; its SID.
/// Sends messages `m0`, `m1`, ... `m{n-1}` to `sid`.
async fn send_numbered(c: &mut confab_testkit::RawClient, sid: &str, n: usize) {
    for i in 0..n {
        c.call(
            "message.send",
            json!({"conversation": sid, "body": format!("m{i}")}),
        )
        .await
        .unwrap();
    }
}

async fn own_conversation(c: &mut confab_testkit::RawClient) -> String {
    let conv = c.call("conversation.create", json!({})).await.unwrap();
    let sid = conv["sid"].as_str().unwrap().to_owned();
    c.call("conversation.join", json!({"conversation": sid}))
        .await
        .unwrap();
    sid
}
