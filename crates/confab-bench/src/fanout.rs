//! `fanout` and `big-room`: C conversations × P online participants, messages sent at a target
//! rate and delivered to every participant; the rate ramps until delivery latency's p99
//! passes the bound (or deliveries fall behind, or the server refuses or closes anyone).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::SelectAll;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Seen, Writer};
use crate::report::{self, Cpu, CpuWindow, Latency, opt};
use crate::rest::Rest;
use crate::target::Target;

/// Settings of a fanout run.
#[derive(clap::Args, Debug, Clone)]
pub struct FanoutArgs {
    /// Conversations (default 100; big-room: 1).
    #[arg(long)]
    pub conversations: Option<usize>,
    /// Online participants in each (default 100; big-room: 1,000).
    #[arg(long)]
    pub participants: Option<usize>,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub body_bytes: usize,
    /// Deliveries per second of the first step; the first step is the light-load figure.
    #[arg(long, default_value_t = 2_000.0)]
    pub start_rate: f64,
    /// The ramp stops after the step at or above this rate.
    #[arg(long, default_value_t = 1_000_000.0)]
    pub max_rate: f64,
    /// Each step's rate is the previous one's times this.
    #[arg(long, default_value_t = 1.5)]
    pub step_factor: f64,
    /// Seconds measured per step (after a second of warm-up).
    #[arg(long, default_value_t = 5.0)]
    pub step_secs: f64,
    /// Seconds measured in the first step, the light-load figure: at 2,000 deliveries a second
    /// a 5-second step holds 100 messages, and its p99 is then the slowest message or two.
    #[arg(long, default_value_t = 20.0)]
    pub light_secs: f64,
    /// The latency bound: the ramp stops at the first step whose p99 passes it.
    #[arg(long, default_value_t = 50.0)]
    pub p99_ms: f64,
}

/// One step of the ramp.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Deliveries per second asked for.
    pub target_deliveries_per_s: f64,
    /// Messages sent per second.
    pub sent_per_s: f64,
    /// Deliveries per second measured (messages received by participants).
    pub delivered_per_s: f64,
    /// Send-to-receipt latency over every delivery of the step.
    pub latency: Latency,
    /// CPU of the server and of the generator.
    pub cpu: Cpu,
    /// The server's CPU time per delivery, µs.
    pub server_us_per_delivery: Option<f64>,
    /// The same less what the server spends idle with everyone connected, µs.
    pub server_marginal_us_per_delivery: Option<f64>,
    /// Sends refused (20429 and the like).
    pub refused: u64,
    /// Connections the server closed.
    pub closed: u64,
    /// Whether the step held: p99 within the bound, deliveries kept up, nothing refused or
    /// closed.
    pub held: bool,
}

/// A fanout run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// `fanout` or `big-room`.
    pub scenario: String,
    /// Conversations.
    pub conversations: usize,
    /// Participants in each.
    pub participants: usize,
    /// Body size, bytes.
    pub body_bytes: usize,
    /// Seconds to set up conversations and participants over REST.
    pub setup_s: f64,
    /// Seconds to connect every participant.
    pub connect_s: f64,
    /// The server's resident memory with everyone connected, KiB.
    pub server_rss_kib: Option<u64>,
    /// The server's CPU with everyone connected and nothing sent, in cores.
    pub server_idle_cores: Option<f64>,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The highest step that held.
    pub best: Option<Step>,
}

/// What one conversation's receivers saw (or, summed, all of them).
struct Tally {
    latency: Histogram<u64>,
    delivered: u64,
    refused: u64,
    closed: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency: report::histogram(),
            delivered: 0,
            refused: 0,
            closed: 0,
        }
    }
}

/// Runs the scenario against `target`.
pub async fn run(
    target: &Target,
    scenario: &str,
    args: &FanoutArgs,
    defaults: (usize, usize),
) -> Result<Figures, String> {
    let conversations = args.conversations.unwrap_or(defaults.0);
    let participants = args.participants.unwrap_or(defaults.1);
    if conversations == 0 || participants == 0 {
        return Err("--conversations and --participants must be positive".into());
    }
    if !(args.start_rate > 0.0
        && args.step_factor > 1.0
        && args.step_secs > 0.0
        && args.light_secs > 0.0)
    {
        return Err(
            "--start-rate, --step-secs and --light-secs must be positive, --step-factor above 1"
                .into(),
        );
    }
    let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let name = move |c: usize, p: usize| format!("{run}-{c}-{p}");
    println!(
        "{scenario}: {conversations} conversations x {participants} participants, \
         {} B bodies",
        args.body_bytes
    );

    let setup = Instant::now();
    let sids = Rest::new(target)
        .conversations(conversations, |c| {
            (0..participants).map(|p| name(c, p)).collect()
        })
        .await?;
    let setup_s = setup.elapsed().as_secs_f64();
    println!("  set up over REST in {setup_s:.1} s");

    let connecting = Instant::now();
    let opened: Vec<Result<(usize, conn::Writer, conn::Reader), String>> =
        futures_util::stream::iter(
            (0..conversations).flat_map(|c| (0..participants).map(move |p| (c, p))),
        )
        .map(|(c, p)| {
            let token = target.token(&name(c, p));
            // Spread over the nodes: a conversation's participants on all of them.
            let ws = target.ws_for(p);
            async move { conn::open(&ws, &token).await.map(|(w, r)| (c, w, r)) }
        })
        .buffer_unordered(200)
        .collect()
        .await;
    let mut groups: Vec<(Vec<Writer>, Vec<conn::Reader>)> =
        (0..conversations).map(|_| (vec![], vec![])).collect();
    for o in opened {
        let (c, w, r) = o?;
        groups[c].0.push(w);
        groups[c].1.push(r);
    }
    let connect_s = connecting.elapsed().as_secs_f64();
    let server_rss_kib = target.rss_kib();
    println!(
        "  {} connections open in {connect_s:.1} s; server RSS {} MiB",
        conversations * participants,
        opt(server_rss_kib.map(|k| k as f64 / 1024.0), 1)
    );

    let epoch = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let mut seen = vec![];
    let mut tasks = vec![];
    let mut go = vec![];
    for (c, (writers, readers)) in groups.into_iter().enumerate() {
        let stats = Arc::new(Mutex::new(Tally::new()));
        seen.push(stats.clone());
        // At most 100 connections per reading task, so that a big room is not read by one
        // task on one core.
        let mut readers = readers;
        while !readers.is_empty() {
            let rest = readers.split_off(readers.len().min(100));
            tasks.push(tokio::spawn(receive(readers, stats.clone(), epoch)));
            readers = rest;
        }
        // Room for one send: a conversation whose sender is behind skips its turn.
        let (tx, rx) = mpsc::channel(1);
        go.push(tx);
        tasks.push(tokio::spawn(send(
            writers,
            sids[c].clone(),
            rx,
            sent.clone(),
            epoch,
            args.body_bytes,
        )));
    }
    let (rate_tx, rate_rx) = watch::channel(0.0f64);
    tasks.push(tokio::spawn(pace(go, rate_rx)));

    // Let the sign-ins' writes (a user each) settle, then take the server's idle CPU: the
    // marginal cost of a delivery is what it adds to that.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = CpuWindow::start(target);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server_idle_cores = idle.end(target).server_cores;
    println!(
        "  server idle with everyone connected: {} % of a core",
        opt(server_idle_cores.map(|c| c * 100.0), 1)
    );
    println!(
        "  {:>12} {:>10} {:>12} {:>8} {:>8} {:>8} {:>11} {:>11} {:>9} {:>9}",
        "target/s",
        "sent/s",
        "delivered/s",
        "p50 ms",
        "p99 ms",
        "p999 ms",
        "server us/d",
        "marginal",
        "server %",
        "gen %"
    );
    let mut steps = vec![];
    let mut rate = args.start_rate;
    let mut retried = false;
    // The highest rate that held, and whether the rate between it and the first that did not
    // hold was tried (once: a step of 1.5 leaves the knee anywhere in a wide interval).
    let mut held_at: Option<f64> = None;
    let mut refined = false;
    loop {
        // Messages per second in each conversation for `rate` deliveries per second.
        rate_tx.send_replace(rate / participants as f64);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = snapshot(&seen);
        let sent_before = sent.load(Ordering::Relaxed);
        let window = CpuWindow::start(target);
        let secs = if steps.is_empty() {
            args.light_secs
        } else {
            args.step_secs
        };
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let cpu = window.end(target);
        let after = snapshot(&seen);
        let sent_n = sent.load(Ordering::Relaxed) - sent_before;
        let delivered = after.delivered - before.delivered;
        let latency = Latency::of(&after.latency);
        let delivered_per_s = delivered as f64 / cpu.seconds;
        let refused = after.refused - before.refused;
        let closed = after.closed - before.closed;
        let held = latency.p99_ms <= args.p99_ms
            && delivered_per_s >= 0.9 * rate
            && refused == 0
            && closed == 0;
        let step = Step {
            target_deliveries_per_s: rate,
            sent_per_s: sent_n as f64 / cpu.seconds,
            delivered_per_s,
            latency,
            server_us_per_delivery: cpu.server_us_per(delivered),
            server_marginal_us_per_delivery: match (cpu.server_cpu_s, server_idle_cores) {
                (Some(used), Some(idle)) if delivered > 0 => {
                    Some((used - idle * cpu.seconds).max(0.0) * 1e6 / delivered as f64)
                }
                _ => None,
            },
            cpu,
            refused,
            closed,
            held,
        };
        println!(
            "  {:>12.0} {:>10.0} {:>12.0} {:>8.2} {:>8.2} {:>8.2} {:>11} {:>11} {:>9} {:>9.0}{}",
            step.target_deliveries_per_s,
            step.sent_per_s,
            step.delivered_per_s,
            latency.p50_ms,
            latency.p99_ms,
            latency.p999_ms,
            opt(step.server_us_per_delivery, 2),
            opt(step.server_marginal_us_per_delivery, 2),
            opt(cpu.server_cores.map(|c| c * 100.0), 0),
            cpu.generator_cores * 100.0,
            if held {
                String::new()
            } else {
                format!("  <- did not hold (refused {refused}, closed {closed})")
            }
        );
        // A step that kept up but missed the latency bound is measured once more: at a low
        // rate one slow message is a percent of the deliveries, and one moment is not a knee.
        let kept_up = delivered_per_s >= 0.9 * rate && refused == 0 && closed == 0;
        let again = !held && kept_up && !retried;
        steps.push(step);
        if again {
            retried = true;
            continue;
        }
        retried = false;
        if held {
            held_at = Some(rate);
        }
        if !held
            && !refined
            && let Some(below) = held_at
            && rate / below > 1.15
        {
            // Between the last rate that held and this one. Sends stop for a moment first,
            // so that this step's backlog does not count against the next.
            refined = true;
            rate = (rate * below).sqrt();
            rate_tx.send_replace(0.0);
            tokio::time::sleep(Duration::from_secs(3)).await;
            continue;
        }
        if !held || refined || rate >= args.max_rate {
            break;
        }
        rate = (rate * args.step_factor).min(args.max_rate);
    }
    rate_tx.send_replace(0.0);
    for t in tasks {
        t.abort();
    }
    let best = steps.iter().rfind(|s| s.held).cloned();
    Ok(Figures {
        scenario: scenario.into(),
        conversations,
        participants,
        body_bytes: args.body_bytes,
        setup_s,
        connect_s,
        server_rss_kib,
        server_idle_cores,
        steps,
        best,
    })
}

/// Totals over every conversation; the latency histograms start over, for the next step.
fn snapshot(seen: &[Arc<Mutex<Tally>>]) -> Tally {
    let mut t = Tally::new();
    for s in seen {
        let Ok(mut s) = s.lock() else { continue };
        t.delivered += s.delivered;
        t.refused += s.refused;
        t.closed += s.closed;
        let _ = t.latency.add(&s.latency);
        s.latency.reset();
    }
    t
}

/// Reads some of a conversation's participants' connections in one task; a connection that
/// ends (the server closed it) counts as closed.
async fn receive(readers: Vec<conn::Reader>, stats: Arc<Mutex<Tally>>, epoch: Instant) {
    let mut all: SelectAll<conn::Reader> = SelectAll::new();
    for r in readers {
        all.push(r);
    }
    let mut open = all.len();
    loop {
        let frame = all.next().await;
        // SelectAll drops a stream once it ends: the count says how many ended.
        let ended = open - all.len();
        open = all.len();
        let Ok(mut s) = stats.lock() else { return };
        s.closed += ended as u64;
        let Some(frame) = frame else { return };
        let Ok(Message::Text(text)) = frame else {
            continue;
        };
        match conn::classify(&text) {
            Seen::Message { sent_us } => {
                let now = epoch.elapsed().as_micros() as u64;
                let _ = s.latency.record(now.saturating_sub(sent_us).max(1));
                s.delivered += 1;
            }
            Seen::Answer { error: true, .. } => s.refused += 1,
            _ => {}
        }
    }
}

/// Hands out sends at `rate` messages a second over all conversations, in turn: one clock
/// for the whole run, so that a low rate still spreads evenly.
async fn pace(go: Vec<mpsc::Sender<()>>, mut rate: watch::Receiver<f64>) {
    let mut ticks: Option<tokio::time::Interval> = None;
    let mut next = 0usize;
    loop {
        tokio::select! {
            changed = rate.changed() => {
                if changed.is_err() {
                    return;
                }
                let per_s = *rate.borrow_and_update();
                ticks = (per_s > 0.0).then(|| {
                    let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / per_s));
                    // A late tick is sent at once, then the pace resumes: the rate holds.
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    t
                });
            }
            _ = async {
                match ticks.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {
                // A conversation whose sender is behind skips its turn rather than queueing.
                let _ = go[next % go.len()].try_send(());
                next += 1;
            }
        }
    }
}

/// Sends one conversation's messages when told, from each participant in turn, and pings
/// every connection every 10 s so that none counts as silent (a participant that sends
/// counts as heard anyway).
async fn send(
    mut writers: Vec<Writer>,
    conversation: String,
    mut go: mpsc::Receiver<()>,
    sent: Arc<AtomicU64>,
    epoch: Instant,
    body_bytes: usize,
) {
    // One connection at a time, each every 10 s: pinging all at once would stall the sends
    // (and load the server with a burst of pongs) for a moment every 10 s.
    let n = writers.len().max(1) as u32;
    let mut pings = tokio::time::interval(Duration::from_secs(10) / n);
    let (mut next, mut id, mut pinged) = (0usize, 0u64, 0usize);
    loop {
        tokio::select! {
            _ = pings.tick() => {
                let w = pinged % writers.len();
                pinged += 1;
                let _ = writers[w].send(conn::ping()).await;
            }
            told = go.recv() => {
                if told.is_none() {
                    return;
                }
                let now = epoch.elapsed().as_micros() as u64;
                let body = conn::stamped_body(now, body_bytes);
                id += 1;
                let frame = conn::send_message(id, &conversation, &body);
                let w = next % writers.len();
                next += 1;
                if writers[w].send(frame).await.is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Prints the summary line and writes the chart beside the JSON.
pub fn summarize(figures: &Figures, svg: Option<&std::path::Path>) -> Result<(), String> {
    match &figures.best {
        Some(b) => println!(
            "{}: {:.0} deliveries/s with p99 {:.2} ms (p50 {:.2}, p999 {:.2}); server CPU \
             {} us per delivery ({} marginal); light load (first step, {:.0}/s): p99 {:.2} ms",
            figures.scenario,
            b.delivered_per_s,
            b.latency.p99_ms,
            b.latency.p50_ms,
            b.latency.p999_ms,
            opt(b.server_us_per_delivery, 2),
            opt(b.server_marginal_us_per_delivery, 2),
            figures.steps[0].target_deliveries_per_s,
            figures.steps[0].latency.p99_ms,
        ),
        None => println!("{}: no step held", figures.scenario),
    }
    if let Some(path) = svg {
        let points: Vec<(f64, Latency)> = figures
            .steps
            .iter()
            .map(|s| (s.delivered_per_s, s.latency))
            .collect();
        let title = format!(
            "{}: {} x {} participants, {} B messages",
            figures.scenario, figures.conversations, figures.participants, figures.body_bytes
        );
        std::fs::write(path, report::latency_chart(&title, &points))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("chart written to {}", path.display());
    }
    Ok(())
}
