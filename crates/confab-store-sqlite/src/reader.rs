//! The read pool: a few threads, each owning a read-only connection, take read jobs from one
//! shared queue. In WAL mode readers never block the writer nor each other.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use confab_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Handle to the reader threads.
pub(crate) struct Readers {
    queue: Option<mpsc::UnboundedSender<ReadJob>>,
    threads: Vec<JoinHandle<()>>,
}

impl Readers {
    /// Starts one thread per connection.
    pub(crate) fn start(conns: Vec<Connection>) -> std::io::Result<Readers> {
        let (tx, rx) = mpsc::unbounded_channel::<ReadJob>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(conns.len());
        for (i, conn) in conns.into_iter().enumerate() {
            let rx = Arc::clone(&rx);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("confab-sqlite-reader-{i}"))
                    .spawn(move || {
                        loop {
                            // Holding the lock while waiting is what makes this a work queue: exactly
                            // one idle thread waits on the channel, the others on the lock.
                            let job = match rx.lock() {
                                Ok(mut guard) => guard.blocking_recv(),
                                Err(_) => None,
                            };
                            match job {
                                Some(job) => job(&conn),
                                None => break,
                            }
                        }
                    })?,
            );
        }
        Ok(Readers {
            queue: Some(tx),
            threads,
        })
    }

    /// Runs `f` on a reader connection.
    pub(crate) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(f(conn));
        });
        let closed = || StoreError::Backend("the store is closed".into());
        self.queue
            .as_ref()
            .ok_or_else(closed)?
            .send(job)
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        self.queue.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
