#![allow(missing_docs)] // criterion's macros generate undocumented functions
//! The SQLite store's hot paths, one call at a time: a message write (one transaction: the
//! gapless index, the message row, its event and the conversation's counters), a replay page
//! of the conversation log, and the newest page of messages. With `synchronous=FULL` each
//! lone write waits for its fsync; `NORMAL` shows the CPU cost beside it.
//! `cargo bench -p confab-store-sqlite --bench store`.

use confab_store::{Order, PageRequest, Store};
use confab_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use confab_store_suite::{account, message, new_conversation};
use criterion::{Criterion, criterion_group, criterion_main};

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for (name, sync) in [("full", Synchronous::Full), ("normal", Synchronous::Normal)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut opts = SqliteOptions::new(dir.path().join("confab.db"));
        opts.synchronous = sync;
        let store = SqliteStore::open(&opts).expect("open store");
        let (service, conv) = rt.block_on(async {
            let service = account(&store).await;
            let conv = new_conversation(&store, &service).await;
            (service, conv)
        });
        let body = "x".repeat(256);
        let mut g = c.benchmark_group(format!("sqlite/{name}"));
        g.bench_function("add_message (256 B)", |b| {
            b.iter(|| {
                rt.block_on(store.add_message(service.as_str(), message(&conv, "alice", &body)))
                    .expect("message")
            })
        });
        g.bench_function("conversation_log (50 events)", |b| {
            b.iter(|| {
                rt.block_on(store.conversation_log(conv.as_str(), 100, 50))
                    .expect("log")
            })
        });
        let newest = PageRequest {
            size: 50,
            order: Order::Desc,
            cursor: None,
        };
        g.bench_function("list_messages (newest 50)", |b| {
            b.iter(|| {
                rt.block_on(store.list_messages(service.as_str(), conv.as_str(), &newest))
                    .expect("page")
            })
        });
        g.finish();
        rt.block_on(store.close());
    }
}

criterion_group!(benches, store);
criterion_main!(benches);
