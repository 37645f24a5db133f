//! A clean restart on the same data directory keeps everything exactly as it was.

use confab_testkit::TestServer;

use crate::support::{self, sid, without_origin};

#[tokio::test]
async fn everything_is_there_exactly_as_before_after_a_restart() {
    let mut server = TestServer::start().await;
    let api = server.api();
    api.post(
        "/v1/Configuration",
        &[
            ("DefaultInactiveTimer", "PT2M"),
            ("DefaultClosedTimer", "PT20M"),
        ],
    )
    .await
    .expect(200);
    let room = support::conversation(
        &api,
        &[
            ("FriendlyName", "Room"),
            ("UniqueName", "room"),
            ("Attributes", r#"{"floor":3}"#),
            ("Timers.Inactive", "PT1H"),
            ("Bindings.Email.Address", "room@example.com"),
            ("MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"),
        ],
    )
    .await;
    let gone = support::conversation(&api, &[("UniqueName", "gone")]).await;
    support::participant(&api, &gone, "alice").await;
    support::message(&api, &gone, "alice", "bye").await;
    let alice = support::participant(&api, &room, "alice").await;
    let bob = support::participant(&api, &room, "bob").await;
    api.post(
        &format!("/v1/Conversations/{room}/Participants"),
        &[
            ("MessagingBinding.Address", "+15551230001"),
            ("MessagingBinding.ProxyAddress", "+15559870000"),
        ],
    )
    .await
    .expect(201);
    let mut msgs = vec![];
    for (author, body) in [
        ("alice", "one"),
        ("bob", "two"),
        ("system", "three"),
        ("alice", "four"),
    ] {
        msgs.push(support::message(&api, &room, author, body).await);
    }
    // Changes and deletions before the restart.
    api.post(
        &format!("/v1/Conversations/{room}"),
        &[("FriendlyName", "Room 2"), ("State", "inactive")],
    )
    .await
    .expect(200);
    api.post(
        alice["url"].as_str().unwrap(),
        &[("LastReadMessageIndex", "2"), ("Attributes", r#"{"x":1}"#)],
    )
    .await
    .expect(200);
    api.post(msgs[1]["url"].as_str().unwrap(), &[("Body", "two, edited")])
        .await
        .expect(200);
    for url in [&msgs[3]["url"], &bob["url"]] {
        assert_eq!(api.delete(url.as_str().unwrap()).await.status, 204);
    }
    assert_eq!(
        api.delete(&format!("/v1/Conversations/{gone}"))
            .await
            .status,
        204
    );
    let before = without_origin(&support::dump(&api).await, api.base());

    server.restart().await;
    let api = server.api();
    let after = without_origin(&support::dump(&api).await, api.base());
    assert_eq!(after, before);
    assert!(after.to_string().contains("Room 2") && after.to_string().contains("two, edited"));

    // Deleted things stay gone.
    for url in [&msgs[3]["url"], &bob["url"]] {
        let path = url.as_str().unwrap().replace("http://", "");
        let path = &path[path.find('/').unwrap()..];
        api.get(path).await.expect_error(404, 20404);
    }
    api.get(&format!("/v1/Conversations/{gone}"))
        .await
        .expect_error(404, 20404);
    api.get("/v1/Conversations/gone")
        .await
        .expect_error(404, 20404);
    // Counters continue: the next message takes the next index (3 was removed, not reused),
    // and unique names and identities are still taken.
    let next = support::message(&api, &room, "alice", "five").await;
    assert_eq!(next["index"], 4);
    assert_eq!(next["participant_sid"], alice["sid"]);
    api.post("/v1/Conversations", &[("UniqueName", "room")])
        .await
        .expect_error(409, 50300);
    api.post(
        &format!("/v1/Conversations/{room}/Participants"),
        &[("Identity", "alice")],
    )
    .await
    .expect_error(409, 50300);
    // And a name freed before the restart is free after it.
    let again = support::conversation(&api, &[("UniqueName", "gone")]).await;
    assert_ne!(again, gone);
    assert_eq!(
        sid(&api.get("/v1/Conversations/gone").await.expect(200)),
        again
    );
}

#[tokio::test]
async fn two_restarts_in_a_row_lose_nothing() {
    let mut server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[("UniqueName", "twice")]).await;
    for i in 0..3 {
        support::message(&api, &conv, "system", &format!("m{i}")).await;
    }
    let before = without_origin(&support::dump(&api).await, api.base());
    server.restart().await;
    server.restart().await;
    let api = server.api();
    assert_eq!(
        without_origin(&support::dump(&api).await, api.base()),
        before
    );
    assert_eq!(
        support::message(&api, &conv, "system", "m3").await["index"],
        3
    );
}
