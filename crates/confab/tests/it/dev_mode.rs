//! `confab serve --dev`: the web page at `/`, and `POST /dev/token`, which mints a token for
//! any name and so exists only in development mode, on loopback unless forced.

use std::time::Duration;

use confab_testkit::RawClient;

use crate::process::ServeProcess;

async fn post_token(url: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{url}/dev/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(confab_testkit::form_body(form))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn dev_mode_is_refused_on_a_non_loopback_address_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(["serve", "--dev", "--listen", "0.0.0.0:0", "--data-dir"])
            .arg(dir.path())
            .output(),
    )
    .await
    .expect("refused at once")
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dev-allow-remote"), "{stderr}");
    assert!(out.stdout.is_empty(), "it must not have started listening");

    let forced = ServeProcess::start_with(dir.path(), &["--dev", "--dev-allow-remote"]).await;
    let status = forced.terminate(Duration::from_secs(15)).await;
    assert!(status.success());
}

#[tokio::test]
async fn dev_tokens_are_minted_for_any_name_and_open_a_session_as_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start_with(dir.path(), &["--dev"]).await;
    let (status, body) = post_token(&server.url, &[("identity", "zoë"), ("ttl", "60")]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["identity"], "zoë");
    let token = body["token"].as_str().unwrap();
    let claims = confab_protocol::token::decode_unverified(token)
        .unwrap()
        .claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (58..=61).contains(&(claims.exp - now)),
        "{}",
        claims.exp - now
    );
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    let (_client, welcome) = RawClient::join(addr, token, None).await;
    assert_eq!(welcome.identity, "zoë");

    // A page on another site that pointed its name at this server (DNS rebinding).
    let rebound = reqwest::Client::new()
        .post(format!("{}/dev/token", server.url))
        .header("Host", "evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("identity=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);

    let long = "x".repeat(257);
    for bad in [
        vec![],
        vec![("identity", "")],
        vec![("identity", "a\u{7}b")],
        vec![("identity", long.as_str())],
        vec![("identity", "a"), ("ttl", "0")],
        vec![("identity", "a"), ("ttl", "86401")],
        vec![("identity", "a"), ("ttl", "soon")],
    ] {
        let (status, body) = post_token(&server.url, &bad).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (400, Some(20001)),
            "{bad:?}: {body}"
        );
    }
    server.terminate(Duration::from_secs(15)).await;
}

#[tokio::test]
async fn the_page_is_served_in_any_mode_and_tokens_only_in_dev_mode() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(dir.path()).await;
    let (status, body) = post_token(&server.url, &[("identity", "mallory")]).await;
    // 404, not the REST API's 401 with a password prompt for the page's user.
    assert_eq!(
        (status, body["code"].as_u64()),
        (404, Some(20404)),
        "{body}"
    );
    let http = reqwest::Client::new();
    for (path, content_type) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/sdk/confab.js", "text/javascript"),
        ("/sdk/wasm/confab_client_wasm.js", "text/javascript"),
        ("/sdk/wasm/confab_client_wasm_bg.wasm", "application/wasm"),
    ] {
        let res = http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with(content_type), "{path}: {ct}");
        assert!(res.headers().contains_key("content-security-policy"));
        assert!(!res.bytes().await.unwrap().is_empty(), "{path}");
    }
    let favicon = http
        .get(format!("{}/favicon.ico", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        favicon.status(),
        204,
        "not the REST API's 401, which would ask for a password"
    );
    server.terminate(Duration::from_secs(15)).await;
}
