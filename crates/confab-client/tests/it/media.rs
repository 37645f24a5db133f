//! Media through the Rust SDK: files uploaded to the server's media service and attached to
//! a message, received with the message, read through temporary URLs, and the limits refused
//! before anything is uploaded.

use confab_client::{ClientEvent as E, MediaCategory, MediaUpload, MessageType};
use confab_testkit::TestServer;

use crate::support::*;

/// How many files the server's media directory holds.
fn stored(server: &TestServer) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .map(|e| e.unwrap().path())
                .map(|p| if p.is_dir() { count(&p) } else { 1 })
                .sum()
        })
    }
    count(&server.data_dir().join("media"))
}

#[tokio::test]
async fn files_go_up_with_a_message_come_down_with_it_and_the_limits_hold_before_any_upload() {
    let server = TestServer::start_with(|c| {
        c.limits.media_per_message = 2;
        c.media.max_file_size = 64 * 1024;
    })
    .await;
    let (alice, mut a_ev) = ready(&server, "alice").await;
    let (bob, mut b_ev) = ready(&server, "bob").await;
    let created = alice.create_conversation(Some("media")).await.unwrap();
    let sid = created.sid.to_string();
    alice.join(&sid).await.unwrap();
    until(&mut a_ev, |e| matches!(e, E::ConversationJoined(_))).await;
    bob.join(&sid).await.unwrap();
    until(&mut b_ev, |e| matches!(e, E::ConversationJoined(_))).await;
    let conversation = alice.conversation_by_sid(&sid).await.unwrap();

    let limits = conversation.limits().await.unwrap();
    assert_eq!(
        (limits.attachments_count_limit, limits.attachment_size_limit),
        (2, 64 * 1024)
    );

    // A body and two files, in order.
    let picture: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let sent = conversation
        .prepare_message()
        .body("two files")
        .attributes(serde_json::json!({"kind": "report"}))
        .add_media(MediaUpload::new("image/png", picture.clone()).filename("picture.png"))
        .add_media(MediaUpload::new("text/plain", "minutes\n").filename("notes.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.body.as_deref(), Some("two files"));
    let seen = until(&mut b_ev, |e| matches!(e, E::MessageAdded(_))).await;
    let Some(E::MessageAdded(m)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(m.message_type(), MessageType::Media);
    let files = m.attached_media();
    let names: Vec<_> = files.iter().map(|f| f.filename.clone().unwrap()).collect();
    assert_eq!(names, ["picture.png", "notes.txt"]);
    assert_eq!(
        (files[0].size, files[0].content_type.as_str()),
        (20_000, "image/png")
    );
    assert_eq!(m.media_by_categories(&[MediaCategory::Body]), vec![]);

    // Bob reads both through temporary URLs.
    let urls = m.temporary_content_urls().await.unwrap();
    assert_eq!(urls.len(), 2);
    let got = reqwest::get(&urls[files[0].sid.as_str()])
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), picture);
    let by_client = bob
        .temporary_content_urls(&[files[1].sid.as_str()])
        .await
        .unwrap();
    let notes = reqwest::get(&by_client[files[1].sid.as_str()])
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notes, "minutes\n");

    // A file of its own, no body.
    let only = conversation
        .send_media(MediaUpload::new("application/pdf", vec![7u8; 100]))
        .await
        .unwrap();
    assert_eq!(only.body, None);
    assert_eq!(only.media.as_ref().map(Vec::len), Some(1));

    // An email body is a file of the message, not one of its attachments.
    conversation
        .prepare_message()
        .body("see the email")
        .add_media(MediaUpload::new("text/html", "<p>hi</p>").category(MediaCategory::Body))
        .send()
        .await
        .unwrap();
    let seen = until(
        &mut b_ev,
        |e| matches!(e, E::MessageAdded(m) if m.body().as_deref() == Some("see the email")),
    )
    .await;
    let Some(E::MessageAdded(emailed)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(emailed.message_type(), MessageType::Media);
    assert_eq!(emailed.attached_media(), vec![]);
    assert_eq!(emailed.media_by_categories(&[MediaCategory::Body]).len(), 1);

    // Refused before anything goes up: too many files, one too large, nothing at all.
    let before = stored(&server);
    let too_many = conversation
        .prepare_message()
        .add_media(MediaUpload::new("text/plain", "1"))
        .add_media(MediaUpload::new("text/plain", "2"))
        .add_media(MediaUpload::new("text/plain", "3"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(too_many.code, 20001, "{too_many}");
    let too_large = conversation
        .send_media(MediaUpload::new(
            "application/zip",
            vec![0u8; 64 * 1024 + 1],
        ))
        .await
        .unwrap_err();
    assert_eq!(too_large.code, 20413, "{too_large}");
    assert!(too_large.message.contains("65536"), "{too_large}");
    let empty = conversation.prepare_message().send().await.unwrap_err();
    assert_eq!(empty.code, 20001);
    assert_eq!(stored(&server), before, "nothing was uploaded");

    // History holds the files too.
    let page = bob
        .conversation_by_sid(&sid)
        .await
        .unwrap()
        .messages(None, confab_client::Direction::Backwards, 10)
        .await
        .unwrap();
    let kinds: Vec<_> = page.items.iter().map(|m| m.message_type()).collect();
    assert_eq!(kinds, [MessageType::Media; 3]);
}

/// A relay in front of `target`: a connection whose first request is an upload is answered
/// `503` (as a busy media service would), the first `failures` times; every other connection
/// is passed through untouched (WebSockets included). Returns its address and the refusals.
async fn flaky_relay(
    target: std::net::SocketAddr,
    failures: usize,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = refused.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                // The request's head, then (for an upload refused) its body, read whole.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                let head_end = loop {
                    let n = inbound.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                if head.starts_with("post /media/") && count.load(Ordering::SeqCst) < failures {
                    count.fetch_add(1, Ordering::SeqCst);
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let mut have = buf.len() - head_end;
                    while have < length {
                        let n = inbound.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        have += n;
                    }
                    let body = r#"{"code":20503,"message":"busy","status":503}"#;
                    let answer = format!(
                        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = inbound.write_all(answer.as_bytes()).await;
                    let _ = inbound.shutdown().await;
                    return;
                }
                let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                if outbound.write_all(&buf).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, refused)
}

#[tokio::test]
async fn an_upload_refused_as_busy_is_tried_again_and_past_five_tries_the_error_comes_back() {
    use std::sync::atomic::Ordering;
    let server = TestServer::start().await;
    let (relay, refused) = flaky_relay(server.addr(), 3).await;
    let (client, mut events) = confab_client::Client::new(server.token("alice"), options(relay));
    until(&mut events, |e| {
        matches!(e, E::StateChanged(confab_client::ClientState::Initialized))
    })
    .await;
    let created = client.create_conversation(Some("retries")).await.unwrap();
    client.join(created.sid.as_str()).await.unwrap();
    let conversation = client.conversation_by_sid(&created.sid).await.unwrap();
    let sent = conversation
        .send_media(MediaUpload::new("text/plain", "third time lucky").filename("a.txt"))
        .await
        .unwrap();
    assert_eq!(refused.load(Ordering::SeqCst), 3);
    assert_eq!(sent.media.unwrap()[0].filename.as_deref(), Some("a.txt"));

    // Refused every time: five tries, then the service's error; no message without its file.
    let (relay, refused) = flaky_relay(server.addr(), usize::MAX).await;
    let (client, mut events) = confab_client::Client::new(server.token("alice"), options(relay));
    until(&mut events, |e| {
        matches!(e, E::StateChanged(confab_client::ClientState::Initialized))
    })
    .await;
    let conversation = client.conversation_by_sid(&created.sid).await.unwrap();
    let e = conversation
        .send_media(MediaUpload::new("text/plain", "never"))
        .await
        .unwrap_err();
    assert_eq!((e.code, refused.load(Ordering::SeqCst)), (20503, 5));
    assert_eq!(conversation.messages_count().await.unwrap(), 1);
}
