//! Reading an access token without verifying it. A client needs the token's `exp` and identity
//! to schedule renewal; the server's verifier (`confab-token`) starts from the same parse and then
//! checks the signature and the claims.
//!
//! Tokens follow the reference product's layout: a JWT with header
//! `{"typ":"JWT","alg":"HS256","cty":"twilio-fpa;v=1"}` and claims `jti`, `iss` (API key SID),
//! `sub` (account SID), `exp`, optional `nbf`, and `grants.identity` / `grants.chat.service_sid`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// The content type the reference product puts in the token header.
pub const TOKEN_CTY: &str = "twilio-fpa;v=1";

/// The JWT header fields we read (others, such as the `twr` region, are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Signature algorithm; only `HS256` is accepted.
    pub alg: String,
    /// `JWT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// [`TOKEN_CTY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
}

/// The chat grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatGrant {
    /// The service the token is for; absent means the account's default service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_sid: Option<String>,
}

/// The grants object. Grants for other products are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// The user's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The chat grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatGrant>,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `{api_key_sid}-{unix time}`; an id only, never a clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The API key SID that signed the token.
    pub iss: String,
    /// The account SID.
    pub sub: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Not before, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Identity and chat grant.
    #[serde(default)]
    pub grants: Grants,
}

/// Why a token could not even be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not three dot-separated parts of base64url JSON with the expected fields.
    Malformed(&'static str),
}

/// A token split and parsed, signature not checked.
#[derive(Debug, Clone)]
pub struct Unverified<'a> {
    /// The header.
    pub header: Header,
    /// The claims.
    pub claims: Claims,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'a str,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// Reads only the header of a token, so that a verifier can refuse a bad algorithm before it
/// looks at anything else.
pub fn decode_header(token: &str) -> Result<Header, DecodeError> {
    let h = token.split('.').next().unwrap_or_default();
    serde_json::from_slice(&b64(h)?)
        .map_err(|_| DecodeError::Malformed("the token header is not valid JSON"))
}

/// Splits and parses a token without verifying anything.
pub fn decode_unverified(token: &str) -> Result<Unverified<'_>, DecodeError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DecodeError::Malformed(
            "a token has three parts separated by dots",
        ));
    };
    let header_bytes = b64(h)?;
    let header: Header = serde_json::from_slice(&header_bytes)
        .map_err(|_| DecodeError::Malformed("the token header is not valid JSON"))?;
    let claims_bytes = b64(p)?;
    let claims: Claims = serde_json::from_slice(&claims_bytes).map_err(|_| {
        DecodeError::Malformed("the token claims are not valid JSON of the expected shape")
    })?;
    let signature = b64(s)?;
    Ok(Unverified {
        header,
        claims,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature,
    })
}

fn b64(part: &str) -> Result<Vec<u8>, DecodeError> {
    // Some encoders keep `=` padding; accept it, as the reference helper libraries do.
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| DecodeError::Malformed("a token part is not base64url"))
}

/// Encodes a token part (header or claims) as base64url without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for t in [
            "",
            ".",
            "..",
            "a.b.c",
            "a.b.c.d",
            "eyJ.eyJ.x",
            "\u{e9}.\u{e9}.\u{e9}",
        ] {
            assert!(decode_unverified(t).is_err(), "{t:?}");
        }
    }
}
