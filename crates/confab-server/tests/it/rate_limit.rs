//! The per-credential REST rate limit: past the burst, 429 with code 20429 and `Retry-After`,
//! and nothing changes. The refill rate here is one request per 1,000 s, so no token comes
//! back while a test runs.

use confab_server::rest::rate_limit::RateLimit;
use confab_testkit::{Api, Reply, TestServer};

const BURST: u32 = 5;

async fn limited_server() -> TestServer {
    TestServer::start_with(|c| {
        c.rest_rate_limit = RateLimit {
            per_second: 0.001,
            burst: BURST,
        };
    })
    .await
}

#[track_caller]
fn assert_limited(reply: Reply) {
    let retry_after = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", reply.headers))
        .to_owned();
    let secs: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {retry_after}"));
    // One token takes 1,000 s at this rate.
    assert!((900..=1000).contains(&secs), "Retry-After: {secs}");
    reply.expect_error(429, 20429);
}

async fn conversation_count(api: &Api) -> usize {
    api.get("/v1/Conversations").await.expect(200)["conversations"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn past_the_burst_requests_get_429_with_retry_after_and_change_nothing() {
    let server = limited_server().await;
    let api = server.api();
    let key = server.api_with_key();
    // Five requests of any kind pass.
    api.post("/v1/Conversations", &[("UniqueName", "one")])
        .await
        .expect(201);
    api.get("/v1/Conversations/one").await.expect(200);
    api.get("/v1/Configuration").await.expect(200);
    api.post("/v1/Users", &[("Identity", "alice")])
        .await
        .expect(201);
    api.get("/v1/Users/alice").await.expect(200);
    // The sixth is refused, whatever it is, and so are the ones after it.
    assert_limited(
        api.post("/v1/Conversations", &[("UniqueName", "two")])
            .await,
    );
    assert_limited(
        api.post("/v1/Users/alice", &[("FriendlyName", "renamed")])
            .await,
    );
    assert_limited(api.delete("/v1/Conversations/one").await);
    assert_limited(api.get("/v1/Conversations").await);
    assert_limited(api.post("/v1/Services", &[("FriendlyName", "t")]).await);
    // Nothing the refused writes asked for happened (checked with the API key's own bucket).
    assert_eq!(conversation_count(&key).await, 1);
    key.get("/v1/Conversations/one").await.expect(200);
    key.get("/v1/Conversations/two")
        .await
        .expect_error(404, 20404);
    assert!(key.get("/v1/Users/alice").await.expect(200)["friendly_name"].is_null());
    let services = key.get("/v1/Services").await.expect(200);
    assert_eq!(services["services"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn each_credential_has_its_own_bucket() {
    let server = limited_server().await;
    let account = server.api();
    let key = server.api_with_key();
    for _ in 0..BURST {
        account.get("/v1/Configuration").await.expect(200);
    }
    assert_limited(account.get("/v1/Configuration").await);
    // The API key is untouched by the account's use, and runs out on its own.
    for i in 0..BURST {
        key.post("/v1/Conversations", &[("UniqueName", &*format!("k{i}"))])
            .await
            .expect(201);
    }
    assert_limited(key.post("/v1/Conversations", &[("UniqueName", "k5")]).await);
    assert_limited(account.get("/v1/Configuration").await);
}

#[tokio::test]
async fn unauthenticated_requests_get_401_and_spend_no_tokens() {
    let server = limited_server().await;
    let api = server.api();
    let account_sid = server.credentials().account_sid.clone();
    let nobody = api.with_authorization(None);
    let wrong = Api::new(server.url(), &account_sid, "wrong-token");
    for _ in 0..(2 * BURST) {
        nobody
            .get("/v1/Conversations")
            .await
            .expect_error(401, 20003);
        wrong
            .post("/v1/Conversations", &[("FriendlyName", "x")])
            .await
            .expect_error(401, 20003);
    }
    // The account's bucket is still full.
    for _ in 0..BURST {
        api.get("/v1/Configuration").await.expect(200);
    }
    assert_limited(api.get("/v1/Configuration").await);
    // Once it is empty, a bad or missing credential is still told 401, not 429.
    nobody
        .get("/v1/Conversations")
        .await
        .expect_error(401, 20003);
    wrong
        .get("/v1/Conversations")
        .await
        .expect_error(401, 20003);
    assert_eq!(conversation_count(&server.api_with_key()).await, 0);
}
