//! Pieces every operation uses: resolving a service, loading (and locking) a conversation,
//! appending to logs, reading logs, and the keyset page query.

use std::sync::Arc;

use confab_protocol::entity::Millis;
use confab_protocol::event::EventBody;
use confab_protocol::sid::{Sid, SidKind, is_sid};
use confab_store::patch::{conversation_event, user_event};
use confab_store::{LogEntry, LogEvent, Memberships, PageRequest, StoreError, StoreResult};
use sqlx::{PgConnection, Row};

use crate::rows::{self, CONVERSATION_COLS, ConversationRow, backend};

/// The internal id of a service.
pub(crate) async fn service_id(c: &mut PgConnection, sid: &str) -> StoreResult<i64> {
    sqlx::query("SELECT id FROM services WHERE sid = $1")
        .bind(sid)
        .fetch_optional(&mut *c)
        .await
        .map_err(backend)?
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(backend)?
        .ok_or_else(|| StoreError::NotFound(format!("Service {sid}")))
}

/// Loads a conversation of `service` by SID, or by unique name when `sid_or_name` is not a SID.
/// With `lock`, the row stays locked until the transaction ends, which serializes every writer
/// of this conversation (its counters are then gapless across processes).
pub(crate) async fn find_conversation(
    c: &mut PgConnection,
    service: &str,
    sid_or_name: &str,
    lock: bool,
) -> StoreResult<Option<ConversationRow>> {
    let col = if is_sid(SidKind::Conversation, sid_or_name) {
        "c.sid"
    } else {
        "c.unique_name"
    };
    let lock = if lock { " FOR UPDATE OF c" } else { "" };
    let sql = format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN services s ON s.id = c.service_id \
         WHERE s.sid = $1 AND {col} = $2{lock}"
    );
    let row = sqlx::query(&sql)
        .bind(service)
        .bind(sid_or_name)
        .fetch_optional(&mut *c)
        .await
        .map_err(backend)?;
    row.as_ref()
        .map(rows::conversation)
        .transpose()
        .map_err(backend)
}

/// Like [`find_conversation`] (locked) but absent is an error.
pub(crate) async fn conversation(
    c: &mut PgConnection,
    service: &str,
    sid_or_name: &str,
) -> StoreResult<ConversationRow> {
    find_conversation(c, service, sid_or_name, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {sid_or_name}")))
}

/// Takes the conversation's next `seq`.
async fn next_seq(c: &mut PgConnection, conversation_id: i64) -> StoreResult<i64> {
    sqlx::query("UPDATE conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq")
        .bind(conversation_id)
        .fetch_one(&mut *c)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(backend)
}

/// Takes the conversation's next `seq` and appends the event there: the log step of every
/// write but a message's creation (which shares one counter update with its index).
pub(crate) async fn log_next(
    c: &mut PgConnection,
    conversation_id: i64,
    conversation_sid: &Sid,
    message_id: Option<i64>,
    body: &EventBody,
) -> StoreResult<LogEvent> {
    let seq = next_seq(c, conversation_id).await?;
    append_conversation_event(c, conversation_id, conversation_sid, seq, message_id, body).await
}

/// Appends an event to a conversation's log at `seq`.
pub(crate) async fn append_conversation_event(
    c: &mut PgConnection,
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
    sqlx::query(
        "INSERT INTO conversation_events (conversation_id, seq, message_id, frame, date_created) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(conversation_id)
    .bind(seq)
    .bind(message_id)
    .bind(&event.frame[..])
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    Ok(event)
}

/// Makes sure the user of `identity` exists (with the service's default role) and locks it.
pub(crate) async fn ensure_user(
    c: &mut PgConnection,
    service_id: i64,
    identity: &str,
    new_user_sid: &Sid,
    now: Millis,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (sid, service_id, identity, role_sid, date_created, date_updated) \
         SELECT $1, $2, $3, (SELECT default_chat_service_role_sid FROM service_configuration WHERE service_id = $2), $4, $4 \
         ON CONFLICT (service_id, identity) DO NOTHING",
    )
    .bind(new_user_sid.as_str())
    .bind(service_id)
    .bind(identity)
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    sqlx::query("SELECT id FROM users WHERE service_id = $1 AND identity = $2 FOR UPDATE")
        .bind(service_id)
        .bind(identity)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Appends an event to an identity's user log, creating the user on first use.
pub(crate) async fn append_user_event(
    c: &mut PgConnection,
    service_id: i64,
    service_sid: &Sid,
    identity: &str,
    new_user_sid: &Sid,
    body: &EventBody,
    now: Millis,
) -> StoreResult<LogEvent> {
    ensure_user(c, service_id, identity, new_user_sid, now).await?;
    let row = sqlx::query(
        "UPDATE users SET last_user_seq = last_user_seq + 1 WHERE service_id = $1 AND identity = $2 \
         RETURNING id, last_user_seq",
    )
    .bind(service_id)
    .bind(identity)
    .fetch_one(&mut *c)
    .await
    .map_err(backend)?;
    let (user_id, seq): (i64, i64) = (
        row.try_get(0).map_err(backend)?,
        row.try_get(1).map_err(backend)?,
    );
    let event = user_event(service_sid, identity, seq, body);
    sqlx::query(
        "INSERT INTO user_events (user_id, seq, frame, date_created) VALUES ($1, $2, $3, $4)",
    )
    .bind(user_id)
    .bind(seq)
    .bind(&event.frame[..])
    .bind(now)
    .execute(&mut *c)
    .await
    .map_err(backend)?;
    Ok(event)
}

fn log_entries(rows: Vec<sqlx::postgres::PgRow>) -> StoreResult<Vec<LogEntry>> {
    rows.iter()
        .map(|r| {
            let frame: Vec<u8> = r.try_get(1)?;
            Ok(LogEntry {
                seq: r.try_get(0)?,
                frame: Arc::from(frame),
            })
        })
        .collect::<sqlx::Result<_>>()
        .map_err(backend)
}

/// Reads a conversation log after `after`.
pub(crate) async fn conversation_log(
    c: &mut PgConnection,
    sid: &str,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT e.seq, e.frame FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id \
         WHERE c.sid = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
    )
    .bind(sid)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?;
    log_entries(rows)
}

/// The head `seq` of each conversation, in the order given (0 for one that is gone).
pub(crate) async fn conversation_heads(
    c: &mut PgConnection,
    sids: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT sid, last_seq FROM conversations WHERE sid = ANY($1)")
            .bind(sids)
            .fetch_all(&mut *c)
            .await
            .map_err(backend)?;
    Ok(in_order(sids, rows))
}

/// The head `seq` of each identity's user log in `service`, in the order given (0 for none).
pub(crate) async fn user_heads(
    c: &mut PgConnection,
    service: &str,
    identities: &[String],
) -> StoreResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT u.identity, u.last_user_seq FROM users u JOIN services s ON s.id = u.service_id \
         WHERE s.sid = $1 AND u.identity = ANY($2)",
    )
    .bind(service)
    .bind(identities)
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?;
    Ok(in_order(identities, rows))
}

/// `rows` as `(key, head)` in the order of `keys`, 0 for a key without a row.
fn in_order(keys: &[String], rows: Vec<(String, i64)>) -> Vec<(String, i64)> {
    let found: std::collections::HashMap<String, i64> = rows.into_iter().collect();
    keys.iter()
        .map(|k| (k.clone(), found.get(k).copied().unwrap_or(0)))
        .collect()
}

/// The heads of an identity's streams, read in one statement so they are consistent.
pub(crate) async fn memberships(
    c: &mut PgConnection,
    service: &str,
    identity: &str,
) -> StoreResult<Memberships> {
    let rows = sqlx::query(
        "SELECT NULL::text AS sid, u.last_user_seq AS seq FROM users u JOIN services s ON s.id = u.service_id \
         WHERE s.sid = $1 AND u.identity = $2 \
         UNION ALL \
         (SELECT c.sid, c.last_seq FROM participants p JOIN conversations c ON c.id = p.conversation_id \
          JOIN services s ON s.id = p.service_id WHERE s.sid = $1 AND p.identity = $2 ORDER BY p.id)",
    )
    .bind(service)
    .bind(identity)
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?;
    let mut out = Memberships::default();
    for r in rows {
        let sid: Option<String> = r.try_get(0).map_err(backend)?;
        let seq: i64 = r.try_get(1).map_err(backend)?;
        match sid {
            None => out.user_seq = seq,
            Some(sid) => out.conversations.push((Sid::from_trusted(sid), seq)),
        }
    }
    Ok(out)
}

/// Deletes up to `limit` conversation log rows older than `before`.
pub(crate) async fn prune_conversation_logs(
    c: &mut PgConnection,
    before: i64,
    limit: u32,
) -> StoreResult<u64> {
    sqlx::query(
        "DELETE FROM conversation_events WHERE (conversation_id, seq) IN \
         (SELECT conversation_id, seq FROM conversation_events WHERE date_created < $1 ORDER BY date_created, seq LIMIT $2)",
    )
    .bind(before)
    .bind(i64::from(limit))
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    .map_err(backend)
}

/// Reads a user log after `after`.
pub(crate) async fn user_log(
    c: &mut PgConnection,
    service: &str,
    identity: &str,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<LogEntry>> {
    let rows = sqlx::query(
        "SELECT e.seq, e.frame FROM user_events e JOIN users u ON u.id = e.user_id \
         JOIN services s ON s.id = u.service_id \
         WHERE s.sid = $1 AND u.identity = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4",
    )
    .bind(service)
    .bind(identity)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?;
    log_entries(rows)
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
