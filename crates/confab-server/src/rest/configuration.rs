//! `/v1/Configuration`: the account's default service and timers.

use axum::Json;
use axum::extract::{Extension, State};
use confab_domain::Actor;
use confab_store::ConfigurationUpdate;
use serde_json::Value;

use super::AppState;
use super::error::ApiResult;
use super::params::Form;
use super::render::{Origin, Urls};

/// `GET /v1/Configuration`
pub async fn fetch(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
) -> ApiResult<Json<Value>> {
    let c = app.domain.configuration(&actor).await?;
    Ok(Json(
        Urls::new(&origin, None, &app.credentials.account_sid).configuration(&origin, &c),
    ))
}

/// `POST /v1/Configuration`
pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    let update = ConfigurationUpdate {
        default_chat_service_sid: p.string("DefaultChatServiceSid"),
        default_messaging_service_sid: p.string("DefaultMessagingServiceSid"),
        default_inactive_timer: p.string("DefaultInactiveTimer"),
        default_closed_timer: p.string("DefaultClosedTimer"),
    };
    let c = app.domain.update_configuration(&actor, update).await?;
    Ok(Json(
        Urls::new(&origin, None, &app.credentials.account_sid).configuration(&origin, &c),
    ))
}
