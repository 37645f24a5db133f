//! HTTP basic auth for app backends: the account SID with its auth token, or an API key SID
//! with its secret. Secrets are compared in constant time; the answer never says which part
//! was wrong.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use confab_domain::Actor;
use confab_protocol::ErrorCode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::credentials::Credentials;

/// Checks the `Authorization` header against the credentials; on success the request carries
/// the [`Actor`] as an extension.
pub async fn require_basic_auth(
    State(creds): State<Arc<Credentials>>,
    mut req: Request,
    next: Next,
) -> Response {
    match authenticate(
        &creds,
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    ) {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

pub(crate) fn authenticate(creds: &Credentials, header: Option<&str>) -> Result<Actor, ApiError> {
    let fail = |m: &str| ApiError::new(ErrorCode::AuthenticationFailed, m);
    let header = header.ok_or_else(|| fail("Authentication required: use HTTP basic auth"))?;
    let (scheme, encoded) = header
        .split_once(' ')
        .ok_or_else(|| fail("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(fail("Authorization must use the Basic scheme"));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| fail("malformed Authorization header"))?;
    let text = String::from_utf8(decoded).map_err(|_| fail("malformed Authorization header"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| fail("malformed Authorization header"))?;
    let secret = if user == creds.account_sid {
        &creds.auth_token
    } else if user == creds.api_key_sid {
        &creds.api_key_secret
    } else {
        return Err(fail("invalid username or password"));
    };
    if same_secret(password, secret) {
        Ok(Actor::Backend {
            credential: user.to_owned(),
        })
    } else {
        Err(fail("invalid username or password"))
    }
}

/// Compares in constant time, length included: `ct_eq` on the raw bytes returns at once when
/// the lengths differ, which would tell an attacker the secret's length. Digests are always
/// 32 bytes.
fn same_secret(given: &str, secret: &str) -> bool {
    Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(secret.as_bytes()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            account_sid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            auth_token: "token-1234".into(),
            api_key_sid: "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(),
            api_key_secret: "secret-1234".into(),
        }
    }

    fn basic(user: &str, pass: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))
    }

    #[test]
    fn account_token_and_api_key_pass_and_everything_else_fails() {
        let c = creds();
        assert!(authenticate(&c, Some(&basic(&c.account_sid, &c.auth_token))).is_ok());
        assert!(authenticate(&c, Some(&basic(&c.api_key_sid, &c.api_key_secret))).is_ok());
        // Crossing the pairs must not work.
        assert!(authenticate(&c, Some(&basic(&c.account_sid, &c.api_key_secret))).is_err());
        assert!(authenticate(&c, Some(&basic(&c.api_key_sid, &c.auth_token))).is_err());
        for bad in [
            "",
            "Basic",
            "Basic !!!",
            "Bearer abc",
            &basic("nobody", "x"),
            &basic(&c.account_sid, ""),
            // One character short, one too many, and a prefix of the right one.
            &basic(&c.account_sid, "token-123"),
            &basic(&c.account_sid, "token-12345"),
            &basic(&c.api_key_sid, "secret"),
        ] {
            let e = authenticate(&c, Some(bad)).unwrap_err();
            assert_eq!(e.code, ErrorCode::AuthenticationFailed, "{bad}");
        }
        assert!(authenticate(&c, None).is_err());
    }
}
