//! The Confab server: assembles the store, the domain service and the HTTP endpoints, and runs
//! them until told to stop.
//!
//! - [`credentials`]: the account's credentials, from the environment or generated once.
//! - [`rest`]: the REST API (thin adapters over the domain service).
//! - [`realtime`]: the WebSocket endpoint: sessions, live events from the log, resume.
//! - [`Server`]: binds, serves, and shuts down cleanly (in-flight requests finish, then the
//!   store's writer commits what it has queued and closes the database).
//!
//! How a write reaches sessions: a REST handler or a realtime request calls the domain; the
//! domain's one store transaction writes the change and appends its events to the logs; the
//! store hands the committed events, in commit order, to the domain's listener, which gives
//! them to the realtime hub (and, with other nodes, to the NATS bus) before the write is
//! answered. The hub keeps each stream in `seq` order and puts each event, encoded once and
//! shared, into the queue of every session following its stream; each session's task feeds it
//! to its state machine (`confab_server_core::Session`), which checks the stream's cursor,
//! reads any gap from the log through the domain, and writes the frames out in batches.

pub mod credentials;
pub mod listen;
pub mod media;
pub mod realtime;
pub mod rest;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use confab_domain::{Clock, Domain, SystemClock};
use confab_protocol::limits::Limits;
use confab_store::Store;
use confab_store_postgres::{PgOptions, PgStore};
use confab_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use credentials::Credentials;

/// The store behind the server, chosen by the database URL's scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite store (the default): a file, by default `confab.db` in the data
    /// directory.
    Sqlite {
        /// The database file.
        path: Option<PathBuf>,
    },
    /// A PostgreSQL database.
    Postgres {
        /// `postgres://user@host:port/database`
        url: String,
        /// A schema to keep the tables in (created if missing).
        schema: Option<String>,
    },
}

impl Default for Database {
    fn default() -> Self {
        Database::Sqlite { path: None }
    }
}

impl Database {
    /// Reads a database URL: `sqlite://` (or `sqlite:///path/file.db`, `sqlite:file.db`) or
    /// `postgres://…` / `postgresql://…` (a `confab_schema=NAME` query parameter picks a schema).
    pub fn from_url(url: &str) -> Result<Database, String> {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return Ok(Database::Sqlite {
                path: (!path.is_empty()).then(|| PathBuf::from(path)),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (base, schema) = match url.split_once("confab_schema=") {
                Some((before, after)) => {
                    let schema = after.split('&').next().unwrap_or_default().to_owned();
                    let rest = after.split_once('&').map(|(_, r)| r).unwrap_or_default();
                    let base = before.trim_end_matches(['?', '&']);
                    let base = if rest.is_empty() {
                        base.to_owned()
                    } else {
                        format!("{base}{}{rest}", if base.contains('?') { '&' } else { '?' })
                    };
                    (base, Some(schema))
                }
                None => (url.to_owned(), None),
            };
            return Ok(Database::Postgres { url: base, schema });
        }
        Err(format!(
            "unsupported database URL {url:?}: use sqlite:// or postgres://"
        ))
    }
}

/// Everything `confab serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where the database (and generated credentials) live.
    pub data_dir: PathBuf,
    /// Where the data is kept.
    pub database: Database,
    /// Commit durability of the SQLite store.
    pub synchronous: Synchronous,
    /// Size and count limits.
    pub limits: Limits,
    /// REST requests allowed per API key.
    pub rest_rate_limit: rest::rate_limit::RateLimit,
    /// The realtime endpoint's heartbeat, queue, deadlines and log retention.
    pub realtime: realtime::RealtimeConfig,
    /// Clock skew allowed on access tokens' `nbf` and `exp`, in seconds.
    pub token_skew_secs: i64,
    /// How long shutdown waits for realtime sessions and their requests to finish.
    pub shutdown_grace: std::time::Duration,
    /// The server's clock (token checks, timestamps); tests inject a fixed one.
    pub clock: ServerClock,
    /// Open connections allowed at once; past it a connection is answered 503 and closed.
    /// `None`: the open-file limit (raised to its hard limit at start) less a reserve.
    pub max_connections: Option<usize>,
    /// How long a client may take to send a request head (the first one on a connection,
    /// and each later one on a kept-alive connection) before the connection is closed; and
    /// how long a REST request's body may take after its head (answered 408, 20408).
    pub request_head_timeout: std::time::Duration,
    /// How long a write may wait for a client that stopped reading before its connection is
    /// dropped.
    pub write_stall_timeout: std::time::Duration,
    /// Development mode: `POST /dev/token` mints an access token for any identity (the
    /// stand-in for an app's own token endpoint that the web page uses). Never in production:
    /// anyone who can reach the server can then be anyone.
    pub dev_tokens: bool,
    /// NATS (`nats://host:4222`) for cross-node fan-out, when this server is one of several
    /// nodes on one PostgreSQL database; `None` for a single node.
    pub nats: Option<String>,
    /// Media storage, limits and lifetimes.
    pub media: media::MediaConfig,
}

/// The clock a server runs on: the system clock unless a test gives another.
#[derive(Clone)]
pub struct ServerClock(pub Arc<dyn Clock>);

impl Default for ServerClock {
    fn default() -> Self {
        ServerClock(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for ServerClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerClock(now={})", self.0.now_millis())
    }
}

impl ServerConfig {
    /// Defaults for a data directory, listening on `listen`.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            listen,
            data_dir: data_dir.into(),
            database: Database::default(),
            synchronous: Synchronous::Full,
            limits: Limits::default(),
            rest_rate_limit: Default::default(),
            realtime: Default::default(),
            token_skew_secs: confab_token::DEFAULT_SKEW_SECS,
            shutdown_grace: std::time::Duration::from_secs(10),
            clock: ServerClock::default(),
            max_connections: None,
            request_head_timeout: std::time::Duration::from_secs(10),
            write_stall_timeout: listen::WRITE_STALL,
            dev_tokens: false,
            nats: None,
            media: media::MediaConfig::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created.
    #[error("data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] confab_store::StoreError),
    /// The domain could not start.
    #[error("domain: {0}")]
    Domain(#[from] confab_domain::DomainError),
    /// NATS could not be reached.
    #[error("nats {0}: {1}")]
    Bus(String, String),
    /// Media storage could not be used.
    #[error("media storage: {0}")]
    Media(String),
    /// The address could not be bound.
    #[error("listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// A running server. Dropping it stops it without waiting; [`Server::shutdown`] waits.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Kept so that shutdown can close it explicitly once HTTP has stopped: connection tasks
    /// may still hold clones of the app state for a moment after the server future ends.
    store: Arc<dyn Store>,
    realtime: Arc<realtime::Realtime>,
    stop_sessions: tokio::sync::watch::Sender<bool>,
    shutdown_grace: std::time::Duration,
    gate: Arc<listen::Gate>,
    media: media::MediaState,
}

/// The full HTTP app: health check, the web page (and development tokens), the realtime
/// endpoint and the REST API.
fn app(
    state: rest::AppState,
    rt: Arc<realtime::Realtime>,
    media: media::MediaState,
    dev_tokens: bool,
    clock: Arc<dyn Clock>,
) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(web::router(
            dev_tokens,
            state.credentials.clone(),
            clock,
            media.content_origin.as_deref(),
        ))
        .merge(realtime::router(rt))
        .merge(media::router(media))
        .merge(rest::router(state))
}

impl Server {
    /// Opens the store, starts the domain, binds, and starts serving.
    pub async fn start(
        config: ServerConfig,
        credentials: Credentials,
    ) -> Result<Server, StartError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
        let store: Arc<dyn Store> = match &config.database {
            Database::Sqlite { path } => {
                let path = path
                    .clone()
                    .unwrap_or_else(|| config.data_dir.join("confab.db"));
                let mut opts = SqliteOptions::new(path);
                opts.synchronous = config.synchronous;
                Arc::new(SqliteStore::open(&opts)?)
            }
            Database::Postgres { url, schema } => {
                let mut opts = PgOptions::new(url.clone());
                opts.schema = schema.clone();
                Arc::new(PgStore::connect(&opts).await?)
            }
        };
        let clock = config.clock.0.clone();
        let store_handle = store.clone();
        let hub = Arc::new(realtime::hub::Hub::default());
        let domain =
            Domain::start_with_sink(store, config.limits.clone(), clock, hub.clone()).await?;
        let verifier = confab_token::Verifier::new(
            credentials.account_sid.clone(),
            [confab_token::ApiKey {
                sid: credentials.api_key_sid.clone(),
                secret: credentials.api_key_secret.clone(),
            }],
        )
        .with_skew_secs(config.token_skew_secs);
        let storage = match &config.media.store {
            Some(url) => confab_media::MediaStorage::from_url(url),
            None => confab_media::MediaStorage::local(&config.data_dir.join("media")),
        }
        .map_err(|e| StartError::Media(e.to_string()))?;
        if config.nats.is_some() && !storage.is_shared() {
            return Err(StartError::Media(format!(
                "several nodes need shared media storage, not {}: give every node the same \
                 S3-compatible store (--media-store s3://BUCKET?endpoint=...), or a directory \
                 they all mount (--media-store file:///PATH)",
                storage.describe()
            )));
        }
        let content_origin = storage
            .content_origin()
            .await
            .map_err(|e| StartError::Media(e.to_string()))?;
        let media = media::MediaState {
            content_origin,
            domain: domain.clone(),
            storage: storage.clone(),
            // Every node holds the same credentials, so every node checks the same URLs. Keyed
            // by the API key's secret, which access tokens (HS256) already stand on, so that a
            // shared URL exposes nothing more to an offline guess (never the auth token).
            signer: confab_media::UrlSigner::new(
                <sha2::Sha256 as sha2::Digest>::digest(
                    format!("confab media urls\n{}", credentials.api_key_secret).as_bytes(),
                )
                .to_vec(),
            ),
            verifier: verifier.clone(),
            credentials: Arc::new(credentials.clone()),
            config: config.media.clone(),
        };
        let (stop_sessions, sessions_stopping) = tokio::sync::watch::channel(false);
        let rt = Arc::new(realtime::Realtime::new(
            domain.clone(),
            verifier,
            hub,
            config.realtime.clone(),
            sessions_stopping,
            confab_server_core::MediaLimits {
                per_message: config.limits.media_per_message,
                file_bytes: config.media.max_file_size,
                message_bytes: config.limits.media_bytes_per_message,
            },
        ));
        if let Some(url) = &config.nats {
            // One subject per account: nodes of other accounts on the same NATS hear nothing.
            let subject = format!("confab.{}.fanout", credentials.account_sid);
            let (bus, sub) = realtime::bus::Bus::connect(url, subject)
                .await
                .map_err(|e| StartError::Bus(url.clone(), e))?;
            rt.hub.set_bus(bus.clone());
            tokio::spawn(realtime::bus::run_subscriber(
                sub,
                bus.clone(),
                realtime::nodes::FromNodes(rt.clone()),
            ));
            tokio::spawn(realtime::nodes::heartbeat(rt.clone(), bus));
            tokio::spawn(realtime::nodes::reconcile(rt.clone()));
        }
        tokio::spawn(realtime::prune_logs(rt.clone()));
        tokio::spawn(media::sweep(
            media.domain.clone(),
            media.storage.clone(),
            config.media.sweep_every,
            rt.shutdown.clone(),
        ));
        tokio::spawn(realtime::release_held(rt.clone()));
        tokio::spawn(realtime::announce_profiles(rt.clone()));
        let state = rest::AppState {
            domain,
            credentials: Arc::new(credentials),
            rate_limiter: Arc::new(rest::rate_limit::RateLimiter::new(config.rest_rate_limit)),
            body_deadline: config.request_head_timeout,
        };
        let listener =
            listen::bind(config.listen).map_err(|e| StartError::Bind(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Bind(config.listen, e))?;
        // Raised whatever the cap: an explicit cap is no use under a soft limit of 1,024.
        let open_files = listen::raise_open_file_limit();
        let fits = listen::connection_cap(open_files);
        let max_connections = config.max_connections.unwrap_or(fits);
        if max_connections > fits {
            tracing::warn!(
                max_connections,
                open_files,
                "the connection cap leaves too few descriptors for the store: raise the \
                 open-file limit (LimitNOFILE) or lower --max-connections"
            );
        }
        let gate = listen::Gate::new(max_connections);
        let (stop, stopped) = oneshot::channel::<()>();
        let router = app(
            state,
            rt.clone(),
            media.clone(),
            config.dev_tokens,
            config.clock.0.clone(),
        );
        let task = tokio::spawn(listen::serve(
            listener,
            router,
            gate.clone(),
            config.request_head_timeout,
            config.write_stall_timeout,
            async move {
                let _ = stopped.await;
            },
        ));
        tracing::info!(%addr, max_connections, "confab listening");
        Ok(Server {
            addr,
            stop: Some(stop),
            task: Some(task),
            store: store_handle,
            realtime: rt,
            stop_sessions,
            shutdown_grace: config.shutdown_grace,
            gate,
            media,
        })
    }

    /// Runs one pass of the media sweep now (it also runs every `MediaConfig::sweep_every`);
    /// returns how many media went.
    pub async fn sweep_media(&self) -> Result<usize, String> {
        media::sweep_once(&self.media.domain, &self.media.storage).await
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (each answered after its commit),
    /// then closes the store: queued writes commit and the database is released before this
    /// returns.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Realtime sessions are told `shutting_down`; their requests still commit.
        self.stop_sessions.send_replace(true);
        // Bounded without a timer here: a connection whose client stopped reading dies at the
        // write-stall deadline, and every request taken is answered before the store closes.
        let served = self.wait().await;
        if !self.realtime.idle(self.shutdown_grace).await {
            tracing::warn!("realtime sessions still open at the end of the shutdown grace");
        }
        self.store.close().await;
        served
    }

    /// Waits until exactly `n` realtime sessions are open, at most `wait`; true if so.
    pub async fn wait_realtime_sessions(&self, n: usize, wait: std::time::Duration) -> bool {
        self.realtime.wait_sessions(n, wait).await
    }

    /// Realtime sessions ended so far with `reason` (a close reason such as `slow_consumer`,
    /// or `dropped` for links dropped without a close frame).
    pub fn realtime_closes(&self, reason: &str) -> u64 {
        self.realtime.closes(reason)
    }

    /// Connections refused so far because the connection cap was reached.
    pub fn connections_refused(&self) -> u64 {
        self.gate.refused()
    }

    /// Connections open now (HTTP and WebSocket), counted against the cap.
    pub fn open_connections(&self) -> usize {
        self.gate.open()
    }

    /// Waits until exactly `n` connections are open, at most `within`; true if so.
    pub async fn wait_open_connections(&self, n: usize, within: std::time::Duration) -> bool {
        self.gate.wait_open(n, within).await
    }

    /// Deletes conversation log rows written before `before` (unix ms), as the retention
    /// task does; returns how many went. For tests and tools.
    pub async fn prune_logs_before(&self, before: i64) -> u64 {
        realtime::prune_before(&self.realtime, before).await
    }

    /// Waits until the HTTP server stops (after a stop request, or an error). Cancel-safe:
    /// dropping this future before it completes leaves the server running and waitable.
    pub async fn wait(&mut self) -> std::io::Result<()> {
        let Some(task) = self.task.as_mut() else {
            return Ok(());
        };
        let result = task.await;
        self.task = None;
        result.map_err(std::io::Error::other)?
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.stop_sessions.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_backend() {
        assert_eq!(
            Database::from_url("sqlite://").unwrap(),
            Database::Sqlite { path: None }
        );
        assert_eq!(
            Database::from_url("sqlite:///var/c.db").unwrap(),
            Database::Sqlite {
                path: Some("/var/c.db".into())
            }
        );
        assert_eq!(
            Database::from_url("sqlite:c.db").unwrap(),
            Database::Sqlite {
                path: Some("c.db".into())
            }
        );
        assert_eq!(
            Database::from_url("postgres://u@h:5432/db").unwrap(),
            Database::Postgres {
                url: "postgres://u@h:5432/db".into(),
                schema: None
            }
        );
        assert_eq!(
            Database::from_url("postgres://u@h/db?confab_schema=s1&sslmode=disable").unwrap(),
            Database::Postgres {
                url: "postgres://u@h/db?sslmode=disable".into(),
                schema: Some("s1".into())
            }
        );
        assert!(Database::from_url("mysql://x").is_err());
    }
}
