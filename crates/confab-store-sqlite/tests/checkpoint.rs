//! WAL checkpoints run on their own thread, not inside a commit. The writer's automatic
//! checkpoint is off, so without that thread the WAL would grow without end and the database
//! file would never take its pages. (That commits no longer stall is a figure of
//! `confab bench fanout`, not a test.)

use confab_store::Store;
use confab_store_sqlite::{SqliteOptions, SqliteStore};
use confab_store_suite::{account, message, new_conversation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpointer_copies_the_wal_into_the_database_between_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("confab.db");
    let store = SqliteStore::open(&SqliteOptions::new(&path)).expect("open store");
    let service = account(&store).await;
    let conv = new_conversation(&store, &service).await;
    let size = || std::fs::metadata(&path).expect("database file").len();
    let before = size();
    // Far more than the 1,000 pages at which a commit would checkpoint on its own.
    let body = "x".repeat(2_000);
    for _ in 0..3_000 {
        store
            .add_message(service.as_str(), message(&conv, "alice", &body))
            .await
            .expect("message");
    }
    // No commit now: only the checkpointer can move pages into the database file. Its
    // file has no event to wait on, so this looks every 20 ms, for at most 10 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 4_000_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes (from {before})",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.close().await;
}
