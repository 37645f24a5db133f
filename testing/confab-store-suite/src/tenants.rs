//! Conformance checks for services, roles, users and the conversation views built on them.

use super::*;

fn role_of(service: &Sid, role_type: RoleType) -> Role {
    Role {
        sid: sid(SidKind::Role),
        chat_service_sid: service.clone(),
        friendly_name: "custom".into(),
        role_type,
        permissions: vec!["sendMessage".into()],
        date_created: 5,
        date_updated: 5,
    }
}

fn user_of(service: &Sid, identity: &str) -> User {
    User {
        sid: sid(SidKind::User),
        chat_service_sid: service.clone(),
        identity: identity.into(),
        friendly_name: None,
        attributes: "{}".into(),
        role_sid: None,
        date_created: 6,
        date_updated: 6,
    }
}

pub async fn services_start_with_their_default_roles_and_configuration(store: Arc<dyn Store>) {
    account(&*store).await;
    let new = new_service("tenant");
    let created = store.create_service(new.clone()).await.unwrap();
    let s = created.sid.as_str();
    let cfg = store.service_configuration(s).await.unwrap().unwrap();
    assert_eq!(
        cfg.default_chat_service_role_sid,
        new.roles.service_user.sid
    );
    assert_eq!(
        cfg.default_conversation_role_sid,
        new.roles.conversation_user.sid
    );
    assert_eq!(
        cfg.default_conversation_creator_role_sid,
        new.roles.conversation_admin.sid
    );
    assert!(!cfg.reachability_enabled);
    let roles = store
        .list_roles(
            s,
            &PageRequest {
                size: 50,
                order: Order::Asc,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(roles.items.len(), 4);
    assert_eq!(roles.items[0], new.roles.service_admin);
    let services = store
        .list_services(&PageRequest {
            size: 50,
            order: Order::Asc,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(services.items.len(), 2);
    assert_eq!(services.items[1], created);
}

pub async fn roles_in_use_cannot_be_deleted(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let custom = store
        .create_role(role_of(&service, RoleType::Conversation))
        .await
        .unwrap();
    let updated = store
        .update_role(
            s,
            custom.sid.as_str(),
            vec!["sendMessage".into(), "leaveConversation".into()],
            9,
        )
        .await
        .unwrap();
    assert_eq!(updated.permissions, ["sendMessage", "leaveConversation"]);
    assert_eq!(
        store.role(s, custom.sid.as_str()).await.unwrap().unwrap(),
        updated
    );
    let conv = new_conversation(&*store, &service).await;
    let mut p = participant(&conv, "alice");
    p.participant.role_sid = Some(custom.sid.clone());
    store.add_participant(s, p, &LIMITS).await.unwrap();
    let r = store.delete_role(s, custom.sid.as_str()).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    store
        .remove_participant(s, conv.as_str(), "alice")
        .await
        .unwrap();
    store.delete_role(s, custom.sid.as_str()).await.unwrap();
    assert!(store.role(s, custom.sid.as_str()).await.unwrap().is_none());
    // A default role is in use by the configuration.
    let cfg = store.service_configuration(s).await.unwrap().unwrap();
    let r = store
        .delete_role(s, cfg.default_conversation_role_sid.as_str())
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
}

pub async fn users_are_unique_per_service_and_made_on_first_membership(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let alice = store.create_user(user_of(&service, "alice")).await.unwrap();
    let dup = store.create_user(user_of(&service, "alice")).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let other = store.create_service(new_service("other")).await.unwrap();
    store
        .create_user(user_of(&other.sid, "alice"))
        .await
        .unwrap();
    assert_eq!(store.user(s, "alice").await.unwrap().unwrap(), alice);
    assert_eq!(
        store.user(s, alice.sid.as_str()).await.unwrap().unwrap(),
        alice
    );
    let patch = UserPatch {
        friendly_name: Some("Alice".into()),
        date_updated: 7,
        ..Default::default()
    };
    assert_eq!(
        store
            .update_user(s, alice.sid.as_str(), patch)
            .await
            .unwrap()
            .friendly_name
            .as_deref(),
        Some("Alice")
    );
    // A participant with a new identity creates its user with the service's default role.
    let conv = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&conv, "bob"), &LIMITS)
        .await
        .unwrap();
    let bob = store
        .user(s, "bob")
        .await
        .unwrap()
        .expect("bob's user made on first membership");
    let cfg = store.service_configuration(s).await.unwrap().unwrap();
    assert_eq!(bob.role_sid, Some(cfg.default_chat_service_role_sid));
    let users = store
        .list_users(
            s,
            &PageRequest {
                size: 50,
                order: Order::Asc,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        users
            .items
            .iter()
            .map(|u| u.identity.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
}

pub async fn deleting_a_user_takes_it_out_of_its_conversations(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let a = new_conversation(&*store, &service).await;
    let b = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&a, "carol"), &LIMITS)
        .await
        .unwrap();
    store
        .add_participant(s, participant(&b, "carol"), &LIMITS)
        .await
        .unwrap();
    let deleted = store.delete_user(s, "carol").await.unwrap();
    assert_eq!(
        deleted.events.len(),
        2,
        "participantLeft in each conversation"
    );
    for conv in [&a, &b] {
        assert!(
            store
                .participant(s, conv.as_str(), "carol")
                .await
                .unwrap()
                .is_none()
        );
        let log = whole_log(&*store, conv).await;
        assert_eq!(
            decode_event(&log.last().unwrap().frame)
                .unwrap()
                .body
                .type_name(),
            "participantLeft"
        );
    }
    assert!(store.user(s, "carol").await.unwrap().is_none());
    assert!(store.user_log(s, "carol", 0, 10).await.unwrap().is_empty());
}

pub async fn user_and_participant_conversations_join_the_right_rows(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let page = PageRequest {
        size: 50,
        order: Order::Asc,
        cursor: None,
    };
    let conv = store
        .create_conversation(conversation(&service, Some("room")))
        .await
        .unwrap()
        .value;
    let p = store
        .add_participant(s, participant(&conv.sid, "dave"), &LIMITS)
        .await
        .unwrap()
        .value;
    let mut sms = participant(&conv.sid, "ignored");
    sms.participant.identity = None;
    sms.participant.messaging_binding = Some(
        serde_json::json!({"type": "sms", "address": "+15550001", "proxy_address": "+15550002"}),
    );
    store.add_participant(s, sms, &LIMITS).await.unwrap();
    for i in 0..5 {
        store
            .add_message(s, message(&conv.sid, "dave", &format!("m{i}")))
            .await
            .unwrap();
    }
    let dave = store.user(s, "dave").await.unwrap().unwrap();
    let ucs = store
        .user_conversations(s, dave.sid.as_str(), &page)
        .await
        .unwrap();
    assert_eq!(ucs.items.len(), 1);
    let uc = &ucs.items[0];
    assert_eq!(
        (
            uc.user_sid.clone(),
            uc.participant.sid.clone(),
            uc.conversation.sid.clone()
        ),
        (dave.sid.clone(), p.sid, conv.sid.clone())
    );
    assert_eq!(uc.last_message_index, Some(4));
    assert_eq!(uc.unread_messages_count(), None, "no read horizon yet");
    let patch = ParticipantPatch {
        last_read_message_index: Some(Some(1)),
        date_updated: 8,
        ..Default::default()
    };
    store
        .update_participant(s, conv.sid.as_str(), "dave", patch)
        .await
        .unwrap();
    let uc = store
        .user_conversation(s, "dave", "room")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uc.unread_messages_count(), Some(3));
    let by_address = store
        .participant_conversations(s, &ParticipantQuery::Address("+15550001".into()), &page)
        .await
        .unwrap();
    assert_eq!(by_address.items.len(), 1);
    assert_eq!(by_address.items[0].user_sid, None);
    let by_identity = store
        .participant_conversations(s, &ParticipantQuery::Identity("dave".into()), &page)
        .await
        .unwrap();
    assert_eq!(by_identity.items[0].user_sid, Some(dave.sid));
    assert!(
        store
            .user_conversation(s, "dave", "nope")
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn a_conversation_with_participants_is_all_or_nothing(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let c = conversation(&service, Some("team"));
    let ok = store
        .create_conversation_with_participants(
            c.clone(),
            vec![participant(&c.sid, "a"), participant(&c.sid, "b")],
            &LIMITS,
        )
        .await
        .unwrap();
    assert_eq!(ok.value.1.len(), 2);
    assert_eq!(whole_log(&*store, &c.sid).await.len(), 3);
    let bad = conversation(&service, Some("second"));
    let r = store
        .create_conversation_with_participants(
            bad.clone(),
            vec![participant(&bad.sid, "x"), participant(&bad.sid, "x")],
            &LIMITS,
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert!(
        store.conversation(s, "second").await.unwrap().is_none(),
        "nothing of the failed create remains"
    );
    assert!(store.user(s, "x").await.unwrap().is_none());
}

pub async fn deleting_a_service_removes_everything_in_it(store: Arc<dyn Store>) {
    let default = account(&*store).await;
    let r = store.delete_service(default.as_str()).await;
    assert!(
        matches!(r, Err(StoreError::Conflict(_))),
        "the default service stays: {r:?}"
    );
    let tenant = store.create_service(new_service("gone")).await.unwrap().sid;
    let t = tenant.as_str();
    let conv = store
        .create_conversation(conversation(&tenant, Some("c")))
        .await
        .unwrap()
        .value
        .sid;
    store
        .add_participant(t, participant(&conv, "eve"), &LIMITS)
        .await
        .unwrap();
    store
        .add_message(t, message(&conv, "eve", "hi"))
        .await
        .unwrap();
    store.delete_service(t).await.unwrap();
    assert!(store.service(t).await.unwrap().is_none());
    assert!(
        store
            .conversation(t, conv.as_str())
            .await
            .unwrap()
            .is_none()
    );
    assert!(whole_log(&*store, &conv).await.is_empty());
    assert!(store.user(t, "eve").await.unwrap().is_none());
    assert!(store.service_configuration(t).await.unwrap().is_none());
    assert!(matches!(
        store.delete_service(t).await,
        Err(StoreError::NotFound(_))
    ));
}
