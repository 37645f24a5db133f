//! The [`Store`] conformance suite: every backend runs the same tests through
//! [`conformance_tests!`], giving only a function that makes a fresh, empty store.
//!
//! ```ignore
//! async fn make() -> confab_store_suite::Fixture { /* open a store in a temp dir */ }
//! confab_store_suite::conformance_tests!(make);
//! ```
#![allow(clippy::unwrap_used, missing_docs)]

use std::any::Any;
use std::sync::Arc;

use confab_protocol::entity::{
    Conversation, ConversationState, Participant, Role, RoleType, Service, Timers, User,
};
use confab_protocol::event::{EventBody, decode_event};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::*;

/// A store under test and whatever keeps it alive (a temp dir, a database).
pub struct Fixture {
    pub store: Arc<dyn Store>,
    pub guard: Box<dyn Any + Send>,
}

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make,
            index_and_seq_are_gapless_under_concurrent_writers,
            every_change_writes_its_event_in_the_same_transaction,
            a_failing_write_changes_nothing_and_spares_its_batch,
            unique_names_and_identities_conflict,
            count_limits_hold,
            message_pages_match_a_vec_model,
            op_id_makes_a_retry_return_the_first_message,
            deleting_a_conversation_tells_its_members,
            unknown_resources_are_not_found,
            init_account_is_idempotent,
            updates_merge_what_they_do_not_name,
            services_start_with_their_default_roles_and_configuration,
            roles_in_use_cannot_be_deleted,
            users_are_unique_per_service_and_made_on_first_membership,
            deleting_a_user_takes_it_out_of_its_conversations,
            user_and_participant_conversations_join_the_right_rows,
            a_conversation_with_participants_is_all_or_nothing,
            deleting_a_service_removes_everything_in_it,
            memberships_give_the_heads_of_an_identitys_streams,
            pruning_drops_old_log_rows_and_keeps_the_counters,
            conversation_heads_are_each_logs_last_seq,
            user_heads_are_each_user_logs_last_seq,
            read_horizons_move_without_logging,
            recent_conversations_follow_activity_and_counts,
            access_facts_are_the_rows_read_one_at_a_time,
            a_participants_only_message_from_anyone_else_changes_nothing,
            media_goes_with_its_message_and_is_condemned_when_it_is_gone,
        );
    };
    (@each $make:path, $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                // A backend whose server is not configured here returns `None` (and says so).
                let Some(fixture) = Option::<$crate::Fixture>::from($make().await) else { return };
                $crate::checks::$name(fixture.store.clone()).await;
                drop(fixture);
            }
        )*
    };
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A fresh SID, unique within the process, without a randomness dependency.
pub fn sid(kind: SidKind) -> Sid {
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = u64::from(std::process::id());
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[8..].copy_from_slice(&pid.to_be_bytes());
    Sid::from_random(kind, bytes)
}

pub const LIMITS: CountLimits = CountLimits {
    participants_per_conversation: 1000,
    conversations_per_identity: 1000,
};

/// Sets up the account and returns the default service SID.
pub async fn account(store: &dyn Store) -> Sid {
    store
        .init_account(new_service("default"))
        .await
        .unwrap()
        .default_chat_service_sid
}

/// A service with its four default roles.
pub fn new_service(name: &str) -> NewService {
    let service = Service {
        sid: sid(SidKind::Service),
        friendly_name: name.into(),
        date_created: 1,
        date_updated: 1,
    };
    let role = |name: &str, role_type: RoleType| Role {
        sid: sid(SidKind::Role),
        chat_service_sid: service.sid.clone(),
        friendly_name: name.into(),
        role_type,
        permissions: vec!["sendMessage".into()],
        date_created: 1,
        date_updated: 1,
    };
    NewService {
        roles: DefaultRoles {
            service_admin: role("service admin", RoleType::Service),
            service_user: role("service user", RoleType::Service),
            conversation_admin: role("conversation admin", RoleType::Conversation),
            conversation_user: role("conversation user", RoleType::Conversation),
        },
        service,
    }
}

pub fn conversation(service: &Sid, unique_name: Option<&str>) -> Conversation {
    Conversation {
        sid: sid(SidKind::Conversation),
        chat_service_sid: service.clone(),
        messaging_service_sid: None,
        friendly_name: Some("chat".into()),
        unique_name: unique_name.map(str::to_owned),
        attributes: "{}".into(),
        state: ConversationState::Active,
        timers: Timers::default(),
        bindings: None,
        created_by: Some("system".into()),
        date_created: 10,
        date_updated: 10,
    }
}

pub fn participant(conversation: &Sid, identity: &str) -> NewParticipant {
    NewParticipant {
        participant: Participant {
            sid: sid(SidKind::Participant),
            conversation_sid: conversation.clone(),
            identity: Some(identity.to_owned()),
            attributes: "{}".into(),
            messaging_binding: None,
            role_sid: None,
            last_read_message_index: None,
            last_read_timestamp: None,
            notification_level: Default::default(),
            date_created: 20,
            date_updated: 20,
        },
        user_sid: sid(SidKind::User),
    }
}

pub fn message(conversation: &Sid, author: &str, body: &str) -> NewMessage {
    NewMessage {
        sid: sid(SidKind::Message),
        conversation: conversation.to_string(),
        author: author.to_owned(),
        body: Some(body.to_owned()),
        attributes: "{}".into(),
        date_created: 30,
        date_updated: 30,
        op_id: None,
        participant_only: false,
        media: vec![],
        now: 30,
    }
}

/// An upload by `author`, unattached until `expires`.
pub fn media(author: &str, expires: i64) -> NewMedia {
    NewMedia {
        sid: sid(SidKind::Media),
        author: author.to_owned(),
        category: "media".into(),
        content_type: "image/png".into(),
        filename: Some("cat.png".into()),
        size: 5_000_000_000,
        date_created: 5,
        expires,
    }
}

/// Creates a conversation in `service`; its SID.
pub async fn new_conversation(store: &dyn Store, service: &Sid) -> Sid {
    store
        .create_conversation(conversation(service, None))
        .await
        .unwrap()
        .value
        .sid
}

/// Reads a whole conversation log.
pub async fn whole_log(store: &dyn Store, conversation: &Sid) -> Vec<LogEntry> {
    store
        .conversation_log(conversation.as_str(), 0, 100_000)
        .await
        .unwrap()
}

pub mod checks;
pub mod tenants;
