//! Media storage against its two kinds of store: a directory, and a real S3-compatible server
//! (moto's server mode, started here from `CONFAB_TEST_MOTO`, or one at `CONFAB_TEST_S3_URL`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use confab_media::{MediaStorage, StorageError};
use futures_util::stream::{self, StreamExt as _, TryStreamExt as _};

const MIB: usize = 1024 * 1024;

/// `len` bytes of a pattern that shows misplaced parts, in chunks of 64 KiB.
fn body(len: usize) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<_> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

async fn read(storage: &MediaStorage, key: &str) -> Vec<u8> {
    let (size, content) = storage.get(key).await.unwrap();
    let parts: Vec<Bytes> = content.try_collect().await.unwrap();
    let all = parts.concat();
    assert_eq!(all.len() as u64, size);
    all
}

/// Everything both stores must do alike.
async fn exercise(storage: &MediaStorage) {
    // Several parts' worth, streamed in and out whole.
    let len = 12 * MIB + 3;
    let size = storage
        .put("ISa/ME1", body(len), 100 * MIB as u64)
        .await
        .unwrap();
    assert_eq!(size, len as u64);
    let back = read(storage, "ISa/ME1").await;
    let want: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    assert!(back == want, "the bytes come back as they went in");
    assert_eq!(storage.size("ISa/ME1").await.unwrap(), Some(len as u64));

    // Over the limit: refused, and nothing of it kept.
    let too_big = storage.put("ISa/ME2", body(3 * MIB), MIB as u64).await;
    assert!(matches!(too_big, Err(StorageError::TooLarge { limit }) if limit == MIB as u64));
    assert_eq!(storage.size("ISa/ME2").await.unwrap(), None);

    // A body that breaks off: refused, nothing kept.
    let broken = body(6 * MIB).chain(stream::iter([Err(std::io::Error::other("gone"))]));
    let broke = storage
        .put("ISa/ME3", Box::pin(broken), 100 * MIB as u64)
        .await;
    assert!(matches!(broke, Err(StorageError::Body(_))), "{broke:?}");
    assert_eq!(storage.size("ISa/ME3").await.unwrap(), None);

    // An empty file is a file.
    assert_eq!(storage.put("ISa/ME4", body(0), 10).await.unwrap(), 0);
    assert!(read(storage, "ISa/ME4").await.is_empty());
    assert_eq!(
        storage.keys("ISa").await.unwrap(),
        ["ISa/ME1", "ISa/ME4"],
        "only what was stored whole"
    );

    // Deleting leaves nothing, and deleting again is no error.
    storage.delete("ISa/ME1").await.unwrap();
    storage.delete("ISa/ME4").await.unwrap();
    storage.delete("ISa/ME4").await.unwrap();
    assert!(storage.keys("").await.unwrap().is_empty());
    assert!(matches!(
        storage.get("ISa/ME1").await,
        Err(StorageError::NotFound)
    ));
}

#[tokio::test]
async fn a_directory_keeps_media_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let storage = MediaStorage::local(&dir.path().join("media")).unwrap();
    assert!(!storage.is_shared());
    exercise(&storage).await;
    let left: Vec<_> = walk(dir.path());
    assert!(left.is_empty(), "no file left behind: {left:?}");
    assert_eq!(
        storage
            .presigned_get("ISa/ME1", Duration::from_secs(60))
            .await
            .unwrap(),
        None,
        "a directory cannot presign"
    );
}

/// Every regular file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn s3_compatible_storage_keeps_media_whole_or_not_at_all_and_presigns() {
    let Some((_moto, url)) = confab_testkit::s3::s3_store_or_skip("under/here").await else {
        return;
    };
    let storage = MediaStorage::s3(&url).unwrap();
    assert!(storage.is_shared());
    exercise(&storage).await;

    // The store signs a URL that anyone can read the content from, for a while.
    storage.put("ISa/ME9", body(1000), 10_000).await.unwrap();
    let signed = storage
        .presigned_get("ISa/ME9", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("S3 presigns");
    let got = reqwest::get(&signed).await.unwrap();
    assert!(got.status().is_success(), "{}", got.status());
    assert_eq!(got.bytes().await.unwrap().len(), 1000);
    storage.delete("ISa/ME9").await.unwrap();
}

#[test]
fn a_bad_storage_url_is_refused_with_what_is_wrong() {
    let e = MediaStorage::s3("http://bucket").unwrap_err().to_string();
    assert!(e.contains("s3://"), "{e}");
    let e = MediaStorage::s3("s3://bucket?secret_access_key=hunter2&colour=blue")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("hunter2"), "no secret in the message: {e}");
    let e = MediaStorage::s3("s3://bucket?colour=blue")
        .unwrap_err()
        .to_string();
    assert!(e.contains("colour"), "{e}");
    let e = MediaStorage::s3("s3://?region=x").unwrap_err().to_string();
    assert!(e.contains("no bucket"), "{e}");
}
