//! `/v1/Services` and `/v1/Services/{ChatServiceSid}/Configuration`: tenants, their defaults,
//! and what deleting one takes with it.

use confab_testkit::TestServer;
use serde_json::json;

use crate::support::{self, is_sid, iso_secs, keys, now_secs, sid, sorted, unknown_sid};

const SERVICE_FIELDS: &[&str] = &[
    "account_sid",
    "sid",
    "friendly_name",
    "date_created",
    "date_updated",
    "url",
    "links",
];

const SERVICE_CONFIGURATION_FIELDS: &[&str] = &[
    "chat_service_sid",
    "default_conversation_creator_role_sid",
    "default_conversation_role_sid",
    "default_chat_service_role_sid",
    "url",
    "links",
    "reachability_enabled",
];

#[tokio::test]
async fn service_is_created_with_every_reference_field_and_link() {
    let server = TestServer::start().await;
    let api = server.api();
    let s = api
        .post("/v1/Services", &[("FriendlyName", "tenant one")])
        .await
        .expect(201);
    assert_eq!(keys(&s), sorted(SERVICE_FIELDS), "{s}");
    let is = sid(&s);
    assert!(is_sid("IS", &is), "{is}");
    assert_eq!(s["account_sid"], server.credentials().account_sid.as_str());
    assert_eq!(s["friendly_name"], "tenant one");
    assert!(
        (iso_secs(&s["date_created"]) - now_secs()).abs() < 60,
        "{s}"
    );
    assert_eq!(s["date_updated"], s["date_created"]);
    let url = format!("{}/v1/Services/{is}", server.url());
    assert_eq!(s["url"], url.as_str());
    let link = |part: &str| format!("{url}/{part}");
    assert_eq!(
        s["links"],
        json!({
            "conversations": link("Conversations"),
            "users": link("Users"),
            "roles": link("Roles"),
            "bindings": link("Bindings"),
            "configuration": link("Configuration"),
            "participant_conversations": link("ParticipantConversations"),
            "conversation_with_participants": link("ConversationWithParticipants"),
        })
    );
    assert_eq!(api.get(&format!("/v1/Services/{is}")).await.expect(200), s);
    assert_eq!(api.get(&url).await.expect(200), s);
    // The links that exist here answer.
    for part in ["Conversations", "Users", "Roles", "Configuration"] {
        api.get(&link(part)).await.expect(200);
    }
}

#[tokio::test]
async fn service_without_a_valid_friendly_name_is_refused_and_not_created() {
    let server = TestServer::start().await;
    let api = server.api();
    let before = support::dump_all(&api).await;
    let long = "x".repeat(257);
    for form in [
        vec![],
        vec![("UniqueName", "tenant")],
        vec![("FriendlyName", long.as_str())],
    ] {
        api.post("/v1/Services", &form)
            .await
            .expect_error(400, 20001);
        assert_eq!(support::dump_all(&api).await, before, "{form:?}");
    }
    let services = api.get("/v1/Services").await.expect(200);
    assert_eq!(
        services["services"].as_array().unwrap().len(),
        1,
        "{services}"
    );
}

#[tokio::test]
async fn services_list_pages_through_every_service_oldest_first() {
    let server = TestServer::start().await;
    let api = server.api();
    let default = support::default_service(&api).await;
    let mut created = vec![default];
    for i in 0..4 {
        created.push(support::service(&api, &format!("tenant {i}")).await);
    }
    let (items, pages) = api
        .collect_pages("/v1/Services?PageSize=2", "services")
        .await;
    assert_eq!(pages, 3);
    assert_eq!(items.iter().map(sid).collect::<Vec<_>>(), created);
    for item in &items {
        assert_eq!(keys(item), sorted(SERVICE_FIELDS), "{item}");
        let fetched = api.get(item["url"].as_str().unwrap()).await.expect(200);
        assert_eq!(&fetched, item, "list and fetch disagree");
    }
    let first = api.get("/v1/Services?PageSize=2").await.expect(200);
    assert_eq!(first["meta"]["key"], "services");
    assert_eq!(first["meta"]["page_size"], 2);
    let above = api.get("/v1/Services?PageSize=101").await.expect(200);
    assert_eq!(above["meta"]["page_size"], 100);
    api.get("/v1/Services?PageSize=0")
        .await
        .expect_error(400, 20001);
}

#[tokio::test]
async fn deleting_a_service_removes_its_conversations_users_and_roles() {
    let server = TestServer::start().await;
    let api = server.api();
    // Something in the default service that must survive.
    let kept = support::conversation(&api, &[("UniqueName", "room")]).await;
    support::participant(&api, &kept, "alice").await;
    let default_before = support::dump_all(&api).await["services"][0].clone();

    let is = support::service(&api, "doomed").await;
    let base = format!("/v1/Services/{is}");
    let conv = sid(&api
        .post(&format!("{base}/Conversations"), &[("UniqueName", "room")])
        .await
        .expect(201));
    let part = sid(&api
        .post(
            &format!("{base}/Conversations/{conv}/Participants"),
            &[("Identity", "alice")],
        )
        .await
        .expect(201));
    let msg = sid(&api
        .post(
            &format!("{base}/Conversations/{conv}/Messages"),
            &[("Author", "alice"), ("Body", "hi")],
        )
        .await
        .expect(201));
    let user = sid(&api.get(&format!("{base}/Users/alice")).await.expect(200));
    let custom = support::new_role(&api, &base, "agent", "conversation", "sendMessage").await;
    let roles: Vec<String> = support::roles_by_name(&api, &base)
        .await
        .values()
        .map(sid)
        .collect();
    assert_eq!(roles.len(), 5);

    api.delete(&base).await.expect(204);

    for path in [
        base.clone(),
        format!("{base}/Configuration"),
        format!("{base}/Conversations"),
        format!("{base}/Conversations/{conv}"),
        format!("{base}/Conversations/room"),
        format!("{base}/Conversations/{conv}/Participants"),
        format!("{base}/Conversations/{conv}/Participants/{part}"),
        format!("{base}/Conversations/{conv}/Messages"),
        format!("{base}/Conversations/{conv}/Messages/{msg}"),
        format!("{base}/Users"),
        format!("{base}/Users/{user}"),
        format!("{base}/Users/alice"),
        format!("{base}/Users/alice/Conversations"),
        format!("{base}/Roles"),
        format!("{base}/Roles/{custom}"),
        format!("{base}/ParticipantConversations?Identity=alice"),
    ] {
        api.get(&path).await.expect_error(404, 20404);
    }
    for role in &roles {
        api.get(&format!("{base}/Roles/{role}"))
            .await
            .expect_error(404, 20404);
    }
    api.delete(&base).await.expect_error(404, 20404);
    let listed = api.get("/v1/Services").await.expect(200);
    assert!(!support::contains_string(&listed, &is), "{listed}");
    // The default service's data is untouched.
    assert_eq!(support::dump_all(&api).await["services"][0], default_before);
}

#[tokio::test]
async fn default_service_cannot_be_deleted_until_another_is_the_default() {
    let server = TestServer::start().await;
    let api = server.api();
    let default = support::default_service(&api).await;
    let before = support::dump_all(&api).await;
    api.delete(&format!("/v1/Services/{default}"))
        .await
        .expect_error(409, 50300);
    assert_eq!(support::dump_all(&api).await, before);

    let other = support::service(&api, "next default").await;
    api.post("/v1/Configuration", &[("DefaultChatServiceSid", &other)])
        .await
        .expect(200);
    api.delete(&format!("/v1/Services/{other}"))
        .await
        .expect_error(409, 50300);
    api.delete(&format!("/v1/Services/{default}"))
        .await
        .expect(204);
    // Unscoped paths now reach the new default.
    let c = api.post("/v1/Conversations", &[]).await.expect(201);
    assert_eq!(c["chat_service_sid"], other.as_str());
}

#[tokio::test]
async fn service_configuration_has_every_reference_field_and_the_default_roles() {
    let server = TestServer::start().await;
    let api = server.api();
    let is = support::service(&api, "tenant").await;
    let base = format!("/v1/Services/{is}");
    let roles = support::roles_by_name(&api, &base).await;
    let cfg = api.get(&format!("{base}/Configuration")).await.expect(200);
    assert_eq!(keys(&cfg), sorted(SERVICE_CONFIGURATION_FIELDS), "{cfg}");
    assert_eq!(cfg["chat_service_sid"], is.as_str());
    assert_eq!(
        cfg["default_conversation_creator_role_sid"],
        roles["conversation admin"]["sid"]
    );
    assert_eq!(
        cfg["default_conversation_role_sid"],
        roles["conversation user"]["sid"]
    );
    assert_eq!(
        cfg["default_chat_service_role_sid"],
        roles["service user"]["sid"]
    );
    assert_eq!(cfg["reachability_enabled"], false);
    let url = format!("{}{base}/Configuration", server.url());
    assert_eq!(cfg["url"], url.as_str());
    assert_eq!(
        cfg["links"],
        json!({
            "notifications": format!("{url}/Notifications"),
            "webhooks": format!("{url}/Webhooks"),
        })
    );
    // The account configuration's `service` link leads to the default service's.
    let account = api.get("/v1/Configuration").await.expect(200);
    let default_cfg = api
        .get(account["links"]["service"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(
        default_cfg["chat_service_sid"],
        account["default_chat_service_sid"]
    );
    api.get(&format!("/v1/Services/{}/Configuration", unknown_sid("IS")))
        .await
        .expect_error(404, 20404);
    api.post(
        &format!("/v1/Services/{}/Configuration", unknown_sid("IS")),
        &[("ReachabilityEnabled", "true")],
    )
    .await
    .expect_error(404, 20404);
}

#[tokio::test]
async fn new_configuration_defaults_apply_to_users_and_participants_created_afterwards() {
    let server = TestServer::start().await;
    let api = server.api();
    let is = support::service(&api, "tenant").await;
    let base = format!("/v1/Services/{is}");
    let old_user_role = support::role_sid(&api, &base, "service user").await;
    let old_member_role = support::role_sid(&api, &base, "conversation user").await;
    let conv = sid(&api
        .post(&format!("{base}/Conversations"), &[])
        .await
        .expect(201));
    let parts = format!("{base}/Conversations/{conv}/Participants");
    let early = api.post(&parts, &[("Identity", "early")]).await.expect(201);
    assert_eq!(early["role_sid"], old_member_role.as_str());

    let svc_role = support::new_role(&api, &base, "vip", "service", "editOwnUserInfo").await;
    let conv_role = support::new_role(&api, &base, "guest", "conversation", "sendMessage").await;
    let creator = support::new_role(&api, &base, "host", "conversation", "addParticipant").await;
    let updated = api
        .post(
            &format!("{base}/Configuration"),
            &[
                ("DefaultConversationCreatorRoleSid", creator.as_str()),
                ("DefaultConversationRoleSid", conv_role.as_str()),
                ("DefaultChatServiceRoleSid", svc_role.as_str()),
                ("ReachabilityEnabled", "true"),
            ],
        )
        .await
        .expect(200);
    assert_eq!(updated["default_conversation_creator_role_sid"], creator);
    assert_eq!(updated["default_conversation_role_sid"], conv_role);
    assert_eq!(updated["default_chat_service_role_sid"], svc_role);
    assert_eq!(updated["reachability_enabled"], true);
    assert_eq!(
        api.get(&format!("{base}/Configuration")).await.expect(200),
        updated
    );

    let user = api
        .post(&format!("{base}/Users"), &[("Identity", "later")])
        .await
        .expect(201);
    assert_eq!(user["role_sid"], svc_role.as_str());
    let p = api
        .post(&parts, &[("Identity", "joiner")])
        .await
        .expect(201);
    assert_eq!(p["role_sid"], conv_role.as_str());
    // The user a participant brings with it gets the new service default too.
    let joiner = api.get(&format!("{base}/Users/joiner")).await.expect(200);
    assert_eq!(joiner["role_sid"], svc_role.as_str());
    let cwp = api
        .post(
            &format!("{base}/ConversationWithParticipants"),
            &[("Participant", r#"{"identity":"bulk"}"#)],
        )
        .await
        .expect(201);
    let bulk = api
        .get(&format!(
            "{base}/Conversations/{}/Participants/bulk",
            sid(&cwp)
        ))
        .await
        .expect(200);
    assert_eq!(bulk["role_sid"], conv_role.as_str());
    // What existed before keeps its roles.
    let early_now = api
        .get(&format!("{parts}/{}", sid(&early)))
        .await
        .expect(200);
    assert_eq!(early_now["role_sid"], old_member_role.as_str());
    let early_user = api.get(&format!("{base}/Users/early")).await.expect(200);
    assert_eq!(early_user["role_sid"], old_user_role.as_str());
    // The roles now in the configuration cannot be deleted; the replaced ones can.
    api.delete(&format!("{base}/Roles/{creator}"))
        .await
        .expect_error(409, 50300);
    let old_creator = support::role_sid(&api, &base, "conversation admin").await;
    api.delete(&format!("{base}/Roles/{old_creator}"))
        .await
        .expect(204);
}

#[tokio::test]
async fn configuration_with_a_wrong_scope_or_unknown_role_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let api = server.api();
    let a = support::service(&api, "a").await;
    let b = support::service(&api, "b").await;
    let base = format!("/v1/Services/{a}");
    let svc_role = support::role_sid(&api, &base, "service admin").await;
    let conv_role = support::role_sid(&api, &base, "conversation admin").await;
    let foreign_conv =
        support::role_sid(&api, &format!("/v1/Services/{b}"), "conversation user").await;
    let foreign_svc = support::role_sid(&api, &format!("/v1/Services/{b}"), "service user").await;
    let unknown = unknown_sid("RL");
    let before = support::dump_all(&api).await;
    let forms: Vec<Vec<(&str, &str)>> = vec![
        vec![("DefaultChatServiceRoleSid", conv_role.as_str())],
        vec![("DefaultConversationRoleSid", svc_role.as_str())],
        vec![("DefaultConversationCreatorRoleSid", svc_role.as_str())],
        vec![("DefaultChatServiceRoleSid", unknown.as_str())],
        vec![("DefaultConversationRoleSid", unknown.as_str())],
        vec![("DefaultConversationCreatorRoleSid", unknown.as_str())],
        vec![("DefaultConversationRoleSid", foreign_conv.as_str())],
        vec![("DefaultChatServiceRoleSid", foreign_svc.as_str())],
        vec![("DefaultChatServiceRoleSid", "RLnope")],
        vec![("DefaultConversationRoleSid", "")],
        vec![("ReachabilityEnabled", "maybe")],
        // One good change with one bad one: neither is made.
        vec![
            ("ReachabilityEnabled", "true"),
            ("DefaultConversationRoleSid", conv_role.as_str()),
            ("DefaultChatServiceRoleSid", conv_role.as_str()),
        ],
    ];
    for form in forms {
        api.post(&format!("{base}/Configuration"), &form)
            .await
            .expect_error(400, 20001);
        assert_eq!(support::dump_all(&api).await, before, "{form:?}");
    }
}
