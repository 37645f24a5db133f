//! What every REST handler starts from, extracted once: the caller, its service and path
//! segments, and the URLs its answer carries ([`Call`]); for a list, its query and the path
//! its page links repeat ([`Listing`]). A handler then reads its form, makes one domain call
//! and renders the result.

use axum::Json;
use axum::extract::{Extension, FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use confab_domain::{Actor, Domain};
use confab_protocol::ErrorCode;
use confab_store::Page;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::params::{Params, PathParams, Query};
use super::render::{ListQuery, Origin, Urls, list};

/// A request to a REST handler, past authentication.
pub struct Call {
    /// The server's shared state (the domain).
    pub app: AppState,
    /// Who is calling (the authentication layer put it there).
    pub actor: Actor,
    /// The path's segments.
    pub path: PathParams,
    /// The URLs of the resources in the answer.
    pub urls: Urls,
    /// `scheme://host` of the request.
    pub origin: Origin,
}

impl Call {
    /// The domain service.
    pub fn domain(&self) -> &Domain {
        &self.app.domain
    }

    /// The service of a service-scoped path; `None` on the unscoped family.
    pub fn service(&self) -> Option<&str> {
        self.path.service()
    }

    /// A path segment that the route always has.
    pub fn get(&self, name: &str) -> Result<&str, ApiError> {
        self.path.get(name)
    }
}

impl FromRequestParts<AppState> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Call, ApiError> {
        let Extension(actor) = Extension::<Actor>::from_request_parts(parts, app)
            .await
            // Every route is behind the authentication layer: a missing caller is a bug.
            .map_err(|_| ApiError::new(ErrorCode::Internal, "the request has no caller"))?;
        let origin = Origin::from_request_parts(parts, app).await?;
        let path = PathParams::from_request_parts(parts, app).await?;
        let urls = app.urls(&origin, &path);
        Ok(Call {
            app: app.clone(),
            actor,
            path,
            urls,
            origin,
        })
    }
}

/// A list request: its query and the path its page links repeat.
pub struct Listing {
    /// The query string's parameters (`PageSize`, `Page`, `PageToken`, filters).
    pub query: Params,
    path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Listing {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Listing, ApiError> {
        let Ok(OriginalUri(uri)) = OriginalUri::from_request_parts(parts, state).await;
        let Query(query) = Query::from_request_parts(parts, state).await?;
        Ok(Listing {
            query,
            path: uri.path().to_owned(),
        })
    }
}

impl Listing {
    /// The paging parameters, with the named filters (see [`ListQuery::read`]).
    pub fn read(&self, filters: &[&str]) -> Result<ListQuery, ApiError> {
        ListQuery::read(&self.query, filters)
    }

    /// The answer: `page`'s items under `key`, each rendered by `item`, and the `meta` block
    /// with links to this path (`size` is the page size in force).
    pub fn answer<T>(
        &self,
        origin: &Origin,
        key: &str,
        q: &ListQuery,
        size: u32,
        page: &Page<T>,
        item: impl Fn(&T) -> Value,
    ) -> Json<Value> {
        Json(list(origin, &self.path, key, q, size, page, item))
    }
}
