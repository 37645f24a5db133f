//! Mapping between rows and entities, and error mapping.

use confab_protocol::entity::{
    Conversation, ConversationState, Message, NotificationLevel, Participant, Role, RoleType,
    Service, User,
};
use confab_protocol::sid::Sid;
use confab_store::StoreError;
use sqlx::Row;
use sqlx::postgres::PgRow;

/// Prefix of errors that a retry of the whole transaction can cure (serialization failure,
/// deadlock): the write wrapper retries them.
pub(crate) const RETRY: &str = "transaction conflict, retried";

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && matches!(d.code().as_deref(), Some("40001" | "40P01"))
    {
        return StoreError::Backend(format!("{RETRY}: {e}"));
    }
    StoreError::Backend(e.to_string())
}

/// Maps a unique violation to a conflict.
pub(crate) fn unique_violation(e: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.code().as_deref() == Some("23505")
    {
        return StoreError::Conflict(what.to_owned());
    }
    backend(e)
}

fn json_col(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

pub(crate) fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

pub(crate) fn timers_text(t: &confab_protocol::entity::Timers) -> Option<String> {
    (t.date_inactive.is_some() || t.date_closed.is_some())
        .then(|| serde_json::to_string(t).unwrap_or_default())
}

pub(crate) const SERVICE_COLS: &str = "sid, friendly_name, date_created, date_updated";

pub(crate) fn service(r: &PgRow) -> sqlx::Result<Service> {
    Ok(Service {
        sid: Sid::from_trusted(r.try_get(0)?),
        friendly_name: r.try_get(1)?,
        date_created: r.try_get(2)?,
        date_updated: r.try_get(3)?,
    })
}

/// Columns of a conversation row, `c` joined with its service `s`.
pub(crate) const CONVERSATION_COLS: &str = "c.id, c.last_seq, c.sid, s.sid, c.messaging_service_sid, \
     c.friendly_name, c.unique_name, c.attributes, c.state, c.timers, c.bindings, c.date_created, c.date_updated, \
     c.created_by";

/// Number of columns in [`CONVERSATION_COLS`].
pub(crate) const CONVERSATION_COL_COUNT: usize = 14;

/// A conversation row with its internal id and last `seq`.
pub(crate) struct ConversationRow {
    pub(crate) id: i64,
    pub(crate) last_seq: i64,
    pub(crate) conversation: Conversation,
}

pub(crate) fn conversation(r: &PgRow) -> sqlx::Result<ConversationRow> {
    let state: String = r.try_get(8)?;
    let timers: Option<String> = r.try_get(9)?;
    Ok(ConversationRow {
        id: r.try_get(0)?,
        last_seq: r.try_get(1)?,
        conversation: Conversation {
            sid: Sid::from_trusted(r.try_get(2)?),
            chat_service_sid: Sid::from_trusted(r.try_get(3)?),
            messaging_service_sid: r.try_get(4)?,
            friendly_name: r.try_get(5)?,
            unique_name: r.try_get(6)?,
            attributes: r.try_get(7)?,
            state: ConversationState::parse(&state).unwrap_or(ConversationState::Active),
            timers: timers
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            bindings: json_col(r.try_get(10)?),
            date_created: r.try_get(11)?,
            date_updated: r.try_get(12)?,
            created_by: r.try_get(13)?,
        },
    })
}

pub(crate) const PARTICIPANT_COLS: &str = "id, sid, identity, attributes, messaging_binding, role_sid, \
     last_read_message_index, last_read_timestamp, date_created, date_updated, notification_level";

/// A participant whose [`PARTICIPANT_COLS`] start at column `base`.
pub(crate) fn participant_at(
    r: &PgRow,
    base: usize,
    conversation_sid: &Sid,
) -> sqlx::Result<(i64, Participant)> {
    let role: Option<String> = r.try_get(base + 5)?;
    let level: String = r.try_get(base + 10)?;
    Ok((
        r.try_get(base)?,
        Participant {
            sid: Sid::from_trusted(r.try_get(base + 1)?),
            conversation_sid: conversation_sid.clone(),
            identity: r.try_get(base + 2)?,
            attributes: r.try_get(base + 3)?,
            messaging_binding: json_col(r.try_get(base + 4)?),
            role_sid: role.map(Sid::from_trusted),
            last_read_message_index: r.try_get(base + 6)?,
            last_read_timestamp: r.try_get(base + 7)?,
            date_created: r.try_get(base + 8)?,
            date_updated: r.try_get(base + 9)?,
            notification_level: NotificationLevel::parse(&level).unwrap_or_default(),
        },
    ))
}

pub(crate) const MESSAGE_COLS: &str =
    "id, idx, sid, author, body, attributes, participant_sid, date_created, date_updated, media";

/// A message with its row id.
pub(crate) fn message(r: &PgRow, conversation_sid: &Sid) -> sqlx::Result<(i64, Message)> {
    let participant: Option<String> = r.try_get(6)?;
    Ok((
        r.try_get(0)?,
        Message {
            index: r.try_get(1)?,
            sid: Sid::from_trusted(r.try_get(2)?),
            conversation_sid: conversation_sid.clone(),
            author: r.try_get(3)?,
            body: r.try_get(4)?,
            attributes: r.try_get(5)?,
            participant_sid: participant.map(Sid::from_trusted),
            date_created: r.try_get(7)?,
            date_updated: r.try_get(8)?,
            media: r
                .try_get::<Option<String>, _>(9)?
                .and_then(|j| serde_json::from_str(&j).ok()),
        },
    ))
}

pub(crate) const ROLE_COLS: &str =
    "r.id, r.sid, s.sid, r.friendly_name, r.type, r.permissions, r.date_created, r.date_updated";

pub(crate) fn role(r: &PgRow) -> sqlx::Result<(i64, Role)> {
    let permissions: String = r.try_get(5)?;
    let role_type: String = r.try_get(4)?;
    Ok((
        r.try_get(0)?,
        Role {
            sid: Sid::from_trusted(r.try_get(1)?),
            chat_service_sid: Sid::from_trusted(r.try_get(2)?),
            friendly_name: r.try_get(3)?,
            role_type: RoleType::parse(&role_type).unwrap_or(RoleType::Conversation),
            permissions: serde_json::from_str(&permissions).unwrap_or_default(),
            date_created: r.try_get(6)?,
            date_updated: r.try_get(7)?,
        },
    ))
}

pub(crate) const USER_COLS: &str = "u.id, u.sid, s.sid, u.identity, u.friendly_name, u.attributes, u.role_sid, u.date_created, u.date_updated";

pub(crate) fn user(r: &PgRow) -> sqlx::Result<(i64, User)> {
    let role: Option<String> = r.try_get(6)?;
    Ok((
        r.try_get(0)?,
        User {
            sid: Sid::from_trusted(r.try_get(1)?),
            chat_service_sid: Sid::from_trusted(r.try_get(2)?),
            identity: r.try_get(3)?,
            friendly_name: r.try_get(4)?,
            attributes: r.try_get(5)?,
            role_sid: role.map(Sid::from_trusted),
            date_created: r.try_get(7)?,
            date_updated: r.try_get(8)?,
        },
    ))
}
