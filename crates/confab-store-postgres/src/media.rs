//! Media records: uploads waiting for a message, attached ones, and the sweep of those whose
//! bytes are to go.

use confab_protocol::entity::{Media, MessageMedia};
use confab_protocol::sid::Sid;
use confab_store::{NewMedia, NewMessage, StoreError, StoreResult, SweptMedia};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::common;
use crate::rows::{backend, unique_violation};

const MEDIA_COLS: &str = "sid, service_sid, conversation_sid, message_sid, author, category, \
     content_type, filename, size, date_created, date_updated";

fn media(r: &PgRow) -> sqlx::Result<Media> {
    Ok(Media {
        sid: Sid::from_trusted(r.try_get(0)?),
        service_sid: Sid::from_trusted(r.try_get(1)?),
        conversation_sid: r.try_get::<Option<String>, _>(2)?.map(Sid::from_trusted),
        message_sid: r.try_get::<Option<String>, _>(3)?.map(Sid::from_trusted),
        author: r.try_get(4)?,
        category: r.try_get(5)?,
        content_type: r.try_get(6)?,
        filename: r.try_get(7)?,
        size: r.try_get(8)?,
        date_created: r.try_get(9)?,
        date_updated: r.try_get(10)?,
    })
}

pub(crate) async fn add(c: &mut PgConnection, service: &str, new: NewMedia) -> StoreResult<Media> {
    // The service must exist (its media outlives it, to be swept).
    common::service_id(c, service).await?;
    sqlx::query(
        "INSERT INTO media (sid, service_sid, author, category, content_type, filename, size, \
         expires, date_created, date_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(new.sid.as_str())
    .bind(service)
    .bind(&new.author)
    .bind(&new.category)
    .bind(&new.content_type)
    .bind(&new.filename)
    .bind(new.size)
    .bind(new.expires)
    .bind(new.date_created)
    .execute(&mut *c)
    .await
    .map_err(|e| unique_violation(e, "media with this SID exists"))?;
    Ok(Media {
        sid: new.sid,
        service_sid: Sid::from_trusted(service.to_owned()),
        conversation_sid: None,
        message_sid: None,
        author: new.author,
        category: new.category,
        content_type: new.content_type,
        filename: new.filename,
        size: new.size,
        date_created: new.date_created,
        date_updated: new.date_created,
    })
}

pub(crate) async fn find(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
) -> StoreResult<Option<Media>> {
    let row = sqlx::query(&format!(
        "SELECT {MEDIA_COLS} FROM media WHERE service_sid = $1 AND sid = $2 AND NOT condemned"
    ))
    .bind(service)
    .bind(sid)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    row.as_ref().map(media).transpose().map_err(backend)
}

/// The media a new message takes, each checked (see [`NewMessage::media`]) and locked until
/// the transaction ends, so that no other message takes it meanwhile nor the sweep condemns
/// it (the sweep condemns only unattached rows, checked again once this commits): row ids and
/// how the message lists them.
pub(crate) async fn attachable(
    c: &mut PgConnection,
    service: &str,
    new: &NewMessage,
) -> StoreResult<Vec<(i64, MessageMedia)>> {
    let mut out: Vec<(i64, MessageMedia)> = Vec::with_capacity(new.media.len());
    if new.media.is_empty() {
        return Ok(out);
    }
    // Locked together in one order (by SID), so that two messages naming the same files in
    // different orders never wait on each other.
    let named: Vec<&str> = new.media.iter().map(Sid::as_str).collect();
    sqlx::query(
        "SELECT id FROM media WHERE service_sid = $1 AND sid = ANY($2) ORDER BY sid FOR UPDATE",
    )
    .bind(service)
    .bind(&named)
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?;
    for sid in &new.media {
        if out.iter().any(|(_, l)| l.sid == *sid) {
            return Err(StoreError::Unattachable(format!(
                "media {sid} is named twice"
            )));
        }
        let row = sqlx::query(
            "SELECT id, author, category, content_type, filename, size, message_sid, expires, \
             condemned FROM media WHERE service_sid = $1 AND sid = $2",
        )
        .bind(service)
        .bind(sid.as_str())
        .fetch_optional(&mut *c)
        .await
        .map_err(backend)?;
        let Some(r) = row else {
            return Err(StoreError::Unattachable(format!(
                "media {sid} does not exist"
            )));
        };
        let read = || -> sqlx::Result<_> {
            Ok((
                r.try_get::<i64, _>(0)?,
                r.try_get::<String, _>(1)?,
                MessageMedia {
                    sid: sid.clone(),
                    category: r.try_get(2)?,
                    content_type: r.try_get(3)?,
                    filename: r.try_get(4)?,
                    size: r.try_get(5)?,
                },
                r.try_get::<Option<String>, _>(6)?,
                r.try_get::<i64, _>(7)?,
                r.try_get::<bool, _>(8)?,
            ))
        };
        let (id, author, listed, message, expires, condemned) = read().map_err(backend)?;
        if message.is_some() {
            return Err(StoreError::Unattachable(format!(
                "media {sid} belongs to another message"
            )));
        }
        if condemned || expires <= new.now {
            return Err(StoreError::Unattachable(format!(
                "media {sid} has expired unattached: upload it again"
            )));
        }
        if new.participant_only && author != new.author {
            return Err(StoreError::Unattachable(format!(
                "media {sid} is another user's upload"
            )));
        }
        out.push((id, listed));
    }
    Ok(out)
}

/// Attaches checked media (from [`attachable`]) to a message just added.
pub(crate) async fn attach(
    c: &mut PgConnection,
    media: &[(i64, MessageMedia)],
    conversation: &Sid,
    message: &Sid,
    at: i64,
) -> StoreResult<()> {
    for (id, _) in media {
        sqlx::query(
            "UPDATE media SET conversation_sid = $2, message_sid = $3, date_updated = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(conversation.as_str())
        .bind(message.as_str())
        .bind(at)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

/// Condemns the media of what is being deleted: a message (`message_sid`), a conversation
/// (`conversation_sid`) or a service (`service_sid`).
pub(crate) async fn condemn_of(
    column: &'static str,
    c: &mut PgConnection,
    sid: &str,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "UPDATE media SET condemned = TRUE WHERE {column} = $1 AND NOT condemned"
    ))
    .bind(sid)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    Ok(())
}

pub(crate) async fn condemn(
    c: &mut PgConnection,
    now: i64,
    limit: u32,
) -> StoreResult<Vec<SweptMedia>> {
    // Unattached only: a row a message takes meanwhile no longer matches when PostgreSQL
    // checks it again after that message's commit.
    sqlx::query(
        "UPDATE media SET condemned = TRUE WHERE NOT condemned AND message_sid IS NULL AND expires <= $1",
    )
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    let rows =
        sqlx::query("SELECT service_sid, sid FROM media WHERE condemned ORDER BY id LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
            .map_err(backend)?;
    rows.iter()
        .map(|r| {
            Ok(SweptMedia {
                service_sid: Sid::from_trusted(r.try_get(0)?),
                sid: Sid::from_trusted(r.try_get(1)?),
            })
        })
        .collect::<sqlx::Result<_>>()
        .map_err(backend)
}

pub(crate) async fn forget(c: &mut PgConnection, sids: &[Sid]) -> StoreResult<()> {
    let sids: Vec<&str> = sids.iter().map(Sid::as_str).collect();
    sqlx::query("DELETE FROM media WHERE sid = ANY($1) AND condemned")
        .bind(&sids)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    Ok(())
}
