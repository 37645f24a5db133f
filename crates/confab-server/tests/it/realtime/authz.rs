//! The authorization matrix over realtime: every operation, for a conversation user, a
//! conversation admin, a participant whose role grants nothing but leaving, a user of the
//! service who is not a participant, and a user of another service. Every cell is asserted,
//! and a refused operation changes nothing. (App backends may do everything in their account
//! through REST; the REST suites and `isolation.rs` cover that door.)

use confab_testkit::{Api, RawClient, TestServer};
use serde_json::{Value, json};

use crate::support::{self, sid};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    User,
    Admin,
    Muted,
    Outsider,
    Foreign,
}

/// A fresh conversation with alice (creator), `me` in the role `who` says, and victor, a
/// plain participant who wrote a message; `me` wrote one too where it is a participant.
struct Scene {
    conv: String,
    mine: Option<String>,
    victors: String,
    victor: String,
}

async fn scene(api: &Api, who: Who, me: &str, admin_role: &str, muted_role: &str) -> Scene {
    let conv = sid(&api.post("/v1/Conversations", &[]).await.expect(201));
    let parts = format!("/v1/Conversations/{conv}/Participants");
    let msgs = format!("/v1/Conversations/{conv}/Messages");
    for p in ["alice", "victor"] {
        api.post(&parts, &[("Identity", p)]).await.expect(201);
    }
    let role = match who {
        Who::User => None,
        Who::Admin => Some(admin_role),
        Who::Muted => Some(muted_role),
        Who::Outsider | Who::Foreign => None,
    };
    let mut mine = None;
    if matches!(who, Who::User | Who::Admin | Who::Muted) {
        let mut form = vec![("Identity", me)];
        if let Some(r) = role {
            form.push(("RoleSid", r));
        }
        api.post(&parts, &form).await.expect(201);
        mine = Some(sid(&api
            .post(&msgs, &[("Author", me), ("Body", "mine")])
            .await
            .expect(201)));
    }
    let victors = sid(&api
        .post(&msgs, &[("Author", "victor"), ("Body", "his")])
        .await
        .expect(201));
    let victor = sid(&api.get(&format!("{parts}/victor")).await.expect(200));
    Scene {
        conv,
        mine,
        victors,
        victor,
    }
}

/// Everything about the conversation, to show a refusal changed nothing.
async fn state(api: &Api, conv: &str) -> Value {
    let c = api.get(&format!("/v1/Conversations/{conv}")).await;
    let (p, _) = api
        .collect_pages(
            &format!("/v1/Conversations/{conv}/Participants"),
            "participants",
        )
        .await;
    let (m, _) = api
        .collect_pages(&format!("/v1/Conversations/{conv}/Messages"), "messages")
        .await;
    json!({"conversation": c.body, "participants": p, "messages": m})
}

const OPS: &[&str] = &[
    "conversation.get",
    "message.list",
    "participant.list",
    "message.send",
    "message.update own",
    "message.update other",
    "message.remove own",
    "message.remove other",
    "conversation.update name",
    "conversation.update attributes",
    "participant.add",
    "participant.update own",
    "participant.update other",
    "participant.remove other",
    "conversation.summary",
    "conversation.typing",
    "conversation.setLastRead",
    "conversation.setNotificationLevel",
    "conversation.leave",
    "conversation.delete",
];

/// The expected answer: `Ok` or the error code.
fn expected(who: Who, op: &str) -> Result<(), u32> {
    match who {
        Who::Foreign => return Err(20404),
        Who::Outsider => return Err(20403),
        _ => {}
    }
    // Reads, typing and one's own read horizon take only being a participant.
    let reads = [
        "conversation.get",
        "message.list",
        "participant.list",
        "conversation.summary",
        "conversation.typing",
        "conversation.setLastRead",
    ];
    let user_may = [
        "message.send",
        "message.update own",
        "message.remove own",
        "participant.update own",
        "conversation.setNotificationLevel",
        "conversation.leave",
    ];
    let allowed = reads.contains(&op)
        || who == Who::Admin
        || (who == Who::User && user_may.contains(&op))
        || (who == Who::Muted && op == "conversation.leave");
    if allowed { Ok(()) } else { Err(20403) }
}

fn request(op: &str, s: &Scene) -> (&'static str, Value) {
    let c = &s.conv;
    let mine = s.mine.clone().unwrap_or_else(|| s.victors.clone());
    match op {
        "conversation.get" => ("conversation.get", json!({"conversation": c})),
        "message.list" => ("message.list", json!({"conversation": c})),
        "participant.list" => ("participant.list", json!({"conversation": c})),
        "message.send" => ("message.send", json!({"conversation": c, "body": "hi"})),
        "message.update own" => (
            "message.update",
            json!({"conversation": c, "message": mine, "body": "edited"}),
        ),
        "message.update other" => (
            "message.update",
            json!({"conversation": c, "message": s.victors, "body": "edited"}),
        ),
        "message.remove own" => (
            "message.remove",
            json!({"conversation": c, "message": mine}),
        ),
        "message.remove other" => (
            "message.remove",
            json!({"conversation": c, "message": s.victors}),
        ),
        "conversation.update name" => (
            "conversation.update",
            json!({"conversation": c, "friendlyName": "renamed"}),
        ),
        "conversation.update attributes" => (
            "conversation.update",
            json!({"conversation": c, "attributes": {"x": 1}}),
        ),
        "participant.add" => (
            "participant.add",
            json!({"conversation": c, "identity": "newcomer"}),
        ),
        "participant.update own" => (
            "participant.update",
            json!({"conversation": c, "participant": "me", "attributes": {"x": 1}}),
        ),
        "participant.update other" => (
            "participant.update",
            json!({"conversation": c, "participant": s.victor, "attributes": {"x": 1}}),
        ),
        "participant.remove other" => (
            "participant.remove",
            json!({"conversation": c, "participant": s.victor}),
        ),
        "conversation.summary" => ("conversation.summary", json!({"conversation": c})),
        "conversation.typing" => ("conversation.typing", json!({"conversation": c})),
        "conversation.setLastRead" => (
            "conversation.setLastRead",
            json!({"conversation": c, "index": 0}),
        ),
        "conversation.setNotificationLevel" => (
            "conversation.setNotificationLevel",
            json!({"conversation": c, "level": "muted"}),
        ),
        "conversation.leave" => ("conversation.leave", json!({"conversation": c})),
        "conversation.delete" => ("conversation.delete", json!({"conversation": c})),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn every_operation_for_every_role_member_outsider_and_other_service() {
    let server = TestServer::start().await;
    let api = server.api();
    let admin_role = support::role_sid(&api, "/v1", "conversation admin").await;
    let muted_role =
        support::new_role(&api, "/v1", "muted", "conversation", "leaveConversation").await;
    let other_service = support::service(&api, "elsewhere").await;
    let (mut cells, mut refused) = (0, 0);
    for who in [
        Who::User,
        Who::Admin,
        Who::Muted,
        Who::Outsider,
        Who::Foreign,
    ] {
        let me = format!("{who:?}").to_lowercase();
        let token = match who {
            Who::Foreign => server.token_with(&me, Some(&other_service), 3600),
            _ => server.token(&me),
        };
        let (mut c, _) = RawClient::join(server.addr(), &token, None).await;
        for op in OPS {
            let s = scene(&api, who, &me, &admin_role, &muted_role).await;
            let (method, mut params) = request(op, &s);
            if params["participant"] == "me" {
                params["participant"] = json!(me);
            }
            let before = state(&api, &s.conv).await;
            let got = c.call(method, params).await.map(|_| ()).map_err(|e| e.code);
            assert_eq!(got, expected(who, op), "{who:?} {op}");
            if got.is_err() {
                assert_eq!(
                    state(&api, &s.conv).await,
                    before,
                    "{who:?} {op} changed nothing"
                );
                refused += 1;
            }
            cells += 1;
        }
        // Outside any conversation: every user may create one and join one of its service.
        let created = c.call("conversation.create", json!({})).await;
        assert!(created.is_ok(), "{who:?} create: {created:?}");
        let s = scene(&api, Who::Outsider, &me, &admin_role, &muted_role).await;
        let joined = c
            .call("conversation.join", json!({"conversation": s.conv}))
            .await;
        match who {
            Who::Foreign => assert_eq!(joined.unwrap_err().code, 20404),
            // The members of the scenes are in already; a second join conflicts.
            _ => assert!(joined.is_ok() || joined.unwrap_err().code == 50300),
        }
        cells += 2;
    }
    assert_eq!(cells, 5 * (OPS.len() + 2));
    eprintln!(
        "realtime authorization matrix: {cells} cells as expected, {refused} refused with nothing changed, 0 unauthorized reads or writes"
    );
}
