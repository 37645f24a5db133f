//! The server under load: a `confab serve` child process the bench starts (with credentials
//! it makes up), or one already running (`--server`, credentials from the environment).
//! Also the CPU and memory accounting of a process, read from `/proc`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The account's credentials, as `confab serve` takes them from its environment.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// `AC…`
    pub account_sid: String,
    /// The account's auth token (REST basic auth).
    pub auth_token: String,
    /// `SK…`, the key that signs access tokens.
    pub api_key_sid: String,
    /// Its secret.
    pub api_key_secret: String,
}

impl Credentials {
    fn made_up() -> Credentials {
        let hex = || format!("{:032x}", rand::random::<u128>());
        Credentials {
            account_sid: format!("AC{}", hex()),
            auth_token: hex(),
            api_key_sid: format!("SK{}", hex()),
            api_key_secret: hex(),
        }
    }

    fn from_env() -> Result<Credentials, String> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| format!("--server needs {name} in the environment"))
        };
        Ok(Credentials {
            account_sid: var("CONFAB_ACCOUNT_SID")?,
            auth_token: var("CONFAB_AUTH_TOKEN")?,
            api_key_sid: var("CONFAB_API_KEY_SID")?,
            api_key_secret: var("CONFAB_API_KEY_SECRET")?,
        })
    }
}

/// The server under load.
pub struct Target {
    /// `http://host:port` of the first node (REST goes there).
    pub http: String,
    /// `ws://host:port` of the first node.
    pub ws: String,
    /// Every node's `ws://host:port`: connections are spread over them in turn.
    pub nodes_ws: Vec<String>,
    /// Its account.
    pub credentials: Credentials,
    /// Its processes, when known: CPU and memory are read from them (summed over nodes).
    pub pids: Vec<u32>,
    children: Vec<Child>,
    _data: Vec<tempfile::TempDir>,
    /// The media directory the nodes share, when there are several.
    _media: Option<tempfile::TempDir>,
}

impl Target {
    /// Starts `nodes` × `exe serve` on free ports with fresh data directories, all with the
    /// same credentials and `database` (PostgreSQL for more than one node); `flags` are
    /// added to each (such as `--nats URL`).
    pub async fn start(
        exe: &Path,
        database: Option<&str>,
        flags: &[&str],
        nodes: usize,
    ) -> Result<Target, String> {
        if nodes > 1 && !database.is_some_and(|d| d.starts_with("postgres")) {
            return Err("more than one node needs --database postgres://... (and --nats)".into());
        }
        let mut target = Target {
            http: String::new(),
            ws: String::new(),
            nodes_ws: vec![],
            credentials: Credentials::made_up(),
            pids: vec![],
            children: vec![],
            _data: vec![],
            _media: None,
        };
        let mut flags: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
        if nodes > 1 || flags.iter().any(|f| f == "--nats") {
            // Nodes share their media, as in production (one store they all reach).
            let media = tempfile::tempdir().map_err(|e| e.to_string())?;
            flags.extend([
                "--media-store".into(),
                format!("file://{}", media.path().display()),
            ]);
            target._media = Some(media);
        }
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        for _ in 0..nodes.max(1) {
            let (addr, child, data) = start_one(exe, database, &flags, &target.credentials).await?;
            if target.nodes_ws.is_empty() {
                target.http = format!("http://{addr}");
                target.ws = format!("ws://{addr}");
            }
            target.nodes_ws.push(format!("ws://{addr}"));
            target.pids.extend(child.id());
            target.children.push(child);
            target._data.push(data);
        }
        Ok(target)
    }

    /// The node the `n`th connection goes to.
    pub fn ws_for(&self, n: usize) -> String {
        self.nodes_ws[n % self.nodes_ws.len()].clone()
    }

    /// A server already running at `url` (`http://host:port`); `pid` if its CPU and memory
    /// are to be reported.
    pub fn running(url: &str, pid: Option<u32>) -> Result<Target, String> {
        let host = url
            .strip_prefix("http://")
            .ok_or("--server takes an http://host:port URL")?
            .trim_end_matches('/');
        Ok(Target {
            http: format!("http://{host}"),
            ws: format!("ws://{host}"),
            nodes_ws: vec![format!("ws://{host}")],
            credentials: Credentials::from_env()?,
            pids: pid.into_iter().collect(),
            children: vec![],
            _data: vec![],
            _media: None,
        })
    }

    /// An access token for `identity`, valid for a day less an hour.
    pub fn token(&self, identity: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        confab_token::mint(
            &confab_token::ApiKey {
                sid: self.credentials.api_key_sid.clone(),
                secret: self.credentials.api_key_secret.clone(),
            },
            &confab_token::TokenSpec {
                account_sid: &self.credentials.account_sid,
                identity,
                service_sid: None,
                now,
                ttl_secs: 23 * 3600,
            },
        )
    }

    /// The server's CPU time so far (user + system, all threads, all nodes), if its
    /// processes are known.
    pub fn cpu(&self) -> Option<Duration> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids
            .iter()
            .map(|p| cpu_of(&format!("/proc/{p}/stat")))
            .sum()
    }

    /// The server's resident memory in KiB (all nodes), if its processes are known.
    pub fn rss_kib(&self) -> Option<u64> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids
            .iter()
            .map(|p| rss_of(&format!("/proc/{p}/status")))
            .sum()
    }

    /// Stops the servers the bench started (SIGKILL: the figures are taken already).
    pub async fn stop(mut self) {
        for mut child in self.children.drain(..) {
            let _ = child.kill().await;
        }
    }
}

/// Starts one `exe serve` on a free port with a fresh data directory: its address, process
/// and directory.
async fn start_one(
    exe: &Path,
    database: Option<&str>,
    flags: &[&str],
    credentials: &Credentials,
) -> Result<(String, Child, tempfile::TempDir), String> {
    let data = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
        .arg("--data-dir")
        .arg(data.path())
        .args(flags)
        .env("CONFAB_ACCOUNT_SID", &credentials.account_sid)
        .env("CONFAB_AUTH_TOKEN", &credentials.auth_token)
        .env("CONFAB_API_KEY_SID", &credentials.api_key_sid)
        .env("CONFAB_API_KEY_SECRET", &credentials.api_key_secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", exe.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .map_err(|_| "the server did not start within 60 s")?
        .map_err(|e| e.to_string())?
        .ok_or("the server exited before listening")?;
    let addr = line
        .strip_prefix("confab listening on http://")
        .ok_or_else(|| format!("unexpected first line from the server: {line}"))?
        .to_owned();
    // Keep reading its stdout so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((addr, child, data))
}

/// This process's CPU time so far.
pub fn own_cpu() -> Duration {
    cpu_of("/proc/self/stat").unwrap_or_default()
}

/// This process's resident memory in KiB.
pub fn own_rss_kib() -> u64 {
    rss_of("/proc/self/status").unwrap_or(0)
}

/// utime + stime from a `/proc/PID/stat` file. They are in clock ticks, 100 a second on
/// Linux (`USER_HZ`, fixed in the kernel's ABI): 10 ms resolution, so figures come from
/// intervals of seconds.
fn cpu_of(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name, in parentheses, may hold spaces: fields are counted after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The resident memory of process `pid` in KiB, if it runs.
pub fn rss_of_pid(pid: u32) -> Option<u64> {
    rss_of(&format!("/proc/{pid}/status"))
}

fn rss_of(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {}
        assert!(own_cpu() > Duration::ZERO);
        assert!(own_rss_kib() > 0);
    }
}
