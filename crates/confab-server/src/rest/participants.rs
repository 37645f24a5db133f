//! `…/Conversations/{ConversationSid}/Participants`.

use axum::Json;
use axum::extract::OriginalUri;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use confab_domain::{Actor, CreateParticipant, UpdateParticipant};
use serde_json::Value;

use super::AppState;
use super::error::ApiResult;
use super::params::{Form, PathParams, Query};
use super::render::{ListQuery, Origin, list};

/// `POST …/Participants`
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = CreateParticipant {
        identity: p.string("Identity"),
        address: p.string("MessagingBinding.Address"),
        proxy_address: p.string("MessagingBinding.ProxyAddress"),
        projected_address: p.string("MessagingBinding.ProjectedAddress"),
        attributes: p.string("Attributes"),
        role_sid: p.string("RoleSid"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
    };
    let conv = path.get("ConversationSid")?;
    let created = app
        .domain
        .add_participant(&actor, path.service(), conv, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(app.urls(&origin, &path).participant(&created.value)),
    ))
}

/// `GET …/Participants/{Sid}` (SID or identity)
pub async fn fetch(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let p = app
        .domain
        .participant(
            &actor,
            path.service(),
            path.get("ConversationSid")?,
            path.get("Sid")?,
        )
        .await?;
    Ok(Json(app.urls(&origin, &path).participant(&p)))
}

/// `POST …/Participants/{Sid}`
pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    let input = UpdateParticipant {
        attributes: p.string("Attributes"),
        role_sid: p.string("RoleSid"),
        identity: p.string("Identity"),
        proxy_address: p.string("MessagingBinding.ProxyAddress"),
        projected_address: p.string("MessagingBinding.ProjectedAddress"),
        last_read_message_index: p.i64("LastReadMessageIndex")?,
        last_read_timestamp: p.string("LastReadTimestamp"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
    };
    let (conv, sid) = (path.get("ConversationSid")?, path.get("Sid")?);
    let updated = app
        .domain
        .update_participant(&actor, path.service(), conv, sid, input)
        .await?;
    Ok(Json(app.urls(&origin, &path).participant(&updated.value)))
}

/// `DELETE …/Participants/{Sid}`
pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    app.domain
        .remove_participant(
            &actor,
            path.service(),
            path.get("ConversationSid")?,
            path.get("Sid")?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Participants`
pub async fn list_all(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    OriginalUri(uri): OriginalUri,
    Query(q): Query,
) -> ApiResult<Json<Value>> {
    let lq = ListQuery::read(&q, &[])?;
    let page = app
        .domain
        .list_participants(
            &actor,
            path.service(),
            path.get("ConversationSid")?,
            lq.page,
        )
        .await?;
    let urls = app.urls(&origin, &path);
    Ok(Json(list(
        &origin,
        uri.path(),
        "participants",
        &lq,
        app.page_size(&lq),
        &page,
        |p| urls.participant(p),
    )))
}
