//! `…/Conversations/{ConversationSid}/Messages`.

use axum::Json;
use axum::http::StatusCode;
use confab_domain::{CreateMessage, UpdateMessage};
use serde_json::Value;

use super::call::{Call, Listing};
use super::error::{ApiError, ApiResult};
use super::params::{Form, Params};

/// Parameters of the reference API that need parts this server does not have (content
/// templates, email); refused rather than silently dropped.
fn refuse_unsupported(p: &Params) -> ApiResult<()> {
    for name in ["ContentSid", "ContentVariables", "Subject"] {
        if p.str(name).is_some() {
            return Err(ApiError::invalid(format!(
                "{name} is not supported by this server"
            )));
        }
    }
    Ok(())
}

/// `POST …/Messages`
pub async fn create(call: Call, Form(p): Form) -> ApiResult<(StatusCode, Json<Value>)> {
    refuse_unsupported(&p)?;
    let input = CreateMessage {
        author: p.string("Author"),
        body: p.string("Body"),
        attributes: p.string("Attributes"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
        op_id: None,
        media: p.all("MediaSid").into_iter().map(str::to_owned).collect(),
    };
    let created = call
        .domain()
        .add_message(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            input,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(call.urls.message(&created.value))))
}

/// `GET …/Messages/{Sid}`
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let m = call
        .domain()
        .message(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            call.get("Sid")?,
        )
        .await?;
    Ok(Json(call.urls.message(&m)))
}

/// `POST …/Messages/{Sid}`
pub async fn update(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    refuse_unsupported(&p)?;
    if p.str("MediaSid").is_some() {
        // Media is immutable: a message keeps what it was sent with.
        return Err(ApiError::invalid("a message's media cannot be changed"));
    }
    let input = UpdateMessage {
        author: p.string("Author"),
        body: p.string("Body"),
        attributes: p.string("Attributes"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
    };
    let (conv, sid) = (call.get("ConversationSid")?, call.get("Sid")?);
    let updated = call
        .domain()
        .update_message(&call.actor, call.service(), conv, sid, input)
        .await?;
    Ok(Json(call.urls.message(&updated.value)))
}

/// `DELETE …/Messages/{Sid}`
pub async fn delete(call: Call) -> ApiResult<StatusCode> {
    call.domain()
        .remove_message(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            call.get("Sid")?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Messages`, `Order=asc|desc`.
pub async fn list_all(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&["Order"])?;
    let page = call
        .domain()
        .list_messages(
            &call.actor,
            call.service(),
            call.get("ConversationSid")?,
            lq.page,
        )
        .await?;
    Ok(listing.answer(
        &call.origin,
        "messages",
        &lq,
        call.app.page_size(&lq),
        &page,
        |m| call.urls.message(m),
    ))
}
