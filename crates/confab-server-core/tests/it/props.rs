//! The pair under any sequence of what a network and other users do: messages, alice leaving
//! and joining, cuts, half-open links, lost publishes, pruned logs, queues too small, and time
//! passing. Whatever happened, once the link is sound again the app has every event of its
//! streams once and in order.

use proptest::prelude::*;

use crate::world::{ALICE, HOUR, Link, World};

#[derive(Debug, Clone)]
enum Op {
    Message(u8),
    Join(u8),
    Leave(u8),
    Cut,
    Silent,
    LosePublish,
    Prune(u8, i64),
    SmallQueue,
    ChatterWhileReplaying(u8),
    Run(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..=3u8).prop_map(Op::Message),
        1 => (1..=3u8).prop_map(Op::Join),
        1 => (1..=3u8).prop_map(Op::Leave),
        1 => Just(Op::Cut),
        1 => Just(Op::Silent),
        1 => Just(Op::LosePublish),
        1 => ((1..=3u8), (0..20i64)).prop_map(|(n, s)| Op::Prune(n, s)),
        1 => Just(Op::SmallQueue),
        1 => (1..=3u8).prop_map(Op::ChatterWhileReplaying),
        3 => (0..60_000u64).prop_map(Op::Run),
    ]
}

fn apply(w: &mut World, op: Op) {
    match op {
        Op::Message(n) => w.message(n),
        Op::Join(n) if !w.member(n, ALICE) => w.join(n, ALICE),
        Op::Leave(n) if w.member(n, ALICE) => w.leave(n, ALICE),
        Op::Join(_) | Op::Leave(_) => {}
        Op::Cut => w.cut(),
        Op::Silent => w.link = Link::Silent,
        Op::LosePublish => w.lose_publishes += 1,
        Op::Prune(n, behind) => {
            let head = w.head(&crate::world::conversation(n));
            w.prune(n, head - behind);
        }
        Op::SmallQueue => w.queue_capacity = 2,
        Op::ChatterWhileReplaying(n) => w.chatter_on_read = Some((n, 2, 3)),
        Op::Run(ms) => w.run(ms),
    }
    w.settle();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn whatever_happens_every_event_arrives_once_in_order(ops in prop::collection::vec(op(), 1..40)) {
        let mut w = World::new(24 * HOUR);
        w.quiet_and_connected();
        for n in 1..=3 {
            w.create(n);
        }
        w.settle();
        // Only a bus between nodes loses publishes, and only there does the server check
        // the log for them: without lost publishes nothing else may fill a gap.
        let over_a_bus = ops.iter().any(|o| matches!(o, Op::LosePublish));
        for op in ops {
            apply(&mut w, op);
        }
        // The network heals: the client is told if its link was half open, or finds out.
        w.lose_publishes = 0;
        w.chatter_on_read = None;
        w.queue_capacity = 64;
        if w.link == Link::Silent {
            w.run(60_000);
        }
        w.link = Link::Up;
        w.run(120_000);
        if over_a_bus {
            w.reconcile();
            w.run(1_000);
        }
        prop_assert_eq!(
            w.client.connection_state(),
            confab_client_core::ConnectionState::Connected
        );
        w.check_complete();
    }
}
