//! `…/Users`, `…/Users/{UserSid}/Conversations` and `…/ParticipantConversations`.

use axum::Json;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::StatusCode;
use confab_domain::{Actor, CreateUser, UpdateUser, UpdateUserConversation};
use serde_json::Value;

use super::AppState;
use super::error::ApiResult;
use super::params::{Form, PathParams, Query};
use super::render::{ListQuery, Origin, list};

/// `POST …/Users`
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = CreateUser {
        identity: p.string("Identity"),
        friendly_name: p.string("FriendlyName"),
        attributes: p.string("Attributes"),
        role_sid: p.string("RoleSid"),
    };
    let u = app
        .domain
        .create_user(&actor, path.service(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(app.urls(&origin, &path).user(&u))))
}

/// `GET …/Users/{Sid}` (SID or identity)
pub async fn fetch(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let u = app
        .domain
        .user(&actor, path.service(), path.get("Sid")?)
        .await?;
    Ok(Json(app.urls(&origin, &path).user(&u)))
}

/// `POST …/Users/{Sid}`
pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    let input = UpdateUser {
        friendly_name: p.string("FriendlyName"),
        attributes: p.string("Attributes"),
        role_sid: p.string("RoleSid"),
    };
    let u = app
        .domain
        .update_user(&actor, path.service(), path.get("Sid")?, input)
        .await?;
    Ok(Json(app.urls(&origin, &path).user(&u)))
}

/// `DELETE …/Users/{Sid}`
pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    app.domain
        .delete_user(&actor, path.service(), path.get("Sid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Users`
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
        .list_users(&actor, path.service(), lq.page)
        .await?;
    let urls = app.urls(&origin, &path);
    let size = app.user_page_size(&lq);
    Ok(Json(list(
        &origin,
        uri.path(),
        "users",
        &lq,
        size,
        &page,
        |u| urls.user(u),
    )))
}

/// `GET …/Users/{UserSid}/Conversations`
pub async fn list_conversations(
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
        .user_conversations(&actor, path.service(), path.get("UserSid")?, lq.page)
        .await?;
    let urls = app.urls(&origin, &path);
    let size = app.user_page_size(&lq);
    Ok(Json(list(
        &origin,
        uri.path(),
        "conversations",
        &lq,
        size,
        &page,
        |uc| urls.user_conversation(uc),
    )))
}

/// `GET …/Users/{UserSid}/Conversations/{ConversationSid}`
pub async fn fetch_conversation(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let (user, conv) = (path.get("UserSid")?, path.get("ConversationSid")?);
    let uc = app
        .domain
        .user_conversation(&actor, path.service(), user, conv)
        .await?;
    Ok(Json(app.urls(&origin, &path).user_conversation(&uc)))
}

/// `POST …/Users/{UserSid}/Conversations/{ConversationSid}`
pub async fn update_conversation(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    let input = UpdateUserConversation {
        notification_level: p.string("NotificationLevel"),
        last_read_timestamp: p.string("LastReadTimestamp"),
        last_read_message_index: p.i64("LastReadMessageIndex")?,
    };
    let (user, conv) = (path.get("UserSid")?, path.get("ConversationSid")?);
    let uc = app
        .domain
        .update_user_conversation(&actor, path.service(), user, conv, input)
        .await?;
    Ok(Json(app.urls(&origin, &path).user_conversation(&uc)))
}

/// `DELETE …/Users/{UserSid}/Conversations/{ConversationSid}`
pub async fn delete_conversation(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    let (user, conv) = (path.get("UserSid")?, path.get("ConversationSid")?);
    app.domain
        .delete_user_conversation(&actor, path.service(), user, conv)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/ParticipantConversations?Identity=…` or `?Address=…`
pub async fn participant_conversations(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    OriginalUri(uri): OriginalUri,
    Query(q): Query,
) -> ApiResult<Json<Value>> {
    let lq = ListQuery::read(&q, &["Identity", "Address"])?;
    let page = app
        .domain
        .participant_conversations(
            &actor,
            path.service(),
            q.string("Identity"),
            q.string("Address"),
            lq.page,
        )
        .await?;
    let urls = app.urls(&origin, &path);
    let size = app.user_page_size(&lq);
    Ok(Json(list(
        &origin,
        uri.path(),
        "conversations",
        &lq,
        size,
        &page,
        |pc| urls.participant_conversation(pc),
    )))
}
