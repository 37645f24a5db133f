//! Messages: gapless `index` and `seq` taken together from the conversation row.

use confab_protocol::entity::Message;
use confab_protocol::event::EventBody;
use confab_protocol::sid::Sid;
use confab_store::patch::scrub_message_frame;
use confab_store::{
    Committed, MessagePatch, NewMessage, Page, PageRequest, StoreError, StoreResult,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::common::{self, append_conversation_event, keyset, log_next};
use crate::rows::{self, MESSAGE_COLS, backend};

/// Adds a message. Every check comes before the first change, so the writer runs it without a
/// savepoint (`Writer::write_checked_first`): keep it so.
pub(crate) fn add(
    conn: &Connection,
    service: &str,
    new: NewMessage,
) -> StoreResult<Committed<Message>> {
    let conv = target(conn, service, &new.conversation)?;
    let sid = conv.sid;
    if let Some(op_id) = &new.op_id {
        // A retried request: answer with the message the first attempt made, log nothing.
        let existing = conn
            .prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND author = ?2 AND op_id = ?3"
            ))
            .and_then(|mut s| s.query_row(params![conv.id, new.author, op_id], rows::message(&sid)).optional())
            .map_err(backend)?;
        if let Some((_, m)) = existing {
            return Ok(Committed {
                value: m,
                events: vec![],
            });
        }
    }
    let participant_sid = author_participant(conn, conv.id, &new.author)?;
    if new.participant_only && participant_sid.is_none() {
        return Err(StoreError::NotParticipant(new.author));
    }
    let media = crate::media::attachable(conn, service, &new)?;
    // The writer is the only one changing rows, so the counters read above are the ones this
    // update moves on from: no RETURNING (it would run as a trigger with a statement journal
    // and a temporary table, for every message).
    let (seq, index) = (conv.last_seq + 1, conv.last_message_index + 1);
    conn.prepare_cached(
        "UPDATE conversations SET last_seq = ?2, last_message_index = ?3, messages_count = messages_count + 1, \
         last_message_at = max(coalesce(last_message_at, 0), ?4) WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![conv.id, seq, index, new.date_created]))
    .map_err(backend)?;
    let m = Message {
        sid: new.sid,
        conversation_sid: sid,
        index,
        author: new.author,
        body: new.body,
        attributes: new.attributes,
        participant_sid,
        date_created: new.date_created,
        date_updated: new.date_updated,
        media: (!media.is_empty()).then(|| media.iter().map(|(_, l)| l.clone()).collect()),
    };
    let listed = match &m.media {
        Some(list) => {
            Some(serde_json::to_string(list).map_err(|e| StoreError::Backend(e.to_string()))?)
        }
        None => None,
    };
    conn.prepare_cached(
            "INSERT INTO messages (sid, conversation_id, idx, author, body, attributes, participant_sid, op_id, \
             date_created, date_updated, media) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .and_then(|mut s| {
            s.execute(
                params![
                    m.sid.as_str(),
                    conv.id,
                    index,
                    m.author,
                    m.body,
                    m.attributes,
                    m.participant_sid.as_ref().map(Sid::as_str),
                    new.op_id,
                    m.date_created,
                    m.date_updated,
                    listed
                ])
        })
        .map_err(backend)?;
    let id = conn.last_insert_rowid();
    crate::media::attach(conn, &media, &m.conversation_sid, &m.sid, m.date_created)?;
    let event = append_conversation_event(
        conn,
        conv.id,
        &m.conversation_sid,
        seq,
        Some(id),
        &EventBody::MessageAdded(m.clone()),
    )?;
    Ok(Committed::one(m, event))
}

/// What a message needs of its conversation: the row, the SID and the counters it moves on.
struct Target {
    id: i64,
    sid: Sid,
    last_seq: i64,
    last_message_index: i64,
}

/// Loads the [`Target`] of `sid_or_name` in `service` (not the whole row: no attributes, timers
/// or bindings decoded for every message).
fn target(conn: &Connection, service: &str, sid_or_name: &str) -> StoreResult<Target> {
    let by_sid = confab_protocol::sid::is_sid(confab_protocol::SidKind::Conversation, sid_or_name);
    let sql = if by_sid {
        "SELECT c.id, c.sid, c.last_seq, c.last_message_index FROM conversations c \
         JOIN services s ON s.id = c.service_id WHERE s.sid = ?1 AND c.sid = ?2"
    } else {
        "SELECT c.id, c.sid, c.last_seq, c.last_message_index FROM conversations c \
         JOIN services s ON s.id = c.service_id WHERE s.sid = ?1 AND c.unique_name = ?2"
    };
    conn.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row(params![service, sid_or_name], |r| {
                Ok(Target {
                    id: r.get(0)?,
                    sid: Sid::from_trusted(r.get(1)?),
                    last_seq: r.get(2)?,
                    last_message_index: r.get(3)?,
                })
            })
            .optional()
        })
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {sid_or_name}")))
}

/// The participant whose identity is `author`, if there is one.
fn author_participant(conn: &Connection, conv_id: i64, author: &str) -> StoreResult<Option<Sid>> {
    conn.prepare_cached("SELECT sid FROM participants WHERE conversation_id = ?1 AND identity = ?2")
        .and_then(|mut s| {
            s.query_row(params![conv_id, author], |r| r.get(0))
                .optional()
        })
        .map(|sid| sid.map(Sid::from_trusted))
        .map_err(backend)
}

/// Loads a message with its conversation's row id and its own.
pub(crate) fn find(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
) -> StoreResult<Option<(i64, i64, Message)>> {
    let Some(conv) = common::find_conversation(conn, service, conversation)? else {
        return Ok(None);
    };
    let found = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1 AND sid = ?2"
        ))
        .and_then(|mut s| {
            s.query_row(params![conv.id, sid], rows::message(&conv.conversation.sid))
                .optional()
        })
        .map_err(backend)?;
    Ok(found.map(|(id, m)| (conv.id, id, m)))
}

fn load(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
) -> StoreResult<(i64, i64, Message)> {
    find(conn, service, conversation, sid)?
        .ok_or_else(|| StoreError::NotFound(format!("Message {sid}")))
}

pub(crate) fn update(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
    patch: MessagePatch,
) -> StoreResult<Committed<Message>> {
    let (conv_id, id, mut m) = load(conn, service, conversation, sid)?;
    let author_changed = patch.author.is_some();
    patch.apply(&mut m);
    if author_changed {
        m.participant_sid = author_participant(conn, conv_id, &m.author)?;
    }
    conn.prepare_cached(
        "UPDATE messages SET author = ?2, body = ?3, attributes = ?4, date_created = ?5, date_updated = ?6, \
         participant_sid = ?7 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            m.author,
            m.body,
            m.attributes,
            m.date_created,
            m.date_updated,
            m.participant_sid.as_ref().map(Sid::as_str)
        ])
    })
    .map_err(backend)?;
    let event = log_next(
        conn,
        conv_id,
        &m.conversation_sid,
        Some(id),
        &EventBody::MessageUpdated(m.clone()),
    )?;
    Ok(Committed::one(m, event))
}

pub(crate) fn remove(
    conn: &Connection,
    service: &str,
    conversation: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<Message>> {
    let (conv_id, id, mut m) = load(conn, service, conversation, sid)?;
    let logged: Vec<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, frame FROM conversation_events WHERE conversation_id = ?1 AND message_id = ?2")
        .and_then(|mut s| s.query_map(params![conv_id, id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(backend)?;
    for (seq, frame) in logged {
        conn.prepare_cached(
            "UPDATE conversation_events SET frame = ?3 WHERE conversation_id = ?1 AND seq = ?2",
        )
        .and_then(|mut s| s.execute(params![conv_id, seq, scrub_message_frame(&frame)]))
        .map_err(backend)?;
    }
    conn.execute("DELETE FROM messages WHERE id = ?1", [id])
        .map_err(backend)?;
    if m.media.is_some() {
        crate::media::condemn_of("message_sid", conn, m.sid.as_str())?;
    }
    conn.execute(
        "UPDATE conversations SET messages_count = messages_count - 1 WHERE id = ?1",
        [conv_id],
    )
    .map_err(backend)?;
    m.body = None;
    m.attributes = "{}".into();
    m.media = None;
    m.date_updated = now;
    let event = log_next(
        conn,
        conv_id,
        &m.conversation_sid,
        None,
        &EventBody::MessageRemoved(m.clone()),
    )?;
    Ok(Committed::one(m, event))
}

pub(crate) fn list(
    conn: &Connection,
    service: &str,
    conversation: &str,
    page: &PageRequest,
) -> StoreResult<Page<Message>> {
    let conv = common::conversation(conn, service, conversation)?;
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = ?1{}",
        keyset(page, "idx")
    );
    let rows: Vec<(i64, Message)> = conn
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map([conv.id], rows::message(&conv.conversation.sid))?
                .collect()
        })
        .map_err(backend)?;
    // Pages of messages are keyed by `index`, which clients see, not by row id.
    let keyed = rows.into_iter().map(|(_, m)| (m.index, m)).collect();
    Ok(Page::from_rows(page, keyed))
}
