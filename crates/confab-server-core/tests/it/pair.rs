//! The server session and the client core against each other on a simulated clock, through
//! cuts, lost publishes, memberships, pruned logs, token expiry, silent links and overflow.

use confab_client_core::{ConnectionState as C, Output};
use confab_protocol::frame::CloseReason;
use confab_server_core::Ending;

use crate::world::{ALICE, HOUR, World, conversation};

fn connected(ttl: u64) -> World {
    let mut w = World::new(ttl);
    w.quiet_and_connected();
    w
}

#[test]
fn live_events_arrive_once_in_order() {
    let mut w = connected(HOUR);
    w.create(1);
    for _ in 0..5 {
        w.message(1);
    }
    w.settle();
    w.check_complete();
    let got = &w.got[conversation(1).as_str()];
    assert_eq!(got.len(), 5, "{got:?}");
}

#[test]
fn what_came_during_a_cut_is_replayed_after_it_once() {
    let mut w = connected(HOUR);
    w.create(1);
    w.create(2);
    w.message(1);
    w.settle();
    w.cut();
    for _ in 0..300 {
        w.message(1);
    }
    w.message(2);
    w.join(3, "bob");
    w.join(3, ALICE);
    w.message(3);
    w.quiet_and_connected();
    assert_eq!(w.connects, 2);
    w.check_complete();
    // The message before the cut and the 300 during it (the page size is 256: the replay
    // took two pages).
    assert_eq!(w.got[conversation(1).as_str()].len(), 301);
}

#[test]
fn a_lost_publish_is_read_from_the_log_at_the_next_event() {
    let mut w = connected(HOUR);
    w.create(1);
    w.settle();
    w.lose_publishes = 2;
    w.message(1);
    w.message(1);
    w.message(1);
    w.settle();
    w.check_complete();
}

#[test]
fn leaving_ends_a_conversations_events_at_the_leave_and_rejoining_starts_them_again() {
    let mut w = connected(HOUR);
    w.create(1);
    w.message(1);
    w.leave(1, ALICE);
    w.message(1);
    w.message(1);
    w.join(1, ALICE);
    w.message(1);
    w.settle();
    let got: Vec<i64> = w.got[conversation(1).as_str()]
        .iter()
        .map(|g| g.0)
        .collect();
    // 1-2 bob and alice joined (before the client followed it), 3 message, 4 leave, 5-6 while
    // away, 7 the rejoin, 8 message.
    assert_eq!(got, [3, 4, 8]);
    // And the same while cut off.
    w.cut();
    w.leave(1, ALICE);
    w.message(1);
    w.join(1, ALICE);
    w.message(1);
    w.quiet_and_connected();
    let got: Vec<i64> = w.got[conversation(1).as_str()]
        .iter()
        .map(|g| g.0)
        .collect();
    assert_eq!(got, [3, 4, 8, 9, 12]);
    w.check_complete();
}

#[test]
fn a_cursor_older_than_the_log_gets_a_reset_then_what_follows() {
    let mut w = connected(HOUR);
    w.create(1);
    w.settle();
    w.cut();
    for _ in 0..10 {
        w.message(1);
    }
    w.prune(1, 9);
    w.quiet_and_connected();
    let got = &w.got[conversation(1).as_str()];
    assert_eq!(got[0], (8, "reset".to_owned()), "{got:?}");
    assert_eq!(got.last().unwrap().0, 12);
    w.check_complete();
}

#[test]
fn an_expired_token_closes_the_session_and_the_client_stops() {
    let mut w = connected(10 * 60_000);
    w.run(12 * 60_000);
    assert!(
        w.endings.iter().any(|e| matches!(
            e,
            Ending::Close {
                reason: CloseReason::TokenExpired,
                ..
            }
        )),
        "{:?}",
        w.endings
    );
    assert!(w.outputs.contains(&Output::TokenExpired));
    assert_eq!(w.client.connection_state(), C::Disconnected);
    assert_eq!(w.connects, 1, "no retry with an expired token");
}

#[test]
fn a_renewed_token_keeps_the_session_past_the_old_expiry() {
    let mut w = connected(10 * 60_000);
    let renewal = crate::world::token(ALICE, w.now + HOUR);
    w.client.update_token(renewal, w.now).unwrap();
    w.run(20 * 60_000);
    assert_eq!(w.client.connection_state(), C::Connected);
    assert_eq!(w.connects, 1, "renewed in place");
    assert!(w.endings.is_empty(), "{:?}", w.endings);
}

#[test]
fn a_silent_link_is_declared_dead_by_both_sides_and_the_client_resumes() {
    let mut w = connected(HOUR);
    w.create(1);
    w.settle();
    w.link = crate::world::Link::Silent;
    w.message(1);
    // 2H + grace: 35 s on both sides.
    w.run(40_000);
    assert!(
        w.endings
            .contains(&Ending::Drop("heartbeat deadline passed")),
        "{:?}",
        w.endings
    );
    w.message(1);
    w.quiet_and_connected();
    assert!(w.connects >= 2);
    w.check_complete();
}

#[test]
fn a_slow_consumer_is_closed_and_resumes_with_nothing_lost() {
    let mut w = connected(HOUR);
    w.create(1);
    w.settle();
    w.queue_capacity = 4;
    // A burst the session's queue cannot hold: the hub closes it.
    for _ in 0..20 {
        w.message(1);
    }
    w.run(60_000);
    assert!(
        w.endings.iter().any(|e| matches!(
            e,
            Ending::Close {
                reason: CloseReason::SlowConsumer,
                ..
            }
        )),
        "{:?}",
        w.endings
    );
    w.queue_capacity = 64;
    w.quiet_and_connected();
    w.check_complete();
}

#[test]
fn events_dropped_while_replaying_are_read_again() {
    let mut w = connected(HOUR);
    w.create(1);
    w.create(2);
    w.settle();
    w.cut();
    for _ in 0..5 {
        w.message(1);
        w.message(2);
    }
    // Bob writes in the first conversation whenever the session reads a log, also once it
    // has replayed that one: its queue overflows while it replays the second, which is
    // forgiven, and the catch-up reads the logs again.
    w.queue_capacity = 2;
    w.chatter_on_read = Some((1, 3, 4));
    w.run(5_000);
    assert!(w.forgiven > 0, "the replay never lagged");
    w.queue_capacity = 64;
    w.quiet_and_connected();
    w.check_complete();
    assert!(
        !w.endings.iter().any(|e| matches!(
            e,
            Ending::Close {
                reason: CloseReason::SlowConsumer,
                ..
            }
        )),
        "{:?}",
        w.endings
    );
}

#[test]
fn a_request_is_answered_and_the_first_page_is_asked_for_once() {
    let mut w = connected(HOUR);
    assert_eq!(w.ran, ["conversations.list"]);
    let id = w.client.request(
        "message.send",
        serde_json::json!({"conversation": "CH1", "body": "x"}),
        w.now,
    );
    w.settle();
    assert!(
        w.outputs
            .iter()
            .any(|o| matches!(o, Output::Response { id: i, result: Ok(_) } if *i == id))
    );
    let bad = w
        .client
        .request("conversation.teleport", serde_json::json!({}), w.now);
    w.settle();
    assert!(w.outputs.iter().any(
        |o| matches!(o, Output::Response { id: i, result: Err(e) } if *i == bad && e.code == 20011)
    ));
}

#[test]
fn a_stopping_server_brings_the_client_back_at_once_with_nothing_lost() {
    let mut w = connected(HOUR);
    w.create(1);
    w.message(1);
    w.settle();
    w.kill(Ending::close(
        CloseReason::ShuttingDown,
        "the server is stopping",
    ));
    w.message(1);
    // The first retry comes at once, but for a little jitter.
    w.run(500);
    assert_eq!(w.connects, 2, "back without waiting");
    w.message(1);
    w.settle();
    w.check_complete();
}
