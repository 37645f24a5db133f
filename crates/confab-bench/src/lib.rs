//! `confab bench SCENARIO`: a load generator that speaks the realtime protocol, run against a
//! server it starts as a child process (or `--server URL`). Every load scenario reports the
//! server process's own CPU time over the measured interval beside throughput and latency,
//! prints a table and writes its figures as JSON. `docs/PERFORMANCE.md` has the scenarios, the
//! commands and the latest figures.
//!
//! The generator stays light: frames are classified by markers, never parsed whole, and one
//! task reads all the connections of a conversation.

pub mod conn;
pub mod fanout;
pub mod floor;
pub mod idle;
pub mod init;
pub mod media;
pub mod report;
pub mod rest;
pub mod storm;
pub mod target;
pub mod writes;

use std::path::{Path, PathBuf};

use target::Target;

/// `confab bench`'s arguments.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// The scenario.
    #[command(subcommand)]
    pub scenario: Scenario,
    /// A running server (`http://host:port`) instead of starting one; its credentials come
    /// from `CONFAB_ACCOUNT_SID`, `CONFAB_AUTH_TOKEN`, `CONFAB_API_KEY_SID` and
    /// `CONFAB_API_KEY_SECRET`.
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// The process ID of `--server`, to report its CPU and memory.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// The database URL of the server the bench starts (default: SQLite in a temp directory).
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// A flag for the server the bench starts (repeatable), such as
    /// `--serve-arg=--synchronous=normal`.
    #[arg(long, global = true, allow_hyphen_values = true)]
    pub serve_arg: Vec<String>,
    /// Nodes the bench starts (default 1); more than one needs `--database postgres://...`
    /// and `--nats URL`, and connections are spread over the nodes in turn.
    #[arg(long, global = true, default_value_t = 1)]
    pub nodes: usize,
    /// NATS for the nodes the bench starts (`--nats` of `confab serve`).
    #[arg(long, global = true)]
    pub nats: Option<String>,
    /// Where to write the figures (default `bench-SCENARIO.json` here).
    #[arg(long, global = true)]
    pub out: Option<PathBuf>,
}

/// The scenarios.
#[derive(clap::Subcommand, Debug)]
pub enum Scenario {
    /// C conversations x P online participants (100 x 100), sends ramped until p99 passes
    /// 50 ms: delivered messages/s, latency, server CPU per delivery.
    Fanout(fanout::FanoutArgs),
    /// One conversation with 1,000 online participants, ramped as `fanout`.
    BigRoom(fanout::FanoutArgs),
    /// N idle connected clients (15,000): the server's memory per connection.
    Idle(idle::IdleArgs),
    /// Durable messages/s with 1,000 concurrent senders, each answered after its commit.
    Writes(writes::WritesArgs),
    /// `Client::new` to `initialized` for a user in 1,000 conversations (the Rust SDK).
    Init(init::InitArgs),
    /// N connected SDK clients (5,000) cut at once through the fault proxy: time until all
    /// have resumed, lost and duplicated messages.
    Storm(storm::StormArgs),
    /// One 100 MiB upload (the server's peak memory throughout) and 2,000 uploads of 64 KiB
    /// from 16 uploaders: MB/s, uploads/s, latency, beside the disk's own speed.
    Media(media::MediaArgs),
    /// No server: what a frame costs when each delivery is its own `write` on this machine's
    /// loopback (the writer's and the reader's CPU per frame), the floor under `fanout`.
    Floor(floor::FloorArgs),
}

impl Scenario {
    fn name(&self) -> &'static str {
        match self {
            Scenario::Fanout(_) => "fanout",
            Scenario::BigRoom(_) => "big-room",
            Scenario::Idle(_) => "idle",
            Scenario::Writes(_) => "writes",
            Scenario::Init(_) => "init",
            Scenario::Storm(_) => "storm",
            Scenario::Media(_) => "media",
            Scenario::Floor(_) => "floor",
        }
    }
}

/// Runs `confab bench`; `exe` is the `confab` binary, started as `exe serve`.
pub fn run(args: BenchArgs, exe: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(run_async(args, exe))
}

async fn run_async(args: BenchArgs, exe: &Path) -> Result<(), String> {
    let name = args.scenario.name();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bench-{name}.json")));
    if let Scenario::Floor(a) = &args.scenario {
        // Blocking threads of its own: off the runtime.
        let a = a.clone();
        let figures = tokio::task::spawn_blocking(move || floor::run(&a))
            .await
            .map_err(|e| e.to_string())??;
        return report::write_json(&out, &figures);
    }
    let target = match &args.server {
        Some(url) => Target::running(url, args.server_pid)?,
        None => {
            let mut flags: Vec<&str> = args.serve_arg.iter().map(String::as_str).collect();
            if let Some(nats) = &args.nats {
                flags.extend(["--nats", nats]);
            }
            Target::start(exe, args.database.as_deref(), &flags, args.nodes).await?
        }
    };
    println!(
        "server {} ({} node(s), pids {:?}); machine: {} cores",
        target.http,
        target.nodes_ws.len(),
        target.pids,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let result = match &args.scenario {
        Scenario::Fanout(a) => fanout::run(&target, name, a, (100, 100))
            .await
            .and_then(|f| {
                fanout::summarize(&f, Some(&out.with_extension("svg")))?;
                report::write_json(&out, &f)
            }),
        Scenario::BigRoom(a) => fanout::run(&target, name, a, (1, 1000))
            .await
            .and_then(|f| {
                fanout::summarize(&f, Some(&out.with_extension("svg")))?;
                report::write_json(&out, &f)
            }),
        Scenario::Idle(a) => idle::run(&target, a)
            .await
            .and_then(|f| report::write_json(&out, &f)),
        Scenario::Writes(a) => writes::run(&target, a)
            .await
            .and_then(|f| report::write_json(&out, &f)),
        Scenario::Init(a) => init::run(&target, a)
            .await
            .and_then(|f| report::write_json(&out, &f)),
        Scenario::Storm(a) => storm::run(&target, a)
            .await
            .and_then(|f| report::write_json(&out, &f)),
        Scenario::Media(a) => {
            let store = args
                .serve_arg
                .iter()
                .find_map(|f| f.strip_prefix("--media-store="))
                .map_or("the data directory", |s| s.split('?').next().unwrap_or(s));
            media::run(&target, store, a)
                .await
                .and_then(|f| report::write_json(&out, &f))
        }
        // Run above, without a server.
        Scenario::Floor(_) => Ok(()),
    };
    target.stop().await;
    result
}
