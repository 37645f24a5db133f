//! `…/Conversations/{ConversationSid}/Messages`.

use axum::Json;
use axum::extract::OriginalUri;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use confab_domain::{Actor, CreateMessage, UpdateMessage};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::params::{Form, Params, PathParams, Query};
use super::render::{ListQuery, Origin, list};

/// Parameters of the reference API that need parts this server does not have (media storage,
/// content templates, email); refused rather than silently dropped.
fn refuse_unsupported(p: &Params) -> ApiResult<()> {
    for name in ["MediaSid", "ContentSid", "ContentVariables", "Subject"] {
        if p.str(name).is_some() {
            return Err(ApiError::invalid(format!(
                "{name} is not supported by this server"
            )));
        }
    }
    Ok(())
}

/// `POST …/Messages`
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<(StatusCode, Json<Value>)> {
    refuse_unsupported(&p)?;
    let input = CreateMessage {
        author: p.string("Author"),
        body: p.string("Body"),
        attributes: p.string("Attributes"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
        op_id: None,
    };
    let created = app
        .domain
        .add_message(&actor, path.service(), path.get("ConversationSid")?, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(app.urls(&origin, &path).message(&created.value)),
    ))
}

/// `GET …/Messages/{Sid}`
pub async fn fetch(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let m = app
        .domain
        .message(
            &actor,
            path.service(),
            path.get("ConversationSid")?,
            path.get("Sid")?,
        )
        .await?;
    Ok(Json(app.urls(&origin, &path).message(&m)))
}

/// `POST …/Messages/{Sid}`
pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    refuse_unsupported(&p)?;
    let input = UpdateMessage {
        author: p.string("Author"),
        body: p.string("Body"),
        attributes: p.string("Attributes"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
    };
    let (conv, sid) = (path.get("ConversationSid")?, path.get("Sid")?);
    let updated = app
        .domain
        .update_message(&actor, path.service(), conv, sid, input)
        .await?;
    Ok(Json(app.urls(&origin, &path).message(&updated.value)))
}

/// `DELETE …/Messages/{Sid}`
pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    app.domain
        .remove_message(
            &actor,
            path.service(),
            path.get("ConversationSid")?,
            path.get("Sid")?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Messages`, `Order=asc|desc`.
pub async fn list_all(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    OriginalUri(uri): OriginalUri,
    Query(q): Query,
) -> ApiResult<Json<Value>> {
    let lq = ListQuery::read(&q, &["Order"])?;
    let page = app
        .domain
        .list_messages(
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
        "messages",
        &lq,
        app.page_size(&lq),
        &page,
        |m| urls.message(m),
    )))
}
