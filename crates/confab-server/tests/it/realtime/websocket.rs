//! WebSocket conformance of the realtime endpoint (RFC 6455), case by case in the manner of
//! the Autobahn test suite's sections, on a live session (after `welcome`) with frames written
//! by hand. Autobahn's echo cases do not apply (the endpoint speaks its own protocol, not
//! echo); in their place a request is sent in the shape under test and must be answered.
//! A connection that must be failed must end with the close code RFC 6455 asks for.

use confab_protocol::frame::{ClientFrame, Incoming, ServerFrame, decode_incoming};
use confab_testkit::TestServer;
use confab_testkit::wire::{Frame, Wire, op};

/// A live session of alice's over a hand-made connection.
async fn session(server: &TestServer) -> Wire {
    let mut wire = Wire::upgrade(server.addr()).await;
    let hello = ClientFrame::Hello {
        token: server.token("alice"),
        resume: None,
        sdk: None,
    };
    wire.text(&serde_json::to_string(&hello).expect("hello encodes"))
        .await;
    match next_data(&mut wire).await {
        Some(f) if String::from_utf8_lossy(&f.payload).contains("\"welcome\"") => wire,
        other => panic!("no welcome: {other:?}"),
    }
}

/// The next frame that is not a ping or pong.
async fn next_data(wire: &mut Wire) -> Option<Frame> {
    loop {
        match wire.next().await {
            Some(f) if f.opcode == op::PING || f.opcode == op::PONG => {}
            other => return other,
        }
    }
}

/// A `user.get` request with `id`, as text.
fn request(id: u64) -> String {
    format!(r#"{{"op":"req","id":{id},"method":"user.get","params":{{}}}}"#)
}

/// Waits for the answer to request `id`.
async fn answered(wire: &mut Wire, id: u64, case: &str) {
    let f = next_data(wire)
        .await
        .unwrap_or_else(|| panic!("{case}: closed before the answer"));
    assert_eq!(f.opcode, op::TEXT, "{case}");
    let text = String::from_utf8(f.payload).expect("the server sends UTF-8");
    match decode_incoming(&text) {
        Ok(Incoming::Frame(ServerFrame::Res {
            id: got,
            error: None,
            ..
        })) if got == id => {}
        other => panic!("{case}: {other:?}"),
    }
}

/// The connection must end with a WebSocket close of code `want`.
async fn failed(mut wire: Wire, case: &str, want: u16) {
    let (code, _) = wire.until_closed().await;
    assert_eq!(code, Some(want), "{case}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_realtime_endpoint_follows_rfc_6455() {
    let server = TestServer::start().await;
    let mut cases = 0;

    // 1. A request in one frame and in the largest legal frame lengths' encodings.
    let mut w = session(&server).await;
    w.text(&request(1)).await;
    answered(&mut w, 1, "1.1 text").await;
    let padded = format!(
        r#"{{"op":"req","id":2,"method":"user.get","params":{{}},"pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    w.text(&padded).await;
    answered(&mut w, 2, "1.1.6 64-bit length").await;
    cases += 2;

    // 2. Pings are answered with a pong of the same payload; unsolicited pongs are ignored.
    for (case, payload) in [
        ("2.1 empty ping", vec![]),
        ("2.2 text ping", b"Hello, world!".to_vec()),
        (
            "2.3 binary ping",
            vec![0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff],
        ),
        ("2.4 125-byte ping", vec![0xfe; 125]),
    ] {
        w.send(true, 0, op::PING, &payload).await;
        let pong = w.next().await.unwrap_or_else(|| panic!("{case}: closed"));
        assert_eq!((pong.opcode, pong.payload), (op::PONG, payload), "{case}");
        cases += 1;
    }
    w.send(true, 0, op::PONG, b"unsolicited").await;
    w.text(&request(3)).await;
    answered(&mut w, 3, "2.7 unsolicited pong").await;
    cases += 1;
    for (case, payloads) in [("2.10 ten pings", 10)] {
        for i in 0..payloads {
            w.send(true, 0, op::PING, format!("ping {i}").as_bytes())
                .await;
        }
        for i in 0..payloads {
            let pong = w.next().await.unwrap_or_else(|| panic!("{case}: closed"));
            assert_eq!(pong.payload, format!("ping {i}").as_bytes(), "{case}");
        }
        cases += 1;
    }

    // 5. Fragmentation: a request in fragments, with a ping between them.
    let req = request(4);
    let (a, b) = req.split_at(10);
    w.send(false, 0, op::TEXT, a.as_bytes()).await;
    w.send(true, 0, op::PING, b"between").await;
    w.send(true, 0, op::CONTINUATION, b.as_bytes()).await;
    let pong = w.next().await.expect("5.6 pong");
    assert_eq!(pong.payload, b"between");
    answered(&mut w, 4, "5.6 fragments with a ping between").await;
    let req = request(5);
    for (i, byte) in req.as_bytes().iter().enumerate() {
        let (fin, opcode) = (
            i + 1 == req.len(),
            if i == 0 { op::TEXT } else { op::CONTINUATION },
        );
        w.send(fin, 0, opcode, &[*byte]).await;
    }
    answered(&mut w, 5, "5.19 one byte a fragment").await;
    // 6. UTF-8 split mid-character across fragments is still valid UTF-8.
    let text = r#"{"op":"req","id":6,"method":"user.get","params":{"x":"κόσμε"}}"#;
    let cut = text.find('ό').expect("a two-byte character") + 1;
    w.send(false, 0, op::TEXT, &text.as_bytes()[..cut]).await;
    w.send(true, 0, op::CONTINUATION, &text.as_bytes()[cut..])
        .await;
    answered(&mut w, 6, "6.2 UTF-8 split inside a character").await;
    cases += 3;

    // 7. A clean close is answered with a close of the same code, and the connection ends.
    w.send(true, 0, op::CLOSE, &1000u16.to_be_bytes()).await;
    let (code, _) = w.until_closed().await;
    assert_eq!(code, Some(1000), "7.1.1 close echoed");
    cases += 1;
    for (case, code) in [
        ("7.7.1 close 1000", 1000u16),
        ("7.7.3 close 1001", 1001),
        ("7.7.10 close 3000", 3000),
        ("7.7.13 close 4999", 4999),
    ] {
        let mut w = session(&server).await;
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        w.send(true, 0, op::CLOSE, &payload).await;
        assert_eq!(w.until_closed().await.0, Some(code), "{case}");
        cases += 1;
    }

    // Cases where the connection must be failed: (case, frames, the code RFC 6455 asks for).
    type Frames = Vec<(bool, u8, u8, Vec<u8>)>;
    let invalid_utf8 = vec![
        0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
    ];
    let fail: Vec<(&str, Frames, u16)> = vec![
        (
            "2.5 ping of 126 bytes",
            vec![(true, 0, op::PING, vec![0; 126])],
            1002,
        ),
        (
            "3.1 RSV1 on a text frame",
            vec![(true, 4, op::TEXT, request(9).into_bytes())],
            1002,
        ),
        (
            "3.2 RSV2",
            vec![(true, 2, op::TEXT, request(9).into_bytes())],
            1002,
        ),
        (
            "3.3 RSV3",
            vec![(true, 1, op::TEXT, request(9).into_bytes())],
            1002,
        ),
        (
            "3.6 RSV on a ping",
            vec![(true, 6, op::PING, b"x".to_vec())],
            1002,
        ),
        ("4.1.1 opcode 3", vec![(true, 0, 3, vec![])], 1002),
        ("4.1.5 opcode 7", vec![(true, 0, 7, b"x".to_vec())], 1002),
        ("4.2.1 opcode 11", vec![(true, 0, 11, vec![])], 1002),
        ("4.2.5 opcode 15", vec![(true, 0, 15, b"x".to_vec())], 1002),
        (
            "5.1 fragmented ping",
            vec![
                (false, 0, op::PING, b"a".to_vec()),
                (true, 0, op::CONTINUATION, b"b".to_vec()),
            ],
            1002,
        ),
        (
            "5.3 fragmented close",
            vec![(false, 0, op::CLOSE, vec![0x03, 0xe8])],
            1002,
        ),
        (
            "5.9 continuation first",
            vec![(true, 0, op::CONTINUATION, request(9).into_bytes())],
            1002,
        ),
        (
            "5.18 text inside a fragmented text",
            vec![
                (false, 0, op::TEXT, b"{".to_vec()),
                (true, 0, op::TEXT, b"}".to_vec()),
            ],
            1002,
        ),
        (
            "6.3.1 invalid UTF-8",
            vec![(true, 0, op::TEXT, invalid_utf8.clone())],
            1007,
        ),
        (
            "6.3.2 invalid UTF-8 across fragments",
            vec![
                (false, 0, op::TEXT, invalid_utf8[..7].to_vec()),
                (true, 0, op::CONTINUATION, invalid_utf8[7..].to_vec()),
            ],
            1007,
        ),
        (
            "6.4.1 a surrogate",
            vec![(true, 0, op::TEXT, vec![0xed, 0xa0, 0x80])],
            1007,
        ),
        (
            "6.21 an overlong encoding",
            vec![(true, 0, op::TEXT, vec![0xc0, 0xaf])],
            1007,
        ),
        (
            "7.3.2 close with one byte",
            vec![(true, 0, op::CLOSE, vec![0x03])],
            1002,
        ),
        (
            "7.5.1 close reason not UTF-8",
            vec![(
                true,
                0,
                op::CLOSE,
                [&1000u16.to_be_bytes()[..], &invalid_utf8].concat(),
            )],
            1007,
        ),
        (
            "7.9.1 close code 0",
            vec![(true, 0, op::CLOSE, 0u16.to_be_bytes().to_vec())],
            1002,
        ),
        (
            "7.9.2 close code 999",
            vec![(true, 0, op::CLOSE, 999u16.to_be_bytes().to_vec())],
            1002,
        ),
        (
            "7.9.3 close code 1004",
            vec![(true, 0, op::CLOSE, 1004u16.to_be_bytes().to_vec())],
            1002,
        ),
        (
            "7.9.4 close code 1005",
            vec![(true, 0, op::CLOSE, 1005u16.to_be_bytes().to_vec())],
            1002,
        ),
        (
            "7.9.5 close code 1006",
            vec![(true, 0, op::CLOSE, 1006u16.to_be_bytes().to_vec())],
            1002,
        ),
        (
            "7.9.9 close code 1015",
            vec![(true, 0, op::CLOSE, 1015u16.to_be_bytes().to_vec())],
            1002,
        ),
        (
            "7.9.11 close code 5000",
            vec![(true, 0, op::CLOSE, 5000u16.to_be_bytes().to_vec())],
            1002,
        ),
    ];
    for (case, frames, want) in fail {
        let mut w = session(&server).await;
        for (fin, rsv, opcode, payload) in frames {
            w.send(fin, rsv, opcode, &payload).await;
        }
        failed(w, case, want).await;
        cases += 1;
    }
    // RFC 6455 5.1: a server must close the connection on an unmasked client frame.
    let mut w = session(&server).await;
    w.send_unmasked(op::TEXT, request(9).as_bytes()).await;
    failed(w, "unmasked frame", 1002).await;
    cases += 1;

    // The server went through all of it: a new session is served.
    let mut w = session(&server).await;
    w.text(&request(10)).await;
    answered(&mut w, 10, "after everything").await;
    eprintln!("websocket conformance: {cases} cases passed, 0 failed");
}

/// The echo that `scripts/autobahn.py` runs the Autobahn suite against: off unless configured;
/// on, it sends back text and binary messages, and refuses one over the frame limit with 1009,
/// as the suite's section 9 checks.
#[tokio::test]
async fn the_conformance_echo_is_served_only_when_asked_for() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Error, Message};

    let url = |server: &TestServer| {
        format!(
            "ws://{}{}",
            server.addr(),
            confab_server::realtime::ECHO_PATH
        )
    };
    let off = TestServer::start().await;
    match tokio_tungstenite::connect_async(url(&off)).await {
        // Not a route then: the REST API's answer for an unknown path (401 without
        // credentials), never an upgrade.
        Err(Error::Http(answer)) => assert!(answer.status().is_client_error(), "{answer:?}"),
        other => panic!("the echo answered without being asked for: {other:?}"),
    }

    let on = TestServer::start_with(|c| c.realtime.websocket_echo = true).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(url(&on))
        .await
        .expect("the echo upgrades");
    for m in [
        Message::text("hello ✓"),
        Message::binary(vec![0u8, 255, 7]),
        Message::text("x".repeat(confab_protocol::frame::MAX_FRAME_BYTES)),
    ] {
        ws.send(m.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), m);
    }
    ws.send(Message::text(
        "x".repeat(confab_protocol::frame::MAX_FRAME_BYTES + 1),
    ))
    .await
    .unwrap();
    match ws.next().await {
        Some(Ok(Message::Close(Some(f)))) => assert_eq!(u16::from(f.code), 1009),
        other => panic!("an oversized message got {other:?}"),
    }
}
