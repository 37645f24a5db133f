use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use crate::support::{
    PROMPTLY, assert_closed, assert_echoes, assert_nothing_arrives, connect, echo_behind_proxy,
};

#[tokio::test]
async fn cut_all_closes_open_connections_promptly() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut first = connect(&proxy).await;
    let mut second = connect(&proxy).await;
    assert_echoes(&mut first, b"one").await;
    assert_echoes(&mut second, b"two").await;

    proxy.cut_all();

    assert_closed(&mut first).await;
    assert_closed(&mut second).await;
    timeout(PROMPTLY, proxy.wait_open_connections(0))
        .await
        .unwrap();
}

#[tokio::test]
async fn cut_all_closes_stalled_and_delayed_connections() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stalled = connect(&proxy).await;
    assert_echoes(&mut stalled, b"ping").await;

    proxy.stall();
    stalled.write_all(b"held").await.unwrap();
    assert_nothing_arrives(&mut stalled).await;
    proxy.cut_all();
    assert_closed(&mut stalled).await;
    timeout(PROMPTLY, proxy.wait_open_connections(0))
        .await
        .unwrap();

    proxy.resume();
    proxy.set_delay(Duration::from_secs(3600));
    let mut delayed = connect(&proxy).await;
    delayed.write_all(b"late").await.unwrap();
    timeout(PROMPTLY, proxy.wait_accepted_connections(2))
        .await
        .unwrap();
    proxy.cut_all();
    assert_closed(&mut delayed).await;
}

#[tokio::test]
async fn new_connections_work_after_a_cut() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut before = connect(&proxy).await;
    assert_echoes(&mut before, b"before").await;

    proxy.cut_all();
    assert_closed(&mut before).await;

    let mut after = connect(&proxy).await;
    assert_echoes(&mut after, b"after").await;
    assert_eq!(proxy.accepted_connections(), 2);
}
