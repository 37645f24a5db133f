//! Resume across membership changes made while the client was away: it learns of them on its
//! user stream and gets exactly the conversation events of the time it was a participant.

use confab_protocol::event::{EventBody, EventFrame};
use confab_protocol::frame::Resume;
use confab_testkit::{Api, RawClient, TestServer};

/// Reads events until `n` have come, failing on anything else.
async fn events(c: &mut RawClient, n: usize) -> Vec<EventFrame> {
    let mut out = vec![];
    while out.len() < n {
        out.push(c.next_event().await);
    }
    out
}

/// Message bodies among `events`, in order.
fn bodies(events: &[EventFrame]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::MessageAdded(m) => m.body.clone(),
            _ => None,
        })
        .collect()
}

/// A new conversation's SID.
async fn new_conversation(api: &Api) -> String {
    api.post("/v1/Conversations", &[]).await.expect(201)["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Connects `identity`, disconnects, and returns the cursors its `welcome` gave.
async fn cursors_then_away(server: &TestServer, identity: &str) -> Resume {
    let (c, w) = server.realtime(identity).await;
    c.close().await;
    Resume {
        user_seq: w.resumed.user_seq,
        conversations: w.resumed.conversations,
    }
}

async fn post(api: &Api, conv: &str, body: &str) {
    api.post(
        &format!("/v1/Conversations/{conv}/Messages"),
        &[("Body", body)],
    )
    .await
    .expect(201);
}

async fn add(api: &Api, conv: &str, identity: &str) {
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[("Identity", identity)],
    )
    .await
    .expect(201);
}

async fn remove(api: &Api, conv: &str, identity: &str) {
    api.delete(&format!("/v1/Conversations/{conv}/Participants/{identity}"))
        .await
        .expect(204);
}

/// A ping answered proves nothing else is on its way.
async fn nothing_more(c: &mut RawClient) {
    c.send(&confab_protocol::frame::ClientFrame::Ping { t: 7 })
        .await;
    match c.next().await {
        confab_testkit::Received::Frame(confab_protocol::frame::ServerFrame::Pong { t: 7 }) => {}
        other => panic!("expected nothing more, got {other:?}"),
    }
}

#[tokio::test]
async fn a_join_while_away_is_replayed_from_a_user_cursor_of_zero() {
    let server = TestServer::start().await;
    let api = server.api();
    let (c, w) = server.realtime("alice").await;
    assert_eq!(w.resumed.user_seq, 0);
    c.close().await;
    let conv = new_conversation(&api).await;
    add(&api, &conv, "alice").await;
    post(&api, &conv, "while away").await;
    let resume = Resume {
        user_seq: 0,
        conversations: Default::default(),
    };
    let (mut c, _) = RawClient::join(server.addr(), &server.token("alice"), Some(resume)).await;
    let got = events(&mut c, 2).await;
    assert!(
        matches!(got[0].body, EventBody::ConversationJoined(_)),
        "{got:?}"
    );
    assert_eq!(got[0].seq, Some(1));
    assert_eq!(bodies(&got), ["while away"]);
    nothing_more(&mut c).await;
}

#[tokio::test]
async fn a_leave_while_away_delivers_up_to_the_leave_and_no_further() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = new_conversation(&api).await;
    add(&api, &conv, "alice").await;
    let resume = cursors_then_away(&server, "alice").await;
    post(&api, &conv, "before the leave").await;
    remove(&api, &conv, "alice").await;
    post(&api, &conv, "after the leave").await;
    let (mut c, w2) = RawClient::join(server.addr(), &server.token("alice"), Some(resume)).await;
    assert!(!w2.resumed.conversations.contains_key(&conv));
    // The conversation up to and including her leaving, then the leave on the user stream.
    let got = events(&mut c, 3).await;
    assert_eq!(bodies(&got), ["before the leave"]);
    assert!(
        matches!(got[1].body, EventBody::ParticipantLeft(_)),
        "{got:?}"
    );
    assert!(
        matches!(got[2].body, EventBody::ConversationLeft(_)),
        "{got:?}"
    );
    nothing_more(&mut c).await;
}

#[tokio::test]
async fn leaving_and_rejoining_while_away_skips_what_happened_in_between() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = new_conversation(&api).await;
    add(&api, &conv, "alice").await;
    let resume = cursors_then_away(&server, "alice").await;
    post(&api, &conv, "one").await;
    remove(&api, &conv, "alice").await;
    post(&api, &conv, "secret").await;
    add(&api, &conv, "alice").await;
    post(&api, &conv, "two").await;
    let (mut c, _) = RawClient::join(server.addr(), &server.token("alice"), Some(resume)).await;
    // left, joined (user stream); one, participantLeft (first membership); two (second).
    let got = events(&mut c, 5).await;
    assert_eq!(
        bodies(&got),
        ["one", "two"],
        "nothing from the time she was out: {got:?}"
    );
    let user: Vec<_> = got.iter().filter(|e| e.stream == "user").collect();
    assert_eq!(user.len(), 2);
    nothing_more(&mut c).await;
}

#[tokio::test]
async fn cursors_for_conversations_never_joined_are_ignored() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = new_conversation(&api).await;
    post(&api, &conv, "not for alice").await;
    let (c, w) = server.realtime("alice").await;
    c.close().await;
    let mut resume = Resume {
        user_seq: w.resumed.user_seq,
        ..Default::default()
    };
    resume.conversations.insert(conv.clone(), 0);
    let (mut c, w2) = RawClient::join(server.addr(), &server.token("alice"), Some(resume)).await;
    assert!(w2.resumed.conversations.is_empty());
    nothing_more(&mut c).await;
}
