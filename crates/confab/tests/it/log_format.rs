//! How the log reads where it lands: a file or a pipe gets plain text (no terminal escape
//! codes), and `--log-format json` gives one JSON object per line for log shippers.

use std::time::Duration;

use crate::process::ServeProcess;

/// Runs a server logging at `info` with `flags` into a pipe, stops it, and returns its log
/// (which then holds at least the listening and shutting-down lines).
async fn log_of(flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::start_logging_with(dir.path(), "info", flags).await;
    server.api().get("/v1/Conversations").await.expect(200);
    let log = server.log.take().expect("captured");
    assert!(server.terminate(Duration::from_secs(20)).await.success());
    log.await.unwrap()
}

#[tokio::test]
async fn a_piped_log_has_no_escape_codes() {
    let log = log_of(&[]).await;
    assert!(log.contains("confab listening"), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a piped log: {log:?}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let log = log_of(&["--log-format", "json"]).await;
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let listening = lines
        .iter()
        .find(|l| l["fields"]["message"] == "confab listening")
        .unwrap_or_else(|| panic!("no listening line: {log}"));
    assert_eq!(listening["level"], "INFO");
    assert!(listening["fields"]["addr"].is_string(), "{listening}");
    assert!(listening["timestamp"].is_string(), "{listening}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}
