//! `…/Users`, `…/Users/{UserSid}/Conversations` and `…/ParticipantConversations`.

use axum::Json;
use axum::http::StatusCode;
use confab_domain::{CreateUser, UpdateUser, UpdateUserConversation};
use serde_json::Value;

use super::call::{Call, Listing};
use super::error::ApiResult;
use super::params::Form;

/// `POST …/Users`
pub async fn create(call: Call, Form(p): Form) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = CreateUser {
        identity: p.string("Identity"),
        friendly_name: p.string("FriendlyName"),
        attributes: p.string("Attributes"),
        role_sid: p.string("RoleSid"),
    };
    let u = call
        .domain()
        .create_user(&call.actor, call.service(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(call.urls.user(&u))))
}

/// `GET …/Users/{Sid}` (SID or identity)
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let u = call
        .domain()
        .user(&call.actor, call.service(), call.get("Sid")?)
        .await?;
    Ok(Json(call.urls.user(&u)))
}

/// `POST …/Users/{Sid}`
pub async fn update(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    let input = UpdateUser {
        friendly_name: p.string("FriendlyName"),
        attributes: p.string("Attributes"),
        role_sid: p.string("RoleSid"),
    };
    let u = call
        .domain()
        .update_user(&call.actor, call.service(), call.get("Sid")?, input)
        .await?;
    Ok(Json(call.urls.user(&u)))
}

/// `DELETE …/Users/{Sid}`
pub async fn delete(call: Call) -> ApiResult<StatusCode> {
    call.domain()
        .delete_user(&call.actor, call.service(), call.get("Sid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Users`
pub async fn list_all(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&[])?;
    let page = call
        .domain()
        .list_users(&call.actor, call.service(), lq.page)
        .await?;
    let size = call.app.user_page_size(&lq);
    Ok(
        listing.answer(&call.origin, "users", &lq, size, &page, |u| {
            call.urls.user(u)
        }),
    )
}

/// `GET …/Users/{UserSid}/Conversations`
pub async fn list_conversations(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&[])?;
    let page = call
        .domain()
        .user_conversations(&call.actor, call.service(), call.get("UserSid")?, lq.page)
        .await?;
    let size = call.app.user_page_size(&lq);
    Ok(
        listing.answer(&call.origin, "conversations", &lq, size, &page, |uc| {
            call.urls.user_conversation(uc)
        }),
    )
}

/// `GET …/Users/{UserSid}/Conversations/{ConversationSid}`
pub async fn fetch_conversation(call: Call) -> ApiResult<Json<Value>> {
    let (user, conv) = (call.get("UserSid")?, call.get("ConversationSid")?);
    let uc = call
        .domain()
        .user_conversation(&call.actor, call.service(), user, conv)
        .await?;
    Ok(Json(call.urls.user_conversation(&uc)))
}

/// `POST …/Users/{UserSid}/Conversations/{ConversationSid}`
pub async fn update_conversation(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    let input = UpdateUserConversation {
        notification_level: p.string("NotificationLevel"),
        last_read_timestamp: p.string("LastReadTimestamp"),
        last_read_message_index: p.i64("LastReadMessageIndex")?,
    };
    let (user, conv) = (call.get("UserSid")?, call.get("ConversationSid")?);
    let uc = call
        .domain()
        .update_user_conversation(&call.actor, call.service(), user, conv, input)
        .await?;
    Ok(Json(call.urls.user_conversation(&uc)))
}

/// `DELETE …/Users/{UserSid}/Conversations/{ConversationSid}`
pub async fn delete_conversation(call: Call) -> ApiResult<StatusCode> {
    let (user, conv) = (call.get("UserSid")?, call.get("ConversationSid")?);
    call.domain()
        .delete_user_conversation(&call.actor, call.service(), user, conv)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/ParticipantConversations?Identity=…` or `?Address=…`
pub async fn participant_conversations(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&["Identity", "Address"])?;
    let page = call
        .domain()
        .participant_conversations(
            &call.actor,
            call.service(),
            listing.query.string("Identity"),
            listing.query.string("Address"),
            lq.page,
        )
        .await?;
    let size = call.app.user_page_size(&lq);
    Ok(
        listing.answer(&call.origin, "conversations", &lq, size, &page, |pc| {
            call.urls.participant_conversation(pc)
        }),
    )
}
