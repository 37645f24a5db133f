//! `init`: the time from `Client::new` to `initialized` for a user in many conversations,
//! with the Rust SDK, as an app sees it; and to the last of its conversations heard of
//! (`ConversationAdded`: the first page comes before `initialized`, the rest after it, a page
//! at a time).

use std::time::{Duration, Instant};

use confab_client::{Client, ClientEvent, ClientOptions, ClientState, LogLevel};
use serde::Serialize;

use crate::report::{self, Latency};
use crate::rest::Rest;
use crate::target::Target;

/// Settings of an init run.
#[derive(clap::Args, Debug, Clone)]
pub struct InitArgs {
    /// Conversations the user is in.
    #[arg(long, default_value_t = 1_000)]
    pub conversations: usize,
    /// Clients started one after another (each stopped before the next).
    #[arg(long, default_value_t = 50)]
    pub rounds: usize,
}

/// An init run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Conversations the user is in.
    pub conversations: usize,
    /// Clients started.
    pub rounds: usize,
    /// `Client::new` to `initialized`.
    pub latency: Latency,
    /// `Client::new` to the last conversation's `ConversationAdded`.
    pub all_added: Latency,
}

/// Runs the scenario.
pub async fn run(target: &Target, args: &InitArgs) -> Result<Figures, String> {
    let identity = format!("init-{:06x}", rand::random::<u32>() & 0xff_ffff);
    println!(
        "init: a user in {} conversations, {} clients one after another",
        args.conversations, args.rounds
    );
    Rest::new(target)
        .conversations(args.conversations, |_| vec![identity.clone()])
        .await?;
    let token = target.token(&identity);
    let mut h = report::histogram();
    let mut all = report::histogram();
    for _ in 0..args.rounds {
        let mut options = ClientOptions::new(target.ws.clone());
        options.log_level = LogLevel::Silent;
        let started = Instant::now();
        let (client, mut events) = Client::new(token.clone(), options);
        let mut state = client.watch_client_state();
        let reached =
            tokio::time::timeout(Duration::from_secs(60), state.wait_for(|s| s.is_some()))
                .await
                .map_err(|_| "the client did not initialize within 60 s")?
                .map_err(|_| "the client stopped")?
                .to_owned();
        let took = started.elapsed();
        if reached != Some(ClientState::Initialized) {
            return Err(format!("the client ended {reached:?}"));
        }
        let _ = h.record(took.as_micros().max(1) as u64);
        // Each client hears of every conversation before it stops, so that no round starts
        // while the one before still walks the list on the server.
        let mut added = 0;
        while added < args.conversations {
            match tokio::time::timeout(Duration::from_secs(60), events.next()).await {
                Ok(Some(ClientEvent::ConversationAdded(_))) => added += 1,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    return Err(format!(
                        "the client heard of {added} of {} conversations",
                        args.conversations
                    ));
                }
            }
        }
        let _ = all.record(started.elapsed().as_micros().max(1) as u64);
        client.shutdown().await;
    }
    let figures = Figures {
        conversations: args.conversations,
        rounds: args.rounds,
        latency: Latency::of(&h),
        all_added: Latency::of(&all),
    };
    println!(
        "init: {} conversations: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} clients",
        figures.conversations,
        figures.latency.p50_ms,
        figures.latency.p99_ms,
        figures.latency.max_ms,
        figures.rounds
    );
    println!(
        "init: every conversation added: p50 {:.1} ms, p99 {:.1} ms",
        figures.all_added.p50_ms, figures.all_added.p99_ms
    );
    Ok(figures)
}
