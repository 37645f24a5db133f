//! The shared lifecycle scenarios (`testing/confab-testkit/scenarios/lifecycle.json`), run by
//! the Rust SDK. The browser SDK runs the same file in headless Chromium
//! (`web/tests/lifecycle.test.mjs`); the file's `about` says what each step means.

use std::time::Duration;

use confab_client::{Client, ClientEvent, Events};
use confab_testkit::{FaultProxy, LIFECYCLE_SCENARIOS, TestServer};
use serde_json::Value;

use crate::support::{WAIT, now_secs, options};

/// An event as the scenario file names it; `None` for events it does not track.
fn name(e: &ClientEvent) -> Option<String> {
    Some(match e {
        ClientEvent::ConnectionStateChanged(s) => format!("connection:{}", s.as_str()),
        ClientEvent::StateChanged(s) => format!("state:{}", s.as_str()),
        ClientEvent::ConnectionError { code, .. } => format!("error:{code}"),
        ClientEvent::TokenAboutToExpire { .. } => "tokenAboutToExpire".into(),
        ClientEvent::TokenExpired => "tokenExpired".into(),
        ClientEvent::MessageAdded(m) => format!("message:{}", m.body().unwrap_or_default()),
        _ => return None,
    })
}

/// Index after the last of `want` matched in order from `from`.
fn match_from(log: &[String], from: usize, want: &[String]) -> Option<usize> {
    let mut i = from;
    for w in want {
        i += log[i..].iter().position(|e| e == w)?;
        i += 1;
    }
    Some(i)
}

struct Run {
    log: Vec<String>,
    events: Option<Events>,
}

impl Run {
    /// Takes every event already delivered, without waiting.
    async fn drain(&mut self) {
        let Some(events) = self.events.as_mut() else {
            return;
        };
        while let Ok(Some(e)) = tokio::time::timeout(Duration::ZERO, events.next()).await {
            self.log.extend(name(&e));
        }
    }

    /// Waits for the next event, until `deadline`.
    async fn next(&mut self, deadline: tokio::time::Instant) -> bool {
        let Some(events) = self.events.as_mut() else {
            return false;
        };
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(e)) => {
                self.log.extend(name(&e));
                true
            }
            _ => false,
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

async fn run(scenario: &Value) {
    let scenario_name = scenario["name"].as_str().unwrap();
    let mut server = TestServer::start_with(|c| c.token_skew_secs = 1).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap();
    let identity = format!("rust-{scenario_name}");
    let mut run = Run {
        log: vec![],
        events: None,
    };
    let mut client: Option<Client> = None;
    let mut first_exp = 0;
    let mut conversation = String::new();
    let mut cursor = 0;
    for step in scenario["steps"].as_array().unwrap() {
        if let Some(want) = step.get("expect") {
            let want = strings(want);
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                if let Some(end) = match_from(&run.log, cursor, &want) {
                    cursor = end;
                    break;
                }
                assert!(
                    run.next(deadline).await,
                    "{scenario_name}: expected {want:?} from {cursor}; log: {:?}",
                    run.log
                );
            }
            continue;
        }
        run.drain().await;
        if let Some(exactly) = step.get("exactly") {
            assert_eq!(run.log, strings(exactly), "{scenario_name}");
        } else if let Some(never) = step.get("never") {
            for e in strings(never) {
                assert!(
                    !run.log[cursor..].contains(&e),
                    "{scenario_name}: {e} must not happen; log: {:?}",
                    run.log
                );
            }
        } else if let Some(once) = step.get("once") {
            for e in strings(once) {
                let n = run.log.iter().filter(|x| **x == e).count();
                assert_eq!(
                    n, 1,
                    "{scenario_name}: {e} exactly once; log: {:?}",
                    run.log
                );
            }
        } else {
            let ttl = step["ttl"].as_i64().unwrap_or(3600);
            match step["do"].as_str().unwrap() {
                "start" => {
                    let token = if step["wrongSecret"] == true {
                        let key = confab_token::ApiKey {
                            sid: server.credentials().api_key_sid.clone(),
                            secret: "not-the-secret".into(),
                        };
                        confab_token::mint(
                            &key,
                            &confab_token::TokenSpec {
                                account_sid: &server.credentials().account_sid,
                                identity: &identity,
                                service_sid: None,
                                now: now_secs(),
                                ttl_secs: ttl,
                            },
                        )
                    } else {
                        server.token_with(&identity, None, ttl)
                    };
                    first_exp = confab_protocol::token::decode_unverified(&token)
                        .unwrap()
                        .claims
                        .exp;
                    let mut opts = options(proxy.local_addr());
                    if let Some(lead) = step["tokenLeadMs"].as_u64() {
                        opts.token_lead = Duration::from_millis(lead);
                    }
                    let (c, events) = Client::new(token, opts);
                    client = Some(c);
                    run.events = Some(events);
                }
                "renew" => {
                    let token = server.token_with(&identity, None, ttl);
                    let c = client.as_ref().unwrap();
                    tokio::time::timeout(WAIT, c.update_token(token))
                        .await
                        .expect("updateToken answers")
                        .expect("updateToken succeeds");
                }
                "waitPastFirstExpiry" => {
                    // Nothing to wait on: this checks that nothing happens until then.
                    let until = (first_exp + 2) * 1000 + 500;
                    let now_ms = now_secs() * 1000;
                    tokio::time::sleep(Duration::from_millis((until - now_ms).max(0) as u64)).await;
                }
                "roundTrip" => {
                    let c = client.as_ref().unwrap();
                    tokio::time::timeout(WAIT, c.subscribed_conversations(5))
                        .await
                        .expect("a round trip answers")
                        .expect("a round trip succeeds");
                }
                "createConversation" => {
                    let c = client.as_ref().unwrap();
                    let conv = c.create_conversation(Some("scenario")).await.unwrap();
                    c.join(conv.sid.as_str()).await.unwrap();
                    conversation = conv.sid.to_string();
                }
                "post" => {
                    let body = step["body"].as_str().unwrap();
                    server
                        .api()
                        .post(
                            &format!("/v1/Conversations/{conversation}/Messages"),
                            &[("Body", body), ("Author", "system")],
                        )
                        .await
                        .expect(201);
                }
                "restartServer" => server.restart_same_port().await,
                "offline" => {
                    proxy.refuse_new(true);
                    proxy.cut_all();
                }
                "online" => {
                    proxy.refuse_new(false);
                    // The Rust counterpart of the browser's `online` event.
                    client.as_ref().unwrap().reconnect();
                }
                other => panic!("{scenario_name}: unknown step {other}"),
            }
        }
    }
    if let Some(c) = client {
        c.shutdown().await;
    }
}

/// Runs the scenario of that name from the file.
async fn scenario(wanted: &str) {
    let file: Value = serde_json::from_str(LIFECYCLE_SCENARIOS).unwrap();
    let found = file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == wanted);
    run(found.unwrap_or_else(|| panic!("no scenario {wanted}"))).await;
}

/// One test per scenario, so that they run in parallel; this list must name them all.
const NAMES: [&str; 6] = [
    "initialized",
    "failed_on_a_bad_token",
    "renewal_without_reconnecting",
    "expiry_then_a_new_token",
    "reconnect_after_a_server_restart",
    "offline_then_online",
];

#[test]
fn every_scenario_of_the_file_has_its_test() {
    let file: Value = serde_json::from_str(LIFECYCLE_SCENARIOS).unwrap();
    let names: Vec<&str> = file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, NAMES);
}

#[tokio::test]
async fn scenario_initialized() {
    scenario(NAMES[0]).await;
}

#[tokio::test]
async fn scenario_failed_on_a_bad_token() {
    scenario(NAMES[1]).await;
}

#[tokio::test]
async fn scenario_renewal_without_reconnecting() {
    scenario(NAMES[2]).await;
}

#[tokio::test]
async fn scenario_expiry_then_a_new_token() {
    scenario(NAMES[3]).await;
}

#[tokio::test]
async fn scenario_reconnect_after_a_server_restart() {
    scenario(NAMES[4]).await;
}

#[tokio::test]
async fn scenario_offline_then_online() {
    scenario(NAMES[5]).await;
}
