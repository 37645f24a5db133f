//! An echo server to proxy to, and client helpers with timeouts.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use confab_faultproxy::FaultProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Bound on waiting for something that should happen; generous for a loaded machine.
pub const PROMPTLY: Duration = Duration::from_secs(10);

/// How long a test watches for something that must not happen.
pub const ABSENCE: Duration = Duration::from_millis(200);

/// Echoes every byte back on each connection, and closes its side after the client's
/// end-of-stream. Stops on drop.
pub struct EchoServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl EchoServer {
    pub async fn start() -> EchoServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                connections.spawn(async move {
                    let (mut read, mut write) = stream.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        EchoServer {
            addr,
            accepted,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections the echo server has accepted, i.e. that reached upstream.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An echo server with a proxy in front of it.
pub async fn echo_behind_proxy() -> (EchoServer, FaultProxy) {
    let echo = EchoServer::start().await;
    let proxy = FaultProxy::start(echo.addr()).await.unwrap();
    (echo, proxy)
}

pub async fn connect(proxy: &FaultProxy) -> TcpStream {
    timeout(PROMPTLY, TcpStream::connect(proxy.local_addr()))
        .await
        .unwrap()
        .unwrap()
}

/// Sends `message` and reads the same bytes back.
pub async fn assert_echoes(stream: &mut TcpStream, message: &[u8]) {
    stream.write_all(message).await.unwrap();
    let echoed = read_exactly(stream, message.len()).await;
    assert_eq!(echoed, message);
}

/// Reads exactly `len` bytes, failing the test if they do not come promptly.
pub async fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    timeout(PROMPTLY, stream.read_exact(&mut buf))
        .await
        .expect("bytes did not arrive in time")
        .unwrap();
    buf
}

/// Asserts no bytes arrive within [`ABSENCE`] and the connection stays open.
pub async fn assert_nothing_arrives(stream: &mut TcpStream) {
    let mut buf = [0; 64];
    if let Ok(read) = timeout(ABSENCE, stream.read(&mut buf)).await {
        panic!("expected silence, read {read:?}");
    }
}

/// Asserts the connection is closed promptly: a read returns end-of-stream or an error.
pub async fn assert_closed(stream: &mut TcpStream) {
    let mut buf = [0; 64];
    match timeout(PROMPTLY, stream.read(&mut buf)).await {
        Err(_) => panic!("connection was not closed in time"),
        Ok(Ok(0) | Err(_)) => {}
        Ok(Ok(n)) => panic!("expected the connection closed, read {n} bytes"),
    }
}

/// Connects to a proxy that refuses new connections and asserts the attempt fails promptly:
/// the reset may surface from `connect` itself or from the first read.
pub async fn assert_connection_refused(proxy: &FaultProxy) {
    let connected = timeout(PROMPTLY, TcpStream::connect(proxy.local_addr()))
        .await
        .expect("connect did not finish in time");
    if let Ok(mut stream) = connected {
        assert_closed(&mut stream).await;
    }
}
