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
    assert_eq!(kinds, [MessageType::Media, MessageType::Media]);
}
