//! The web chat page and the browser SDK, embedded in the binary and served at `/`; and, in
//! development mode only, a token endpoint that mints an access token for any name.
//!
//! The files come from `web/` in the repository (the SDK's WebAssembly is built by
//! `scripts/build-web` and committed), so `cargo build` alone gives a server with its page.
//! The token endpoint stands in for an app's own backend, which in production is what
//! decides who a user is: `confab serve` enables it only with `--dev`, and only on a
//! loopback address unless told otherwise.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use confab_domain::Clock;
use confab_protocol::ErrorCode;

use crate::credentials::Credentials;
use crate::rest::error::ApiError;
use crate::rest::params::Form;

/// A file of the page: its path, content type and bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr, $file:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $file)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("/", "text/html; charset=utf-8", "app/index.html"),
    asset!("/app.js", JS, "app/app.js"),
    asset!("/style.css", "text/css; charset=utf-8", "app/style.css"),
    asset!("/favicon.svg", "image/svg+xml", "app/favicon.svg"),
    asset!("/sdk/builder.js", JS, "sdk/builder.js"),
    asset!("/sdk/client.js", JS, "sdk/client.js"),
    asset!("/sdk/confab.js", JS, "sdk/confab.js"),
    asset!("/sdk/conversation.js", JS, "sdk/conversation.js"),
    asset!("/sdk/emitter.js", JS, "sdk/emitter.js"),
    asset!("/sdk/errors.js", JS, "sdk/errors.js"),
    asset!("/sdk/media.js", JS, "sdk/media.js"),
    asset!("/sdk/message.js", JS, "sdk/message.js"),
    asset!("/sdk/methods.js", JS, "sdk/methods.js"),
    asset!("/sdk/paginator.js", JS, "sdk/paginator.js"),
    asset!("/sdk/participant.js", JS, "sdk/participant.js"),
    asset!("/sdk/platform.js", JS, "sdk/platform.js"),
    asset!("/sdk/user.js", JS, "sdk/user.js"),
    asset!("/sdk/util.js", JS, "sdk/util.js"),
    asset!(
        "/sdk/confab.d.ts",
        "text/plain; charset=utf-8",
        "sdk/confab.d.ts"
    ),
    asset!(
        "/sdk/wasm/confab_client_wasm.js",
        JS,
        "sdk/wasm/confab_client_wasm.js"
    ),
    asset!(
        "/sdk/wasm/confab_client_wasm_bg.wasm",
        "application/wasm",
        "sdk/wasm/confab_client_wasm_bg.wasm"
    ),
];

/// The page's only sources are this server (its scripts, its WebAssembly, which needs
/// `wasm-unsafe-eval` to compile, and its realtime endpoint) and, for pictures, the media
/// store that serves their content (`media_origin`, where it is not this server).
fn csp(media_origin: Option<&str>) -> HeaderValue {
    let images = media_origin.map_or(String::new(), |o| format!(" {o}"));
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
         img-src 'self' data:{images}; style-src 'self'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

fn serve(asset: &'static Asset, csp: HeaderValue) -> Response {
    let mut res = asset.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // Revalidated each time: a new binary's page must not meet an old cached SDK.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    res
}

/// What the development token endpoint needs.
#[derive(Clone)]
struct DevTokens {
    enabled: bool,
    credentials: Arc<Credentials>,
    clock: Arc<dyn Clock>,
}

/// The page's routes, and `POST /dev/token` when `dev_tokens` is set.
pub(crate) fn router(
    dev_tokens: bool,
    credentials: Arc<Credentials>,
    clock: Arc<dyn Clock>,
    media_origin: Option<&str>,
) -> Router {
    let policy = csp(media_origin);
    let mut router = Router::new();
    for asset in ASSETS {
        let policy = policy.clone();
        router = router.route(asset.path, get(move || async move { serve(asset, policy) }));
    }
    // Browsers ask for it whatever the page says; the REST fallback would answer 401.
    router = router.route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    // Answered in every mode: left to the REST API's fallback, a page asking for a token
    // from a server without `--dev` would get 401 with `WWW-Authenticate`, and the browser
    // would ask its user for a password.
    router.route(
        "/dev/token",
        post(mint).with_state(DevTokens {
            enabled: dev_tokens,
            credentials,
            clock,
        }),
    )
}

/// Whether the request's `Host` is an IP address or `localhost`. A page on another site can
/// point its own name at 127.0.0.1 (DNS rebinding) and so become same-origin with a
/// development server; its requests still carry its own name as `Host`.
fn addressed_by_ip_or_localhost(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Default lifetime of a development token: an hour, like `confab token`.
const DEV_TTL_SECS: i64 = 3600;

/// `POST /dev/token` with the form fields `identity` and optionally `ttl` (seconds, 1 to
/// 86,400): `{"identity", "token", "ttl"}`.
async fn mint(
    State(dev): State<DevTokens>,
    headers: HeaderMap,
    Form(form): Form,
) -> Result<Response, ApiError> {
    if !dev.enabled {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no development token endpoint: the server was not started with --dev",
        ));
    }
    if !addressed_by_ip_or_localhost(&headers) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "development tokens are minted only for requests addressed to an IP address or \
             localhost, so that no other site can rebind its name to this server",
        ));
    }
    let identity = form
        .str("identity")
        .ok_or_else(|| ApiError::invalid("identity is required"))?;
    if identity.is_empty()
        || identity.chars().count() > confab_token::MAX_IDENTITY_CHARS
        || identity.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(format!(
            "identity must be 1 to {} characters, none of them control characters",
            confab_token::MAX_IDENTITY_CHARS
        )));
    }
    let ttl = form.i64("ttl")?.unwrap_or(DEV_TTL_SECS);
    if !(1..=confab_token::MAX_LIFETIME_SECS).contains(&ttl) {
        return Err(ApiError::invalid(format!(
            "ttl must be between 1 and {}",
            confab_token::MAX_LIFETIME_SECS
        )));
    }
    let key = confab_token::ApiKey {
        sid: dev.credentials.api_key_sid.clone(),
        secret: dev.credentials.api_key_secret.clone(),
    };
    let spec = confab_token::TokenSpec {
        account_sid: &dev.credentials.account_sid,
        identity,
        service_sid: None,
        now: dev.clock.now_millis().div_euclid(1000),
        ttl_secs: ttl,
    };
    let token = confab_token::mint(&key, &spec);
    let mut res = (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "identity": identity, "token": token, "ttl": ttl })),
    )
        .into_response();
    // A token is a credential: no cache may keep it.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(h).unwrap());
        m
    }

    #[test]
    fn only_ip_addresses_and_localhost_may_ask_for_development_tokens() {
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "10.0.0.5:80",
        ] {
            assert!(addressed_by_ip_or_localhost(&host(ok)), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "evil.example",
            "localhost.evil.example",
            "[::1",
            "127.0.0.1.evil.example",
            "",
        ] {
            assert!(!addressed_by_ip_or_localhost(&host(bad)), "{bad}");
        }
        assert!(!addressed_by_ip_or_localhost(&HeaderMap::new()));
    }

    #[test]
    fn every_file_of_the_sdk_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/sdk");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".js") || name == "confab.d.ts" {
                let path = format!("/sdk/{name}");
                assert!(
                    ASSETS.iter().any(|a| a.path == path),
                    "{path} is not among the page's assets (web.rs)"
                );
            }
        }
    }
}
