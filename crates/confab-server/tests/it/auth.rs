//! HTTP basic auth: the account SID with its auth token, or an API key SID with its secret;
//! anything else is 401 with code 20003 and a `WWW-Authenticate` challenge.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use confab_testkit::{Api, TestServer};
use serde_json::json;

use crate::support::{self, sid};

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

/// The REST door's authorization matrix: every conversation operation, for the account's
/// credentials and its API key (app backends may do everything in the account), for callers
/// without or with wrong credentials (401, 20003), and for the account through another
/// service's paths (the conversation is unknown there: 404, 20404). Every cell is asserted;
/// a refused call changes nothing.
#[tokio::test]
async fn rest_authorization_matrix_every_operation_for_every_caller() {
    use reqwest::Method;
    let server = TestServer::start().await;
    let api = server.api();
    let c = server.credentials();
    let home = format!("/v1/Services/{}", support::service(&api, "home").await);
    let elsewhere = format!("/v1/Services/{}", support::service(&api, "elsewhere").await);
    let callers = [
        ("account", api.clone(), home.clone(), Ok(())),
        ("api key", server.api_with_key(), home.clone(), Ok(())),
        (
            "anonymous",
            api.with_authorization(None),
            home.clone(),
            Err((401, 20003)),
        ),
        (
            "wrong secret",
            api.with_authorization(Some(&basic(&c.account_sid, "wrong"))),
            home.clone(),
            Err((401, 20003)),
        ),
        ("other service", api.clone(), elsewhere, Err((404, 20404))),
    ];
    let (mut cells, mut refused) = (0, 0);
    for (who, caller, base, expected) in &callers {
        for op in 0..15 {
            // A fresh conversation with alice, bob and a message of bob's, in `home`.
            let conv = sid(&api
                .post(&format!("{home}/Conversations"), &[])
                .await
                .expect(201));
            let parts = format!("{home}/Conversations/{conv}/Participants");
            api.post(&parts, &[("Identity", "alice")]).await.expect(201);
            let bob = sid(&api.post(&parts, &[("Identity", "bob")]).await.expect(201));
            let msg = sid(&api
                .post(
                    &format!("{home}/Conversations/{conv}/Messages"),
                    &[("Author", "bob"), ("Body", "hi")],
                )
                .await
                .expect(201));
            let cv = format!("{base}/Conversations/{conv}");
            let (method, path, form): (Method, String, Vec<(&str, &str)>) = match op {
                0 => (Method::GET, cv.clone(), vec![]),
                1 => (Method::GET, format!("{cv}/Messages"), vec![]),
                2 => (Method::GET, format!("{cv}/Participants"), vec![]),
                3 => (
                    Method::POST,
                    format!("{cv}/Messages"),
                    vec![("Author", "alice"), ("Body", "x")],
                ),
                4 => (
                    Method::POST,
                    format!("{cv}/Messages/{msg}"),
                    vec![("Body", "edited")],
                ),
                5 => (Method::DELETE, format!("{cv}/Messages/{msg}"), vec![]),
                6 => (Method::POST, cv.clone(), vec![("FriendlyName", "renamed")]),
                7 => (Method::POST, cv.clone(), vec![("Attributes", "{\"x\":1}")]),
                8 => (
                    Method::POST,
                    format!("{cv}/Participants"),
                    vec![("Identity", "carol")],
                ),
                9 => (
                    Method::POST,
                    format!("{cv}/Participants/{bob}"),
                    vec![("Attributes", "{\"x\":1}")],
                ),
                10 => (
                    Method::POST,
                    format!("{cv}/Participants/{bob}"),
                    vec![("LastReadMessageIndex", "0")],
                ),
                11 => (
                    Method::POST,
                    format!("{base}/Users/bob/Conversations/{conv}"),
                    vec![("NotificationLevel", "muted")],
                ),
                12 => (
                    Method::POST,
                    format!("{base}/Users/bob"),
                    vec![("FriendlyName", "Bob")],
                ),
                13 => (Method::DELETE, format!("{cv}/Participants/{bob}"), vec![]),
                _ => (Method::DELETE, cv.clone(), vec![]),
            };
            let before = support::dump_all(&api).await;
            let form = (method == Method::POST).then_some(form.as_slice());
            let reply = caller.send(method.clone(), &path, form).await;
            match expected {
                Ok(()) => {
                    let status = reply.status;
                    assert!(
                        (200..300).contains(&status),
                        "{who} {method} {path}: {status}"
                    );
                }
                Err((status, code)) => {
                    reply.expect_error(*status, *code);
                    assert_eq!(
                        support::dump_all(&api).await,
                        before,
                        "{who} {method} {path} changed nothing"
                    );
                    refused += 1;
                }
            }
            cells += 1;
        }
    }
    assert_eq!(cells, callers.len() * 15);
    eprintln!(
        "REST authorization matrix: {cells} cells as expected, {refused} refused with nothing changed, 0 unauthorized reads or writes"
    );
}

#[tokio::test]
async fn no_credential_trick_gets_into_rest() {
    let server = TestServer::start().await;
    let api = server.api();
    let c = server.credentials().clone();
    let token = server.token("alice");
    let other_account = format!("AC{}", "e".repeat(32));
    let other_key = format!("SK{}", "e".repeat(32));
    let mut headers: Vec<String> = vec![
        // Near misses of each secret: a character off, short, long, other case, padded.
        basic(&c.account_sid, &c.auth_token[1..]),
        basic(&c.account_sid, &c.auth_token[..c.auth_token.len() - 1]),
        basic(&c.account_sid, &c.auth_token.to_uppercase()),
        basic(&c.account_sid, &format!(" {}", c.auth_token)),
        basic(&c.account_sid, &format!("{}\n", c.auth_token)),
        basic(&c.account_sid, &format!("{}\0", c.auth_token)),
        basic(&c.api_key_sid, &c.api_key_secret[1..]),
        basic(&c.api_key_sid, &format!("{}x", c.api_key_secret)),
        // Near misses of each name.
        basic(&c.account_sid.to_lowercase(), &c.auth_token),
        basic(&format!(" {}", c.account_sid), &c.auth_token),
        basic(&c.account_sid[..20], &c.auth_token),
        basic(&format!("{}:", c.account_sid), &c.auth_token),
        basic("", &c.auth_token),
        // Another account, an unknown key, the pairs crossed and swapped.
        basic(&other_account, &c.auth_token),
        basic(&other_key, &c.api_key_secret),
        basic(&c.auth_token, &c.account_sid),
        basic(&c.api_key_secret, &c.api_key_sid),
        // An access token instead of a secret, or as a bearer.
        basic(&c.account_sid, &token),
        basic(&c.api_key_sid, &token),
        format!("Bearer {token}"),
        token.clone(),
        // Other schemes and shapes.
        format!(
            "Basic{}",
            STANDARD.encode(format!("{}:{}", c.account_sid, c.auth_token))
        ),
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}{}", c.account_sid, c.auth_token))
        ),
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", c.account_sid, "x".repeat(60_000)))
        ),
        format!("Basic {}", "A".repeat(60_000)),
        "Negotiate YII=".into(),
        "Basic Og==".into(),
    ];
    headers.dedup();
    let paths = [
        ("GET", "/v1/Conversations"),
        ("POST", "/v1/Conversations"),
        ("GET", "/v1/Configuration"),
        ("POST", "/v1/Services"),
    ];
    let mut tried = 0;
    for header in &headers {
        let intruder = api.with_authorization(Some(header));
        for (method, path) in paths {
            let reply = match method {
                "GET" => intruder.get(path).await,
                _ => intruder.post(path, &[("FriendlyName", "intruder")]).await,
            };
            assert_eq!(
                (reply.status, reply.body["code"].as_u64()),
                (401, Some(20003)),
                "{method} {path} with {:?}",
                header.chars().take(60).collect::<String>()
            );
            tried += 1;
        }
    }
    // Credentials anywhere but the Authorization header count for nothing.
    let anon = api.with_authorization(None);
    let pairs = [
        (c.account_sid.as_str(), c.auth_token.as_str()),
        (c.api_key_sid.as_str(), c.api_key_secret.as_str()),
    ];
    for (user, secret) in pairs {
        let query = format!("/v1/Conversations?AccountSid={user}&AuthToken={secret}");
        anon.get(&query).await.expect_error(401, 20003);
        anon.post(
            "/v1/Conversations",
            &[
                ("AccountSid", user),
                ("AuthToken", secret),
                ("ApiKey", user),
                ("ApiSecret", secret),
            ],
        )
        .await
        .expect_error(401, 20003);
        tried += 2;
    }
    // Basic credentials in the URL are only a header the client derives: through a fresh
    // client with the URL as given, a wrong pair is refused the same way.
    let with_userinfo =
        server
            .url()
            .replacen("http://", &format!("http://{}:wrong@", c.account_sid), 1);
    let res = reqwest::Client::new()
        .get(format!("{with_userinfo}/v1/Conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    tried += 1;
    assert_no_conversations(&api).await;
    let services = api.get("/v1/Services").await.expect(200);
    assert_eq!(
        services["services"].as_array().map(Vec::len),
        Some(1),
        "{services}"
    );
    eprintln!("REST credential tricks: {tried} tried, 0 accepted, nothing changed");
}
