//! A real S3-compatible server for the media tests: moto's server mode, started here from
//! `CONFAB_TEST_MOTO` on a free port, or a bucket of one's own at `CONFAB_TEST_S3_URL`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};

/// A moto server on a free port, stopped when dropped.
pub struct Moto {
    _child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

/// Starts `bin` (a `moto_server`) and waits until it listens.
pub async fn moto(bin: &str) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port();
    let mut child = tokio::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
    let mut lines = BufReader::new(child.stderr.take().expect("moto's stderr")).lines();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("moto's log") {
            if line.contains("Running on") {
                return;
            }
        }
        panic!("moto stopped before it was up");
    })
    .await
    .expect("moto up in time");
    // Its log is drained so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Moto {
        _child: child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// An `s3://` media store URL for a test (under `prefix` in the bucket): `CONFAB_TEST_S3_URL`
/// if set, else a bucket made on a moto server started from `CONFAB_TEST_MOTO` (kept alive by
/// the returned [`Moto`]). `None`, said on stderr, when neither is set, unless
/// `CONFAB_REQUIRE_S3` makes that a failure.
pub async fn s3_store_or_skip(prefix: &str) -> Option<(Option<Moto>, String)> {
    if let Ok(url) = std::env::var("CONFAB_TEST_S3_URL") {
        return Some((None, url));
    }
    let Ok(bin) = std::env::var("CONFAB_TEST_MOTO") else {
        assert!(
            std::env::var_os("CONFAB_REQUIRE_S3").is_none(),
            "CONFAB_REQUIRE_S3 is set but neither CONFAB_TEST_MOTO (a moto_server) nor CONFAB_TEST_S3_URL is"
        );
        eprintln!(
            "skipped: set CONFAB_TEST_MOTO to a moto_server (pip install 'moto[server]') or CONFAB_TEST_S3_URL to an s3:// URL"
        );
        return None;
    };
    let moto = moto(&bin).await;
    let bucket = format!("{}/confab-media", moto.endpoint);
    let made = reqwest::Client::new()
        .put(&bucket)
        .send()
        .await
        .expect("moto answers");
    assert!(made.status().is_success(), "{}", made.status());
    let url = format!(
        "s3://confab-media/{prefix}?endpoint={}&region=us-east-1&access_key_id=test&secret_access_key=test&aws_allow_http=true",
        moto.endpoint
    );
    Some((Some(moto), url))
}
