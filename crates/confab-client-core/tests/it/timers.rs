//! Token deadlines on the server's clock.

use confab_client_core::{Config, ConnectionState as C, Output};
use confab_protocol::frame::{ServerFrame, Welcome};

use crate::harness::*;

fn warnings(outs: &[Output]) -> Vec<&Output> {
    outs.iter()
        .filter(|o| matches!(o, Output::TokenAboutToExpire { .. } | Output::TokenExpired))
        .collect()
}

#[test]
fn a_24_hour_token_warns_three_minutes_before_exp_and_expires_at_exp() {
    let start = 1_700_000_000_000;
    let mut sim = Sim::start(Config::default(), start, 24 * HOUR);
    sim.go_online(resumed(0, &[]));
    let exp = sim.token_exp() as u64;
    // Keep the link alive with pongs while simulated hours pass.
    while sim.now < exp - 180_000 - 1 {
        sim.step(exp - 180_000 - 1);
        sim.raw(r#"{"op":"pong","t":0}"#);
    }
    assert!(warnings(&sim.outputs).is_empty());
    sim.step(exp);
    assert_eq!(sim.now, exp - 180_000);
    assert_eq!(
        warnings(&sim.outputs),
        [&Output::TokenAboutToExpire {
            remaining_ms: 180_000
        }]
    );
    while sim.now < exp {
        sim.step(exp);
        sim.raw(r#"{"op":"pong","t":0}"#);
    }
    assert_eq!(warnings(&sim.outputs).len(), 2);
    assert_eq!(*warnings(&sim.outputs)[1], Output::TokenExpired);
    assert_eq!(
        sim.s.connection_state(),
        C::Connected,
        "the server decides the close"
    );
}

#[test]
fn deadlines_follow_the_servers_clock_not_the_devices() {
    let start = 10 * HOUR;
    let mut sim = Sim::start(Config::default(), start, HOUR);
    sim.connected();
    // The device is an hour behind the server: the token's exp (from the server) is one hour
    // after the server's now, so both timers come an hour earlier on the device's clock than
    // the token's own exp would say.
    let server_now = (start + HOUR) as i64;
    let exp = server_now + HOUR as i64;
    sim.welcome_with(resumed(0, &[]), HOUR as i64, exp);
    assert_eq!(sim.s.clock_offset_ms(), HOUR as i64);
    let mut warned_at = None;
    while sim.step(start + 3 * HOUR) {
        sim.raw(r#"{"op":"pong","t":0}"#);
        if warned_at.is_none() && !warnings(&sim.outputs).is_empty() {
            warned_at = Some(sim.now);
        }
        if sim.outputs.contains(&Output::TokenExpired) {
            break;
        }
    }
    assert_eq!(warned_at, Some(start + HOUR - 180_000));
    assert_eq!(sim.now, start + HOUR);
}

#[test]
fn a_token_shorter_than_the_lead_warns_at_once() {
    let mut sim = Sim::start(Config::default(), 0, 60_000);
    sim.go_online(resumed(0, &[]));
    sim.step(1);
    assert_eq!(warnings(&sim.outputs).len(), 1, "{:?}", sim.outputs);
    let Output::TokenAboutToExpire { remaining_ms } = warnings(&sim.outputs)[0] else {
        panic!()
    };
    assert!(*remaining_ms <= 60_000);
}

#[test]
fn renewal_in_place_rearms_the_warning_for_the_new_token() {
    let mut sim = Sim::start(Config::default(), 0, 10 * 60_000);
    sim.go_online(resumed(0, &[]));
    while sim.step(7 * 60_000 + 1) {
        sim.raw(r#"{"op":"pong","t":0}"#);
    }
    assert_eq!(warnings(&sim.outputs).len(), 1);
    let fresh = token("alice", 3600 + 600);
    let id = sim
        .s
        .update_token(fresh.clone(), sim.now)
        .unwrap()
        .expect("renewed in place");
    sim.drain();
    let confab_protocol::frame::ClientFrame::Req { method, params, .. } = sim.sent.last().unwrap()
    else {
        panic!()
    };
    assert_eq!(method, "token.update");
    assert_eq!(params["token"], fresh.as_str());
    sim.frame(&confab_protocol::frame::ServerFrame::Res {
        id,
        result: Some(serde_json::json!({"token_expires_at": (3600 + 600) * 1000})),
        error: None,
    });
    assert!(
        sim.outputs
            .iter()
            .any(|o| matches!(o, Output::Response { id: i, result: Ok(_) } if *i == id))
    );
    assert_eq!(sim.s.token(), fresh);
    sim.take_outputs();
    // The old exp passes quietly; the new token warns 3 minutes before its own.
    while sim.step((3600 + 600) * 1000 - 180_000) {
        sim.raw(r#"{"op":"pong","t":0}"#);
    }
    assert_eq!(
        warnings(&sim.outputs).len(),
        1,
        "{:?}",
        warnings(&sim.outputs)
    );
    assert_eq!(sim.s.connection_state(), C::Connected, "no reconnect");
    assert_eq!(sim.connects, 1);
}

#[test]
fn a_new_token_must_carry_the_same_identity() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let err = sim
        .s
        .update_token(token("mallory", 99_999), sim.now)
        .unwrap_err();
    assert_eq!(err.code.code(), 20106);
}

#[test]
fn an_expired_token_while_offline_stops_trying() {
    let mut sim = Sim::start(
        Config {
            window_ms: None,
            ..Config::default()
        },
        0,
        60_000,
    );
    // Online once, so the server's clock is known; then the link goes and stays gone.
    sim.go_online(resumed(0, &[]));
    loop {
        sim.closed();
        if !sim.step(HOUR) || sim.s.connection_state() != C::Connecting {
            break;
        }
    }
    assert!(sim.outputs.contains(&Output::TokenExpired));
    assert_eq!(sim.s.connection_state(), C::Disconnected);
    assert_eq!(sim.now, 60_000, "at exp");
}

#[test]
fn before_the_servers_clock_is_known_an_expired_looking_token_still_asks_the_server() {
    // The device may be the one that is wrong: only the server can refuse the token.
    let sim = Sim::start(Config::default(), HOUR, 0);
    assert!(sim.outputs.contains(&Output::TokenExpired));
    assert_eq!(sim.s.connection_state(), C::Connecting);
    assert_eq!(sim.connects, 1);
}

#[test]
fn an_expired_renewal_adopted_when_the_link_dies_stops_in_the_same_wake_up() {
    // Found by the `client` fuzz target: the link went silent with a renewal unanswered, its
    // token (already past `exp`) was adopted, and its deadline was left in the past.
    let start = 1_700_000_000_000;
    let mut sim = Sim::start(Config::default(), start, HOUR);
    sim.connected();
    let exp = sim.token_exp();
    // A 1 s heartbeat: the link is dead 2 s after its last frame, before the renewal's
    // request times out (30 s).
    sim.frame(&ServerFrame::Welcome(Welcome {
        identity: "alice".into(),
        service_sid: "IS00".into(),
        server_time: sim.now as i64,
        token_expires_at: exp,
        heartbeat_ms: 1_000,
        heartbeat_grace_ms: 0,
        resumed: resumed(0, &[]),
        media: None,
    }));
    sim.answer_first_page(serde_json::json!([]));
    let stale = token("alice", (start / 1000) as i64 - 10);
    assert!(matches!(sim.s.update_token(stale, sim.now), Ok(Some(_))));
    sim.drain();
    sim.take_outputs();
    // `step` checks that no wake-up is ever left in the past.
    sim.run_until(start + 5_000);
    let outs = sim.take_outputs();
    assert!(warnings(&outs).contains(&&Output::TokenExpired), "{outs:?}");
    assert_eq!(sim.s.connection_state(), C::Disconnected);
    assert!(
        sim.s.poll_timeout().is_none_or(|t| t > sim.now),
        "a timer left in the past"
    );
}
