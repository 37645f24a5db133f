//! Network faults at random: eight SDK clients send and receive in two conversations through
//! the fault proxy while it cuts every link, stalls them (past the heartbeat deadline or not),
//! delays them, or refuses new connections for a while. At the end every acknowledged message
//! is stored once, indexes are gapless, and every client saw exactly the server's record, in
//! order.
//!
//! `CONFAB_FAULTS` (default 30) sets the number of faults, `CONFAB_FAULT_SEED` the random seed
//! (printed, to replay a failure); `docs/RELIABILITY.md` gives a long run's figures.

use std::collections::BTreeMap;
use std::time::Duration;

use confab_testkit::load::{ChatLoad, env_or, resident_kib};
use confab_testkit::{FaultProxy, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CLIENTS: usize = 8;
const CONVERSATIONS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_clients_see_the_servers_record_through_random_network_faults() {
    let faults: usize = env_or("CONFAB_FAULTS", 30);
    let seed: u64 = env_or("CONFAB_FAULT_SEED", rand::random());
    eprintln!("fault soak: {faults} faults, CONFAB_FAULT_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    // A short heartbeat, so that a stall of a second or two is a dead link.
    let server = TestServer::start_with(|c| {
        c.realtime.heartbeat = Duration::from_millis(500);
        c.realtime.heartbeat_grace = Duration::from_millis(500);
    })
    .await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let mut load = ChatLoad::start(
        &server.api(),
        &format!("ws://{}", proxy.local_addr()),
        // Long modes run for hours: tokens that outlive them.
        |identity| server.token_with(identity, None, 23 * 3600),
        CLIENTS,
        CONVERSATIONS,
        |_| {},
    )
    .await;

    let mut injected: BTreeMap<&str, usize> = BTreeMap::new();
    // Memory of this process (server, proxy and clients together), after the first tenth of
    // the faults and at the end: a soak shows whether it stays flat.
    let mut rss = vec![];
    for i in 0..faults {
        if i == faults / 10 {
            rss.push(resident_kib());
        }
        let what = format!("fault {i}");
        // Some traffic first, then the fault. A fault's length is the fault itself: the
        // pauses below are how long the network stays bad, not waits for something.
        load.more_acks(rng.random_range(1..=40), &what).await;
        let kind = match rng.random_range(0..4) {
            0 => {
                proxy.cut_all();
                "cut"
            }
            1 => {
                proxy.stall();
                tokio::time::sleep(Duration::from_millis(rng.random_range(100..3000))).await;
                proxy.resume();
                "stall"
            }
            2 => {
                proxy.set_delay(Duration::from_millis(rng.random_range(1..80)));
                load.more_acks(rng.random_range(1..=40), &what).await;
                proxy.set_delay(Duration::ZERO);
                "delay"
            }
            _ => {
                proxy.refuse_new(true);
                proxy.cut_all();
                tokio::time::sleep(Duration::from_millis(rng.random_range(100..1500))).await;
                proxy.refuse_new(false);
                "refuse"
            }
        };
        *injected.entry(kind).or_default() += 1;
    }
    rss.push(resident_kib());
    let f = load.finish(&server.api()).await;
    eprintln!(
        "fault soak: {faults} faults injected {injected:?}; {} acknowledged, {} stored, {} \
         sends failed (not acknowledged); {CLIENTS} clients each saw all {}: 0 lost, \
         0 duplicated, 0 out of order; resident memory {rss:?} KiB (after a tenth, at the end)",
        f.acknowledged, f.stored, f.failed, f.stored
    );
}
