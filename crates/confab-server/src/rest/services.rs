//! `/v1/Services` and `/v1/Services/{ChatServiceSid}/Configuration`.

use axum::Json;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::StatusCode;
use confab_domain::{Actor, UpdateServiceConfiguration};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::params::{Form, Params, PathParams, Query};
use super::render::{ListQuery, Origin, list};

/// `POST /v1/Services`
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let s = app
        .domain
        .create_service(&actor, p.string("FriendlyName"))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(app.urls(&origin, &path).service(&origin, &s)),
    ))
}

/// `GET /v1/Services/{ChatServiceSid}`
pub async fn fetch(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let s = app
        .domain
        .service(&actor, path.get("ChatServiceSid")?)
        .await?;
    Ok(Json(app.urls(&origin, &path).service(&origin, &s)))
}

/// `DELETE /v1/Services/{ChatServiceSid}`
pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    app.domain
        .delete_service(&actor, path.get("ChatServiceSid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/Services`
pub async fn list_all(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    OriginalUri(uri): OriginalUri,
    Query(q): Query,
) -> ApiResult<Json<Value>> {
    let lq = ListQuery::read(&q, &[])?;
    let page = app.domain.list_services(&actor, lq.page).await?;
    let urls = app.urls(&origin, &path);
    let size = app.page_size(&lq);
    Ok(Json(list(
        &origin,
        uri.path(),
        "services",
        &lq,
        size,
        &page,
        |s| urls.service(&origin, s),
    )))
}

/// `GET /v1/Services/{ChatServiceSid}/Configuration`
pub async fn fetch_configuration(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let c = app
        .domain
        .service_configuration(&actor, path.service())
        .await?;
    Ok(Json(app.urls(&origin, &path).service_configuration(&c)))
}

fn bool_param(p: &Params, name: &str) -> ApiResult<Option<bool>> {
    match p.str(name) {
        None => Ok(None),
        Some("true" | "True") => Ok(Some(true)),
        Some("false" | "False") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(format!("{name} must be true or false"))),
    }
}

/// `POST /v1/Services/{ChatServiceSid}/Configuration`
pub async fn update_configuration(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    let input = UpdateServiceConfiguration {
        default_conversation_creator_role_sid: p.string("DefaultConversationCreatorRoleSid"),
        default_conversation_role_sid: p.string("DefaultConversationRoleSid"),
        default_chat_service_role_sid: p.string("DefaultChatServiceRoleSid"),
        reachability_enabled: bool_param(&p, "ReachabilityEnabled")?,
    };
    let c = app
        .domain
        .update_service_configuration(&actor, path.service(), input)
        .await?;
    Ok(Json(app.urls(&origin, &path).service_configuration(&c)))
}
