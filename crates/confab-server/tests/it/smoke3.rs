use confab_testkit::TestServer;

#[tokio::test]
async fn services_users_roles_smoke() {
    let server = TestServer::start().await;
    let api = server.api();
    let s = api
        .post("/v1/Services", &[("FriendlyName", "tenant")])
        .await
        .expect(201);
    let sid = s["sid"].as_str().unwrap().to_owned();
    let fetched = api.get(&format!("/v1/Services/{sid}")).await.expect(200);
    assert_eq!(fetched["sid"], sid.as_str());
    let roles = api
        .get(&format!("/v1/Services/{sid}/Roles"))
        .await
        .expect(200);
    assert_eq!(roles["roles"].as_array().unwrap().len(), 4, "{roles}");
    let cfg = api
        .get(&format!("/v1/Services/{sid}/Configuration"))
        .await
        .expect(200);
    let u = api
        .post(
            &format!("/v1/Services/{sid}/Users"),
            &[("Identity", "alice")],
        )
        .await
        .expect(201);
    assert_eq!(u["role_sid"], cfg["default_chat_service_role_sid"]);
    let c = api
        .post(
            &format!("/v1/Services/{sid}/ConversationWithParticipants"),
            &[
                ("FriendlyName", "x"),
                ("Participant", r#"{"identity":"alice"}"#),
                ("Participant", r#"{"identity":"bob"}"#),
            ],
        )
        .await
        .expect(201);
    let conv = c["sid"].as_str().unwrap();
    let ucs = api
        .get(&format!("/v1/Services/{sid}/Users/alice/Conversations"))
        .await
        .expect(200);
    assert_eq!(ucs["conversations"][0]["conversation_sid"], conv, "{ucs}");
    let pcs = api
        .get(&format!(
            "/v1/Services/{sid}/ParticipantConversations?Identity=bob"
        ))
        .await
        .expect(200);
    assert_eq!(pcs["conversations"][0]["conversation_sid"], conv, "{pcs}");
    // Not visible through the default service.
    api.get(&format!("/v1/Conversations/{conv}"))
        .await
        .expect_error(404, 20404);
    api.delete(&format!("/v1/Services/{sid}")).await.expect(204);
    api.get(&format!("/v1/Services/{sid}"))
        .await
        .expect_error(404, 20404);
}
