//! `…/Roles`.

use axum::Json;
use axum::http::StatusCode;
use confab_domain::CreateRole;
use serde_json::Value;

use super::call::{Call, Listing};
use super::error::ApiResult;
use super::params::Form;

/// `POST …/Roles` (`Permission` repeated)
pub async fn create(call: Call, Form(p): Form) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = CreateRole {
        friendly_name: p.string("FriendlyName"),
        role_type: p.string("Type"),
        permissions: p.all("Permission").into_iter().map(str::to_owned).collect(),
    };
    let r = call
        .domain()
        .create_role(&call.actor, call.service(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(call.urls.role(&r))))
}

/// `GET …/Roles/{Sid}`
pub async fn fetch(call: Call) -> ApiResult<Json<Value>> {
    let r = call
        .domain()
        .role(&call.actor, call.service(), call.get("Sid")?)
        .await?;
    Ok(Json(call.urls.role(&r)))
}

/// `POST …/Roles/{Sid}`: the permissions given replace the role's.
pub async fn update(call: Call, Form(p): Form) -> ApiResult<Json<Value>> {
    let permissions = p.all("Permission").into_iter().map(str::to_owned).collect();
    let r = call
        .domain()
        .update_role(&call.actor, call.service(), call.get("Sid")?, permissions)
        .await?;
    Ok(Json(call.urls.role(&r)))
}

/// `DELETE …/Roles/{Sid}`
pub async fn delete(call: Call) -> ApiResult<StatusCode> {
    call.domain()
        .delete_role(&call.actor, call.service(), call.get("Sid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Roles`
pub async fn list_all(call: Call, listing: Listing) -> ApiResult<Json<Value>> {
    let lq = listing.read(&[])?;
    let page = call
        .domain()
        .list_roles(&call.actor, call.service(), lq.page)
        .await?;
    let size = call.app.user_page_size(&lq);
    Ok(
        listing.answer(&call.origin, "roles", &lq, size, &page, |r| {
            call.urls.role(r)
        }),
    )
}
