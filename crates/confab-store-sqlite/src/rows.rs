//! Mapping between rows and entities.

use confab_protocol::entity::{
    Conversation, ConversationState, Message, NotificationLevel, Participant, Role, RoleType,
    Service, Timers, User,
};
use confab_protocol::sid::Sid;
use confab_store::StoreError;
use rusqlite::Row;

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn json_col(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

pub(crate) fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

pub(crate) fn timers_text(t: &Timers) -> Option<String> {
    (t.date_inactive.is_some() || t.date_closed.is_some())
        .then(|| serde_json::to_string(t).unwrap_or_default())
}

pub(crate) const SERVICE_COLS: &str = "sid, friendly_name, date_created, date_updated";

pub(crate) fn service(r: &Row<'_>) -> rusqlite::Result<Service> {
    Ok(Service {
        sid: Sid::from_trusted(r.get(0)?),
        friendly_name: r.get(1)?,
        date_created: r.get(2)?,
        date_updated: r.get(3)?,
    })
}

/// Columns of a conversation row, `c` joined with its service `s`.
pub(crate) const CONVERSATION_COLS: &str = "c.id, c.last_seq, c.sid, s.sid, c.messaging_service_sid, \
     c.friendly_name, c.unique_name, c.attributes, c.state, c.timers, c.bindings, c.date_created, c.date_updated, \
     c.created_by";

/// A conversation row with its internal id and last `seq`.
pub(crate) struct ConversationRow {
    pub(crate) id: i64,
    pub(crate) last_seq: i64,
    pub(crate) conversation: Conversation,
}

pub(crate) fn conversation(r: &Row<'_>) -> rusqlite::Result<ConversationRow> {
    let state: String = r.get(8)?;
    let timers: Option<String> = r.get(9)?;
    Ok(ConversationRow {
        id: r.get(0)?,
        last_seq: r.get(1)?,
        conversation: Conversation {
            sid: Sid::from_trusted(r.get(2)?),
            chat_service_sid: Sid::from_trusted(r.get(3)?),
            messaging_service_sid: r.get(4)?,
            friendly_name: r.get(5)?,
            unique_name: r.get(6)?,
            attributes: r.get(7)?,
            state: ConversationState::parse(&state).unwrap_or(ConversationState::Active),
            timers: timers
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            bindings: json_col(r.get(10)?),
            date_created: r.get(11)?,
            date_updated: r.get(12)?,
            created_by: r.get(13)?,
        },
    })
}

pub(crate) const PARTICIPANT_COLS: &str = "id, sid, identity, attributes, messaging_binding, role_sid, \
     last_read_message_index, last_read_timestamp, date_created, date_updated, notification_level";

pub(crate) fn participant(
    conversation_sid: &Sid,
) -> impl Fn(&Row<'_>) -> rusqlite::Result<(i64, Participant)> + '_ {
    move |r| participant_at(r, 0, conversation_sid)
}

/// A participant whose [`PARTICIPANT_COLS`] start at column `base`.
pub(crate) fn participant_at(
    r: &Row<'_>,
    base: usize,
    conversation_sid: &Sid,
) -> rusqlite::Result<(i64, Participant)> {
    let role: Option<String> = r.get(base + 5)?;
    Ok((
        r.get(base)?,
        Participant {
            sid: Sid::from_trusted(r.get(base + 1)?),
            conversation_sid: conversation_sid.clone(),
            identity: r.get(base + 2)?,
            attributes: r.get(base + 3)?,
            messaging_binding: json_col(r.get(base + 4)?),
            role_sid: role.map(Sid::from_trusted),
            last_read_message_index: r.get(base + 6)?,
            last_read_timestamp: r.get(base + 7)?,
            date_created: r.get(base + 8)?,
            date_updated: r.get(base + 9)?,
            notification_level: NotificationLevel::parse(&r.get::<_, String>(base + 10)?)
                .unwrap_or_default(),
        },
    ))
}

/// Number of columns in [`CONVERSATION_COLS`].
pub(crate) const CONVERSATION_COL_COUNT: usize = 14;

pub(crate) const MESSAGE_COLS: &str =
    "id, idx, sid, author, body, attributes, participant_sid, date_created, date_updated, media";

/// A message with its row id (first) and `index` (the key of its pages).
pub(crate) fn message(
    conversation_sid: &Sid,
) -> impl Fn(&Row<'_>) -> rusqlite::Result<(i64, Message)> + '_ {
    move |r| {
        let participant: Option<String> = r.get(6)?;
        Ok((
            r.get(0)?,
            Message {
                index: r.get(1)?,
                sid: Sid::from_trusted(r.get(2)?),
                conversation_sid: conversation_sid.clone(),
                author: r.get(3)?,
                body: r.get(4)?,
                attributes: r.get(5)?,
                participant_sid: participant.map(Sid::from_trusted),
                date_created: r.get(7)?,
                date_updated: r.get(8)?,
                media: r
                    .get::<_, Option<String>>(9)?
                    .and_then(|j| serde_json::from_str(&j).ok()),
            },
        ))
    }
}

pub(crate) const ROLE_COLS: &str =
    "r.id, r.sid, s.sid, r.friendly_name, r.type, r.permissions, r.date_created, r.date_updated";

pub(crate) fn role(r: &Row<'_>) -> rusqlite::Result<(i64, Role)> {
    let permissions: String = r.get(5)?;
    Ok((
        r.get(0)?,
        Role {
            sid: Sid::from_trusted(r.get(1)?),
            chat_service_sid: Sid::from_trusted(r.get(2)?),
            friendly_name: r.get(3)?,
            role_type: RoleType::parse(&r.get::<_, String>(4)?).unwrap_or(RoleType::Conversation),
            permissions: serde_json::from_str(&permissions).unwrap_or_default(),
            date_created: r.get(6)?,
            date_updated: r.get(7)?,
        },
    ))
}

pub(crate) const USER_COLS: &str = "u.id, u.sid, s.sid, u.identity, u.friendly_name, u.attributes, u.role_sid, u.date_created, u.date_updated";

pub(crate) fn user(r: &Row<'_>) -> rusqlite::Result<(i64, User)> {
    let role: Option<String> = r.get(6)?;
    Ok((
        r.get(0)?,
        User {
            sid: Sid::from_trusted(r.get(1)?),
            chat_service_sid: Sid::from_trusted(r.get(2)?),
            identity: r.get(3)?,
            friendly_name: r.get(4)?,
            attributes: r.get(5)?,
            role_sid: role.map(Sid::from_trusted),
            date_created: r.get(7)?,
            date_updated: r.get(8)?,
        },
    ))
}

/// Maps a UNIQUE violation to a conflict, anything else to a backend error.
pub(crate) fn unique_violation(e: rusqlite::Error, what: &str) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(what.to_owned()),
        _ => backend(e),
    }
}
