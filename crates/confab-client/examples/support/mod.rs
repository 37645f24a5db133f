//! The app backend's part in the examples: a token endpoint. A real app's backend mints
//! tokens with its API key (here from the environment or `confab serve`'s data directory);
//! the client only ever sees the tokens.

use std::time::{SystemTime, UNIX_EPOCH};

/// Mints a token for `identity`, valid for `ttl_secs`, like an app backend's `/token`.
pub fn token_endpoint(identity: &str, ttl_secs: i64) -> Result<String, String> {
    let (account_sid, key_sid, secret) = credentials()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let key = confab_token::ApiKey {
        sid: key_sid,
        secret,
    };
    Ok(confab_token::mint(
        &key,
        &confab_token::TokenSpec {
            account_sid: &account_sid,
            identity,
            service_sid: None,
            now,
            ttl_secs,
        },
    ))
}

/// Account SID, API key SID and secret: from `CONFAB_ACCOUNT_SID`, `CONFAB_API_KEY_SID`,
/// `CONFAB_API_KEY_SECRET`, else from `$CONFAB_DATA_DIR/credentials.json` (default
/// `./confab-data`, where `confab serve` keeps generated ones).
fn credentials() -> Result<(String, String, String), String> {
    let env = |k: &str| std::env::var(k).ok();
    if let (Some(a), Some(k), Some(s)) = (
        env("CONFAB_ACCOUNT_SID"),
        env("CONFAB_API_KEY_SID"),
        env("CONFAB_API_KEY_SECRET"),
    ) {
        return Ok((a, k, s));
    }
    let dir = env("CONFAB_DATA_DIR").unwrap_or_else(|| "./confab-data".into());
    let path = format!("{dir}/credentials.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{path}: no {k}"))
    };
    Ok((
        field("account_sid")?,
        field("api_key_sid")?,
        field("api_key_secret")?,
    ))
}

/// The server's WebSocket URL: `CONFAB_URL` or `ws://127.0.0.1:8080`.
pub fn server_url() -> String {
    std::env::var("CONFAB_URL").unwrap_or_else(|_| "ws://127.0.0.1:8080".into())
}
