//! Users, and the conversations seen through a user or a participant.

use confab_protocol::entity::User;
use confab_protocol::sid::{Sid, SidKind, is_sid};
use confab_store::{
    ActivityKey, Committed, Page, PageRequest, ParticipantConversation, ParticipantQuery,
    RecentPage, StoreError, StoreResult, Stream, UserConversation, UserPatch,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::common::{keyset, service_id};
use crate::participants;
use crate::rows::unique_violation;
use crate::rows::{self, CONVERSATION_COL_COUNT, CONVERSATION_COLS, USER_COLS, backend};

const USER_FROM: &str = "FROM users u JOIN services s ON s.id = u.service_id";

pub(crate) fn create(conn: &Connection, u: &User) -> StoreResult<User> {
    let id = service_id(conn, u.chat_service_sid.as_str())?;
    conn.prepare_cached(
        "INSERT INTO users (sid, service_id, identity, friendly_name, attributes, role_sid, date_created, date_updated) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            u.sid.as_str(),
            id,
            u.identity,
            u.friendly_name,
            u.attributes,
            u.role_sid.as_ref().map(Sid::as_str),
            u.date_created,
            u.date_updated
        ])
    })
    .map_err(|e| unique_violation(e, "a user with this identity already exists in the service"))?;
    Ok(u.clone())
}

/// Finds a user by SID or identity.
pub(crate) fn find(
    conn: &Connection,
    service: &str,
    sid_or_identity: &str,
) -> StoreResult<Option<(i64, User)>> {
    let col = if is_sid(SidKind::User, sid_or_identity) {
        "u.sid"
    } else {
        "u.identity"
    };
    conn.prepare_cached(&format!(
        "SELECT {USER_COLS} {USER_FROM} WHERE s.sid = ?1 AND {col} = ?2"
    ))
    .and_then(|mut s| {
        s.query_row(params![service, sid_or_identity], rows::user)
            .optional()
    })
    .map_err(backend)
}

fn load(conn: &Connection, service: &str, sid: &str) -> StoreResult<(i64, User)> {
    find(conn, service, sid)?.ok_or_else(|| StoreError::NotFound(format!("User {sid}")))
}

pub(crate) fn update(
    conn: &Connection,
    service: &str,
    sid: &str,
    patch: UserPatch,
) -> StoreResult<User> {
    let (id, mut u) = load(conn, service, sid)?;
    patch.apply(&mut u);
    conn.prepare_cached(
        "UPDATE users SET friendly_name = ?2, attributes = ?3, role_sid = ?4, date_updated = ?5 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![id, u.friendly_name, u.attributes, u.role_sid.as_ref().map(Sid::as_str), u.date_updated])
    })
    .map_err(backend)?;
    Ok(u)
}

pub(crate) fn delete(
    conn: &Connection,
    service: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<User>> {
    let (id, u) = load(conn, service, sid)?;
    let memberships: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT c.sid, p.sid FROM participants p JOIN conversations c ON c.id = p.conversation_id \
             WHERE p.service_id = (SELECT service_id FROM users WHERE id = ?1) AND p.identity = ?2 ORDER BY p.id",
        )
        .and_then(|mut s| s.query_map(params![id, u.identity], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(backend)?;
    let mut events = vec![];
    for (conversation, participant) in memberships {
        let left = participants::remove(conn, service, &conversation, &participant, now)?;
        // The user's own log goes with the user; only the conversations' events remain.
        events.extend(
            left.events
                .into_iter()
                .filter(|e| matches!(e.stream, Stream::Conversation(_))),
        );
    }
    conn.execute("DELETE FROM users WHERE id = ?1", [id])
        .map_err(backend)?;
    Ok(Committed { value: u, events })
}

pub(crate) fn list(
    conn: &Connection,
    service: &str,
    page: &PageRequest,
) -> StoreResult<Page<User>> {
    let sql = format!(
        "SELECT {USER_COLS} {USER_FROM} WHERE s.sid = ?1{}",
        keyset(page, "u.id")
    );
    let rows = conn
        .prepare(&sql)
        .and_then(|mut s| s.query_map([service], rows::user)?.collect())
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}

/// When a conversation last had activity for a participant: its newest message, or the
/// participant's joining if later.
const ACTIVITY: &str = "max(coalesce(c.last_message_at, 0), p.date_created)";

/// Conversation columns, then the participant's, then the user's SID, the conversation's
/// last message index, its counts and its last activity.
fn joined_cols() -> String {
    format!(
        "{CONVERSATION_COLS}, p.id, p.sid, p.identity, p.attributes, p.messaging_binding, p.role_sid, \
         p.last_read_message_index, p.last_read_timestamp, p.date_created, p.date_updated, p.notification_level, \
         u.sid, c.last_message_index, c.messages_count, c.participants_count, {ACTIVITY}"
    )
}

const JOINED_FROM: &str = "FROM participants p JOIN conversations c ON c.id = p.conversation_id \
     JOIN services s ON s.id = c.service_id \
     LEFT JOIN users u ON u.service_id = p.service_id AND u.identity = p.identity";

struct Joined {
    key: i64,
    participant_conversation: ParticipantConversation,
    last_message_index: i64,
    messages_count: i64,
    participants_count: i64,
    last_activity: i64,
}

fn joined(r: &Row<'_>) -> rusqlite::Result<Joined> {
    let conversation = rows::conversation(r)?.conversation;
    let (key, participant) = rows::participant_at(r, CONVERSATION_COL_COUNT, &conversation.sid)?;
    let user_sid: Option<String> = r.get(CONVERSATION_COL_COUNT + 11)?;
    Ok(Joined {
        key,
        participant_conversation: ParticipantConversation {
            participant,
            user_sid: user_sid.map(Sid::from_trusted),
            conversation,
        },
        last_message_index: r.get(CONVERSATION_COL_COUNT + 12)?,
        messages_count: r.get(CONVERSATION_COL_COUNT + 13)?,
        participants_count: r.get(CONVERSATION_COL_COUNT + 14)?,
        last_activity: r.get(CONVERSATION_COL_COUNT + 15)?,
    })
}

fn user_conversation(j: Joined) -> Option<(i64, UserConversation)> {
    let pc = j.participant_conversation;
    Some((
        j.key,
        UserConversation {
            user_sid: pc.user_sid?,
            participant: pc.participant,
            conversation: pc.conversation,
            last_message_index: (j.last_message_index >= 0).then_some(j.last_message_index),
            messages_count: j.messages_count,
            participants_count: j.participants_count,
            last_activity: j.last_activity,
        },
    ))
}

pub(crate) fn conversations_of_user(
    conn: &Connection,
    service: &str,
    user: &str,
    page: &PageRequest,
) -> StoreResult<Page<UserConversation>> {
    let (_, u) = load(conn, service, user)?;
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = ?1 AND p.identity = ?2{}",
        joined_cols(),
        keyset(page, "p.id")
    );
    let rows: Vec<Joined> = conn
        .prepare(&sql)
        .and_then(|mut s| s.query_map(params![service, u.identity], joined)?.collect())
        .map_err(backend)?;
    Ok(Page::from_rows(
        page,
        rows.into_iter().filter_map(user_conversation).collect(),
    ))
}

pub(crate) fn recent_conversations(
    conn: &Connection,
    service: &str,
    identity: &str,
    size: u32,
    after: Option<ActivityKey>,
) -> StoreResult<RecentPage> {
    let bound = if after.is_some() {
        format!(" AND ({ACTIVITY}, p.id) < (?3, ?4)")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = ?1 AND p.identity = ?2{bound} \
         ORDER BY {ACTIVITY} DESC, p.id DESC LIMIT {}",
        joined_cols(),
        size.saturating_add(1)
    );
    let mut args = vec![
        Value::Text(service.to_owned()),
        Value::Text(identity.to_owned()),
    ];
    if let Some(k) = after {
        args.extend([Value::Integer(k.at), Value::Integer(k.id)]);
    }
    let rows: Vec<Joined> = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_map(params_from_iter(args), joined)?.collect())
        .map_err(backend)?;
    Ok(RecentPage::from_rows(
        rows.into_iter().filter_map(user_conversation).collect(),
        size,
    ))
}

pub(crate) fn conversation_of_user(
    conn: &Connection,
    service: &str,
    user: &str,
    conversation: &str,
) -> StoreResult<Option<UserConversation>> {
    let Some((_, u)) = find(conn, service, user)? else {
        return Ok(None);
    };
    let col = if is_sid(SidKind::Conversation, conversation) {
        "c.sid"
    } else {
        "c.unique_name"
    };
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = ?1 AND p.identity = ?2 AND {col} = ?3",
        joined_cols()
    );
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![service, u.identity, conversation], joined)
                .optional()
        })
        .map_err(backend)?;
    Ok(row.and_then(user_conversation).map(|(_, uc)| uc))
}

pub(crate) fn conversations_of_participant(
    conn: &Connection,
    service: &str,
    query: &ParticipantQuery,
    page: &PageRequest,
) -> StoreResult<Page<ParticipantConversation>> {
    let (col, value) = match query {
        ParticipantQuery::Identity(i) => ("p.identity", i),
        ParticipantQuery::Address(a) => ("p.address", a),
    };
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = ?1 AND {col} = ?2{}",
        joined_cols(),
        keyset(page, "p.id")
    );
    let args = [Value::Text(service.to_owned()), Value::Text(value.clone())];
    let rows: Vec<Joined> = conn
        .prepare(&sql)
        .and_then(|mut s| s.query_map(params_from_iter(args), joined)?.collect())
        .map_err(backend)?;
    Ok(Page::from_rows(
        page,
        rows.into_iter()
            .map(|j| (j.key, j.participant_conversation))
            .collect(),
    ))
}
