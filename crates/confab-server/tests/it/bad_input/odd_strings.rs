//! The "no input makes it 500" sweep: odd strings into every string field of every create
//! endpoint, and bytes no form encoder would produce.

use confab_testkit::{Api, TestServer, form_body};
use reqwest::Method;

use super::FORM;
use crate::support::{self, contains_string};

const SQLISH: &[&str] = &[
    "'; DROP TABLE messages;--",
    "Robert'); DROP TABLE conversations;--",
    "\" OR \"1\"=\"1",
    "1; SELECT * FROM participants WHERE '1'='1",
];

pub(crate) fn odd_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "\u{0}",
        "nul\u{0}inside",
        "\u{7}\u{8}\u{1b}[31mred",
        "line\nbreak\r\n",
        "\t",
        "%FF%FE",
        "%",
        "日本語のテキスト",
        "\u{202E}gnp.exe",
        "\u{FEFF}",
        "\u{10FFFF}",
        "🎉🎉",
        "",
        " ",
        "null",
        "{\"a\":",
        "[]",
        "-1",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "${jndi:ldap://x}",
        "PT1M",
        "2024-01-01",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.extend(SQLISH.iter().map(|s| (*s).to_owned()));
    v.extend(["x".repeat(100_000), "é".repeat(5000), "🎉".repeat(300)]);
    v
}

/// Sends one odd request; it must not be a 5xx, an error must carry a code, and whatever is
/// accepted must read back as answered (with SQL-ish text verbatim). Returns the status.
async fn probe(api: &Api, path: &str, body: Vec<u8>, value: Option<&str>) -> u16 {
    let reply = api.raw(Method::POST, path, &[FORM], body).await;
    let what = format!(
        "POST {path} ({:?})",
        value.map(|v| v.chars().take(40).collect::<String>())
    );
    assert!(
        reply.status < 500,
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    if reply.status >= 400 {
        assert!(
            reply.body["code"].as_u64().is_some(),
            "{what}: {}",
            reply.body
        );
        return reply.status;
    }
    if let Some(v) = value.filter(|v| SQLISH.contains(v)) {
        assert!(contains_string(&reply.body, v), "{what}: {}", reply.body);
    }
    let url = reply.body["url"].as_str().unwrap();
    assert_eq!(api.get(url).await.expect(200), reply.body, "{what}");
    reply.status
}

#[tokio::test]
async fn no_input_makes_the_server_answer_500() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv = support::conversation(&api, &[]).await;
    let parts = format!("/v1/Conversations/{conv}/Participants");
    let msgs = format!("/v1/Conversations/{conv}/Messages");
    let conv_fields = [
        "FriendlyName",
        "UniqueName",
        "Attributes",
        "State",
        "Timers.Inactive",
        "Timers.Closed",
        "MessagingServiceSid",
        "Bindings.Email.Address",
        "Bindings.Email.Name",
        "DateCreated",
        "DateUpdated",
    ];
    let mut created = 1;
    let mut n = 0;
    // Fields that take free text must take SQL-ish text (and give it back verbatim).
    let must_accept = |field: &str, value: &str, status: u16| {
        let text_fields = [
            "FriendlyName",
            "UniqueName",
            "Bindings.Email.Name",
            "Identity",
            "Author",
            "Body",
        ];
        if SQLISH.contains(&value) && text_fields.contains(&field) {
            assert_eq!(status, 201, "{field}={value}");
        }
    };
    for value in odd_strings() {
        for field in conv_fields {
            let body = form_body(&[(field, &value)]).into_bytes();
            let status = probe(&api, "/v1/Conversations", body, Some(&value)).await;
            must_accept(field, &value, status);
            if status == 201 {
                created += 1;
            }
        }
        for (field, with) in [
            ("Identity", vec![]),
            (
                "MessagingBinding.Address",
                vec![("MessagingBinding.ProxyAddress", "+15550000000")],
            ),
            (
                "MessagingBinding.ProxyAddress",
                vec![("MessagingBinding.Address", "+15550000001")],
            ),
            ("Attributes", vec![("Identity", "")]),
            ("RoleSid", vec![("Identity", "")]),
            ("DateCreated", vec![("Identity", "")]),
        ] {
            n += 1;
            let who = format!("user{n}");
            let mut form: Vec<(&str, &str)> = with
                .into_iter()
                .map(|(k, v)| (k, if k == "Identity" { who.as_str() } else { v }))
                .collect();
            form.push((field, &value));
            let status = probe(&api, &parts, form_body(&form).into_bytes(), Some(&value)).await;
            must_accept(field, &value, status);
        }
        for (field, with) in [
            ("Author", Some("x")),
            ("Body", None),
            ("Attributes", Some("x")),
            ("DateCreated", Some("x")),
        ] {
            let mut form = vec![(field, value.as_str())];
            form.extend(with.map(|b| ("Body", b)));
            let status = probe(&api, &msgs, form_body(&form).into_bytes(), Some(&value)).await;
            must_accept(field, &value, status);
        }
    }
    // Bytes no form encoder would produce: bad percent-escapes, raw invalid UTF-8.
    for raw in [
        &b"%FF%FE"[..],
        b"%",
        b"%G1%",
        b"\xff\xfe",
        b"%ED%A0%80",
        b"%00",
    ] {
        for (path, field) in [
            ("/v1/Conversations", "FriendlyName"),
            (&parts, "Identity"),
            (&msgs, "Body"),
        ] {
            let body = [field.as_bytes(), b"=", raw].concat();
            if probe(&api, path, body, None).await == 201 && path == "/v1/Conversations" {
                created += 1;
            }
        }
        probe(
            &api,
            &msgs,
            [b"=&&=x&Body=ok&", raw, b"=", raw].concat(),
            None,
        )
        .await;
    }
    for odd in [
        "%FF%FE",
        "%00",
        "%2e%2e%2f",
        "'%3B%20DROP%20TABLE%20messages%3B--",
    ] {
        for path in [
            format!("/v1/Conversations/{odd}"),
            format!("{parts}/{odd}"),
            format!("{msgs}/{odd}"),
        ] {
            let status = api.get(&path).await.status;
            assert!(status < 500, "GET {path}: {status}");
        }
    }
    let named = api
        .get("/v1/Conversations/'%3B%20DROP%20TABLE%20messages%3B--")
        .await
        .expect(200);
    assert_eq!(named["unique_name"], SQLISH[0]);
    // Still whole: every accepted conversation is listed, and the tables are all there.
    let (all, _) = api
        .collect_pages("/v1/Conversations?PageSize=100", "conversations")
        .await;
    assert_eq!(all.len(), created);
    api.get(&msgs).await.expect(200);
    api.get(&parts).await.expect(200);
}
