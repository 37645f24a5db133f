//! Bad input of every class gets a 4xx with a numeric code and changes nothing
//! ([`odd_strings`]: no input at all makes the server answer 500).

pub(crate) mod odd_strings;

use confab_testkit::{Api, TestServer, form_body};
use reqwest::Method;
use serde_json::Value;

use crate::support::{self, sid, unknown_sid};

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// A conversation with a participant and a message, and a second conversation whose unique
/// name is taken. Returns (conversation, participant, message) SIDs.
async fn fixture(api: &Api) -> (String, String, String) {
    let conv = support::conversation(
        api,
        &[
            ("UniqueName", "fixture"),
            ("FriendlyName", "F"),
            ("Attributes", r#"{"k":1}"#),
        ],
    )
    .await;
    support::conversation(api, &[("UniqueName", "taken")]).await;
    let p = sid(&support::participant(api, &conv, "alice").await);
    let m = sid(&support::message(api, &conv, "alice", "hello").await);
    (conv, p, m)
}

/// Sends a raw request, expects the error, and checks that nothing changed.
async fn refused(
    api: &Api,
    before: &Value,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    (status, code): (u16, u64),
) {
    let what = format!("{method} {path}");
    let reply = api.raw(method, path, headers, body).await;
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    reply.expect_error(status, code);
    assert_eq!(
        &support::dump(api).await,
        before,
        "{what} changed something"
    );
}

/// A form POST that must be refused and change nothing.
async fn refused_form(
    api: &Api,
    before: &Value,
    path: &str,
    form: &[(&str, &str)],
    want: (u16, u64),
) {
    let body = form_body(form).into_bytes();
    refused(api, before, Method::POST, path, &[FORM], body, want).await;
}

/// A raw request and the error it must get: method, path, headers, body, (status, code).
type Case<'a> = (Method, String, Vec<(&'a str, &'a str)>, Vec<u8>, (u16, u64));

const INVALID: (u16, u64) = (400, 20001);
const NOT_FOUND: (u16, u64) = (404, 20404);

#[tokio::test]
async fn invalid_parameters_are_refused_with_20001_and_change_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let (conv, p, m) = fixture(&api).await;
    let before = support::dump(&api).await;
    let c = format!("/v1/Conversations/{conv}");
    let (parts, msgs) = (format!("{c}/Participants"), format!("{c}/Messages"));
    let (part, msg) = (format!("{parts}/{p}"), format!("{msgs}/{m}"));
    let long = "n".repeat(257);
    let bad_json = "{\"a\": nope";
    let conv_attrs = format!("\"{}\"", "x".repeat(16 * 1024 - 1)); // 16 KiB + 1 byte
    let small_attrs = format!("\"{}\"", "x".repeat(4 * 1024 - 1)); // 4 KiB + 1 byte
    let big_body = "b".repeat(32 * 1024 + 1);
    let big_body_utf8 = "é".repeat(16 * 1024 + 1); // 16385 chars, 32770 bytes
    let sid_like = format!("CH{}", "1".repeat(32));
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        // Missing required field.
        (&msgs, vec![("Author", "alice")]),
        (&msgs, vec![("Body", "")]),
        (&msg, vec![("Body", "")]),
        // Wrong types.
        (&part, vec![("LastReadMessageIndex", "abc")]),
        (&part, vec![("LastReadMessageIndex", "-1")]),
        (&part, vec![("LastReadMessageIndex", "1.5")]),
        (
            "/v1/Conversations",
            vec![("FriendlyName", "x"), ("DateCreated", "notadate")],
        ),
        (&c, vec![("DateUpdated", "2024-13-45")]),
        (
            &parts,
            vec![("Identity", "bob"), ("DateCreated", "notadate")],
        ),
        (&msgs, vec![("Body", "x"), ("DateCreated", "notadate")]),
        (&msg, vec![("DateUpdated", "yesterday")]),
        ("/v1/Conversations", vec![("State", "bogus")]),
        (&c, vec![("State", "bogus")]),
        (&c, vec![("State", "initializing")]),
        ("/v1/Conversations", vec![("Timers.Inactive", "PT30S")]),
        ("/v1/Conversations", vec![("Timers.Closed", "10 minutes")]),
        (&c, vec![("Timers.Inactive", "P99999999999Y")]),
        ("/v1/Conversations", vec![("Timers.Closed", "P9999999Y")]),
        ("/v1/Conversations", vec![("MessagingServiceSid", "MGnope")]),
        ("/v1/Conversations", vec![("UniqueName", &sid_like)]),
        (&parts, vec![("Identity", "bob"), ("RoleSid", "RLnope")]),
        (&part, vec![("RoleSid", "admin")]),
        // Attributes that are not JSON.
        ("/v1/Conversations", vec![("Attributes", bad_json)]),
        (&c, vec![("Attributes", bad_json)]),
        (&parts, vec![("Identity", "bob"), ("Attributes", bad_json)]),
        (&part, vec![("Attributes", bad_json)]),
        (&msgs, vec![("Body", "x"), ("Attributes", bad_json)]),
        (&msg, vec![("Attributes", bad_json)]),
        // Over the limits.
        ("/v1/Conversations", vec![("FriendlyName", &long)]),
        (&c, vec![("FriendlyName", &long)]),
        (&c, vec![("UniqueName", &long)]),
        ("/v1/Conversations", vec![("Bindings.Email.Address", &long)]),
        (&parts, vec![("Identity", &long)]),
        (&msgs, vec![("Author", &long), ("Body", "x")]),
        (&msgs, vec![("Body", &big_body)]),
        (&msgs, vec![("Body", &big_body_utf8)]),
        (&msg, vec![("Body", &big_body)]),
        ("/v1/Conversations", vec![("Attributes", &conv_attrs)]),
        (&c, vec![("Attributes", &conv_attrs)]),
        (&msgs, vec![("Body", "x"), ("Attributes", &small_attrs)]),
        (&msg, vec![("Attributes", &small_attrs)]),
        (
            &parts,
            vec![("Identity", "bob"), ("Attributes", &small_attrs)],
        ),
        (&part, vec![("Attributes", &small_attrs)]),
        // Parameters this server cannot honour are refused, not dropped.
        (
            &msgs,
            vec![
                ("Body", "x"),
                ("MediaSid", "ME00000000000000000000000000000000"),
            ],
        ),
        (
            &msgs,
            vec![("ContentSid", "HX00000000000000000000000000000000")],
        ),
        (&msg, vec![("Subject", "hi")]),
    ];
    for (path, form) in &cases {
        refused_form(&api, &before, path, form, INVALID).await;
    }
}

#[tokio::test]
async fn limits_are_inclusive() {
    let server = TestServer::start().await;
    let api = server.api();
    let n256 = "n".repeat(256);
    let c = api
        .post(
            "/v1/Conversations",
            &[
                ("FriendlyName", &n256),
                ("Attributes", &format!("\"{}\"", "x".repeat(16 * 1024 - 2))),
            ],
        )
        .await
        .expect(201);
    assert_eq!(c["friendly_name"], n256.as_str());
    let conv = sid(&c);
    let p = support::participant(&api, &conv, &n256).await;
    assert_eq!(p["identity"], n256.as_str());
    let body = "é".repeat(16 * 1024);
    let m = support::message(&api, &conv, "system", &body).await;
    assert_eq!(m["body"], body.as_str());
}

#[tokio::test]
async fn unknown_sids_and_names_are_not_found_and_change_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let (conv, p, m) = fixture(&api).await;
    let before = support::dump(&api).await;
    let nc = format!("/v1/Conversations/{}", unknown_sid("CH"));
    let c = format!("/v1/Conversations/{conv}");
    let paths = [
        nc.clone(),
        "/v1/Conversations/no-such-name".to_owned(),
        format!("{nc}/Participants/{p}"),
        format!("{nc}/Messages/{m}"),
        format!("{c}/Participants/{}", unknown_sid("MB")),
        format!("{c}/Participants/nobody"),
        format!("{c}/Messages/{}", unknown_sid("IM")),
        format!("{c}/Messages/not-a-sid"),
        format!("{c}/Messages/{p}"),
        // Real SIDs, but of another conversation.
        format!("/v1/Conversations/taken/Participants/{p}"),
        "/v1/Conversations/taken/Participants/alice".to_owned(),
        format!("/v1/Conversations/taken/Messages/{m}"),
    ];
    for path in &paths {
        refused(&api, &before, Method::GET, path, &[], vec![], NOT_FOUND).await;
        refused(&api, &before, Method::DELETE, path, &[], vec![], NOT_FOUND).await;
        refused_form(&api, &before, path, &[("Attributes", "{}")], NOT_FOUND).await;
    }
    for path in [format!("{nc}/Participants"), format!("{nc}/Messages")] {
        refused(&api, &before, Method::GET, &path, &[], vec![], NOT_FOUND).await;
        let form = [("Identity", "x"), ("Body", "x")];
        refused_form(&api, &before, &path, &form, NOT_FOUND).await;
    }
}

#[tokio::test]
async fn bad_requests_of_every_other_kind_get_their_own_codes() {
    let server = TestServer::start().await;
    let api = server.api();
    let (conv, _, m) = fixture(&api).await;
    let before = support::dump(&api).await;
    let c = format!("/v1/Conversations/{conv}");
    let msgs = format!("{c}/Messages");
    let msg = format!("{msgs}/{m}");
    let json = [("Content-Type", "application/json")];
    let json_body = br#"{"Body":"hi","FriendlyName":"x"}"#.to_vec();
    let hook = |v| vec![FORM, ("X-Twilio-Webhook-Enabled", v)];
    let huge = format!("Body={}", "x".repeat(1024 * 1024 + 1)).into_bytes();
    let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
    let mut cases: Vec<Case<'_>> = vec![];
    // A JSON body where a form is expected.
    for path in [msgs.as_str(), "/v1/Conversations", &c] {
        cases.push((
            post.clone(),
            path.into(),
            json.to_vec(),
            json_body.clone(),
            INVALID,
        ));
    }
    // Unknown paths.
    for path in [
        "/v1/Nope",
        "/v2/Conversations",
        "/nope", // ("/" is the web page)
        &format!("{c}/Webhooks"),
        &format!("{msg}/y/z"),
    ] {
        cases.push((get.clone(), path.into(), vec![], vec![], NOT_FOUND));
        cases.push((
            post.clone(),
            path.into(),
            vec![FORM],
            b"A=1".to_vec(),
            NOT_FOUND,
        ));
    }
    // Known paths, wrong method.
    for (method, path) in [
        (Method::PUT, "/v1/Conversations"),
        (delete.clone(), "/v1/Conversations"),
        (Method::PATCH, c.as_str()),
        (Method::PUT, msgs.as_str()),
        (delete.clone(), "/v1/Configuration"),
    ] {
        cases.push((
            method,
            path.into(),
            vec![FORM],
            b"FriendlyName=x".to_vec(),
            (405, 20405),
        ));
    }
    // The webhook header is true or false, nothing else, on every write.
    for v in ["maybe", "TRUE", "1", ""] {
        cases.push((
            post.clone(),
            msgs.clone(),
            hook(v),
            b"Body=x".to_vec(),
            INVALID,
        ));
    }
    cases.push((delete.clone(), msg.clone(), hook("maybe"), vec![], INVALID));
    cases.push((delete, c.clone(), hook("maybe"), vec![], INVALID));
    cases.push((post.clone(), msgs.clone(), vec![FORM], huge, (413, 20413)));
    // Oversized: a form of 200,000 parameters, and one of 300,000 bad escapes (both within
    // the body limit).
    let many = "A=1&".repeat(200_000).into_bytes();
    cases.push((
        post.clone(),
        "/v1/Conversations".into(),
        vec![FORM],
        [many.as_slice(), b"Attributes=nope"].concat(),
        INVALID,
    ));
    cases.push((
        post,
        msgs.clone(),
        vec![FORM],
        "Body="
            .bytes()
            .chain("%".repeat(300_000).into_bytes())
            .collect(),
        INVALID,
    ));
    // Bad list parameters.
    for q in ["Order=sideways", "Order=ASC", "PageSize=abc", "Page=-1"] {
        cases.push((get.clone(), format!("{msgs}?{q}"), vec![], vec![], INVALID));
    }
    for q in ["Order=desc", "StartDate=soon", "State=open"] {
        cases.push((
            get.clone(),
            format!("/v1/Conversations?{q}"),
            vec![],
            vec![],
            INVALID,
        ));
    }
    let n = cases.len();
    for (method, path, headers, body, want) in cases {
        refused(&api, &before, method, &path, &headers, body, want).await;
    }
    eprintln!("bad requests: {n} tried, each refused with its code, nothing changed");
    // Attributes nested 8,000 deep are valid JSON within the size limit: taken, and read back
    // as sent (the server checks them without recursing, and keeps them as text).
    let deep = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    let made = api
        .post("/v1/Conversations", &[("Attributes", &deep)])
        .await
        .expect(201);
    assert_eq!(made["attributes"].as_str(), Some(deep.as_str()));
}

#[tokio::test]
async fn webhook_header_true_and_false_are_accepted() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let msgs = format!("/v1/Conversations/{conv}/Messages");
    for (i, v) in ["true", "false"].into_iter().enumerate() {
        let headers = [FORM, ("X-Twilio-Webhook-Enabled", v)];
        let m = api
            .raw(
                Method::POST,
                &msgs,
                &headers,
                format!("Body={v}").into_bytes(),
            )
            .await
            .expect(201);
        assert_eq!(
            (m["index"].as_u64(), m["body"].as_str()),
            (Some(i as u64), Some(v))
        );
    }
}

#[tokio::test]
async fn a_huge_page_number_does_not_break_the_next_page_url() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    for i in 0..3 {
        support::message(&api, &conv, "system", &format!("m{i}")).await;
    }
    let page = api
        .get(&format!(
            "/v1/Conversations/{conv}/Messages?PageSize=1&Page=4294967295"
        ))
        .await
        .expect(200);
    assert_eq!(page["messages"][0]["index"], 0);
    let next = page["meta"]["next_page_url"].as_str().unwrap();
    assert_eq!(api.get(next).await.expect(200)["messages"][0]["index"], 1);
}
