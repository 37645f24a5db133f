//! `confab-client-core` for the browser: the same session state machine the Rust SDK drives,
//! compiled to WebAssembly, with a boundary of plain strings and numbers.
//!
//! The browser SDK (`web/sdk/confab.js`) owns the WebSocket, the timers and the page's
//! `online`/`offline` events, and feeds them to a [`Core`]; after every input it calls
//! [`Core::drain`] once and gets, as one JSON text, everything the core wants done: the
//! socket actions, the app's events and the next wake-up. One crossing per input keeps the
//! boundary cheap, and JSON is what the JavaScript side needs anyway.
//!
//! Times are JavaScript numbers of milliseconds (`performance.timeOrigin + performance.now()`,
//! so that a stepped wall clock cannot fire every timer at once).

use confab_client_core::{Config, Output, Session, Transmit};
use confab_protocol::event::EventBody;
use serde_json::{Value, json};
use wasm_bindgen::prelude::wasm_bindgen;

/// Milliseconds from JavaScript; NaN and negatives read as 0 (the cast saturates).
fn ms(now: f64) -> u64 {
    now as u64
}

/// One client session. See the crate docs.
#[wasm_bindgen]
pub struct Core {
    session: Session,
}

#[wasm_bindgen]
impl Core {
    /// A session that starts connecting at `now` with `token`. `config` is a JSON object
    /// with any of `windowMs` (`null`: retry forever), `tokenLeadMs`, `requestTimeoutMs`,
    /// `connectTimeoutMs` and `watchCap`; a missing field keeps the Rust SDK's default.
    /// `seed` feeds the backoff jitter and the `op_id`s (from `crypto.getRandomValues`).
    #[wasm_bindgen(constructor)]
    pub fn new(token: String, config: &str, seed_hi: u32, seed_lo: u32, now: f64) -> Core {
        let seed = (u64::from(seed_hi) << 32) | u64::from(seed_lo);
        Core {
            session: Session::new(token, parse_config(config), seed, ms(now)),
        }
    }

    /// The socket opened.
    pub fn connected(&mut self, now: f64) {
        self.session.handle_connected(ms(now));
    }

    /// A text frame arrived.
    pub fn frame(&mut self, text: &str, now: f64) {
        self.session.handle_frame(text, ms(now));
    }

    /// The socket closed by itself or could not be opened; `code` is the close code when a
    /// close frame came (the browser's 1006 means none did).
    pub fn closed(&mut self, now: f64, code: Option<u16>) {
        self.session
            .handle_closed(ms(now), code.filter(|c| *c != 1006));
    }

    /// The moment [`Core::drain`] named has come.
    pub fn timeout(&mut self, now: f64) {
        self.session.handle_timeout(ms(now));
    }

    /// Calls `method` with `params` (JSON text); the answer comes from [`Core::drain`] as
    /// `{"response": id, ...}` with the id returned. Throws on params that are not JSON.
    pub fn request(&mut self, method: &str, params: &str, now: f64) -> Result<f64, String> {
        let params: Value =
            serde_json::from_str(params).map_err(|e| format!("params are not JSON: {e}"))?;
        // Ids count up from 1: far below 2^53, so exact as a JavaScript number.
        Ok(self.session.request(method, params, ms(now)) as f64)
    }

    /// The typing signal; returns whether it went (only while connected).
    pub fn typing(&mut self, conversation: &str, now: f64) -> bool {
        self.session.typing(conversation, ms(now))
    }

    /// Takes a new token: returns the id of the `token.update` request whose answer will
    /// come (on a live connection), or `undefined` when the token was simply kept for the
    /// next connection. Throws `{"code":N,"message":...}` (JSON text) when refused at once.
    pub fn update_token(&mut self, token: String, now: f64) -> Result<Option<f64>, String> {
        match self.session.update_token(token, ms(now)) {
            Ok(id) => Ok(id.map(|id| id as f64)),
            Err(e) => Err(json!({ "code": e.code.code(), "message": e.message }).to_string()),
        }
    }

    /// Tries again now with a fresh reconnection window.
    pub fn reconnect(&mut self, now: f64) {
        self.session.reconnect(ms(now));
    }

    /// The page's `online` event.
    pub fn network_online(&mut self, now: f64) {
        self.session.network_online(ms(now));
    }

    /// Goes offline for good.
    pub fn shutdown(&mut self) {
        self.session.shutdown();
    }

    /// The connection state's name (`connecting`, `connected`, ...).
    pub fn connection_state(&self) -> String {
        self.session.connection_state().as_str().to_owned()
    }

    /// The client state's name (`initialized`, `failed`), once there is one.
    pub fn client_state(&self) -> Option<String> {
        self.session.client_state().map(|s| s.as_str().to_owned())
    }

    /// The media service from the last `welcome`, as JSON text (`service_url`, `set_url` and
    /// the limits), if it told one.
    pub fn media_service(&self) -> Option<String> {
        self.session
            .media_service()
            .and_then(|m| serde_json::to_string(m).ok())
    }

    /// The token's identity, if it has one.
    pub fn identity(&self) -> Option<String> {
        self.session.identity().map(str::to_owned)
    }

    /// Everything the core wants done after an input, as JSON text:
    /// `{"transmits": [...], "outputs": [...], "timeout": ms | null}`. A transmit is
    /// `{"connect": true}`, `{"send": text}` or `{"close": true}`; an output is
    /// `{"event": name, "data": payload}` (the Rust SDK's event names, payloads as on the
    /// wire) or `{"response": id, "ok": value}` / `{"response": id, "error": {code, message}}`.
    pub fn drain(&mut self) -> String {
        let mut transmits = vec![];
        let mut outputs = vec![];
        loop {
            let mut any = false;
            while let Some(t) = self.session.poll_transmit() {
                any = true;
                transmits.push(match t {
                    Transmit::Connect => json!({ "connect": true }),
                    Transmit::Send(text) => json!({ "send": text }),
                    Transmit::Close => json!({ "close": true }),
                });
            }
            while let Some(o) = self.session.poll_output() {
                any = true;
                outputs.push(output(o));
            }
            if !any {
                break;
            }
        }
        json!({
            "transmits": transmits,
            "outputs": outputs,
            "timeout": self.session.poll_timeout(),
        })
        .to_string()
    }
}

fn parse_config(text: &str) -> Config {
    let mut config = Config::default();
    let Ok(Value::Object(given)) = serde_json::from_str::<Value>(text) else {
        return config;
    };
    let num = |k: &str| given.get(k).and_then(Value::as_f64).map(ms);
    if let Some(v) = given.get("windowMs") {
        config.window_ms = v.as_f64().map(ms);
    }
    if let Some(v) = num("tokenLeadMs") {
        config.token_lead_ms = v;
    }
    if let Some(v) = num("requestTimeoutMs") {
        config.request_timeout_ms = v;
    }
    if let Some(v) = num("connectTimeoutMs") {
        config.connect_timeout_ms = v;
    }
    if let Some(v) = num("watchCap") {
        config.watch_cap = usize::try_from(v).unwrap_or(usize::MAX);
    }
    config
}

fn event(name: &str, data: Value) -> Value {
    json!({ "event": name, "data": data })
}

/// An output as the JavaScript side takes it: the same names as the Rust SDK's events.
fn output(o: Output) -> Value {
    match o {
        Output::StateChanged(s) => event("stateChanged", json!(s.as_str())),
        Output::ConnectionStateChanged(s) => event("connectionStateChanged", json!(s.as_str())),
        Output::ConnectionError {
            terminal,
            code,
            message,
        } => event(
            "connectionError",
            json!({ "terminal": terminal, "code": code, "message": message }),
        ),
        Output::TokenAboutToExpire { remaining_ms } => {
            event("tokenAboutToExpire", json!({ "remainingMs": remaining_ms }))
        }
        Output::TokenExpired => event("tokenExpired", Value::Null),
        // Not the stream event of that name (which carries a bare Conversation): the
        // listing's item, with the user's participant, counts and read state.
        Output::ConversationAdded(c) => event("conversationListed", json!(c)),
        Output::Event(e) => match e.body {
            EventBody::ConversationReset(r) => event(
                "conversationReset",
                json!({ "conversation": e.stream, "seq": r.seq }),
            ),
            body => {
                let name = body.type_name();
                let mut tagged = json!(body);
                event(name, tagged["data"].take())
            }
        },
        Output::Response { id, result } => match result {
            Ok(v) => json!({ "response": id, "ok": v }),
            Err(e) => json!({ "response": id, "error": { "code": e.code, "message": e.message } }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_fields_override_the_defaults_and_bad_text_keeps_them() {
        let c = parse_config(r#"{"windowMs":null,"tokenLeadMs":5000,"watchCap":3}"#);
        assert_eq!(c.window_ms, None);
        assert_eq!(c.token_lead_ms, 5000);
        assert_eq!(c.watch_cap, 3);
        assert_eq!(c.request_timeout_ms, Config::default().request_timeout_ms);
        assert_eq!(parse_config("not json"), Config::default());
        assert_eq!(parse_config(r#"{"windowMs":-5}"#).window_ms, Some(0));
    }

    #[test]
    fn a_new_core_asks_to_connect_and_names_its_state() {
        let mut core = Core::new("not-a-token".into(), "{}", 1, 2, 1000.0);
        let drained: Value = serde_json::from_str(&core.drain()).expect("drain is JSON");
        assert_eq!(drained["outputs"][0]["event"], "connectionStateChanged");
        assert_eq!(drained["timeout"], 1000);
        core.timeout(1000.0);
        let drained: Value = serde_json::from_str(&core.drain()).expect("drain is JSON");
        assert_eq!(drained["transmits"][0], json!({ "connect": true }));
        assert_eq!(core.connection_state(), "connecting");
        assert!(core.request("conversation.get", "{", 1000.0).is_err());
    }
}
