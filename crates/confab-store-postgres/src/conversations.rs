//! The account configuration, services' bare rows, and conversations.

use confab_protocol::entity::{Conversation, Participant, Service};
use confab_protocol::event::EventBody;
use confab_protocol::sid::Sid;
use confab_store::patch::membership;
use confab_store::{
    Committed, Configuration, ConfigurationUpdate, ConversationFilter, ConversationPatch,
    CountLimits, NewParticipant, NewService, Page, PageRequest, StoreError, StoreResult,
};
use sqlx::{PgConnection, Row};

use crate::common::{
    self, append_conversation_event, append_user_event, keyset, log_next, service_id,
};
use crate::rows::{
    self, CONVERSATION_COLS, SERVICE_COLS, backend, json_text, timers_text, unique_violation,
};

pub(crate) async fn service(c: &mut PgConnection, sid: &str) -> StoreResult<Option<Service>> {
    let row = sqlx::query(&format!(
        "SELECT {SERVICE_COLS} FROM services WHERE sid = $1"
    ))
    .bind(sid)
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    row.as_ref().map(rows::service).transpose().map_err(backend)
}

pub(crate) async fn init_account(
    c: &mut PgConnection,
    default_service: &NewService,
) -> StoreResult<Configuration> {
    // Two nodes starting at once on an empty database must not both create a default service.
    sqlx::query("SELECT pg_advisory_xact_lock(7243000001)")
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    if let Some(cfg) = configuration(c).await? {
        return Ok(cfg);
    }
    crate::services::create(c, default_service).await?;
    sqlx::query("INSERT INTO configuration (id, default_service_id) SELECT 1, id FROM services WHERE sid = $1")
        .bind(default_service.service.sid.as_str())
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    configuration(c)
        .await?
        .ok_or_else(|| StoreError::Backend("configuration missing after insert".into()))
}

pub(crate) async fn configuration(c: &mut PgConnection) -> StoreResult<Option<Configuration>> {
    let row = sqlx::query(
        "SELECT s.sid, c.default_messaging_service_sid, c.default_inactive_timer, c.default_closed_timer \
         FROM configuration c JOIN services s ON s.id = c.default_service_id WHERE c.id = 1",
    )
    .fetch_optional(&mut *c)
    .await
    .map_err(backend)?;
    row.map(|r| -> sqlx::Result<Configuration> {
        Ok(Configuration {
            default_chat_service_sid: Sid::from_trusted(r.try_get(0)?),
            default_messaging_service_sid: r.try_get(1)?,
            default_inactive_timer: r.try_get(2)?,
            default_closed_timer: r.try_get(3)?,
        })
    })
    .transpose()
    .map_err(backend)
}

pub(crate) async fn update_configuration(
    c: &mut PgConnection,
    u: ConfigurationUpdate,
) -> StoreResult<Configuration> {
    if let Some(sid) = &u.default_chat_service_sid {
        let id = service_id(c, sid).await?;
        sqlx::query("UPDATE configuration SET default_service_id = $1 WHERE id = 1")
            .bind(id)
            .execute(&mut *c)
            .await
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
            sqlx::query(&format!("UPDATE configuration SET {col} = $1 WHERE id = 1"))
                .bind(v)
                .execute(&mut *c)
                .await
                .map_err(backend)?;
        }
    }
    configuration(c)
        .await?
        .ok_or_else(|| StoreError::Backend("no configuration".into()))
}

const NAME_TAKEN: &str = "a conversation with this unique name already exists in the service";

pub(crate) async fn create(
    c: &mut PgConnection,
    conv: Conversation,
) -> StoreResult<Committed<Conversation>> {
    let service = service_id(c, conv.chat_service_sid.as_str()).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO conversations (sid, service_id, unique_name, friendly_name, attributes, state, \
         messaging_service_sid, timers, bindings, last_seq, date_created, date_updated, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12) RETURNING id",
    )
    .bind(conv.sid.as_str())
    .bind(service)
    .bind(&conv.unique_name)
    .bind(&conv.friendly_name)
    .bind(&conv.attributes)
    .bind(conv.state.as_str())
    .bind(&conv.messaging_service_sid)
    .bind(timers_text(&conv.timers))
    .bind(json_text(&conv.bindings))
    .bind(conv.date_created)
    .bind(conv.date_updated)
    .bind(&conv.created_by)
    .fetch_one(&mut *c)
    .await
    .and_then(|r| r.try_get(0))
    .map_err(|e| unique_violation(e, NAME_TAKEN))?;
    let event = append_conversation_event(
        c,
        id,
        &conv.sid,
        1,
        None,
        &EventBody::ConversationAdded(conv.clone()),
    )
    .await?;
    Ok(Committed::one(conv, event))
}

pub(crate) async fn create_with_participants(
    c: &mut PgConnection,
    conv: Conversation,
    participants: Vec<NewParticipant>,
    limits: &CountLimits,
) -> StoreResult<Committed<(Conversation, Vec<Participant>)>> {
    let service = conv.chat_service_sid.to_string();
    let created = create(c, conv).await?;
    let mut events = created.events;
    let mut added = Vec::with_capacity(participants.len());
    for p in participants {
        let a = crate::participants::add(c, &service, p, limits).await?;
        events.extend(a.events);
        added.push(a.value);
    }
    Ok(Committed {
        value: (created.value, added),
        events,
    })
}

pub(crate) async fn update(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
    patch: ConversationPatch,
) -> StoreResult<Committed<Conversation>> {
    let row = common::conversation(c, service, sid).await?;
    let mut conv = row.conversation;
    patch.apply(&mut conv);
    sqlx::query(
        "UPDATE conversations SET unique_name = $2, friendly_name = $3, attributes = $4, state = $5, \
         messaging_service_sid = $6, timers = $7, bindings = $8, date_created = $9, date_updated = $10 WHERE id = $1",
    )
    .bind(row.id)
    .bind(&conv.unique_name)
    .bind(&conv.friendly_name)
    .bind(&conv.attributes)
    .bind(conv.state.as_str())
    .bind(&conv.messaging_service_sid)
    .bind(timers_text(&conv.timers))
    .bind(json_text(&conv.bindings))
    .bind(conv.date_created)
    .bind(conv.date_updated)
    .execute(&mut *c)
    .await
    .map_err(|e| unique_violation(e, NAME_TAKEN))?;
    let event = log_next(
        c,
        row.id,
        &conv.sid,
        None,
        &EventBody::ConversationUpdated(conv.clone()),
    )
    .await?;
    Ok(Committed::one(conv, event))
}

pub(crate) async fn delete(
    c: &mut PgConnection,
    service: &str,
    sid: &str,
    now: i64,
) -> StoreResult<Committed<Conversation>> {
    let row = common::conversation(c, service, sid).await?;
    let conv = row.conversation;
    let service_id = service_id(c, service).await?;
    let members = sqlx::query(&format!(
        "SELECT {} FROM participants WHERE conversation_id = $1 AND identity IS NOT NULL ORDER BY id",
        rows::PARTICIPANT_COLS
    ))
    .bind(row.id)
    .fetch_all(&mut *c)
    .await
    .map_err(backend)?
    .iter()
    .map(|r| rows::participant_at(r, 0, &conv.sid))
    .collect::<sqlx::Result<Vec<_>>>()
    .map_err(backend)?;
    let mut events = Vec::with_capacity(members.len());
    for (_, p) in &members {
        let Some(identity) = &p.identity else {
            continue;
        };
        // The user exists (the participant created it), so no new SID is needed.
        let body = EventBody::ConversationRemoved(membership(p, row.last_seq, None));
        events.push(
            append_user_event(
                c,
                service_id,
                &conv.chat_service_sid,
                identity,
                &p.sid,
                &body,
                now,
            )
            .await?,
        );
    }
    crate::media::condemn_of("conversation_sid", c, conv.sid.as_str()).await?;
    sqlx::query("DELETE FROM conversations WHERE id = $1")
        .bind(row.id)
        .execute(&mut *c)
        .await
        .map_err(backend)?;
    Ok(Committed {
        value: conv,
        events,
    })
}

pub(crate) async fn list(
    c: &mut PgConnection,
    service: &str,
    filter: &ConversationFilter,
    page: &PageRequest,
) -> StoreResult<Page<Conversation>> {
    let mut sql = format!(
        "SELECT {CONVERSATION_COLS} FROM conversations c JOIN services s ON s.id = c.service_id WHERE s.sid = $1"
    );
    let mut n = 1;
    let mut clause = |sql: &mut String, cond: &str| {
        n += 1;
        sql.push_str(&format!(" AND {cond} ${n}"));
    };
    if filter.start.is_some() {
        clause(&mut sql, "c.date_created >=");
    }
    if filter.end.is_some() {
        clause(&mut sql, "c.date_created <");
    }
    if filter.state.is_some() {
        clause(&mut sql, "c.state =");
    }
    sql.push_str(&keyset(page, "c.id"));
    let mut q = sqlx::query(&sql).bind(service);
    if let Some(v) = filter.start {
        q = q.bind(v);
    }
    if let Some(v) = filter.end {
        q = q.bind(v);
    }
    if let Some(v) = filter.state {
        q = q.bind(v.as_str());
    }
    let rows = q
        .fetch_all(&mut *c)
        .await
        .map_err(backend)?
        .iter()
        .map(|r| rows::conversation(r).map(|c| (c.id, c.conversation)))
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(backend)?;
    Ok(Page::from_rows(page, rows))
}
