//! A NATS server of a test's own (the Debian package's `nats-server`), for tests that stop and
//! restart NATS: the machine's shared one must stay up for the others.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A `nats-server` child process on a port of its own.
pub struct NatsProcess {
    child: Option<Child>,
    port: u16,
    bin: String,
}

impl NatsProcess {
    /// The `nats-server` binary (`CONFAB_TEST_NATS_SERVER`, else `/usr/sbin/nats-server`), or
    /// `None` (with a note) when there is none, unless `CONFAB_REQUIRE_NATS=1` (as in CI)
    /// makes that a failure.
    pub fn binary_or_skip() -> Option<String> {
        let bin = std::env::var("CONFAB_TEST_NATS_SERVER")
            .unwrap_or_else(|_| "/usr/sbin/nats-server".into());
        if std::path::Path::new(&bin).exists() {
            return Some(bin);
        }
        assert!(
            std::env::var("CONFAB_REQUIRE_NATS").as_deref() != Ok("1"),
            "{bin} does not exist but CONFAB_REQUIRE_NATS=1 (apt-get install nats-server)"
        );
        eprintln!("skipped: no nats-server at {bin} (set CONFAB_TEST_NATS_SERVER)");
        None
    }

    /// Starts `bin` on a free port of 127.0.0.1 and waits until it is ready.
    pub async fn start(bin: &str) -> NatsProcess {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut nats = NatsProcess {
            child: None,
            port,
            bin: bin.to_owned(),
        };
        nats.spawn().await;
        nats
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let mut child = Command::new(&self.bin)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn nats-server");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Server is ready") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(
            ready,
            Ok(true),
            "nats-server did not get ready on {}",
            self.port
        );
        // Keep reading its log, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// Kills it (SIGKILL) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }

    /// Kills it and starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }
}
