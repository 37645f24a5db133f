//! Durable messages created per second through the domain service, on the SQLite store with
//! `synchronous=FULL` (each acknowledged message is on disk), with 1, 16 and 256 concurrent
//! writers. Prints a table; asserts nothing about speed.
//!
//! `cargo bench -p confab-domain --bench messages` (add `-- --quick` for a short run,
//! `-- --normal` to also measure `synchronous=NORMAL`, `-- --postgres URL` to also measure
//! PostgreSQL, each run in a fresh schema).

use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_domain::{Actor, ConversationInput, CreateMessage, Domain, SystemClock};
use confab_protocol::limits::Limits;
use confab_store::Store;
use confab_store_postgres::{PgOptions, PgStore};
use confab_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};

const CONVERSATIONS: usize = 16;

struct Run {
    writers: usize,
    messages: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Synchronous),
    Postgres(String),
}

async fn run(backend: Backend, writers: usize, duration: Duration) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = match &backend {
        Backend::Sqlite(sync) => {
            let mut opts = SqliteOptions::new(dir.path().join("bench.db"));
            opts.synchronous = *sync;
            Arc::new(SqliteStore::open(&opts).expect("open"))
        }
        Backend::Postgres(url) => {
            let mut opts = PgOptions::new(url.clone());
            opts.schema = Some(format!("confab_bench_{}_{writers}", std::process::id()));
            opts.max_connections = 64;
            Arc::new(PgStore::connect(&opts).await.expect("connect"))
        }
    };
    let cleanup = store.clone();
    let domain = Domain::start(store, Limits::default(), Arc::new(SystemClock))
        .await
        .expect("domain");
    let actor = Actor::Backend {
        credential: "bench".into(),
    };
    let mut convs = vec![];
    for _ in 0..CONVERSATIONS {
        let c = domain
            .create_conversation(&actor, None, ConversationInput::default())
            .await
            .expect("conversation");
        convs.push(c.value.sid.to_string());
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = vec![];
    for w in 0..writers {
        let (domain, actor, conv) = (
            domain.clone(),
            actor.clone(),
            convs[w % CONVERSATIONS].clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = vec![];
            let body = "x".repeat(100);
            while Instant::now() < deadline {
                let t = Instant::now();
                let input = CreateMessage {
                    author: Some(format!("w{w}")),
                    body: Some(body.clone()),
                    ..Default::default()
                };
                domain
                    .add_message(&actor, None, &conv, input)
                    .await
                    .expect("message");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = vec![];
    for t in tasks {
        latencies.extend(t.await.expect("writer"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    if let Backend::Postgres(url) = &backend {
        cleanup.close().await;
        if let Ok(pool) = sqlx::PgPool::connect(url).await {
            let schema = format!("confab_bench_{}_{writers}", std::process::id());
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&pool)
                .await;
        }
    }
    Run {
        writers,
        messages: latencies.len(),
        elapsed,
        latencies,
    }
}

fn pct(l: &[Duration], p: f64) -> f64 {
    if l.is_empty() {
        return 0.0;
    }
    let i = ((l.len() as f64 - 1.0) * p).round() as usize;
    l[i].as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let with_normal = args.iter().any(|a| a == "--normal");
    let duration = Duration::from_secs(if quick { 1 } else { 5 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut modes = vec![("SQLite FULL", Backend::Sqlite(Synchronous::Full))];
    if with_normal {
        modes.push(("SQLite NORMAL", Backend::Sqlite(Synchronous::Normal)));
    }
    if let Some(i) = args.iter().position(|a| a == "--postgres") {
        let url = args.get(i + 1).expect("--postgres URL").clone();
        modes.push(("PostgreSQL", Backend::Postgres(url)));
    }
    println!(
        "durable messages through the domain service ({CONVERSATIONS} conversations, 100 B bodies, {}s per row)",
        duration.as_secs()
    );
    println!(
        "{:<14} {:>8} {:>10} {:>12} {:>9} {:>9} {:>9}",
        "store", "writers", "messages", "messages/s", "p50 ms", "p99 ms", "max ms"
    );
    for (name, backend) in modes {
        for writers in [1, 16, 256] {
            let r = rt.block_on(run(backend.clone(), writers, duration));
            println!(
                "{:<14} {:>8} {:>10} {:>12.0} {:>9.2} {:>9.2} {:>9.2}",
                name,
                r.writers,
                r.messages,
                r.messages as f64 / r.elapsed.as_secs_f64(),
                pct(&r.latencies, 0.5),
                pct(&r.latencies, 0.99),
                pct(&r.latencies, 1.0)
            );
        }
    }
}
