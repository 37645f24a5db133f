use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use crate::support::{
    assert_echoes, assert_nothing_arrives, connect, echo_behind_proxy, read_exactly,
};

#[tokio::test]
async fn delayed_bytes_arrive_in_order() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;
    assert_echoes(&mut client, b"warm up").await;
    let delay = Duration::from_millis(50);
    proxy.set_delay(delay);

    let started = Instant::now();
    let mut sent = Vec::new();
    for i in 0..50u8 {
        let message = [b'<', i, b'>'];
        client.write_all(&message).await.unwrap();
        sent.extend_from_slice(&message);
    }
    let echoed = read_exactly(&mut client, sent.len()).await;

    assert_eq!(echoed, sent);
    // Delayed on the way to the echo server and again on the way back.
    assert!(
        started.elapsed() >= 2 * delay,
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn removing_the_delay_releases_held_bytes_at_once() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;
    proxy.set_delay(Duration::from_secs(3600));

    client.write_all(b"stuck").await.unwrap();
    assert_nothing_arrives(&mut client).await;

    proxy.set_delay(Duration::ZERO);
    assert_eq!(read_exactly(&mut client, 5).await, b"stuck");
}

#[tokio::test]
async fn an_unrepresentable_delay_holds_bytes_until_changed() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut client = connect(&proxy).await;
    proxy.set_delay(Duration::MAX);

    client.write_all(b"forever").await.unwrap();
    assert_nothing_arrives(&mut client).await;

    proxy.set_delay(Duration::ZERO);
    assert_eq!(read_exactly(&mut client, 7).await, b"forever");
}
