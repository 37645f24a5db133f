//! Messages: gapless `index` and `seq` taken together from the (locked) conversation row.

use confab_protocol::entity::Message;
use confab_protocol::event::EventBody;
use confab_protocol::sid::Sid;
use confab_store::patch::scrub_message_frame;
use confab_store::{
    Committed, MessagePatch, NewMessage, Page, PageRequest, StoreError, StoreResult,
};
use sqlx::{PgConnection, Row};

use crate::common::{self, append_conversation_event, keyset, log_next};
use crate::rows::{self, MESSAGE_COLS, backend};

/// The participant whose identity is `author`, if there is one.
async fn author_participant(
    c: &mut PgConnection,
    conv_id: i64,
    author: &str,
) -> StoreResult<Option<Sid>> {
    let row =
        sqlx::query("SELECT sid FROM participants WHERE conversation_id = $1 AND identity = $2")
            .bind(conv_id)
            .bind(author)
            .fetch_optional(&mut *c)
            .await
            .map_err(backend)?;
    row.map(|r| r.try_get::<String, _>(0).map(Sid::from_trusted))
        .transpose()
        .map_err(backend)
}

pub(crate) async fn add(
    c: &mut PgConnection,
    service: &str,
    new: NewMessage,
) -> StoreResult<Committed<Message>> {
    let conv = common::conversation(c, service, &new.conversation).await?;
    let sid = conv.conversation.sid.clone();
    if let Some(op_id) = &new.op_id {
        // A retried request: answer with the message the first attempt made, log nothing.
        let existing =
            sqlx::query(&format!("SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 AND author = $2 AND op_id = $3"))
                .bind(conv.id)
                .bind(&new.author)
                .bind(op_id)
                .fetch_optional(&mut *c)
                .await
                .map_err(backend)?;
        if let Some(r) = existing {
            let (_, m) = rows::message(&r, &sid).map_err(backend)?;
            return Ok(Committed {
                value: m,
                events: vec![],
            });
        }
    }
    // Before the counters' row lock: writers of one conversation queue on that lock until
    // they commit, so nothing that can be done first is done under it.
    let participant_sid = author_participant(c, conv.id, &new.author).await?;
    if new.participant_only && participant_sid.is_none() {
        return Err(StoreError::NotParticipant(new.author));
    }
    let media = crate::media::attachable(c, service, &new).await?;
    let row = sqlx::query(
        "UPDATE conversations SET last_seq = last_seq + 1, last_message_index = last_message_index + 1, \
         messages_count = messages_count + 1, last_message_at = GREATEST(coalesce(last_message_at, 0), $2) \
         WHERE id = $1 RETURNING last_seq, last_message_index",
    )
    .bind(conv.id)
    .bind(new.date_created)
    .fetch_one(&mut *c)
    .await
    .map_err(backend)?;
    let (seq, index): (i64, i64) = (
        row.try_get(0).map_err(backend)?,
        row.try_get(1).map_err(backend)?,
    );
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
    let id: i64 = sqlx::query(
        "INSERT INTO messages (sid, conversation_id, idx, author, body, attributes, participant_sid, op_id, \
         date_created, date_updated, media) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(m.sid.as_str())
    .bind(conv.id)
    .bind(index)
    .bind(&m.author)
    .bind(&m.body)
    .bind(&m.attributes)
    .bind(m.participant_sid.as_ref().map(Sid::as_str))
    .bind(&new.op_id)
    .bind(m.date_created)
    .bind(m.date_updated)
    .bind(listed)
    .fetch_one(&mut *c)
    .await
    .and_then(|r| r.try_get(0))
    .map_err(backend)?;
    crate::media::attach(c, &media, &m.conversation_sid, &m.sid, m.date_created).await?;
    let event = append_conversation_event(
        c,
        conv.id,
        &m.conversation_sid,
        seq,
        Some(id),
        &EventBody::MessageAdded(m.clone()),
    )
    .await?;
    Ok(Committed::one(m, event))
}

/// Loads a message with its conversation's row id and its own.
pub(crate) async fn find(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
    lock: bool,
) -> StoreResult<Option<(i64, i64, Message)>> {
    let Some(conv) = common::find_conversation(c, service, conversation, lock).await? else {
        return Ok(None);
    };
    let row = sqlx::query(&format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1 AND sid = $2"
    ))
    .bind(conv.id)
    .bind(sid)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    let found = row
        .as_ref()
        .map(|r| rows::message(r, &conv.conversation.sid))
        .transpose()
        .map_err(backend)?;
    Ok(found.map(|(id, m)| (conv.id, id, m)))
}

async fn load(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
) -> StoreResult<(i64, i64, Message)> {
    find(c, service, conversation, sid, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Message {sid}")))
}

pub(crate) async fn update(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
    patch: MessagePatch,
) -> StoreResult<Committed<Message>> {
    let (conv_id, id, mut m) = load(c, service, conversation, sid).await?;
    let author_changed = patch.author.is_some();
    patch.apply(&mut m);
    if author_changed {
        m.participant_sid = author_participant(c, conv_id, &m.author).await?;
    }
    sqlx::query(
        "UPDATE messages SET author = $2, body = $3, attributes = $4, date_created = $5, date_updated = $6, \
         participant_sid = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(&m.author)
    .bind(&m.body)
    .bind(&m.attributes)
    .bind(m.date_created)
    .bind(m.date_updated)
    .bind(m.participant_sid.as_ref().map(Sid::as_str))
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    let event = log_next(
        c,
        conv_id,
        &m.conversation_sid,
        Some(id),
        &EventBody::MessageUpdated(m.clone()),
    )
    .await?;
    Ok(Committed::one(m, event))
}

pub(crate) async fn remove(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<Message>> {
    let (conv_id, id, mut m) = load(c, service, conversation, sid).await?;
    let logged = sqlx::query(
        "SELECT seq, frame FROM conversation_events WHERE conversation_id = $1 AND message_id = $2",
    )
    .bind(conv_id)
    .bind(id)
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?;
    for r in logged {
        let (seq, frame): (i64, Vec<u8>) = (
            r.try_get(0).map_err(backend)?,
            r.try_get(1).map_err(backend)?,
        );
        sqlx::query(
            "UPDATE conversation_events SET frame = $3 WHERE conversation_id = $1 AND seq = $2",
        )
        .bind(conv_id)
        .bind(seq)
        .bind(scrub_message_frame(&frame))
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    }
    sqlx::query("DELETE FROM messages WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    if m.media.is_some() {
        crate::media::condemn_of("message_sid", c, m.sid.as_str()).await?;
    }
    sqlx::query("UPDATE conversations SET messages_count = messages_count - 1 WHERE id = $1")
        .bind(conv_id)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    m.body = None;
    m.media = None;
    m.attributes = "{}".into();
    m.date_updated = now;
    let event = log_next(
        c,
        conv_id,
        &m.conversation_sid,
        None,
        &EventBody::MessageRemoved(m.clone()),
    )
    .await?;
    Ok(Committed::one(m, event))
}

pub(crate) async fn list(
    c: &mut PgConnection,
    service: &str,
    conversation: &str,
    page: &PageRequest,
) -> StoreResult<Page<Message>> {
    let conv = common::find_conversation(c, service, conversation, false)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {conversation}")))?;
    let sql = format!(
        "SELECT {MESSAGE_COLS} FROM messages WHERE conversation_id = $1{}",
        keyset(page, "idx")
    );
    let rows = sqlx::query(&sql)
        .bind(conv.id)
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| rows::message(r, &conv.conversation.sid).map(|(_, m)| (m.index, m)))
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}
