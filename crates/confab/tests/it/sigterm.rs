//! Graceful shutdown under load: SIGTERM stops accepting, answers every request it took, and
//! exits cleanly. So after a restart the stored messages are exactly the acknowledged ones: none
//! lost, and none committed without its 201 reaching the client (a retry would duplicate it).

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::process::ServeProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_answers_every_request_it_took_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::start(dir.path()).await;
    let api = server.api();
    let conv = api.post("/v1/Conversations", &[]).await.expect(201);
    let path = format!(
        "/v1/Conversations/{}/Messages",
        conv["sid"].as_str().unwrap()
    );

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut writers = vec![];
    for w in 0..16 {
        let (api, tx, path) = (api.clone(), tx.clone(), path.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = format!("w{w}-{i}");
                let form = [("Body", body.as_str())];
                match api
                    .try_send(reqwest::Method::POST, &path, Some(&form))
                    .await
                {
                    Ok(reply) if reply.status == 201 => {
                        let _ = tx.send(body);
                    }
                    // Refused or reset after the server stopped: never acknowledged.
                    _ => break,
                }
            }
        }));
    }
    drop(tx);
    let mut acked = HashSet::new();
    while acked.len() < 200 {
        acked.insert(
            tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let pid = server.child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), server.child.wait())
        .await
        .expect("exits in time")
        .unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    for w in writers {
        w.await.unwrap();
    }
    while let Some(body) = rx.recv().await {
        acked.insert(body);
    }

    let server = ServeProcess::start(dir.path()).await;
    let (items, _) = server
        .api()
        .collect_pages(&format!("{path}?PageSize=100"), "messages")
        .await;
    let stored: HashSet<String> = items
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), items.len(), "no message stored twice");
    let lost: Vec<_> = acked.difference(&stored).collect();
    let unanswered: Vec<_> = stored.difference(&acked).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(
        unanswered.is_empty(),
        "committed but never answered: {unanswered:?}"
    );
    server.kill().await;
}
