//! Requests: op_id, queueing while offline, resend after a loss, timeouts.

use confab_client_core::{Config, ConnectionState as C, Output};
use confab_protocol::frame::{ClientFrame, CloseReason, ServerFrame};
use serde_json::json;

use crate::harness::*;

fn reqs(sim: &Sim, method: &str) -> Vec<(u64, Option<String>)> {
    sim.sent
        .iter()
        .filter_map(|f| match f {
            ClientFrame::Req {
                id,
                op_id,
                method: m,
                ..
            } if m == method => Some((*id, op_id.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_request_made_offline_goes_once_connected_and_a_lost_answer_is_resent_with_its_op_id() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    let id = sim.s.request(
        "message.send",
        json!({"conversation": "CH1", "body": "hi"}),
        sim.now,
    );
    sim.drain();
    assert!(
        reqs(&sim, "message.send").is_empty(),
        "not sent while offline"
    );
    sim.go_online(resumed(0, &[]));
    let first = reqs(&sim, "message.send");
    assert_eq!(first.len(), 1);
    assert!(first[0].1.is_some(), "a mutation carries an op_id");
    // The link dies before the answer: after the next welcome it goes again, same op_id.
    sim.closed();
    sim.run_until(sim.now + 200);
    sim.go_online(resumed(0, &[]));
    let again = reqs(&sim, "message.send");
    assert_eq!(again.len(), 2);
    assert_eq!(again[0], again[1]);
    sim.frame(&ServerFrame::Res {
        id,
        result: Some(json!({"index": 0})),
        error: None,
    });
    let answers: Vec<_> = sim
        .outputs
        .iter()
        .filter(|o| matches!(o, Output::Response { id: i, .. } if *i == id))
        .collect();
    assert_eq!(answers.len(), 1);
    // A second answer for the same id (a late duplicate) is ignored.
    sim.frame(&ServerFrame::Res {
        id,
        result: Some(json!({"index": 0})),
        error: None,
    });
    assert_eq!(
        sim.outputs
            .iter()
            .filter(|o| matches!(o, Output::Response { id: i, .. } if *i == id))
            .count(),
        1
    );
}

#[test]
fn reads_carry_no_op_id_and_requests_time_out_from_the_call() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let id = sim
        .s
        .request("message.list", json!({"conversation": "CH1"}), sim.now);
    sim.drain();
    assert_eq!(reqs(&sim, "message.list")[0].1, None);
    let at = sim.now;
    while sim.step(at + 30_000) {
        sim.raw(r#"{"op":"pong","t":0}"#);
    }
    let timed_out = sim.outputs.iter().find_map(|o| match o {
        Output::Response {
            id: i,
            result: Err(e),
        } if *i == id => Some(e.code),
        _ => None,
    });
    assert_eq!(timed_out, Some(20408));
    assert_eq!(sim.now, at + 30_000);
}

#[test]
fn pending_requests_fail_when_the_window_ends() {
    let config = Config {
        request_timeout_ms: 10 * 60_000,
        ..Config::default()
    };
    let mut sim = Sim::start(config, 0, 24 * HOUR);
    sim.go_online(resumed(0, &[]));
    sim.closed();
    let id = sim.s.request("message.send", json!({}), sim.now);
    loop {
        sim.closed();
        if !sim.step(HOUR) || sim.s.connection_state() != C::Connecting {
            break;
        }
    }
    assert_eq!(sim.s.connection_state(), C::Disconnected);
    let failed = sim.outputs.iter().any(
        |o| matches!(o, Output::Response { id: i, result: Err(e) } if *i == id && e.code == 20503),
    );
    assert!(failed);
    // Offline for good: a new request fails at once.
    let id = sim.s.request("message.send", json!({}), sim.now);
    sim.drain();
    assert!(
        sim.outputs
            .iter()
            .any(|o| matches!(o, Output::Response { id: i, result: Err(_) } if *i == id))
    );
}

#[test]
fn a_request_over_the_frame_limit_is_refused_at_once_and_never_sent() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let body = "x".repeat(300 * 1024);
    let id = sim
        .s
        .request("message.send", json!({ "body": body }), sim.now);
    sim.drain();
    assert!(reqs(&sim, "message.send").is_empty());
    assert!(sim.outputs.iter().any(
        |o| matches!(o, Output::Response { id: i, result: Err(e) } if *i == id && e.code == 20001)
    ));
}

#[test]
fn a_protocol_error_fails_the_requests_on_that_link_instead_of_resending_them() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let bad = sim.s.request("message.send", json!({}), sim.now);
    sim.drain();
    sim.close_with(confab_protocol::frame::CloseReason::ProtocolError, 20010);
    assert!(sim.outputs.iter().any(
        |o| matches!(o, Output::Response { id: i, result: Err(e) } if *i == bad && e.code == 20010)
    ));
    sim.run_until(sim.now + 500);
    sim.go_online(resumed(0, &[]));
    assert_eq!(reqs(&sim, "message.send").len(), 1, "not sent again");
}

#[test]
fn at_most_64_requests_are_in_flight_and_the_rest_follow_as_answers_come() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    let ids: Vec<u64> = (0..100)
        .map(|_| sim.s.request("message.send", json!({}), 0))
        .collect();
    sim.go_online(resumed(0, &[]));
    assert_eq!(reqs(&sim, "message.send").len(), 64);
    for id in &ids[..10] {
        sim.frame(&ServerFrame::Res {
            id: *id,
            result: Some(json!({})),
            error: None,
        });
    }
    assert_eq!(reqs(&sim, "message.send").len(), 74);
}

#[test]
fn a_failed_first_page_is_asked_for_again_on_the_same_link() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.connected();
    let exp = sim.token_exp();
    sim.welcome_with(resumed(0, &[]), 0, exp);
    let first = reqs(&sim, "conversations.list");
    assert_eq!(first.len(), 1);
    sim.frame(&ServerFrame::Res {
        id: first[0].0,
        result: None,
        error: Some(confab_protocol::frame::WireError::new(
            confab_protocol::ErrorCode::Internal,
            "x",
        )),
    });
    assert_eq!(sim.s.client_state(), None);
    sim.step(sim.now + 5_000);
    assert_eq!(reqs(&sim, "conversations.list").len(), 2);
    sim.answer_first_page(json!([]));
    assert_eq!(
        sim.s.client_state(),
        Some(confab_client_core::ClientState::Initialized)
    );
}

#[test]
fn a_token_expired_close_during_a_renewal_comes_back_with_the_new_token() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let fresh = token("alice", 99_999);
    let id = sim.s.update_token(fresh.clone(), sim.now).unwrap().unwrap();
    sim.drain();
    sim.take_outputs();
    sim.close_with(CloseReason::TokenExpired, 20104);
    let outs = sim.take_outputs();
    assert!(!outs.contains(&Output::TokenExpired), "{outs:?}");
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Response { id: i, .. } if *i == id)),
        "the renewal is not failed: {outs:?}"
    );
    assert_eq!(sim.s.connection_state(), C::Connecting);
    sim.run_until(sim.now + 1_000);
    sim.connected();
    let ClientFrame::Hello { token: sent, .. } = sim.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!(*sent, fresh);
}

#[test]
fn a_renewal_cut_short_by_a_lost_link_goes_with_the_next_hello() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let fresh = token("alice", 99_999);
    let id = sim.s.update_token(fresh.clone(), sim.now).unwrap().unwrap();
    sim.drain();
    sim.closed();
    sim.run_until(sim.now + 500);
    sim.connected();
    let ClientFrame::Hello { token: sent, .. } = sim.sent.last().unwrap() else {
        panic!()
    };
    assert_eq!(*sent, fresh);
    let exp = sim.token_exp();
    sim.welcome_with(resumed(0, &[]), 0, exp);
    sim.frame(&ServerFrame::Res {
        id,
        result: Some(json!({"token_expires_at": 99_999_000})),
        error: None,
    });
    assert!(
        sim.outputs
            .iter()
            .any(|o| matches!(o, Output::Response { id: i, result: Ok(_) } if *i == id))
    );
}
