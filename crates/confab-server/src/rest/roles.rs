//! `…/Roles`.

use axum::Json;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::StatusCode;
use confab_domain::{Actor, CreateRole};
use serde_json::Value;

use super::AppState;
use super::error::ApiResult;
use super::params::{Form, PathParams, Query};
use super::render::{ListQuery, Origin, list};

/// `POST …/Roles` (`Permission` repeated)
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let input = CreateRole {
        friendly_name: p.string("FriendlyName"),
        role_type: p.string("Type"),
        permissions: p.all("Permission").into_iter().map(str::to_owned).collect(),
    };
    let r = app
        .domain
        .create_role(&actor, path.service(), input)
        .await?;
    Ok((StatusCode::CREATED, Json(app.urls(&origin, &path).role(&r))))
}

/// `GET …/Roles/{Sid}`
pub async fn fetch(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
) -> ApiResult<Json<Value>> {
    let r = app
        .domain
        .role(&actor, path.service(), path.get("Sid")?)
        .await?;
    Ok(Json(app.urls(&origin, &path).role(&r)))
}

/// `POST …/Roles/{Sid}`: the permissions given replace the role's.
pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    origin: Origin,
    path: PathParams,
    Form(p): Form,
) -> ApiResult<Json<Value>> {
    let permissions = p.all("Permission").into_iter().map(str::to_owned).collect();
    let r = app
        .domain
        .update_role(&actor, path.service(), path.get("Sid")?, permissions)
        .await?;
    Ok(Json(app.urls(&origin, &path).role(&r)))
}

/// `DELETE …/Roles/{Sid}`
pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    path: PathParams,
) -> ApiResult<StatusCode> {
    app.domain
        .delete_role(&actor, path.service(), path.get("Sid")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/Roles`
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
        .list_roles(&actor, path.service(), lq.page)
        .await?;
    let urls = app.urls(&origin, &path);
    let size = app.user_page_size(&lq);
    Ok(Json(list(
        &origin,
        uri.path(),
        "roles",
        &lq,
        size,
        &page,
        |r| urls.role(r),
    )))
}
