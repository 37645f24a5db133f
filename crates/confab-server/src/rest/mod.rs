//! The REST API: the reference product's v1 paths, form-encoded requests, JSON answers. Each
//! handler translates a request into one [`confab_domain::Domain`] call and renders its result;
//! none of them decides anything.
//!
//! Every conversation path exists twice: under `/v1` (the default service) and under
//! `/v1/Services/{ChatServiceSid}`.

pub(crate) mod auth;
mod call;
mod configuration;
mod conversations;
pub mod error;
mod messages;
pub mod params;
mod participants;
pub mod rate_limit;
pub mod render;
mod roles;
mod services;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use confab_domain::Domain;
use confab_protocol::ErrorCode;

use self::error::ApiError;
use self::render::{ListQuery, Origin, Urls};
use crate::credentials::Credentials;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The domain service.
    pub domain: Domain,
    /// The account's credentials.
    pub credentials: Arc<Credentials>,
    /// Per-credential request limits.
    pub rate_limiter: Arc<rate_limit::RateLimiter>,
    /// How long a request body may take to arrive once its head has
    /// (`ServerConfig::request_head_timeout`).
    pub body_deadline: std::time::Duration,
}

impl AppState {
    fn urls(&self, origin: &Origin, path: &params::PathParams) -> Urls {
        Urls::new(origin, path.service(), &self.credentials.account_sid)
    }

    fn page_size(&self, q: &ListQuery) -> u32 {
        self.domain
            .page_size(q.page.size, self.domain.limits().max_page_size)
    }

    fn user_page_size(&self, q: &ListQuery) -> u32 {
        self.domain
            .page_size(q.page.size, self.domain.limits().max_user_page_size)
    }
}

/// Largest request body: a 32 KiB message body can grow several-fold when form-encoded.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Paths that exist in both families: under `/v1` (the default service) and under
/// `/v1/Services/{ChatServiceSid}`.
fn service_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/Conversations",
            get(conversations::list_all).post(conversations::create),
        )
        .route(
            "/Conversations/{Sid}",
            get(conversations::fetch)
                .post(conversations::update)
                .delete(conversations::delete),
        )
        .route(
            "/Conversations/{ConversationSid}/Participants",
            get(participants::list_all).post(participants::create),
        )
        .route(
            "/Conversations/{ConversationSid}/Participants/{Sid}",
            get(participants::fetch)
                .post(participants::update)
                .delete(participants::delete),
        )
        .route(
            "/Conversations/{ConversationSid}/Messages",
            get(messages::list_all).post(messages::create),
        )
        .route(
            "/Conversations/{ConversationSid}/Messages/{Sid}",
            get(messages::fetch)
                .post(messages::update)
                .delete(messages::delete),
        )
        .route(
            "/ConversationWithParticipants",
            post(conversations::create_with_participants),
        )
        .route("/Users", get(users::list_all).post(users::create))
        .route(
            "/Users/{Sid}",
            get(users::fetch).post(users::update).delete(users::delete),
        )
        .route(
            "/Users/{UserSid}/Conversations",
            get(users::list_conversations),
        )
        .route(
            "/Users/{UserSid}/Conversations/{ConversationSid}",
            get(users::fetch_conversation)
                .post(users::update_conversation)
                .delete(users::delete_conversation),
        )
        .route("/Roles", get(roles::list_all).post(roles::create))
        .route(
            "/Roles/{Sid}",
            get(roles::fetch).post(roles::update).delete(roles::delete),
        )
        .route(
            "/ParticipantConversations",
            get(users::participant_conversations),
        )
}

/// The REST routes, behind basic auth and the per-credential rate limit.
pub fn router(state: AppState) -> Router {
    let scoped = service_routes()
        .route("/", get(services::fetch).delete(services::delete))
        .route(
            "/Configuration",
            get(services::fetch_configuration).post(services::update_configuration),
        );
    Router::new()
        .route(
            "/v1/Configuration",
            get(configuration::fetch).post(configuration::update),
        )
        .route(
            "/v1/Services",
            get(services::list_all).post(services::create),
        )
        .nest("/v1", service_routes())
        .nest("/v1/Services/{ChatServiceSid}", scoped)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn(check_webhook_header))
        .layer(middleware::from_fn_with_state(
            state.rate_limiter.clone(),
            rate_limit::limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.credentials.clone(),
            auth::require_basic_auth,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::Extension(params::BodyDeadline(state.body_deadline)))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "The requested resource was not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "This method is not allowed on this resource",
    )
}

/// `X-Twilio-Webhook-Enabled` is accepted on writes (there are no webhooks to skip yet), but a
/// value other than `true` or `false` is refused like any bad parameter.
async fn check_webhook_header(req: Request, next: Next) -> Response {
    if req.method() != Method::GET
        && let Some(v) = req.headers().get("x-twilio-webhook-enabled")
        && !matches!(v.to_str(), Ok("true" | "false"))
    {
        return ApiError::invalid("X-Twilio-Webhook-Enabled must be true or false").into_response();
    }
    next.run(req).await
}
