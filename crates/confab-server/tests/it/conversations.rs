//! `/v1/Conversations` and `/v1/Services/{ChatServiceSid}/Conversations`: every parameter in,
//! every field of the reference out.

use confab_testkit::TestServer;
use serde_json::json;

use crate::support::{self, is_sid, iso_secs, keys, now_secs, sid, sorted, unknown_sid};

const CONVERSATION_FIELDS: &[&str] = &[
    "account_sid",
    "chat_service_sid",
    "messaging_service_sid",
    "sid",
    "friendly_name",
    "unique_name",
    "attributes",
    "state",
    "date_created",
    "date_updated",
    "timers",
    "url",
    "links",
    "bindings",
];

const MG: &str = "MG0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn create_with_every_parameter_renders_every_reference_field() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = now_secs();
    let c = api
        .post(
            "/v1/Conversations",
            &[
                ("FriendlyName", "Billing help"),
                ("UniqueName", "billing-42"),
                ("Attributes", r#"{"topic":"billing","n":1}"#),
                ("State", "inactive"),
                ("Timers.Inactive", "PT1M"),
                ("Timers.Closed", "PT10M"),
                ("MessagingServiceSid", MG),
                ("Bindings.Email.Address", "help@example.com"),
                ("Bindings.Email.Name", "Help Desk"),
                ("DateCreated", "2015-12-16T22:18:37Z"),
                ("DateUpdated", "2015-12-17T08:00:00Z"),
            ],
        )
        .await
        .expect(201);
    let after = now_secs();
    assert_eq!(keys(&c), sorted(CONVERSATION_FIELDS), "{c}");
    let s = sid(&c);
    assert!(is_sid("CH", &s), "{s}");
    assert_eq!(c["account_sid"], server.credentials().account_sid.as_str());
    let config = api.get("/v1/Configuration").await.expect(200);
    assert_eq!(c["chat_service_sid"], config["default_chat_service_sid"]);
    assert_eq!(c["messaging_service_sid"], MG);
    assert_eq!(c["friendly_name"], "Billing help");
    assert_eq!(c["unique_name"], "billing-42");
    // Attributes come back as JSON text, exactly as given, not as an object.
    assert_eq!(c["attributes"], r#"{"topic":"billing","n":1}"#);
    assert_eq!(c["state"], "inactive");
    assert_eq!(c["date_created"], "2015-12-16T22:18:37Z");
    assert_eq!(c["date_updated"], "2015-12-17T08:00:00Z");
    assert_eq!(
        keys(&c["timers"]),
        sorted(&["date_inactive", "date_closed"])
    );
    let inactive = iso_secs(&c["timers"]["date_inactive"]);
    let closed = iso_secs(&c["timers"]["date_closed"]);
    assert!(
        (before + 60 - 1..=after + 60).contains(&inactive),
        "{inactive}"
    );
    assert_eq!(
        closed - inactive,
        540,
        "both timers start at the same instant"
    );
    assert_eq!(
        c["bindings"],
        json!({"email": {"address": "help@example.com", "name": "Help Desk"}})
    );
    let url = format!("{}/v1/Conversations/{s}", server.url());
    assert_eq!(c["url"], url.as_str());
    assert_eq!(
        c["links"],
        json!({
            "participants": format!("{url}/Participants"),
            "messages": format!("{url}/Messages"),
            "webhooks": format!("{url}/Webhooks"),
            "export": format!("{url}/Export"),
        })
    );
    // What was answered is what is kept.
    assert_eq!(api.get(&url).await.expect(200), c);
}

#[tokio::test]
async fn create_without_parameters_gets_the_defaults() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = now_secs();
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    let after = now_secs();
    assert_eq!(keys(&c), sorted(CONVERSATION_FIELDS));
    assert_eq!(c["attributes"], "{}");
    assert_eq!(c["state"], "active");
    assert_eq!(c["timers"], json!({}));
    for null in [
        "friendly_name",
        "unique_name",
        "messaging_service_sid",
        "bindings",
    ] {
        assert!(c[null].is_null(), "{null}: {c}");
    }
    let created = iso_secs(&c["date_created"]);
    assert!((before..=after).contains(&created), "{created}");
    assert_eq!(c["date_updated"], c["date_created"]);
}

#[tokio::test]
async fn urls_are_built_from_the_request_host_and_scheme() {
    let server = TestServer::start().await;
    let api = server.api();
    let headers = [
        ("Host", "chat.example.com:8443"),
        ("X-Forwarded-Proto", "https"),
    ];
    let c = api
        .raw(
            reqwest::Method::POST,
            "/v1/Conversations",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                headers[0],
                headers[1],
            ],
            b"FriendlyName=x".to_vec(),
        )
        .await
        .expect(201);
    let url = format!("https://chat.example.com:8443/v1/Conversations/{}", sid(&c));
    assert_eq!(c["url"], url.as_str());
    assert_eq!(c["links"]["messages"], format!("{url}/Messages"));
    let list = api
        .raw(reqwest::Method::GET, "/v1/Conversations", &headers, vec![])
        .await
        .expect(200);
    assert_eq!(
        list["meta"]["first_page_url"],
        "https://chat.example.com:8443/v1/Conversations?PageSize=50&Page=0"
    );
}

#[tokio::test]
async fn fetch_by_sid_and_by_unique_name_give_the_same_conversation() {
    let server = TestServer::start().await;
    let api = server.api();
    let created = api
        .post("/v1/Conversations", &[("UniqueName", "room 7/β")])
        .await
        .expect(201);
    let by_sid = api
        .get(&format!("/v1/Conversations/{}", sid(&created)))
        .await
        .expect(200);
    let by_name = api
        .get("/v1/Conversations/room%207%2F%CE%B2")
        .await
        .expect(200);
    assert_eq!(by_sid, created);
    assert_eq!(by_name, created);
    api.get("/v1/Conversations/room-8")
        .await
        .expect_error(404, 20404);
}

#[tokio::test]
async fn update_changes_only_the_given_fields() {
    let server = TestServer::start().await;
    let api = server.api();
    let created = api
        .post(
            "/v1/Conversations",
            &[
                ("FriendlyName", "old"),
                ("UniqueName", "keep-me"),
                ("Attributes", r#"{"a":1}"#),
            ],
        )
        .await
        .expect(201);
    let url = format!("/v1/Conversations/{}", sid(&created));
    let updated = api
        .post(
            &url,
            &[
                ("FriendlyName", "new"),
                ("Attributes", r#"{"b":[2]}"#),
                ("State", "closed"),
                ("DateUpdated", "2030-01-02T03:04:05Z"),
            ],
        )
        .await
        .expect(200);
    let mut expected = created.clone();
    expected["friendly_name"] = json!("new");
    expected["attributes"] = json!(r#"{"b":[2]}"#);
    expected["state"] = json!("closed");
    expected["date_updated"] = json!("2030-01-02T03:04:05Z");
    assert_eq!(updated, expected);
    assert_eq!(api.get(&url).await.expect(200), expected);
    // Updating by unique name reaches the same conversation.
    let renamed = api
        .post("/v1/Conversations/keep-me", &[("FriendlyName", "by name")])
        .await
        .expect(200);
    assert_eq!(renamed["sid"], created["sid"]);
    assert_eq!(renamed["friendly_name"], "by name");
}

#[tokio::test]
async fn empty_unique_name_clears_it_and_frees_the_name() {
    let server = TestServer::start().await;
    let api = server.api();
    let s = support::conversation(&api, &[("UniqueName", "lobby")]).await;
    let cleared = api
        .post(&format!("/v1/Conversations/{s}"), &[("UniqueName", "")])
        .await
        .expect(200);
    assert!(cleared["unique_name"].is_null(), "{cleared}");
    api.get("/v1/Conversations/lobby")
        .await
        .expect_error(404, 20404);
    let other = support::conversation(&api, &[("UniqueName", "lobby")]).await;
    assert_ne!(other, s);
    let fetched = api.get("/v1/Conversations/lobby").await.expect(200);
    assert_eq!(fetched["sid"], other.as_str());
}

#[tokio::test]
async fn taking_a_unique_name_in_use_is_a_conflict_and_changes_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    support::conversation(&api, &[("UniqueName", "a")]).await;
    let b = support::conversation(&api, &[("UniqueName", "b"), ("FriendlyName", "B")]).await;
    let before = support::dump(&api).await;
    api.post(
        &format!("/v1/Conversations/{b}"),
        &[("UniqueName", "a"), ("FriendlyName", "changed")],
    )
    .await
    .expect_error(409, 50300);
    api.post("/v1/Conversations", &[("UniqueName", "a")])
        .await
        .expect_error(409, 50300);
    assert_eq!(support::dump(&api).await, before);
}

#[tokio::test]
async fn delete_answers_204_then_the_conversation_and_its_contents_are_gone() {
    let server = TestServer::start().await;
    let api = server.api();
    let keep = support::conversation(&api, &[]).await;
    let s = support::conversation(&api, &[("UniqueName", "doomed")]).await;
    support::participant(&api, &s, "alice").await;
    support::message(&api, &s, "alice", "hi").await;
    let res = api.delete(&format!("/v1/Conversations/{s}")).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_null(), "204 has no body: {}", res.body);
    for path in [
        format!("/v1/Conversations/{s}"),
        "/v1/Conversations/doomed".to_owned(),
        format!("/v1/Conversations/{s}/Messages"),
        format!("/v1/Conversations/{s}/Participants"),
    ] {
        api.get(&path).await.expect_error(404, 20404);
    }
    api.delete(&format!("/v1/Conversations/{s}"))
        .await
        .expect_error(404, 20404);
    let list = api.get("/v1/Conversations").await.expect(200);
    let sids: Vec<_> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(sid)
        .collect();
    assert_eq!(sids, [keep]);
}

#[tokio::test]
async fn list_shows_every_conversation_oldest_first_and_filters_by_state() {
    let server = TestServer::start().await;
    let api = server.api();
    let a = support::conversation(&api, &[("FriendlyName", "a")]).await;
    let b = support::conversation(&api, &[("FriendlyName", "b"), ("State", "closed")]).await;
    let c = support::conversation(&api, &[("FriendlyName", "c")]).await;
    let list = api.get("/v1/Conversations").await.expect(200);
    let sids: Vec<_> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(sid)
        .collect();
    assert_eq!(sids, [a.clone(), b.clone(), c.clone()]);
    assert_eq!(list["meta"]["key"], "conversations");
    assert_eq!(list["meta"]["page"], 0);
    assert_eq!(list["meta"]["page_size"], 50);
    assert!(list["meta"]["next_page_url"].is_null());
    let closed = api.get("/v1/Conversations?State=closed").await.expect(200);
    let sids: Vec<_> = closed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(sid)
        .collect();
    assert_eq!(sids, [b]);
}

#[tokio::test]
async fn service_scoped_family_serves_the_same_calls_with_its_own_urls() {
    let server = TestServer::start().await;
    let api = server.api();
    let config = api.get("/v1/Configuration").await.expect(200);
    let is = config["default_chat_service_sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(is_sid("IS", &is), "{is}");
    let base = format!("/v1/Services/{is}/Conversations");
    let c = api
        .post(
            &base,
            &[("FriendlyName", "scoped"), ("UniqueName", "scoped-1")],
        )
        .await
        .expect(201);
    let s = sid(&c);
    let url = format!("{}{base}/{s}", server.url());
    assert_eq!(c["chat_service_sid"], is.as_str());
    assert_eq!(c["url"], url.as_str());
    assert_eq!(c["links"]["participants"], format!("{url}/Participants"));
    assert_eq!(c["links"]["messages"], format!("{url}/Messages"));
    assert_eq!(api.get(&format!("{base}/{s}")).await.expect(200), c);
    assert_eq!(api.get(&format!("{base}/scoped-1")).await.expect(200), c);
    // The unscoped family sees the same conversation, with its own URLs.
    let plain = api.get(&format!("/v1/Conversations/{s}")).await.expect(200);
    assert_eq!(
        plain["url"],
        format!("{}/v1/Conversations/{s}", server.url())
    );
    assert_eq!(plain["friendly_name"], "scoped");
    let updated = api
        .post(&format!("{base}/{s}"), &[("FriendlyName", "renamed")])
        .await
        .expect(200);
    assert_eq!(updated["friendly_name"], "renamed");
    assert_eq!(updated["url"], url.as_str());
    let list = api.get(&base).await.expect(200);
    assert_eq!(list["conversations"][0]["url"], url.as_str());
    assert_eq!(
        list["meta"]["url"],
        format!("{}{base}?PageSize=50&Page=0", server.url())
    );
    assert_eq!(api.delete(&format!("{base}/{s}")).await.status, 204);
    api.get(&format!("{base}/{s}"))
        .await
        .expect_error(404, 20404);
    api.get(&format!("/v1/Conversations/{s}"))
        .await
        .expect_error(404, 20404);
}

#[tokio::test]
async fn unknown_service_is_not_found_and_creates_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let base = format!("/v1/Services/{}/Conversations", unknown_sid("IS"));
    api.post(&base, &[("FriendlyName", "x")])
        .await
        .expect_error(404, 20404);
    api.get(&base).await.expect_error(404, 20404);
    api.post("/v1/Services/not-a-sid/Conversations", &[])
        .await
        .expect_error(404, 20404);
    let list = api.get("/v1/Conversations").await.expect(200);
    assert_eq!(list["conversations"], json!([]));
}

#[tokio::test]
async fn updating_one_email_binding_or_timer_keeps_the_other() {
    let server = TestServer::start().await;
    let api = server.api();
    let created = api
        .post(
            "/v1/Conversations",
            &[
                ("Bindings.Email.Address", "help@example.com"),
                ("Bindings.Email.Name", "Help"),
                ("Timers.Inactive", "PT1M"),
                ("Timers.Closed", "PT10M"),
            ],
        )
        .await
        .expect(201);
    let url = created["url"].as_str().unwrap();
    let renamed = api
        .post(url, &[("Bindings.Email.Name", "Help Desk")])
        .await
        .expect(200);
    assert_eq!(
        renamed["bindings"],
        json!({"email": {"address": "help@example.com", "name": "Help Desk"}})
    );
    assert_eq!(renamed["timers"], created["timers"]);
    let later = api
        .post(url, &[("Timers.Closed", "PT20M")])
        .await
        .expect(200);
    assert_eq!(
        later["timers"]["date_inactive"],
        created["timers"]["date_inactive"]
    );
    assert!(
        iso_secs(&later["timers"]["date_closed"]) > iso_secs(&created["timers"]["date_closed"]),
        "{later}"
    );
    assert_eq!(later["bindings"], renamed["bindings"]);
    assert_eq!(api.get(url).await.expect(200), later);
}

#[tokio::test]
async fn list_filters_by_creation_date() {
    let server = TestServer::start().await;
    let api = server.api();
    let mut sids = vec![];
    for day in ["2020-01-01", "2020-01-02", "2020-01-03"] {
        let when = format!("{day}T12:00:00Z");
        sids.push(support::conversation(&api, &[("DateCreated", &when)]).await);
    }
    let list = api
        .get("/v1/Conversations?StartDate=2020-01-02&EndDate=2020-01-03")
        .await
        .expect(200);
    let got: Vec<_> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(sid)
        .collect();
    assert_eq!(got, [sids[1].clone()]);
    assert_eq!(
        list["meta"]["url"],
        format!(
            "{}/v1/Conversations?PageSize=50&Page=0&StartDate=2020-01-02&EndDate=2020-01-03",
            server.url()
        )
    );
}

#[tokio::test]
async fn dates_with_offsets_or_fractions_are_rendered_in_utc_seconds() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = api
        .post(
            "/v1/Conversations",
            &[
                ("DateCreated", "2015-12-16T23:18:37.9+01:00"),
                ("DateUpdated", "2015-12-17"),
            ],
        )
        .await
        .expect(201);
    assert_eq!(c["date_created"], "2015-12-16T22:18:37Z");
    assert_eq!(c["date_updated"], "2015-12-17T00:00:00Z");
}

#[tokio::test]
async fn a_date_past_year_9999_in_utc_is_refused() {
    let server = TestServer::start().await;
    let api = server.api();
    api.post(
        "/v1/Conversations",
        &[("DateCreated", "9999-12-31T23:00:00-05:00")],
    )
    .await
    .expect_error(400, 20001);
    let list = api.get("/v1/Conversations").await.expect(200);
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0);
}
