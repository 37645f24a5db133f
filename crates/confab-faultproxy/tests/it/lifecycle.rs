use std::net::{Ipv4Addr, SocketAddr};

use confab_faultproxy::FaultProxy;
use tokio::net::TcpListener;
use tokio::time::timeout;

use crate::support::{PROMPTLY, assert_closed, assert_echoes, connect, echo_behind_proxy};

#[tokio::test]
async fn dropping_the_proxy_closes_its_connections() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;
    assert_echoes(&mut client, b"alive").await;

    drop(proxy);

    assert_closed(&mut client).await;
}

#[tokio::test]
async fn an_unreachable_upstream_closes_the_client() {
    let upstream = unused_addr().await;
    let proxy = FaultProxy::start(upstream).await.unwrap();
    let mut client = connect(&proxy).await;

    assert_closed(&mut client).await;
    timeout(PROMPTLY, proxy.wait_open_connections(0))
        .await
        .unwrap();
    assert_eq!(proxy.accepted_connections(), 1);
}

/// An address nothing listens on: bound, then released.
async fn unused_addr() -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    listener.local_addr().unwrap()
}
