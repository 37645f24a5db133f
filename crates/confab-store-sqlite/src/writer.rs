//! The single writer: one thread owns the only read-write connection. It takes every queued
//! write, runs them all inside one transaction (each in its own savepoint, so one failing write
//! changes nothing and does not spoil the others), commits once, and only then answers each
//! caller. One fsync thus covers a whole batch: group commit.

use std::thread::JoinHandle;

use confab_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// A queued write. `run` executes it inside the open transaction; `finish` answers the caller
/// once the transaction's fate is known.
trait Job: Send {
    fn run(&mut self, conn: &Connection) -> Result<(), Poisoned>;
    fn finish(self: Box<Self>, commit: &StoreResult<()>);
}

/// The transaction itself is unusable after a failed rollback to a savepoint.
struct Poisoned(String);

struct TypedJob<T, F> {
    f: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> Result<(), Poisoned> {
        let Some(f) = self.f.take() else {
            return Ok(());
        };
        // Prepared once and cached: these run twice per write, on the writer's hot path.
        let exec = |sql: &str| {
            conn.prepare_cached(sql)
                .and_then(|mut s| s.execute([]))
                .map_err(|e| Poisoned(e.to_string()))
        };
        exec("SAVEPOINT op")?;
        let result = f(conn);
        if result.is_err() {
            exec("ROLLBACK TO op")?;
        }
        exec("RELEASE op")?;
        self.result = Some(result);
        Ok(())
    }

    fn finish(self: Box<Self>, commit: &StoreResult<()>) {
        let answer = match (commit, self.result) {
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(StoreError::Backend("write was not run".into())),
        };
        // The caller may have given up waiting; nothing to do then.
        let _ = self.reply.send(answer);
    }
}

/// Handle to the writer thread.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`. `max_batch` caps the writes in one transaction so
    /// that one commit never holds answers back for long.
    pub(crate) fn start(
        conn: Connection,
        queue_capacity: usize,
        max_batch: usize,
    ) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel(queue_capacity);
        let thread = std::thread::Builder::new()
            .name("confab-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch))?;
        Ok(Writer {
            queue: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `f` and waits until its transaction committed (or failed).
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            f: Some(f),
            result: None,
            reply,
        });
        let queue = self.queue.as_ref().ok_or_else(closed)?;
        queue.send(job).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".into())
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the thread finish what is queued, then exit; joining makes
        // sure the database file is closed when the store is gone (a restart can reopen it).
        self.queue.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>, max_batch: usize) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&conn, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, jobs = batch.len(), "sqlite batch failed; rolled back");
        }
        for job in batch.drain(..) {
            job.finish(&outcome);
        }
    }
}

fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    for job in batch.iter_mut() {
        if let Err(Poisoned(e)) = job.run(conn) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Backend(e));
        }
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(StoreError::Backend(e.to_string()));
    }
    Ok(())
}
