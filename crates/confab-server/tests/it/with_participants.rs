//! `…/ConversationWithParticipants`: a conversation and up to 10 participants in one request,
//! all or nothing.

use confab_testkit::TestServer;
use serde_json::{Value, json};

use crate::support::{self, is_sid, keys, sid, sorted};

const CONVERSATION_FIELDS: &[&str] = &[
    "account_sid",
    "attributes",
    "bindings",
    "chat_service_sid",
    "date_created",
    "date_updated",
    "friendly_name",
    "links",
    "messaging_service_sid",
    "sid",
    "state",
    "timers",
    "unique_name",
    "url",
];

fn chat(identity: &str) -> String {
    json!({ "identity": identity }).to_string()
}

fn sms(address: &str) -> String {
    json!({"messaging_binding": {"address": address, "proxy_address": "+15559870000"}}).to_string()
}

async fn participants(api: &confab_testkit::Api, base: &str, conv: &str) -> Vec<Value> {
    api.collect_pages(
        &format!("{base}/Conversations/{conv}/Participants?PageSize=5"),
        "participants",
    )
    .await
    .0
}

#[tokio::test]
async fn conversation_without_participants_has_the_reference_shape_without_export() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = api
        .post(
            "/v1/ConversationWithParticipants",
            &[
                ("FriendlyName", "Support"),
                ("UniqueName", "support"),
                ("Attributes", r#"{"tier":1}"#),
            ],
        )
        .await
        .expect(201);
    assert_eq!(keys(&c), sorted(CONVERSATION_FIELDS), "{c}");
    let cs = sid(&c);
    assert!(is_sid("CH", &cs), "{cs}");
    assert_eq!(c["account_sid"], server.credentials().account_sid.as_str());
    assert_eq!(
        c["chat_service_sid"],
        support::default_service(&api).await.as_str()
    );
    assert_eq!(c["friendly_name"], "Support");
    assert_eq!(c["unique_name"], "support");
    assert_eq!(c["attributes"], r#"{"tier":1}"#);
    assert_eq!(c["state"], "active");
    let url = format!("{}/v1/Conversations/{cs}", server.url());
    assert_eq!(c["url"], url.as_str());
    assert_eq!(
        c["links"],
        json!({
            "participants": format!("{url}/Participants"),
            "messages": format!("{url}/Messages"),
            "webhooks": format!("{url}/Webhooks"),
        })
    );
    // The conversation itself is an ordinary one, export link included.
    let mut fetched = api.get("/v1/Conversations/support").await.expect(200);
    assert_eq!(fetched["links"]["export"], format!("{url}/Export").as_str());
    fetched["links"].as_object_mut().unwrap().remove("export");
    assert_eq!(fetched, c);
    assert!(participants(&api, "/v1", &cs).await.is_empty());
}

#[tokio::test]
async fn one_chat_participant_joins_with_its_attributes_role_and_user() {
    let server = TestServer::start().await;
    let api = server.api();
    let role = support::conversation_role(&api).await;
    let p = json!({"identity": "alice", "attributes": {"seat": 3}, "role_sid": role}).to_string();
    let c = api
        .post(
            "/v1/ConversationWithParticipants",
            &[("Participant", p.as_str())],
        )
        .await
        .expect(201);
    let list = participants(&api, "/v1", &sid(&c)).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["identity"], "alice");
    assert_eq!(list[0]["attributes"], r#"{"seat":3}"#);
    assert_eq!(list[0]["role_sid"], role.as_str());
    let user = api.get("/v1/Users/alice").await.expect(200);
    let uc = api
        .get(&format!("/v1/Users/alice/Conversations/{}", sid(&c)))
        .await
        .expect(200);
    assert_eq!(uc["user_sid"], user["sid"]);
    // Attributes may also come as JSON text, as the REST parameter does.
    let text = json!({"identity": "bob", "attributes": "{\"x\":true}"}).to_string();
    let c2 = api
        .post(
            "/v1/ConversationWithParticipants",
            &[("Participant", text.as_str())],
        )
        .await
        .expect(201);
    assert_eq!(
        participants(&api, "/v1", &sid(&c2)).await[0]["attributes"],
        r#"{"x":true}"#
    );
}

#[tokio::test]
async fn ten_chat_and_non_chat_participants_join_in_one_request() {
    let server = TestServer::start().await;
    let api = server.api();
    let mut given: Vec<String> = (0..7).map(|i| chat(&format!("user{i}"))).collect();
    given.push(sms("+15551230001"));
    given.push(sms("+15551230002"));
    given.push(sms("whatsapp:+15551230003"));
    let mut form: Vec<(&str, &str)> = given.iter().map(|p| ("Participant", p.as_str())).collect();
    form.push(("FriendlyName", "big"));
    let c = api
        .post("/v1/ConversationWithParticipants", &form)
        .await
        .expect(201);
    let list = participants(&api, "/v1", &sid(&c)).await;
    assert_eq!(list.len(), 10);
    for (i, p) in list.iter().take(7).enumerate() {
        assert_eq!(p["identity"], format!("user{i}").as_str(), "{p}");
        assert!(p["messaging_binding"].is_null(), "{p}");
    }
    assert!(list[7]["identity"].is_null());
    assert_eq!(
        list[7]["messaging_binding"],
        json!({"type": "sms", "address": "+15551230001", "proxy_address": "+15559870000"})
    );
    assert_eq!(list[9]["messaging_binding"]["type"], "whatsapp");
    let (users, _) = api.collect_pages("/v1/Users?PageSize=50", "users").await;
    assert_eq!(users.len(), 7);
    let pcs = api
        .get("/v1/ParticipantConversations?Address=%2B15551230002")
        .await
        .expect(200);
    assert_eq!(pcs["conversations"][0]["conversation_sid"], c["sid"]);
}

#[tokio::test]
async fn eleven_participants_are_refused_and_nothing_is_created() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = support::dump_all(&api).await;
    let given: Vec<String> = (0..11).map(|i| chat(&format!("user{i}"))).collect();
    let mut form: Vec<(&str, &str)> = given.iter().map(|p| ("Participant", p.as_str())).collect();
    form.push(("UniqueName", "crowd"));
    api.post("/v1/ConversationWithParticipants", &form)
        .await
        .expect_error(400, 20001);
    assert_eq!(support::dump_all(&api).await, before);
    api.post("/v1/Conversations", &[("UniqueName", "crowd")])
        .await
        .expect(201);
}

#[tokio::test]
async fn one_bad_participant_fails_the_whole_request_and_nothing_is_created() {
    let server = TestServer::start().await;
    let api = server.api();
    let service_role = support::role_sid(&api, "/v1", "service user").await;
    let big = json!({"identity": "x", "attributes": {"pad": "p".repeat(4100)}}).to_string();
    let cases: Vec<(u16, u64, String)> = vec![
        (409, 50300, chat("carol")),
        (400, 20001, "{\"identity\":".to_owned()),
        (400, 20001, "\"dave\"".to_owned()),
        (400, 20001, "[]".to_owned()),
        (400, 20001, json!({"identity": "dave", "color": "red"}).to_string()),
        (
            400,
            20001,
            json!({"messaging_binding": {"address": "+1555", "proxy_address": "+1556", "x": 1}})
                .to_string(),
        ),
        (400, 20001, big),
        (400, 20001, json!({"identity": "dave", "attributes": "{not json"}).to_string()),
        (400, 20001, json!({"identity": "dave", "role_sid": service_role}).to_string()),
        (400, 20001, json!({"identity": "dave", "role_sid": "RLnope"}).to_string()),
        (400, 20001, "{}".to_owned()),
        (400, 20001, json!({"identity": ""}).to_string()),
        (
            400,
            20001,
            json!({"identity": "dave", "messaging_binding": {"address": "+1555", "proxy_address": "+1556"}})
                .to_string(),
        ),
        (400, 20001, json!({"messaging_binding": {"address": "+1555"}}).to_string()),
    ];
    let before = support::dump_all(&api).await;
    let good = chat("carol");
    let other = sms("+15551230001");
    for (status, code, bad) in &cases {
        let form = [
            ("UniqueName", "atomic"),
            ("FriendlyName", "atomic"),
            ("Participant", good.as_str()),
            ("Participant", other.as_str()),
            ("Participant", bad.as_str()),
        ];
        api.post("/v1/ConversationWithParticipants", &form)
            .await
            .expect_error(*status, *code);
        assert_eq!(support::dump_all(&api).await, before, "{bad}");
        api.get("/v1/Users/carol").await.expect_error(404, 20404);
        api.get("/v1/Conversations/atomic")
            .await
            .expect_error(404, 20404);
    }
    // A bad conversation parameter fails the participants too.
    api.post(
        "/v1/ConversationWithParticipants",
        &[("Attributes", "{"), ("Participant", good.as_str())],
    )
    .await
    .expect_error(400, 20001);
    assert_eq!(support::dump_all(&api).await, before);
    // The unique name and the identity are still free.
    api.post("/v1/Conversations", &[("UniqueName", "atomic")])
        .await
        .expect(201);
    api.post("/v1/Users", &[("Identity", "carol")])
        .await
        .expect(201);
}

#[tokio::test]
async fn taken_unique_name_fails_the_request_before_any_user_is_made() {
    let server = TestServer::start().await;
    let api = server.api();
    support::conversation(&api, &[("UniqueName", "taken")]).await;
    let before = support::dump_all(&api).await;
    api.post(
        "/v1/ConversationWithParticipants",
        &[("UniqueName", "taken"), ("Participant", &chat("zoe"))],
    )
    .await
    .expect_error(409, 50300);
    assert_eq!(support::dump_all(&api).await, before);
    api.get("/v1/Users/zoe").await.expect_error(404, 20404);
}

#[tokio::test]
async fn service_family_creates_in_that_service_only() {
    let server = TestServer::start().await;
    let api = server.api();
    let is = support::service(&api, "tenant").await;
    let base = format!("/v1/Services/{is}");
    let c = api
        .post(
            &format!("{base}/ConversationWithParticipants"),
            &[
                ("UniqueName", "room"),
                ("Participant", &chat("alice")),
                ("Participant", &sms("+15551230001")),
            ],
        )
        .await
        .expect(201);
    assert_eq!(keys(&c), sorted(CONVERSATION_FIELDS), "{c}");
    let cs = sid(&c);
    assert_eq!(c["chat_service_sid"], is.as_str());
    let url = format!("{}{base}/Conversations/{cs}", server.url());
    assert_eq!(c["url"], url.as_str());
    assert_eq!(
        c["links"],
        json!({
            "participants": format!("{url}/Participants"),
            "messages": format!("{url}/Messages"),
            "webhooks": format!("{url}/Webhooks"),
        })
    );
    let list = participants(&api, &base, &cs).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["chat_service_sid"], is.as_str());
    api.get(&format!("{base}/Users/alice")).await.expect(200);
    // Nothing in the default service.
    api.get("/v1/Users/alice").await.expect_error(404, 20404);
    api.get("/v1/Conversations/room")
        .await
        .expect_error(404, 20404);
    let default_list = api.get("/v1/Conversations").await.expect(200);
    assert_eq!(default_list["conversations"], json!([]));
    // The same unique name and identity are free there.
    let d = api
        .post(
            "/v1/ConversationWithParticipants",
            &[("UniqueName", "room"), ("Participant", &chat("alice"))],
        )
        .await
        .expect(201);
    assert_ne!(sid(&d), cs);
}
