//! A light realtime connection for load: frames are written as text and read by looking for
//! a few markers, never parsed whole, so that the generator is not the bottleneck.

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// A connection's writing half.
pub type Writer = SplitSink<Ws, Message>;
/// A connection's reading half.
pub type Reader = SplitStream<Ws>;

/// How long a connection may take to be welcomed.
const WELCOME_WITHIN: Duration = Duration::from_secs(60);

/// Opens a realtime session for `token` at `ws` (`ws://host:port`) and waits for `welcome`.
pub async fn open(ws: &str, token: &str) -> Result<(Writer, Reader), String> {
    let mut req = format!("{ws}/v1/realtime")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("confab.v1.json"),
    );
    // Small buffers: tungstenite's default 128 KiB read buffer per connection would make the
    // generator, not the server, the memory hog of a 15,000-connection run.
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let connect = tokio_tungstenite::connect_async_with_config(req, Some(config), true);
    let (ws, _) = tokio::time::timeout(WELCOME_WITHIN, connect)
        .await
        .map_err(|_| "connect timed out")?
        .map_err(|e| format!("connect: {e}"))?;
    let (mut writer, mut reader) = ws.split();
    let hello = serde_json::json!({"op": "hello", "token": token, "sdk": "confab-bench"});
    writer
        .send(Message::Text(hello.to_string().into()))
        .await
        .map_err(|e| format!("hello: {e}"))?;
    let first = tokio::time::timeout(WELCOME_WITHIN, reader.next())
        .await
        .map_err(|_| "no welcome within 60 s")?;
    match first {
        Some(Ok(Message::Text(t))) if t.starts_with(r#"{"op":"welcome""#) => Ok((writer, reader)),
        other => Err(format!("not welcomed: {other:?}")),
    }
}

/// A `message.send` request as the SDK makes it: with an `op_id` (the time in milliseconds,
/// then 80 random bits, as the SDK's), so that the server does the de-duplication work every
/// real send costs.
pub fn send_message(id: u64, conversation: &str, body: &str) -> Message {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let op_id = format!(
        "{:012x}{:020x}",
        millis & 0xffff_ffff_ffff,
        rand::random::<u128>() & ((1 << 80) - 1)
    );
    Message::Text(
        serde_json::json!({
            "op": "req",
            "id": id,
            "op_id": op_id,
            "method": "message.send",
            "params": {"conversation": conversation, "body": body},
        })
        .to_string()
        .into(),
    )
}

/// A `ping` frame, which keeps an otherwise silent connection from being dropped.
pub fn ping() -> Message {
    Message::Text(r#"{"op":"ping","t":0}"#.into())
}

/// What a frame is, as far as load accounting needs to know.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// A `messageAdded` event whose body starts with a send-time stamp (`t` and microseconds).
    Message {
        /// The stamp.
        sent_us: u64,
    },
    /// A `res` with its `id`, and whether it carries an error.
    Answer {
        /// The request's id.
        id: u64,
        /// An error answer (a refusal, such as 20429).
        error: bool,
    },
    /// Anything else.
    Other,
}

/// Classifies a server frame by its markers.
pub fn classify(frame: &str) -> Seen {
    if frame.starts_with(r#"{"op":"event""#) {
        if frame.contains(r#""type":"messageAdded""#)
            && let Some(at) = frame.find(r#""body":"t"#)
        {
            let digits = &frame[at + 9..];
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            if let Ok(sent_us) = digits[..end].parse() {
                return Seen::Message { sent_us };
            }
        }
        return Seen::Other;
    }
    if frame.starts_with(r#"{"op":"res""#) {
        let id = frame
            .find(r#""id":"#)
            .map(|at| &frame[at + 5..])
            .and_then(|d| {
                let end = d.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.len());
                d[..end].parse().ok()
            });
        if let Some(id) = id {
            return Seen::Answer {
                id,
                error: frame.contains(r#""error":{"#),
            };
        }
    }
    Seen::Other
}

/// A message body of `len` bytes stamped with its send time: `t<micros>:xxxx…`.
pub fn stamped_body(sent_us: u64, len: usize) -> String {
    let mut body = format!("t{sent_us}:");
    while body.len() < len {
        body.push('x');
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_classified_by_their_markers() {
        let body = stamped_body(1234567, 64);
        assert_eq!(body.len(), 64);
        let event = format!(
            r#"{{"op":"event","stream":"CH1","seq":3,"type":"messageAdded","data":{{"index":2,"body":"{body}"}}}}"#
        );
        assert_eq!(classify(&event), Seen::Message { sent_us: 1234567 });
        assert_eq!(
            classify(r#"{"op":"res","id":42,"result":{"index":1}}"#),
            Seen::Answer {
                id: 42,
                error: false
            }
        );
        assert_eq!(
            classify(r#"{"op":"res","id":7,"error":{"code":20429,"status":429,"message":"x"}}"#),
            Seen::Answer { id: 7, error: true }
        );
        assert_eq!(classify(r#"{"op":"pong","t":0}"#), Seen::Other);
        assert_eq!(
            classify(r#"{"op":"event","stream":"user","seq":1,"type":"userUpdated","data":{}}"#),
            Seen::Other
        );
    }
}
