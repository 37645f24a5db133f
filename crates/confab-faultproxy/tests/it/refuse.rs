use tokio::time::timeout;

use crate::support::{
    PROMPTLY, assert_connection_refused, assert_echoes, connect, echo_behind_proxy,
};

#[tokio::test]
async fn refused_connections_never_reach_upstream_while_open_ones_keep_working() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut old = connect(&proxy).await;
    assert_echoes(&mut old, b"before").await;

    proxy.refuse_new(true);
    assert_connection_refused(&proxy).await;

    timeout(PROMPTLY, proxy.wait_accepted_connections(2))
        .await
        .unwrap();
    assert_eq!(proxy.open_connections(), 1);
    assert_eq!(echo.accepted(), 1);
    assert_echoes(&mut old, b"during").await;

    proxy.refuse_new(false);
    let mut new = connect(&proxy).await;
    assert_echoes(&mut new, b"after").await;
    assert_eq!(echo.accepted(), 2);
}

#[tokio::test]
async fn refused_attempts_count_as_accepted_but_never_open() {
    let (_echo, proxy) = echo_behind_proxy().await;
    proxy.refuse_new(true);

    assert_connection_refused(&proxy).await;
    assert_connection_refused(&proxy).await;

    timeout(PROMPTLY, proxy.wait_accepted_connections(2))
        .await
        .unwrap();
    assert_eq!(proxy.open_connections(), 0);
}
