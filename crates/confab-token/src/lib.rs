//! Access tokens: minting (what an app backend's helper library does, and `confab token`) and
//! verification (what the server does on every realtime `hello` and `token.update`).
//!
//! The layout is the reference product's (DESIGN.md section 2), so tokens minted by its helper
//! libraries with an API key the server knows verify here. Verification runs in a fixed order,
//! each step with its own typed failure and numeric code: read the header (only HS256), read the
//! claims, find the signing key from the issuer and check the account, check the signature in
//! constant time, then the clock (with skew), the lifetime cap and the grants.
//!
//! Why not the `jsonwebtoken` crate: the ordered, typed failures above need the header and the
//! unverified claims parsed by us before any key is chosen, which leaves only the HMAC to a JWT
//! library; its current major also requires an RSA/EC crypto backend we never use. The HMAC
//! itself is RustCrypto's `hmac` + `sha2`.

use std::collections::HashMap;

use confab_protocol::ErrorCode;
use confab_protocol::token::{
    Claims, DecodeError, Header, TOKEN_CTY, b64_encode, decode_header, decode_unverified,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use confab_protocol::token::{ChatGrant, Grants};

type HmacSha256 = Hmac<Sha256>;

/// Longest lifetime a token may have: `exp - nbf`, or `exp - now` without `nbf`.
pub const MAX_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// Default allowance for clock skew on `nbf` and `exp`.
pub const DEFAULT_SKEW_SECS: i64 = 60;
/// Longest identity, in characters (DESIGN.md section 5).
pub const MAX_IDENTITY_CHARS: usize = 256;

/// Why a token was refused. Each variant maps to the code of DESIGN.md section 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT: wrong number of parts, bad base64 or JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// Header invalid: `alg` other than HS256 (including `none`), or wrong `typ`/`cty`.
    #[error("token header refused: {0}")]
    BadAlgorithm(String),
    /// The issuer is not an API key this server knows.
    #[error("token signed with an unknown API key")]
    UnknownKey,
    /// The subject is not this server's account.
    #[error("token is for another account")]
    WrongAccount,
    /// The signature does not verify.
    #[error("token signature does not verify")]
    BadSignature,
    /// Past `exp` plus the skew allowance.
    #[error("token has expired")]
    Expired,
    /// Before `nbf` minus the skew allowance.
    #[error("token is not valid yet")]
    NotYetValid,
    /// Lifetime over 24 hours.
    #[error("token lifetime is over 24 hours")]
    LifetimeTooLong,
    /// No `grants.identity`.
    #[error("token has no identity")]
    NoIdentity,
    /// The identity is empty, too long or holds control characters.
    #[error("token identity is not acceptable: {0}")]
    BadIdentity(&'static str),
    /// No `grants.chat`.
    #[error("token has no chat grant")]
    NoChatGrant,
    /// The chat grant names a service this account lacks (decided by the server, which knows
    /// the services).
    #[error("token names a service this account does not have")]
    BadService,
}

impl TokenError {
    /// The numeric code.
    pub fn code(&self) -> ErrorCode {
        match self {
            TokenError::Malformed(_) => ErrorCode::TokenMalformed,
            TokenError::BadAlgorithm(_) => ErrorCode::TokenBadAlgorithm,
            TokenError::UnknownKey | TokenError::WrongAccount => ErrorCode::TokenUnknownKey,
            TokenError::BadSignature => ErrorCode::TokenBadSignature,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::NotYetValid => ErrorCode::TokenNotYetValid,
            TokenError::LifetimeTooLong => ErrorCode::TokenLifetimeTooLong,
            TokenError::NoIdentity
            | TokenError::BadIdentity(_)
            | TokenError::NoChatGrant
            | TokenError::BadService => ErrorCode::TokenBadGrant,
        }
    }

    /// The outcome's short name, as the shared test vectors spell it.
    pub fn outcome(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "malformed",
            TokenError::BadAlgorithm(_) => "bad_algorithm",
            TokenError::UnknownKey => "unknown_key",
            TokenError::WrongAccount => "wrong_account",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::LifetimeTooLong => "lifetime_too_long",
            TokenError::NoIdentity => "no_identity",
            TokenError::BadIdentity(_) => "bad_identity",
            TokenError::NoChatGrant => "no_chat_grant",
            TokenError::BadService => "bad_service",
        }
    }
}

impl From<DecodeError> for TokenError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Malformed(why) => TokenError::Malformed(why),
        }
    }
}

/// An API key: its SID and secret.
#[derive(Clone)]
pub struct ApiKey {
    /// `SK…`
    pub sid: String,
    /// The signing secret.
    pub secret: String,
}

impl std::fmt::Debug for ApiKey {
    // Secrets never reach logs, not even through a stray `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("sid", &self.sid)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// What a verified token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The user's identity.
    pub identity: String,
    /// The service named by the chat grant; `None` means the account's default service.
    pub service_sid: Option<String>,
    /// The API key that signed it.
    pub api_key_sid: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Not before, unix seconds.
    pub nbf: Option<i64>,
}

/// Verifies tokens for one account against its API keys.
#[derive(Clone)]
pub struct Verifier {
    account_sid: String,
    keys: HashMap<String, Vec<u8>>,
    skew_secs: i64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("account_sid", &self.account_sid)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("skew_secs", &self.skew_secs)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `account_sid` that knows `keys`, with the default skew.
    pub fn new(account_sid: impl Into<String>, keys: impl IntoIterator<Item = ApiKey>) -> Self {
        Verifier {
            account_sid: account_sid.into(),
            keys: keys
                .into_iter()
                .map(|k| (k.sid, k.secret.into_bytes()))
                .collect(),
            skew_secs: DEFAULT_SKEW_SECS,
        }
    }

    /// Sets the clock-skew allowance applied to `nbf` and `exp`.
    pub fn with_skew_secs(mut self, skew_secs: i64) -> Self {
        self.skew_secs = skew_secs.max(0);
        self
    }

    /// The skew allowance in force.
    pub fn skew_secs(&self) -> i64 {
        self.skew_secs
    }

    /// Verifies `token` at unix time `now` (seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<VerifiedToken, TokenError> {
        check_header(&decode_header(token)?)?;
        let unverified = decode_unverified(token)?;
        let claims = &unverified.claims;
        let secret = self.keys.get(&claims.iss).ok_or(TokenError::UnknownKey)?;
        if claims.sub != self.account_sid {
            return Err(TokenError::WrongAccount);
        }
        let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| TokenError::BadSignature)?;
        mac.update(unverified.signing_input.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&unverified.signature)
            .map_err(|_| TokenError::BadSignature)?;
        check_times(claims, now, self.skew_secs)?;
        let identity = check_identity(claims)?;
        let chat = claims.grants.chat.as_ref().ok_or(TokenError::NoChatGrant)?;
        Ok(VerifiedToken {
            identity,
            service_sid: chat.service_sid.clone(),
            api_key_sid: claims.iss.clone(),
            exp: claims.exp,
            nbf: claims.nbf,
        })
    }
}

fn check_header(h: &Header) -> Result<(), TokenError> {
    if h.alg != "HS256" {
        return Err(TokenError::BadAlgorithm(format!(
            "alg {:?} is not HS256",
            h.alg
        )));
    }
    if h.typ.as_deref() != Some("JWT") {
        return Err(TokenError::BadAlgorithm("typ must be JWT".into()));
    }
    if h.cty.as_deref() != Some(TOKEN_CTY) {
        return Err(TokenError::BadAlgorithm(format!("cty must be {TOKEN_CTY}")));
    }
    Ok(())
}

fn check_times(c: &Claims, now: i64, skew: i64) -> Result<(), TokenError> {
    if now > c.exp.saturating_add(skew) {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = c.nbf
        && now < nbf.saturating_sub(skew)
    {
        return Err(TokenError::NotYetValid);
    }
    let lifetime = c.exp.saturating_sub(c.nbf.unwrap_or(now));
    if lifetime > MAX_LIFETIME_SECS {
        return Err(TokenError::LifetimeTooLong);
    }
    Ok(())
}

fn check_identity(c: &Claims) -> Result<String, TokenError> {
    let identity = c.grants.identity.as_deref().ok_or(TokenError::NoIdentity)?;
    if identity.is_empty() {
        return Err(TokenError::NoIdentity);
    }
    if identity.chars().count() > MAX_IDENTITY_CHARS {
        return Err(TokenError::BadIdentity("over 256 characters"));
    }
    if identity.chars().any(char::is_control) {
        return Err(TokenError::BadIdentity("holds control characters"));
    }
    Ok(identity.to_owned())
}

/// What to put in a new token.
#[derive(Debug, Clone)]
pub struct TokenSpec<'a> {
    /// The account SID (`sub`).
    pub account_sid: &'a str,
    /// The user's identity.
    pub identity: &'a str,
    /// The service for the chat grant; `None` for the default service.
    pub service_sid: Option<&'a str>,
    /// Issue time, unix seconds.
    pub now: i64,
    /// Lifetime in seconds.
    pub ttl_secs: i64,
}

/// Mints a token signed with `key`, laid out as the reference helper libraries do (with `nbf`).
pub fn mint(key: &ApiKey, spec: &TokenSpec<'_>) -> String {
    let header = Header {
        alg: "HS256".into(),
        typ: Some("JWT".into()),
        cty: Some(TOKEN_CTY.into()),
    };
    let claims = Claims {
        jti: Some(format!("{}-{}", key.sid, spec.now)),
        iss: key.sid.clone(),
        sub: spec.account_sid.to_owned(),
        exp: spec.now + spec.ttl_secs,
        nbf: Some(spec.now),
        grants: Grants {
            identity: Some(spec.identity.to_owned()),
            chat: Some(ChatGrant {
                service_sid: spec.service_sid.map(str::to_owned),
            }),
        },
    };
    // Both serialize infallibly: plain structs with string keys.
    let h = b64_encode(&serde_json::to_vec(&header).unwrap_or_default());
    let p = b64_encode(&serde_json::to_vec(&claims).unwrap_or_default());
    let signing_input = format!("{h}.{p}");
    sign(&key.secret, &signing_input)
}

/// Signs `header` and `claims`, JSON bytes taken as they are, with `secret`: a token laid out
/// however the caller likes, for the tests and tools that make the tokens a verifier must
/// refuse (a wrong `alg` or `cty`, tampered or malformed claims) with a signature that holds.
pub fn sign_json(secret: &str, header: &[u8], claims: &[u8]) -> String {
    sign(
        secret,
        &format!("{}.{}", b64_encode(header), b64_encode(claims)),
    )
}

fn sign(secret: &str, signing_input: &str) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    let sig = b64_encode(&mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[cfg(test)]
mod tests;
