//! The checks themselves; see [`crate::conformance_tests!`].

use super::*;

pub use crate::tenants::*;

fn assert_gapless(log: &[LogEntry]) {
    for (i, e) in log.iter().enumerate() {
        assert_eq!(
            e.seq,
            i as i64 + 1,
            "log seq must be 1, 2, 3, ... without gaps"
        );
        let frame = decode_event(&e.frame).unwrap();
        assert_eq!(
            frame.seq,
            Some(e.seq),
            "the stored frame carries its own seq"
        );
    }
}

pub async fn index_and_seq_are_gapless_under_concurrent_writers(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let convs: Vec<Sid> = {
        let mut v = vec![];
        for _ in 0..3 {
            v.push(
                store
                    .create_conversation(conversation(&service, None))
                    .await
                    .unwrap()
                    .value
                    .sid,
            );
        }
        v
    };
    let writers = 16;
    let per_writer = 40;
    let mut tasks = vec![];
    for w in 0..writers {
        let store = store.clone();
        let (service, convs) = (service.clone(), convs.clone());
        tasks.push(tokio::spawn(async move {
            let mut got = vec![];
            for i in 0..per_writer {
                let conv = &convs[(w + i) % convs.len()];
                let m = store
                    .add_message(
                        service.as_str(),
                        message(conv, &format!("w{w}"), &format!("{w}-{i}")),
                    )
                    .await
                    .unwrap();
                assert_eq!(m.events.len(), 1);
                got.push((conv.clone(), m.value.index, m.events[0].seq));
            }
            got
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), writers * per_writer);
    for conv in &convs {
        let mut indexes: Vec<i64> = all.iter().filter(|r| &r.0 == conv).map(|r| r.1).collect();
        indexes.sort();
        let n = indexes.len() as i64;
        assert_eq!(
            indexes,
            (0..n).collect::<Vec<_>>(),
            "indexes 0..n, each once"
        );
        let log = whole_log(&*store, conv).await;
        assert_eq!(
            log.len() as i64,
            n + 1,
            "conversationAdded plus one event per message"
        );
        assert_gapless(&log);
        // Each acknowledged (index, seq) pair is what the log holds.
        for (c, index, seq) in all.iter().filter(|r| &r.0 == conv) {
            let frame = decode_event(&log[(*seq - 1) as usize].frame).unwrap();
            match frame.body {
                EventBody::MessageAdded(m) => {
                    assert_eq!((&m.conversation_sid, m.index), (c, *index))
                }
                other => panic!("expected messageAdded, got {other:?}"),
            }
        }
    }
}

pub async fn every_change_writes_its_event_in_the_same_transaction(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let created = store
        .create_conversation(conversation(&service, Some("room")))
        .await
        .unwrap();
    let conv = created.value.sid.clone();
    let c = conv.as_str();
    let mut committed = created.events.clone();
    let p = store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap();
    assert_eq!(
        p.events.len(),
        2,
        "participantJoined and the user's conversationJoined"
    );
    assert_eq!(
        p.events[1].stream,
        Stream::User {
            service: service.clone(),
            identity: "alice".into()
        }
    );
    committed.push(p.events[0].clone());
    let m = store
        .add_message(s, message(&conv, "alice", "secret text"))
        .await
        .unwrap();
    assert_eq!(
        m.value.participant_sid.as_ref(),
        Some(&p.value.sid),
        "author maps to participant"
    );
    committed.extend(m.events.clone());
    let patch = MessagePatch {
        body: Some("edited secret".into()),
        date_updated: 40,
        ..Default::default()
    };
    committed.extend(
        store
            .update_message(s, c, m.value.sid.as_str(), patch)
            .await
            .unwrap()
            .events,
    );
    let patch = ConversationPatch {
        friendly_name: Some(Some("renamed".into())),
        date_updated: 41,
        ..Default::default()
    };
    let u = store.update_conversation(s, c, patch).await.unwrap();
    assert_eq!(u.value.friendly_name.as_deref(), Some("renamed"));
    committed.extend(u.events);
    let patch = ParticipantPatch {
        attributes: Some(r#"{"a":1}"#.into()),
        date_updated: 42,
        ..Default::default()
    };
    committed.extend(
        store
            .update_participant(s, c, p.value.sid.as_str(), patch)
            .await
            .unwrap()
            .events,
    );
    let removed = store
        .remove_message(s, c, m.value.sid.as_str())
        .await
        .unwrap();
    committed.extend(removed.events);
    let left = store.remove_participant(s, c, "alice").await.unwrap();
    assert_eq!(left.events.len(), 2);
    committed.push(left.events[0].clone());

    let log = whole_log(&*store, &conv).await;
    assert_gapless(&log);
    let types: Vec<&str> = log
        .iter()
        .map(|e| decode_event(&e.frame).unwrap().body.type_name())
        .collect();
    assert_eq!(
        types,
        [
            "conversationAdded",
            "participantJoined",
            "messageAdded",
            "messageUpdated",
            "conversationUpdated",
            "participantUpdated",
            "messageRemoved",
            "participantLeft"
        ]
    );
    // Removing the message scrubbed the text from every row, including earlier ones.
    for e in &log {
        let text = String::from_utf8_lossy(&e.frame);
        assert!(
            !text.contains("secret"),
            "message text survived removal: {text}"
        );
    }
    // What each write returned is what the log holds (except the rows scrubbed afterwards).
    for ev in committed
        .iter()
        .filter(|e| !String::from_utf8_lossy(&e.frame).contains("secret"))
    {
        assert_eq!(log[(ev.seq - 1) as usize].frame, ev.frame, "seq {}", ev.seq);
    }
    assert!(
        store
            .message(s, c, m.value.sid.as_str())
            .await
            .unwrap()
            .is_none()
    );
    let user_log = store.user_log(s, "alice", 0, 100).await.unwrap();
    let user_types: Vec<String> = user_log
        .iter()
        .map(|e| decode_event(&e.frame).unwrap().body.type_name().to_owned())
        .collect();
    assert_eq!(user_types, ["conversationJoined", "conversationLeft"]);
    assert_eq!(user_log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    match decode_event(&user_log[0].frame).unwrap().body {
        EventBody::ConversationJoined(m) => {
            assert_eq!(m.conversation_seq, 2, "joined at the conversation's seq 2");
            assert_eq!(m.conversation.unwrap().sid, conv);
        }
        other => panic!("{other:?}"),
    }
}

pub async fn a_failing_write_changes_nothing_and_spares_its_batch(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let conv = new_conversation(&*store, &service).await;
    // Many concurrent writes, a third of which fail (duplicate identity), so failures share
    // transactions with successes.
    let mut tasks = vec![];
    for i in 0..60 {
        let (store, service, conv) = (store.clone(), service.clone(), conv.clone());
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                store
                    .add_participant(service.as_str(), participant(&conv, "dup"), &LIMITS)
                    .await
                    .map(|_| ())
            } else {
                store
                    .add_message(service.as_str(), message(&conv, "x", "m"))
                    .await
                    .map(|_| ())
            }
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(
        (ok, conflicts),
        (41, 19),
        "one participant added, the other 19 conflict"
    );
    let log = whole_log(&*store, &conv).await;
    assert_eq!(log.len(), 1 + 41);
    assert_gapless(&log);
    let page = store
        .list_messages(
            service.as_str(),
            conv.as_str(),
            &PageRequest {
                size: 100,
                order: Order::Asc,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|m| m.index).collect::<Vec<_>>(),
        (0..40).collect::<Vec<_>>()
    );
}

pub async fn unique_names_and_identities_conflict(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let first = store
        .create_conversation(conversation(&service, Some("name")))
        .await
        .unwrap()
        .value;
    let again = store
        .create_conversation(conversation(&service, Some("name")))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // The same unique name in another service is fine.
    let other = store.create_service(new_service("other")).await.unwrap();
    store
        .create_conversation(conversation(&other.sid, Some("name")))
        .await
        .unwrap();
    // Renaming onto a taken name conflicts and changes nothing.
    let second = store
        .create_conversation(conversation(&service, Some("second")))
        .await
        .unwrap()
        .value;
    let patch = ConversationPatch {
        unique_name: Some(Some("name".into())),
        date_updated: 50,
        ..Default::default()
    };
    let r = store
        .update_conversation(service.as_str(), second.sid.as_str(), patch)
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(
        whole_log(&*store, &second.sid).await.len(),
        1,
        "no event for a refused write"
    );
    let by_name = store
        .conversation(service.as_str(), "name")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.sid, first.sid);
    store
        .add_participant(service.as_str(), participant(&first.sid, "bob"), &LIMITS)
        .await
        .unwrap();
    let dup = store
        .add_participant(service.as_str(), participant(&first.sid, "bob"), &LIMITS)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
}

pub async fn count_limits_hold(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let limits = CountLimits {
        participants_per_conversation: 2,
        conversations_per_identity: 2,
    };
    let a = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&a, "p1"), &limits)
        .await
        .unwrap();
    store
        .add_participant(s, participant(&a, "p2"), &limits)
        .await
        .unwrap();
    let r = store
        .add_participant(s, participant(&a, "p3"), &limits)
        .await;
    assert_eq!(r.unwrap_err(), StoreError::TooManyParticipants(2));
    let b = new_conversation(&*store, &service).await;
    let c = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&b, "p1"), &limits)
        .await
        .unwrap();
    let r = store
        .add_participant(s, participant(&c, "p1"), &limits)
        .await;
    assert_eq!(r.unwrap_err(), StoreError::TooManyConversations(2));
    // Leaving frees a place.
    store.remove_participant(s, a.as_str(), "p2").await.unwrap();
    store
        .add_participant(s, participant(&a, "p4"), &limits)
        .await
        .unwrap();
}

pub async fn message_pages_match_a_vec_model(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = new_conversation(&*store, &service).await;
    for i in 0..23 {
        store
            .add_message(s, message(&conv, "a", &format!("m{i}")))
            .await
            .unwrap();
    }
    for order in [Order::Asc, Order::Desc] {
        let mut req = PageRequest {
            size: 5,
            order,
            cursor: None,
        };
        let mut seen = vec![];
        loop {
            let page = store.list_messages(s, conv.as_str(), &req).await.unwrap();
            seen.extend(page.items.iter().map(|m| m.index));
            if !page.has_next {
                break;
            }
            req.cursor = Some(Cursor::After(page.last_key.unwrap()));
        }
        let mut expect: Vec<i64> = (0..23).collect();
        if order == Order::Desc {
            expect.reverse();
        }
        assert_eq!(seen, expect, "{order:?}");
        let back = store
            .list_messages(
                s,
                conv.as_str(),
                &PageRequest {
                    size: 5,
                    order,
                    cursor: Some(Cursor::Before(expect[10])),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            back.items.iter().map(|m| m.index).collect::<Vec<_>>(),
            expect[5..10].to_vec()
        );
        assert!(back.has_previous);
    }
}

pub async fn op_id_makes_a_retry_return_the_first_message(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let conv = new_conversation(&*store, &service).await;
    let mut first = message(&conv, "alice", "once");
    first.op_id = Some("op-1".into());
    let mut retry = first.clone();
    retry.sid = sid(SidKind::Message);
    let a = store.add_message(service.as_str(), first).await.unwrap();
    let b = store.add_message(service.as_str(), retry).await.unwrap();
    assert_eq!(a.value, b.value);
    assert!(b.events.is_empty(), "a retry logs nothing");
    assert_eq!(whole_log(&*store, &conv).await.len(), 2);
}

pub async fn deleting_a_conversation_tells_its_members(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = store
        .create_conversation(conversation(&service, Some("gone")))
        .await
        .unwrap()
        .value
        .sid;
    store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap();
    store
        .add_message(s, message(&conv, "alice", "hi"))
        .await
        .unwrap();
    let deleted = store.delete_conversation(s, conv.as_str()).await.unwrap();
    assert_eq!(deleted.events.len(), 1);
    assert!(
        store
            .conversation(s, conv.as_str())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.conversation(s, "gone").await.unwrap().is_none());
    assert!(whole_log(&*store, &conv).await.is_empty());
    let user_log = store.user_log(s, "alice", 1, 10).await.unwrap();
    assert_eq!(
        decode_event(&user_log[0].frame).unwrap().body.type_name(),
        "conversationRemoved"
    );
    // The name is free again.
    store
        .create_conversation(conversation(&service, Some("gone")))
        .await
        .unwrap();
}

pub async fn unknown_resources_are_not_found(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let missing = sid(SidKind::Conversation);
    assert!(
        store
            .conversation(s, missing.as_str())
            .await
            .unwrap()
            .is_none()
    );
    let r = store.add_message(s, message(&missing, "a", "b")).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    let r = store
        .create_conversation(conversation(&sid(SidKind::Service), None))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    let conv = new_conversation(&*store, &service).await;
    let r = store
        .remove_message(s, conv.as_str(), sid(SidKind::Message).as_str())
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    let r = store.remove_participant(s, conv.as_str(), "nobody").await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    // A conversation is not visible through another service.
    let other = store.create_service(new_service("o")).await.unwrap();
    assert!(
        store
            .conversation(other.sid.as_str(), conv.as_str())
            .await
            .unwrap()
            .is_none()
    );
    let r = store
        .add_message(other.sid.as_str(), message(&conv, "a", "b"))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
}

pub async fn init_account_is_idempotent(store: Arc<dyn Store>) {
    let first = account(&*store).await;
    let second = account(&*store).await;
    assert_eq!(first, second);
    let cfg = store.configuration().await.unwrap();
    assert_eq!(cfg.default_chat_service_sid, first);
    let other = store.create_service(new_service("o")).await.unwrap();
    let update = ConfigurationUpdate {
        default_chat_service_sid: Some(other.sid.to_string()),
        ..Default::default()
    };
    assert_eq!(
        store
            .update_configuration(update)
            .await
            .unwrap()
            .default_chat_service_sid,
        other.sid
    );
    let bad = ConfigurationUpdate {
        default_chat_service_sid: Some(sid(SidKind::Service).to_string()),
        ..Default::default()
    };
    assert!(matches!(
        store.update_configuration(bad).await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn updates_merge_what_they_do_not_name(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let mut c = conversation(&service, None);
    c.timers = Timers {
        date_inactive: Some(100),
        date_closed: Some(200),
    };
    c.bindings = Some(serde_json::json!({"email": {"address": "a@example.com", "name": "A"}}));
    let conv = store.create_conversation(c).await.unwrap().value.sid;
    let patch = ConversationPatch {
        timers: Some(Timers {
            date_inactive: None,
            date_closed: Some(300),
        }),
        bindings: Some(serde_json::json!({"email": {"name": "B"}})),
        date_updated: 60,
        ..Default::default()
    };
    let updated = store
        .update_conversation(s, conv.as_str(), patch)
        .await
        .unwrap()
        .value;
    assert_eq!(
        updated.timers,
        Timers {
            date_inactive: Some(100),
            date_closed: Some(300)
        }
    );
    assert_eq!(
        updated.bindings,
        Some(serde_json::json!({"email": {"address": "a@example.com", "name": "B"}}))
    );
    assert_eq!(
        store.conversation(s, conv.as_str()).await.unwrap().unwrap(),
        updated,
        "stored as returned"
    );

    // A new author maps to its own participant, or to none.
    let alice = store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap()
        .value;
    let bob = store
        .add_participant(s, participant(&conv, "bob"), &LIMITS)
        .await
        .unwrap()
        .value;
    let m = store
        .add_message(s, message(&conv, "alice", "hi"))
        .await
        .unwrap()
        .value;
    assert_eq!(m.participant_sid, Some(alice.sid));
    for (author, expect) in [("bob", Some(bob.sid)), ("nobody", None)] {
        let patch = MessagePatch {
            author: Some(author.into()),
            date_updated: 61,
            ..Default::default()
        };
        let m2 = store
            .update_message(s, conv.as_str(), m.sid.as_str(), patch)
            .await
            .unwrap()
            .value;
        assert_eq!(m2.participant_sid, expect, "author {author}");
        assert_eq!(
            store
                .message(s, conv.as_str(), m.sid.as_str())
                .await
                .unwrap()
                .unwrap(),
            m2
        );
    }
}

pub async fn memberships_give_the_heads_of_an_identitys_streams(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let nobody = store.memberships(s, "nobody").await.unwrap();
    assert_eq!(nobody, Memberships::default());
    let a = new_conversation(&*store, &service).await;
    let b = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&a, "alice"), &LIMITS)
        .await
        .unwrap();
    store
        .add_participant(s, participant(&b, "alice"), &LIMITS)
        .await
        .unwrap();
    store
        .add_participant(s, participant(&b, "bob"), &LIMITS)
        .await
        .unwrap();
    for body in ["one", "two"] {
        store
            .add_message(s, message(&a, "alice", body))
            .await
            .unwrap();
    }
    let m = store.memberships(s, "alice").await.unwrap();
    assert_eq!(m.user_seq, 2, "two joins on alice's user stream");
    // conversationAdded, participantJoined, two messages; and in b: added, two joins.
    assert_eq!(
        m.conversations,
        vec![(a.clone(), 4), (b.clone(), 3)],
        "in join order"
    );
    let p = store
        .participant(s, b.as_str(), "alice")
        .await
        .unwrap()
        .unwrap();
    store
        .remove_participant(s, b.as_str(), p.sid.as_str())
        .await
        .unwrap();
    let m = store.memberships(s, "alice").await.unwrap();
    assert_eq!((m.user_seq, m.conversations), (3, vec![(a, 4)]));
    // Another service's alice is someone else.
    let other = store.create_service(new_service("other")).await.unwrap();
    assert_eq!(
        store
            .memberships(other.sid.as_str(), "alice")
            .await
            .unwrap(),
        Memberships::default()
    );
}

pub async fn pruning_drops_old_log_rows_and_keeps_the_counters(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = new_conversation(&*store, &service).await;
    for body in ["a", "b", "c"] {
        store
            .add_message(s, message(&conv, "alice", body))
            .await
            .unwrap();
    }
    assert_eq!(
        store.prune_conversation_logs(0, 100).await.unwrap(),
        0,
        "nothing is that old"
    );
    let far = i64::MAX / 2;
    assert_eq!(
        store.prune_conversation_logs(far, 2).await.unwrap(),
        2,
        "at most the limit"
    );
    let left = whole_log(&*store, &conv).await;
    assert_eq!(
        left.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![3, 4],
        "oldest go first"
    );
    assert_eq!(store.prune_conversation_logs(far, 100).await.unwrap(), 2);
    assert!(whole_log(&*store, &conv).await.is_empty());
    // The counters do not move back: the next message takes the next index and seq.
    let next = store
        .add_message(s, message(&conv, "alice", "d"))
        .await
        .unwrap();
    assert_eq!((next.value.index, next.events[0].seq), (3, 5));
    assert_eq!(whole_log(&*store, &conv).await.len(), 1);
}

pub async fn conversation_heads_are_each_logs_last_seq(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let quiet = new_conversation(&*store, &service).await;
    let busy = new_conversation(&*store, &service).await;
    for body in ["a", "b"] {
        store
            .add_message(s, message(&busy, "alice", body))
            .await
            .unwrap();
    }
    let gone = "CH00000000000000000000000000000000".to_owned();
    let asked = vec![busy.to_string(), gone.clone(), quiet.to_string()];
    let heads = store.conversation_heads(&asked).await.unwrap();
    let (busy_head, quiet_head) = (
        whole_log_head(&*store, &busy).await,
        whole_log_head(&*store, &quiet).await,
    );
    assert_eq!(
        heads,
        vec![
            (busy.to_string(), busy_head),
            (gone, 0),
            (quiet.to_string(), quiet_head),
        ]
    );
    assert!(heads[0].1 > heads[2].1, "{heads:?}");
    // More than one statement's worth of parameters.
    let many: Vec<String> = (0..1200).map(|_| busy.to_string()).collect();
    assert_eq!(store.conversation_heads(&many).await.unwrap().len(), 1200);
}

pub async fn user_heads_are_each_user_logs_last_seq(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap();
    let alice = store.memberships(s, "alice").await.unwrap().user_seq;
    assert!(alice > 0);
    let asked = vec!["nobody".to_owned(), "alice".to_owned()];
    assert_eq!(
        store.user_heads(s, &asked).await.unwrap(),
        vec![("nobody".to_owned(), 0), ("alice".to_owned(), alice)]
    );
    let many: Vec<String> = (0..1200).map(|_| "alice".to_owned()).collect();
    assert_eq!(store.user_heads(s, &many).await.unwrap().len(), 1200);
}

async fn whole_log_head(store: &dyn Store, sid: &Sid) -> i64 {
    whole_log(store, sid).await.last().map_or(0, |e| e.seq)
}

pub async fn read_horizons_move_without_logging(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = new_conversation(&*store, &service).await;
    let p = store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap()
        .value;
    let horizon = |index: Option<i64>, advance_only: bool| ReadHorizon {
        index,
        advance_only,
        timestamp: "2026-11-26T00:00:00Z".into(),
    };
    // No messages yet: nothing to have read.
    let (q, last) = store
        .set_read_horizon(s, conv.as_str(), p.sid.as_str(), horizon(Some(3), false))
        .await
        .unwrap();
    assert_eq!((q.last_read_message_index, last), (None, None));
    for body in ["a", "b", "c"] {
        store
            .add_message(s, message(&conv, "bob", body))
            .await
            .unwrap();
    }
    let head = whole_log(&*store, &conv).await.len();
    let set = |i, adv| store.set_read_horizon(s, conv.as_str(), p.sid.as_str(), horizon(i, adv));
    assert_eq!(
        set(Some(1), false).await.unwrap().0.last_read_message_index,
        Some(1)
    );
    assert_eq!(
        set(Some(0), true).await.unwrap().0.last_read_message_index,
        Some(1),
        "advance never moves back"
    );
    let (q, last) = set(Some(99), false).await.unwrap();
    assert_eq!(
        (q.last_read_message_index, last),
        (Some(2), Some(2)),
        "clamped"
    );
    assert_eq!(
        q.last_read_timestamp.as_deref(),
        Some("2026-11-26T00:00:00Z")
    );
    assert_eq!(
        set(None, false).await.unwrap().0.last_read_message_index,
        None
    );
    assert_eq!(
        whole_log(&*store, &conv).await.len(),
        head,
        "nothing logged"
    );
    let stored = store
        .participant(s, conv.as_str(), "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_read_message_index, None);
}

/// A user's conversations by last activity (newest message, or joining if later), walked in
/// pages; counts follow adds and removals.
pub async fn recent_conversations_follow_activity_and_counts(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let mut convs = vec![];
    for i in 0..7i64 {
        let conv = new_conversation(&*store, &service).await;
        let mut p = participant(&conv, "alice");
        // Joined at 100, 101, ...: later joins are more recent.
        p.participant.date_created = 100 + i;
        store.add_participant(s, p, &LIMITS).await.unwrap();
        convs.push(conv);
    }
    store
        .add_participant(s, participant(&convs[2], "bob"), &LIMITS)
        .await
        .unwrap();
    // A message at 500 in conversation 2 and one at 400 in conversation 4 put them first.
    let at = |conv: &Sid, t: i64| {
        let mut m = message(conv, "bob", "hi");
        m.date_created = t;
        m
    };
    store.add_message(s, at(&convs[2], 500)).await.unwrap();
    let removed = store.add_message(s, at(&convs[2], 450)).await.unwrap();
    store.add_message(s, at(&convs[4], 400)).await.unwrap();
    store
        .remove_message(s, convs[2].as_str(), removed.value.sid.as_str())
        .await
        .unwrap();
    let want: Vec<&Sid> = [2, 4, 6, 5, 3, 1, 0].iter().map(|&i| &convs[i]).collect();

    let mut seen = vec![];
    let mut after = None;
    loop {
        let page = store
            .recent_conversations(s, "alice", 3, after)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items);
        match page.next {
            Some(k) => {
                assert_eq!(ActivityKey::from_token(&k.to_token()), Some(k));
                after = Some(k);
            }
            None => break,
        }
    }
    assert_eq!(
        seen.iter()
            .map(|uc| &uc.conversation.sid)
            .collect::<Vec<_>>(),
        want
    );
    let first = &seen[0];
    assert_eq!(first.last_activity, 500);
    assert_eq!(
        first.messages_count, 1,
        "the removed message is not counted"
    );
    assert_eq!(first.participants_count, 2);
    assert_eq!(first.last_message_index, Some(1));
    assert_eq!(seen[2].last_activity, 106, "joined, no message");
    assert_eq!(seen[2].messages_count, 0);
    assert_eq!(seen[2].participants_count, 1);

    let bob = store
        .user_conversation(s, "bob", convs[2].as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((bob.messages_count, bob.participants_count), (1, 2));
    let nobody = store
        .recent_conversations(s, "nobody", 10, None)
        .await
        .unwrap();
    assert_eq!((nobody.items.len(), nobody.next), (0, None));
}

pub async fn access_facts_are_the_rows_read_one_at_a_time(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let c = store
        .create_conversation(conversation(&service, Some("lobby")))
        .await
        .unwrap()
        .value;
    let alice = store
        .add_participant(s, participant(&c.sid, "alice"), &LIMITS)
        .await
        .unwrap()
        .value;
    let configuration = store.service_configuration(s).await.unwrap();
    assert!(configuration.is_some());
    for key in [c.sid.as_str(), "lobby"] {
        let facts = store.access_facts(s, key, "alice").await.unwrap().unwrap();
        assert_eq!(facts.conversation, c);
        assert_eq!(facts.participant.as_ref(), Some(&alice));
        assert_eq!(facts.user, store.user(s, "alice").await.unwrap());
        assert!(facts.user.is_some(), "a participant's user exists");
        assert_eq!(facts.configuration, configuration);
    }
    let stranger = store
        .access_facts(s, "lobby", "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stranger.participant, stranger.user), (None, None));
    // Participants are found by identity only: a participant's SID is nobody's identity.
    let by_sid = store
        .access_facts(s, "lobby", alice.sid.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_sid.participant, None);
    assert_eq!(
        store.access_facts(s, "nowhere", "alice").await.unwrap(),
        None
    );
    let other = store.create_service(new_service("other")).await.unwrap();
    assert_eq!(
        store
            .access_facts(other.sid.as_str(), c.sid.as_str(), "alice")
            .await
            .unwrap(),
        None,
        "a conversation of another service is not found"
    );
}

pub async fn a_participants_only_message_from_anyone_else_changes_nothing(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap();
    let before = store.conversation(s, conv.as_str()).await.unwrap();
    let log_before = whole_log(&*store, &conv).await;
    let mut stranger = message(&conv, "mallory", "let me in");
    stranger.participant_only = true;
    stranger.op_id = Some("op-m".into());
    assert!(matches!(
        store.add_message(s, stranger).await,
        Err(StoreError::NotParticipant(_))
    ));
    assert_eq!(store.conversation(s, conv.as_str()).await.unwrap(), before);
    assert_eq!(whole_log(&*store, &conv).await, log_before);
    let mut own = message(&conv, "alice", "hello");
    own.participant_only = true;
    let added = store.add_message(s, own).await.unwrap().value;
    assert_eq!(added.index, 0, "the refused message took no index");
    assert!(added.participant_sid.is_some());
}

pub async fn media_goes_with_its_message_and_is_condemned_when_it_is_gone(store: Arc<dyn Store>) {
    let service = account(&*store).await;
    let s = service.as_str();
    let conv = new_conversation(&*store, &service).await;
    store
        .add_participant(s, participant(&conv, "alice"), &LIMITS)
        .await
        .unwrap();
    let add = |m: NewMedia| {
        let store = store.clone();
        async move { store.add_media(s, m).await.unwrap() }
    };
    let (one, bobs, stale, four) = (
        add(media("alice", 1000)).await,
        add(media("bob", 1000)).await,
        add(media("alice", 10)).await,
        add(media("alice", 1000)).await,
    );
    assert_eq!(one.size, 5_000_000_000, "sizes are 64-bit");
    assert_eq!(
        store.media(s, one.sid.as_str()).await.unwrap(),
        Some(one.clone())
    );
    assert_eq!(
        store
            .media(sid(SidKind::Service).as_ref(), one.sid.as_str())
            .await
            .unwrap(),
        None,
        "another service's"
    );

    // Refused, each for its reason, and nothing changes.
    let before = store.conversation(s, conv.as_str()).await.unwrap();
    let refused = |media: Vec<Sid>, participant_only: bool| {
        let mut m = message(&conv, "alice", "look");
        m.media = media;
        m.participant_only = participant_only;
        let store = store.clone();
        async move {
            match store.add_message(s, m).await {
                Err(StoreError::Unattachable(why)) => why,
                other => panic!("refused, not {other:?}"),
            }
        }
    };
    assert!(
        refused(vec![one.sid.clone(), bobs.sid.clone()], true)
            .await
            .contains("another user")
    );
    assert!(
        refused(vec![stale.sid.clone()], true)
            .await
            .contains("expired")
    );
    assert!(
        refused(vec![one.sid.clone(), one.sid.clone()], true)
            .await
            .contains("twice")
    );
    assert!(
        refused(vec![sid(SidKind::Media)], false)
            .await
            .contains("does not exist")
    );
    assert_eq!(store.conversation(s, conv.as_str()).await.unwrap(), before);
    assert_eq!(
        store.media(s, one.sid.as_str()).await.unwrap(),
        Some(one.clone())
    );

    // Taken, in the order named; the message lists them wherever it is read.
    let mut m = message(&conv, "alice", "look");
    m.media = vec![four.sid.clone(), one.sid.clone()];
    m.participant_only = true;
    let msg = store.add_message(s, m).await.unwrap().value;
    let listed = Some(vec![four.listed(), one.listed()]);
    assert_eq!(msg.media, listed);
    let read = store
        .message(s, conv.as_str(), msg.sid.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.media, listed);
    let first = PageRequest {
        size: 10,
        order: Order::Asc,
        cursor: None,
    };
    let page = store.list_messages(s, conv.as_str(), &first).await.unwrap();
    assert_eq!(page.items[0].media, listed);
    let attached = store.media(s, one.sid.as_str()).await.unwrap().unwrap();
    assert_eq!(
        (
            attached.message_sid.as_ref(),
            attached.conversation_sid.as_ref()
        ),
        (Some(&msg.sid), Some(&conv))
    );
    assert!(
        refused(vec![one.sid.clone()], true)
            .await
            .contains("another message")
    );
    let text = store
        .add_message(s, message(&conv, "alice", "plain"))
        .await
        .unwrap()
        .value;
    assert_eq!(text.media, None);

    // Expired unattached: condemned, and no message can take it any more.
    let condemned = |now: i64| {
        let (store, service) = (store.clone(), service.clone());
        async move {
            store
                .condemn_media(now, 100)
                .await
                .unwrap()
                .into_iter()
                .map(|m| {
                    assert_eq!(m.service_sid, service);
                    m.sid
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(condemned(20).await, std::slice::from_ref(&stale.sid));
    // The removed message's media are condemned too; all stay so until forgotten.
    store
        .remove_message(s, conv.as_str(), msg.sid.as_str())
        .await
        .unwrap();
    // In the order they were uploaded.
    assert_eq!(
        condemned(20).await,
        [one.sid.clone(), stale.sid.clone(), four.sid.clone()]
    );
    store
        .forget_media(&[stale.sid.clone(), one.sid.clone(), four.sid.clone()])
        .await
        .unwrap();
    assert!(condemned(20).await.is_empty());
    assert_eq!(store.media(s, one.sid.as_str()).await.unwrap(), None);
    // Condemned by a sweep is refused even where the message's date would let it pass.
    let late = add(media("alice", 990)).await;
    assert_eq!(condemned(999).await, std::slice::from_ref(&late.sid));
    assert!(
        refused(vec![late.sid.clone()], true)
            .await
            .contains("expired")
    );
    store
        .forget_media(std::slice::from_ref(&late.sid))
        .await
        .unwrap();
    // A second record under one SID is a conflict.
    let mut again = media("alice", 1000);
    again.sid = one.sid.clone();
    store.add_media(s, again.clone()).await.unwrap();
    assert!(matches!(
        store.add_media(s, again).await,
        Err(StoreError::Conflict(_))
    ));

    // A deleted conversation's media go the same way; forgetting spares what is not condemned.
    let mut backend = message(&conv, "system", "from the backend");
    backend.media = vec![bobs.sid.clone()];
    store.add_message(s, backend).await.unwrap();
    let kept = add(media("alice", 1000)).await;
    store
        .forget_media(std::slice::from_ref(&kept.sid))
        .await
        .unwrap();
    assert!(
        store.media(s, kept.sid.as_str()).await.unwrap().is_some(),
        "not condemned"
    );
    store.delete_conversation(s, conv.as_str()).await.unwrap();
    assert_eq!(condemned(20).await, std::slice::from_ref(&bobs.sid));
}
