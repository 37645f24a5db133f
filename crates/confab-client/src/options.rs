//! What an app can set when it creates a client.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How much the SDK logs (through `tracing`, target `confab_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// Every frame.
    Trace,
    /// State changes and requests.
    Debug,
    /// Connections made and lost.
    Info,
    /// Connection errors and refused tokens (the default).
    #[default]
    Warn,
    /// Only what breaks the client.
    Error,
    /// Nothing.
    Silent,
}

/// A future that yields a fresh access token, or why there is none.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// An async callback the client calls by itself for a new token: ahead of expiry (on
/// `tokenAboutToExpire`) and after the token expired, so an app needs no event plumbing.
pub type TokenProvider = Arc<dyn Fn() -> TokenFuture + Send + Sync>;

/// Client settings.
#[derive(Clone)]
pub struct ClientOptions {
    /// The server, `ws://host:port` or `wss://host`; `/v1/realtime` is added.
    pub url: String,
    /// SDK verbosity.
    pub log_level: LogLevel,
    /// How long before the token's `exp` `TokenAboutToExpire` comes (default 3 min).
    pub token_lead: Duration,
    /// How long the client keeps reconnecting after a loss (default 2 min; `None`: forever).
    pub reconnection_window: Option<Duration>,
    /// How long a request may take (default 30 s).
    pub request_timeout: Duration,
    /// How long opening a connection and getting `welcome` may take (default 15 s).
    pub connect_timeout: Duration,
    /// Conversations whose cursors are kept for resume (default 500).
    pub watch_cap: usize,
    /// Users the client follows at most (default 500; past that the least recently touched
    /// is dropped, with `UserEvent::Unsubscribed`). The user's conversations are all kept.
    pub cache_capacity: usize,
    /// Renews the token by itself when set.
    pub token_provider: Option<TokenProvider>,
}

impl ClientOptions {
    /// Defaults for the server at `url`.
    pub fn new(url: impl Into<String>) -> ClientOptions {
        ClientOptions {
            url: url.into(),
            log_level: LogLevel::default(),
            token_lead: Duration::from_secs(180),
            reconnection_window: Some(Duration::from_secs(120)),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(15),
            watch_cap: 500,
            cache_capacity: 500,
            token_provider: None,
        }
    }

    /// Sets the token provider.
    pub fn with_token_provider<F, Fut>(mut self, provider: F) -> ClientOptions
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.token_provider = Some(Arc::new(move || Box::pin(provider())));
        self
    }

    pub(crate) fn core_config(&self) -> confab_client_core::Config {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        confab_client_core::Config {
            window_ms: self.reconnection_window.map(ms),
            token_lead_ms: ms(self.token_lead),
            request_timeout_ms: ms(self.request_timeout),
            connect_timeout_ms: ms(self.connect_timeout),
            watch_cap: self.watch_cap,
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("url", &self.url)
            .field("log_level", &self.log_level)
            .field("token_lead", &self.token_lead)
            .field("reconnection_window", &self.reconnection_window)
            .field("request_timeout", &self.request_timeout)
            .field("token_provider", &self.token_provider.is_some())
            .finish_non_exhaustive()
    }
}
