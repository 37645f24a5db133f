//! Helpers shared by the REST test modules: SID and time checks, quick factories, and a full
//! dump of everything the API can show (to prove that bad input changed nothing, and that a
//! restart lost nothing).

use std::time::{SystemTime, UNIX_EPOCH};

use confab_testkit::Api;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `sid` of a resource, owned.
pub fn sid(v: &Value) -> String {
    v["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid in {v}"))
        .to_owned()
}

/// True if `s` is a SID with this prefix: two letters and 32 lowercase hex digits.
pub fn is_sid(prefix: &str, s: &str) -> bool {
    s.len() == 34
        && s.starts_with(prefix)
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A SID of `prefix` that names nothing.
pub fn unknown_sid(prefix: &str) -> String {
    format!("{prefix}{}", "0".repeat(32))
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// `names` sorted, as owned strings (to compare with [`keys`]).
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut n: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    n.sort();
    n
}

/// Parses a time in the reference's exact shape, `2015-12-16T22:18:37Z`, to unix seconds;
/// panics on any other shape.
pub fn iso_secs(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a time string: {v}"));
    let b = s.as_bytes();
    let shape_ok = b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(shape_ok, "not YYYY-MM-DDTHH:MM:SSZ: {s}");
    OffsetDateTime::parse(s, &Rfc3339)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .unix_timestamp()
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Creates a conversation and returns its SID.
pub async fn conversation(api: &Api, fields: &[(&str, &str)]) -> String {
    sid(&api.post("/v1/Conversations", fields).await.expect(201))
}

/// Adds a chat participant and returns it.
pub async fn participant(api: &Api, conv: &str, identity: &str) -> Value {
    api.post(
        &format!("/v1/Conversations/{conv}/Participants"),
        &[("Identity", identity)],
    )
    .await
    .expect(201)
}

/// Adds a message and returns it.
pub async fn message(api: &Api, conv: &str, author: &str, body: &str) -> Value {
    api.post(
        &format!("/v1/Conversations/{conv}/Messages"),
        &[("Author", author), ("Body", body)],
    )
    .await
    .expect(201)
}

/// Everything the REST API shows: the configuration, every conversation (listed and fetched),
/// and each one's participants and messages (listed and fetched one by one).
pub async fn dump(api: &Api) -> Value {
    let config = api.get("/v1/Configuration").await.expect(200);
    let (convs, _) = api
        .collect_pages("/v1/Conversations?PageSize=7", "conversations")
        .await;
    let mut out = vec![];
    for c in &convs {
        let s = sid(c);
        let fetched = api.get(&format!("/v1/Conversations/{s}")).await.expect(200);
        assert_eq!(&fetched, c, "list and fetch disagree");
        let (parts, _) = api
            .collect_pages(
                &format!("/v1/Conversations/{s}/Participants?PageSize=7"),
                "participants",
            )
            .await;
        let (msgs, _) = api
            .collect_pages(
                &format!("/v1/Conversations/{s}/Messages?PageSize=7"),
                "messages",
            )
            .await;
        for item in parts.iter().chain(&msgs) {
            let url = item["url"].as_str().unwrap();
            assert_eq!(
                &api.get(url).await.expect(200),
                item,
                "list and fetch disagree"
            );
        }
        out.push(serde_json::json!({
            "conversation": c, "participants": parts, "messages": msgs,
        }));
    }
    serde_json::json!({ "configuration": config, "conversations": out })
}

/// `v` with every occurrence of `origin` in its strings replaced by `http://HOST`, so that
/// answers from two ports compare equal.
pub fn without_origin(v: &Value, origin: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(origin, "http://HOST")),
        Value::Array(a) => a.iter().map(|x| without_origin(x, origin)).collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| (k.clone(), without_origin(x, origin)))
            .collect(),
        other => other.clone(),
    }
}

/// True if some string anywhere in `v` equals `s`.
pub fn contains_string(v: &Value, s: &str) -> bool {
    match v {
        Value::String(x) => x == s,
        Value::Array(a) => a.iter().any(|x| contains_string(x, s)),
        Value::Object(o) => o.values().any(|x| contains_string(x, s)),
        _ => false,
    }
}

/// Creates a custom conversation role in the default service and returns its SID.
pub async fn conversation_role(api: &Api) -> String {
    let r = api
        .post(
            "/v1/Roles",
            &[
                ("FriendlyName", "agent"),
                ("Type", "conversation"),
                ("Permission", "sendMessage"),
            ],
        )
        .await
        .expect(201);
    sid(&r)
}

/// Creates a service and returns its SID.
pub async fn service(api: &Api, name: &str) -> String {
    sid(&api
        .post("/v1/Services", &[("FriendlyName", name)])
        .await
        .expect(201))
}

/// The account's default service, from `GET /v1/Configuration`.
pub async fn default_service(api: &Api) -> String {
    api.get("/v1/Configuration").await.expect(200)["default_chat_service_sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The roles of the service under `base` (`/v1` or `/v1/Services/IS…`), by friendly name.
pub async fn roles_by_name(api: &Api, base: &str) -> std::collections::BTreeMap<String, Value> {
    let (roles, _) = api
        .collect_pages(&format!("{base}/Roles?PageSize=50"), "roles")
        .await;
    roles
        .into_iter()
        .map(|r| (r["friendly_name"].as_str().unwrap().to_owned(), r))
        .collect()
}

/// The SID of the role named `name` in the service under `base`.
pub async fn role_sid(api: &Api, base: &str, name: &str) -> String {
    sid(&roles_by_name(api, base).await[name])
}

/// Creates a role in the service under `base` and returns its SID.
pub async fn new_role(api: &Api, base: &str, name: &str, kind: &str, permission: &str) -> String {
    sid(&api
        .post(
            &format!("{base}/Roles"),
            &[
                ("FriendlyName", name),
                ("Type", kind),
                ("Permission", permission),
            ],
        )
        .await
        .expect(201))
}

/// Sends a form with an `X-Twilio-Webhook-Enabled` header.
pub async fn with_webhook_header(
    api: &Api,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
    value: &str,
) -> confab_testkit::Reply {
    let mut headers = vec![("X-Twilio-Webhook-Enabled", value)];
    if !form.is_empty() {
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    api.raw(
        method,
        path,
        &headers,
        confab_testkit::form_body(form).into_bytes(),
    )
    .await
}

/// Everything every service shows through its scoped paths: the account configuration, and
/// for each service its configuration, roles, users (with their user conversations) and
/// conversations (with participants and messages). Proves that a refused request changed
/// nothing anywhere.
pub async fn dump_all(api: &Api) -> Value {
    let account = api.get("/v1/Configuration").await.expect(200);
    let (services, _) = api
        .collect_pages("/v1/Services?PageSize=7", "services")
        .await;
    let mut out = vec![];
    for s in &services {
        let base = format!("/v1/Services/{}", sid(s));
        let config = api.get(&format!("{base}/Configuration")).await.expect(200);
        let (roles, _) = api
            .collect_pages(&format!("{base}/Roles?PageSize=7"), "roles")
            .await;
        let (users, _) = api
            .collect_pages(&format!("{base}/Users?PageSize=7"), "users")
            .await;
        let mut user_conversations = vec![];
        for u in &users {
            let (ucs, _) = api
                .collect_pages(
                    &format!("{base}/Users/{}/Conversations?PageSize=7", sid(u)),
                    "conversations",
                )
                .await;
            user_conversations.push(ucs);
        }
        let (convs, _) = api
            .collect_pages(&format!("{base}/Conversations?PageSize=7"), "conversations")
            .await;
        let mut conversations = vec![];
        for c in &convs {
            let cs = sid(c);
            let (parts, _) = api
                .collect_pages(
                    &format!("{base}/Conversations/{cs}/Participants?PageSize=7"),
                    "participants",
                )
                .await;
            let (msgs, _) = api
                .collect_pages(
                    &format!("{base}/Conversations/{cs}/Messages?PageSize=7"),
                    "messages",
                )
                .await;
            conversations.push(serde_json::json!({
                "conversation": c, "participants": parts, "messages": msgs,
            }));
        }
        out.push(serde_json::json!({
            "service": s,
            "configuration": config,
            "roles": roles,
            "users": users,
            "user_conversations": user_conversations,
            "conversations": conversations,
        }));
    }
    serde_json::json!({ "configuration": account, "services": out })
}
