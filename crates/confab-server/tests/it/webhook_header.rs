//! `X-Twilio-Webhook-Enabled` on the service, role, user, user-conversation and
//! conversation-with-participants writes (and the service-scoped conversation writes):
//! `true` is accepted, any value but `true`/`false` is refused with 400 and changes nothing.

use confab_testkit::{Api, TestServer};
use reqwest::Method;
use serde_json::Value;

use crate::support::{self, sid};

/// Sends the request with `maybe` (refused, nothing changes), then with `true` (expected
/// to succeed with `status`), and returns the second answer's body.
async fn check(api: &Api, method: Method, path: &str, form: &[(&str, &str)], status: u16) -> Value {
    let before = support::dump_all(api).await;
    for bad in ["maybe", "TRUE", "1", ""] {
        support::with_webhook_header(api, method.clone(), path, form, bad)
            .await
            .expect_error(400, 20001);
    }
    assert_eq!(support::dump_all(api).await, before, "{method} {path}");
    support::with_webhook_header(api, method, path, form, "true")
        .await
        .expect(status)
}

async fn writes_in(api: &Api, base: &str) {
    let role = sid(&check(
        api,
        Method::POST,
        &format!("{base}/Roles"),
        &[
            ("FriendlyName", "agent"),
            ("Type", "conversation"),
            ("Permission", "sendMessage"),
        ],
        201,
    )
    .await);
    check(
        api,
        Method::POST,
        &format!("{base}/Roles/{role}"),
        &[("Permission", "leaveConversation")],
        200,
    )
    .await;
    check(
        api,
        Method::POST,
        &format!("{base}/Users"),
        &[("Identity", "alice")],
        201,
    )
    .await;
    check(
        api,
        Method::POST,
        &format!("{base}/Users/alice"),
        &[("FriendlyName", "A")],
        200,
    )
    .await;
    check(
        api,
        Method::POST,
        &format!("{base}/Conversations"),
        &[("UniqueName", "room")],
        201,
    )
    .await;
    let room = format!("{base}/Conversations/room");
    check(
        api,
        Method::POST,
        &format!("{room}/Participants"),
        &[("Identity", "alice")],
        201,
    )
    .await;
    let msg = sid(&check(
        api,
        Method::POST,
        &format!("{room}/Messages"),
        &[("Author", "alice"), ("Body", "hi")],
        201,
    )
    .await);
    check(
        api,
        Method::POST,
        &format!("{room}/Messages/{msg}"),
        &[("Body", "edited")],
        200,
    )
    .await;
    let uc = format!("{base}/Users/alice/Conversations/room");
    check(
        api,
        Method::POST,
        &uc,
        &[("NotificationLevel", "muted")],
        200,
    )
    .await;
    let cwp = check(
        api,
        Method::POST,
        &format!("{base}/ConversationWithParticipants"),
        &[("Participant", r#"{"identity":"bob"}"#)],
        201,
    )
    .await;
    check(
        api,
        Method::DELETE,
        &format!("{room}/Messages/{msg}"),
        &[],
        204,
    )
    .await;
    check(api, Method::DELETE, &uc, &[], 204).await;
    check(
        api,
        Method::DELETE,
        &format!("{base}/Users/alice"),
        &[],
        204,
    )
    .await;
    check(
        api,
        Method::DELETE,
        &format!("{base}/Roles/{role}"),
        &[],
        204,
    )
    .await;
    check(
        api,
        Method::DELETE,
        &format!("{base}/Conversations/{}", sid(&cwp)),
        &[],
        204,
    )
    .await;
}

#[tokio::test]
async fn webhook_header_true_is_accepted_and_other_values_refused_on_every_new_write() {
    let server = TestServer::start().await;
    let api = server.api();
    let is = sid(&check(
        &api,
        Method::POST,
        "/v1/Services",
        &[("FriendlyName", "t")],
        201,
    )
    .await);
    let base = format!("/v1/Services/{is}");
    check(
        &api,
        Method::POST,
        &format!("{base}/Configuration"),
        &[("ReachabilityEnabled", "true")],
        200,
    )
    .await;
    writes_in(&api, "/v1").await;
    writes_in(&api, &base).await;
    check(&api, Method::DELETE, &base, &[], 204).await;
    // `false` is as good as `true`; reads ignore the header.
    support::with_webhook_header(
        &api,
        Method::POST,
        "/v1/Users",
        &[("Identity", "z")],
        "false",
    )
    .await
    .expect(201);
    support::with_webhook_header(&api, Method::GET, "/v1/Users/z", &[], "maybe")
        .await
        .expect(200);
}
