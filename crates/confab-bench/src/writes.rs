//! `writes`: durable messages per second with many concurrent senders, each message
//! acknowledged only after its commit. Each sender has its own conversation, so the
//! per-conversation rate limit (100 a second) is never what holds a sender back.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Seen};
use crate::report::{self, CpuWindow, Latency, opt};
use crate::rest::Rest;
use crate::target::Target;

/// Settings of a writes run.
#[derive(clap::Args, Debug, Clone)]
pub struct WritesArgs {
    /// Concurrent senders, each waiting for its answer before sending again.
    #[arg(long, default_value_t = 1_000)]
    pub senders: usize,
    /// Seconds measured (after a second of warm-up).
    #[arg(long, default_value_t = 10.0)]
    pub secs: f64,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 256)]
    pub body_bytes: usize,
    /// Most messages a second from one sender: each is one identity in one conversation, and
    /// the shipped limits allow each 100 a second (a faster sender is refused with 20429).
    #[arg(long, default_value_t = 90.0)]
    pub sender_rate: f64,
}

/// A writes run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Concurrent senders.
    pub senders: usize,
    /// Body size, bytes.
    pub body_bytes: usize,
    /// Messages acknowledged per second (each after its commit).
    pub acked_per_s: f64,
    /// Send-to-answer latency.
    pub latency: Latency,
    /// Sends refused.
    pub refused: u64,
    /// The server's CPU in cores.
    pub server_cores: Option<f64>,
    /// The server's CPU time per acknowledged message, µs.
    pub server_us_per_message: Option<f64>,
    /// The load generator's CPU in cores.
    pub generator_cores: f64,
}

/// Runs the scenario.
pub async fn run(target: &Target, args: &WritesArgs) -> Result<Figures, String> {
    if !(args.secs > 0.0 && args.sender_rate > 0.0 && args.senders > 0) {
        return Err("--senders, --secs and --sender-rate must be positive".into());
    }
    let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let name = move |n: usize| format!("w-{run}-{n}");
    println!(
        "writes: {} senders (at most {}/s each), {} B bodies, {} s",
        args.senders, args.sender_rate, args.body_bytes, args.secs
    );
    let sids = Rest::new(target)
        .conversations(args.senders, |n| vec![name(n)])
        .await?;
    let opened: Vec<Result<(usize, conn::Writer, conn::Reader), String>> =
        futures_util::stream::iter(0..args.senders)
            .map(|n| {
                let token = target.token(&name(n));
                let ws = target.ws_for(n);
                async move { conn::open(&ws, &token).await.map(|(w, r)| (n, w, r)) }
            })
            .buffer_unordered(200)
            .collect()
            .await;
    let warm = Instant::now() + Duration::from_secs(1);
    let end = warm + Duration::from_secs_f64(args.secs);
    let mut tasks = vec![];
    for o in opened {
        let (n, w, r) = o?;
        tasks.push(tokio::spawn(sender(
            w,
            r,
            sids[n].clone(),
            args.body_bytes,
            Duration::from_secs_f64(1.0 / args.sender_rate),
            warm,
            end,
        )));
    }
    tokio::time::sleep_until(warm.into()).await;
    let window = CpuWindow::start(target);
    let mut latency = report::histogram();
    let (mut acked, mut refused) = (0u64, 0u64);
    for t in tasks {
        let (h, a, r) = t.await.map_err(|e| e.to_string())??;
        let _ = latency.add(&h);
        acked += a;
        refused += r;
    }
    let cpu = window.end(target);
    let seconds = args.secs;
    let figures = Figures {
        senders: args.senders,
        body_bytes: args.body_bytes,
        acked_per_s: acked as f64 / seconds,
        latency: Latency::of(&latency),
        refused,
        server_cores: cpu.server_cores,
        server_us_per_message: cpu.server_us_per(acked),
        generator_cores: cpu.generator_cores,
    };
    println!(
        "writes: {:.0} durable messages/s from {} senders; answer p50 {:.2} ms, p99 {:.2} ms, \
         p999 {:.2} ms; refused {}; server {} % of a core, {} us per message; generator {:.0} % \
         of a core",
        figures.acked_per_s,
        figures.senders,
        figures.latency.p50_ms,
        figures.latency.p99_ms,
        figures.latency.p999_ms,
        refused,
        opt(cpu.server_cores.map(|c| c * 100.0), 0),
        opt(figures.server_us_per_message, 1),
        figures.generator_cores * 100.0,
    );
    Ok(figures)
}

type Tally = (hdrhistogram::Histogram<u64>, u64, u64);

/// One sender: send, wait for the answer, again (at most one send per `gap`), until `end`;
/// counts what falls after `warm`.
async fn sender(
    mut w: conn::Writer,
    mut r: conn::Reader,
    conversation: String,
    body_bytes: usize,
    gap: Duration,
    warm: Instant,
    end: Instant,
) -> Result<Tally, String> {
    let mut pace = tokio::time::interval(gap);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut h = report::histogram();
    let (mut acked, mut refused) = (0u64, 0u64);
    let body = conn::stamped_body(0, body_bytes);
    for id in 1u64.. {
        pace.tick().await;
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        w.send(conn::send_message(id, &conversation, &body))
            .await
            .map_err(|e| format!("send: {e}"))?;
        let error = loop {
            match r.next().await {
                Some(Ok(Message::Text(t))) => {
                    if let Seen::Answer { id: got, error } = conn::classify(&t)
                        && got == id
                    {
                        break error;
                    }
                }
                Some(Ok(_)) => {}
                other => return Err(format!("connection ended: {other:?}")),
            }
        };
        if sent >= warm {
            if error {
                refused += 1;
            } else {
                acked += 1;
                let _ = h.record(sent.elapsed().as_micros().max(1) as u64);
            }
        }
    }
    Ok((h, acked, refused))
}
