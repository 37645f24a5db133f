//! Two `confab serve` processes on one PostgreSQL database, writing to the same conversations at
//! once: every message gets a unique index, indexes are gapless, and each conversation's event
//! log has gapless, unique sequence numbers whose `messageAdded` events match the messages.

use std::collections::HashMap;

use confab_protocol::event::{EventBody, decode_event};
use confab_store::Store;
use confab_store_postgres::{PgOptions, PgStore};

use crate::process::ServeProcess;

const WRITERS_PER_PROCESS: usize = 12;
const MESSAGES_PER_WRITER: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database_keep_index_and_seq_gapless_and_unique() {
    let Some(db) = confab_testkit::TestDatabase::required_or_skip() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = ServeProcess::start_on(dir_a.path(), Some(&db.url())).await;
    let b = ServeProcess::start_on(dir_b.path(), Some(&db.url())).await;
    let mut convs = vec![];
    for name in ["one", "two"] {
        let c = a
            .api()
            .post("/v1/Conversations", &[("UniqueName", name)])
            .await
            .expect(201);
        convs.push(c["sid"].as_str().unwrap().to_owned());
    }
    // Both processes see the same conversations.
    b.api()
        .get(&format!("/v1/Conversations/{}", convs[0]))
        .await
        .expect(200);

    let mut tasks = vec![];
    for (p, api) in [a.api(), b.api()].into_iter().enumerate() {
        for w in 0..WRITERS_PER_PROCESS {
            let (api, convs) = (api.clone(), convs.clone());
            tasks.push(tokio::spawn(async move {
                let mut acked = vec![];
                for i in 0..MESSAGES_PER_WRITER {
                    let conv = &convs[(w + i) % convs.len()];
                    let body = format!("p{p}-w{w}-{i}");
                    let m = api
                        .post(
                            &format!("/v1/Conversations/{conv}/Messages"),
                            &[("Body", body.as_str())],
                        )
                        .await
                        .expect(201);
                    acked.push((conv.clone(), body, m["index"].as_i64().unwrap()));
                }
                acked
            }));
        }
    }
    let mut acked = vec![];
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 2 * WRITERS_PER_PROCESS * MESSAGES_PER_WRITER);

    let mut opts = PgOptions::new(std::env::var("CONFAB_TEST_POSTGRES_URL").unwrap());
    opts.schema = Some(db.url().rsplit("confab_schema=").next().unwrap().to_owned());
    let store = PgStore::connect(&opts).await.unwrap();
    for conv in &convs {
        let mine: HashMap<i64, String> = acked
            .iter()
            .filter(|(c, ..)| c == conv)
            .map(|(_, body, index)| (*index, body.clone()))
            .collect();
        let n = acked.iter().filter(|(c, ..)| c == conv).count();
        assert_eq!(mine.len(), n, "no index given twice");
        assert!(
            (0..n as i64).all(|i| mine.contains_key(&i)),
            "indexes are 0..{n} without gaps"
        );
        let log = store.conversation_log(conv, 0, 100_000).await.unwrap();
        assert_eq!(
            log.len(),
            n + 1,
            "conversationAdded and one event per message"
        );
        for (i, e) in log.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1, "seq gapless and unique");
            if let EventBody::MessageAdded(m) = decode_event(&e.frame).unwrap().body {
                assert_eq!(
                    mine.get(&m.index),
                    m.body.as_ref(),
                    "the logged message is the acknowledged one"
                );
            }
        }
    }
    store.close().await;
    a.kill().await;
    b.kill().await;
}
