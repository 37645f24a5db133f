use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use crate::support::{
    PROMPTLY, assert_echoes, assert_nothing_arrives, connect, echo_behind_proxy, read_exactly,
};

#[tokio::test]
async fn stall_holds_bytes_until_resume_and_keeps_the_connection_open() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;
    assert_echoes(&mut client, b"ping").await;

    proxy.stall();
    client.write_all(b"held ").await.unwrap();
    client.write_all(b"back").await.unwrap();
    assert_nothing_arrives(&mut client).await;
    assert_eq!(proxy.open_connections(), 1);

    proxy.resume();
    assert_eq!(read_exactly(&mut client, 9).await, b"held back");
    assert_echoes(&mut client, b"still open").await;
}

#[tokio::test]
async fn connections_accepted_while_stalled_are_stalled_and_not_connected_upstream() {
    let (echo, proxy) = echo_behind_proxy().await;
    proxy.stall();

    let mut client = connect(&proxy).await;
    client.write_all(b"early").await.unwrap();
    timeout(PROMPTLY, proxy.wait_open_connections(1))
        .await
        .unwrap();
    assert_nothing_arrives(&mut client).await;
    assert_eq!(echo.accepted(), 0);

    proxy.resume();
    assert_eq!(read_exactly(&mut client, 5).await, b"early");
    assert_eq!(echo.accepted(), 1);
}
