//! The token attack suite: forged, altered, stale and foreign access tokens, each tried at
//! `hello` and in `token.update` on a live session. None gets in: a `hello` ends in
//! `close {reason: denied}` with the attack's code and no `welcome`, a `token.update` is
//! answered with that code and the session goes on as the identity it was, with its old
//! token's expiry. A key dropped from the server's configuration takes its tokens with it.

use std::sync::Arc;

use confab_domain::Clock;
use confab_protocol::frame::{ClientFrame, CloseReason, ServerFrame};
use confab_protocol::token::{TOKEN_CTY, b64_encode};
use confab_server::{Credentials, ServerClock};
use confab_testkit::{RawClient, Received, TestServer, test_credentials};
use confab_token::sign_json;
use serde_json::{Value, json};

/// The server's clock (unix seconds): fixed, so each time-based attack sits exactly one second
/// past its bound.
const NOW: i64 = 1_800_000_000;
/// The server's default skew allowance.
const SKEW: i64 = 60;

struct Fixed;

impl Clock for Fixed {
    fn now_millis(&self) -> i64 {
        NOW * 1000
    }
}

async fn server_as(credentials: Credentials) -> TestServer {
    TestServer::start_as(credentials, |c| {
        c.clock = ServerClock(Arc::new(Fixed));
        c.token_skew_secs = SKEW;
    })
    .await
}

fn header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT", "cty": TOKEN_CTY })
}

fn claims(c: &Credentials, identity: &str) -> Value {
    json!({
        "jti": format!("{}-{NOW}", c.api_key_sid),
        "iss": c.api_key_sid,
        "sub": c.account_sid,
        "exp": NOW + 3600,
        "nbf": NOW,
        "grants": { "identity": identity, "chat": {} },
    })
}

fn signed(secret: &str, header: &Value, claims: &Value) -> String {
    sign_json(
        secret,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

/// A token with a good signature over `claims` as changed by `change`.
fn with_claims(c: &Credentials, change: impl FnOnce(&mut Value)) -> String {
    let mut cl = claims(c, "mallory");
    change(&mut cl);
    signed(&c.api_key_secret, &header(), &cl)
}

/// A token with a good signature under a header changed by `change`.
fn with_header(c: &Credentials, change: impl FnOnce(&mut Value)) -> String {
    let mut h = header();
    change(&mut h);
    signed(&c.api_key_secret, &h, &claims(c, "mallory"))
}

/// Removes `key` from a JSON object.
fn remove(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

/// Replaces part `i` (0 header, 1 claims, 2 signature) of a token.
fn swap_part(token: &str, i: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[i] = part;
    parts.join(".")
}

/// Every attack with the code it must be refused with.
fn attacks(c: &Credentials) -> Vec<(String, String, u32)> {
    let good = signed(&c.api_key_secret, &header(), &claims(c, "mallory"));
    let parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut a: Vec<(String, String, u32)> = vec![];
    let mut add = |name: &str, token: String, code: u32| a.push((name.to_owned(), token, code));

    // The header: only HS256 with the product's typ and cty; refused before any key is used.
    for alg in [
        "none", "None", "NONE", "", "hs256", "HS256 ", "HS384", "HS512",
    ] {
        add(
            &format!("alg {alg:?}, HMAC-signed"),
            with_header(c, |h| h["alg"] = json!(alg)),
            20102,
        );
    }
    add(
        "alg none, no signature",
        format!(
            "{}.{}.",
            b64_encode(br#"{"alg":"none","typ":"JWT","cty":"twilio-fpa;v=1"}"#),
            parts[1]
        ),
        20102,
    );
    // HS/RS confusion: an asymmetric alg whose "public key" is fed to HMAC. Nothing here
    // ever verifies anything but HS256, so the header alone refuses it.
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        add(
            &format!("alg {alg} signed with HMAC (key confusion)"),
            with_header(c, |h| h["alg"] = json!(alg)),
            20102,
        );
    }
    add(
        "alg as a list",
        with_header(c, |h| h["alg"] = json!(["HS256"])),
        20101,
    );
    add("alg missing", with_header(c, |h| remove(h, "alg")), 20101);
    add("typ missing", with_header(c, |h| remove(h, "typ")), 20102);
    add(
        "typ JWS",
        with_header(c, |h| h["typ"] = json!("JWS")),
        20102,
    );
    add("cty missing", with_header(c, |h| remove(h, "cty")), 20102);
    add(
        "cty of another product",
        with_header(c, |h| h["cty"] = json!("twilio-fpa;v=2")),
        20102,
    );
    // Changed after signing: the signature no longer covers what is read.
    let kid = b64_encode(
        json!({ "alg": "HS256", "typ": "JWT", "cty": TOKEN_CTY, "kid": "x" })
            .to_string()
            .as_bytes(),
    );
    add(
        "header changed after signing (kid added)",
        swap_part(&good, 0, &kid),
        20107,
    );
    add(
        "header swapped for alg none after signing",
        swap_part(
            &good,
            0,
            &b64_encode(br#"{"alg":"none","typ":"JWT","cty":"twilio-fpa;v=1"}"#),
        ),
        20102,
    );
    let mut forged = claims(c, "alice");
    add(
        "identity changed after signing",
        swap_part(&good, 1, &b64_encode(forged.to_string().as_bytes())),
        20107,
    );
    forged = claims(c, "mallory");
    forged["exp"] = json!(NOW + 86_000);
    add(
        "exp moved after signing",
        swap_part(&good, 1, &b64_encode(forged.to_string().as_bytes())),
        20107,
    );
    forged = claims(c, "mallory");
    forged["grants"]["chat"] = json!({ "service_sid": format!("IS{}", "0".repeat(32)) });
    add(
        "service changed after signing",
        swap_part(&good, 1, &b64_encode(forged.to_string().as_bytes())),
        20107,
    );
    add(
        "claims re-encoded with padding",
        swap_part(&good, 1, &format!("{}=", parts[1])),
        20107,
    );
    add("signature removed", swap_part(&good, 2, ""), 20107);
    // 40 of its 43 characters: still whole base64 groups, so it decodes (30 bytes) and only the
    // comparison can refuse it.
    add(
        "signature truncated",
        swap_part(&good, 2, &parts[2][..40]),
        20107,
    );
    add(
        "signature of another token",
        swap_part(
            &good,
            2,
            with_claims(c, |cl| cl["grants"]["identity"] = json!("alice"))
                .rsplit('.')
                .next()
                .unwrap_or_default(),
        ),
        20107,
    );
    add(
        "signature with a bit flipped",
        {
            let mut sig = parts[2].clone().into_bytes();
            sig[0] = if sig[0] == b'A' { b'B' } else { b'A' };
            swap_part(&good, 2, &String::from_utf8(sig).unwrap_or_default())
        },
        20107,
    );
    add(
        "signed with the auth token",
        signed(&c.auth_token, &header(), &claims(c, "mallory")),
        20107,
    );
    add(
        "signed with an empty secret",
        signed("", &header(), &claims(c, "mallory")),
        20107,
    );
    // Keys and accounts.
    let other_key = format!("SK{}", "e".repeat(32));
    add(
        "unknown API key",
        sign_json(
            "other-secret",
            header().to_string().as_bytes(),
            with_iss(c, &other_key).to_string().as_bytes(),
        ),
        20103,
    );
    add(
        "the account SID as issuer",
        signed(&c.auth_token, &header(), &with_iss(c, &c.account_sid)),
        20103,
    );
    add(
        "another account",
        with_claims(c, |cl| cl["sub"] = json!(format!("AC{}", "e".repeat(32)))),
        20103,
    );
    add(
        "account SID in lower case",
        with_claims(c, |cl| cl["sub"] = json!(c.account_sid.to_lowercase())),
        20103,
    );
    // Times, one second past each bound.
    add(
        "expired",
        with_claims(c, |cl| {
            cl["nbf"] = json!(NOW - 7200);
            cl["exp"] = json!(NOW - SKEW - 1)
        }),
        20104,
    );
    add(
        "expired long ago",
        with_claims(c, |cl| {
            cl["nbf"] = json!(0);
            cl["exp"] = json!(1)
        }),
        20104,
    );
    add(
        "exp at the smallest i64",
        with_claims(c, |cl| {
            remove(cl, "nbf");
            cl["exp"] = json!(i64::MIN)
        }),
        20104,
    );
    add(
        "not yet valid",
        with_claims(c, |cl| {
            cl["nbf"] = json!(NOW + SKEW + 1);
            cl["exp"] = json!(NOW + 3600)
        }),
        20105,
    );
    add(
        "lifetime of 24 hours and a second",
        with_claims(c, |cl| cl["exp"] = json!(NOW + 86_401)),
        20157,
    );
    add(
        "no nbf, exp 24 hours and a second ahead",
        with_claims(c, |cl| {
            remove(cl, "nbf");
            cl["exp"] = json!(NOW + 86_401)
        }),
        20157,
    );
    add(
        "nbf far in the past, exp far ahead",
        with_claims(c, |cl| {
            cl["nbf"] = json!(i64::MIN);
            cl["exp"] = json!(i64::MAX)
        }),
        20157,
    );
    add(
        "exp as a string",
        with_claims(c, |cl| cl["exp"] = json!((NOW + 3600).to_string())),
        20101,
    );
    add(
        "exp as a fraction",
        with_claims(c, |cl| cl["exp"] = json!(NOW as f64 + 0.5)),
        20101,
    );
    add(
        "exp past i64",
        swap_part(
            &good,
            1,
            &b64_encode(
                claims(c, "mallory")
                    .to_string()
                    .replace(
                        &format!("\"exp\":{}", NOW + 3600),
                        "\"exp\":99999999999999999999",
                    )
                    .as_bytes(),
            ),
        ),
        20101,
    );
    // Grants.
    add(
        "no identity",
        with_claims(c, |cl| cl["grants"] = json!({ "chat": {} })),
        20106,
    );
    add(
        "empty identity",
        with_claims(c, |cl| cl["grants"]["identity"] = json!("")),
        20106,
    );
    add(
        "identity not a string",
        with_claims(c, |cl| cl["grants"]["identity"] = json!(42)),
        20101,
    );
    for (what, identity) in [
        ("a newline", "mallory\nadmin"),
        ("a NUL", "mallory\0"),
        ("an escape", "mallory\u{1b}[2J"),
        ("a DEL", "mallory\u{7f}"),
        ("a C1 control", "mallory\u{85}"),
        ("a carriage return", "mallory\rINFO forged log line"),
    ] {
        add(
            &format!("identity with {what}"),
            with_claims(c, |cl| cl["grants"]["identity"] = json!(identity)),
            20106,
        );
    }
    add(
        "identity of 257 characters",
        with_claims(c, |cl| cl["grants"]["identity"] = json!("é".repeat(257))),
        20106,
    );
    add(
        "identity shaped like a participant SID",
        with_claims(c, |cl| {
            cl["grants"]["identity"] = json!(format!("MB{}", "0".repeat(32)))
        }),
        20106,
    );
    add(
        "no chat grant",
        with_claims(c, |cl| cl["grants"] = json!({ "identity": "mallory" })),
        20106,
    );
    add(
        "chat grant of another product's shape",
        with_claims(c, |cl| {
            cl["grants"] = json!({ "identity": "mallory", "video": {} })
        }),
        20106,
    );
    add(
        "a service this account lacks",
        with_claims(c, |cl| {
            cl["grants"]["chat"] = json!({ "service_sid": format!("IS{}", "e".repeat(32)) })
        }),
        20106,
    );
    add(
        "a service that is not a SID",
        with_claims(c, |cl| {
            cl["grants"]["chat"] = json!({ "service_sid": "' OR 1=1 --" })
        }),
        20106,
    );
    add(
        "duplicate identity keys",
        swap_part(
            &good,
            1,
            &b64_encode(
                claims(c, "mallory")
                    .to_string()
                    .replace(
                        "\"identity\":\"mallory\"",
                        "\"identity\":\"mallory\",\"identity\":\"alice\"",
                    )
                    .as_bytes(),
            ),
        ),
        20101,
    );
    // Not a token at all.
    add("empty", String::new(), 20101);
    add("two parts", format!("{}.{}", parts[0], parts[1]), 20101);
    add("four parts", format!("{good}.x"), 20101);
    add("not base64", "!!!.???.***".into(), 20101);
    add(
        "a basic-auth pair",
        format!("{}:{}", c.account_sid, c.auth_token),
        20101,
    );
    add(
        "claims not JSON",
        swap_part(&good, 1, &b64_encode(b"{\"iss\":")),
        20101,
    );
    // An unknown field is skipped, and skipping 50,000 nested arrays must not recurse 50,000
    // deep (serde_json skips without recursing): the claims read, and only the signature, which
    // covered other claims, refuses them.
    let deep = claims(c, "mallory").to_string().replacen(
        '{',
        &format!("{{\"x\":{}{},", "[".repeat(50_000), "]".repeat(50_000)),
        1,
    );
    add(
        "claims with an unknown field nested 50,000 deep",
        swap_part(&good, 1, &b64_encode(deep.as_bytes())),
        20107,
    );
    add(
        "a token of 200 KiB",
        format!("{}.{}.{}", parts[0], "A".repeat(200 * 1024), parts[2]),
        20101,
    );
    a
}

fn with_iss(c: &Credentials, iss: &str) -> Value {
    let mut cl = claims(c, "mallory");
    cl["iss"] = json!(iss);
    cl["jti"] = json!(format!("{iss}-{NOW}"));
    cl
}

/// `hello` with `token`: the denial's code, or a panic if it was let in.
async fn hello_code(server: &TestServer, name: &str, token: &str) -> u32 {
    let mut c = RawClient::connect(server.addr()).await.unwrap();
    c.hello(token, None).await;
    match c.next().await {
        Received::Frame(ServerFrame::Close {
            code,
            reason,
            message,
        }) => {
            assert_eq!(reason, CloseReason::Denied, "{name}: {message}");
            assert!(!message.is_empty(), "{name}");
            assert_eq!(
                c.until_closed().await,
                Some(CloseReason::Denied.ws_code()),
                "{name}"
            );
            code
        }
        other => panic!("{name}: let in at hello: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_forged_altered_stale_or_foreign_token_gets_in() {
    let creds = test_credentials();
    let server = server_as(creds.clone()).await;
    let attacks = attacks(&creds);
    assert!(attacks.len() >= 65, "{}", attacks.len());

    // One live session as alice, on a good token, takes every attack as a token.update.
    let good = signed(&creds.api_key_secret, &header(), &claims(&creds, "alice"));
    let (mut alice, welcome) = RawClient::join(server.addr(), &good, None).await;
    assert_eq!(welcome.identity, "alice");

    let mut tried = 0;
    for (name, token, code) in &attacks {
        assert_eq!(
            hello_code(&server, name, token).await,
            *code,
            "{name} at hello"
        );
        let err = alice
            .call("token.update", json!({ "token": token }))
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted by token.update"));
        assert_eq!(err.code, *code, "{name} in token.update: {}", err.message);
        tried += 2;
    }
    // A real token for someone else, or for another service, cannot move a session over.
    let bob = signed(&creds.api_key_secret, &header(), &claims(&creds, "bob"));
    let err = alice
        .call("token.update", json!({ "token": bob }))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20106, "{}", err.message);
    tried += 1;
    // The session is still alice's, on its first token: its own identity answers.
    let me = alice
        .call("user.get", json!({}))
        .await
        .expect("session goes on");
    assert_eq!(me["identity"], "alice");
    assert_eq!(server.realtime_closes("denied"), attacks.len() as u64);
    eprintln!("token attacks: {tried} tried at hello and in token.update, 0 accepted");
}

#[tokio::test]
async fn a_key_dropped_from_the_configuration_takes_its_tokens_with_it() {
    let old = test_credentials();
    let mut server = server_as(old.clone()).await;
    let token = signed(&old.api_key_secret, &header(), &claims(&old, "alice"));
    let (_, w) = RawClient::join(server.addr(), &token, None).await;
    assert_eq!(w.identity, "alice");

    // The key is rotated: the server restarts on the same data with only the new one.
    let new = Credentials {
        api_key_sid: format!("SK{}", "7".repeat(32)),
        api_key_secret: "rotated-secret".into(),
        ..old.clone()
    };
    server.restart_as(new.clone()).await;
    assert_eq!(hello_code(&server, "old key", &token).await, 20103);
    // A session on the new key cannot renew with a token of the old one either.
    let fresh = signed(&new.api_key_secret, &header(), &claims(&new, "alice"));
    let (mut alice, _) = RawClient::join(server.addr(), &fresh, None).await;
    let err = alice
        .call("token.update", json!({ "token": token }))
        .await
        .unwrap_err();
    assert_eq!(err.code, 20103, "{}", err.message);
    // The old token re-signed with the new key's SID but the old secret is still refused.
    let mixed = signed(&old.api_key_secret, &header(), &claims(&new, "alice"));
    assert_eq!(
        hello_code(&server, "old secret, new key SID", &mixed).await,
        20107
    );
    alice.send(&ClientFrame::Ping { t: 1 }).await;
    assert!(matches!(
        alice.next().await,
        Received::Frame(ServerFrame::Pong { .. })
    ));
}
