//! `/v1/Services` and `/v1/Services/{ChatServiceSid}/Configuration`.

use axum::Json;
use axum::http::StatusCode;
use confab_domain::UpdateServiceConfiguration;
use serde_json::Value;

use super::call::{Call, Listing};
use super::error::{ApiError, ApiResult};
use super::params::{Form, Params};

/// `POST /v1/Services`
pub async fn create(call: Call, Form(p): Form) -> ApiResult<(StatusCode, Json<Value>)> {
    let s = call
        .domain()
        .create_service(&call.actor, p.string("FriendlyName"))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(call.urls.service(&call.origin, &s)),
    ))
}

/// `GET /v1/Services/{ChatServiceSid}`
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let s = call
        .domain()
        .service(&call.actor, call.get("ChatServiceSid")?)
        .await?;
    Ok(Json(call.urls.service(&call.origin, &s)))
}

/// `DELETE /v1/Services/{ChatServiceSid}`
pub async fn delete(call: Call) -> ApiResult<StatusCode> {
    call.domain()
        .delete_service(&call.actor, call.get("ChatServiceSid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/Services`
pub async fn list_all(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&[])?;
    let page = call.domain().list_services(&call.actor, lq.page).await?;
    let size = call.app.page_size(&lq);
    Ok(
        listing.answer(&call.origin, "services", &lq, size, &page, |s| {
            call.urls.service(&call.origin, s)
        }),
    )
}

/// `GET /v1/Services/{ChatServiceSid}/Configuration`
pub async fn fetch_configuration(call: Call) -> ApiResult<Json<Value>> {
    let c = call
        .domain()
        .service_configuration(&call.actor, call.service())
        .await?;
    Ok(Json(call.urls.service_configuration(&c)))
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
pub async fn update_configuration(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    let input = UpdateServiceConfiguration {
        default_conversation_creator_role_sid: p.string("DefaultConversationCreatorRoleSid"),
        default_conversation_role_sid: p.string("DefaultConversationRoleSid"),
        default_chat_service_role_sid: p.string("DefaultChatServiceRoleSid"),
        reachability_enabled: bool_param(&p, "ReachabilityEnabled")?,
    };
    let c = call
        .domain()
        .update_service_configuration(&call.actor, call.service(), input)
        .await?;
    Ok(Json(call.urls.service_configuration(&c)))
}
