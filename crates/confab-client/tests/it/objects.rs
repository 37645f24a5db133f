//! The object model: one object per conversation, message, participant and user, whichever
//! way the app reaches it (events, lookups, pages), updated in place, with its own stream of
//! events and the reasons each change is for.

use std::time::Duration;

use confab_client::{
    ClientEvent as E, ConversationStatus, ConversationUpdateReason as CR, EventStream,
    MessageEvent, MessageUpdateReason as MR, ParticipantEvent, ParticipantUpdateReason as PR,
    UserEvent, UserUpdateReason as UR,
};
use confab_testkit::TestServer;
use serde_json::json;

use crate::support::*;

/// The next event of an entity's stream, within the test's bound.
async fn next<T: std::fmt::Debug>(events: &mut EventStream<T>) -> T {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
}

/// Reads a stream to its end, within the test's bound.
async fn ends<T>(mut events: EventStream<T>) {
    tokio::time::timeout(WAIT, async { while events.next().await.is_some() {} })
        .await
        .expect("the stream ends");
}

#[tokio::test]
async fn every_entity_is_one_object_updated_in_place_with_its_own_events_and_reasons() {
    let server = TestServer::start_with(|c| {
        c.realtime.typing_timeout = Duration::from_millis(300);
    })
    .await;
    // Alice follows one user at most.
    let mut one_user = options(server.addr());
    one_user.cache_capacity = 1;
    let (alice, mut a_ev) = confab_client::Client::new(server.token("alice"), one_user);
    until(&mut a_ev, |e| {
        matches!(e, E::StateChanged(confab_client::ClientState::Initialized))
    })
    .await;
    let (bob, mut b_ev) = ready(&server, "bob").await;

    // Joining: the conversation is added, then joined, as one object.
    let created = alice.create_conversation(Some("objects")).await.unwrap();
    let sid = created.sid.to_string();
    alice.join(&sid).await.unwrap();
    let seen = until(&mut a_ev, |e| matches!(e, E::ConversationJoined(_))).await;
    let [
        ..,
        E::ConversationAdded(added),
        E::ConversationJoined(joined),
    ] = &seen[..]
    else {
        panic!("added, then joined: {seen:?}")
    };
    assert_eq!(added, joined);
    let a = alice.conversation_by_sid(&sid).await.unwrap();
    assert_eq!(&a, joined, "a lookup gives the same object");
    assert_eq!(alice.handle(&sid), a);
    assert_eq!(alice.conversations(), std::slice::from_ref(&a));
    assert_eq!(a.status(), ConversationStatus::Joined);
    assert_eq!(a.friendly_name().as_deref(), Some("objects"));
    assert!(
        alice
            .peek_conversation_by_sid("CH00000000000000000000000000000000")
            .is_none()
    );

    bob.join(&sid).await.unwrap();
    let seen = until(&mut b_ev, |e| matches!(e, E::ConversationJoined(_))).await;
    let Some(E::ConversationJoined(b)) = seen.last() else {
        unreachable!()
    };
    let b = b.clone();
    until(&mut a_ev, |e| matches!(e, E::ParticipantJoined(_))).await;

    // A message: the event's object is the one later events update.
    let mut a_in = a.events();
    bob.send_message(&sid, "one").await.unwrap();
    let E::MessageAdded(m) = next(&mut a_in).await else {
        panic!("messageAdded first")
    };
    assert_eq!(
        next(&mut a_in).await,
        E::ConversationUpdated {
            conversation: a.clone(),
            reasons: vec![CR::LastMessage]
        }
    );
    assert_eq!(a.last_message().map(|l| l.index), Some(m.index()));
    let mut m_ev = m.events();
    let bobs = b.message(m.sid().as_str()).await.unwrap();
    bobs.update_body("one, edited").await.unwrap();
    let MessageEvent::Updated(reasons) = next(&mut m_ev).await else {
        panic!("updated")
    };
    assert!(reasons.contains(&MR::Body) && !reasons.contains(&MR::Attributes));
    assert_eq!(m.body().as_deref(), Some("one, edited"), "updated in place");
    bobs.remove().await.unwrap();
    assert_eq!(next(&mut m_ev).await, MessageEvent::Removed);

    // A participant: typing, read horizon, attributes, each on its own stream.
    let p = a.participant_by_identity("bob").await.unwrap().unwrap();
    assert_eq!(
        a.participant_by_sid(p.sid().as_str()).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(a.participant_by_identity("nobody").await.unwrap(), None);
    let mut p_ev = p.events();
    b.typing();
    assert_eq!(next(&mut p_ev).await, ParticipantEvent::TypingStarted);
    assert_eq!(next(&mut p_ev).await, ParticipantEvent::TypingEnded);
    assert!(!p.is_typing());
    let two = b.send_message("two").await.unwrap();
    let mut b_in = b.events();
    b.set_last_read(two.index).await.unwrap();
    assert_eq!(
        b.last_read_message_index(),
        Some(two.index),
        "the answer moves the object's horizon, before the event comes"
    );
    assert_eq!(
        next(&mut p_ev).await,
        ParticipantEvent::Updated(vec![PR::LastReadMessageIndex])
    );
    assert_eq!(p.last_read_message_index(), Some(two.index));
    // Bob's own horizon is his conversation's too.
    until(&mut b_in, |e| {
        matches!(e, E::ConversationUpdated { reasons, .. } if reasons.contains(&CR::LastReadMessageIndex))
    })
    .await;
    assert_eq!(b.last_read_message_index(), Some(two.index));
    // Another's attributes need editAnyParticipantAttributes, which alice lacks.
    let refused = p.update_attributes(json!({"by": "alice"})).await;
    assert_eq!(refused.unwrap_err().code, 20403);
    b.update_participant_attributes("bob", json!({"nick": "b"}))
        .await
        .unwrap();
    let ParticipantEvent::Updated(reasons) = next(&mut p_ev).await else {
        panic!("updated")
    };
    assert!(reasons.contains(&PR::Attributes), "{reasons:?}");
    assert_eq!(p.snapshot().attributes, r#"{"nick":"b"}"#);

    // A user: its own stream, and its profile is its own.
    let u = alice.user("bob").await.unwrap();
    let mut u_ev = u.events();
    bob.update_user(Some("Bobby"), None).await.unwrap();
    assert_eq!(
        next(&mut u_ev).await,
        UserEvent::Updated(vec![UR::FriendlyName])
    );
    assert_eq!(u.friendly_name().as_deref(), Some("Bobby"));
    assert!(u.is_subscribed());
    assert_eq!(u.update_friendly_name("x").await.unwrap_err().code, 20403);
    // Following alice herself leaves no room for bob: his object stops, and says so.
    let me = alice.own_user().await.unwrap();
    assert_eq!(next(&mut u_ev).await, UserEvent::Unsubscribed);
    ends(u_ev).await;
    assert!(!u.is_subscribed() && me.is_subscribed());
    assert_eq!(alice.subscribed_users(), std::slice::from_ref(&me));

    // Bob's view of alice's participant ends when bob is no longer in the conversation.
    let alice_on_bobs = b.participant_by_identity("alice").await.unwrap().unwrap();
    let alice_on_bobs = alice_on_bobs.events();

    // Leaving: the participant's stream says so; bob's conversation is no longer his.
    b.leave().await.unwrap();
    assert_eq!(next(&mut p_ev).await, ParticipantEvent::Left);
    let seen = until(&mut b_ev, |e| matches!(e, E::ConversationRemoved(_))).await;
    let n = seen.len();
    assert_eq!(
        seen[n - 3..],
        [
            E::ConversationUpdated {
                conversation: b.clone(),
                reasons: vec![CR::Status]
            },
            E::ConversationLeft(b.clone()),
            E::ConversationRemoved(b.clone()),
        ]
    );
    assert_eq!(b.status(), ConversationStatus::NotParticipating);
    assert!(bob.conversations().is_empty());
    ends(alice_on_bobs).await;
    ends(p_ev).await;

    // Every object's streams end with the client, and later ones end at once.
    let m2 = a.message(two.sid.as_str()).await.unwrap();
    let mine = a.participant_by_identity("alice").await.unwrap().unwrap();
    let held = [m2.events(), m.events()];
    let (mine_ev, me_ev) = (mine.events(), me.events());
    alice.shutdown().await;
    for stream in held.into_iter().chain([m2.events()]) {
        ends(stream).await;
    }
    ends(mine_ev).await;
    ends(me_ev).await;
    ends(a_in).await;
}
