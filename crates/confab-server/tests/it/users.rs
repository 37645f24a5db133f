//! `…/Users`, `…/Users/{UserSid}/Conversations` and `…/ParticipantConversations`.

use confab_testkit::TestServer;
use serde_json::json;

use crate::support::{self, is_sid, iso_secs, keys, now_secs, sid, sorted, unknown_sid};

const USER_FIELDS: &[&str] = &[
    "sid",
    "account_sid",
    "chat_service_sid",
    "role_sid",
    "identity",
    "friendly_name",
    "attributes",
    "is_online",
    "is_notifiable",
    "date_created",
    "date_updated",
    "url",
    "links",
];

const USER_CONVERSATION_FIELDS: &[&str] = &[
    "account_sid",
    "chat_service_sid",
    "conversation_sid",
    "unread_messages_count",
    "last_read_message_index",
    "participant_sid",
    "user_sid",
    "friendly_name",
    "conversation_state",
    "timers",
    "attributes",
    "date_created",
    "date_updated",
    "created_by",
    "notification_level",
    "unique_name",
    "url",
    "links",
];

const PARTICIPANT_CONVERSATION_FIELDS: &[&str] = &[
    "account_sid",
    "chat_service_sid",
    "participant_sid",
    "participant_user_sid",
    "participant_identity",
    "participant_messaging_binding",
    "conversation_sid",
    "conversation_unique_name",
    "conversation_friendly_name",
    "conversation_attributes",
    "conversation_date_created",
    "conversation_date_updated",
    "conversation_created_by",
    "conversation_state",
    "conversation_timers",
    "links",
];

#[tokio::test]
async fn user_is_created_with_every_reference_field_on_both_families() {
    let server = TestServer::start().await;
    let api = server.api();
    let default = support::default_service(&api).await;
    let other = support::service(&api, "tenant").await;
    for (is, base) in [
        (default.clone(), "/v1".to_owned()),
        (other.clone(), format!("/v1/Services/{other}")),
    ] {
        let default_role = support::role_sid(&api, &base, "service user").await;
        let u = api
            .post(
                &format!("{base}/Users"),
                &[
                    ("Identity", "alice"),
                    ("FriendlyName", "Alice A."),
                    ("Attributes", r#"{"team":"blue"}"#),
                ],
            )
            .await
            .expect(201);
        assert_eq!(keys(&u), sorted(USER_FIELDS), "{u}");
        let us = sid(&u);
        assert!(is_sid("US", &us), "{us}");
        assert_eq!(u["account_sid"], server.credentials().account_sid.as_str());
        assert_eq!(u["chat_service_sid"], is.as_str());
        assert_eq!(u["role_sid"], default_role.as_str());
        assert_eq!(u["identity"], "alice");
        assert_eq!(u["friendly_name"], "Alice A.");
        assert_eq!(u["attributes"], r#"{"team":"blue"}"#);
        assert!(u["is_online"].is_null(), "{u}");
        assert!(u["is_notifiable"].is_null(), "{u}");
        assert!((iso_secs(&u["date_created"]) - now_secs()).abs() < 60);
        assert_eq!(u["date_updated"], u["date_created"]);
        let url = format!("{}{base}/Users/{us}", server.url());
        assert_eq!(u["url"], url.as_str());
        assert_eq!(
            u["links"],
            json!({"user_conversations": format!("{url}/Conversations")})
        );
        assert_eq!(api.get(&format!("{base}/Users/{us}")).await.expect(200), u);
        assert_eq!(api.get(&format!("{base}/Users/alice")).await.expect(200), u);
        let ucs = api.get(&format!("{url}/Conversations")).await.expect(200);
        assert_eq!(ucs["conversations"], json!([]));
    }
    // Optional fields take their defaults.
    let plain = api
        .post("/v1/Users", &[("Identity", "bob")])
        .await
        .expect(201);
    assert!(plain["friendly_name"].is_null(), "{plain}");
    assert_eq!(plain["attributes"], "{}");
}

#[tokio::test]
async fn user_needs_a_unique_identity_and_valid_fields() {
    let server = TestServer::start().await;
    let api = server.api();
    api.post("/v1/Users", &[("Identity", "alice")])
        .await
        .expect(201);
    let before = support::dump_all(&api).await;
    let long = "x".repeat(257);
    for form in [
        vec![],
        vec![("FriendlyName", "no identity")],
        vec![("Identity", "")],
        vec![("Identity", long.as_str())],
        vec![("Identity", "carol"), ("FriendlyName", long.as_str())],
        vec![("Identity", "carol"), ("Attributes", "not json")],
        vec![("Identity", "carol"), ("RoleSid", "RLnope")],
    ] {
        api.post("/v1/Users", &form).await.expect_error(400, 20001);
        assert_eq!(support::dump_all(&api).await, before, "{form:?}");
    }
    api.post(
        "/v1/Users",
        &[("Identity", "alice"), ("FriendlyName", "again")],
    )
    .await
    .expect_error(409, 50300);
    assert_eq!(support::dump_all(&api).await, before);
    api.get("/v1/Users/carol").await.expect_error(404, 20404);
    api.get(&format!("/v1/Users/{}", unknown_sid("US")))
        .await
        .expect_error(404, 20404);
}

#[tokio::test]
async fn user_update_changes_only_what_is_given() {
    let server = TestServer::start().await;
    let api = server.api();
    let created = api
        .post(
            "/v1/Users",
            &[
                ("Identity", "alice"),
                ("FriendlyName", "Alice"),
                ("Attributes", r#"{"a":1}"#),
            ],
        )
        .await
        .expect(201);
    let admin = support::role_sid(&api, "/v1", "service admin").await;
    let renamed = api
        .post("/v1/Users/alice", &[("FriendlyName", "Alice B.")])
        .await
        .expect(200);
    let mut expected = created.clone();
    expected["friendly_name"] = json!("Alice B.");
    expected["date_updated"] = renamed["date_updated"].clone();
    assert_eq!(renamed, expected);
    let updated = api
        .post(
            &format!("/v1/Users/{}", sid(&created)),
            &[("Attributes", r#"{"b":2}"#), ("RoleSid", admin.as_str())],
        )
        .await
        .expect(200);
    expected["attributes"] = json!(r#"{"b":2}"#);
    expected["role_sid"] = json!(admin);
    expected["date_updated"] = updated["date_updated"].clone();
    assert_eq!(updated, expected);
    assert_eq!(api.get("/v1/Users/alice").await.expect(200), updated);
    // Bad values change nothing.
    let long = "x".repeat(257);
    for form in [
        vec![("Attributes", "{")],
        vec![("FriendlyName", long.as_str())],
        vec![("RoleSid", "")],
    ] {
        api.post("/v1/Users/alice", &form)
            .await
            .expect_error(400, 20001);
    }
    assert_eq!(api.get("/v1/Users/alice").await.expect(200), updated);
    api.post("/v1/Users/nobody", &[("FriendlyName", "x")])
        .await
        .expect_error(404, 20404);
}

#[tokio::test]
async fn deleting_a_user_takes_it_out_of_its_conversations() {
    let server = TestServer::start().await;
    let api = server.api();
    let c1 = support::conversation(&api, &[]).await;
    let c2 = support::conversation(&api, &[]).await;
    for c in [&c1, &c2] {
        support::participant(&api, c, "alice").await;
        support::participant(&api, c, "bob").await;
    }
    let alice = sid(&api.get("/v1/Users/alice").await.expect(200));
    api.delete(&format!("/v1/Users/{alice}")).await.expect(204);
    api.get(&format!("/v1/Users/{alice}"))
        .await
        .expect_error(404, 20404);
    api.get("/v1/Users/alice").await.expect_error(404, 20404);
    api.delete("/v1/Users/alice").await.expect_error(404, 20404);
    for c in [&c1, &c2] {
        let parts = api
            .get(&format!("/v1/Conversations/{c}/Participants"))
            .await
            .expect(200);
        let ids: Vec<&str> = parts["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["identity"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["bob"], "{parts}");
        api.get(&format!("/v1/Conversations/{c}/Participants/alice"))
            .await
            .expect_error(404, 20404);
    }
    let pcs = api
        .get("/v1/ParticipantConversations?Identity=alice")
        .await
        .expect(200);
    assert_eq!(pcs["conversations"], json!([]));
    // Bob is untouched, and alice can come back as a new user.
    let bob = api.get("/v1/Users/bob/Conversations").await.expect(200);
    assert_eq!(bob["conversations"].as_array().unwrap().len(), 2);
    let again = api
        .post("/v1/Users", &[("Identity", "alice")])
        .await
        .expect(201);
    assert_ne!(sid(&again), alice);
}

#[tokio::test]
async fn users_list_pages_with_at_most_50_per_page() {
    let server = TestServer::start().await;
    let api = server.api();
    let mut made = vec![];
    for i in 0..5 {
        made.push(sid(&api
            .post("/v1/Users", &[("Identity", &*format!("user{i}"))])
            .await
            .expect(201)));
    }
    let (all, pages) = api.collect_pages("/v1/Users?PageSize=2", "users").await;
    assert_eq!(pages, 3);
    assert_eq!(all.iter().map(sid).collect::<Vec<_>>(), made);
    for u in &all {
        assert_eq!(api.get(u["url"].as_str().unwrap()).await.expect(200), *u);
    }
    let fifty = api.get("/v1/Users?PageSize=50").await.expect(200);
    assert_eq!(fifty["meta"]["key"], "users");
    assert_eq!(fifty["users"].as_array().unwrap().len(), 5);
    for bad in ["0", "-1", "many"] {
        api.get(&format!("/v1/Users?PageSize={bad}"))
            .await
            .expect_error(400, 20001);
    }
    for above in ["51", "100"] {
        let page = api
            .get(&format!("/v1/Users?PageSize={above}"))
            .await
            .expect(200);
        assert_eq!(page["meta"]["page_size"], 50);
        assert_eq!(page["users"].as_array().unwrap().len(), 5);
    }
}

#[tokio::test]
async fn participant_added_by_identity_creates_its_user() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    api.get("/v1/Users/bob").await.expect_error(404, 20404);
    let p = support::participant(&api, &conv, "bob").await;
    let bob = api.get("/v1/Users/bob").await.expect(200);
    assert_eq!(keys(&bob), sorted(USER_FIELDS), "{bob}");
    assert_eq!(bob["identity"], "bob");
    assert!(bob["friendly_name"].is_null());
    assert_eq!(bob["attributes"], "{}");
    assert_eq!(
        bob["role_sid"],
        support::role_sid(&api, "/v1", "service user")
            .await
            .as_str()
    );
    api.post("/v1/Users", &[("Identity", "bob")])
        .await
        .expect_error(409, 50300);
    let uc = api
        .get(&format!("/v1/Users/bob/Conversations/{conv}"))
        .await
        .expect(200);
    assert_eq!(uc["participant_sid"], p["sid"]);
    assert_eq!(uc["user_sid"], bob["sid"]);
    // A second conversation reuses the same user.
    let c2 = support::conversation(&api, &[]).await;
    support::participant(&api, &c2, "bob").await;
    assert_eq!(
        api.get("/v1/Users/bob").await.expect(200)["sid"],
        bob["sid"]
    );
    let users = api.get("/v1/Users").await.expect(200);
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
    // A non-chat participant brings no user.
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[
            ("MessagingBinding.Address", "+15551230001"),
            ("MessagingBinding.ProxyAddress", "+15559870000"),
        ],
    )
    .await
    .expect(201);
    let users = api.get("/v1/Users").await.expect(200);
    assert_eq!(users["users"].as_array().unwrap().len(), 1, "{users}");
}

#[tokio::test]
async fn user_conversations_list_and_fetch_show_every_reference_field() {
    let server = TestServer::start().await;
    let api = server.api();
    let c1 = support::conversation(
        &api,
        &[
            ("UniqueName", "room"),
            ("FriendlyName", "Room"),
            ("Attributes", r#"{"x":1}"#),
        ],
    )
    .await;
    let c2 = support::conversation(&api, &[]).await;
    let c3 = support::conversation(&api, &[]).await; // alice is not in this one
    let p1 = support::participant(&api, &c1, "alice").await;
    let p2 = support::participant(&api, &c2, "alice").await;
    let user = api.get("/v1/Users/alice").await.expect(200);
    let us = sid(&user);
    let list = api
        .get(user["links"]["user_conversations"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(list["meta"]["key"], "conversations");
    let items = list["conversations"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    let uc = &items[0];
    assert_eq!(keys(uc), sorted(USER_CONVERSATION_FIELDS), "{uc}");
    let conv = api
        .get(&format!("/v1/Conversations/{c1}"))
        .await
        .expect(200);
    assert_eq!(uc["account_sid"], server.credentials().account_sid.as_str());
    assert_eq!(uc["chat_service_sid"], conv["chat_service_sid"]);
    assert_eq!(uc["conversation_sid"], c1.as_str());
    assert!(uc["unread_messages_count"].is_null(), "{uc}");
    assert!(uc["last_read_message_index"].is_null(), "{uc}");
    assert_eq!(uc["participant_sid"], p1["sid"]);
    assert_eq!(uc["user_sid"], us.as_str());
    assert_eq!(uc["friendly_name"], "Room");
    assert_eq!(uc["conversation_state"], "active");
    assert_eq!(uc["timers"], json!({}));
    assert_eq!(uc["attributes"], r#"{"x":1}"#);
    assert_eq!(uc["date_created"], conv["date_created"]);
    assert_eq!(uc["date_updated"], conv["date_updated"]);
    assert_eq!(uc["created_by"], "system");
    assert_eq!(uc["notification_level"], "default");
    assert_eq!(uc["unique_name"], "room");
    let url = format!("{}/v1/Users/{us}/Conversations/{c1}", server.url());
    assert_eq!(uc["url"], url.as_str());
    assert_eq!(
        uc["links"],
        json!({
            "participant": p1["url"],
            "conversation": conv["url"],
        })
    );
    assert_eq!(items[1]["conversation_sid"], c2.as_str());
    assert_eq!(items[1]["participant_sid"], p2["sid"]);
    // Fetched by conversation SID or unique name, by user SID or identity: the same.
    for path in [
        format!("/v1/Users/{us}/Conversations/{c1}"),
        format!("/v1/Users/alice/Conversations/{c1}"),
        "/v1/Users/alice/Conversations/room".to_owned(),
        url.clone(),
    ] {
        assert_eq!(api.get(&path).await.expect(200), *uc, "{path}");
    }
    api.get(&format!("/v1/Users/alice/Conversations/{c3}"))
        .await
        .expect_error(404, 20404);
    api.get("/v1/Users/nobody/Conversations")
        .await
        .expect_error(404, 20404);
    api.get("/v1/Users/alice/Conversations?PageSize=0")
        .await
        .expect_error(400, 20001);
    let above = api
        .get("/v1/Users/alice/Conversations?PageSize=51")
        .await
        .expect(200);
    assert_eq!(above["meta"]["page_size"], 50);
}

#[tokio::test]
async fn notification_level_is_default_or_muted() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    let path = format!("/v1/Users/alice/Conversations/{conv}");
    let muted = api
        .post(&path, &[("NotificationLevel", "muted")])
        .await
        .expect(200);
    assert_eq!(muted["notification_level"], "muted");
    assert_eq!(api.get(&path).await.expect(200), muted);
    for bad in ["loud", "", "Muted"] {
        api.post(&path, &[("NotificationLevel", bad)])
            .await
            .expect_error(400, 20001);
        assert_eq!(api.get(&path).await.expect(200), muted, "{bad}");
    }
    let back = api
        .post(&path, &[("NotificationLevel", "default")])
        .await
        .expect(200);
    assert_eq!(back["notification_level"], "default");
}

#[tokio::test]
async fn read_horizon_sets_the_unread_messages_count() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    let path = format!("/v1/Users/alice/Conversations/{conv}");
    let fresh = api.get(&path).await.expect(200);
    assert!(fresh["unread_messages_count"].is_null(), "{fresh}");
    for i in 0..5 {
        support::message(&api, &conv, "bob", &format!("m{i}")).await;
    }
    let before = api.get(&path).await.expect(200);
    assert!(
        before["unread_messages_count"].is_null(),
        "no read horizon yet: {before}"
    );

    let read = api
        .post(
            &path,
            &[
                ("LastReadMessageIndex", "1"),
                ("LastReadTimestamp", "2024-05-01T10:00:00Z"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(read["last_read_message_index"], 1);
    assert_eq!(read["unread_messages_count"], 3);
    assert_eq!(api.get(&path).await.expect(200), read);
    let p = api
        .get(&format!("/v1/Conversations/{conv}/Participants/alice"))
        .await
        .expect(200);
    assert_eq!(p["last_read_message_index"], 1);
    assert_eq!(p["last_read_timestamp"], "2024-05-01T10:00:00Z");

    for bad in ["-1", "one", "1.5"] {
        api.post(&path, &[("LastReadMessageIndex", bad)])
            .await
            .expect_error(400, 20001);
        assert_eq!(api.get(&path).await.expect(200), read, "{bad}");
    }
    let all = api
        .post(&path, &[("LastReadMessageIndex", "4")])
        .await
        .expect(200);
    assert_eq!(all["unread_messages_count"], 0);
    support::message(&api, &conv, "bob", "one more").await;
    assert_eq!(api.get(&path).await.expect(200)["unread_messages_count"], 1);
}

#[tokio::test]
async fn deleting_a_user_conversation_removes_the_participant() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[("UniqueName", "room")]).await;
    let p = support::participant(&api, &conv, "alice").await;
    support::participant(&api, &conv, "bob").await;
    api.delete("/v1/Users/alice/Conversations/room")
        .await
        .expect(204);
    api.get(p["url"].as_str().unwrap())
        .await
        .expect_error(404, 20404);
    api.get("/v1/Users/alice/Conversations/room")
        .await
        .expect_error(404, 20404);
    api.delete("/v1/Users/alice/Conversations/room")
        .await
        .expect_error(404, 20404);
    let list = api.get("/v1/Users/alice/Conversations").await.expect(200);
    assert_eq!(list["conversations"], json!([]));
    // The user stays; bob stays in the conversation.
    api.get("/v1/Users/alice").await.expect(200);
    api.get(&format!("/v1/Conversations/{conv}/Participants/bob"))
        .await
        .expect(200);
}

#[tokio::test]
async fn participant_conversations_by_identity_or_address_show_every_reference_field() {
    let server = TestServer::start().await;
    let api = server.api();
    let c1 = support::conversation(&api, &[("UniqueName", "room"), ("FriendlyName", "Room")]).await;
    let c2 = support::conversation(&api, &[]).await;
    let p1 = support::participant(&api, &c1, "alice").await;
    support::participant(&api, &c2, "alice").await;
    let sms = api
        .post(
            &format!("/v1/Conversations/{c2}/Participants"),
            &[
                ("MessagingBinding.Address", "+15551230001"),
                ("MessagingBinding.ProxyAddress", "+15559870000"),
            ],
        )
        .await
        .expect(201);
    let user = api.get("/v1/Users/alice").await.expect(200);

    let by_identity = api
        .get("/v1/ParticipantConversations?Identity=alice")
        .await
        .expect(200);
    assert_eq!(by_identity["meta"]["key"], "conversations");
    let items = by_identity["conversations"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{by_identity}");
    let pc = &items[0];
    assert_eq!(keys(pc), sorted(PARTICIPANT_CONVERSATION_FIELDS), "{pc}");
    let conv = api
        .get(&format!("/v1/Conversations/{c1}"))
        .await
        .expect(200);
    assert_eq!(pc["account_sid"], server.credentials().account_sid.as_str());
    assert_eq!(pc["chat_service_sid"], conv["chat_service_sid"]);
    assert_eq!(pc["participant_sid"], p1["sid"]);
    assert_eq!(pc["participant_user_sid"], user["sid"]);
    assert_eq!(pc["participant_identity"], "alice");
    assert!(pc["participant_messaging_binding"].is_null(), "{pc}");
    assert_eq!(pc["conversation_sid"], c1.as_str());
    assert_eq!(pc["conversation_unique_name"], "room");
    assert_eq!(pc["conversation_friendly_name"], "Room");
    assert_eq!(pc["conversation_attributes"], "{}");
    assert_eq!(pc["conversation_date_created"], conv["date_created"]);
    assert_eq!(pc["conversation_date_updated"], conv["date_updated"]);
    assert_eq!(pc["conversation_created_by"], "system");
    assert_eq!(pc["conversation_state"], "active");
    assert_eq!(pc["conversation_timers"], json!({}));
    assert_eq!(
        pc["links"],
        json!({"participant": p1["url"], "conversation": conv["url"]})
    );
    assert_eq!(items[1]["conversation_sid"], c2.as_str());

    let by_address = api
        .get("/v1/ParticipantConversations?Address=%2B15551230001")
        .await
        .expect(200);
    let items = by_address["conversations"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{by_address}");
    let pc = &items[0];
    assert_eq!(keys(pc), sorted(PARTICIPANT_CONVERSATION_FIELDS), "{pc}");
    assert_eq!(pc["participant_sid"], sms["sid"]);
    assert!(pc["participant_identity"].is_null(), "{pc}");
    assert!(pc["participant_user_sid"].is_null(), "{pc}");
    assert_eq!(
        pc["participant_messaging_binding"],
        sms["messaging_binding"]
    );
    assert_eq!(pc["conversation_sid"], c2.as_str());
    assert!(pc["conversation_unique_name"].is_null(), "{pc}");

    for q in ["Identity=nobody", "Address=%2B15550000000"] {
        let empty = api
            .get(&format!("/v1/ParticipantConversations?{q}"))
            .await
            .expect(200);
        assert_eq!(empty["conversations"], json!([]), "{q}");
    }
    for q in [
        "",
        "?PageSize=5",
        "?Identity=alice&Address=%2B15551230001",
        "?Identity=alice&PageSize=0",
    ] {
        api.get(&format!("/v1/ParticipantConversations{q}"))
            .await
            .expect_error(400, 20001);
    }
    let above = api
        .get("/v1/ParticipantConversations?Identity=alice&PageSize=51")
        .await
        .expect(200);
    assert_eq!(above["meta"]["page_size"], 50);
    // Paging keeps the filter.
    let (paged, pages) = api
        .collect_pages(
            "/v1/ParticipantConversations?Identity=alice&PageSize=1",
            "conversations",
        )
        .await;
    assert_eq!(pages, 2);
    assert_eq!(paged.len(), 2);
}
