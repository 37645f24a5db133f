//! WAL checkpoints, mostly on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the threshold (1,000
//! pages), on the writer's thread: that commit, and every write queued behind it, waits while
//! the checkpoint copies pages into the database file and fsyncs it. Under steady load that
//! was a stall of about 100 ms every few seconds (`confab bench fanout`). This thread copies
//! pages in PASSIVE mode, which never blocks the writer or the readers, so that the writer's
//! own checkpoint finds little left to copy.
//!
//! The writer's checkpoint stays on: the WAL starts over only when a checkpoint has copied
//! every frame, which under steady load happens only between the writer's own commits (with
//! this thread alone, the WAL grew without end).

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// Pause between checkpoints while the WAL is small.
const PAUSE: Duration = Duration::from_millis(500);
/// More pages than this left in the WAL after a checkpoint: go again after [`SOON`].
const BEHIND: i64 = 4_000;
/// The pause when behind: short, but not a spin while a reader's snapshot holds frames.
const SOON: Duration = Duration::from_millis(10);

/// The checkpointing thread; dropping it stops the thread.
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` with `conn` (a read-write connection of
    /// its own).
    pub fn start(conn: Connection, path: &Path) -> std::io::Result<Checkpointer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let name = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &stopped, &name))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>, name: &str) {
    let mut pause = PAUSE;
    loop {
        match stopped.recv_timeout(pause) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Stopped (the sender is dropped; nothing is ever sent).
            _ => return,
        }
        // (busy, frames in the WAL, frames checkpointed)
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        pause = match result {
            Ok((_, log, done)) if log - done > BEHIND => SOON,
            Ok(_) => PAUSE,
            Err(e) => {
                tracing::warn!(database = name, error = %e, "WAL checkpoint failed");
                PAUSE
            }
        };
    }
}
