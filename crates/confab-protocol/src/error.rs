//! The one table of numeric error codes, shared by the REST API, the realtime protocol and the
//! SDKs. Codes follow the reference product where it has one (DESIGN.md section 6); they are
//! stable: never renumber, only add. `docs/PROTOCOL.md` repeats this table.

use serde::{Deserialize, Serialize};

/// A numeric error code with its HTTP status and a short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub enum ErrorCode {
    /// 20001: a parameter is missing, malformed or over a limit.
    InvalidParameter,
    /// 20003: the credentials are missing or wrong.
    AuthenticationFailed,
    /// 20101: the access token is not a JWT (bad base64 or JSON).
    TokenMalformed,
    /// 20102: the token header is invalid (`alg` not HS256, wrong `typ`/`cty`).
    TokenBadAlgorithm,
    /// 20103: the token's issuer (API key) is unknown, or its subject is another account.
    TokenUnknownKey,
    /// 20104: the token is past `exp` (plus the allowed skew).
    TokenExpired,
    /// 20105: the token is before `nbf` (minus the allowed skew).
    TokenNotYetValid,
    /// 20106: the token lacks an identity or chat grant, names a service the account lacks, or
    /// carries another identity than the session's.
    TokenBadGrant,
    /// 20107: the token's signature does not verify.
    TokenBadSignature,
    /// 20157: the token's lifetime is over 24 hours.
    TokenLifetimeTooLong,
    /// 20010: a realtime frame broke the protocol (malformed, unknown op, out of place, too
    /// large); the session is closed with `protocol_error`.
    ProtocolError,
    /// 20011: a realtime request named a method the server does not offer.
    UnknownMethod,
    /// 20012: the session's outbound queue overflowed; it is closed with `slow_consumer`.
    SlowConsumer,
    /// 20403: the caller may not do this.
    Forbidden,
    /// 20404: no such resource.
    NotFound,
    /// 20405: the path exists but not with this method.
    MethodNotAllowed,
    /// 20408: a request was not answered in time (SDK request timeout).
    RequestTimeout,
    /// 20413: the request body is too large.
    PayloadTooLarge,
    /// 20429: too many requests.
    TooManyRequests,
    /// 20500: an internal error; details are in the server log, never in the answer.
    Internal,
    /// 20503: the server is starting, shutting down or overloaded.
    Unavailable,
    /// 50300: the resource already exists (a unique name taken, a participant already present).
    Conflict,
    /// 50301: the conversation has the maximum number of participants.
    TooManyParticipants,
    /// 50302: the identity is in the maximum number of conversations.
    TooManyConversations,
}

impl ErrorCode {
    /// Every code, for tables and tests.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidParameter,
        ErrorCode::AuthenticationFailed,
        ErrorCode::TokenMalformed,
        ErrorCode::TokenBadAlgorithm,
        ErrorCode::TokenUnknownKey,
        ErrorCode::TokenExpired,
        ErrorCode::TokenNotYetValid,
        ErrorCode::TokenBadGrant,
        ErrorCode::TokenBadSignature,
        ErrorCode::TokenLifetimeTooLong,
        ErrorCode::ProtocolError,
        ErrorCode::UnknownMethod,
        ErrorCode::SlowConsumer,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::PayloadTooLarge,
        ErrorCode::TooManyRequests,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::Conflict,
        ErrorCode::TooManyParticipants,
        ErrorCode::TooManyConversations,
    ];

    /// The numeric code.
    pub const fn code(self) -> u32 {
        match self {
            ErrorCode::InvalidParameter => 20001,
            ErrorCode::AuthenticationFailed => 20003,
            ErrorCode::TokenMalformed => 20101,
            ErrorCode::TokenBadAlgorithm => 20102,
            ErrorCode::TokenUnknownKey => 20103,
            ErrorCode::TokenExpired => 20104,
            ErrorCode::TokenNotYetValid => 20105,
            ErrorCode::TokenBadGrant => 20106,
            ErrorCode::TokenBadSignature => 20107,
            ErrorCode::TokenLifetimeTooLong => 20157,
            ErrorCode::ProtocolError => 20010,
            ErrorCode::UnknownMethod => 20011,
            ErrorCode::SlowConsumer => 20012,
            ErrorCode::Forbidden => 20403,
            ErrorCode::NotFound => 20404,
            ErrorCode::MethodNotAllowed => 20405,
            ErrorCode::RequestTimeout => 20408,
            ErrorCode::PayloadTooLarge => 20413,
            ErrorCode::TooManyRequests => 20429,
            ErrorCode::Internal => 20500,
            ErrorCode::Unavailable => 20503,
            ErrorCode::Conflict => 50300,
            ErrorCode::TooManyParticipants => 50301,
            ErrorCode::TooManyConversations => 50302,
        }
    }

    /// The HTTP status that goes with the code.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidParameter
            | ErrorCode::ProtocolError
            | ErrorCode::UnknownMethod
            | ErrorCode::TooManyParticipants
            | ErrorCode::TooManyConversations => 400,
            ErrorCode::AuthenticationFailed
            | ErrorCode::TokenMalformed
            | ErrorCode::TokenBadAlgorithm
            | ErrorCode::TokenUnknownKey
            | ErrorCode::TokenExpired
            | ErrorCode::TokenNotYetValid
            | ErrorCode::TokenBadGrant
            | ErrorCode::TokenBadSignature
            | ErrorCode::TokenLifetimeTooLong => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::TooManyRequests | ErrorCode::SlowConsumer => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// Looks a numeric code up.
    pub fn from_code(code: u32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl From<ErrorCode> for u32 {
    fn from(c: ErrorCode) -> u32 {
        c.code()
    }
}

impl TryFrom<u32> for ErrorCode {
    type Error = String;
    fn try_from(code: u32) -> Result<Self, Self::Error> {
        ErrorCode::from_code(code).ok_or_else(|| format!("unknown error code {code}"))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
        }
    }
}
