//! The single writer: one thread owns the only read-write connection. It takes every queued
//! write, runs them all inside one transaction (each in its own savepoint, so one failing write
//! changes nothing and does not spoil the others), commits once, and only then answers each
//! caller. One fsync thus covers a whole batch: group commit. The thread knows the commit
//! order, so it hands each committed batch on in that order (`handoff`), which gives every
//! write's events to the store's listener before answering anyone.
//!
//! A write that can fail only before its first change (adding a message: every check comes
//! first) runs without a savepoint ([`Writer::write_checked_first`]): a savepoint copies each
//! page the write touches first into its journal, a tenth of the writer's time per message.
//! Should such a write fail after changing rows all the same, the whole batch is undone and
//! fails (its callers retry; nothing was acknowledged).

use std::sync::{Mutex, RwLock};
use std::thread::JoinHandle;

use confab_store::{Committed, LogEvent, StoreError, StoreResult};

use crate::handoff::HandoffSlot;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

/// A queued write. `run` executes it inside the open transaction; `finish` answers the caller
/// once the transaction's fate is known.
pub(crate) trait Job: Send {
    fn run(&mut self, conn: &Connection) -> Result<(), Poisoned>;
    /// The events the write logged, once it ran.
    fn events(&self) -> &[LogEvent];
    fn finish(self: Box<Self>, commit: &StoreResult<()>);
}

/// The transaction itself is unusable after a failed rollback to a savepoint.
pub(crate) struct Poisoned(String);

struct TypedJob<T, F> {
    f: Option<F>,
    /// Whether the write needs a savepoint (it may fail after changing rows).
    savepoint: bool,
    /// The events in a result of this type (none but in a [`Committed`]).
    events: fn(&T) -> &[LogEvent],
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

fn no_events<T>(_: &T) -> &[LogEvent] {
    &[]
}

fn committed_events<U>(c: &Committed<U>) -> &[LogEvent] {
    &c.events
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
        if !self.savepoint {
            let before = conn.total_changes();
            let result = f(conn);
            if result.is_err() && conn.total_changes() != before {
                return Err(Poisoned("a write failed after changing rows".into()));
            }
            self.result = Some(result);
            return Ok(());
        }
        exec("SAVEPOINT op")?;
        let result = f(conn);
        if result.is_err() {
            exec("ROLLBACK TO op")?;
        }
        exec("RELEASE op")?;
        self.result = Some(result);
        Ok(())
    }

    fn events(&self) -> &[LogEvent] {
        match &self.result {
            Some(Ok(t)) => (self.events)(t),
            _ => &[],
        }
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
    /// `None` once closed. Read-locked only long enough to clone the sender.
    queue: RwLock<Option<mpsc::Sender<Box<dyn Job>>>>,
    /// Fires when the thread has finished the queue and closed its connection.
    done: Mutex<Option<oneshot::Receiver<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer thread on `conn`. `max_batch` caps the writes in one transaction so
    /// that one commit never holds answers back for long; committed events go to the
    /// listener in `listener` (once one is set).
    pub(crate) fn start(
        conn: Connection,
        queue_capacity: usize,
        max_batch: usize,
        listener: HandoffSlot,
    ) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel(queue_capacity);
        let (done_tx, done_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("confab-sqlite-writer".into())
            .spawn(move || {
                run(conn, rx, max_batch, &listener);
                let _ = done_tx.send(());
            })?;
        Ok(Writer {
            queue: RwLock::new(Some(tx)),
            done: Mutex::new(Some(done_rx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues `f` and waits until its transaction committed (or failed).
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.queue_write(f, true, no_events).await
    }

    /// Like [`Writer::write`], for a write that logs events: they go to the listener in
    /// commit order.
    pub(crate) async fn write_logged<U, F>(&self, f: F) -> StoreResult<Committed<U>>
    where
        U: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<Committed<U>> + Send + 'static,
    {
        self.queue_write(f, true, committed_events).await
    }

    /// Like [`Writer::write_logged`], for an `f` that fails only before its first change: it
    /// runs without a savepoint of its own.
    pub(crate) async fn write_logged_checked_first<U, F>(&self, f: F) -> StoreResult<Committed<U>>
    where
        U: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<Committed<U>> + Send + 'static,
    {
        self.queue_write(f, false, committed_events).await
    }

    async fn queue_write<T, F>(
        &self,
        f: F,
        savepoint: bool,
        events: fn(&T) -> &[LogEvent],
    ) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TypedJob {
            f: Some(f),
            savepoint,
            events,
            result: None,
            reply,
        });
        let queue = self
            .queue
            .read()
            .ok()
            .and_then(|q| q.clone())
            .ok_or_else(closed)?;
        queue.send(job).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Refuses new writes, lets the thread commit what is queued, and waits until it has
    /// closed the database connection.
    pub(crate) async fn close(&self) {
        if let Ok(mut q) = self.queue.write() {
            q.take();
        }
        let done = self.done.lock().ok().and_then(|mut d| d.take());
        if let Some(done) = done {
            let _ = done.await;
        }
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".into())
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue lets the thread finish what is queued, then exit; joining makes
        // sure the database file is closed when the store is gone (a restart can reopen it).
        if let Ok(mut q) = self.queue.write() {
            q.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    listener: &HandoffSlot,
) {
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
        match (&outcome, listener.get()) {
            // The events go on in commit order (this thread is the only writer), before any
            // caller hears its write committed.
            (Ok(()), Some(handoff)) => {
                handoff.committed(std::mem::replace(&mut batch, Vec::with_capacity(max_batch)));
            }
            _ => {
                if let Err(e) = &outcome {
                    tracing::error!(error = %e, jobs = batch.len(), "sqlite batch failed; rolled back");
                }
                for job in batch.drain(..) {
                    job.finish(&outcome);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job<T: Send + 'static>(
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> (Box<dyn Job>, oneshot::Receiver<StoreResult<T>>) {
        let (reply, answer) = oneshot::channel();
        (
            Box::new(TypedJob {
                f: Some(f),
                savepoint: true,
                events: no_events,
                result: None,
                reply,
            }),
            answer,
        )
    }

    #[test]
    fn a_write_failing_after_its_changes_is_undone_while_its_batch_neighbours_commit() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let insert = |x: i64| {
            move |c: &Connection| {
                c.execute("INSERT INTO t VALUES (?1)", [x])
                    .map_err(crate::rows::backend)
            }
        };
        let (first, first_answer) = job(insert(1));
        let (failing, failing_answer) = job(move |c: &Connection| {
            insert(2)(c)?;
            insert(3)(c)?;
            Err::<usize, _>(StoreError::Conflict("refused after writing".into()))
        });
        let (last, last_answer) = job(insert(4));
        let mut batch = vec![first, failing, last];
        let outcome = run_batch(&conn, &mut batch);
        assert!(outcome.is_ok());
        for j in batch.drain(..) {
            j.finish(&outcome);
        }
        assert!(first_answer.blocking_recv().unwrap().is_ok());
        assert!(matches!(
            failing_answer.blocking_recv().unwrap(),
            Err(StoreError::Conflict(_))
        ));
        assert!(last_answer.blocking_recv().unwrap().is_ok());
        let rows: Vec<i64> = conn
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, [1, 4]);
    }

    fn unjournaled<T: Send + 'static>(
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> (Box<dyn Job>, oneshot::Receiver<StoreResult<T>>) {
        let (reply, answer) = oneshot::channel();
        (
            Box::new(TypedJob {
                f: Some(f),
                savepoint: false,
                events: no_events,
                result: None,
                reply,
            }),
            answer,
        )
    }

    #[test]
    fn a_write_without_savepoint_failing_before_any_change_spares_its_batch() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
            .unwrap();
        let (first, first_answer) = job(|c: &Connection| {
            c.execute("INSERT INTO t VALUES (1)", [])
                .map_err(crate::rows::backend)
        });
        // Fails on its first statement (a unique violation), which SQLite undoes by itself.
        let (refused, refused_answer) = unjournaled(|c: &Connection| {
            c.execute("INSERT INTO t VALUES (1)", [])
                .map_err(crate::rows::backend)
        });
        let mut batch = vec![first, refused];
        let outcome = run_batch(&conn, &mut batch);
        assert!(outcome.is_ok());
        for j in batch.drain(..) {
            j.finish(&outcome);
        }
        assert!(first_answer.blocking_recv().unwrap().is_ok());
        assert!(refused_answer.blocking_recv().unwrap().is_err());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_write_without_savepoint_failing_after_a_change_undoes_its_whole_batch() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let (first, first_answer) = job(|c: &Connection| {
            c.execute("INSERT INTO t VALUES (1)", [])
                .map_err(crate::rows::backend)
        });
        let (broken, broken_answer) = unjournaled(|c: &Connection| {
            c.execute("INSERT INTO t VALUES (2)", [])
                .map_err(crate::rows::backend)?;
            Err::<usize, _>(StoreError::Conflict("refused after writing".into()))
        });
        let mut batch = vec![first, broken];
        let outcome = run_batch(&conn, &mut batch);
        assert!(matches!(outcome, Err(StoreError::Backend(_))));
        for j in batch.drain(..) {
            j.finish(&outcome);
        }
        assert!(
            first_answer.blocking_recv().unwrap().is_err(),
            "nothing acknowledged"
        );
        assert!(broken_answer.blocking_recv().unwrap().is_err());
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "the whole batch was undone");
    }

    #[test]
    fn a_failed_commit_fails_every_write_of_the_batch() {
        let conn = Connection::open_in_memory().unwrap();
        let (a, a_answer) = job(|_: &Connection| Ok(1));
        let mut batch = vec![a];
        let outcome: StoreResult<()> = Err(StoreError::Backend("disk full".into()));
        run_batch(&conn, &mut batch).unwrap();
        for j in batch.drain(..) {
            j.finish(&outcome);
        }
        assert!(matches!(
            a_answer.blocking_recv().unwrap(),
            Err(StoreError::Backend(_))
        ));
    }
}
