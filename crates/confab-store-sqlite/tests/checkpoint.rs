//! WAL checkpoints: a thread copies pages into the database off the writer's commits, and the
//! WAL still starts over under steady load, so its file stays bounded. (That commits stall
//! less is a figure of `confab bench fanout`, not a test.)

use std::sync::Arc;

use confab_store::Store;
use confab_store_sqlite::{SqliteOptions, SqliteStore};
use confab_store_suite::{account, message, new_conversation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_steady_concurrent_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("confab.db");
    let store = Arc::new(SqliteStore::open(&SqliteOptions::new(&path)).expect("open store"));
    let service = account(&*store).await;
    // 32 writers in 32 conversations keep the writer busy batch after batch: no pause in
    // which a checkpoint could catch up by luck.
    let mut writers = vec![];
    for _ in 0..32 {
        let (store, service) = (store.clone(), service.clone());
        writers.push(tokio::spawn(async move {
            let conv = new_conversation(&*store, &service).await;
            let body = "x".repeat(2_000);
            for _ in 0..250 {
                store
                    .add_message(service.as_str(), message(&conv, "alice", &body))
                    .await
                    .expect("message");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    // 8,000 messages of 2 KB: well over 100 MB of WAL frames were written in all.
    let wal = std::fs::metadata(dir.path().join("confab.db-wal")).map_or(0, |m| m.len());
    assert!(
        wal < 80 << 20,
        "the WAL grew to {wal} bytes: it never started over"
    );
    let db = std::fs::metadata(&path).expect("database file").len();
    assert!(
        db > 16 << 20,
        "the database file has {db} bytes: nothing was checkpointed"
    );
    store.close().await;
}
