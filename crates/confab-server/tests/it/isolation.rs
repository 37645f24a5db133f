//! Services are isolated: nothing of one is visible or writable through another's paths (or
//! the default service's unscoped paths), and names only need to be unique within a service.

use confab_testkit::{Api, TestServer};
use reqwest::Method;
use serde_json::json;

use crate::support::{self, sid, unknown_sid};

/// A request to try: method, path, form.
type Request<'a> = (Method, String, Vec<(&'a str, &'a str)>);

/// What service A holds: a conversation "room" with alice (chat), an SMS participant and a
/// message, alice's user, and a custom role.
struct Holdings {
    conv: String,
    part: String,
    msg: String,
    user: String,
    role: String,
}

async fn fill(api: &Api, base: &str) -> Holdings {
    let conv = sid(&api
        .post(&format!("{base}/Conversations"), &[("UniqueName", "room")])
        .await
        .expect(201));
    let parts = format!("{base}/Conversations/{conv}/Participants");
    let part = sid(&api.post(&parts, &[("Identity", "alice")]).await.expect(201));
    api.post(
        &parts,
        &[
            ("MessagingBinding.Address", "+15551230001"),
            ("MessagingBinding.ProxyAddress", "+15559870000"),
        ],
    )
    .await
    .expect(201);
    let msg = sid(&api
        .post(
            &format!("{base}/Conversations/{conv}/Messages"),
            &[("Author", "alice"), ("Body", "secret")],
        )
        .await
        .expect(201));
    let user = sid(&api.get(&format!("{base}/Users/alice")).await.expect(200));
    let role = support::new_role(api, base, "agent", "conversation", "sendMessage").await;
    Holdings {
        conv,
        part,
        msg,
        user,
        role,
    }
}

/// Every read and write of `h` through `other` (a path family), each of which must be 404.
async fn assert_unreachable(api: &Api, other: &str, h: &Holdings) {
    let Holdings {
        conv,
        part,
        msg,
        user,
        role,
    } = h;
    let c = format!("{other}/Conversations/{conv}");
    let reads = [
        c.clone(),
        format!("{other}/Conversations/room"),
        format!("{c}/Participants"),
        format!("{c}/Participants/{part}"),
        format!("{c}/Participants/alice"),
        format!("{c}/Messages"),
        format!("{c}/Messages/{msg}"),
        format!("{other}/Users/{user}"),
        format!("{other}/Users/{user}/Conversations"),
        format!("{other}/Users/{user}/Conversations/{conv}"),
        format!("{other}/Roles/{role}"),
    ];
    for path in &reads {
        api.get(path).await.expect_error(404, 20404);
    }
    let writes: Vec<Request> = vec![
        (Method::POST, c.clone(), vec![("FriendlyName", "hijacked")]),
        (
            Method::POST,
            format!("{other}/Conversations/room"),
            vec![("FriendlyName", "x")],
        ),
        (
            Method::POST,
            format!("{c}/Participants"),
            vec![("Identity", "mallory")],
        ),
        (
            Method::POST,
            format!("{c}/Participants/{part}"),
            vec![("Attributes", "{}")],
        ),
        (
            Method::POST,
            format!("{c}/Messages"),
            vec![("Body", "injected")],
        ),
        (
            Method::POST,
            format!("{c}/Messages/{msg}"),
            vec![("Body", "edited")],
        ),
        (
            Method::POST,
            format!("{other}/Users/{user}"),
            vec![("FriendlyName", "x")],
        ),
        (
            Method::POST,
            format!("{other}/Users/{user}/Conversations/{conv}"),
            vec![("NotificationLevel", "muted")],
        ),
        (
            Method::POST,
            format!("{other}/Roles/{role}"),
            vec![("Permission", "sendMessage")],
        ),
        (Method::DELETE, format!("{c}/Messages/{msg}"), vec![]),
        (Method::DELETE, format!("{c}/Participants/{part}"), vec![]),
        (
            Method::DELETE,
            format!("{other}/Users/{user}/Conversations/{conv}"),
            vec![],
        ),
        (Method::DELETE, format!("{other}/Users/{user}"), vec![]),
        (Method::DELETE, format!("{other}/Roles/{role}"), vec![]),
        (Method::DELETE, c.clone(), vec![]),
    ];
    for (method, path, form) in writes {
        let form = (method == Method::POST).then_some(form.as_slice());
        api.send(method.clone(), &path, form)
            .await
            .expect_error(404, 20404);
    }
}

#[tokio::test]
async fn one_services_data_is_invisible_and_untouchable_through_another() {
    let server = TestServer::start().await;
    let api = server.api();
    let a = format!("/v1/Services/{}", support::service(&api, "a").await);
    let b = format!("/v1/Services/{}", support::service(&api, "b").await);
    let held = fill(&api, &a).await;
    let before = support::dump_all(&api).await;
    // Through B, and through the default service's unscoped paths.
    assert_unreachable(&api, &b, &held).await;
    assert_unreachable(&api, "/v1", &held).await;
    assert_eq!(support::dump_all(&api).await, before);
    // Lists elsewhere do not show A's things.
    for other in [b.as_str(), "/v1"] {
        for (path, key) in [
            ("Conversations", "conversations"),
            ("Users", "users"),
            ("ParticipantConversations?Identity=alice", "conversations"),
            (
                "ParticipantConversations?Address=%2B15551230001",
                "conversations",
            ),
        ] {
            let list = api.get(&format!("{other}/{path}")).await.expect(200);
            assert_eq!(list[key], json!([]), "{other}/{path}");
        }
        let roles = api.get(&format!("{other}/Roles")).await.expect(200);
        assert_eq!(roles["roles"].as_array().unwrap().len(), 4, "{roles}");
        assert!(!support::contains_string(&roles, &held.role));
    }
}

#[tokio::test]
async fn a_user_of_the_same_identity_elsewhere_does_not_see_this_services_conversations() {
    let server = TestServer::start().await;
    let api = server.api();
    let a = format!("/v1/Services/{}", support::service(&api, "a").await);
    let b = format!("/v1/Services/{}", support::service(&api, "b").await);
    let held = fill(&api, &a).await;
    let b_alice = api
        .post(&format!("{b}/Users"), &[("Identity", "alice")])
        .await
        .expect(201);
    assert_ne!(sid(&b_alice), held.user);
    let listed = api
        .get(&format!("{b}/Users/alice/Conversations"))
        .await
        .expect(200);
    assert_eq!(listed["conversations"], json!([]));
    for conv in [held.conv.as_str(), "room"] {
        let path = format!("{b}/Users/alice/Conversations/{conv}");
        api.get(&path).await.expect_error(404, 20404);
        api.post(&path, &[("LastReadMessageIndex", "0")])
            .await
            .expect_error(404, 20404);
        api.delete(&path).await.expect_error(404, 20404);
    }
    // A's alice is still in A's conversation, unread state untouched.
    let uc = api
        .get(&format!("{a}/Users/alice/Conversations/{}", held.conv))
        .await
        .expect(200);
    assert!(uc["last_read_message_index"].is_null(), "{uc}");
    // B's role cannot be given to A's participants or users.
    let b_role = support::new_role(&api, &b, "agent", "conversation", "sendMessage").await;
    api.post(
        &format!("{a}/Conversations/{}/Participants/alice", held.conv),
        &[("RoleSid", b_role.as_str())],
    )
    .await
    .expect_error(400, 20001);
}

#[tokio::test]
async fn unique_names_and_identities_are_per_service() {
    let server = TestServer::start().await;
    let api = server.api();
    let a = format!("/v1/Services/{}", support::service(&api, "a").await);
    let b = format!("/v1/Services/{}", support::service(&api, "b").await);
    let mut convs = vec![];
    let mut users = vec![];
    for base in ["/v1", a.as_str(), b.as_str()] {
        convs.push(sid(&api
            .post(&format!("{base}/Conversations"), &[("UniqueName", "room")])
            .await
            .expect(201)));
        users.push(sid(&api
            .post(&format!("{base}/Users"), &[("Identity", "alice")])
            .await
            .expect(201)));
        // Still unique within each.
        api.post(&format!("{base}/Conversations"), &[("UniqueName", "room")])
            .await
            .expect_error(409, 50300);
        api.post(&format!("{base}/Users"), &[("Identity", "alice")])
            .await
            .expect_error(409, 50300);
    }
    for (i, base) in ["/v1", a.as_str(), b.as_str()].into_iter().enumerate() {
        let c = api
            .get(&format!("{base}/Conversations/room"))
            .await
            .expect(200);
        assert_eq!(sid(&c), convs[i]);
        let u = api.get(&format!("{base}/Users/alice")).await.expect(200);
        assert_eq!(sid(&u), users[i]);
        // Each identity's participation stays in its own service.
        api.post(
            &format!("{base}/Conversations/room/Participants"),
            &[("Identity", "alice")],
        )
        .await
        .expect(201);
        let ucs = api
            .get(&format!("{base}/Users/alice/Conversations"))
            .await
            .expect(200);
        let listed = ucs["conversations"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{ucs}");
        assert_eq!(listed[0]["conversation_sid"], convs[i].as_str());
    }
}

#[tokio::test]
async fn unknown_service_is_not_found_on_every_scoped_path() {
    let server = TestServer::start().await;
    let api = server.api();
    let gone = support::service(&api, "gone").await;
    api.delete(&format!("/v1/Services/{gone}"))
        .await
        .expect(204);
    let before = support::dump_all(&api).await;
    let ch = unknown_sid("CH");
    let rl = unknown_sid("RL");
    let participant = json!({"identity": "alice"}).to_string();
    for is in [
        unknown_sid("IS"),
        gone,
        "ISnope".to_owned(),
        unknown_sid("CH"),
    ] {
        let s = format!("/v1/Services/{is}");
        let c = format!("{s}/Conversations/{ch}");
        let requests: Vec<Request> = vec![
            (Method::GET, s.clone(), vec![]),
            (Method::DELETE, s.clone(), vec![]),
            (Method::GET, format!("{s}/Configuration"), vec![]),
            (
                Method::POST,
                format!("{s}/Configuration"),
                vec![("ReachabilityEnabled", "true")],
            ),
            (Method::GET, format!("{s}/Conversations"), vec![]),
            (
                Method::POST,
                format!("{s}/Conversations"),
                vec![("FriendlyName", "x")],
            ),
            (Method::GET, c.clone(), vec![]),
            (Method::POST, c.clone(), vec![("FriendlyName", "x")]),
            (Method::DELETE, c.clone(), vec![]),
            (Method::GET, format!("{c}/Participants"), vec![]),
            (
                Method::POST,
                format!("{c}/Participants"),
                vec![("Identity", "alice")],
            ),
            (Method::GET, format!("{c}/Participants/alice"), vec![]),
            (
                Method::POST,
                format!("{c}/Participants/alice"),
                vec![("Attributes", "{}")],
            ),
            (Method::DELETE, format!("{c}/Participants/alice"), vec![]),
            (Method::GET, format!("{c}/Messages"), vec![]),
            (Method::POST, format!("{c}/Messages"), vec![("Body", "hi")]),
            (
                Method::GET,
                format!("{c}/Messages/IM{}", "0".repeat(32)),
                vec![],
            ),
            (
                Method::POST,
                format!("{c}/Messages/IM{}", "0".repeat(32)),
                vec![("Body", "x")],
            ),
            (
                Method::DELETE,
                format!("{c}/Messages/IM{}", "0".repeat(32)),
                vec![],
            ),
            (
                Method::POST,
                format!("{s}/ConversationWithParticipants"),
                vec![("FriendlyName", "x"), ("Participant", participant.as_str())],
            ),
            (Method::GET, format!("{s}/Users"), vec![]),
            (
                Method::POST,
                format!("{s}/Users"),
                vec![("Identity", "alice")],
            ),
            (Method::GET, format!("{s}/Users/alice"), vec![]),
            (
                Method::POST,
                format!("{s}/Users/alice"),
                vec![("FriendlyName", "x")],
            ),
            (Method::DELETE, format!("{s}/Users/alice"), vec![]),
            (
                Method::GET,
                format!("{s}/Users/alice/Conversations"),
                vec![],
            ),
            (
                Method::GET,
                format!("{s}/Users/alice/Conversations/{ch}"),
                vec![],
            ),
            (
                Method::POST,
                format!("{s}/Users/alice/Conversations/{ch}"),
                vec![("NotificationLevel", "muted")],
            ),
            (
                Method::DELETE,
                format!("{s}/Users/alice/Conversations/{ch}"),
                vec![],
            ),
            (Method::GET, format!("{s}/Roles"), vec![]),
            (
                Method::POST,
                format!("{s}/Roles"),
                vec![
                    ("FriendlyName", "r"),
                    ("Type", "service"),
                    ("Permission", "joinConversation"),
                ],
            ),
            (Method::GET, format!("{s}/Roles/{rl}"), vec![]),
            (
                Method::POST,
                format!("{s}/Roles/{rl}"),
                vec![("Permission", "joinConversation")],
            ),
            (Method::DELETE, format!("{s}/Roles/{rl}"), vec![]),
            (
                Method::GET,
                format!("{s}/ParticipantConversations?Identity=alice"),
                vec![],
            ),
            (
                Method::GET,
                format!("{s}/ParticipantConversations?Address=%2B1555"),
                vec![],
            ),
        ];
        for (method, path, form) in requests {
            let form = (method == Method::POST).then_some(form.as_slice());
            let reply = api.send(method.clone(), &path, form).await;
            assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
            reply.expect_error(404, 20404);
        }
    }
    assert_eq!(support::dump_all(&api).await, before);
}
