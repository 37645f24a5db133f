//! WAL checkpoints, mostly on a thread of their own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, on the
//! writer's thread: that commit, and every write queued behind it, waits while the checkpoint
//! copies pages into the database file and fsyncs it. This thread copies pages in PASSIVE
//! mode every [`PAUSE`], which never blocks the writer or the readers, so that the writer's own
//! checkpoint finds little left to copy.
//!
//! The writer's checkpoint stays on, at a high threshold (`WRITER_CHECKPOINT_PAGES` in
//! `lib.rs`): the WAL starts over only when a checkpoint has copied every frame, which under
//! steady load happens only between the writer's own commits (with this thread alone, the WAL
//! grew without end).
//!
//! Checkpoints are rare on purpose. A busy conversation rewrites the same few pages (the ends
//! of its indexes) with every message, and each checkpoint copies every page changed since the
//! last one once: with a checkpoint every 10 ms, as this thread did when it fell behind, a
//! thousand busy conversations made it copy the same pages a hundred times a second.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// Pause between checkpoints.
const PAUSE: Duration = Duration::from_millis(250);

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
    loop {
        match stopped.recv_timeout(PAUSE) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Stopped (the sender is dropped; nothing is ever sent).
            _ => return,
        }
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(database = name, error = %e, "WAL checkpoint failed");
        }
    }
}
