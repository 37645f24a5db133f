use confab_protocol::ErrorCode;
use confab_store::StoreError;

/// A refused or failed operation: a numeric code and a message fit to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DomainError {
    /// The numeric code (and through it the HTTP status).
    pub code: ErrorCode,
    /// What went wrong, for the caller. Internal details never go here.
    pub message: String,
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// Any code with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError {
            code,
            message: message.into(),
        }
    }
    /// 20001.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }
    /// 20404, "X not found".
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    /// 20403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => DomainError::not_found(what),
            StoreError::Conflict(m) => DomainError::new(ErrorCode::Conflict, m),
            e @ StoreError::NotParticipant(_) => DomainError::forbidden(e.to_string()),
            StoreError::Unattachable(m) => DomainError::new(ErrorCode::InvalidParameter, m),
            e @ StoreError::TooManyParticipants(_) => {
                DomainError::new(ErrorCode::TooManyParticipants, e.to_string())
            }
            e @ StoreError::TooManyConversations(_) => {
                DomainError::new(ErrorCode::TooManyConversations, e.to_string())
            }
            StoreError::Backend(detail) => {
                // Logged here, once; the caller learns only that it failed.
                tracing::error!(%detail, "store failure");
                DomainError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}
