//! HTTP basic auth: the account SID with its auth token, or an API key SID with its secret;
//! anything else is 401 with code 20003 and a `WWW-Authenticate` challenge.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use confab_testkit::{Api, TestServer};
use serde_json::json;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Nothing was created by the refused calls.
async fn assert_no_conversations(api: &Api) {
    let list = api.get("/v1/Conversations").await.expect(200);
    assert_eq!(list["conversations"], json!([]));
}

#[tokio::test]
async fn no_authorization_header_is_401_with_a_basic_challenge() {
    let server = TestServer::start().await;
    let res = reqwest::Client::new()
        .get(format!("{}/v1/Conversations", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let challenge = res
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .expect("WWW-Authenticate header")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Basic realm="), "{challenge}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], 20003);
    assert_eq!(body["status"], 401);
    // Every path, known or not, and every method asks for credentials first.
    let anon = server.api().with_authorization(None);
    for path in ["/v1/Conversations", "/v1/Configuration", "/v1/Nope"] {
        anon.get(path).await.expect_error(401, 20003);
        anon.post(path, &[("FriendlyName", "x")])
            .await
            .expect_error(401, 20003);
    }
    assert_no_conversations(&server.api()).await;
}

#[tokio::test]
async fn wrong_or_crossed_credentials_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = server.credentials();
    for header in [
        basic(&c.account_sid, "wrong-token"),
        basic(&c.account_sid, ""),
        basic(&c.account_sid, &format!("{}x", c.auth_token)),
        // The secret of one credential with the name of the other.
        basic(&c.account_sid, &c.api_key_secret),
        basic(&c.api_key_sid, &c.auth_token),
        basic(&format!("AC{}", "f".repeat(32)), &c.auth_token),
    ] {
        let other = api.with_authorization(Some(&header));
        other
            .post("/v1/Conversations", &[("FriendlyName", "intruder")])
            .await
            .expect_error(401, 20003);
        other
            .get("/v1/Configuration")
            .await
            .expect_error(401, 20003);
    }
    assert_no_conversations(&api).await;
}

#[tokio::test]
async fn api_key_sid_and_secret_work_like_the_account() {
    let server = TestServer::start().await;
    let key = server.api_with_key();
    let created = key
        .post("/v1/Conversations", &[("FriendlyName", "via key")])
        .await
        .expect(201);
    // Resources belong to the account whichever credential made them.
    assert_eq!(
        created["account_sid"],
        server.credentials().account_sid.as_str()
    );
    let url = created["url"].as_str().unwrap();
    assert_eq!(server.api().get(url).await.expect(200), created);
    assert_eq!(key.get(url).await.expect(200), created);
    key.get("/v1/Configuration").await.expect(200);
}

#[tokio::test]
async fn malformed_authorization_headers_are_refused() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = server.credentials();
    let no_colon = format!("Basic {}", STANDARD.encode(&c.account_sid));
    let bad_utf8 = format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x']));
    let bearer = format!(
        "Bearer {}",
        STANDARD.encode(format!("{}:{}", c.account_sid, c.auth_token))
    );
    for header in [
        "",
        "Basic",
        "Basic ",
        "Basic !!!not-base64!!!",
        "Basic =====",
        "Digest username=\"x\"",
        &bearer,
        &no_colon,
        &bad_utf8,
    ] {
        api.with_authorization(Some(header))
            .get("/v1/Conversations")
            .await
            .expect_error(401, 20003);
    }
    // The scheme name is case-insensitive (RFC 7617).
    let lower = basic(&c.account_sid, &c.auth_token).replacen("Basic", "basic", 1);
    api.with_authorization(Some(&lower))
        .get("/v1/Conversations")
        .await
        .expect(200);
}

#[tokio::test]
async fn health_check_needs_no_credentials() {
    let server = TestServer::start().await;
    let res = reqwest::get(format!("{}/healthz", server.url()))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.unwrap(), "ok");
}
