//! `media`: the media service's upload path. One large file streamed up (the server's resident
//! memory sampled throughout: uploads are streamed, so it stays flat whatever the file's
//! size), then many small files from concurrent uploaders: uploads/s, MB/s, latency and the
//! server's CPU per upload. Run it with `--serve-arg=--media-store=s3://…` for S3-compatible
//! storage. Beside them, what this machine's disk allows: the same bytes written to a file in
//! the same temp directory and synced, as the directory store syncs each upload.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{self, StreamExt as _};
use serde::Serialize;

use crate::report::{self, CpuWindow, Latency};
use crate::target::Target;

/// Settings of a media run.
#[derive(clap::Args, Debug, Clone)]
pub struct MediaArgs {
    /// The large file's size, in MiB.
    #[arg(long, default_value_t = 100)]
    pub file_mib: u64,
    /// Small uploads.
    #[arg(long, default_value_t = 2_000)]
    pub uploads: usize,
    /// Each small upload's size, in KiB.
    #[arg(long, default_value_t = 64)]
    pub size_kib: usize,
    /// Small uploads under way at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
}

/// The large upload's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Large {
    /// Its size in bytes.
    pub bytes: u64,
    /// Seconds it took, answer included.
    pub seconds: f64,
    /// MB/s (10^6 bytes).
    pub mb_per_s: f64,
    /// The server's resident memory just before, in MiB.
    pub rss_before_mib: Option<f64>,
    /// The most it held while the upload went on (sampled every 5 ms), in MiB.
    pub rss_peak_mib: Option<f64>,
}

/// A media run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Where the server kept the bytes (`--media-store`, or its data directory).
    pub store: String,
    /// The large upload.
    pub large: Large,
    /// Small uploads made.
    pub uploads: usize,
    /// Each one's size in bytes.
    pub upload_bytes: usize,
    /// Uploaders at once.
    pub concurrency: usize,
    /// Small uploads answered per second.
    pub uploads_per_s: f64,
    /// Their MB/s.
    pub mb_per_s: f64,
    /// Each one's latency.
    pub latency: Latency,
    /// The server's CPU per small upload, in microseconds.
    pub server_us_per_upload: Option<f64>,
    /// The same small files written and synced straight to this machine's disk, one at a
    /// time: files/s (the floor under a directory store's uploads/s).
    pub disk_files_per_s: f64,
    /// The large file written and synced to disk: MB/s.
    pub disk_mb_per_s: f64,
}

/// `n` bytes of a repeating pattern, in 256 KiB chunks made as they are sent (the bench holds
/// no file either).
fn body(n: u64) -> reqwest::Body {
    const CHUNK: u64 = 256 * 1024;
    let chunk = Bytes::from((0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let parts = n.div_ceil(CHUNK);
    let s = stream::iter(0..parts).map(move |i| {
        let len = CHUNK.min(n - i * CHUNK) as usize;
        Ok::<_, std::io::Error>(chunk.slice(..len))
    });
    reqwest::Body::wrap_stream(s)
}

async fn upload(
    http: &reqwest::Client,
    target: &Target,
    url: &str,
    body: reqwest::Body,
) -> Result<(), String> {
    let res = http
        .post(url)
        .basic_auth(
            &target.credentials.account_sid,
            Some(&target.credentials.auth_token),
        )
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status() != 201 {
        return Err(format!(
            "upload answered {}: {}",
            res.status(),
            res.text().await.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Writes `size` bytes to a new file in `dir` and syncs it, `count` times: the seconds taken.
fn disk(dir: &std::path::Path, size: usize, count: usize) -> Result<f64, String> {
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let started = Instant::now();
    for i in 0..count {
        let path = dir.join(format!("floor-{i}"));
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        f.write_all(&data).map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Runs the scenario.
pub async fn run(target: &Target, store: &str, args: &MediaArgs) -> Result<Figures, String> {
    let http = reqwest::Client::new();
    let service: serde_json::Value = http
        .get(format!("{}/v1/Configuration", target.http))
        .basic_auth(
            &target.credentials.account_sid,
            Some(&target.credentials.auth_token),
        )
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let service = service["default_chat_service_sid"]
        .as_str()
        .ok_or("no default service")?
        .to_owned();
    let url = format!("{}/media/v1/Services/{service}/Media", target.http);

    // One large file, the server's memory sampled while it goes up.
    let bytes = args.file_mib * 1024 * 1024;
    println!("media: one {} MiB upload to {store}", args.file_mib);
    let before = target.rss_kib();
    let peak = Arc::new(AtomicU64::new(before.unwrap_or(0)));
    let pids_known = before.is_some();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let sampler = {
        let peak = peak.clone();
        let pids = target.pids.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                let rss: u64 = pids
                    .iter()
                    .filter_map(|p| crate::target::rss_of_pid(*p))
                    .sum();
                peak.fetch_max(rss, Ordering::Relaxed);
            }
        })
    };
    let started = Instant::now();
    upload(&http, target, &url, body(bytes)).await?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = sampler.await;
    let large = Large {
        bytes,
        seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        rss_before_mib: before.map(|k| k as f64 / 1024.0),
        rss_peak_mib: pids_known.then(|| peak.load(Ordering::Relaxed) as f64 / 1024.0),
    };

    // Many small files from concurrent uploaders.
    let size = args.size_kib * 1024;
    println!(
        "media: {} uploads of {} KiB, {} at once",
        args.uploads, args.size_kib, args.concurrency
    );
    let window = CpuWindow::start(target);
    let started = Instant::now();
    let latencies: Vec<Result<u64, String>> = stream::iter(0..args.uploads)
        .map(|_| {
            let (http, url) = (&http, &url);
            async move {
                let t = Instant::now();
                upload(http, target, url, body(size as u64)).await?;
                Ok(t.elapsed().as_micros().max(1) as u64)
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = window.end(target);
    let mut h = report::histogram();
    for l in latencies {
        let _ = h.record(l?);
    }

    // What the disk allows: the same files, written and synced one after another.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let floor_count = args.uploads.min(500);
    let small_floor = disk(dir.path(), size, floor_count)?;
    let large_floor = disk(dir.path(), bytes as usize, 1)?;

    let figures = Figures {
        store: store.to_owned(),
        large,
        uploads: args.uploads,
        upload_bytes: size,
        concurrency: args.concurrency,
        uploads_per_s: args.uploads as f64 / seconds,
        mb_per_s: (args.uploads * size) as f64 / 1e6 / seconds,
        latency: Latency::of(&h),
        server_us_per_upload: cpu.server_us_per(args.uploads as u64),
        disk_files_per_s: floor_count as f64 / small_floor,
        disk_mb_per_s: bytes as f64 / 1e6 / large_floor,
    };
    let l = &figures.large;
    println!(
        "media: {} MiB in {:.2} s: {:.0} MB/s (disk alone {:.0} MB/s, ratio {:.2}); server RSS {} MiB before, {} MiB at most during it",
        args.file_mib,
        l.seconds,
        l.mb_per_s,
        figures.disk_mb_per_s,
        l.mb_per_s / figures.disk_mb_per_s,
        report::opt(l.rss_before_mib, 1),
        report::opt(l.rss_peak_mib, 1),
    );
    println!(
        "media: {:.0} uploads/s of {} KiB ({:.1} MB/s; disk alone {:.0} files/s, ratio {:.2}), p50 {:.1} ms, p99 {:.1} ms, server {} us CPU per upload",
        figures.uploads_per_s,
        args.size_kib,
        figures.mb_per_s,
        figures.disk_files_per_s,
        figures.uploads_per_s / figures.disk_files_per_s,
        figures.latency.p50_ms,
        figures.latency.p99_ms,
        report::opt(figures.server_us_per_upload, 0),
    );
    Ok(figures)
}
