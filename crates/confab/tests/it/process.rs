//! Running `confab serve` as a child process on a free port.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use confab_testkit::{Api, test_credentials};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A `confab serve` child process.
pub struct ServeProcess {
    pub child: Child,
    pub url: String,
}

impl ServeProcess {
    /// Starts `confab serve` on `data_dir` with the test credentials in its environment and
    /// waits for the line that says where it listens.
    pub async fn start(data_dir: &Path) -> ServeProcess {
        let c = test_credentials();
        let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log",
                "warn",
                "--data-dir",
            ])
            .arg(data_dir)
            .env("CONFAB_ACCOUNT_SID", &c.account_sid)
            .env("CONFAB_AUTH_TOKEN", &c.auth_token)
            .env("CONFAB_API_KEY_SID", &c.api_key_sid)
            .env("CONFAB_API_KEY_SECRET", &c.api_key_secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn confab serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("confab serve printed its address in time")
            .unwrap()
            .expect("a line on stdout");
        let url = line
            .strip_prefix("confab listening on ")
            .expect("the listening line")
            .to_owned();
        ServeProcess { child, url }
    }

    /// A client with the test credentials.
    pub fn api(&self) -> Api {
        let c = test_credentials();
        Api::new(self.url.clone(), &c.account_sid, &c.auth_token)
    }

    /// SIGKILL, then reap.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reaped");
    }
}
