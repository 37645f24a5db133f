//! `/v1/Conversations` and `/v1/Services/{ChatServiceSid}/Conversations`.

use axum::Json;
use axum::http::StatusCode;
use confab_domain::{ConversationInput, CreateParticipant};
use confab_protocol::entity::ConversationState;
use confab_store::ConversationFilter;
use serde_json::Value;

use super::call::{Call, Listing};
use super::error::{ApiError, ApiResult};
use super::params::{Form, Params};

fn input(p: &Params) -> ApiResult<ConversationInput> {
    Ok(ConversationInput {
        friendly_name: p.string("FriendlyName"),
        unique_name: p.string("UniqueName"),
        attributes: p.string("Attributes"),
        state: p.string("State"),
        timers_inactive: p.string("Timers.Inactive"),
        timers_closed: p.string("Timers.Closed"),
        messaging_service_sid: p.string("MessagingServiceSid"),
        bindings_email_address: p.string("Bindings.Email.Address"),
        bindings_email_name: p.string("Bindings.Email.Name"),
        date_created: p.date("DateCreated")?,
        date_updated: p.date("DateUpdated")?,
    })
}

/// `POST …/Conversations`
pub async fn create(call: Call, Form(p): Form) -> ApiResult<(StatusCode, Json<Value>)> {
    let c = call
        .domain()
        .create_conversation(&call.actor, call.service(), input(&p)?)
        .await?;
    Ok((StatusCode::CREATED, Json(call.urls.conversation(&c.value))))
}

/// `GET …/Conversations/{Sid}` (SID or unique name)
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let c = call
        .domain()
        .conversation(&call.actor, call.service(), call.get("Sid")?)
        .await?;
    Ok(Json(call.urls.conversation(&c)))
}

/// `POST …/Conversations/{Sid}`
pub async fn update(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    let c = call
        .domain()
        .update_conversation(&call.actor, call.service(), call.get("Sid")?, input(&p)?)
        .await?;
    Ok(Json(call.urls.conversation(&c.value)))
}

/// `DELETE …/Conversations/{Sid}`
pub async fn delete(call: Call) -> ApiResult<StatusCode> {
    call.domain()
        .delete_conversation(&call.actor, call.service(), call.get("Sid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Conversations`, filtered by `StartDate`, `EndDate`, `State`.
pub async fn list_all(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&["StartDate", "EndDate", "State"])?;
    let state = listing
        .query
        .str("State")
        .map(|s| {
            ConversationState::parse(s)
                .ok_or_else(|| ApiError::invalid("State must be one of active, inactive, closed"))
        })
        .transpose()?;
    let filter = ConversationFilter {
        start: listing.query.date("StartDate")?,
        end: listing.query.date("EndDate")?,
        state,
    };
    let page = call
        .domain()
        .list_conversations(&call.actor, call.service(), filter, lq.page)
        .await?;
    Ok(listing.answer(
        &call.origin,
        "conversations",
        &lq,
        call.app.page_size(&lq),
        &page,
        |c| call.urls.conversation(c),
    ))
}

/// One `Participant` of a `ConversationWithParticipants` request: a JSON object with the
/// participant resource's parameters in snake_case.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InitialParticipant {
    identity: Option<String>,
    messaging_binding: Option<InitialBinding>,
    attributes: Option<Value>,
    role_sid: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InitialBinding {
    address: Option<String>,
    proxy_address: Option<String>,
    projected_address: Option<String>,
}

fn initial_participant(text: &str) -> ApiResult<CreateParticipant> {
    let p: InitialParticipant = serde_json::from_str(text).map_err(|e| {
        ApiError::invalid(format!(
            "Participant must be a JSON object of participant parameters: {e}"
        ))
    })?;
    let binding = p.messaging_binding.unwrap_or(InitialBinding {
        address: None,
        proxy_address: None,
        projected_address: None,
    });
    Ok(CreateParticipant {
        identity: p.identity,
        address: binding.address,
        proxy_address: binding.proxy_address,
        projected_address: binding.projected_address,
        // Attributes may come as JSON text (as the REST parameter) or as an object.
        attributes: p.attributes.map(|a| match a {
            Value::String(s) => s,
            other => other.to_string(),
        }),
        role_sid: p.role_sid,
        date_created: None,
        date_updated: None,
    })
}

/// `POST …/ConversationWithParticipants`: the conversation and up to 10 participants, all or
/// nothing.
pub async fn create_with_participants(
    call: Call,
    Form(p): Form,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let participants = p
        .all("Participant")
        .into_iter()
        .map(initial_participant)
        .collect::<ApiResult<Vec<_>>>()?;
    let created = call
        .domain()
        .create_conversation_with_participants(
            &call.actor,
            call.service(),
            input(&p)?,
            participants,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(call.urls.conversation_with_participants(&created.value.0)),
    ))
}
