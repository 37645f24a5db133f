//! A fault-injecting TCP proxy for end-to-end tests: it stands in for a bad network between a
//! client and the server.
//!
//! [`FaultProxy::start`] listens on `127.0.0.1:0` and relays every connection it accepts to an
//! upstream address (normally a test server). Point the client at [`FaultProxy::local_addr`]
//! instead of the server, then make the network misbehave:
//!
//! - [`FaultProxy::cut_all`] closes every open connection at once, as a dropped link would;
//! - [`FaultProxy::stall`] holds all bytes in both directions without closing anything, until
//!   [`FaultProxy::resume`]: a silent link, the case heartbeats and deadlines exist for;
//! - [`FaultProxy::set_delay`] adds one-way latency to everything forwarded, keeping byte order;
//! - [`FaultProxy::refuse_new`] resets new connections before they reach upstream, leaving the
//!   open ones alone: a server that cannot be reached;
//! - [`FaultProxy::set_upstream`] sends new connections elsewhere: a load balancer failing over.
//!
//! [`FaultProxy::open_connections`] and [`FaultProxy::accepted_connections`] report what the
//! proxy has seen, and [`FaultProxy::wait_open_connections`] and
//! [`FaultProxy::wait_accepted_connections`] await a count, so tests wait on events rather than
//! sleep. Dropping the [`FaultProxy`] stops it and closes every connection through it.
//!
//! ```
//! # async fn example() -> std::io::Result<()> {
//! use std::time::Duration;
//! use confab_faultproxy::FaultProxy;
//!
//! let server = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let proxy = FaultProxy::start(server.local_addr()?).await?;
//! let _client = tokio::net::TcpStream::connect(proxy.local_addr()).await?;
//! tokio::time::timeout(Duration::from_secs(5), proxy.wait_open_connections(1)).await?;
//!
//! proxy.stall(); // the client's heartbeats now go unanswered...
//! proxy.resume();
//! proxy.cut_all(); // ...and now its connection is gone.
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new()?.block_on(example())?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How the pieces fit
//!
//! This file holds the handle and the accept loop. The fault settings live in `tokio::sync::watch`
//! channels, so changing one wakes every task that waits on it at once; nothing polls. The accept
//! task owns a [`JoinSet`] with one task per connection, so aborting the accept task (which
//! dropping the handle does) aborts them all. The `relay` module is one connection: it connects
//! upstream, then pumps each direction through a reader and a writer joined by a small bounded
//! queue. The writer holds each chunk until it is due (the time it was read plus the current
//! delay) and for as long as the proxy is stalled; cutting drops the whole connection, wherever
//! it is waiting.

mod relay;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long the accept loop backs off after the listener reports an error (such as running out
/// of file descriptors), so that a persistent error does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// A running fault-injecting proxy in front of one upstream address.
///
/// All methods take `&self` and are cheap: they flip shared state that the proxy's tasks watch.
/// Dropping the handle stops the proxy: the listener closes, and every connection through it is
/// closed as its task is aborted.
pub struct FaultProxy {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    accept_task: JoinHandle<()>,
}

/// State shared by the handle, the accept loop and every connection task.
struct Shared {
    /// Where new connections go; see [`FaultProxy::set_upstream`].
    upstream: std::sync::Mutex<SocketAddr>,
    /// Whether traffic is held; see [`FaultProxy::stall`].
    stalled: watch::Sender<bool>,
    /// Latency added to every chunk; see [`FaultProxy::set_delay`].
    delay: watch::Sender<Duration>,
    /// Bumped by every [`FaultProxy::cut_all`]; each connection subscribes when it is accepted
    /// and ends when the value changes.
    cuts: watch::Sender<u64>,
    refuse_new: AtomicBool,
    counts: watch::Sender<Counts>,
}

impl Shared {
    fn upstream(&self) -> SocketAddr {
        *self
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    open: usize,
    accepted: u64,
}

impl FaultProxy {
    /// Starts a proxy listening on `127.0.0.1:0` that relays every connection to `upstream`.
    ///
    /// The upstream is only connected to when a client connects, so it need not be listening
    /// yet. The proxy starts with no fault: not stalled, no delay, accepting connections.
    ///
    /// # Errors
    ///
    /// Fails if the listener cannot be bound.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultProxy> {
        // A long backlog: thousands of clients reconnecting at once after a cut would
        // overflow the default 1,024 and be left half-open (see the server's listener).
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind((Ipv4Addr::LOCALHOST, 0).into())?;
        let listener = socket.listen(8_192)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: std::sync::Mutex::new(upstream),
            stalled: watch::Sender::new(false),
            delay: watch::Sender::new(Duration::ZERO),
            cuts: watch::Sender::new(0),
            refuse_new: AtomicBool::new(false),
            counts: watch::Sender::new(Counts::default()),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::debug!(%local_addr, %upstream, "fault proxy started");
        Ok(FaultProxy {
            shared,
            local_addr,
            accept_task,
        })
    }

    /// Sends new connections to `upstream` from now on, leaving the open ones where they
    /// are: a load balancer failing over to another node.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self
            .shared
            .upstream
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = upstream;
    }

    /// The address clients should connect to instead of the upstream.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Cuts every open connection now, including stalled and delayed ones: bytes the proxy still
    /// holds are discarded and both sockets (to the client and to upstream) are closed.
    ///
    /// The close is an ordinary one, not a forced reset: each peer reads end-of-stream, or a
    /// connection reset if its peer socket in the proxy still had unread bytes (the kernel's
    /// rule). Every connection counted by [`open_connections`](Self::open_connections) when
    /// this is called is cut; the proxy keeps accepting new connections afterwards. A client
    /// whose connection is still in the listener's backlog, not yet accepted by the proxy, is
    /// not cut: wait for the count first if that matters.
    pub fn cut_all(&self) {
        tracing::debug!(local_addr = %self.local_addr, "cutting all connections");
        self.shared
            .cuts
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// Stalls all traffic without closing anything, until [`resume`](Self::resume).
    ///
    /// Bytes in both directions are held by the proxy (and, once its bounded buffer is full, in
    /// the kernel's socket buffers) rather than forwarded; so are half-closes. Connections stay
    /// open. Connections accepted while stalled are stalled too, and are not connected upstream
    /// until resumed. Bytes the proxy had already started writing when this is called finish.
    pub fn stall(&self) {
        tracing::debug!(local_addr = %self.local_addr, "stalling traffic");
        self.shared.stalled.send_replace(true);
    }

    /// Ends a [`stall`](Self::stall): held bytes are forwarded at once, in order (subject to any
    /// [delay](Self::set_delay)), and traffic flows again.
    pub fn resume(&self) {
        tracing::debug!(local_addr = %self.local_addr, "resuming traffic");
        self.shared.stalled.send_replace(false);
    }

    /// Sets a one-way delay for every chunk forwarded, in both directions; [`Duration::ZERO`]
    /// removes it.
    ///
    /// This is latency, not a throughput limit: each chunk is forwarded `d` after the proxy read
    /// it, and chunks read in quick succession stay close together. Byte order is preserved.
    /// The new delay applies at once to chunks already waiting, so removing the delay releases
    /// them immediately.
    pub fn set_delay(&self, d: Duration) {
        tracing::debug!(local_addr = %self.local_addr, delay = ?d, "setting delay");
        self.shared.delay.send_replace(d);
    }

    /// While `refuse` is true, new incoming connections are accepted and immediately reset,
    /// and never reach upstream; open connections are unaffected.
    ///
    /// A refused client sees its connection reset (or end-of-stream) on its first read or
    /// write, since the TCP handshake with the proxy itself has already completed.
    pub fn refuse_new(&self, refuse: bool) {
        tracing::debug!(local_addr = %self.local_addr, refuse, "refusing new connections");
        self.shared.refuse_new.store(refuse, Ordering::SeqCst);
    }

    /// The number of connections currently open through the proxy: accepted, not refused, and
    /// not yet closed by either side, a cut, or an upstream failure.
    pub fn open_connections(&self) -> usize {
        self.shared.counts.borrow().open
    }

    /// The number of connections the proxy has accepted so far, including the ones it refused
    /// (see [`refuse_new`](Self::refuse_new)), so a test can tell a client has tried again.
    pub fn accepted_connections(&self) -> u64 {
        self.shared.counts.borrow().accepted
    }

    /// Waits until exactly `n` connections are open through the proxy (see
    /// [`open_connections`](Self::open_connections)). Wrap it in a timeout.
    pub async fn wait_open_connections(&self, n: usize) {
        self.wait_counts(|counts| counts.open == n).await;
    }

    /// Waits until the proxy has accepted at least `n` connections in total (see
    /// [`accepted_connections`](Self::accepted_connections)). Wrap it in a timeout.
    pub async fn wait_accepted_connections(&self, n: u64) {
        self.wait_counts(|counts| counts.accepted >= n).await;
    }

    async fn wait_counts(&self, condition: impl FnMut(&Counts) -> bool) {
        let mut counts = self.shared.counts.subscribe();
        // Fails only once the sender is dropped, and `self` holds it.
        let _ = counts.wait_for(condition).await;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept task owns the listener and the JoinSet of connection tasks; dropping it
        // aborts them all, which closes their sockets.
        self.accept_task.abort();
    }
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("local_addr", &self.local_addr)
            .field("upstream", &self.shared.upstream())
            .field("stalled", &*self.shared.stalled.borrow())
            .field("delay", &*self.shared.delay.borrow())
            .field("refuse_new", &self.shared.refuse_new.load(Ordering::SeqCst))
            .field("counts", &*self.shared.counts.borrow())
            .finish()
    }
}

/// Accepts connections until aborted, refusing or relaying each one, and reaps finished
/// connection tasks as it goes.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    if shared.refuse_new.load(Ordering::SeqCst) {
                        tracing::debug!(%peer, "refusing connection");
                        shared.counts.send_modify(|counts| counts.accepted += 1);
                        // A zero linger makes the close a reset, the nearest thing to a refusal
                        // once the handshake is done; nothing has been sent, so nothing is lost.
                        if let Err(error) = client.set_zero_linger() {
                            tracing::debug!(%peer, %error, "could not set zero linger");
                        }
                        drop(client);
                        continue;
                    }
                    tracing::debug!(%peer, "accepted connection");
                    // Subscribe before counting the connection as open, so that any `cut_all`
                    // that could have seen it counted also cuts it.
                    let cuts = shared.cuts.subscribe();
                    shared.counts.send_modify(|counts| {
                        counts.accepted += 1;
                        counts.open += 1;
                    });
                    let open = OpenGuard(Arc::clone(&shared));
                    connections.spawn(relay::serve(Arc::clone(&shared), client, cuts, open));
                }
                Err(error) => {
                    tracing::warn!(%error, "fault proxy accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = finished {
                    tracing::warn!(%error, "fault proxy connection task failed");
                }
            }
        }
    }
}

/// Counts one open connection for as long as it lives; dropped when its task ends or is aborted.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.counts.send_modify(|counts| counts.open -= 1);
    }
}
