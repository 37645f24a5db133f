//! Durability under SIGKILL: every write answered 201 is present after a restart, exactly once,
//! with gapless indexes.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::process::ServeProcess;

const WRITERS: usize = 32;
const CYCLES: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_sigkill_exactly_once() {
    survives_sigkill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_sigkill_exactly_once_on_postgres() {
    let Some(db) = confab_testkit::TestDatabase::required_or_skip() else {
        return;
    };
    survives_sigkill(Some(&db.url())).await;
}

async fn survives_sigkill(database: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start_on(dir.path(), database).await;
    let api = server.api();
    let conv = api
        .post("/v1/Conversations", &[("UniqueName", "durable")])
        .await
        .expect(201);
    let conv = conv["sid"].as_str().unwrap().to_owned();
    let mut server = Some(server);
    // body -> index, for every write the server acknowledged with 201.
    let mut acked: HashMap<String, i64> = HashMap::new();

    for cycle in 0..CYCLES {
        let running = server.take().unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, i64)>();
        let mut writers = vec![];
        for w in 0..WRITERS {
            let (api, tx, path) = (
                running.api(),
                tx.clone(),
                format!("/v1/Conversations/{conv}/Messages"),
            );
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let body = format!("c{cycle}-w{w}-{i}");
                    let form = [("Author", "writer"), ("Body", body.as_str())];
                    match api
                        .try_send(reqwest::Method::POST, &path, Some(&form))
                        .await
                    {
                        Ok(reply) if reply.status == 201 => {
                            let _ = tx.send((body, reply.body["index"].as_i64().unwrap()));
                        }
                        // The server died under us: this write was never acknowledged.
                        _ => break,
                    }
                }
            }));
        }
        drop(tx);
        // Kill once enough writes of this cycle were acknowledged: writes are in flight then.
        let mut this_cycle = 0;
        while this_cycle < 150 {
            let (body, index) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .unwrap()
                .unwrap();
            acked.insert(body, index);
            this_cycle += 1;
        }
        running.kill().await;
        for w in writers {
            w.await.unwrap();
        }
        while let Some((body, index)) = rx.recv().await {
            acked.insert(body, index);
        }
        server = Some(ServeProcess::start_on(dir.path(), database).await);
    }

    let server = server.unwrap();
    let api = server.api();
    let (items, _) = api
        .collect_pages(
            &format!("/v1/Conversations/{conv}/Messages?PageSize=100"),
            "messages",
        )
        .await;
    let mut seen: HashMap<String, i64> = HashMap::new();
    for (position, m) in items.iter().enumerate() {
        let index = m["index"].as_i64().unwrap();
        assert_eq!(index, position as i64, "indexes are gapless from 0");
        let body = m["body"].as_str().unwrap().to_owned();
        assert!(
            seen.insert(body.clone(), index).is_none(),
            "message {body} stored twice"
        );
    }
    for (body, index) in &acked {
        assert_eq!(
            seen.get(body),
            Some(index),
            "acknowledged write {body} lost or moved"
        );
    }
    assert!(acked.len() >= 150 * CYCLES);
    eprintln!(
        "{} writes acknowledged over {CYCLES} SIGKILL cycles; {} stored",
        acked.len(),
        items.len()
    );
    server.kill().await;
}
