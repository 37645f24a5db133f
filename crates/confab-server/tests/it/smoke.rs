use confab_testkit::TestServer;

#[tokio::test]
async fn create_conversation_add_participant_send_message_and_read_back() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = api
        .post(
            "/v1/Conversations",
            &[("FriendlyName", "Support"), ("UniqueName", "support-1")],
        )
        .await
        .expect(201);
    let sid = c["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("CH"));
    assert_eq!(c["attributes"], "{}");
    assert_eq!(c["url"], format!("{}/v1/Conversations/{sid}", server.url()));
    let p = api
        .post(
            &format!("/v1/Conversations/{sid}/Participants"),
            &[("Identity", "alice")],
        )
        .await
        .expect(201);
    assert_eq!(p["identity"], "alice");
    let m = api
        .post(
            &format!("/v1/Conversations/{sid}/Messages"),
            &[("Author", "alice"), ("Body", "hello")],
        )
        .await
        .expect(201);
    assert_eq!(m["index"], 0);
    assert_eq!(m["participant_sid"], p["sid"]);
    let by_name = api.get("/v1/Conversations/support-1").await.expect(200);
    assert_eq!(by_name["sid"], sid.as_str());
    let list = api
        .get(&format!("/v1/Conversations/{sid}/Messages"))
        .await
        .expect(200);
    assert_eq!(list["messages"][0]["body"], "hello");
    assert_eq!(list["meta"]["key"], "messages");
    assert!(server.api().get("/healthz").await.status == 200);
}
