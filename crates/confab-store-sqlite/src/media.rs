//! Media records: uploads waiting for a message, attached ones, and the sweep of those whose
//! bytes are to go.

use confab_protocol::entity::{Media, MessageMedia};
use confab_protocol::sid::Sid;
use confab_store::{NewMedia, NewMessage, StoreError, StoreResult, SweptMedia};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::common;
use crate::rows::{self, backend};

const MEDIA_COLS: &str = "m.sid, m.service_sid, m.conversation_sid, m.message_sid, m.author, m.category, \
     m.content_type, m.filename, m.size, m.date_created, m.date_updated";

fn media(r: &Row<'_>) -> rusqlite::Result<Media> {
    Ok(Media {
        sid: Sid::from_trusted(r.get(0)?),
        service_sid: Sid::from_trusted(r.get(1)?),
        conversation_sid: r.get::<_, Option<String>>(2)?.map(Sid::from_trusted),
        message_sid: r.get::<_, Option<String>>(3)?.map(Sid::from_trusted),
        author: r.get(4)?,
        category: r.get(5)?,
        content_type: r.get(6)?,
        filename: r.get(7)?,
        size: r.get(8)?,
        date_created: r.get(9)?,
        date_updated: r.get(10)?,
    })
}

pub(crate) fn add(conn: &Connection, service: &str, new: NewMedia) -> StoreResult<Media> {
    // The service must exist (its media outlives it, to be swept).
    common::service_id(conn, service)?;
    conn.prepare_cached(
        "INSERT INTO media (sid, service_sid, author, category, content_type, filename, size, \
         expires, date_created, date_updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            new.sid.as_str(),
            service,
            new.author,
            new.category,
            new.content_type,
            new.filename,
            new.size,
            new.expires,
            new.date_created
        ])
    })
    .map_err(|e| rows::unique_violation(e, "media with this SID exists"))?;
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

pub(crate) fn find(conn: &Connection, service: &str, sid: &str) -> StoreResult<Option<Media>> {
    conn.prepare_cached(&format!(
        "SELECT {MEDIA_COLS} FROM media m WHERE m.service_sid = ?1 AND m.sid = ?2 AND m.condemned = 0"
    ))
    .and_then(|mut s| s.query_row(params![service, sid], media).optional())
    .map_err(backend)
}

/// The media a new message takes, each checked (see [`NewMessage::media`]): row ids and how
/// the message lists them. Changes nothing.
pub(crate) fn attachable(
    conn: &Connection,
    service: &str,
    new: &NewMessage,
) -> StoreResult<Vec<(i64, MessageMedia)>> {
    let mut out: Vec<(i64, MessageMedia)> = Vec::with_capacity(new.media.len());
    for sid in &new.media {
        if out.iter().any(|(_, l)| l.sid == *sid) {
            return Err(StoreError::Unattachable(format!(
                "media {sid} is named twice"
            )));
        }
        let row = conn
            .prepare_cached(
                "SELECT m.id, m.author, m.category, m.content_type, m.filename, m.size, \
                 m.message_sid, m.expires, m.condemned FROM media m \
                 WHERE m.service_sid = ?1 AND m.sid = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![service, sid.as_str()], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        MessageMedia {
                            sid: sid.clone(),
                            category: r.get(2)?,
                            content_type: r.get(3)?,
                            filename: r.get(4)?,
                            size: r.get(5)?,
                        },
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, bool>(8)?,
                    ))
                })
                .optional()
            })
            .map_err(backend)?;
        let Some((id, author, listed, message, expires, condemned)) = row else {
            return Err(StoreError::Unattachable(format!(
                "media {sid} does not exist"
            )));
        };
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
pub(crate) fn attach(
    conn: &Connection,
    media: &[(i64, MessageMedia)],
    conversation: &Sid,
    message: &Sid,
    at: i64,
) -> StoreResult<()> {
    for (id, _) in media {
        conn.prepare_cached(
            "UPDATE media SET conversation_sid = ?2, message_sid = ?3, date_updated = ?4 WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![id, conversation.as_str(), message.as_str(), at]))
        .map_err(backend)?;
    }
    Ok(())
}

/// Condemns the media of what is being deleted: a message (`message_sid`), a conversation
/// (`conversation_sid`) or a service (`service_sid`).
pub(crate) fn condemn_of(column: &'static str, conn: &Connection, sid: &str) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "UPDATE media SET condemned = 1 WHERE {column} = ?1 AND condemned = 0"
    ))
    .and_then(|mut s| s.execute([sid]))
    .map_err(backend)?;
    Ok(())
}

pub(crate) fn condemn(conn: &Connection, now: i64, limit: u32) -> StoreResult<Vec<SweptMedia>> {
    conn.prepare_cached(
        "UPDATE media SET condemned = 1 WHERE condemned = 0 AND message_sid IS NULL AND expires <= ?1",
    )
    .and_then(|mut s| s.execute([now]))
    .map_err(backend)?;
    let mut s = conn
        .prepare_cached(
            "SELECT service_sid, sid FROM media WHERE condemned = 1 ORDER BY id LIMIT ?1",
        )
        .map_err(backend)?;
    let rows = s
        .query_map([limit], |r| {
            Ok(SweptMedia {
                service_sid: Sid::from_trusted(r.get(0)?),
                sid: Sid::from_trusted(r.get(1)?),
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

pub(crate) fn forget(conn: &Connection, sids: &[Sid]) -> StoreResult<()> {
    for sid in sids {
        conn.prepare_cached("DELETE FROM media WHERE sid = ?1 AND condemned = 1")
            .and_then(|mut s| s.execute([sid.as_str()]))
            .map_err(backend)?;
    }
    Ok(())
}
