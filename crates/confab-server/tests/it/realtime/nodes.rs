//! Two servers on one PostgreSQL database, as two nodes of a cluster: what one node caches
//! must not let through what the other has changed.

use confab_testkit::{TestDatabase, TestServer};
use serde_json::json;

use crate::support;

#[tokio::test]
async fn a_participant_removed_on_another_node_cannot_send_through_this_one() {
    let Some(db) = TestDatabase::required_or_skip() else {
        return;
    };
    let here = TestServer::start_with(|c| c.database = db.database()).await;
    let there = TestServer::start_with(|c| c.database = db.database()).await;
    let api = there.api();
    let conv = support::conversation(&api, &[]).await;
    support::participant(&api, &conv, "alice").await;
    let (mut alice, _) = here.realtime("alice").await;
    let send = |body: &str| json!({"conversation": conv, "body": body});
    // The first message fills this node's cache of alice's access to the conversation.
    alice
        .call("message.send", send("first"))
        .await
        .expect("a participant may send");
    api.delete(&format!("/v1/Conversations/{conv}/Participants/alice"))
        .await
        .expect(204);
    let refused = alice
        .call("message.send", send("after removal"))
        .await
        .expect_err("removed on the other node: not a participant any more");
    assert_eq!(refused.code, 20403);
    let (messages, _) = api
        .collect_pages(&format!("/v1/Conversations/{conv}/Messages"), "messages")
        .await;
    assert_eq!(messages.len(), 1, "the refused message was not written");
}
