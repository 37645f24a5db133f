//! `…/Roles`: the four default roles of every service, custom roles, and where a role may be
//! assigned.

use confab_testkit::TestServer;
use serde_json::json;

use crate::support::{self, is_sid, iso_secs, keys, now_secs, sid, sorted, unknown_sid};

const ROLE_FIELDS: &[&str] = &[
    "sid",
    "account_sid",
    "chat_service_sid",
    "friendly_name",
    "type",
    "permissions",
    "date_created",
    "date_updated",
    "url",
];

/// The default roles as `crates/confab-domain/src/roles.rs` defines them, in order.
const DEFAULT_ROLES: &[(&str, &str, &[&str])] = &[
    (
        "service admin",
        "service",
        &[
            "createConversation",
            "joinConversation",
            "editAnyUserInfo",
            "deleteConversation",
            "editConversationName",
            "editConversationAttributes",
            "addParticipant",
            "removeParticipant",
            "editAnyParticipantAttributes",
            "editAnyMessage",
            "editAnyMessageAttributes",
            "deleteAnyMessage",
        ],
    ),
    (
        "service user",
        "service",
        &["createConversation", "joinConversation", "editOwnUserInfo"],
    ),
    (
        "conversation admin",
        "conversation",
        &[
            "sendMessage",
            "sendMediaMessage",
            "leaveConversation",
            "editOwnMessage",
            "editOwnMessageAttributes",
            "deleteOwnMessage",
            "editOwnParticipantAttributes",
            "editNotificationLevel",
            "editConversationName",
            "editConversationAttributes",
            "addParticipant",
            "addNonChatParticipant",
            "removeParticipant",
            "editAnyParticipantAttributes",
            "editAnyMessage",
            "editAnyMessageAttributes",
            "deleteAnyMessage",
            "deleteConversation",
        ],
    ),
    (
        "conversation user",
        "conversation",
        &[
            "sendMessage",
            "sendMediaMessage",
            "leaveConversation",
            "editOwnMessage",
            "editOwnMessageAttributes",
            "deleteOwnMessage",
            "editOwnParticipantAttributes",
            "editNotificationLevel",
        ],
    ),
];

#[tokio::test]
async fn every_service_starts_with_exactly_the_four_default_roles() {
    let server = TestServer::start().await;
    let api = server.api();
    let default = support::default_service(&api).await;
    let other = support::service(&api, "tenant").await;
    let mut seen = vec![];
    for (is, base) in [
        (default.clone(), "/v1".to_owned()),
        (default.clone(), format!("/v1/Services/{default}")),
        (other.clone(), format!("/v1/Services/{other}")),
    ] {
        let list = api.get(&format!("{base}/Roles")).await.expect(200);
        let roles = list["roles"].as_array().unwrap();
        assert_eq!(roles.len(), 4, "{list}");
        for (role, (name, kind, permissions)) in roles.iter().zip(DEFAULT_ROLES) {
            assert_eq!(keys(role), sorted(ROLE_FIELDS), "{role}");
            let rl = sid(role);
            assert!(is_sid("RL", &rl), "{rl}");
            assert_eq!(
                role["account_sid"],
                server.credentials().account_sid.as_str()
            );
            assert_eq!(role["chat_service_sid"], is.as_str());
            assert_eq!(role["friendly_name"], *name);
            assert_eq!(role["type"], *kind);
            assert_eq!(role["permissions"], json!(permissions), "{name}");
            assert!((iso_secs(&role["date_created"]) - now_secs()).abs() < 60);
            assert_eq!(role["date_updated"], role["date_created"]);
            assert_eq!(
                role["url"],
                format!("{}{base}/Roles/{rl}", server.url()).as_str()
            );
            assert_eq!(
                api.get(role["url"].as_str().unwrap()).await.expect(200),
                *role
            );
            seen.push(rl);
        }
    }
    // Both families show the default service's roles; the other service has its own.
    assert_eq!(seen[0..4], seen[4..8]);
    assert!(
        seen[8..].iter().all(|r| !seen[0..4].contains(r)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn custom_role_is_created_updated_by_replacement_and_deleted() {
    let server = TestServer::start().await;
    let api = server.api();
    let is = support::service(&api, "tenant").await;
    let base = format!("/v1/Services/{is}");
    let created = api
        .post(
            &format!("{base}/Roles"),
            &[
                ("FriendlyName", "agent"),
                ("Type", "conversation"),
                ("Permission", "sendMessage"),
                ("Permission", "leaveConversation"),
                ("Permission", "sendMessage"),
                ("Permission", "editOwnMessage"),
            ],
        )
        .await
        .expect(201);
    assert_eq!(keys(&created), sorted(ROLE_FIELDS), "{created}");
    let rl = sid(&created);
    assert_eq!(created["chat_service_sid"], is.as_str());
    assert_eq!(created["friendly_name"], "agent");
    assert_eq!(created["type"], "conversation");
    assert_eq!(
        created["permissions"],
        json!(["sendMessage", "leaveConversation", "editOwnMessage"])
    );
    let path = format!("{base}/Roles/{rl}");
    assert_eq!(api.get(&path).await.expect(200), created);
    assert_eq!(support::roles_by_name(&api, &base).await.len(), 5);

    let updated = api
        .post(
            &path,
            &[
                ("Permission", "deleteOwnMessage"),
                ("Permission", "sendMediaMessage"),
            ],
        )
        .await
        .expect(200);
    let mut expected = created.clone();
    expected["permissions"] = json!(["deleteOwnMessage", "sendMediaMessage"]);
    expected["date_updated"] = updated["date_updated"].clone();
    assert_eq!(updated, expected);
    assert!(iso_secs(&updated["date_updated"]) >= iso_secs(&created["date_updated"]));
    assert_eq!(api.get(&path).await.expect(200), updated);

    let service_role = api
        .post(
            &format!("{base}/Roles"),
            &[
                ("FriendlyName", "moderator"),
                ("Type", "service"),
                ("Permission", "editAnyUserInfo"),
                ("Permission", "createConversation"),
            ],
        )
        .await
        .expect(201);
    assert_eq!(service_role["type"], "service");
    assert_eq!(
        service_role["permissions"],
        json!(["editAnyUserInfo", "createConversation"])
    );

    api.delete(&path).await.expect(204);
    api.get(&path).await.expect_error(404, 20404);
    api.delete(&path).await.expect_error(404, 20404);
    api.post(&path, &[("Permission", "sendMessage")])
        .await
        .expect_error(404, 20404);
    assert_eq!(support::roles_by_name(&api, &base).await.len(), 5);
}

#[tokio::test]
async fn invalid_roles_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = support::dump_all(&api).await;
    let long = "n".repeat(65);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("Type", "conversation"), ("Permission", "sendMessage")],
        vec![
            ("FriendlyName", ""),
            ("Type", "conversation"),
            ("Permission", "sendMessage"),
        ],
        vec![("FriendlyName", "r"), ("Permission", "sendMessage")],
        vec![
            ("FriendlyName", "r"),
            ("Type", "channel"),
            ("Permission", "sendMessage"),
        ],
        vec![("FriendlyName", "r"), ("Type", "conversation")],
        vec![
            ("FriendlyName", long.as_str()),
            ("Type", "conversation"),
            ("Permission", "sendMessage"),
        ],
        // A permission of the other scope, each way.
        vec![
            ("FriendlyName", "r"),
            ("Type", "service"),
            ("Permission", "sendMessage"),
        ],
        vec![
            ("FriendlyName", "r"),
            ("Type", "conversation"),
            ("Permission", "createConversation"),
        ],
        vec![
            ("FriendlyName", "r"),
            ("Type", "conversation"),
            ("Permission", "sendMessage"),
            ("Permission", "flyToTheMoon"),
        ],
        vec![
            ("FriendlyName", "r"),
            ("Type", "service"),
            ("Permission", ""),
        ],
    ];
    for form in cases {
        api.post("/v1/Roles", &form).await.expect_error(400, 20001);
        assert_eq!(support::dump_all(&api).await, before, "{form:?}");
    }
    // 64 characters is the limit, not past it.
    let max = "n".repeat(64);
    let r = api
        .post(
            "/v1/Roles",
            &[
                ("FriendlyName", max.as_str()),
                ("Type", "service"),
                ("Permission", "joinConversation"),
            ],
        )
        .await
        .expect(201);
    assert_eq!(r["friendly_name"], max.as_str());
}

#[tokio::test]
async fn role_update_with_bad_permissions_is_refused_and_keeps_the_old_list() {
    let server = TestServer::start().await;
    let api = server.api();
    let rl = support::new_role(&api, "/v1", "agent", "conversation", "sendMessage").await;
    let path = format!("/v1/Roles/{rl}");
    let before = api.get(&path).await.expect(200);
    for form in [
        vec![],
        vec![("FriendlyName", "renamed")],
        vec![("Permission", "createConversation")],
        vec![("Permission", "sendMessage"), ("Permission", "nonsense")],
    ] {
        api.post(&path, &form).await.expect_error(400, 20001);
        assert_eq!(api.get(&path).await.expect(200), before, "{form:?}");
    }
}

#[tokio::test]
async fn assigned_roles_cannot_be_deleted() {
    let server = TestServer::start().await;
    let api = server.api();
    let conv_role = support::new_role(&api, "/v1", "agent", "conversation", "sendMessage").await;
    let svc_role = support::new_role(&api, "/v1", "staff", "service", "joinConversation").await;
    let conv = support::conversation(&api, &[]).await;
    let p = api
        .post(
            &format!("/v1/Conversations/{conv}/Participants"),
            &[("Identity", "alice"), ("RoleSid", conv_role.as_str())],
        )
        .await
        .expect(201);
    api.post(
        "/v1/Users",
        &[("Identity", "bob"), ("RoleSid", svc_role.as_str())],
    )
    .await
    .expect(201);
    let before = support::dump_all(&api).await;
    let mut assigned = vec![conv_role.clone(), svc_role.clone()];
    // The configuration's defaults count as assigned.
    for name in ["service user", "conversation user", "conversation admin"] {
        assigned.push(support::role_sid(&api, "/v1", name).await);
    }
    for rl in &assigned {
        api.delete(&format!("/v1/Roles/{rl}"))
            .await
            .expect_error(409, 50300);
    }
    assert_eq!(support::dump_all(&api).await, before);
    // Once nothing holds them, they go.
    api.delete(&format!(
        "/v1/Conversations/{conv}/Participants/{}",
        sid(&p)
    ))
    .await
    .expect(204);
    api.delete(&format!("/v1/Roles/{conv_role}"))
        .await
        .expect(204);
    let admin = support::role_sid(&api, "/v1", "service admin").await;
    api.post("/v1/Users/bob", &[("RoleSid", admin.as_str())])
        .await
        .expect(200);
    api.delete(&format!("/v1/Roles/{svc_role}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn role_sid_must_be_of_the_right_scope_and_service() {
    let server = TestServer::start().await;
    let api = server.api();
    let other = format!("/v1/Services/{}", support::service(&api, "other").await);
    let conv_role = support::role_sid(&api, "/v1", "conversation admin").await;
    let svc_role = support::role_sid(&api, "/v1", "service admin").await;
    let foreign_conv = support::role_sid(&api, &other, "conversation admin").await;
    let foreign_svc = support::role_sid(&api, &other, "service admin").await;
    let unknown = unknown_sid("RL");
    let conv = support::conversation(&api, &[]).await;
    let parts = format!("/v1/Conversations/{conv}/Participants");

    // Right scope, right service: accepted.
    let p = api
        .post(
            &parts,
            &[("Identity", "alice"), ("RoleSid", conv_role.as_str())],
        )
        .await
        .expect(201);
    assert_eq!(p["role_sid"], conv_role.as_str());
    let u = api
        .post(
            "/v1/Users",
            &[("Identity", "bob"), ("RoleSid", svc_role.as_str())],
        )
        .await
        .expect(201);
    assert_eq!(u["role_sid"], svc_role.as_str());

    let before = support::dump_all(&api).await;
    for bad in [&svc_role, &foreign_conv, &foreign_svc, &unknown] {
        let bad = bad.as_str();
        api.post(&parts, &[("Identity", "carol"), ("RoleSid", bad)])
            .await
            .expect_error(400, 20001);
        api.post(&format!("{parts}/alice"), &[("RoleSid", bad)])
            .await
            .expect_error(400, 20001);
        api.post(
            "/v1/ConversationWithParticipants",
            &[(
                "Participant",
                &json!({"identity": "dave", "role_sid": bad}).to_string(),
            )],
        )
        .await
        .expect_error(400, 20001);
    }
    for bad in [&conv_role, &foreign_conv, &foreign_svc, &unknown] {
        let bad = bad.as_str();
        api.post("/v1/Users", &[("Identity", "erin"), ("RoleSid", bad)])
            .await
            .expect_error(400, 20001);
        api.post("/v1/Users/bob", &[("RoleSid", bad)])
            .await
            .expect_error(400, 20001);
    }
    api.post("/v1/Users/bob", &[("RoleSid", "RLnope")])
        .await
        .expect_error(400, 20001);
    assert_eq!(support::dump_all(&api).await, before);

    // Updating to another role of the right scope works.
    let member = support::role_sid(&api, "/v1", "conversation user").await;
    let p2 = api
        .post(&format!("{parts}/alice"), &[("RoleSid", member.as_str())])
        .await
        .expect(200);
    assert_eq!(p2["role_sid"], member.as_str());
}

#[tokio::test]
async fn roles_list_pages_with_at_most_50_per_page() {
    let server = TestServer::start().await;
    let api = server.api();
    for i in 0..3 {
        support::new_role(
            &api,
            "/v1",
            &format!("custom {i}"),
            "service",
            "joinConversation",
        )
        .await;
    }
    let (all, pages) = api.collect_pages("/v1/Roles?PageSize=3", "roles").await;
    assert_eq!(pages, 3);
    let names: Vec<&str> = all
        .iter()
        .map(|r| r["friendly_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "service admin",
            "service user",
            "conversation admin",
            "conversation user",
            "custom 0",
            "custom 1",
            "custom 2"
        ]
    );
    let fifty = api.get("/v1/Roles?PageSize=50").await.expect(200);
    assert_eq!(fifty["roles"].as_array().unwrap().len(), 7);
    assert_eq!(fifty["meta"]["page_size"], 50);
    assert_eq!(fifty["meta"]["key"], "roles");
    for bad in ["0", "-1", "many"] {
        api.get(&format!("/v1/Roles?PageSize={bad}"))
            .await
            .expect_error(400, 20001);
    }
    let above = api.get("/v1/Roles?PageSize=51").await.expect(200);
    assert_eq!(above["meta"]["page_size"], 50);
    assert_eq!(above["roles"].as_array().unwrap().len(), 7);
    // Without PageSize the page holds them all (default 50).
    let plain = api.get("/v1/Roles").await.expect(200);
    assert_eq!(plain["roles"].as_array().unwrap().len(), 7);
    assert!(plain["meta"]["next_page_url"].is_null());
}
