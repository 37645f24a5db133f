//! Accepting connections so that no flood can take the server's file descriptors.
//!
//! - A cap on open connections, kept below the process's open-file limit: past it a
//!   connection gets a bare `503` and is closed at once, so the descriptors the store needs
//!   (SQLite's files, PostgreSQL's sockets) are never starved by clients.
//! - A deadline on every request head, the first on a connection included: a connection that
//!   opens and says nothing (or dribbles its headers) is closed. After a WebSocket upgrade the
//!   realtime hello deadline takes over. Kept-alive connections idle past it are closed too.
//! - A deadline on writes that wait for a peer that stopped reading ([`WRITE_STALL`]), so a
//!   deaf client does not hold a place under the cap (one that reads a byte now and then
//!   still can, as long as it keeps doing so).
//! - Graceful shutdown: stop accepting, let in-flight requests finish.
//!
//! `axum::serve` offers neither a cap nor a head deadline (it sets no timer), hence this
//! small loop over hyper, as axum's own "serve with hyper" example does.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Descriptors kept free for the rest of the process when the cap is derived from the
/// open-file limit: the store, log files, outgoing connections, a margin.
const RESERVED_FILES: u64 = 1_000;

/// The listen backlog asked for (the kernel caps it at `net.core.somaxconn`). When a storm of
/// clients reconnects at once, a short queue overflows and Linux drops the handshake's last
/// ACK: the client believes it is connected while the server never saw it, and a silent
/// client then waits forever. A long queue rides out the burst while the loop accepts.
const LISTEN_BACKLOG: u32 = 8_192;

/// What a refused connection reads before it is closed.
const FULL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\n\
    content-length: 0\r\nconnection: close\r\n\r\n";

/// Binds `addr` with a long listen backlog.
pub(crate) fn bind(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server must not wait out TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Raises the soft open-file limit to the hard one and returns it (or the current limit if
/// it cannot be raised); a server holds one descriptor per connection.
pub fn raise_open_file_limit() -> u64 {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1_024);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(now) => {
            tracing::info!(limit = now, before, "open-file limit");
            now
        }
        Err(e) => {
            tracing::warn!(limit = before, error = %e, "open-file limit could not be raised");
            before
        }
    }
}

/// The connection cap for an open-file limit: all but a reserve (a quarter of a small limit).
pub fn connection_cap(open_files: u64) -> usize {
    let reserve = RESERVED_FILES.min(open_files / 4);
    usize::try_from(open_files.saturating_sub(reserve)).unwrap_or(usize::MAX)
}

/// Counts open connections against the cap.
#[derive(Debug)]
pub(crate) struct Gate {
    max: usize,
    open: AtomicUsize,
    refused: AtomicU64,
    /// Set while refusing, so a flood logs once when it starts, not once per connection.
    full: AtomicBool,
    /// Told whenever a connection opens or closes (for [`Gate::wait_open`]).
    changed: tokio::sync::Notify,
}

impl Gate {
    pub(crate) fn new(max: usize) -> Arc<Gate> {
        Arc::new(Gate {
            max,
            open: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            full: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// Waits until exactly `n` connections are open, at most `within`; true if so.
    pub(crate) async fn wait_open(&self, n: usize, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a change right after it is not missed.
            notified.as_mut().enable();
            if self.open() == n {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.open() == n;
            }
        }
    }

    /// Connections refused so far because the cap was reached.
    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn enter(self: &Arc<Self>) -> Option<Slot> {
        let entered = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        if entered {
            if self.full.swap(false, Ordering::Relaxed) {
                tracing::info!(max = self.max, "accepting connections again");
            }
            self.changed.notify_waiters();
            return Some(Slot(self.clone()));
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        if !self.full.swap(true, Ordering::Relaxed) {
            tracing::warn!(max = self.max, "connection cap reached: refusing with 503");
        }
        None
    }
}

/// One open connection's place under the cap, given back when its socket closes.
struct Slot(Arc<Gate>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

/// How long a write may wait for a peer that stopped reading before the connection is
/// dropped, by default. The head deadline guards reads only: without this, a client that
/// pipelines requests and never reads the answers would hold its slot (and the server's
/// shutdown) for good. Realtime sessions have their own, shorter write deadline.
pub const WRITE_STALL: Duration = Duration::from_secs(30);

/// A socket that holds its slot: after a WebSocket upgrade the socket outlives hyper's
/// connection task, and the slot must live exactly as long as the descriptor. It also gives
/// up on a write that has waited `write_stall` ([`WRITE_STALL`] by default).
struct Counted {
    stream: TcpStream,
    _slot: Slot,
    write_stall: Duration,
    /// Armed while a write waits for the peer to read.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Counted {
    /// Passes a write's outcome on; a pending write arms (or checks) the stall deadline.
    fn writing<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if r.is_ready() {
            self.stall = None;
            return r;
        }
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(self.write_stall)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.writing(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.writing(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` until `stop` resolves, then waits for in-flight requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    gate: Arc<Gate>,
    head_timeout: Duration,
    write_stall: Duration,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
    // Each connection task holds `closed`'s receiver; once the last is gone, all are done.
    let (stopping, stop_signal) = tokio::sync::watch::channel(());
    let (closed, open_tasks) = tokio::sync::watch::channel(());
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some(slot) = gate.enter() else {
            refuse(stream);
            continue;
        };
        // Frames are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Counted {
            stream,
            _slot: slot,
            write_stall,
            stall: None,
        });
        let conn = http
            .serve_connection(io, TowerToHyperService::new(router.clone()))
            .with_upgrades();
        let (mut stop_signal, open) = (stop_signal.clone(), open_tasks.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            // A client that goes away mid-request is its own business: results are dropped.
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_signal.changed() => {
                    // In-flight requests finish; idle kept-alive connections close now.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    stopping.send_replace(());
    drop(open_tasks);
    closed.closed().await;
    Ok(())
}

/// Answers `503` and closes, never waiting. Direct syscalls on the socket (not tokio's,
/// which would wait for readiness it has not seen yet on a fresh socket). What the client
/// already sent is read first: closing a socket with unread bytes sends a reset, which can
/// destroy the answer before the client reads it.
fn refuse(stream: TcpStream) {
    use std::io::{Read, Write};
    let Ok(mut s) = stream.into_std() else { return };
    // At most 64 KiB: this runs on the accept loop, which must not be held by a client
    // that keeps streaming into a refused socket.
    let mut scratch = [0u8; 4096];
    for _ in 0..16 {
        if !matches!(s.read(&mut scratch), Ok(n) if n == scratch.len()) {
            break;
        }
    }
    let _ = s.write(FULL);
}

/// Accept errors other than a connection's own are about this process (out of descriptors,
/// out of memory); waiting a moment lets closing connections free what is short.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 50 ms");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_a_reserve() {
        assert_eq!(connection_cap(20_000), 19_000);
        assert_eq!(connection_cap(1_024), 768);
        assert_eq!(connection_cap(0), 0);
    }

    #[test]
    fn slots_are_given_back() {
        let gate = Gate::new(2);
        let a = gate.enter().expect("room");
        let b = gate.enter().expect("room");
        assert!(gate.enter().is_none());
        assert_eq!((gate.open(), gate.refused()), (2, 1));
        drop(a);
        let c = gate.enter().expect("room again");
        drop((b, c));
        assert_eq!(gate.open(), 0);
    }
}
