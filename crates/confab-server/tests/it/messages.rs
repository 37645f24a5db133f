//! `…/Conversations/{ConversationSid}/Messages`: authors, gapless indexes, edits, removal,
//! listing in both orders.

use confab_testkit::TestServer;
use serde_json::{Value, json};

use crate::support::{self, is_sid, iso_secs, keys, now_secs, sid, sorted, unknown_sid};

const MESSAGE_FIELDS: &[&str] = &[
    "account_sid",
    "conversation_sid",
    "sid",
    "index",
    "author",
    "body",
    "media",
    "attributes",
    "participant_sid",
    "date_created",
    "date_updated",
    "url",
    "delivery",
    "links",
    "content_sid",
];

fn indexes(list: &Value) -> Vec<i64> {
    list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["index"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn author_defaults_to_system_and_every_reference_field_is_rendered() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let before = now_secs();
    let m = api
        .post(
            &format!("/v1/Conversations/{conv}/Messages"),
            &[
                ("Body", "Welcome!"),
                ("Attributes", r#"{"importance":"high"}"#),
            ],
        )
        .await
        .expect(201);
    let after = now_secs();
    assert_eq!(keys(&m), sorted(MESSAGE_FIELDS), "{m}");
    let s = sid(&m);
    assert!(is_sid("IM", &s), "{s}");
    assert_eq!(m["account_sid"], server.credentials().account_sid.as_str());
    assert_eq!(m["conversation_sid"], conv.as_str());
    assert_eq!(m["index"], 0);
    assert_eq!(m["author"], "system");
    assert_eq!(m["body"], "Welcome!");
    assert_eq!(m["attributes"], r#"{"importance":"high"}"#);
    assert!(m["participant_sid"].is_null());
    for null in ["media", "delivery", "content_sid"] {
        assert!(m[null].is_null(), "{null}: {m}");
    }
    let created = iso_secs(&m["date_created"]);
    assert!((before..=after).contains(&created));
    assert_eq!(m["date_updated"], m["date_created"]);
    let url = format!("{}/v1/Conversations/{conv}/Messages/{s}", server.url());
    assert_eq!(m["url"], url.as_str());
    assert_eq!(
        m["links"],
        json!({
            "delivery_receipts": format!("{url}/Receipts"),
            "channel_metadata": format!("{url}/ChannelMetadata"),
        })
    );
    assert_eq!(api.get(&url).await.expect(200), m);
}

#[tokio::test]
async fn indexes_count_from_zero_without_gaps_and_are_never_reused() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let mut sids = vec![];
    for i in 0..5 {
        let m = support::message(&api, &conv, "system", &format!("m{i}")).await;
        assert_eq!(m["index"], i);
        sids.push(sid(&m));
    }
    assert_eq!(
        api.delete(&format!("/v1/Conversations/{conv}/Messages/{}", sids[4]))
            .await
            .status,
        204
    );
    let next = support::message(&api, &conv, "system", "after delete").await;
    assert_eq!(next["index"], 5);
    let list = api
        .get(&format!("/v1/Conversations/{conv}/Messages"))
        .await
        .expect(200);
    assert_eq!(indexes(&list), [0, 1, 2, 3, 5]);
}

#[tokio::test]
async fn concurrent_messages_get_every_index_exactly_once() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (api, conv) = (api.clone(), conv.clone());
        tasks.spawn(async move { support::message(&api, &conv, "system", &format!("c{i}")).await });
    }
    let mut got: Vec<i64> = tasks
        .join_all()
        .await
        .iter()
        .map(|m| m["index"].as_i64().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn author_who_is_a_participant_gets_the_participant_sid() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let alice = support::participant(&api, &conv, "alice").await;
    let from_alice = support::message(&api, &conv, "alice", "hi").await;
    assert_eq!(from_alice["author"], "alice");
    assert_eq!(from_alice["participant_sid"], alice["sid"]);
    let from_stranger = support::message(&api, &conv, "mallory", "hey").await;
    assert_eq!(from_stranger["author"], "mallory");
    assert!(from_stranger["participant_sid"].is_null());
    let fetched = api
        .get(from_alice["url"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(fetched["participant_sid"], alice["sid"]);
}

#[tokio::test]
async fn update_changes_body_and_attributes_and_keeps_the_rest() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    let m = support::message(&api, &conv, "alice", "draft").await;
    let url = m["url"].as_str().unwrap().to_owned();
    let updated = api
        .post(
            &url,
            &[
                ("Body", "final"),
                ("Attributes", r#"{"edited":true}"#),
                ("DateUpdated", "2031-01-01T00:00:00Z"),
            ],
        )
        .await
        .expect(200);
    let mut expected = m.clone();
    expected["body"] = json!("final");
    expected["attributes"] = json!(r#"{"edited":true}"#);
    expected["date_updated"] = json!("2031-01-01T00:00:00Z");
    assert_eq!(updated, expected);
    assert_eq!(api.get(&url).await.expect(200), expected);
}

#[tokio::test]
async fn delete_answers_204_and_the_message_is_gone() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let keep = support::message(&api, &conv, "system", "keep").await;
    let m = support::message(&api, &conv, "system", "remove me").await;
    let url = m["url"].as_str().unwrap();
    let res = api.delete(url).await;
    assert_eq!(res.status, 204);
    assert!(res.body.is_null());
    api.get(url).await.expect_error(404, 20404);
    api.delete(url).await.expect_error(404, 20404);
    api.post(url, &[("Body", "zombie")])
        .await
        .expect_error(404, 20404);
    let list = api
        .get(&format!("/v1/Conversations/{conv}/Messages"))
        .await
        .expect(200);
    assert_eq!(list["messages"], json!([keep]));
    api.get(&format!(
        "/v1/Conversations/{conv}/Messages/{}",
        unknown_sid("IM")
    ))
    .await
    .expect_error(404, 20404);
}

#[tokio::test]
async fn list_orders_by_index_ascending_or_descending() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let mut created = vec![];
    for i in 0..4 {
        created.push(support::message(&api, &conv, "system", &format!("n{i}")).await);
    }
    let path = format!("/v1/Conversations/{conv}/Messages");
    let plain = api.get(&path).await.expect(200);
    let asc = api.get(&format!("{path}?Order=asc")).await.expect(200);
    let desc = api.get(&format!("{path}?Order=desc")).await.expect(200);
    assert_eq!(plain["messages"], json!(created));
    assert_eq!(asc["messages"], json!(created));
    created.reverse();
    assert_eq!(desc["messages"], json!(created));
    // The order is carried in the page URLs.
    assert_eq!(
        desc["meta"]["url"],
        format!("{}{path}?PageSize=50&Page=0&Order=desc", server.url())
    );
    assert_eq!(desc["meta"]["key"], "messages");
}

#[tokio::test]
async fn changing_the_author_moves_the_participant_sid_with_it() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let alice = support::participant(&api, &conv, "alice").await;
    let bob = support::participant(&api, &conv, "bob").await;
    let m = support::message(&api, &conv, "alice", "hi").await;
    let url = m["url"].as_str().unwrap();
    let to_bob = api.post(url, &[("Author", "bob")]).await.expect(200);
    assert_eq!(to_bob["author"], "bob");
    assert_eq!(to_bob["participant_sid"], bob["sid"]);
    let to_system = api.post(url, &[("Author", "system")]).await.expect(200);
    assert!(to_system["participant_sid"].is_null(), "{to_system}");
    let back = api.post(url, &[("Author", "alice")]).await.expect(200);
    assert_eq!(back["participant_sid"], alice["sid"]);
    assert_eq!(api.get(url).await.expect(200), back);
}
