//! `…/Conversations/{ConversationSid}/Participants`: chat and non-chat participants.

use confab_testkit::TestServer;
use serde_json::json;

use crate::support::{self, is_sid, keys, sid, sorted, unknown_sid};

const PARTICIPANT_FIELDS: &[&str] = &[
    "account_sid",
    "conversation_sid",
    "sid",
    "identity",
    "attributes",
    "messaging_binding",
    "role_sid",
    "date_created",
    "date_updated",
    "url",
    "last_read_message_index",
    "last_read_timestamp",
];

#[tokio::test]
async fn chat_participant_is_created_with_every_reference_field() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let role = support::conversation_role(&api).await;
    let p = api
        .post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[
                ("Identity", "alice"),
                ("Attributes", r#"{"role":"agent"}"#),
                ("RoleSid", role.as_str()),
                ("DateCreated", "2020-02-03T04:05:06Z"),
            ],
        )
        .await
        .expect(201);
    assert_eq!(keys(&p), sorted(PARTICIPANT_FIELDS), "{p}");
    let s = sid(&p);
    assert!(is_sid("MB", &s), "{s}");
    assert_eq!(p["account_sid"], server.credentials().account_sid.as_str());
    assert_eq!(p["conversation_sid"], conv.as_str());
    assert_eq!(p["identity"], "alice");
    assert_eq!(p["attributes"], r#"{"role":"agent"}"#);
    assert!(p["messaging_binding"].is_null());
    assert_eq!(p["role_sid"], role.as_str());
    assert_eq!(p["date_created"], "2020-02-03T04:05:06Z");
    assert_eq!(p["date_updated"], "2020-02-03T04:05:06Z");
    assert!(p["last_read_message_index"].is_null());
    assert!(p["last_read_timestamp"].is_null());
    assert_eq!(
        p["url"],
        format!("{}/v1/Conversations/{conv}/Participants/{s}", server.url())
    );
    assert_eq!(api.get(p["url"].as_str().unwrap()).await.expect(200), p);
}

#[tokio::test]
async fn non_chat_participant_keeps_its_messaging_binding() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let path = format!("/v1/Conversations/{conv}/Participants");
    let sms = api
        .post(
            &path,
            &[
                ("MessagingBinding.Address", "+15551230001"),
                ("MessagingBinding.ProxyAddress", "+15559870000"),
            ],
        )
        .await
        .expect(201);
    assert!(sms["identity"].is_null(), "{sms}");
    assert_eq!(
        sms["messaging_binding"],
        json!({"type": "sms", "address": "+15551230001", "proxy_address": "+15559870000"})
    );
    assert_eq!(sms["attributes"], "{}");
    let wa = api
        .post(
            &path,
            &[
                ("MessagingBinding.Address", "whatsapp:+15551230002"),
                ("MessagingBinding.ProxyAddress", "whatsapp:+15559870000"),
            ],
        )
        .await
        .expect(201);
    assert_eq!(wa["messaging_binding"]["type"], "whatsapp");
    assert_eq!(
        api.get(&format!("{path}/{}", sid(&sms))).await.expect(200),
        sms
    );
}

#[tokio::test]
async fn fetch_by_sid_and_by_identity_give_the_same_participant() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[("UniqueName", "room")]).await;
    let p = support::participant(&api, &conv, "bob@example.com").await;
    let path = format!("/v1/Conversations/{conv}/Participants");
    assert_eq!(api.get(&format!("{path}/{}", sid(&p))).await.expect(200), p);
    assert_eq!(
        api.get(&format!("{path}/bob@example.com"))
            .await
            .expect(200),
        p
    );
    // The conversation may be named by its unique name too.
    assert_eq!(
        api.get("/v1/Conversations/room/Participants/bob@example.com")
            .await
            .expect(200),
        p
    );
    api.get(&format!("{path}/carol"))
        .await
        .expect_error(404, 20404);
    api.get(&format!("{path}/{}", unknown_sid("MB")))
        .await
        .expect_error(404, 20404);
}

#[tokio::test]
async fn update_sets_attributes_role_and_read_horizon() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let p = support::participant(&api, &conv, "alice").await;
    let role = support::conversation_role(&api).await;
    let url = format!("/v1/Conversations/{conv}/Participants/{}", sid(&p));
    let updated = api
        .post(
            &url,
            &[
                ("Attributes", r#"{"seat":4}"#),
                ("RoleSid", role.as_str()),
                ("LastReadMessageIndex", "7"),
                ("LastReadTimestamp", "2024-05-01T10:00:00Z"),
                ("DateUpdated", "2024-05-01T10:00:01Z"),
            ],
        )
        .await
        .expect(200);
    let mut expected = p.clone();
    expected["attributes"] = json!(r#"{"seat":4}"#);
    expected["role_sid"] = json!(role);
    expected["last_read_message_index"] = json!(7);
    expected["last_read_timestamp"] = json!("2024-05-01T10:00:00Z");
    expected["date_updated"] = json!("2024-05-01T10:00:01Z");
    assert_eq!(updated, expected);
    assert_eq!(api.get(&url).await.expect(200), expected);
    // By identity, and only what is given changes.
    let again = api
        .post(
            &format!("/v1/Conversations/{conv}/Participants/alice"),
            &[("LastReadMessageIndex", "9")],
        )
        .await
        .expect(200);
    assert_eq!(again["last_read_message_index"], 9);
    assert_eq!(again["attributes"], r#"{"seat":4}"#);
    assert_eq!(again["role_sid"], role.as_str());
}

#[tokio::test]
async fn delete_removes_the_participant_and_frees_the_identity() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let alice = support::participant(&api, &conv, "alice").await;
    let bob = support::participant(&api, &conv, "bob").await;
    let url = format!("/v1/Conversations/{conv}/Participants/{}", sid(&alice));
    let res = api.delete(&url).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_null());
    api.get(&url).await.expect_error(404, 20404);
    api.delete(&url).await.expect_error(404, 20404);
    let list = api
        .get(&format!("/v1/Conversations/{conv}/Participants"))
        .await
        .expect(200);
    assert_eq!(list["participants"], json!([bob]));
    let back = support::participant(&api, &conv, "alice").await;
    assert_ne!(back["sid"], alice["sid"]);
    // Removing by identity works too.
    let res = api
        .delete(&format!("/v1/Conversations/{conv}/Participants/bob"))
        .await;
    assert_eq!(res.status, 204);
}

#[tokio::test]
async fn list_shows_participants_in_the_order_they_joined() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let mut expected = vec![];
    for who in ["zed", "amy", "mo"] {
        expected.push(support::participant(&api, &conv, who).await);
    }
    let list = api
        .get(&format!("/v1/Conversations/{conv}/Participants"))
        .await
        .expect(200);
    assert_eq!(list["participants"], json!(expected));
    assert_eq!(list["meta"]["key"], "participants");
    assert_eq!(
        list["meta"]["url"],
        format!(
            "{}/v1/Conversations/{conv}/Participants?PageSize=50&Page=0",
            server.url()
        )
    );
}

#[tokio::test]
async fn duplicate_identity_is_a_conflict_and_adds_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    let before = support::dump(&api).await;
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[("Identity", "alice"), ("Attributes", r#"{"second":true}"#)],
    )
    .await
    .expect_error(409, 50300);
    assert_eq!(support::dump(&api).await, before);
}

#[tokio::test]
async fn neither_identity_nor_address_is_invalid_and_adds_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let path = format!("/v1/Conversations/{conv}/Participants");
    let before = support::dump(&api).await;
    for form in [
        vec![],
        vec![("Attributes", "{}")],
        // Both kinds at once, and an address with nothing to talk to.
        vec![
            ("Identity", "x"),
            ("MessagingBinding.Address", "+15550000001"),
            ("MessagingBinding.ProxyAddress", "+15550000002"),
        ],
        vec![("MessagingBinding.Address", "+15550000001")],
        vec![("Identity", "")],
    ] {
        api.post(&path, &form).await.expect_error(400, 20001);
    }
    assert_eq!(support::dump(&api).await, before);
}

#[tokio::test]
async fn participants_of_an_unknown_conversation_are_not_found() {
    let server = TestServer::start().await;
    let api = server.api();
    let path = format!("/v1/Conversations/{}/Participants", unknown_sid("CH"));
    api.post(&path, &[("Identity", "alice")])
        .await
        .expect_error(404, 20404);
    api.get(&path).await.expect_error(404, 20404);
}

#[tokio::test]
async fn service_scoped_participants_carry_service_scoped_urls() {
    let server = TestServer::start().await;
    let api = server.api();
    let config = api.get("/v1/Configuration").await.expect(200);
    let is = config["default_chat_service_sid"].as_str().unwrap();
    let conv = support::conversation(&api, &[]).await;
    let path = format!("/v1/Services/{is}/Conversations/{conv}/Participants");
    let p = api.post(&path, &[("Identity", "alice")]).await.expect(201);
    assert_eq!(p["url"], format!("{}{path}/{}", server.url(), sid(&p)));
    let list = api.get(&path).await.expect(200);
    assert_eq!(list["participants"], json!([p]));
}

#[tokio::test]
async fn proxy_address_on_a_chat_participant_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let p = support::participant(&api, &conv, "alice").await;
    let path = format!("/v1/Conversations/{conv}/Participants/{}", sid(&p));
    api.post(&path, &[("MessagingBinding.ProxyAddress", "+15550000009")])
        .await
        .expect_error(400, 20001);
    assert_eq!(api.get(&path).await.expect(200), p);
}

#[tokio::test]
async fn content_type_is_matched_without_regard_to_case() {
    let server = TestServer::start().await;
    let api = server.api();
    let reply = api
        .raw(
            reqwest::Method::POST,
            "/v1/Conversations",
            &[(
                "content-type",
                "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            )],
            b"FriendlyName=Case".to_vec(),
        )
        .await;
    assert_eq!(reply.expect(201)["friendly_name"], "Case");
}

#[tokio::test]
async fn identity_cannot_be_given_or_changed_after_a_participant_is_added() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let chat = support::participant(&api, &conv, "alice").await;
    let sms = api
        .post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[
                ("MessagingBinding.Address", "+15550001111"),
                ("MessagingBinding.ProxyAddress", "+15550002222"),
            ],
        )
        .await
        .expect(201);
    for (p, identity) in [(&chat, "mallory"), (&sms, "bob")] {
        let path = format!("/v1/Conversations/{conv}/Participants/{}", sid(p));
        api.post(&path, &[("Identity", identity)])
            .await
            .expect_error(400, 20001);
        assert_eq!(&api.get(&path).await.expect(200), p, "nothing changed");
    }
    // Repeating the identity it already has is no change at all.
    let path = format!("/v1/Conversations/{conv}/Participants/{}", sid(&chat));
    api.post(&path, &[("Identity", "alice")]).await.expect(200);
}

#[tokio::test]
async fn an_identity_shaped_like_a_participant_sid_is_refused() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let shaped = format!("MB{}", "1".repeat(32));
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[("Identity", shaped.as_str())],
    )
    .await
    .expect_error(400, 20001);
    let list = api
        .get(&format!("/v1/Conversations/{conv}/Participants"))
        .await
        .expect(200);
    assert_eq!(list["participants"].as_array().unwrap().len(), 0);
}
