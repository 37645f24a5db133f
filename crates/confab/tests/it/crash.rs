//! Crash safety with SDK clients: the real `confab serve` under write and read load from
//! several SDK clients is killed with SIGKILL at random moments and restarted on the same
//! port, again and again. At the end every message a client saw acknowledged exists exactly
//! once at its index, indexes are gapless, no message is stored twice (resends after a crash
//! carry their `op_id`), and every client saw exactly the server's record, in order.
//!
//! The same runs with SIGTERM instead: the server must exit cleanly within a bound each time,
//! and the clients resume on the restarted server.
//!
//! `CONFAB_CRASH_CYCLES` (default 20) sets the number of kills, `CONFAB_TERM_CYCLES` (default
//! 5) of SIGTERMs, `CONFAB_CRASH_SEED` the random
//! seed (printed, to replay a failure); `docs/RELIABILITY.md` gives a long run's figures.

use std::time::Duration;

use confab_testkit::load::{ChatLoad, env_or};
use confab_testkit::test_token;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::process::ServeProcess;

const CLIENTS: usize = 6;
const CONVERSATIONS: usize = 2;

/// How the server is stopped in each cycle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    /// SIGKILL: nothing is finished.
    Kill,
    /// SIGTERM: it must answer what it took, tell sessions `shutting_down`, and exit cleanly
    /// within a bound.
    Term,
}

/// How long a SIGTERM'd server may take to exit (its shutdown grace is 10 s).
const TERM_BOUND: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sdk_clients_lose_nothing_and_see_everything_once_across_sigkill_cycles() {
    crash_cycles(None, Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sdk_clients_resume_on_the_restarted_server_across_sigterm_cycles() {
    crash_cycles(None, Stop::Term).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sdk_clients_lose_nothing_and_see_everything_once_across_sigkill_cycles_on_postgres() {
    let Some(db) = confab_testkit::TestDatabase::required_or_skip() else {
        return;
    };
    crash_cycles(Some(&db.url()), Stop::Kill).await;
}

async fn crash_cycles(database: Option<&str>, stop: Stop) {
    let cycles: usize = match stop {
        Stop::Kill => env_or("CONFAB_CRASH_CYCLES", 20),
        Stop::Term => env_or("CONFAB_TERM_CYCLES", 5),
    };
    let seed: u64 = env_or("CONFAB_CRASH_SEED", rand::random());
    let store = match (database.is_some(), stop) {
        (true, _) => "PostgreSQL",
        (false, Stop::Kill) => "SQLite",
        (false, Stop::Term) => "SQLite, SIGTERM",
    };
    eprintln!("crash harness ({store}): {cycles} cycles, CONFAB_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start_on(dir.path(), database).await;
    let listen = server.url.trim_start_matches("http://").to_owned();
    let mut load = ChatLoad::start(
        &server.api(),
        &format!("ws://{listen}"),
        test_token,
        CLIENTS,
        CONVERSATIONS,
        |_| {},
    )
    .await;

    // Kill at random moments under load (every client connected, then a random number of
    // acknowledgements more), restart on the same port.
    let mut server = Some(server);
    for cycle in 0..cycles {
        let what = format!("cycle {cycle}");
        load.all_connected(&what).await;
        load.more_acks(rng.random_range(1..=60), &what).await;
        let running = server.take().unwrap();
        match stop {
            Stop::Kill => running.kill().await,
            Stop::Term => {
                let status = running.terminate(TERM_BOUND).await;
                assert!(
                    status.success(),
                    "{what}: clean exit after SIGTERM: {status:?}"
                );
            }
        }
        server = Some(ServeProcess::start_at(dir.path(), database, &listen).await);
    }
    let server = server.unwrap();
    let f = load.finish(&server.api()).await;
    eprintln!(
        "crash harness ({store}): {cycles} {stop:?} cycles survived; {} acknowledged, {} stored, \
         {} sends failed (not acknowledged); {CLIENTS} clients each saw all {}: \
         0 lost, 0 duplicated, 0 out of order",
        f.acknowledged, f.stored, f.failed, f.stored
    );
    server.kill().await;
}
