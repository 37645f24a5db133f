//! `storm`: N connected SDK clients, cut all at once through the fault proxy while messages
//! are sent; the time until every client has resumed and has every message, with lost and
//! duplicated messages counted (both must be 0).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_client::{Client, ClientEvent, ClientOptions, ClientState, ConnectionState, LogLevel};
use confab_faultproxy::FaultProxy;
use serde::Serialize;
use tokio::sync::watch;

use crate::rest::Rest;
use crate::target::Target;

/// Settings of a storm run.
#[derive(clap::Args, Debug, Clone)]
pub struct StormArgs {
    /// Clients (this process also holds two proxy sockets for each: keep three times this
    /// under the open-file limit).
    #[arg(long, default_value_t = 5_000)]
    pub clients: usize,
    /// Clients per conversation.
    #[arg(long, default_value_t = 100)]
    pub per_conversation: usize,
    /// Messages sent to each conversation right after the cut.
    #[arg(long, default_value_t = 2)]
    pub messages: usize,
}

/// A storm run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Clients cut.
    pub clients: usize,
    /// Seconds from the cut until the last client was connected again.
    pub all_resumed_s: f64,
    /// Seconds from the cut until the last client had every message sent after it.
    pub all_delivered_s: f64,
    /// Messages every client should have had, in all.
    pub expected: u64,
    /// Expected messages no client got.
    pub lost: u64,
    /// Messages a client got more than once.
    pub duplicated: u64,
}

/// What one client saw.
#[derive(Default)]
struct View {
    /// Message indexes received, with how many times each.
    indexes: BTreeMap<i64, u32>,
    /// When it was last connected again after the cut.
    resumed: Option<Instant>,
}

/// Runs the scenario.
pub async fn run(target: &Target, args: &StormArgs) -> Result<Figures, String> {
    let per = args.per_conversation.max(1);
    let conversations = args.clients.div_ceil(per);
    let run = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let name = |n: usize| format!("s-{run}-{n}");
    println!(
        "storm: {} SDK clients in {conversations} conversations through the fault proxy",
        args.clients
    );
    let rest = Rest::new(target);
    let sids = rest
        .conversations(conversations, |c| {
            (c * per..((c + 1) * per).min(args.clients))
                .map(name)
                .collect()
        })
        .await?;
    let upstream: SocketAddr = target
        .ws
        .trim_start_matches("ws://")
        .parse()
        .map_err(|e| format!("server address: {e}"))?;
    let proxy = FaultProxy::start(upstream)
        .await
        .map_err(|e| format!("fault proxy: {e}"))?;
    let (cut_tx, cut) = watch::channel(None::<Instant>);
    let mut clients = vec![];
    let mut views = vec![];
    let started = Instant::now();
    for n in 0..args.clients {
        let mut options = ClientOptions::new(format!("ws://{}", proxy.local_addr()));
        options.log_level = LogLevel::Silent;
        options.reconnection_window = None;
        let (client, mut events) = Client::new(target.token(&name(n)), options);
        let view = Arc::new(Mutex::new(View::default()));
        let (v, cut) = (view.clone(), cut.clone());
        tokio::spawn(async move {
            while let Some(e) = events.next().await {
                let Ok(mut v) = v.lock() else { return };
                match e {
                    ClientEvent::MessageAdded(m) => *v.indexes.entry(m.index()).or_default() += 1,
                    ClientEvent::ConnectionStateChanged(ConnectionState::Connected)
                        if cut.borrow().is_some() =>
                    {
                        v.resumed = Some(Instant::now());
                    }
                    _ => {}
                }
            }
        });
        clients.push(client);
        views.push(view);
    }
    for c in &clients {
        let mut state = c.watch_client_state();
        tokio::time::timeout(Duration::from_secs(120), state.wait_for(|s| s.is_some()))
            .await
            .map_err(|_| "clients did not initialize within 120 s")?
            .map_err(|_| "a client stopped")?;
        if c.client_state() != Some(ClientState::Initialized) {
            return Err("a client failed to initialize".into());
        }
    }
    proxy.wait_open_connections(args.clients).await;
    println!(
        "  {} clients initialized in {:.1} s",
        args.clients,
        started.elapsed().as_secs_f64()
    );

    let t0 = Instant::now();
    cut_tx.send_replace(Some(t0));
    proxy.cut_all();
    // Sent by the backend while every client is away: each must arrive through resume.
    for sid in &sids {
        for i in 0..args.messages {
            rest.post(
                &format!("/v1/Conversations/{sid}/Messages"),
                &[("Author", "backend"), ("Body", &format!("storm {i}"))],
            )
            .await?;
        }
    }
    // Every client resumed and holding every message.
    let deadline = t0 + Duration::from_secs(120);
    let mut all_resumed = None;
    let all_delivered = loop {
        let mut resumed_at = Some(t0);
        let mut complete = true;
        for v in &views {
            let Ok(v) = v.lock() else { continue };
            match (v.resumed, resumed_at) {
                (Some(r), Some(max)) => resumed_at = Some(max.max(r)),
                _ => resumed_at = None,
            }
            if v.indexes.len() < args.messages {
                complete = false;
            }
        }
        if all_resumed.is_none() {
            all_resumed = resumed_at.filter(|_| {
                clients
                    .iter()
                    .all(|c| c.connection_state() == ConnectionState::Connected)
            });
        }
        if complete && all_resumed.is_some() {
            break Instant::now();
        }
        if Instant::now() > deadline {
            break Instant::now();
        }
        // A bench polls for the figure; tests wait on events instead.
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let (mut got, mut dup) = (0u64, 0u64);
    for v in &views {
        if let Ok(v) = v.lock() {
            got += v.indexes.len() as u64;
            dup += v
                .indexes
                .values()
                .map(|&n| u64::from(n.saturating_sub(1)))
                .sum::<u64>();
        }
    }
    let expected = (args.clients * args.messages) as u64;
    let figures = Figures {
        clients: args.clients,
        all_resumed_s: all_resumed.map_or(f64::NAN, |r| (r - t0).as_secs_f64()),
        all_delivered_s: (all_delivered - t0).as_secs_f64(),
        expected,
        lost: expected.saturating_sub(got),
        duplicated: dup,
    };
    println!(
        "storm: {} clients cut at once: all resumed in {:.2} s, all messages in {:.2} s; \
         {} lost, {} duplicated of {}",
        figures.clients,
        figures.all_resumed_s,
        figures.all_delivered_s,
        figures.lost,
        figures.duplicated,
        figures.expected
    );
    for c in &clients {
        c.shutdown().await;
    }
    if figures.lost > 0 || figures.duplicated > 0 || all_resumed.is_none() {
        return Err(format!("storm: {figures:?}"));
    }
    Ok(figures)
}
