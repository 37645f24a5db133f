//! Participants and the membership events they cause.

use confab_protocol::entity::Participant;
use confab_protocol::event::EventBody;
use confab_protocol::sid::{Sid, SidKind, is_sid};
use confab_store::patch::{membership, next_read_horizon};
use confab_store::{
    Committed, CountLimits, NewParticipant, Page, PageRequest, ParticipantPatch, ReadHorizon,
    StoreError, StoreResult,
};
use sqlx::{PgConnection, Row};

use crate::common::{self, append_user_event, ensure_user, keyset, log_next, service_id};
use crate::rows::{self, ConversationRow, PARTICIPANT_COLS, backend, json_text, unique_violation};

const EXISTS: &str = "a participant with this identity already exists in the conversation";

pub(crate) async fn add(
    c: &mut PgConnection,
    service: &str,
    new: NewParticipant,
    limits: &CountLimits,
) -> StoreResult<Committed<Participant>> {
    let p = new.participant;
    // Locks the conversation: its participant count and counters stay consistent.
    let conv = common::conversation(c, service, p.conversation_sid.as_str()).await?;
    let service_id = service_id(c, service).await?;
    let count: i32 = sqlx::query("SELECT participants_count FROM conversations WHERE id = $1")
        .bind(conv.id)
        .fetch_one(&mut *c)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    if u32::try_from(count).unwrap_or(0) >= limits.participants_per_conversation {
        return Err(StoreError::TooManyParticipants(
            limits.participants_per_conversation,
        ));
    }
    if let Some(identity) = &p.identity {
        // Locks the user: concurrent joins of one identity count its conversations one at a time.
        ensure_user(c, service_id, identity, &new.user_sid, p.date_updated).await?;
        let existing =
            sqlx::query("SELECT id FROM participants WHERE conversation_id = $1 AND identity = $2")
                .bind(conv.id)
                .bind(identity)
                .fetch_optional(&mut *c)
                .await
                .map_err(backend)?;
        if existing.is_some() {
            return Err(StoreError::Conflict(EXISTS.into()));
        }
        let memberships: i64 = sqlx::query(
            "SELECT count(*) FROM participants WHERE service_id = $1 AND identity = $2",
        )
        .bind(service_id)
        .bind(identity)
        .fetch_one(&mut *c)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
        if memberships >= i64::from(limits.conversations_per_identity) {
            return Err(StoreError::TooManyConversations(
                limits.conversations_per_identity,
            ));
        }
    }
    sqlx::query(
        "INSERT INTO participants (sid, conversation_id, service_id, identity, attributes, messaging_binding, \
         role_sid, last_read_message_index, last_read_timestamp, date_created, date_updated, notification_level, address) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(p.sid.as_str())
    .bind(conv.id)
    .bind(service_id)
    .bind(&p.identity)
    .bind(&p.attributes)
    .bind(json_text(&p.messaging_binding))
    .bind(p.role_sid.as_ref().map(Sid::as_str))
    .bind(p.last_read_message_index)
    .bind(&p.last_read_timestamp)
    .bind(p.date_created)
    .bind(p.date_updated)
    .bind(p.notification_level.as_str())
    .bind(p.messaging_binding.as_ref().and_then(|b| b.get("address")).and_then(|a| a.as_str()))
    .execute(&mut *c)
    .await
    .map_err(|e| unique_violation(e, EXISTS))?;
    sqlx::query(
        "UPDATE conversations SET participants_count = participants_count + 1 WHERE id = $1",
    )
    .bind(conv.id)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    let first = log_next(
        c,
        conv.id,
        &p.conversation_sid,
        None,
        &EventBody::ParticipantJoined(p.clone()),
    )
    .await?;
    let seq = first.seq;
    let now = p.date_updated;
    let mut events = vec![first];
    if let Some(identity) = &p.identity {
        let body =
            EventBody::ConversationJoined(membership(&p, seq, Some(conv.conversation.clone())));
        let service_sid = conv.conversation.chat_service_sid.clone();
        events.push(
            append_user_event(
                c,
                service_id,
                &service_sid,
                identity,
                &new.user_sid,
                &body,
                now,
            )
            .await?,
        );
    }
    Ok(Committed { value: p, events })
}

/// Loads a participant by SID or identity, with its conversation's row id and its own.
pub(crate) async fn find(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid_or_identity: &str,
    lock: bool,
) -> StoreResult<Option<(i64, i64, Participant)>> {
    let Some(conv) = common::find_conversation(c, service, conversation, lock).await? else {
        return Ok(None);
    };
    let col = if is_sid(SidKind::Participant, sid_or_identity) {
        "sid"
    } else {
        "identity"
    };
    let found = find_in(c, &conv, col, sid_or_identity).await?;
    Ok(found.map(|(id, p)| (conv.id, id, p)))
}

/// The participant of `conv` whose `col` (`sid` or `identity`) is `key`, with its row id.
pub(crate) async fn find_in(
    c: &mut PgConnection,
    conv: &ConversationRow,
    col: &str,
    key: &str,
) -> StoreResult<Option<(i64, Participant)>> {
    let row = sqlx::query(&format!(
        "SELECT {PARTICIPANT_COLS} FROM participants WHERE conversation_id = $1 AND {col} = $2"
    ))
    .bind(conv.id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    row.as_ref()
        .map(|r| rows::participant_at(r, 0, &conv.conversation.sid))
        .transpose()
        .map_err(backend)
}

async fn load(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
) -> StoreResult<(i64, i64, Participant)> {
    find(c, service, conversation, sid, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Participant {sid}")))
}

/// Moves a read horizon; logs nothing.
pub(crate) async fn set_read_horizon(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
    h: &ReadHorizon,
) -> StoreResult<(Participant, Option<i64>)> {
    let (conv_id, id, mut p) = load(c, service, conversation, sid).await?;
    let last: i64 = sqlx::query("SELECT last_message_index FROM conversations WHERE id = $1")
        .bind(conv_id)
        .fetch_one(&mut *c)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    let last = (last >= 0).then_some(last);
    p.last_read_message_index =
        next_read_horizon(p.last_read_message_index, h.index, last, h.advance_only);
    p.last_read_timestamp = Some(h.timestamp.clone());
    sqlx::query(
        "UPDATE participants SET last_read_message_index = $2, last_read_timestamp = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(p.last_read_message_index)
    .bind(&p.last_read_timestamp)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    Ok((p, last))
}

pub(crate) async fn update(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
    patch: ParticipantPatch,
) -> StoreResult<Committed<Participant>> {
    let (conv_id, id, mut p) = load(c, service, conversation, sid).await?;
    patch.apply(&mut p);
    sqlx::query(
        "UPDATE participants SET attributes = $2, messaging_binding = $3, role_sid = $4, \
         last_read_message_index = $5, last_read_timestamp = $6, date_created = $7, date_updated = $8, \
         notification_level = $9 WHERE id = $1",
    )
    .bind(id)
    .bind(&p.attributes)
    .bind(json_text(&p.messaging_binding))
    .bind(p.role_sid.as_ref().map(Sid::as_str))
    .bind(p.last_read_message_index)
    .bind(&p.last_read_timestamp)
    .bind(p.date_created)
    .bind(p.date_updated)
    .bind(p.notification_level.as_str())
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    let event = log_next(
        c,
        conv_id,
        &p.conversation_sid,
        None,
        &EventBody::ParticipantUpdated(p.clone()),
    )
    .await?;
    Ok(Committed::one(p, event))
}

pub(crate) async fn remove(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<Participant>> {
    let (conv_id, id, p) = load(c, service, conversation, sid).await?;
    let service_id = service_id(c, service).await?;
    sqlx::query("DELETE FROM participants WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    sqlx::query(
        "UPDATE conversations SET participants_count = participants_count - 1 WHERE id = $1",
    )
    .bind(conv_id)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    let first = log_next(
        c,
        conv_id,
        &p.conversation_sid,
        None,
        &EventBody::ParticipantLeft(p.clone()),
    )
    .await?;
    let seq = first.seq;
    let mut events = vec![first];
    if let Some(identity) = &p.identity {
        let service_sid = Sid::from_trusted(service.to_owned());
        let body = EventBody::ConversationLeft(membership(&p, seq, None));
        // The user row exists: it was created when this participant was added.
        events.push(
            append_user_event(c, service_id, &service_sid, identity, &p.sid, &body, now).await?,
        );
    }
    Ok(Committed { value: p, events })
}

pub(crate) async fn list(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    page: &PageRequest,
) -> StoreResult<Page<Participant>> {
    let conv = common::find_conversation(c, service, conversation, false)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {conversation}")))?;
    let sql = format!(
        "SELECT {PARTICIPANT_COLS} FROM participants WHERE conversation_id = $1{}",
        keyset(page, "id")
    );
    let rows = sqlx::query(&sql)
        .bind(conv.id)
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| rows::participant_at(r, 0, &conv.conversation.sid))
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}
