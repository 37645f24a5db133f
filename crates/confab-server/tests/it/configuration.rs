//! `/v1/Configuration`: the account's default service, messaging service and timers.

use confab_testkit::TestServer;
use serde_json::json;

use crate::support::{self, is_sid, keys, sorted, unknown_sid};

const CONFIGURATION_FIELDS: &[&str] = &[
    "account_sid",
    "default_chat_service_sid",
    "default_messaging_service_sid",
    "default_inactive_timer",
    "default_closed_timer",
    "url",
    "links",
];

#[tokio::test]
async fn configuration_has_every_reference_field() {
    let server = TestServer::start().await;
    let api = server.api();
    let config = api.get("/v1/Configuration").await.expect(200);
    assert_eq!(keys(&config), sorted(CONFIGURATION_FIELDS), "{config}");
    assert_eq!(
        config["account_sid"],
        server.credentials().account_sid.as_str()
    );
    let is = config["default_chat_service_sid"].as_str().unwrap();
    assert!(is_sid("IS", is), "{is}");
    for null in [
        "default_messaging_service_sid",
        "default_inactive_timer",
        "default_closed_timer",
    ] {
        assert!(config[null].is_null(), "{null}: {config}");
    }
    let url = format!("{}/v1/Configuration", server.url());
    assert_eq!(config["url"], url.as_str());
    assert_eq!(
        config["links"],
        json!({
            "service": format!("{}/v1/Services/{is}/Configuration", server.url()),
            "webhooks": format!("{url}/Webhooks"),
        })
    );
    // The default service is where unscoped conversations go.
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    assert_eq!(c["chat_service_sid"], is);
}

#[tokio::test]
async fn timers_and_messaging_service_round_trip() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = api.get("/v1/Configuration").await.expect(200);
    let mg = "MG00112233445566778899aabbccddeeff";
    let updated = api
        .post(
            "/v1/Configuration",
            &[
                ("DefaultInactiveTimer", "PT1M"),
                ("DefaultClosedTimer", "PT10M"),
                ("DefaultMessagingServiceSid", mg),
            ],
        )
        .await
        .expect(200);
    let mut expected = before.clone();
    expected["default_inactive_timer"] = json!("PT1M");
    expected["default_closed_timer"] = json!("PT10M");
    expected["default_messaging_service_sid"] = json!(mg);
    assert_eq!(updated, expected);
    assert_eq!(api.get("/v1/Configuration").await.expect(200), expected);
    // Naming the current default service again is allowed and changes nothing else.
    let same = api
        .post(
            "/v1/Configuration",
            &[(
                "DefaultChatServiceSid",
                before["default_chat_service_sid"].as_str().unwrap(),
            )],
        )
        .await
        .expect(200);
    assert_eq!(same, expected);
}

#[tokio::test]
async fn unknown_default_service_is_not_found_and_changes_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = support::dump(&api).await;
    api.post(
        "/v1/Configuration",
        &[
            ("DefaultChatServiceSid", &unknown_sid("IS")),
            ("DefaultInactiveTimer", "PT5M"),
        ],
    )
    .await
    .expect_error(404, 20404);
    assert_eq!(support::dump(&api).await, before);
    // Unscoped calls still reach the old default.
    api.post("/v1/Conversations", &[]).await.expect(201);
}

#[tokio::test]
async fn malformed_values_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = support::dump(&api).await;
    for form in [
        vec![("DefaultChatServiceSid", "ISnope")],
        vec![(
            "DefaultChatServiceSid",
            "CH00000000000000000000000000000000",
        )],
        vec![("DefaultChatServiceSid", "")],
        vec![("DefaultMessagingServiceSid", "MG123")],
        vec![("DefaultInactiveTimer", "PT30S")],
        vec![("DefaultInactiveTimer", "1 minute")],
        vec![("DefaultInactiveTimer", "")],
        vec![("DefaultClosedTimer", "PT9M59S")],
        vec![("DefaultClosedTimer", "P")],
        vec![
            ("DefaultClosedTimer", "PT10M"),
            ("DefaultInactiveTimer", "bogus"),
        ],
    ] {
        api.post("/v1/Configuration", &form)
            .await
            .expect_error(400, 20001);
        assert_eq!(support::dump(&api).await, before, "{form:?}");
    }
}
