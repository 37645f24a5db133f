//! The WebSocket side of every socket this server accepts (the realtime sessions and the
//! conformance echo): reading a message into what the session makes of it, writes bounded by
//! a deadline, the `close` sequence, and failing a connection whose client broke WebSocket.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use confab_protocol::frame::{CloseReason, ServerFrame};
use confab_server_core::Read;
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use tokio::sync::watch;
use tokio::time::timeout;

/// A socket's write half.
pub(crate) type Sink = SplitSink<WebSocket, Message>;

/// What a read error means.
pub(crate) enum Broken {
    /// The client broke WebSocket: the close code to fail the connection with, and why.
    Violation(u16, String),
    /// A frame or message over the size limit.
    TooLarge(String),
    /// The connection is gone.
    Gone,
}

/// Reads a read error as [`Broken`].
pub(crate) fn broken(e: axum::Error) -> Broken {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = e.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Utf8(_)) => {
            Broken::Violation(1007, format!("text that is not UTF-8: {inner}"))
        }
        Some(WsError::Protocol(_)) => Broken::Violation(1002, inner.to_string()),
        Some(WsError::Capacity(_)) => Broken::TooLarge(format!("unreadable frame: {inner}")),
        _ => Broken::Gone,
    }
}

/// What a realtime session makes of the next thing its socket's read half gave.
pub(crate) fn read(next: Option<Result<Message, axum::Error>>) -> Read {
    match next {
        None => Read::Gone,
        Some(Ok(Message::Close(_))) => Read::Closed,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Read::Control,
        Some(Ok(Message::Binary(_))) => {
            Read::Bad("binary frames are not part of the protocol".into())
        }
        Some(Ok(Message::Text(t))) => Read::Text(t.as_str().to_owned()),
        Some(Err(e)) => match broken(e) {
            Broken::Violation(code, why) => Read::Broken(code, why),
            Broken::TooLarge(why) => Read::Bad(why),
            Broken::Gone => Read::Gone,
        },
    }
}

/// Sends what is left to say (`answers`, then the `close` frame) and the WebSocket close,
/// giving up after a second: a peer that does not read by then will not.
pub(crate) async fn send_close(
    sink: &mut Sink,
    answers: Vec<String>,
    reason: CloseReason,
    code: u32,
    message: String,
) {
    let frame = ServerFrame::Close {
        code,
        reason,
        message,
    };
    let _ = timeout(Duration::from_secs(1), async {
        for t in answers {
            sink.feed(Message::Text(t.into())).await?;
        }
        sink.send(Message::Text(frame.encode().into())).await?;
        sink.send(Message::Close(Some(CloseFrame {
            code: reason.ws_code(),
            reason: reason.as_str().into(),
        })))
        .await
    })
    .await;
}

/// Fails a connection whose client broke WebSocket: a WebSocket close with `ws_code`, given a
/// second to leave.
pub(crate) async fn fail(sink: &mut Sink, ws_code: u16, why: String) {
    tracing::debug!(ws_code, %why, "realtime: a client broke WebSocket");
    let frame = CloseFrame {
        code: ws_code,
        reason: match ws_code {
            1007 => "text that is not UTF-8",
            1009 => "message too big",
            _ => "WebSocket protocol violation",
        }
        .into(),
    };
    let _ = timeout(
        Duration::from_secs(1),
        sink.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Answers the peer's close (queued by the WebSocket library when it read it), giving up
/// after a second.
pub(crate) async fn close_back(sink: &mut Sink) {
    let _ = timeout(Duration::from_secs(1), sink.close()).await;
}

/// Resolves when the server starts stopping (holding no lock across the wait).
pub(crate) async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// One socket write, abandoned when `ended` changes or the deadline passes; false then.
pub(crate) async fn io<T: Send + Sync>(
    ended: &mut watch::Receiver<T>,
    deadline: Duration,
    write: impl Future<Output = Result<(), axum::Error>>,
) -> bool {
    let mut write = std::pin::pin!(write);
    // Nearly every write completes at once, the socket having room: it then costs no timer and
    // no wait on the ending, which were a tenth of the writer's time per delivery.
    let first = std::future::poll_fn(|cx| match write.as_mut().poll(cx) {
        Poll::Ready(r) => Poll::Ready(Some(r)),
        Poll::Pending => Poll::Ready(None),
    })
    .await;
    if let Some(r) = first {
        return r.is_ok();
    }
    // The wait (a timer and the ending's notification) is boxed: a few hundred bytes that
    // every session's task would otherwise carry for good.
    Box::pin(async move {
        tokio::select! {
            biased;
            _ = ended.changed() => false,
            r = timeout(deadline, write) => matches!(r, Ok(Ok(()))),
        }
    })
    .await
}
