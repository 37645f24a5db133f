//! Per-credential rate limiting of the REST API: a token bucket per API key (or account SID).
//! Requests past the limit get 429 with code 20429 and `Retry-After`, and change nothing.
//!
//! Buckets are kept per credential that authenticated, so their number is bounded by the
//! server's configured credentials: nothing an unauthenticated caller sends creates one. The
//! realtime endpoint uses the same [`RateLimiter`] per identity and per conversation; there
//! full buckets (keys quiet long enough to have refilled) are swept once the map grows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use confab_domain::Actor;
use confab_protocol::ErrorCode;

use super::error::ApiError;

/// A rate: `per_second` sustained, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
}

impl Default for RateLimit {
    /// Far above what one app backend does and above what this server can answer on the
    /// machine class it is measured on, so that only a runaway client ever meets it.
    fn default() -> Self {
        RateLimit {
            per_second: 25_000.0,
            burst: 50_000,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by credential (or identity, or conversation).
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    map: HashMap<String, Bucket>,
    /// Sweep full buckets when the map reaches this size (then twice what is left).
    sweep_at: usize,
}

/// Keys held before the first sweep.
const SWEEP_FROM: usize = 10_000;

impl RateLimiter {
    /// A limiter with `limit` for every key.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                sweep_at: SWEEP_FROM,
            }),
        }
    }

    /// Takes a token for `key` at `now`; `Err` holds how long until one is available.
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.map.len() >= buckets.sweep_at {
            // A full bucket is the same as none: forget those.
            buckets.map.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
            buckets.sweep_at = (buckets.map.len() * 2).max(SWEEP_FROM);
        }
        let b = buckets.map.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((1.0 - b.tokens) / rate).min(86_400.0),
            ))
        }
    }
}

/// The middleware: runs after authentication, keyed by the credential that authenticated.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let key = match req.extensions().get::<Actor>() {
        Some(Actor::Backend { credential }) => credential.clone(),
        _ => return next.run(req).await,
    };
    match limiter.check_at(&key, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut res = ApiError::new(
                ErrorCode::TooManyRequests,
                "Too many requests for this API key; retry later",
            )
            .into_response();
            let secs = wait.as_secs().max(1).to_string();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate_per_key() {
        let l = RateLimiter::new(RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("a", t0).is_ok());
        }
        let wait = l.check_at("a", t0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(100) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert!(l.check_at("b", t0).is_ok(), "keys are independent");
        assert!(
            l.check_at("a", t0 + Duration::from_millis(100)).is_ok(),
            "one token after 1/rate"
        );
        assert!(l.check_at("a", t0 + Duration::from_millis(100)).is_err());
        // A long quiet spell refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.check_at("a", later).is_ok());
        }
        assert!(l.check_at("a", later).is_err());
    }
}
