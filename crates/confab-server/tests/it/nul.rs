//! The NUL character: no stored text holds one (PostgreSQL refuses it outright), so a body with
//! one is refused and a lookup key with one names nothing, on both backends.

use confab_testkit::TestServer;

#[tokio::test]
async fn nul_in_a_body_is_refused_and_in_a_lookup_key_finds_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = api
        .post("/v1/Conversations", &[("UniqueName", "room")])
        .await
        .expect(201);
    let sid = conv["sid"].as_str().unwrap();
    api.post(
        &format!("/v1/Conversations/{sid}/Messages"),
        &[("Body", "a\0b")],
    )
    .await
    .expect_error(400, 20001);
    for path in [
        "/v1/Conversations/room%00".to_owned(),
        format!("/v1/Conversations/{sid}/Participants/al%00ice"),
        "/v1/Users/al%00ice".to_owned(),
        "/v1/Roles/RL%00".to_owned(),
        format!("/v1/Users/alice/Conversations/{sid}%00"),
    ] {
        api.get(&path).await.expect_error(404, 20404);
    }
    api.get("/v1/ParticipantConversations?Identity=a%00b")
        .await
        .expect_error(400, 20001);
    let messages = api
        .get(&format!("/v1/Conversations/{sid}/Messages"))
        .await
        .expect(200);
    assert_eq!(messages["messages"].as_array().unwrap().len(), 0);
}
