//! Participants and the membership events they cause.

use confab_protocol::entity::Participant;
use confab_protocol::event::EventBody;
use confab_protocol::sid::{Sid, SidKind, is_sid};
use confab_store::patch::{membership, next_read_horizon};
use confab_store::{
    Committed, CountLimits, NewParticipant, Page, PageRequest, ParticipantPatch, ReadHorizon,
    StoreError, StoreResult,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::common::{self, append_user_event, keyset, log_next, service_id};
use crate::rows::unique_violation;
use crate::rows::{self, ConversationRow, PARTICIPANT_COLS, backend, json_text};

const EXISTS: &str = "a participant with this identity already exists in the conversation";

pub(crate) fn add(
    conn: &Connection,
    service: &str,
    new: NewParticipant,
    limits: &CountLimits,
) -> StoreResult<Committed<Participant>> {
    let p = new.participant;
    let conv = common::conversation(conn, service, p.conversation_sid.as_str())?;
    let service_id = service_id(conn, service)?;
    let count: u32 = conn
        .prepare_cached("SELECT participants_count FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv.id], |r| r.get(0)))
        .map_err(backend)?;
    if count >= limits.participants_per_conversation {
        return Err(StoreError::TooManyParticipants(
            limits.participants_per_conversation,
        ));
    }
    if let Some(identity) = &p.identity {
        let existing: Option<i64> = conn
            .prepare_cached(
                "SELECT id FROM participants WHERE conversation_id = ?1 AND identity = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![conv.id, identity], |r| r.get(0))
                    .optional()
            })
            .map_err(backend)?;
        if existing.is_some() {
            return Err(StoreError::Conflict(EXISTS.into()));
        }
        let memberships: u32 = conn
            .prepare_cached(
                "SELECT count(*) FROM participants WHERE service_id = ?1 AND identity = ?2",
            )
            .and_then(|mut s| s.query_row(params![service_id, identity], |r| r.get(0)))
            .map_err(backend)?;
        if memberships >= limits.conversations_per_identity {
            return Err(StoreError::TooManyConversations(
                limits.conversations_per_identity,
            ));
        }
    }
    conn.prepare_cached(
        "INSERT INTO participants (sid, conversation_id, service_id, identity, attributes, messaging_binding, \
         role_sid, last_read_message_index, last_read_timestamp, date_created, date_updated, \
         notification_level, address) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            p.sid.as_str(),
            conv.id,
            service_id,
            p.identity,
            p.attributes,
            json_text(&p.messaging_binding),
            p.role_sid.as_ref().map(Sid::as_str),
            p.last_read_message_index,
            p.last_read_timestamp,
            p.date_created,
            p.date_updated,
            p.notification_level.as_str(),
            p.messaging_binding.as_ref().and_then(|b| b.get("address")).and_then(|a| a.as_str())
        ])
    })
    .map_err(|e| unique_violation(e, EXISTS))?;
    conn.execute(
        "UPDATE conversations SET participants_count = participants_count + 1 WHERE id = ?1",
        [conv.id],
    )
    .map_err(backend)?;
    let first = log_next(
        conn,
        conv.id,
        &p.conversation_sid,
        None,
        &EventBody::ParticipantJoined(p.clone()),
    )?;
    let seq = first.seq;
    let now = p.date_updated;
    let mut events = vec![first];
    if let Some(identity) = &p.identity {
        let body =
            EventBody::ConversationJoined(membership(&p, seq, Some(conv.conversation.clone())));
        let service_sid = conv.conversation.chat_service_sid.clone();
        events.push(append_user_event(
            conn,
            service_id,
            &service_sid,
            identity,
            &new.user_sid,
            &body,
            now,
        )?);
    }
    Ok(Committed { value: p, events })
}

/// Loads a participant by SID or identity, with its row id.
pub(crate) fn find(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid_or_identity: &str,
) -> StoreResult<Option<(i64, i64, Participant)>> {
    let Some(conv) = common::find_conversation(conn, service, conversation)? else {
        return Ok(None);
    };
    let col = if is_sid(SidKind::Participant, sid_or_identity) {
        "sid"
    } else {
        "identity"
    };
    let found = find_in(conn, &conv, col, sid_or_identity)?;
    Ok(found.map(|(id, p)| (conv.id, id, p)))
}

/// The participant of `conv` whose `col` (`sid` or `identity`) is `key`, with its row id.
pub(crate) fn find_in(
    conn: &Connection,
    conv: &ConversationRow,
    col: &str,
    key: &str,
) -> StoreResult<Option<(i64, Participant)>> {
    conn.prepare_cached(&format!(
        "SELECT {PARTICIPANT_COLS} FROM participants WHERE conversation_id = ?1 AND {col} = ?2"
    ))
    .and_then(|mut s| {
        s.query_row(
            params![conv.id, key],
            rows::participant(&conv.conversation.sid),
        )
        .optional()
    })
    .map_err(backend)
}

fn load(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
) -> StoreResult<(i64, i64, Participant)> {
    find(conn, service, conversation, sid)?
        .ok_or_else(|| StoreError::NotFound(format!("Participant {sid}")))
}

/// Moves a read horizon; logs nothing.
pub(crate) fn set_read_horizon(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
    h: &ReadHorizon,
) -> StoreResult<(Participant, Option<i64>)> {
    let (conv_id, id, mut p) = load(conn, service, conversation, sid)?;
    let last: i64 = conn
        .prepare_cached("SELECT last_message_index FROM conversations WHERE id = ?1")
        .and_then(|mut s| s.query_row([conv_id], |r| r.get(0)))
        .map_err(backend)?;
    let last = (last >= 0).then_some(last);
    p.last_read_message_index =
        next_read_horizon(p.last_read_message_index, h.index, last, h.advance_only);
    p.last_read_timestamp = Some(h.timestamp.clone());
    conn.prepare_cached(
        "UPDATE participants SET last_read_message_index = ?2, last_read_timestamp = ?3 WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![id, p.last_read_message_index, p.last_read_timestamp]))
    .map_err(backend)?;
    Ok((p, last))
}

pub(crate) fn update(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
    patch: ParticipantPatch,
) -> StoreResult<Committed<Participant>> {
    let (conv_id, id, mut p) = load(conn, service, conversation, sid)?;
    patch.apply(&mut p);
    conn.prepare_cached(
        "UPDATE participants SET attributes = ?2, messaging_binding = ?3, role_sid = ?4, \
         last_read_message_index = ?5, last_read_timestamp = ?6, date_created = ?7, date_updated = ?8, \
         notification_level = ?9 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            p.attributes,
            json_text(&p.messaging_binding),
            p.role_sid.as_ref().map(Sid::as_str),
            p.last_read_message_index,
            p.last_read_timestamp,
            p.date_created,
            p.date_updated,
            p.notification_level.as_str()
        ])
    })
    .map_err(|e| unique_violation(e, EXISTS))?;
    let event = log_next(
        conn,
        conv_id,
        &p.conversation_sid,
        None,
        &EventBody::ParticipantUpdated(p.clone()),
    )?;
    Ok(Committed::one(p, event))
}

pub(crate) fn remove(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<Participant>> {
    let (conv_id, id, p) = load(conn, service, conversation, sid)?;
    let service_id = service_id(conn, service)?;
    conn.execute("DELETE FROM participants WHERE id = ?1", [id])
        .map_err(backend)?;
    conn.execute(
        "UPDATE conversations SET participants_count = participants_count - 1 WHERE id = ?1",
        [conv_id],
    )
    .map_err(backend)?;
    let first = log_next(
        conn,
        conv_id,
        &p.conversation_sid,
        None,
        &EventBody::ParticipantLeft(p.clone()),
    )?;
    let seq = first.seq;
    let mut events = vec![first];
    if let Some(identity) = &p.identity {
        let service_sid = Sid::from_trusted(service.to_owned());
        let body = EventBody::ConversationLeft(membership(&p, seq, None));
        // The user row exists: it was created when this participant was added.
        events.push(append_user_event(
            conn,
            service_id,
            &service_sid,
            identity,
            &p.sid,
            &body,
            now,
        )?);
    }
    Ok(Committed { value: p, events })
}

pub(crate) fn list(
    conn: &Connection,
    service: &str,
    conversation: &str,
    page: &PageRequest,
) -> StoreResult<Page<Participant>> {
    let conv = common::conversation(conn, service, conversation)?;
    let sql = format!(
        "SELECT {PARTICIPANT_COLS} FROM participants WHERE conversation_id = ?1{}",
        keyset(page, "id")
    );
    let rows = conn
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map([conv.id], rows::participant(&conv.conversation.sid))?
                .collect()
        })
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}
