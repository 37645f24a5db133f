use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

use crate::support::{PROMPTLY, assert_echoes, connect, echo_behind_proxy, read_exactly};

#[tokio::test]
async fn bytes_pass_through_both_ways() {
    let (echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;

    assert_echoes(&mut client, b"hello").await;

    assert_eq!(proxy.open_connections(), 1);
    assert_eq!(proxy.accepted_connections(), 1);
    assert_eq!(echo.accepted(), 1);
}

#[tokio::test]
async fn large_payloads_pass_through_intact() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let client = connect(&proxy).await;
    // Several read buffers' worth, written while reading so neither side blocks the other.
    let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mut read, mut write) = client.into_split();
    let sent = payload.clone();
    let writer = tokio::spawn(async move { write.write_all(&sent).await.unwrap() });

    let mut echoed = vec![0; payload.len()];
    timeout(PROMPTLY, read.read_exact(&mut echoed))
        .await
        .unwrap()
        .unwrap();

    assert!(echoed == payload, "payload came back altered");
    writer.await.unwrap();
}

#[tokio::test]
async fn half_close_is_forwarded_after_the_data() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;

    client.write_all(b"last words").await.unwrap();
    client.shutdown().await.unwrap();

    // The echo server sees end-of-stream after the bytes, echoes them and closes in turn.
    assert_eq!(read_exactly(&mut client, 10).await, b"last words");
    let mut rest = Vec::new();
    timeout(PROMPTLY, client.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    timeout(PROMPTLY, proxy.wait_open_connections(0))
        .await
        .unwrap();
}
