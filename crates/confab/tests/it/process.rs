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
    /// Its whole stderr, once it has exited (started with [`ServeProcess::start_logging`]).
    pub log: Option<tokio::task::JoinHandle<String>>,
}

impl ServeProcess {
    /// Starts `confab serve` on `data_dir` with the test credentials in its environment and
    /// waits for the line that says where it listens.
    pub async fn start(data_dir: &Path) -> ServeProcess {
        Self::start_on(data_dir, None).await
    }

    /// Like [`ServeProcess::start`], with `--database URL` when given.
    pub async fn start_on(data_dir: &Path, database: Option<&str>) -> ServeProcess {
        Self::start_at(data_dir, database, "127.0.0.1:0").await
    }

    /// Like [`ServeProcess::start_on`], listening on `listen` (to come back on the same port).
    /// A fixed port can be taken for a moment while the server is down (a client's outgoing
    /// connection can even be given it as its own port), so a start that fails to bind is
    /// tried again, for up to 20 s.
    pub async fn start_at(data_dir: &Path, database: Option<&str>, listen: &str) -> ServeProcess {
        let fixed = !listen.ends_with(":0");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match Self::try_start(data_dir, database, listen, &[], None).await {
                Some(started) => return started,
                None if fixed && tokio::time::Instant::now() < deadline => {
                    // A pause before the next try, as any supervisor would make.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => panic!("confab serve did not start listening on {listen}"),
            }
        }
    }

    /// Like [`ServeProcess::start`], with more `confab serve` flags.
    pub async fn start_with(data_dir: &Path, flags: &[&str]) -> ServeProcess {
        Self::try_start(data_dir, None, "127.0.0.1:0", flags, None)
            .await
            .expect("confab serve started")
    }

    /// Like [`ServeProcess::start`], logging with the filter `log` (`--log`) into
    /// [`ServeProcess::log`] instead of the test's stderr.
    pub async fn start_logging(data_dir: &Path, log: &str) -> ServeProcess {
        Self::start_logging_with(data_dir, log, &[]).await
    }

    /// Like [`ServeProcess::start_logging`], with more `confab serve` flags.
    pub async fn start_logging_with(data_dir: &Path, log: &str, flags: &[&str]) -> ServeProcess {
        Self::try_start(data_dir, None, "127.0.0.1:0", flags, Some(log))
            .await
            .expect("confab serve started")
    }

    /// One start; `None` if the process ended without saying where it listens.
    async fn try_start(
        data_dir: &Path,
        database: Option<&str>,
        listen: &str,
        flags: &[&str],
        log: Option<&str>,
    ) -> Option<ServeProcess> {
        let c = test_credentials();
        let mut args = vec!["serve", "--listen", listen, "--log", log.unwrap_or("warn")];
        if let Some(url) = database {
            args.extend(["--database", url]);
        }
        args.extend(flags);
        let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .env("CONFAB_ACCOUNT_SID", &c.account_sid)
            .env("CONFAB_AUTH_TOKEN", &c.auth_token)
            .env("CONFAB_API_KEY_SID", &c.api_key_sid)
            .env("CONFAB_API_KEY_SECRET", &c.api_key_secret)
            .stdout(Stdio::piped())
            .stderr(if log.is_some() {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .kill_on_drop(true)
            .spawn()
            .expect("spawn confab serve");
        let log = child.stderr.take().map(|mut stderr| {
            tokio::spawn(async move {
                let mut s = String::new();
                let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s).await;
                s
            })
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("confab serve printed its address in time")
            .unwrap()?;
        let url = line
            .strip_prefix("confab listening on ")
            .expect("the listening line")
            .to_owned();
        Some(ServeProcess { child, url, log })
    }

    /// A client with the test credentials.
    pub fn api(&self) -> Api {
        let c = test_credentials();
        Api::new(self.url.clone(), &c.account_sid, &c.auth_token)
    }

    /// SIGTERM, then waits for the exit, at most `bound`; panics if it takes longer.
    pub async fn terminate(mut self, bound: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        tokio::time::timeout(bound, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("confab serve did not exit within {bound:?} of SIGTERM"))
            .expect("reaped")
    }

    /// SIGKILL, then reap.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reaped");
    }
}
