//! States and their transitions.

use confab_client_core::{ClientState, Config, ConnectionState as C, Output};
use confab_protocol::ErrorCode;
use confab_protocol::frame::{ClientFrame, CloseReason, ServerFrame, Welcome, WireError};
use serde_json::json;

use crate::harness::*;

#[test]
fn a_first_connection_initializes_after_the_first_page() {
    let mut sim = Sim::start(Config::default(), 1_000, HOUR);
    assert_eq!(sim.connects, 1, "the first attempt is immediate");
    assert_eq!(sim.states(), [C::Connecting]);
    sim.connected();
    let ClientFrame::Hello { resume, .. } = sim.sent.last().unwrap() else {
        panic!()
    };
    assert!(resume.is_none(), "nothing to resume the first time");
    let exp = sim.token_exp();
    sim.welcome_with(resumed(0, &[(&conv_sid(1), 4)]), 0, exp);
    assert_eq!(sim.s.connection_state(), C::Connected);
    assert_eq!(sim.s.client_state(), None, "not before the first page");
    sim.answer_first_page(json!([joined(1)]));
    let outs = sim.take_outputs();
    let added = outs
        .iter()
        .position(|o| matches!(o, Output::ConversationAdded(_)));
    let init = outs
        .iter()
        .position(|o| *o == Output::StateChanged(ClientState::Initialized));
    assert!(
        added.unwrap() < init.unwrap(),
        "conversationAdded before initialized: {outs:?}"
    );
    assert_eq!(sim.s.client_state(), Some(ClientState::Initialized));
}

#[test]
fn a_refused_token_is_denied_and_the_client_fails_without_retrying() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.connected();
    sim.close_with(CloseReason::Denied, 20107);
    let outs = sim.take_outputs();
    assert!(outs.contains(&Output::ConnectionError {
        terminal: true,
        code: 20107,
        message: "test".into()
    }));
    assert!(outs.contains(&Output::StateChanged(ClientState::Failed)));
    assert_eq!(sim.s.connection_state(), C::Denied);
    sim.run_until(10 * HOUR);
    assert_eq!(sim.connects, 1, "no retry after denied");
    // A new token revives it, and it initializes.
    sim.s
        .update_token(token("alice", 99_999_999), sim.now)
        .unwrap();
    sim.s.handle_timeout(sim.now);
    sim.drain();
    assert_eq!(sim.connects, 2);
    assert_eq!(sim.s.connection_state(), C::Connecting);
    sim.go_online(resumed(0, &[]));
    assert_eq!(sim.s.client_state(), Some(ClientState::Initialized));
    assert!(
        sim.outputs
            .contains(&Output::StateChanged(ClientState::Initialized))
    );
}

#[test]
fn no_server_within_the_window_ends_disconnected_and_failed_with_backoff_between() {
    let start = 5_000;
    let mut sim = Sim::start(Config::default(), start, 24 * HOUR);
    let mut attempts = vec![sim.now];
    loop {
        // Every attempt fails at once.
        sim.closed();
        if !sim.step(start + 10 * 60_000) {
            break;
        }
        if sim.connects > attempts.len() {
            attempts.push(sim.now);
        }
        if sim.s.connection_state() != C::Connecting {
            break;
        }
    }
    assert_eq!(sim.s.connection_state(), C::Disconnected);
    assert_eq!(sim.s.client_state(), Some(ClientState::Failed));
    assert_eq!(
        sim.now,
        start + 120_000,
        "the window is 2 minutes from the start"
    );
    let gaps: Vec<u64> = attempts.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let base = (1_000u64 << i).min(30_000) as f64;
        assert!(
            (*gap as f64) >= base * 0.8 && (*gap as f64) <= base * 1.2,
            "gap {i}: {gap} ms, expected {base} ± 20 %: {gaps:?}"
        );
    }
    assert!(gaps.len() >= 6, "{gaps:?}");
    sim.run_until(start + HOUR);
    assert_eq!(sim.connects, attempts.len(), "nothing after disconnected");
    // reconnect() starts a new window.
    sim.s.reconnect(sim.now);
    sim.s.handle_timeout(sim.now);
    sim.drain();
    assert_eq!(sim.s.connection_state(), C::Connecting);
    assert_eq!(sim.connects, attempts.len() + 1);
}

#[test]
fn a_lost_link_retries_at_once_then_backs_off_and_resumes_with_its_cursors() {
    let mut sim = Sim::start(Config::default(), 0, 24 * HOUR);
    let c = conv_sid(1);
    sim.go_online(resumed(2, &[(&c, 5)]));
    sim.raw(&message_event(&c, 6, 0));
    sim.closed();
    assert_eq!(sim.s.connection_state(), C::Connecting);
    let lost_at = sim.now;
    sim.step(lost_at + 1_000);
    assert!(
        sim.now - lost_at <= 100,
        "first retry within jitter: {}",
        sim.now - lost_at
    );
    assert_eq!(sim.connects, 2);
    sim.closed();
    let second = sim.now;
    sim.step(second + 2_000);
    let gap = sim.now - second;
    assert!((800..=1_200).contains(&gap), "then 1 s ± 20 %: {gap}");
    sim.connected();
    let resume = sim.last_hello_resume().expect("resumes");
    assert_eq!(resume.user_seq, 2);
    assert_eq!(
        resume.conversations[&c], 6,
        "the cursor moved with the event"
    );
    let exp = sim.token_exp();
    sim.welcome_with(resumed(2, &[(&c, 6)]), 0, exp);
    assert_eq!(
        sim.states(),
        [C::Connecting, C::Connected, C::Connecting, C::Connected]
    );
    // A replay that overlaps is de-duplicated; new events pass.
    sim.take_outputs();
    sim.raw(&message_event(&c, 6, 0));
    sim.raw(&message_event(&c, 7, 1));
    let events: Vec<_> = sim
        .take_outputs()
        .into_iter()
        .filter(|o| matches!(o, Output::Event(_)))
        .collect();
    assert_eq!(events.len(), 1);
}

#[test]
fn slow_consumer_and_too_many_sessions_closes_back_off_before_the_first_retry() {
    for reason in [CloseReason::SlowConsumer, CloseReason::TooManySessions] {
        let code = reason.code().code();
        let mut sim = Sim::start(Config::default(), 0, 24 * HOUR);
        sim.go_online(resumed(0, &[]));
        sim.close_with(reason, code);
        let at = sim.now;
        assert!(
            sim.outputs.contains(&Output::ConnectionError {
                terminal: false,
                code,
                message: "test".into()
            }),
            "{reason:?}"
        );
        sim.step(at + 5_000);
        assert!(
            sim.now - at >= 800,
            "{reason:?} backs off: {}",
            sim.now - at
        );
        assert_eq!(sim.connects, 2, "{reason:?}");
    }
}

#[test]
fn a_missed_close_frame_still_backs_off_by_its_websocket_code() {
    for (code, pauses) in [(4008, true), (4429, true), (1001, false), (1006, false)] {
        let mut sim = Sim::start(Config::default(), 0, 24 * HOUR);
        sim.go_online(resumed(0, &[]));
        sim.closed_with_code(Some(code));
        let at = sim.now;
        sim.step(at + 5_000);
        assert_eq!(sim.now - at >= 800, pauses, "{code}: {}", sim.now - at);
        assert_eq!(sim.connects, 2, "{code}");
    }
}

#[test]
fn shutting_down_and_protocol_errors_reconnect_at_once() {
    for reason in [CloseReason::ShuttingDown, CloseReason::ProtocolError] {
        let mut sim = Sim::start(Config::default(), 0, 24 * HOUR);
        sim.go_online(resumed(0, &[]));
        sim.close_with(reason, reason.code().code());
        let at = sim.now;
        sim.step(at + 5_000);
        assert!(sim.now - at <= 100, "{reason:?}");
        assert_eq!(sim.connects, 2);
    }
}

#[test]
fn shutdown_goes_disconnecting_then_disconnected_and_closes_the_socket() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    let id = sim.s.request("message.send", json!({}), sim.now);
    sim.s.shutdown();
    sim.drain();
    let states = sim.states();
    assert_eq!(
        &states[states.len() - 2..],
        [C::Disconnecting, C::Disconnected]
    );
    assert_eq!(sim.closes, 1);
    assert!(
        sim.outputs
            .iter()
            .any(|o| matches!(o, Output::Response { id: i, result: Err(_) } if *i == id))
    );
    sim.run_until(10 * HOUR);
    assert_eq!(sim.connects, 1, "never again");
    assert!(
        !sim.outputs
            .iter()
            .any(|o| matches!(o, Output::TokenExpired)),
        "no timers after shutdown"
    );
}

#[test]
fn the_heartbeat_pings_after_h_and_declares_the_link_dead_after_2h_plus_grace() {
    let mut sim = Sim::start(Config::default(), 0, 24 * HOUR);
    sim.go_online(resumed(0, &[]));
    let up = sim.now;
    let before = sim.sent.len();
    sim.step(up + 15_000);
    assert_eq!(sim.now, up + 15_000);
    assert!(
        matches!(sim.sent[before..], [ClientFrame::Ping { .. }]),
        "{:?}",
        &sim.sent[before..]
    );
    // A pong keeps it alive past the first deadline.
    sim.now = up + 20_000;
    sim.raw(r#"{"op":"pong","t":1}"#);
    sim.run_until(up + 39_000);
    assert_eq!(sim.s.connection_state(), C::Connected);
    // Silence for 2H + grace after the last frame: dead, reconnecting.
    sim.run_until(up + 20_000 + 35_000);
    assert_eq!(sim.s.connection_state(), C::Connecting);
    assert_eq!(sim.closes, 1);
}

#[test]
fn a_heartbeat_of_zero_from_the_server_pings_every_100_ms_not_every_millisecond() {
    let mut sim = Sim::start(Config::default(), 0, 24 * HOUR);
    sim.connected();
    let exp = sim.token_exp();
    sim.frame(&ServerFrame::Welcome(Welcome {
        identity: "alice".into(),
        service_sid: "IS00".into(),
        server_time: sim.now as i64,
        token_expires_at: exp,
        heartbeat_ms: 0,
        heartbeat_grace_ms: 60_000,
        resumed: resumed(0, &[]),
        media: None,
    }));
    sim.answer_first_page(serde_json::json!([]));
    let before = sim.sent.len();
    sim.run_until(sim.now + 1_000);
    let pings = sim.sent[before..]
        .iter()
        .filter(|f| matches!(f, ClientFrame::Ping { .. }))
        .count();
    assert_eq!(
        pings as u64,
        1_000 / confab_client_core::MIN_HEARTBEAT_MS,
        "{:?}",
        &sim.sent[before..]
    );
    assert_eq!(sim.s.connection_state(), C::Connected);
}

#[test]
fn a_token_expired_close_stops_in_disconnected_after_token_expired() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.go_online(resumed(0, &[]));
    sim.close_with(CloseReason::TokenExpired, 20104);
    let outs = sim.take_outputs();
    let expired = outs
        .iter()
        .position(|o| *o == Output::TokenExpired)
        .unwrap();
    let disc = outs
        .iter()
        .position(|o| *o == Output::ConnectionStateChanged(C::Disconnected))
        .unwrap();
    assert!(expired < disc);
    sim.run_until(10 * HOUR);
    assert_eq!(sim.connects, 1);
    // A new token starts over.
    assert_eq!(
        sim.s.update_token(token("alice", 999_999_999), sim.now),
        Ok(None)
    );
    assert_eq!(sim.s.connection_state(), C::Connecting);
}

#[test]
fn a_conversation_reset_moves_the_cursor() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    let c = conv_sid(3);
    sim.go_online(resumed(0, &[(&c, 2)]));
    sim.raw(&format!(
        r#"{{"op":"event","stream":"{c}","type":"conversationReset","data":{{"seq":40}}}}"#
    ));
    assert_eq!(sim.s.streams().conversation(&c), Some(40));
    sim.raw(&message_event(&c, 41, 9));
    assert_eq!(sim.s.streams().conversation(&c), Some(41));
}

#[test]
fn an_event_below_seq_1_or_a_negative_cursor_never_reaches_the_app() {
    // Found by the `client` fuzz target: with a cursor of -3 from `welcome`, an event at
    // seq -2 was delivered, and the cursor moved below zero.
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    let (c, d) = (conv_sid(3), conv_sid(4));
    sim.go_online(resumed(-5, &[(&c, -3)]));
    assert_eq!(sim.s.streams().conversation(&c), Some(0));
    assert_eq!(sim.s.streams().user_seq(), 0);
    sim.take_outputs();
    for (stream, seq) in [(&c, -2), (&c, 0), (&d, 0), (&d, -7)] {
        sim.raw(&message_event(stream, seq, 0));
    }
    assert!(
        !sim.take_outputs()
            .iter()
            .any(|o| matches!(o, Output::Event(_))),
        "an event below seq 1 was delivered"
    );
    sim.raw(&message_event(&c, 1, 0));
    assert_eq!(sim.s.streams().conversation(&c), Some(1));
    assert_eq!(sim.s.streams().conversation(&d), None);
}

#[test]
fn welcome_keeps_watched_conversations_under_the_cap_and_left_ones_until_their_leave() {
    let config = Config {
        watch_cap: 2,
        ..Config::default()
    };
    let mut sim = Sim::start(config, 0, HOUR);
    let (a, b, c) = (conv_sid(9), conv_sid(8), conv_sid(1));
    sim.go_online(resumed(0, &[(&a, 3), (&b, 4)]));
    sim.closed();
    sim.run_until(sim.now + 500);
    sim.connected();
    // Now a member of c too (lowest SID), and no longer of b.
    let exp = sim.token_exp();
    sim.welcome_with(resumed(1, &[(&a, 3), (&c, 7)]), 0, exp);
    assert_eq!(
        sim.s.streams().conversation(&a),
        Some(3),
        "a watched one keeps its place"
    );
    assert_eq!(sim.s.streams().conversation(&c), Some(7));
    // b's events up to the leave are replayed: its cursor is still sent until the leave.
    sim.closed();
    sim.run_until(sim.now + 500);
    sim.connected();
    let resume = sim.last_hello_resume().unwrap();
    assert_eq!(resume.conversations.get(&b), Some(&4));
}

#[test]
fn warnings_raised_on_a_wrong_device_clock_come_again_on_the_servers() {
    // The device is an hour ahead: the token looks expired before the first welcome.
    let start = 5 * HOUR;
    let mut sim = Sim::start(Config::default(), start, 0);
    assert!(sim.outputs.contains(&Output::TokenExpired));
    sim.connected();
    // The server says it is an hour earlier, and the token has an hour left.
    let server_now = (start - HOUR) as i64;
    sim.welcome_with(resumed(0, &[]), -(HOUR as i64), server_now + HOUR as i64);
    sim.take_outputs();
    while sim.step(start + 2 * HOUR) {
        sim.raw(r#"{"op":"pong","t":0}"#);
        if sim.outputs.contains(&Output::TokenExpired) {
            break;
        }
    }
    assert!(
        sim.outputs
            .iter()
            .any(|o| matches!(o, Output::TokenAboutToExpire { .. }))
    );
    assert_eq!(sim.now, start + HOUR, "expired again, at the server's exp");
}

/// A `conversations.list` item for conversation `n`.
fn joined(n: u8) -> serde_json::Value {
    json!({
        "conversation": {
            "sid": conv_sid(n), "chat_service_sid": format!("IS{:032x}", 0), "messaging_service_sid": null,
            "friendly_name": "room", "unique_name": null, "attributes": "{}", "state": "active",
            "timers": {}, "bindings": null, "created_by": "system", "date_created": 1, "date_updated": 1,
        },
        "participant": {
            "sid": format!("MB{n:032x}"), "conversation_sid": conv_sid(n), "identity": "alice",
            "attributes": "{}", "messaging_binding": null, "role_sid": null,
            "last_read_message_index": null, "last_read_timestamp": null,
            "notification_level": "default", "date_created": 1, "date_updated": 1,
        },
        "last_message_index": null, "unread_messages_count": null, "notification_level": "default",
        "messages_count": 0, "participants_count": 1, "last_activity": 1,
    })
}

#[test]
fn every_conversation_is_added_the_rest_a_page_at_a_time_after_initialized() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.connected();
    let exp = sim.token_exp();
    sim.welcome_with(resumed(0, &[]), 0, exp);
    assert_eq!(
        sim.answer_page(json!([joined(1), joined(2)]), Some("p2")),
        None
    );
    assert_eq!(sim.s.client_state(), Some(ClientState::Initialized));
    let outs = sim.take_outputs();
    assert_eq!(
        outs.iter()
            .filter(|o| matches!(o, Output::ConversationAdded(_)))
            .count(),
        2
    );
    // The next page goes at once, with the token, and its conversations follow.
    assert_eq!(sim.pages_asked(), 2);
    assert_eq!(
        sim.answer_page(json!([joined(3)]), None).as_deref(),
        Some("p2")
    );
    let added: Vec<String> = sim
        .take_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::ConversationAdded(j) => Some(j.conversation.sid.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(added, vec![conv_sid(3)]);
    assert_eq!(sim.pages_asked(), 2, "no page after the last");
}

#[test]
fn a_failed_background_page_is_asked_for_again_with_its_token() {
    let mut sim = Sim::start(Config::default(), 0, HOUR);
    sim.connected();
    let exp = sim.token_exp();
    sim.welcome_with(resumed(0, &[]), 0, exp);
    sim.answer_page(json!([joined(1)]), Some("p2"));
    let id = sim
        .sent
        .iter()
        .rev()
        .find_map(|f| match f {
            ClientFrame::Req { id, method, .. } if method == "conversations.list" => Some(*id),
            _ => None,
        })
        .unwrap();
    sim.frame(&ServerFrame::Res {
        id,
        result: None,
        error: Some(WireError::new(ErrorCode::Internal, "store down")),
    });
    assert_eq!(sim.pages_asked(), 2);
    let until = sim.now + 2_000;
    sim.run_until(until);
    assert_eq!(sim.pages_asked(), 3, "asked again after the pause");
    assert_eq!(
        sim.answer_page(json!([joined(2)]), None).as_deref(),
        Some("p2")
    );
}
