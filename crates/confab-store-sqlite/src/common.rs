//! Pieces every operation uses: resolving a service, loading a conversation, appending to logs,
//! reading logs, and the keyset page query.

use std::sync::Arc;

use confab_protocol::entity::Millis;
use confab_protocol::event::EventBody;
use confab_protocol::sid::Sid;
use confab_store::patch::{conversation_event, user_event};
use confab_store::{LogEntry, LogEvent, Memberships, PageRequest, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{self, CONVERSATION_COLS, ConversationRow, backend};

/// The internal id of a service.
pub(crate) fn service_id(conn: &Connection, sid: &str) -> StoreResult<i64> {
    conn.prepare_cached("SELECT id FROM services WHERE sid = ?1")
        .and_then(|mut s| s.query_row([sid], |r| r.get(0)).optional())
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("Service {sid}")))
}

/// Loads a conversation of `service` by SID, or by unique name when `sid_or_name` is not a SID.
pub(crate) fn find_conversation(
    conn: &Connection,
    service: &str,
    sid_or_name: &str,
) -> StoreResult<Option<ConversationRow>> {
    let by_sid = confab_protocol::sid::is_sid(confab_protocol::SidKind::Conversation, sid_or_name);
    let col = if by_sid { "c.sid" } else { "c.unique_name" };
    let sql = format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN services s ON s.id = c.service_id \
         WHERE s.sid = ?1 AND {col} = ?2"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![service, sid_or_name], rows::conversation)
                .optional()
        })
        .map_err(backend)
}

/// Like [`find_conversation`] but absent is an error.
pub(crate) fn conversation(
    conn: &Connection,
    service: &str,
    sid_or_name: &str,
) -> StoreResult<ConversationRow> {
    find_conversation(conn, service, sid_or_name)?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {sid_or_name}")))
}

/// Takes the conversation's next `seq`.
fn next_seq(conn: &Connection, conversation_id: i64) -> StoreResult<i64> {
    conn.prepare_cached(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq",
    )
    .and_then(|mut s| s.query_row([conversation_id], |r| r.get(0)))
    .map_err(backend)
}

/// Takes the conversation's next `seq` and appends the event there: the log step of every
/// write but a message's creation (which shares one counter update with its index).
pub(crate) fn log_next(
    conn: &Connection,
    conversation_id: i64,
    conversation_sid: &Sid,
    message_id: Option<i64>,
    body: &EventBody,
) -> StoreResult<LogEvent> {
    let seq = next_seq(conn, conversation_id)?;
    append_conversation_event(
        conn,
        conversation_id,
        conversation_sid,
        seq,
        message_id,
        body,
    )
}

/// Appends an event to a conversation's log at `seq` (taken with [`next_seq`] or
/// [`crate::messages`]' combined counter).
pub(crate) fn append_conversation_event(
    conn: &Connection,
    conversation_id: i64,
    conversation_sid: &Sid,
    seq: i64,
    message_id: Option<i64>,
    body: &EventBody,
) -> StoreResult<LogEvent> {
    // Stamped with the commit's wall-clock time, not the entity's (an app backend may set
    // DateCreated to any past date): retention counts from when the event was logged.
    let now = crate::now_millis();
    let event = conversation_event(conversation_sid, seq, body);
    conn.prepare_cached(
        "INSERT INTO conversation_events (conversation_id, seq, message_id, frame, date_created) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            conversation_id,
            seq,
            message_id,
            &event.frame[..],
            now
        ])
    })
    .map_err(backend)?;
    Ok(event)
}

/// Appends an event to an identity's user log, creating the user on first use.
pub(crate) fn append_user_event(
    conn: &Connection,
    service_id: i64,
    service_sid: &Sid,
    identity: &str,
    new_user_sid: &Sid,
    body: &EventBody,
    now: Millis,
) -> StoreResult<LogEvent> {
    conn.prepare_cached(
        "INSERT INTO users (sid, service_id, identity, role_sid, date_created, date_updated) \
         SELECT ?1, ?2, ?3, (SELECT default_chat_service_role_sid FROM service_configuration WHERE service_id = ?2), \
         ?4, ?4 WHERE true ON CONFLICT (service_id, identity) DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![new_user_sid.as_str(), service_id, identity, now]))
    .map_err(backend)?;
    let (user_id, seq): (i64, i64) = conn
        .prepare_cached(
            "UPDATE users SET last_user_seq = last_user_seq + 1 WHERE service_id = ?1 AND identity = ?2 \
             RETURNING id, last_user_seq",
        )
        .and_then(|mut s| s.query_row(params![service_id, identity], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(backend)?;
    let event = user_event(service_sid, identity, seq, body);
    conn.prepare_cached(
        "INSERT INTO user_events (user_id, seq, frame, date_created) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| s.execute(params![user_id, seq, &event.frame[..], now]))
    .map_err(backend)?;
    Ok(event)
}

fn log_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    let frame: Vec<u8> = r.get(1)?;
    Ok(LogEntry {
        seq: r.get(0)?,
        frame: Arc::from(frame),
    })
}

/// Reads a conversation log after `after_seq`.
pub(crate) fn conversation_log(
    conn: &Connection,
    sid: &str,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    conn.prepare_cached(
        "SELECT e.seq, e.frame FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id \
         WHERE c.sid = ?1 AND e.seq > ?2 ORDER BY e.seq LIMIT ?3",
    )
    .and_then(|mut s| s.query_map(params![sid, after, limit], log_entry)?.collect())
    .map_err(backend)
}

/// The head `seq` of each conversation, in the order given (0 for one that is gone).
pub(crate) fn conversation_heads(
    conn: &Connection,
    sids: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    heads(
        conn,
        "SELECT sid, last_seq FROM conversations WHERE sid IN",
        None,
        sids,
    )
}

/// The head `seq` of each identity's user log in `service`, in the order given (0 for none).
pub(crate) fn user_heads(
    conn: &Connection,
    service: &str,
    identities: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    heads(
        conn,
        "SELECT u.identity, u.last_user_seq FROM users u JOIN services s ON s.id = u.service_id \
         WHERE s.sid = ? AND u.identity IN",
        Some(service),
        identities,
    )
}

/// `select` (ending in `IN`) over `keys` in bounded statements (SQLite caps the parameters
/// of one), after `first` when given; the `(key, head)` rows in the order of `keys`.
fn heads(
    conn: &Connection,
    select: &str,
    first: Option<&str>,
    keys: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    let mut found = std::collections::HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = conn
            .prepare(&format!("{select} ({marks})"))
            .map_err(backend)?;
        let params = first.into_iter().chain(chunk.iter().map(String::as_str));
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(backend)?;
        for row in rows {
            let (key, seq) = row.map_err(backend)?;
            found.insert(key, seq);
        }
    }
    Ok(keys
        .iter()
        .map(|k| (k.clone(), found.get(k).copied().unwrap_or(0)))
        .collect())
}

/// The heads of an identity's streams, read in one statement so they are consistent with
/// each other.
pub(crate) fn memberships(
    conn: &Connection,
    service: &str,
    identity: &str,
) -> StoreResult<Memberships> {
    let rows: Vec<(Option<String>, i64)> = conn
        .prepare_cached(
            "SELECT NULL, u.last_user_seq FROM users u JOIN services s ON s.id = u.service_id \
             WHERE s.sid = ?1 AND u.identity = ?2 \
             UNION ALL \
             SELECT * FROM (SELECT c.sid, c.last_seq FROM participants p \
              JOIN conversations c ON c.id = p.conversation_id JOIN services s ON s.id = p.service_id \
              WHERE s.sid = ?1 AND p.identity = ?2 ORDER BY p.id)",
        )
        .and_then(|mut st| {
            st.query_map(params![service, identity], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(backend)?;
    let mut out = Memberships::default();
    for (sid, seq) in rows {
        match sid {
            None => out.user_seq = seq,
            Some(sid) => out.conversations.push((Sid::from_trusted(sid), seq)),
        }
    }
    Ok(out)
}

/// Deletes up to `limit` conversation log rows older than `before`.
pub(crate) fn prune_conversation_logs(
    conn: &Connection,
    before: i64,
    limit: u32,
) -> StoreResult<u64> {
    conn.prepare_cached(
        "DELETE FROM conversation_events WHERE id IN \
         (SELECT id FROM conversation_events WHERE date_created < ?1 ORDER BY date_created, id LIMIT ?2)",
    )
    .and_then(|mut st| st.execute(params![before, limit]))
    .map(|n| n as u64)
    .map_err(backend)
}

/// Reads a user log after `after_seq`.
pub(crate) fn user_log(
    conn: &Connection,
    service: &str,
    identity: &str,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    conn.prepare_cached(
        "SELECT e.seq, e.frame FROM user_events e JOIN users u ON u.id = e.user_id \
         JOIN services s ON s.id = u.service_id \
         WHERE s.sid = ?1 AND u.identity = ?2 AND e.seq > ?3 ORDER BY e.seq LIMIT ?4",
    )
    .and_then(|mut s| {
        s.query_map(params![service, identity, after, limit], log_entry)?
            .collect()
    })
    .map_err(backend)
}

/// The `AND key > k ORDER BY key ASC LIMIT n` tail of a keyset page query. The bound is an
/// integer formatted in place, so nothing from outside reaches the SQL text.
pub(crate) fn keyset(page: &PageRequest, key: &str) -> String {
    let plan = page.fetch_plan();
    let dir = if plan.ascending { "ASC" } else { "DESC" };
    let bound = match plan.bound {
        None => String::new(),
        Some((k, true)) => format!(" AND {key} > {k}"),
        Some((k, false)) => format!(" AND {key} < {k}"),
    };
    format!("{bound} ORDER BY {key} {dir} LIMIT {}", plan.limit)
}
