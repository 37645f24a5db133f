//! `/v1/Configuration`: the account's default service and timers.

use axum::Json;
use confab_store::ConfigurationUpdate;
use serde_json::Value;

use super::call::Call;
use super::error::ApiResult;
use super::params::Form;

/// `GET /v1/Configuration`
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let c = call.domain().configuration(&call.actor).await?;
    Ok(Json(call.urls.configuration(&call.origin, &c)))
}

/// `POST /v1/Configuration`
pub async fn update(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    let update = ConfigurationUpdate {
        default_chat_service_sid: p.string("DefaultChatServiceSid"),
        default_messaging_service_sid: p.string("DefaultMessagingServiceSid"),
        default_inactive_timer: p.string("DefaultInactiveTimer"),
        default_closed_timer: p.string("DefaultClosedTimer"),
    };
    let c = call
        .domain()
        .update_configuration(&call.actor, update)
        .await?;
    Ok(Json(call.urls.configuration(&call.origin, &c)))
}
