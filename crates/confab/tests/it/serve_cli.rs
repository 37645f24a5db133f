//! `confab serve` as a new user meets it: no setup, credentials generated once and shown once,
//! `/healthz`, and a clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use confab_server::credentials::{CREDENTIALS_FILE, Credentials, ENV_VARS};
use confab_testkit::Api;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

struct Run {
    stderr: String,
    exit_ok: bool,
}

/// Starts `confab serve` with no credentials in the environment, checks `/healthz` and a REST
/// call with the stored credentials, then stops it with SIGTERM.
async fn serve_once(dir: &std::path::Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_confab"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir);
    for v in ENV_VARS {
        cmd.env_remove(v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("confab listening on ")
        .unwrap()
        .to_owned();

    let creds = Credentials::load(&dir.join(CREDENTIALS_FILE))
        .unwrap()
        .expect("credentials kept in the data dir");
    let api = Api::new(url.clone(), &creds.account_sid, &creds.auth_token);
    assert_eq!(
        api.with_authorization(None).get("/healthz").await.status,
        200
    );
    api.post("/v1/Conversations", &[("FriendlyName", "first")])
        .await
        .expect(201);

    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits soon after SIGTERM")
        .unwrap();
    Run {
        stderr: stderr_task.await.unwrap(),
        exit_ok: status.success(),
    }
}

#[tokio::test]
async fn first_start_generates_credentials_shows_them_once_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve_once(dir.path()).await;
    assert!(
        first.exit_ok,
        "SIGTERM exits with status 0; stderr: {}",
        first.stderr
    );
    let creds = Credentials::load(&dir.path().join(CREDENTIALS_FILE))
        .unwrap()
        .unwrap();
    assert!(
        first
            .stderr
            .contains(&format!("CONFAB_AUTH_TOKEN={}", creds.auth_token)),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains(&format!("CONFAB_API_KEY_SECRET={}", creds.api_key_secret))
    );

    let second = serve_once(dir.path()).await;
    assert!(second.exit_ok);
    assert!(
        !second.stderr.contains(&creds.auth_token),
        "secrets shown again: {}",
        second.stderr
    );
    assert!(
        !second.stderr.contains(&creds.api_key_secret),
        "secrets shown again: {}",
        second.stderr
    );
    let again = Credentials::load(&dir.path().join(CREDENTIALS_FILE))
        .unwrap()
        .unwrap();
    assert_eq!(again, creds, "credentials are kept, not regenerated");
}
