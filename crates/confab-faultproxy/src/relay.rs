//! One connection through the proxy: connect upstream, then pump bytes both ways under the
//! proxy's current faults until either side closes, something fails, or the connection is cut.
//!
//! Each direction is a reader and a writer joined by a bounded queue of timestamped chunks. The
//! reader reads as fast as the queue allows; the writer holds each chunk until it is due and
//! the proxy is not stalled. Keeping the two apart is what makes a delay pure latency: a chunk
//! waits for its own due time, not behind the full delay of every chunk before it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::{self, Instant};

use crate::{OpenGuard, Shared};

/// The most bytes read from a socket at once.
const READ_BUF_BYTES: usize = 16 * 1024;

/// The most chunks held per direction (read but not yet written), bounding the proxy's memory
/// per connection when it is stalled or delayed; past this, bytes wait in the kernel.
const CHUNKS_IN_FLIGHT: usize = 64;

/// Relays one accepted client connection until it ends or `cuts` changes. `_open` keeps the
/// connection counted as open until this returns or is aborted.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    client: TcpStream,
    mut cuts: watch::Receiver<u64>,
    _open: OpenGuard,
) {
    let peer = client.peer_addr().ok();
    let timing = Timing {
        stalled: shared.stalled.subscribe(),
        delay: shared.delay.subscribe(),
    };
    tokio::select! {
        // Dropping `relay` drops both sockets, wherever it was waiting.
        _ = cuts.changed() => tracing::debug!(?peer, "connection cut"),
        result = relay(shared.upstream(), client, timing) => match result {
            Ok(()) => tracing::debug!(?peer, "connection closed"),
            Err(error) => tracing::debug!(?peer, %error, "connection ended"),
        },
    }
}

/// Connects upstream (once not stalled) and pumps both directions until both have closed or
/// either fails. The client is closed when this returns, including when upstream cannot be
/// reached.
async fn relay(upstream: SocketAddr, client: TcpStream, mut timing: Timing) -> io::Result<()> {
    // A stalled link carries no handshake either.
    timing.wait_while_stalled().await?;
    let upstream = TcpStream::connect(upstream).await?;
    // Forward each chunk as soon as it is due; Nagle's algorithm would add delays of its own.
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    tokio::try_join!(
        pump(client_read, upstream_write, timing.clone()),
        pump(upstream_read, client_write, timing),
    )?;
    Ok(())
}

/// Bytes read from one side, waiting to be written to the other. Empty means end-of-stream.
struct Chunk {
    read_at: Instant,
    bytes: Vec<u8>,
}

/// Forwards one direction, end-of-stream included (as a write shutdown), under `timing`.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut timing: Timing,
) -> io::Result<()> {
    let (queue, mut chunks) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let read = async move {
        let mut buf = vec![0; READ_BUF_BYTES];
        loop {
            let n = from.read(&mut buf).await?;
            let chunk = Chunk {
                read_at: Instant::now(),
                bytes: buf[..n].to_vec(),
            };
            // The writer only goes away by failing, which ends the whole pump anyway.
            if queue.send(chunk).await.is_err() || n == 0 {
                return Ok::<(), io::Error>(());
            }
        }
    };
    let write = async move {
        while let Some(chunk) = chunks.recv().await {
            timing.wait_until_due(chunk.read_at).await?;
            if chunk.bytes.is_empty() {
                return to.shutdown().await;
            }
            to.write_all(&chunk.bytes).await?;
        }
        Ok(())
    };
    tokio::try_join!(read, write)?;
    Ok(())
}

/// One task's view of the proxy's stall and delay settings.
#[derive(Clone)]
struct Timing {
    stalled: watch::Receiver<bool>,
    delay: watch::Receiver<Duration>,
}

impl Timing {
    async fn wait_while_stalled(&mut self) -> io::Result<()> {
        self.stalled
            .wait_for(|stalled| !stalled)
            .await
            .map_err(stopped)?;
        Ok(())
    }

    /// Waits until a chunk read at `read_at` is due under the current delay and the proxy is
    /// not stalled, re-evaluating whenever either setting changes.
    async fn wait_until_due(&mut self, read_at: Instant) -> io::Result<()> {
        loop {
            let stalled = *self.stalled.borrow_and_update();
            // A delay too long to represent is never due; only a new setting ends the wait.
            let due = read_at.checked_add(*self.delay.borrow_and_update());
            let now = Instant::now();
            if !stalled && due.is_some_and(|due| due <= now) {
                return Ok(());
            }
            let sleep_until = due.filter(|_| !stalled);
            tokio::select! {
                changed = self.stalled.changed() => changed.map_err(stopped)?,
                changed = self.delay.changed() => changed.map_err(stopped)?,
                () = time::sleep_until(sleep_until.unwrap_or(now)), if sleep_until.is_some() => {}
            }
        }
    }
}

/// The settings' senders are gone, which means the proxy is shutting down.
fn stopped(_: watch::error::RecvError) -> io::Error {
    io::Error::other("fault proxy stopped")
}
