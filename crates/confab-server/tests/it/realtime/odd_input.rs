//! Odd input over realtime: every string parameter of every method that takes one is sent
//! each odd string of the REST sweep (SQL, JSON and markup fragments, control characters,
//! NUL, bidi overrides, 100,000 characters, ...). Each call is answered: what is taken is
//! stored verbatim, what is refused carries a 4xx code, and the session goes on. Frames that
//! are not JSON a server should read (nested 100,000 deep, invalid UTF-8 in a text frame)
//! close only their own session.

use confab_protocol::frame::CloseReason;
use confab_server::rest::rate_limit::RateLimit;
use confab_testkit::TestServer;
use confab_testkit::wire::Wire;
use serde_json::{Value, json};

use crate::bad_input::odd_strings::odd_strings;

/// The method, its fixed parameters, the parameter that gets the odd string, and the field of
/// the result that must hold it verbatim when the call succeeds.
fn targets(
    conv: &str,
    message: &str,
    participant: &str,
) -> Vec<(&'static str, Value, &'static str, Option<&'static str>)> {
    vec![
        (
            "message.send",
            json!({ "conversation": conv }),
            "body",
            Some("body"),
        ),
        (
            "message.send",
            json!({ "conversation": conv, "body": "b" }),
            "attributes",
            Some("attributes"),
        ),
        (
            "message.update",
            json!({ "conversation": conv, "message": message }),
            "body",
            Some("body"),
        ),
        (
            "message.update",
            json!({ "conversation": conv, "message": message }),
            "attributes",
            Some("attributes"),
        ),
        (
            "conversation.create",
            json!({}),
            "friendlyName",
            Some("friendly_name"),
        ),
        (
            "conversation.create",
            json!({}),
            "uniqueName",
            Some("unique_name"),
        ),
        (
            "conversation.create",
            json!({}),
            "attributes",
            Some("attributes"),
        ),
        (
            "conversation.update",
            json!({ "conversation": conv }),
            "friendlyName",
            Some("friendly_name"),
        ),
        (
            "conversation.update",
            json!({ "conversation": conv }),
            "attributes",
            Some("attributes"),
        ),
        (
            "participant.add",
            json!({ "conversation": conv }),
            "identity",
            Some("identity"),
        ),
        (
            "participant.update",
            json!({ "conversation": conv, "participant": participant }),
            "attributes",
            Some("attributes"),
        ),
        (
            "user.update",
            json!({}),
            "friendlyName",
            Some("friendly_name"),
        ),
        ("user.update", json!({}), "attributes", Some("attributes")),
        // Lookup keys: found or not, never an error of the server's.
        ("conversation.get", json!({}), "conversation", None),
        (
            "message.get",
            json!({ "conversation": conv }),
            "message",
            None,
        ),
        (
            "participant.get",
            json!({ "conversation": conv }),
            "participant",
            None,
        ),
        ("user.get", json!({}), "identity", None),
        (
            "message.list",
            json!({ "conversation": conv }),
            "pageToken",
            None,
        ),
        (
            "message.list",
            json!({ "conversation": conv }),
            "order",
            None,
        ),
        (
            "conversation.setNotificationLevel",
            json!({ "conversation": conv }),
            "level",
            None,
        ),
        ("token.update", json!({}), "token", None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_string_parameter_takes_any_string_and_answers_it() {
    let unlimited = RateLimit {
        per_second: 1e9,
        burst: u32::MAX,
    };
    let server = TestServer::start_with(|c| {
        c.realtime.identity_rate = unlimited;
        c.realtime.conversation_rate = unlimited;
    })
    .await;
    // alice administers the conversation, so that what is refused is refused for its value,
    // not for her role.
    let api = server.api();
    let conv = crate::support::sid(&api.post("/v1/Conversations", &[]).await.expect(201));
    let admin = crate::support::role_sid(&api, "/v1", "conversation admin").await;
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[("Identity", "alice"), ("RoleSid", &admin)],
    )
    .await
    .expect(201);
    let (mut alice, _) = server.realtime("alice").await;
    let first = alice
        .call(
            "message.send",
            json!({ "conversation": conv, "body": "first" }),
        )
        .await
        .expect("a message of alice's");
    let message = first["sid"].as_str().unwrap().to_owned();
    let participant = first["participant_sid"].as_str().unwrap().to_owned();

    let (mut calls, mut taken) = (0, 0);
    for (method, fixed, field, echoed) in targets(&conv, &message, &participant) {
        for odd in odd_strings() {
            let mut params = fixed.clone();
            params[field] = json!(odd);
            calls += 1;
            match alice.call(method, params).await {
                Ok(result) => {
                    taken += 1;
                    // An empty name is no name (documented: `""` clears a unique name).
                    if let Some(echo) = echoed.filter(|_| !odd.is_empty()) {
                        assert_eq!(
                            result[echo].as_str(),
                            Some(odd.as_str()),
                            "{method} {field}: stored as something else"
                        );
                    }
                }
                Err(e) => {
                    assert!(
                        (400..500).contains(&e.status) && e.code >= 20000,
                        "{method} {field}={:?}: {e:?}",
                        odd.chars().take(40).collect::<String>()
                    );
                }
            }
        }
    }
    // What was stored reads back as it was sent, SQL fragments included, through REST too.
    let page = server
        .api()
        .get(&format!(
            "/v1/Conversations/{conv}/Messages?PageSize=100&Order=desc"
        ))
        .await
        .expect(200);
    let bodies: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(bodies.contains(&"'; DROP TABLE messages;--"), "{bodies:?}");
    let me = alice
        .call("user.get", json!({}))
        .await
        .expect("session goes on");
    assert_eq!(me["identity"], "alice");
    eprintln!(
        "odd strings over realtime: {calls} calls, {taken} taken verbatim, the rest refused with a 4xx code, none failed"
    );
}

#[tokio::test]
async fn frames_no_parser_should_take_close_only_their_own_session() {
    let server = TestServer::start().await;
    let (mut bystander, _) = server.realtime("bob").await;

    // Params nested 100,000 deep: refused by the JSON reader's depth limit, not by the stack.
    let (mut deep, _) = server.realtime("alice").await;
    deep.send_text(&format!(
        r#"{{"op":"req","id":1,"method":"message.send","params":{{"body":{}{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    ))
    .await;
    let (reason, code, _) = deep.closed().await;
    assert_eq!((reason, code), (CloseReason::ProtocolError, 20010));

    // A text frame that is not UTF-8, written by hand (no WebSocket library sends one): the
    // server ends the connection rather than read on.
    let mut wire = Wire::upgrade(server.addr()).await;
    wire.text_bytes(&[0xFF, 0xFE, 0xFD, 0xFC]).await;
    wire.until_closed().await;

    let me = bystander
        .call("user.get", json!({}))
        .await
        .expect("untouched");
    assert_eq!(me["identity"], "bob");
    let (mut again, _) = server.realtime("alice").await;
    again
        .call("user.get", json!({}))
        .await
        .expect("new sessions are taken");
}
