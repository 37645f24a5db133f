//! Requests: op_id, queueing while offline, resend after a loss, timeouts.

use confab_client_core::{Config, ConnectionState as C, Output};
use confab_protocol::frame::{ClientFrame, ServerFrame};
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
