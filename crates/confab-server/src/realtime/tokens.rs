//! A realtime session's tokens: the `hello` token's verification (its service looked up) and
//! `token.update`'s renewal, which must keep the session's identity and service.

use confab_protocol::frame::{CloseReason, WireError};
use confab_protocol::sid::{Sid, SidKind};
use confab_token::{TokenError, VerifiedToken};

use super::context::Realtime;

/// Why a `hello` is refused: the close reason, its code, and an explanation.
pub(crate) type Refusal = (CloseReason, u32, String);

/// Milliseconds until a token with `exp` (unix seconds) stops being acceptable here.
pub(crate) fn token_left_ms(rt: &Realtime, exp: i64) -> i64 {
    exp.saturating_add(rt.verifier.skew_secs())
        .saturating_mul(1000)
        .saturating_sub(rt.domain.clock().now_millis())
}

/// Verifies a `hello` token and resolves its service.
pub(crate) async fn authenticate(
    rt: &Realtime,
    token: &str,
) -> Result<(VerifiedToken, Sid), Refusal> {
    let denied = |e: TokenError| (CloseReason::Denied, e.code().code(), e.to_string());
    let now = rt.domain.clock().now_millis() / 1000;
    let v = rt.verifier.verify(token, now).map_err(denied)?;
    let service = match &v.service_sid {
        None => rt.domain.default_service(),
        Some(s) => {
            let sid =
                Sid::parse(SidKind::Service, s).ok_or_else(|| denied(TokenError::BadService))?;
            match rt.domain.service_exists(&sid).await {
                Ok(true) => sid,
                Ok(false) => return Err(denied(TokenError::BadService)),
                Err(e) => {
                    // A passing store failure is no reason to refuse the token for good.
                    tracing::error!(error = %e, "realtime: reading the token's service failed");
                    let r = CloseReason::ShuttingDown;
                    return Err((
                        r,
                        r.code().code(),
                        "the server could not check the token; retry".into(),
                    ));
                }
            }
        }
    };
    Ok((v, service))
}

/// `token.update`: a new token for the same identity and service, verified now.
pub(crate) fn renew(
    rt: &Realtime,
    identity: &str,
    service: &Sid,
    token: &str,
) -> Result<VerifiedToken, WireError> {
    let now = rt.domain.clock().now_millis() / 1000;
    let v = rt
        .verifier
        .verify(token, now)
        .map_err(|e| WireError::new(e.code(), e.to_string()))?;
    let same_service = v
        .service_sid
        .as_deref()
        .map_or(rt.domain.default_service() == *service, |s| {
            s == service.as_str()
        });
    if v.identity != identity || !same_service {
        return Err(WireError::new(
            TokenError::BadService.code(),
            "the new token must carry the session's identity and service",
        ));
    }
    Ok(v)
}
