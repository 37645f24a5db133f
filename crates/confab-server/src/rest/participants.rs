//! `…/Conversations/{ConversationSid}/Participants`.

use axum::Json;
use axum::http::StatusCode;
use confab_domain::{CreateParticipant, UpdateParticipant};
use serde_json::Value;

use super::call::{Call, Listing};
use super::error::ApiResult;
use super::params::Form;

/// `POST …/Participants`
pub async fn create(call: Call, Form(p): Form) -> ApiResult<(StatusCode, Json<Value>)> {
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
    let conv = call.get("ConversationSid")?;
    let created = call
        .domain()
        .add_participant(&call.actor, call.service(), conv, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(call.urls.participant(&created.value)),
    ))
}

/// `GET …/Participants/{Sid}` (SID or identity)
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let p = call
        .domain()
        .participant(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            call.get("Sid")?,
        )
        .await?;
    Ok(Json(call.urls.participant(&p)))
}

/// `POST …/Participants/{Sid}`
pub async fn update(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
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
    let (conv, sid) = (call.get("ConversationSid")?, call.get("Sid")?);
    let updated = call
        .domain()
        .update_participant(&call.actor, call.service(), conv, sid, input)
        .await?;
    Ok(Json(call.urls.participant(&updated.value)))
}

/// `DELETE …/Participants/{Sid}`
pub async fn delete(call: Call) -> ApiResult<StatusCode> {
    call.domain()
        .remove_participant(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            call.get("Sid")?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Participants`
pub async fn list_all(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&[])?;
    let page = call
        .domain()
        .list_participants(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            lq.page,
        )
        .await?;
    Ok(listing.answer(
        &call.origin,
        "participants",
        &lq,
        call.app.page_size(&lq),
        &page,
        |p| call.urls.participant(p),
    ))
}
