//! REST errors: `{code, message, more_info, status}` with the matching HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use confab_domain::DomainError;
use confab_protocol::ErrorCode;

/// An error answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The code, which also decides the HTTP status.
    pub code: ErrorCode,
    /// What to fix.
    pub message: String,
}

impl ApiError {
    /// Any code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
    /// 20001.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        ApiError {
            code: e.code,
            message: e.message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({
            "code": self.code.code(),
            "message": self.message,
            "more_info": format!("https://github.com/confab/confab/blob/main/docs/PROTOCOL.md#error-{}", self.code.code()),
            "status": status.as_u16(),
        });
        let mut res = (status, axum::Json(body)).into_response();
        if self.code == ErrorCode::AuthenticationFailed {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Confab\""),
            );
        }
        res
    }
}

/// Result of a REST handler.
pub type ApiResult<T> = Result<T, ApiError>;
