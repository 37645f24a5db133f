//! Test support: a real Confab server on `127.0.0.1:0` with a temp data directory, a small
//! REST client that speaks form-encoded requests with basic auth, as app backends do, a raw
//! realtime client ([`raw`]), the fault-injecting proxy ([`FaultProxy`]) for bad networks, and
//! SDK chat load with its end-to-end check ([`load`]).
//!
//! ```ignore
//! let server = TestServer::start().await;
//! let api = server.api();
//! let (status, body) = api.post("/v1/Conversations", &[("FriendlyName", "x")]).await;
//! ```
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod load;
pub mod nats;
pub mod raw;
pub mod s3;
pub mod wire;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use confab_faultproxy::FaultProxy;
pub use nats::NatsProcess;
pub use raw::{RawClient, Received};

use base64::Engine as _;
use confab_server::{Credentials, Database, Server, ServerConfig};
use serde_json::Value;

/// The lifecycle scenarios every SDK passes (JSON; the file's `about` says how to read it):
/// the Rust SDK's runner and the browser SDK's (`web/tests/lifecycle.test.mjs`) run this
/// same text.
pub const LIFECYCLE_SCENARIOS: &str = include_str!("../scenarios/lifecycle.json");

/// Access tokens minted by the reference product's helper library and hand-made attacks, each
/// with its expected outcome and code at a fixed clock (`testing/confab-testkit/vectors/README.md`).
pub const ACCESS_TOKEN_VECTORS: &str = include_str!("../vectors/access_tokens.json");

/// For a test that is about NATS (cross-node fan-out): `CONFAB_TEST_NATS_URL`, or `None`
/// (with a note) when it is not set, unless `CONFAB_REQUIRE_NATS=1` (as in CI) makes that a
/// failure.
pub fn nats_required_or_skip() -> Option<String> {
    match std::env::var("CONFAB_TEST_NATS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CONFAB_REQUIRE_NATS").as_deref() != Ok("1"),
                "CONFAB_TEST_NATS_URL is not set but CONFAB_REQUIRE_NATS=1"
            );
            eprintln!(
                "skipped: set CONFAB_TEST_NATS_URL (e.g. nats://127.0.0.1:4222) to run this test"
            );
            None
        }
    }
}

/// Fixed credentials for tests, so that a restarted server accepts the same client.
pub fn test_credentials() -> Credentials {
    Credentials {
        account_sid: format!("AC{}", "0a".repeat(16)),
        auth_token: "test-auth-token-0123456789".into(),
        api_key_sid: format!("SK{}", "0b".repeat(16)),
        api_key_secret: "test-api-key-secret-0123456789".into(),
    }
}

/// An access token for `identity` in the default service of a server with
/// [`test_credentials`], valid for 23 hours (long modes run for hours), for servers run as a
/// child process.
pub fn test_token(identity: &str) -> String {
    let c = test_credentials();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    confab_token::mint(
        &confab_token::ApiKey {
            sid: c.api_key_sid,
            secret: c.api_key_secret,
        },
        &confab_token::TokenSpec {
            account_sid: &c.account_sid,
            identity,
            service_sid: None,
            now,
            ttl_secs: 23 * 3600,
        },
    )
}

/// A server running in this process on a free port, with its own temp data directory. It stops
/// when dropped; [`TestServer::restart`] stops it and starts a new one on the same directory.
pub struct TestServer {
    server: Option<Server>,
    addr: SocketAddr,
    config: ServerConfig,
    credentials: Credentials,
    // Declared after the server so that they go after it.
    dir: Option<tempfile::TempDir>,
    _database: Option<TestDatabase>,
}

/// The backend the REST suites run on: SQLite in the temp data directory by default; with
/// `CONFAB_TEST_BACKEND=postgres`, a fresh schema of the PostgreSQL server named by
/// `CONFAB_TEST_POSTGRES_URL`, dropped when the test ends.
pub struct TestDatabase {
    url: String,
    schema: String,
}

static NEXT_SCHEMA: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl TestDatabase {
    /// The PostgreSQL database asked for by the environment, if any.
    pub fn from_env() -> Option<TestDatabase> {
        if std::env::var("CONFAB_TEST_BACKEND").as_deref() != Ok("postgres") {
            return None;
        }
        let url = std::env::var("CONFAB_TEST_POSTGRES_URL")
            .expect("CONFAB_TEST_BACKEND=postgres needs CONFAB_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
        Some(Self::new(url))
    }

    /// For a test that is about PostgreSQL: a fresh schema on `CONFAB_TEST_POSTGRES_URL`, or
    /// `None` (with a note) when it is not set, unless `CONFAB_REQUIRE_POSTGRES=1` (as in CI)
    /// makes that a failure.
    pub fn required_or_skip() -> Option<TestDatabase> {
        match std::env::var("CONFAB_TEST_POSTGRES_URL") {
            Ok(url) => Some(Self::new(url)),
            Err(_) => {
                assert!(
                    std::env::var("CONFAB_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "CONFAB_TEST_POSTGRES_URL is not set but CONFAB_REQUIRE_POSTGRES=1"
                );
                eprintln!("skipped: set CONFAB_TEST_POSTGRES_URL to run this test on PostgreSQL");
                None
            }
        }
    }

    /// A fresh schema on the PostgreSQL server at `url`.
    pub fn new(url: String) -> TestDatabase {
        let n = NEXT_SCHEMA.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        TestDatabase {
            url,
            schema: format!("confab_it{}_{n}_{nanos}", std::process::id()),
        }
    }

    /// The server configuration for it.
    pub fn database(&self) -> Database {
        Database::Postgres {
            url: self.url.clone(),
            schema: Some(self.schema.clone()),
        }
    }

    /// As a `--database` URL for the `confab` binary.
    pub fn url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}confab_schema={}", self.url, self.schema)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        confab_store_postgres::drop_schema_blocking(&self.url, &self.schema);
    }
}

impl TestServer {
    /// Starts a server with default configuration.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts its configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> TestServer {
        Self::start_as(test_credentials(), tweak).await
    }

    /// Starts a server with `credentials` after `tweak` adjusts its configuration.
    pub async fn start_as(
        credentials: Credentials,
        tweak: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), dir.path());
        let schema = TestDatabase::from_env();
        if let Some(db) = &schema {
            config.database = db.database();
        }
        tweak(&mut config);
        let server = Server::start(config.clone(), credentials.clone())
            .await
            .expect("server starts");
        let addr = server.local_addr();
        TestServer {
            server: Some(server),
            addr,
            config,
            credentials,
            dir: Some(dir),
            _database: schema,
        }
    }

    /// Runs one pass of the server's media sweep now; how many media went.
    pub async fn sweep_media(&self) -> usize {
        self.server
            .as_ref()
            .expect("running")
            .sweep_media()
            .await
            .expect("the sweep runs")
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// The credentials the server accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// A client authenticated with the account SID and auth token.
    pub fn api(&self) -> Api {
        Api::new(
            self.url(),
            &self.credentials.account_sid,
            &self.credentials.auth_token,
        )
    }

    /// A client authenticated with the API key.
    pub fn api_with_key(&self) -> Api {
        Api::new(
            self.url(),
            &self.credentials.api_key_sid,
            &self.credentials.api_key_secret,
        )
    }

    /// An access token for `identity` in the default service, valid for an hour.
    pub fn token(&self, identity: &str) -> String {
        self.token_with(identity, None, 3600)
    }

    /// An access token for `identity` in `service` (default: the account's), valid for
    /// `ttl_secs` from now.
    pub fn token_with(&self, identity: &str, service: Option<&str>, ttl_secs: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.token_at(identity, service, now, ttl_secs)
    }

    /// An access token issued at unix time `now` (seconds).
    pub fn token_at(
        &self,
        identity: &str,
        service: Option<&str>,
        now: i64,
        ttl_secs: i64,
    ) -> String {
        let key = confab_token::ApiKey {
            sid: self.credentials.api_key_sid.clone(),
            secret: self.credentials.api_key_secret.clone(),
        };
        confab_token::mint(
            &key,
            &confab_token::TokenSpec {
                account_sid: &self.credentials.account_sid,
                identity,
                service_sid: service,
                now,
                ttl_secs,
            },
        )
    }

    /// Opens a realtime session for `identity` and waits for `welcome`.
    pub async fn realtime(&self, identity: &str) -> (RawClient, confab_protocol::frame::Welcome) {
        RawClient::join(self.addr, &self.token(identity), None).await
    }

    /// Waits until exactly `n` realtime sessions are open; panics after 15 s.
    pub async fn wait_realtime_sessions(&self, n: usize) {
        let server = self.server.as_ref().expect("server running");
        assert!(
            server
                .wait_realtime_sessions(n, std::time::Duration::from_secs(15))
                .await,
            "the server did not reach {n} open realtime sessions"
        );
    }

    /// Realtime sessions ended so far with `reason` (see [`Server::realtime_closes`]).
    pub fn realtime_closes(&self, reason: &str) -> u64 {
        self.server
            .as_ref()
            .map_or(0, |s| s.realtime_closes(reason))
    }

    /// Connections refused so far at the connection cap.
    pub fn connections_refused(&self) -> u64 {
        self.server.as_ref().map_or(0, |s| s.connections_refused())
    }

    /// Connections open now, counted against the cap.
    pub fn open_connections(&self) -> usize {
        self.server.as_ref().map_or(0, |s| s.open_connections())
    }

    /// Waits until exactly `n` connections are open (the server sees closes on its own
    /// time); panics after 10 s.
    pub async fn wait_open_connections(&self, n: usize) {
        let Some(server) = &self.server else { return };
        assert!(
            server
                .wait_open_connections(n, std::time::Duration::from_secs(10))
                .await,
            "{} connections open, not {n}",
            server.open_connections()
        );
    }

    /// Deletes conversation log rows written before `before` (unix ms).
    pub async fn prune_logs_before(&self, before: i64) -> u64 {
        match &self.server {
            Some(s) => s.prune_logs_before(before).await,
            None => 0,
        }
    }

    /// Stops the server cleanly and waits until the store is closed.
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("clean shutdown");
        }
    }

    /// Stops the server and starts a new one on the same data directory (new port).
    pub async fn restart(&mut self) {
        self.restart_on("127.0.0.1:0".parse().unwrap()).await;
    }

    /// Stops the server and starts a new one on the same data directory and the same port,
    /// so that a proxy in front of it reaches the new one.
    pub async fn restart_same_port(&mut self) {
        let addr = self.addr;
        self.restart_on(addr).await;
    }

    /// Stops the server and starts a new one on the same data directory that accepts
    /// `credentials` instead (a rotated key, say).
    pub async fn restart_as(&mut self, credentials: Credentials) {
        self.credentials = credentials;
        self.restart().await;
    }

    async fn restart_on(&mut self, listen: SocketAddr) {
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = listen;
        let server = Server::start(config, self.credentials.clone())
            .await
            .expect("server restarts");
        self.addr = server.local_addr();
        self.server = Some(server);
    }

    /// Keeps the data directory after the test (for debugging) and returns its path.
    pub fn keep_dir(&mut self) -> PathBuf {
        self.dir
            .take()
            .map(|d| d.keep())
            .unwrap_or_else(|| self.config.data_dir.clone())
    }
}

/// A REST client: form-encoded requests, basic auth, JSON answers.
#[derive(Clone)]
pub struct Api {
    base: String,
    auth: Option<String>,
    http: reqwest::Client,
}

/// A response: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// A response header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts an error answer with this status and code, in the reference shape.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: u64) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.body["code"].as_u64(),
            Some(code),
            "unexpected code; body: {}",
            self.body
        );
        assert_eq!(
            self.body["status"].as_u64(),
            Some(u64::from(status)),
            "body: {}",
            self.body
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "body: {}",
            self.body
        );
        assert!(self.body["more_info"].is_string(), "body: {}", self.body);
        self.body
    }
}

impl Api {
    /// A client for `base` with basic-auth credentials.
    pub fn new(base: String, user: &str, password: &str) -> Api {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        Api {
            base,
            auth: Some(auth),
            http: reqwest::Client::new(),
        }
    }

    /// The same client with another `Authorization` header (or none).
    pub fn with_authorization(&self, header: Option<&str>) -> Api {
        Api {
            auth: header.map(str::to_owned),
            ..self.clone()
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    /// Sends a request; `path_or_url` may be a path or an absolute URL (as `next_page_url`).
    /// Panics if the server cannot be reached: use [`Api::try_send`] where that is expected.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path_or_url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Reply {
        self.try_send(method, path_or_url, form)
            .await
            .expect("request sent and answered")
    }

    /// Sends a request; a connection failure or timeout (10 s) is an `Err`, not a panic.
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path_or_url: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self
            .http
            .request(method, self.url(path_or_url))
            .timeout(std::time::Duration::from_secs(10));
        if let Some(a) = &self.auth {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        if let Some(f) = form {
            let body = form_body(f);
            req = req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await?;
        Ok(Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        })
    }

    /// `GET`
    pub async fn get(&self, path_or_url: &str) -> Reply {
        self.send(reqwest::Method::GET, path_or_url, None).await
    }

    /// `POST` with a form body.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send(reqwest::Method::POST, path, Some(form)).await
    }

    /// `DELETE`
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// A raw request for bad-input tests: any method, headers and body bytes.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path)).body(body);
        if let Some(a) = &self.auth {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body read");
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    /// Follows `next_page_url` from `first` until the end, collecting the items under `key`.
    pub async fn collect_pages(&self, first: &str, key: &str) -> (Vec<Value>, usize) {
        let mut items = vec![];
        let mut pages = 0;
        let mut url = Some(first.to_owned());
        while let Some(u) = url {
            let body = self.get(&u).await.expect(200);
            pages += 1;
            items.extend(body[key].as_array().expect("list key").iter().cloned());
            url = body["meta"]["next_page_url"].as_str().map(str::to_owned);
            assert!(pages < 10_000, "pagination does not end");
        }
        (items, pages)
    }
}

/// Encodes a form body.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}
