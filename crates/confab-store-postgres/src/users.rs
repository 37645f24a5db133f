//! Users, and the conversations seen through a user or a participant.

use confab_protocol::entity::User;
use confab_protocol::sid::{Sid, SidKind, is_sid};
use confab_store::{
    ActivityKey, Committed, Page, PageRequest, ParticipantConversation, ParticipantQuery,
    RecentPage, StoreError, StoreResult, Stream, UserConversation, UserPatch,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::common::{keyset, service_id};
use crate::participants;
use crate::rows::{
    self, CONVERSATION_COL_COUNT, CONVERSATION_COLS, USER_COLS, backend, unique_violation,
};

const USER_FROM: &str = "FROM users u JOIN services s ON s.id = u.service_id";

pub(crate) async fn create(c: &mut PgConnection, u: &User) -> StoreResult<User> {
    let id = service_id(c, u.chat_service_sid.as_str()).await?;
    sqlx::query(
        "INSERT INTO users (sid, service_id, identity, friendly_name, attributes, role_sid, date_created, date_updated) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(u.sid.as_str())
    .bind(id)
    .bind(&u.identity)
    .bind(&u.friendly_name)
    .bind(&u.attributes)
    .bind(u.role_sid.as_ref().map(Sid::as_str))
    .bind(u.date_created)
    .bind(u.date_updated)
    .execute(&mut *c)
    .await
    .map_err(|e| unique_violation(e, "a user with this identity already exists in the service"))?;
    Ok(u.clone())
}

/// Finds a user by SID or identity.
pub(crate) async fn find(
    c: &mut PgConnection,
    service: &str,
    sid_or_identity: &str,
) -> StoreResult<Option<(i64, User)>> {
    let col = if is_sid(SidKind::User, sid_or_identity) {
        "u.sid"
    } else {
        "u.identity"
    };
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS} {USER_FROM} WHERE s.sid = $1 AND {col} = $2"
    ))
    .bind(service)
    .bind(sid_or_identity)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    row.as_ref().map(rows::user).transpose().map_err(backend)
}

async fn load(c: &mut PgConnection, service: &str, sid: &str) -> StoreResult<(i64, User)> {
    find(c, service, sid)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("User {sid}")))
}

pub(crate) async fn update(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
    patch: UserPatch,
) -> StoreResult<User> {
    let (id, mut u) = load(c, service, sid).await?;
    patch.apply(&mut u);
    sqlx::query("UPDATE users SET friendly_name = $2, attributes = $3, role_sid = $4, date_updated = $5 WHERE id = $1")
        .bind(id)
        .bind(&u.friendly_name)
        .bind(&u.attributes)
        .bind(u.role_sid.as_ref().map(Sid::as_str))
        .bind(u.date_updated)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    Ok(u)
}

pub(crate) async fn delete(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<User>> {
    let (id, u) = load(c, service, sid).await?;
    let memberships = sqlx::query(
        "SELECT c.sid, p.sid FROM participants p JOIN conversations c ON c.id = p.conversation_id \
         WHERE p.service_id = (SELECT service_id FROM users WHERE id = $1) AND p.identity = $2 ORDER BY c.id",
    )
    .bind(id)
    .bind(&u.identity)
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?
    .iter()
    .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
    .collect::<sqlx::Result<Vec<_>>>()
    .map_err(backend)?;
    let mut events = vec![];
    for (conversation, participant) in memberships {
        let left = participants::remove(c, service, &conversation, &participant, now).await?;
        // The user's own log goes with the user; only the conversations' events remain.
        events.extend(
            left.events
                .into_iter()
                .filter(|e| matches!(e.stream, Stream::Conversation(_))),
        );
    }
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    Ok(Committed { value: u, events })
}

pub(crate) async fn list(
    c: &mut PgConnection,
    service: &str,
    page: &PageRequest,
) -> StoreResult<Page<User>> {
    let sql = format!(
        "SELECT {USER_COLS} {USER_FROM} WHERE s.sid = $1{}",
        keyset(page, "u.id")
    );
    let rows = sqlx::query(&sql)
        .bind(service)
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::user)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}

/// When a conversation last had activity for a participant: its newest message, or the
/// participant's joining if later.
const ACTIVITY: &str = "GREATEST(coalesce(c.last_message_at, 0), p.date_created)";

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
    participants_count: i32,
    last_activity: i64,
}

fn joined(r: &PgRow) -> sqlx::Result<Joined> {
    let conversation = rows::conversation(r)?.conversation;
    let (key, participant) = rows::participant_at(r, CONVERSATION_COL_COUNT, &conversation.sid)?;
    let user_sid: Option<String> = r.try_get(CONVERSATION_COL_COUNT + 11)?;
    Ok(Joined {
        key,
        participant_conversation: ParticipantConversation {
            participant,
            user_sid: user_sid.map(Sid::from_trusted),
            conversation,
        },
        last_message_index: r.try_get(CONVERSATION_COL_COUNT + 12)?,
        messages_count: r.try_get(CONVERSATION_COL_COUNT + 13)?,
        participants_count: r.try_get(CONVERSATION_COL_COUNT + 14)?,
        last_activity: r.try_get(CONVERSATION_COL_COUNT + 15)?,
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
            participants_count: i64::from(j.participants_count),
            last_activity: j.last_activity,
        },
    ))
}

async fn fetch_joined(
    c: &mut PgConnection,
    sql: &str,
    args: [&str; 2],
    extra: Option<&str>,
) -> StoreResult<Vec<Joined>> {
    let mut q = sqlx::query(sql).bind(args[0]).bind(args[1]);
    if let Some(e) = extra {
        q = q.bind(e);
    }
    q.fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(joined)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)
}

pub(crate) async fn conversations_of_user(
    c: &mut PgConnection,
    service: &str,
    user: &str,
    page: &PageRequest,
) -> StoreResult<Page<UserConversation>> {
    let (_, u) = load(c, service, user).await?;
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = $1 AND p.identity = $2{}",
        joined_cols(),
        keyset(page, "p.id")
    );
    let rows = fetch_joined(c, &sql, [service, &u.identity], None).await?;
    Ok(Page::from_rows(
        page,
        rows.into_iter().filter_map(user_conversation).collect(),
    ))
}

pub(crate) async fn recent_conversations(
    c: &mut PgConnection,
    service: &str,
    identity: &str,
    size: u32,
    after: Option<ActivityKey>,
) -> StoreResult<RecentPage> {
    let bound = if after.is_some() {
        format!(" AND ({ACTIVITY}, p.id) < ($3, $4)")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = $1 AND p.identity = $2{bound} \
         ORDER BY {ACTIVITY} DESC, p.id DESC LIMIT {}",
        joined_cols(),
        size.saturating_add(1)
    );
    let mut q = sqlx::query(&sql).bind(service).bind(identity);
    if let Some(k) = after {
        q = q.bind(k.at).bind(k.id);
    }
    let rows = q
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(joined)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(RecentPage::from_rows(
        rows.into_iter().filter_map(user_conversation).collect(),
        size,
    ))
}

pub(crate) async fn conversation_of_user(
    c: &mut PgConnection,
    service: &str,
    user: &str,
    conversation: &str,
) -> StoreResult<Option<UserConversation>> {
    let Some((_, u)) = find(c, service, user).await? else {
        return Ok(None);
    };
    let col = if is_sid(SidKind::Conversation, conversation) {
        "c.sid"
    } else {
        "c.unique_name"
    };
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = $1 AND p.identity = $2 AND {col} = $3",
        joined_cols()
    );
    let rows = fetch_joined(c, &sql, [service, &u.identity], Some(conversation)).await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(user_conversation)
        .map(|(_, uc)| uc))
}

pub(crate) async fn conversations_of_participant(
    c: &mut PgConnection,
    service: &str,
    query: &ParticipantQuery,
    page: &PageRequest,
) -> StoreResult<Page<ParticipantConversation>> {
    let (col, value) = match query {
        ParticipantQuery::Identity(i) => ("p.identity", i),
        ParticipantQuery::Address(a) => ("p.address", a),
    };
    let sql = format!(
        "SELECT {} {JOINED_FROM} WHERE s.sid = $1 AND {col} = $2{}",
        joined_cols(),
        keyset(page, "p.id")
    );
    let rows = fetch_joined(c, &sql, [service, value], None).await?;
    Ok(Page::from_rows(
        page,
        rows.into_iter()
            .map(|j| (j.key, j.participant_conversation))
            .collect(),
    ))
}
