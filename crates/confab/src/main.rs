//! `confab`: the server and its tools.
//!
//! - `confab serve`: runs the server: embedded SQLite under `--data-dir` by default, or
//!   PostgreSQL with `--database postgres://...` (docs/DEPLOYMENT.md).
//! - `confab token --identity NAME`: prints an access token signed with the configured API key.
//! - `confab chat --identity NAME`: a terminal chat client on the Rust SDK.

mod chat;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use confab_server::credentials::{CREDENTIALS_FILE, Credentials};
use confab_server::rest::rate_limit::RateLimit;
use confab_server::{Database, Server, ServerConfig};
use confab_store_sqlite::Synchronous;

#[derive(Parser)]
#[command(
    name = "confab",
    version,
    about = "A self-hostable conversations platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Print an access token for an identity, signed with the configured API key.
    Token(TokenArgs),
    /// Chat in a conversation from the terminal (each line typed is a message).
    Chat(chat::ChatArgs),
    /// Load scenarios against a server (started here, or `--server`): throughput, latency,
    /// the server's CPU per delivery and memory per connection.
    Bench(confab_bench::BenchArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CONFAB_LISTEN")]
    listen: SocketAddr,
    /// Directory for the database and generated credentials.
    #[arg(long, default_value = "./confab-data", env = "CONFAB_DATA_DIR")]
    data_dir: PathBuf,
    /// Database URL: `sqlite://` (or none) keeps the embedded store in the data directory;
    /// `sqlite:///path/file.db` puts it elsewhere; `postgres://user@host:port/db` uses PostgreSQL.
    #[arg(long, env = "CONFAB_DATABASE")]
    database: Option<String>,
    /// Commit durability: `full` survives power loss, `normal` only a process crash.
    #[arg(long, value_enum, default_value_t = SyncArg::Full, env = "CONFAB_SYNCHRONOUS")]
    synchronous: SyncArg,
    /// REST requests per second allowed per API key (sustained).
    #[arg(long, default_value_t = 25_000.0, env = "CONFAB_REST_RATE_LIMIT")]
    rest_rate_limit: f64,
    /// REST requests per API key allowed in one burst.
    #[arg(long, default_value_t = 50_000, env = "CONFAB_REST_RATE_BURST")]
    rest_rate_burst: u32,
    /// Realtime heartbeat interval H in seconds: a link silent for 2H + 5 s is dropped.
    #[arg(long, default_value_t = 15, env = "CONFAB_HEARTBEAT_SECS")]
    heartbeat_secs: u64,
    /// Hours of conversation events kept for resuming clients; 0 keeps them forever. A client
    /// whose cursor is older gets `conversationReset` and reloads.
    #[arg(long, default_value_t = 168, env = "CONFAB_LOG_RETENTION_HOURS")]
    log_retention_hours: u64,
    /// Clock skew allowed on access tokens' `nbf` and `exp`, in seconds.
    #[arg(long, default_value_t = 60, env = "CONFAB_TOKEN_SKEW_SECS")]
    token_skew_secs: u32,
    /// Open connections allowed at once; past it a connection gets 503 and is closed.
    /// Default: the open-file limit (raised to its hard limit at start) less a reserve.
    #[arg(long, env = "CONFAB_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Seconds a client may take to send a request head before its connection is closed.
    #[arg(long, default_value_t = 10, env = "CONFAB_REQUEST_HEAD_TIMEOUT_SECS")]
    request_head_timeout_secs: u64,
    /// NATS for cross-node fan-out (`nats://host:4222`), when this server is one of several
    /// nodes on one PostgreSQL database (docs/DEPLOYMENT.md).
    #[arg(long, env = "CONFAB_NATS")]
    nats: Option<String>,
    /// Where media bytes go: S3-compatible storage, `s3://BUCKET[/PREFIX]?endpoint=URL&region=R`
    /// (credentials in the URL or the usual `AWS_*` variables; docs/DEPLOYMENT.md), or
    /// `file:///PATH`, a directory every node mounts. Default: `media/` under the data
    /// directory, for one node.
    #[arg(long, env = "CONFAB_MEDIA_STORE")]
    media_store: Option<String>,
    /// The largest media file accepted, in MiB.
    #[arg(long, default_value_t = 100, env = "CONFAB_MEDIA_MAX_FILE_MIB")]
    media_max_file_mib: u64,
    /// Development mode: `POST /dev/token` mints an access token for any name, so the web page
    /// at `/` signs in by name alone. Refused on a non-loopback address unless
    /// `--dev-allow-remote`: anyone who can reach the server could be anyone.
    #[arg(long, env = "CONFAB_DEV")]
    dev: bool,
    /// Allows `--dev` on a non-loopback address (a trusted network only).
    #[arg(long, requires = "dev")]
    dev_allow_remote: bool,
    /// Serves a WebSocket echo at `/_conformance/echo`, on the realtime endpoint's own
    /// WebSocket stack, for conformance suites (`scripts/autobahn`). For testing only.
    #[arg(long)]
    websocket_echo: bool,
    /// Log filter (`info`, `debug`, `confab_server=trace`, ...).
    #[arg(long, default_value = "info", env = "CONFAB_LOG")]
    log: String,
    /// Log lines as text (coloured only on a terminal, and not with `NO_COLOR` set) or as
    /// one JSON object each, for log shippers.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "CONFAB_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SyncArg {
    Full,
    Normal,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// The user's identity.
    #[arg(long)]
    identity: String,
    /// Lifetime in seconds (at most 24 h).
    #[arg(long, default_value_t = 3600)]
    ttl: i64,
    /// Service SID for the chat grant; default: the account's default service.
    #[arg(long)]
    service: Option<String>,
    /// Data directory holding generated credentials.
    #[arg(long, default_value = "./confab-data", env = "CONFAB_DATA_DIR")]
    data_dir: PathBuf,
}

/// mimalloc rather than glibc's allocator: the server allocates per request and per task from
/// several threads at once, and tokio's tasks are aligned allocations that glibc serves on a
/// slow path (`_int_memalign`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Token(args) => token(args),
        Command::Chat(args) => chat::chat(args),
        Command::Bench(args) => std::env::current_exe()
            .map_err(|e| format!("the confab binary's path: {e}"))
            .and_then(|exe| confab_bench::run(args, &exe)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Sends the server's logs to stderr, filtered by `filter`, in `format`.
fn init_logs(filter: &str, format: LogFormat) -> Result<(), String> {
    use std::io::IsTerminal as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| format!("--log: {e}"))?;
    // The WebSocket library logs every frame's text at trace, access tokens included: it is
    // held at debug whatever the filter asks (secrets never reach the log). A cap, not a
    // directive: `tungstenite=debug` would also raise it to debug under `--log warn`.
    let cap = tracing_subscriber::filter::filter_fn(|meta| {
        !meta.target().starts_with("tungstenite") && !meta.target().starts_with("tokio_tungstenite")
            || *meta.level() <= tracing::Level::DEBUG
    });
    // Escape codes belong on a terminal only: in a file or a pipe they are noise
    // (https://no-color.org says how a user turns them off on a terminal too).
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter).with(cap);
    match format {
        LogFormat::Text => registry.with(fmt.with_ansi(ansi)).init(),
        LogFormat::Json => registry.with(fmt.json().with_ansi(false)).init(),
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_logs(&args.log, args.log_format)?;
    if args.dev && !args.listen.ip().is_loopback() && !args.dev_allow_remote {
        return Err(format!(
            "--dev mints a token for anyone who asks, so it is refused on {}, which is not a \
             loopback address; listen on 127.0.0.1, or add --dev-allow-remote on a trusted network",
            args.listen
        ));
    }
    let database = args
        .database
        .as_deref()
        .map(Database::from_url)
        .transpose()?
        .unwrap_or_default();
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("{}: {e}", args.data_dir.display()))?;
    let (credentials, generated) =
        Credentials::resolve(&args.data_dir, env).map_err(|e| e.to_string())?;
    if !generated.is_empty() {
        announce_credentials(&generated, &args.data_dir);
    }
    let mut config = ServerConfig::new(args.listen, &args.data_dir);
    config.database = database;
    if !(args.rest_rate_limit > 0.0 && args.rest_rate_limit.is_finite())
        || args.rest_rate_burst == 0
    {
        return Err("--rest-rate-limit and --rest-rate-burst must be positive".into());
    }
    config.rest_rate_limit = RateLimit {
        per_second: args.rest_rate_limit,
        burst: args.rest_rate_burst,
    };
    if args.heartbeat_secs == 0 {
        return Err("--heartbeat-secs must be positive".into());
    }
    config.realtime.heartbeat = std::time::Duration::from_secs(args.heartbeat_secs);
    config.realtime.log_retention = (args.log_retention_hours > 0)
        .then(|| std::time::Duration::from_secs(args.log_retention_hours.saturating_mul(3600)));
    config.token_skew_secs = i64::from(args.token_skew_secs);
    if args.max_connections == Some(0) || args.request_head_timeout_secs == 0 {
        return Err("--max-connections and --request-head-timeout-secs must be positive".into());
    }
    config.max_connections = args.max_connections;
    config.dev_tokens = args.dev;
    config.realtime.websocket_echo = args.websocket_echo;
    if args.nats.is_some() && !matches!(config.database, Database::Postgres { .. }) {
        return Err(
            "--nats joins this server to other nodes, which needs a database they share: \
             add --database postgres://..."
                .into(),
        );
    }
    config.nats = args.nats.clone();
    config.media.store = args.media_store.clone();
    config.media.max_file_size = args.media_max_file_mib.saturating_mul(1024 * 1024);
    config.request_head_timeout = std::time::Duration::from_secs(args.request_head_timeout_secs);
    config.synchronous = match args.synchronous {
        SyncArg::Full => Synchronous::Full,
        SyncArg::Normal => Synchronous::Normal,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let stop = shutdown_signal();
        let mut server = Server::start(config, credentials)
            .await
            .map_err(|e| e.to_string())?;
        // The first line on stdout tells scripts (and tests) where the server is.
        say(&format!(
            "confab listening on http://{}",
            server.local_addr()
        ));
        if args.dev {
            tracing::warn!(
                "development mode: POST /dev/token mints a token for any name; never expose it"
            );
            say(&format!(
                "open http://{}/ in a browser to chat (development mode)",
                server.local_addr()
            ));
        }
        tokio::select! {
            r = server.wait() => r.map_err(|e| e.to_string())?,
            () = stop => tracing::info!("shutting down"),
        }
        server.shutdown().await.map_err(|e| e.to_string())
    })
}

/// A line on stdout for whoever started the server; a closed stdout (a supervisor that read
/// the first line and went) must not bring the server down, as `println!` would.
fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Printed once, to stderr, when the credentials are generated: the only time secrets leave
/// the data directory. Only generated values in use are shown, never ones from the environment.
fn announce_credentials(generated: &[(&str, String)], dir: &std::path::Path) {
    let mut text = format!(
        "confab: generated credentials (kept in {}, mode 0600; shown only now)",
        dir.join(CREDENTIALS_FILE).display()
    );
    for (name, value) in generated {
        text.push_str(&format!("\n  {name}={value}"));
    }
    eprintln!("{text}");
}

/// Ctrl-C or SIGTERM, listened for from the call on: it is made before the server announces
/// itself, so that a signal sent as soon as that line is read stops it cleanly rather than
/// killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let listen = |kind: SignalKind| signal(kind).ok();
        let (interrupt, terminate) = (
            listen(SignalKind::interrupt()),
            listen(SignalKind::terminate()),
        );
        async fn heard(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        async move {
            tokio::select! {
                () = heard(interrupt) => {}
                () = heard(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn token(args: TokenArgs) -> Result<(), String> {
    let token = mint_token(
        &args.data_dir,
        &args.identity,
        args.ttl,
        args.service.as_deref(),
    )?;
    println!("{token}");
    Ok(())
}

/// Mints a token as an app backend would, with the API key from the environment or from
/// the data directory's generated credentials.
pub(crate) fn mint_token(
    data_dir: &std::path::Path,
    identity: &str,
    ttl: i64,
    service: Option<&str>,
) -> Result<String, String> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let stored = Credentials::load(&path).map_err(|e| e.to_string())?;
    let pick = |var: &str, stored: Option<&String>| {
        env(var)
            .filter(|v| !v.is_empty())
            .or_else(|| stored.cloned())
            .ok_or_else(|| {
                format!(
                    "{var} is not set and {} does not exist: start `confab serve` once or set it",
                    path.display()
                )
            })
    };
    let account_sid = pick(
        "CONFAB_ACCOUNT_SID",
        stored.as_ref().map(|c| &c.account_sid),
    )?;
    let key = confab_token::ApiKey {
        sid: pick(
            "CONFAB_API_KEY_SID",
            stored.as_ref().map(|c| &c.api_key_sid),
        )?,
        secret: pick(
            "CONFAB_API_KEY_SECRET",
            stored.as_ref().map(|c| &c.api_key_secret),
        )?,
    };
    if ttl <= 0 || ttl > confab_token::MAX_LIFETIME_SECS {
        return Err(format!(
            "--ttl must be between 1 and {}",
            confab_token::MAX_LIFETIME_SECS
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let spec = confab_token::TokenSpec {
        account_sid: &account_sid,
        identity,
        service_sid: service,
        now: i64::try_from(now).map_err(|e| e.to_string())?,
        ttl_secs: ttl,
    };
    Ok(confab_token::mint(&key, &spec))
}
