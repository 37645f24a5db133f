//! Crash safety with SDK clients: the real `confab serve` under write and read load from
//! several SDK clients is killed with SIGKILL at random moments and restarted on the same
//! port, again and again. At the end every message a client saw acknowledged exists exactly
//! once at its index, indexes are gapless, no message is stored twice (resends after a crash
//! carry their `op_id`), and every client saw exactly the server's record, in order.
//!
//! `CONFAB_CRASH_CYCLES` (default 20) sets the number of kills, `CONFAB_CRASH_SEED` the random
//! seed (printed, to replay a failure); `docs/RELIABILITY.md` gives a long run's figures.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientOptions, ClientState, ConnectionState, LogLevel};
use confab_testkit::{Api, test_credentials};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use crate::process::ServeProcess;

const CLIENTS: usize = 6;
const CONVERSATIONS: usize = 2;
/// How long any wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(60);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn token(identity: &str) -> String {
    let c = test_credentials();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    confab_token::mint(
        &confab_token::ApiKey {
            sid: c.api_key_sid,
            secret: c.api_key_secret,
        },
        &confab_token::TokenSpec {
            account_sid: &c.account_sid,
            identity,
            service_sid: None,
            now,
            ttl_secs: 3600,
        },
    )
}

/// What one client saw: per conversation, the `(index, body)` of each `MessageAdded`, in the
/// order they came.
type View = Arc<Mutex<HashMap<String, Vec<(i64, String)>>>>;

/// Messages acknowledged to the writers: body -> (conversation, index).
type Acked = Arc<Mutex<HashMap<String, (String, i64)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sdk_clients_lose_nothing_and_see_everything_once_across_sigkill_cycles() {
    crash_cycles(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sdk_clients_lose_nothing_and_see_everything_once_across_sigkill_cycles_on_postgres() {
    let Some(db) = crate::process::postgres() else {
        return;
    };
    crash_cycles(Some(&db.url())).await;
}

async fn crash_cycles(database: Option<&str>) {
    let cycles: usize = env_or("CONFAB_CRASH_CYCLES", 20);
    let seed: u64 = env_or("CONFAB_CRASH_SEED", rand::random());
    let store = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!("crash harness ({store}): {cycles} cycles, CONFAB_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start_on(dir.path(), database).await;
    let listen = server.url.trim_start_matches("http://").to_owned();
    let ws = format!("ws://{listen}");
    let api = server.api();
    let mut conversations = vec![];
    for _ in 0..CONVERSATIONS {
        let conv = api.post("/v1/Conversations", &[]).await.expect(201);
        let sid = conv["sid"].as_str().unwrap().to_owned();
        for u in 0..CLIENTS {
            api.post(
                &format!("/v1/Conversations/{sid}/Participants"),
                &[("Identity", &format!("u{u}"))],
            )
            .await
            .expect(201);
        }
        conversations.push(sid);
    }

    // The clients: each reads everything, and writes until told to stop.
    let acked: Acked = Arc::default();
    let (acks_tx, acks) = watch::channel(0usize);
    let acks_tx = Arc::new(acks_tx);
    let (stop_tx, stop) = watch::channel(false);
    let mut clients = vec![];
    let mut views = vec![];
    let mut writers = vec![];
    for u in 0..CLIENTS {
        let mut options = ClientOptions::new(&ws);
        options.log_level = LogLevel::Silent;
        options.reconnection_window = None;
        options.request_timeout = Duration::from_secs(120);
        let (client, mut events) = Client::new(token(&format!("u{u}")), options);
        let view: View = Arc::default();
        let (ready_tx, mut ready) = watch::channel(false);
        // Bumped with each message seen, to wait on.
        let (seen_tx, seen_rx) = watch::channel(0u64);
        {
            let view = view.clone();
            tokio::spawn(async move {
                while let Some(e) = events.next().await {
                    match e {
                        ClientEvent::StateChanged(ClientState::Initialized) => {
                            ready_tx.send_replace(true);
                        }
                        ClientEvent::MessageAdded(m) => {
                            view.lock()
                                .unwrap()
                                .entry(m.conversation_sid.to_string())
                                .or_default()
                                .push((m.index, m.body.unwrap_or_default()));
                            seen_tx.send_modify(|n| *n += 1);
                        }
                        _ => {}
                    }
                }
            });
        }
        tokio::time::timeout(WAIT, ready.wait_for(|r| *r))
            .await
            .expect("initialized")
            .unwrap();
        clients.push(client);
        views.push((view, seen_rx));
    }

    // Writing starts once every client is in: a client's first connection starts at the
    // head (history before it is for `message.list`), so all must be there from message 0.
    for (u, client) in clients.iter().enumerate() {
        let (client2, conversations, acked, acks_tx, mut stop) = (
            client.clone(),
            conversations.clone(),
            acked.clone(),
            acks_tx.clone(),
            stop.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut failed = 0u64;
            for n in 0.. {
                if *stop.borrow_and_update() {
                    return failed;
                }
                let conv = &conversations[n % conversations.len()];
                let body = format!("u{u}-{n}");
                // Sent while the server is down, it waits for the connection; a resend after
                // a crash carries the same op_id, so the message is never stored twice.
                match client2.send_message(conv, &body).await {
                    Ok(m) => {
                        acked.lock().unwrap().insert(body, (conv.clone(), m.index));
                        acks_tx.send_modify(|n| *n += 1);
                    }
                    Err(_) => failed += 1,
                }
            }
            failed
        }));
    }

    // Kill at random moments under load, restart on the same port.
    let mut server = Some(server);
    let mut acks = acks;
    for cycle in 0..cycles {
        // Under load: every client connected, then a random number of acknowledgements more.
        for c in &clients {
            let mut state = c.watch_connection_state();
            tokio::time::timeout(WAIT, state.wait_for(|s| *s == ConnectionState::Connected))
                .await
                .unwrap_or_else(|_| panic!("cycle {cycle}: a client did not reconnect"))
                .unwrap();
        }
        let target = *acks.borrow() + rng.random_range(1..=60);
        tokio::time::timeout(WAIT, acks.wait_for(|n| *n >= target))
            .await
            .unwrap_or_else(|_| panic!("cycle {cycle}: no progress"))
            .unwrap();
        server.take().unwrap().kill().await;
        server = Some(ServeProcess::start_at(dir.path(), database, &listen).await);
    }
    stop_tx.send_replace(true);
    let mut failed = 0;
    for w in writers {
        failed += tokio::time::timeout(WAIT, w)
            .await
            .expect("writers stop")
            .unwrap();
    }

    // The server's record, and the checks.
    let server = server.unwrap();
    let api: Api = server.api();
    let acked = acked.lock().unwrap().clone();
    let mut stored = 0;
    let mut bodies: HashMap<String, (String, i64)> = HashMap::new();
    let mut records: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for conv in &conversations {
        let (items, _) = api
            .collect_pages(
                &format!("/v1/Conversations/{conv}/Messages?PageSize=100"),
                "messages",
            )
            .await;
        let mut record = vec![];
        for (position, m) in items.iter().enumerate() {
            let index = m["index"].as_i64().unwrap();
            assert_eq!(index, position as i64, "{conv}: indexes are gapless from 0");
            let body = m["body"].as_str().unwrap().to_owned();
            assert!(
                bodies.insert(body.clone(), (conv.clone(), index)).is_none(),
                "{body} stored twice"
            );
            record.push((index, body));
        }
        stored += record.len();
        records.insert(conv.clone(), record);
    }
    for (body, at) in &acked {
        assert_eq!(
            bodies.get(body),
            Some(at),
            "acknowledged {body} lost or moved"
        );
    }
    // Every client sees the whole record, each message once, in order.
    for (u, (view, seen)) in views.iter_mut().enumerate() {
        for (conv, record) in &records {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let got = view.lock().unwrap().get(conv).cloned().unwrap_or_default();
                if got.len() >= record.len() {
                    assert_eq!(&got, record, "u{u}'s view of {conv}");
                    break;
                }
                let more = tokio::time::timeout_at(deadline, seen.changed()).await;
                assert!(
                    matches!(more, Ok(Ok(()))),
                    "u{u} ({:?}) saw {} of {} messages of {conv}; missing {:?}",
                    clients[u].connection_state(),
                    got.len(),
                    record.len(),
                    record
                        .iter()
                        .filter(|r| !got.contains(r))
                        .collect::<Vec<_>>()
                );
            }
        }
    }
    eprintln!(
        "crash harness ({store}): {cycles} SIGKILL cycles survived; {} acknowledged, {stored} stored, \
         {failed} sends failed (not acknowledged); {CLIENTS} clients each saw all {stored}: \
         0 lost, 0 duplicated, 0 out of order",
        acked.len()
    );
    for c in &clients {
        c.shutdown().await;
    }
    server.kill().await;
}
