//! Services, configuration and conversations.

use confab_protocol::entity::{Conversation, Participant, Service};
use confab_protocol::event::EventBody;
use confab_protocol::sid::Sid;
use confab_store::patch::membership;
use confab_store::{
    Committed, Configuration, ConfigurationUpdate, ConversationFilter, ConversationPatch,
    CountLimits, NewParticipant, NewService, Page, PageRequest, StoreError, StoreResult,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::common::{
    self, append_conversation_event, append_user_event, keyset, log_next, service_id,
};
use crate::rows::{
    self, CONVERSATION_COLS, SERVICE_COLS, backend, json_text, timers_text, unique_violation,
};

pub(crate) fn service(conn: &Connection, sid: &str) -> StoreResult<Option<Service>> {
    conn.prepare_cached(&format!(
        "SELECT {SERVICE_COLS} FROM services WHERE sid = ?1"
    ))
    .and_then(|mut s| s.query_row([sid], rows::service).optional())
    .map_err(backend)
}

pub(crate) fn init_account(
    conn: &Connection,
    default_service: &NewService,
) -> StoreResult<Configuration> {
    if let Some(c) = configuration(conn)? {
        return Ok(c);
    }
    crate::services::create(conn, default_service)?;
    conn.execute(
        "INSERT INTO configuration (id, default_service_id) SELECT 1, id FROM services WHERE sid = ?1",
        [default_service.service.sid.as_str()],
    )
    .map_err(backend)?;
    configuration(conn)?
        .ok_or_else(|| StoreError::Backend("configuration missing after insert".into()))
}

/// Creates a conversation and its participants; any failure undoes all of it (the caller's
/// savepoint covers the whole job).
pub(crate) fn create_with_participants(
    conn: &Connection,
    c: Conversation,
    participants: Vec<NewParticipant>,
    limits: &CountLimits,
) -> StoreResult<Committed<(Conversation, Vec<Participant>)>> {
    let service = c.chat_service_sid.to_string();
    let created = create(conn, c)?;
    let mut events = created.events;
    let mut added = Vec::with_capacity(participants.len());
    for p in participants {
        let a = crate::participants::add(conn, &service, p, limits)?;
        events.extend(a.events);
        added.push(a.value);
    }
    Ok(Committed {
        value: (created.value, added),
        events,
    })
}

pub(crate) fn configuration(conn: &Connection) -> StoreResult<Option<Configuration>> {
    conn.prepare_cached(
        "SELECT s.sid, c.default_messaging_service_sid, c.default_inactive_timer, c.default_closed_timer \
         FROM configuration c JOIN services s ON s.id = c.default_service_id WHERE c.id = 1",
    )
    .and_then(|mut st| {
        st.query_row([], |r| {
            Ok(Configuration {
                default_chat_service_sid: Sid::from_trusted(r.get(0)?),
                default_messaging_service_sid: r.get(1)?,
                default_inactive_timer: r.get(2)?,
                default_closed_timer: r.get(3)?,
            })
        })
        .optional()
    })
    .map_err(backend)
}

pub(crate) fn update_configuration(
    conn: &Connection,
    u: ConfigurationUpdate,
) -> StoreResult<Configuration> {
    if let Some(sid) = &u.default_chat_service_sid {
        let id = service_id(conn, sid)?;
        conn.execute(
            "UPDATE configuration SET default_service_id = ?1 WHERE id = 1",
            [id],
        )
        .map_err(backend)?;
    }
    let text_cols = [
        (
            "default_messaging_service_sid",
            &u.default_messaging_service_sid,
        ),
        ("default_inactive_timer", &u.default_inactive_timer),
        ("default_closed_timer", &u.default_closed_timer),
    ];
    for (col, value) in text_cols {
        if let Some(v) = value {
            conn.execute(
                &format!("UPDATE configuration SET {col} = ?1 WHERE id = 1"),
                [v],
            )
            .map_err(backend)?;
        }
    }
    configuration(conn)?.ok_or_else(|| StoreError::Backend("no configuration".into()))
}

const NAME_TAKEN: &str = "a conversation with this unique name already exists in the service";

pub(crate) fn create(conn: &Connection, c: Conversation) -> StoreResult<Committed<Conversation>> {
    let service = service_id(conn, c.chat_service_sid.as_str())?;
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO conversations (sid, service_id, unique_name, friendly_name, attributes, state, \
             messaging_service_sid, timers, bindings, last_seq, date_created, date_updated, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12) RETURNING id",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    c.sid.as_str(),
                    service,
                    c.unique_name,
                    c.friendly_name,
                    c.attributes,
                    c.state.as_str(),
                    c.messaging_service_sid,
                    timers_text(&c.timers),
                    json_text(&c.bindings),
                    c.date_created,
                    c.date_updated,
                    c.created_by
                ],
                |r| r.get(0),
            )
        })
        .map_err(|e| unique_violation(e, NAME_TAKEN))?;
    let event = append_conversation_event(
        conn,
        id,
        &c.sid,
        1,
        None,
        &EventBody::ConversationAdded(c.clone()),
    )?;
    Ok(Committed::one(c, event))
}

pub(crate) fn update(
    conn: &Connection,
    service: &str,
    sid: &str,
    patch: ConversationPatch,
) -> StoreResult<Committed<Conversation>> {
    let row = common::conversation(conn, service, sid)?;
    let mut c = row.conversation;
    patch.apply(&mut c);
    conn.prepare_cached(
        "UPDATE conversations SET unique_name = ?2, friendly_name = ?3, attributes = ?4, state = ?5, \
         messaging_service_sid = ?6, timers = ?7, bindings = ?8, date_created = ?9, date_updated = ?10 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.id,
            c.unique_name,
            c.friendly_name,
            c.attributes,
            c.state.as_str(),
            c.messaging_service_sid,
            timers_text(&c.timers),
            json_text(&c.bindings),
            c.date_created,
            c.date_updated
        ])
    })
    .map_err(|e| unique_violation(e, NAME_TAKEN))?;
    let event = log_next(
        conn,
        row.id,
        &c.sid,
        None,
        &EventBody::ConversationUpdated(c.clone()),
    )?;
    Ok(Committed::one(c, event))
}

pub(crate) fn delete(
    conn: &Connection,
    service: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<Conversation>> {
    let row = common::conversation(conn, service, sid)?;
    let c = row.conversation;
    let service_id = service_id(conn, service)?;
    let members: Vec<(i64, confab_protocol::entity::Participant)> = conn
        .prepare_cached(&format!(
            "SELECT {} FROM participants WHERE conversation_id = ?1 AND identity IS NOT NULL ORDER BY id",
            rows::PARTICIPANT_COLS
        ))
        .and_then(|mut s| s.query_map([row.id], rows::participant(&c.sid))?.collect())
        .map_err(backend)?;
    let mut events = Vec::with_capacity(members.len());
    for (_, p) in &members {
        let Some(identity) = &p.identity else {
            continue;
        };
        // The user already exists (the participant created it), so no new SID is needed.
        let body = EventBody::ConversationRemoved(membership(p, row.last_seq, None));
        events.push(append_user_event(
            conn,
            service_id,
            &c.chat_service_sid,
            identity,
            &p.sid,
            &body,
            now,
        )?);
    }
    crate::media::condemn_of("conversation_sid", conn, c.sid.as_str())?;
    conn.execute("DELETE FROM conversations WHERE id = ?1", [row.id])
        .map_err(backend)?;
    Ok(Committed { value: c, events })
}

pub(crate) fn list(
    conn: &Connection,
    service: &str,
    filter: &ConversationFilter,
    page: &PageRequest,
) -> StoreResult<Page<Conversation>> {
    let mut sql = format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN services s ON s.id = c.service_id WHERE s.sid = ?1"
    );
    let mut args: Vec<Value> = vec![Value::Text(service.to_owned())];
    if let Some(start) = filter.start {
        args.push(Value::Integer(start));
        sql.push_str(&format!(" AND c.date_created >= ?{}", args.len()));
    }
    if let Some(end) = filter.end {
        args.push(Value::Integer(end));
        sql.push_str(&format!(" AND c.date_created < ?{}", args.len()));
    }
    if let Some(state) = filter.state {
        args.push(Value::Text(state.as_str().to_owned()));
        sql.push_str(&format!(" AND c.state = ?{}", args.len()));
    }
    sql.push_str(&keyset(page, "c.id"));
    let rows: Vec<(i64, Conversation)> = conn
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(args), |r| {
                rows::conversation(r).map(|c| (c.id, c.conversation))
            })?
            .collect()
        })
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}
