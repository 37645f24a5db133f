//! `floor`: what it costs on this machine to deliver a frame when each delivery is its own
//! `write`, with no Confab in the way: a thread writes frames to many loopback connections in
//! bursts (as a server fans a message out), another reads them all through epoll (as a load
//! generator does). Each thread's CPU time comes from the kernel's own accounting
//! (`/proc/thread-self/schedstat`). On loopback the receiving side's TCP work runs in the
//! writer's system call, so the writer's figure is the floor under a server's CPU per delivery
//! whenever frames cannot be coalesced (a member of a quiet conversation gets one frame at a
//! time, whatever the server).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::AsyncReadExt;

/// Settings of a floor run.
#[derive(clap::Args, Debug, Clone)]
pub struct FloorArgs {
    /// Connections (this process holds both ends: two descriptors each).
    #[arg(long, default_value_t = 5_000)]
    pub connections: usize,
    /// Bytes per frame.
    #[arg(long, default_value_t = 1_030)]
    pub frame_bytes: usize,
    /// Frames written back to back before a pause (a message fanned out to a conversation).
    #[arg(long, default_value_t = 100)]
    pub burst: usize,
    /// Frames per second of each step.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "20000,50000,100000,150000"
    )]
    pub rates: Vec<f64>,
    /// Seconds per step.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
}

/// One step's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Frames per second asked for.
    pub target_per_s: f64,
    /// Frames per second written.
    pub written_per_s: f64,
    /// The writing thread's CPU per frame, µs.
    pub writer_us_per_frame: f64,
    /// The reading thread's CPU per frame, µs.
    pub reader_us_per_frame: f64,
    /// The writing thread's CPU, in cores.
    pub writer_cores: f64,
    /// The reading thread's CPU, in cores.
    pub reader_cores: f64,
}

/// A floor run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Connections.
    pub connections: usize,
    /// Bytes per frame.
    pub frame_bytes: usize,
    /// Frames per burst.
    pub burst: usize,
    /// Every step.
    pub steps: Vec<Step>,
}

/// The calling thread's CPU time so far.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Runs the steps; needs no server.
pub fn run(args: &FloorArgs) -> Result<Figures, String> {
    if args.connections == 0 || args.frame_bytes == 0 || args.burst == 0 || args.secs <= 0.0 {
        return Err("--connections, --frame-bytes, --burst and --secs must be positive".into());
    }
    if args.rates.iter().any(|r| *r <= 0.0) {
        return Err("--rates must be positive".into());
    }
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut readers = Vec::with_capacity(args.connections);
    let mut writers = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let reader = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        let (writer, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        writer.set_nodelay(true).map_err(|e| e.to_string())?;
        reader.set_nonblocking(true).map_err(|e| e.to_string())?;
        readers.push(reader);
        writers.push(writer);
    }
    println!(
        "floor: {} loopback connections, {} B frames in bursts of {}",
        args.connections, args.frame_bytes, args.burst
    );
    let (report_tx, report_rx) = std::sync::mpsc::channel::<(u64, Duration)>();
    let (ask_tx, ask_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || read_all(readers, &ask_rx, &report_tx));
    println!(
        "  {:>10} {:>10} {:>14} {:>14} {:>9} {:>9}",
        "target/s", "written/s", "writer us/fr", "reader us/fr", "writer %", "reader %"
    );
    let frame = vec![b'x'; args.frame_bytes];
    let mut steps = vec![];
    let mut next = 0usize;
    for &rate in &args.rates {
        let started = Instant::now();
        let cpu = thread_cpu();
        let mut written = 0u64;
        let bursts_per_s = rate / args.burst as f64;
        let mut due = started;
        while started.elapsed().as_secs_f64() < args.secs {
            for _ in 0..args.burst {
                let w = &mut writers[next % args.connections];
                next += 1;
                w.write_all(&frame).map_err(|e| format!("write: {e}"))?;
                written += 1;
            }
            due += Duration::from_secs_f64(1.0 / bursts_per_s);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let writer_cpu = thread_cpu().saturating_sub(cpu).as_secs_f64();
        // The reader's bytes and CPU since the last ask.
        ask_tx.send(()).map_err(|_| "the reader stopped")?;
        let (bytes, reader_cpu) = report_rx.recv().map_err(|_| "the reader stopped")?;
        let frames = bytes as f64 / args.frame_bytes as f64;
        let step = Step {
            target_per_s: rate,
            written_per_s: written as f64 / seconds,
            writer_us_per_frame: writer_cpu * 1e6 / written.max(1) as f64,
            reader_us_per_frame: reader_cpu.as_secs_f64() * 1e6 / frames.max(1.0),
            writer_cores: writer_cpu / seconds,
            reader_cores: reader_cpu.as_secs_f64() / seconds,
        };
        println!(
            "  {:>10.0} {:>10.0} {:>14.2} {:>14.2} {:>9.0} {:>9.0}",
            step.target_per_s,
            step.written_per_s,
            step.writer_us_per_frame,
            step.reader_us_per_frame,
            step.writer_cores * 100.0,
            step.reader_cores * 100.0
        );
        steps.push(step);
    }
    drop(writers);
    drop(ask_tx);
    let _ = reader.join();
    Ok(Figures {
        connections: args.connections,
        frame_bytes: args.frame_bytes,
        burst: args.burst,
        steps,
    })
}

/// Reads every connection on one thread (a current-thread runtime: one epoll), answering each
/// ask with the bytes read and the thread's CPU since the previous one.
fn read_all(
    readers: Vec<TcpStream>,
    ask: &std::sync::mpsc::Receiver<()>,
    report: &std::sync::mpsc::Sender<(u64, Duration)>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    runtime.block_on(async {
        for r in readers {
            let Ok(mut r) = tokio::net::TcpStream::from_std(r) else {
                continue;
            };
            let total = total.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = r.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    total.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        let mut last = (0u64, thread_cpu());
        loop {
            // Polls the asks between reads; the frames keep the runtime busy meanwhile.
            match ask.try_recv() {
                Ok(()) => {
                    let now = (
                        total.load(std::sync::atomic::Ordering::Relaxed),
                        thread_cpu(),
                    );
                    let _ = report.send((now.0 - last.0, now.1.saturating_sub(last.1)));
                    last = now;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}
