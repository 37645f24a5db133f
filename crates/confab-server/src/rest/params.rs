//! Request parameters: form-encoded bodies and query strings, read into one type with typed
//! getters that name the parameter they refuse. Unknown parameters are ignored, as the
//! reference product does; for repeated keys the last one counts unless read with `all`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use confab_protocol::ErrorCode;
use confab_protocol::entity::Millis;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::ApiError;

/// Parameters of a request, in the order given.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(bytes: &[u8]) -> Params {
        Params(form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// Every pair, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The last value of `name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last value of `name`, owned.
    pub fn string(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_owned)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.str(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| ApiError::invalid(format!("{name} must be an integer")))
            })
            .transpose()
    }

    /// A non-negative integer that fits in 32 bits.
    pub fn u32(&self, name: &str) -> Result<Option<u32>, ApiError> {
        self.str(name)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    ApiError::invalid(format!("{name} must be a non-negative integer"))
                })
            })
            .transpose()
    }

    /// An ISO 8601 date-time (`2024-05-01T10:00:00Z`) or date (`2024-05-01`), as unix millis.
    pub fn date(&self, name: &str) -> Result<Option<Millis>, ApiError> {
        self.str(name)
            .map(|v| {
                parse_date(v)
                    .ok_or_else(|| ApiError::invalid(format!("{name} must be an ISO 8601 date")))
            })
            .transpose()
    }
}

fn parse_date(v: &str) -> Option<Millis> {
    let v = v.trim();
    let dt = OffsetDateTime::parse(v, &Rfc3339).ok().or_else(|| {
        let d =
            time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
        Some(d.midnight().assume_utc())
    })?;
    // Only dates that can be written back as `YYYY-MM-DDTHH:MM:SSZ`.
    let utc = dt.checked_to_offset(time::UtcOffset::UTC)?;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    i64::try_from(utc.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The form body of a POST.
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let deadline = req
            .extensions()
            .get::<BodyDeadline>()
            .map_or(BodyDeadline::DEFAULT, |d| d.0);
        // A body trickled in a byte at a time would hold its connection (and its place under
        // the connection cap) for as long as the sender likes.
        let read = tokio::time::timeout(deadline, Bytes::from_request(req, state))
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::RequestTimeout,
                    format!("the request body did not arrive within {deadline:?}"),
                )
            })?;
        let bytes = read.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "the request body is too large")
            } else {
                ApiError::invalid(format!("could not read the request body: {e}"))
            }
        })?;
        if let Some(ct) = content_type
            && !bytes.is_empty()
            && !ct
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        {
            return Err(ApiError::invalid(
                "send parameters as application/x-www-form-urlencoded",
            ));
        }
        Ok(Form(Params::parse(&bytes)))
    }
}

/// How long a form body may take to arrive once its request's head has, set by the router
/// as an extension.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);

impl BodyDeadline {
    /// Without the extension (the server's default head timeout).
    pub const DEFAULT: std::time::Duration = std::time::Duration::from_secs(10);
}

/// The query string.
pub struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(Params::parse(
            parts.uri.query().unwrap_or("").as_bytes(),
        )))
    }
}

/// Path segments by name (`ChatServiceSid`, `ConversationSid`, `Sid`).
pub struct PathParams(pub HashMap<String, String>);

impl PathParams {
    /// A segment that the route always has.
    pub fn get(&self, name: &str) -> Result<&str, ApiError> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ApiError::invalid(format!("missing path segment {name}")))
    }

    /// The service of a service-scoped path; `None` on the unscoped family.
    pub fn service(&self) -> Option<&str> {
        self.0.get("ChatServiceSid").map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(map) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid(format!("bad path: {e}")))?;
        Ok(PathParams(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_both_forms_and_garbage_refused() {
        assert_eq!(parse_date("1970-01-02T00:00:00Z"), Some(86_400_000));
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(
            parse_date("2015-12-16T22:18:37.5+01:00"),
            Some(1_450_300_717_500)
        );
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(
            parse_date("9999-12-31T23:00:00-05:00"),
            None,
            "year 10000 in UTC"
        );
    }

    #[test]
    fn last_value_wins_and_all_keeps_every_one() {
        let p = Params::parse(b"A=1&B=x%20y&A=2");
        assert_eq!(p.str("A"), Some("2"));
        assert_eq!(p.all("A"), ["1", "2"]);
        assert_eq!(p.str("B"), Some("x y"));
        assert!(Params::parse(b"N=abc").i64("N").is_err());
    }
}
