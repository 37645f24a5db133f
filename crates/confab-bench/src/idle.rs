//! `idle`: N connected clients that do nothing but keep their link alive; the server's
//! resident memory per connection.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;

use crate::conn;
use crate::report::{CpuWindow, opt};
use crate::target::{Target, own_rss_kib};

/// Settings of an idle run.
#[derive(clap::Args, Debug, Clone)]
pub struct IdleArgs {
    /// Connections. This process holds one descriptor each, so keep it under the open-file
    /// limit (20,000 here) less a few hundred.
    #[arg(long, default_value_t = 15_000)]
    pub connections: usize,
    /// Seconds to hold them all open before measuring again.
    #[arg(long, default_value_t = 5.0)]
    pub hold_secs: f64,
}

/// An idle run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Connections held.
    pub connections: usize,
    /// Seconds to open them all (each signed in with its own identity).
    pub connect_s: f64,
    /// Server RSS before any connection, KiB.
    pub server_rss_before_kib: Option<u64>,
    /// Server RSS with every connection open, after the hold, KiB.
    pub server_rss_after_kib: Option<u64>,
    /// (after − before) / connections, KiB.
    pub server_kib_per_connection: Option<f64>,
    /// The server's CPU while they idle, in cores.
    pub server_idle_cores: Option<f64>,
    /// This process's RSS per connection, KiB (the generator's own cost).
    pub generator_kib_per_connection: f64,
}

/// Runs the scenario.
pub async fn run(target: &Target, args: &IdleArgs) -> Result<Figures, String> {
    if !(args.hold_secs >= 0.0 && args.hold_secs.is_finite()) {
        return Err("--hold-secs must be a number of seconds".into());
    }
    let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let before = target.rss_kib();
    let own_before = own_rss_kib();
    println!("idle: {} connections", args.connections);
    let started = Instant::now();
    let opened: Vec<Result<(conn::Writer, conn::Reader), String>> =
        futures_util::stream::iter(0..args.connections)
            .map(|n| {
                let token = target.token(&format!("idle-{run}-{n}"));
                let ws = target.ws_for(n);
                async move { conn::open(&ws, &token).await }
            })
            .buffer_unordered(200)
            .collect()
            .await;
    let mut writers = Vec::with_capacity(opened.len());
    let mut readers = Vec::with_capacity(opened.len());
    for o in opened {
        let (w, r) = o?;
        writers.push(w);
        readers.push(r);
    }
    let connect_s = started.elapsed().as_secs_f64();
    println!("  open in {connect_s:.1} s; holding {} s", args.hold_secs);
    // Pings, one connection at a time, so that none counts as silent during a long hold.
    let pinger = tokio::spawn(async move {
        let n = writers.len().max(1) as u32;
        let mut tick = tokio::time::interval(Duration::from_secs(10) / n);
        for i in 0.. {
            tick.tick().await;
            let k = i % writers.len().max(1);
            if let Some(w) = writers.get_mut(k) {
                let _ = w.send(conn::ping()).await;
            }
        }
    });
    let window = CpuWindow::start(target);
    tokio::time::sleep(Duration::from_secs_f64(args.hold_secs)).await;
    let cpu = window.end(target);
    let after = target.rss_kib();
    let own_after = own_rss_kib();
    pinger.abort();
    drop(readers);
    let n = args.connections.max(1) as f64;
    let figures = Figures {
        connections: args.connections,
        connect_s,
        server_rss_before_kib: before,
        server_rss_after_kib: after,
        server_kib_per_connection: match (before, after) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / n),
            _ => None,
        },
        server_idle_cores: cpu.server_cores,
        generator_kib_per_connection: own_after.saturating_sub(own_before) as f64 / n,
    };
    println!(
        "idle: {} connections; server RSS {} -> {} MiB: {} KiB per connection; server CPU \
         idle {} % of a core; generator {:.1} KiB per connection",
        figures.connections,
        opt(before.map(|k| k as f64 / 1024.0), 1),
        opt(after.map(|k| k as f64 / 1024.0), 1),
        opt(figures.server_kib_per_connection, 1),
        opt(cpu.server_cores.map(|c| c * 100.0), 1),
        figures.generator_kib_per_connection
    );
    Ok(figures)
}
