//! `op_id` de-duplication: a mutating request retried with the same `op_id` (after its socket
//! died, say) gets the first attempt's answer instead of doing the operation twice. Kept per
//! (service, identity, op_id) for a while longer than any client's request timeout; a retry
//! that arrives while the first attempt still runs waits for its answer.
//!
//! `message.send` is also de-duplicated by the store (a unique key on the message row), which
//! outlives this cache and a server restart: for it the cache keeps no answer, only that the
//! send ran ([`Done::InStore`]); a retry runs again, uncharged, and the store answers with the
//! first message. Keeping every message's answer for the whole TTL held gigabytes under load.
//!
//! The cache holds at most a set number of entries: past it the oldest go first, so a flood of
//! requests cannot grow it without bound (the window then shrinks below the TTL; a message
//! retried after it is still de-duplicated by the store).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_protocol::frame::WireError;
use tokio::sync::watch;

/// A request's answer as it is sent: its result encoded as JSON, or its error.
pub(crate) type Answer = Result<String, WireError>;

/// `service`, `identity` and `op_id` joined by NUL (none of them holds one): one allocation per
/// request, shared by the map and the expiry order.
type Key = Arc<str>;

fn key(service: &str, identity: &str, op_id: &str) -> Key {
    format!("{service}\0{identity}\0{op_id}").into()
}

/// How a finished request is remembered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Done {
    /// Its answer, given again to a retry.
    Answer(Answer),
    /// The store keeps the result under the `op_id` (`message.send`): a retry runs again and
    /// gets it from there.
    InStore,
}

struct Entry {
    at: Instant,
    answer: watch::Receiver<Option<Done>>,
}

/// The longest `op_id`, in characters.
pub(crate) const MAX_OP_ID_CHARS: usize = 128;

/// Checks an `op_id` before anything is remembered under it.
pub(crate) fn valid_op_id(op_id: &str) -> bool {
    !op_id.is_empty()
        && op_id.chars().count() <= MAX_OP_ID_CHARS
        && !op_id.chars().any(char::is_control)
}

/// The cache of recent answers by `op_id`.
pub(crate) struct OpCache {
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<Entries>,
}

/// The answers, and their keys in the order they were claimed: every entry lives as long,
/// so the oldest are always at the front and expiring them costs only what expires.
#[derive(Default)]
struct Entries {
    by_key: HashMap<Key, Entry>,
    order: VecDeque<(Instant, Key)>,
}

/// What [`OpCache::claim`] found.
pub(crate) enum Claim {
    /// The first attempt: run it and [`Claim::First`]'s sender takes how it ended.
    First(watch::Sender<Option<Done>>),
    /// A retry: how the first attempt ended arrives here (it may still be running).
    Retry(watch::Receiver<Option<Done>>),
}

impl OpCache {
    /// A cache that keeps answers for `ttl`, at most `max_entries` of them.
    pub fn new(ttl: Duration, max_entries: usize) -> OpCache {
        OpCache {
            ttl,
            max_entries: max_entries.max(1),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Claims `op_id` for `(service, identity)`.
    pub fn claim(&self, service: &str, identity: &str, op_id: &str) -> Claim {
        let now = Instant::now();
        let mut entries = self.lock();
        while let Some((at, _)) = entries.order.front() {
            if now.duration_since(*at) < self.ttl && entries.by_key.len() < self.max_entries {
                break;
            }
            if let Some((at, key)) = entries.order.pop_front()
                && entries.by_key.get(&key).is_some_and(|e| e.at == at)
            {
                entries.by_key.remove(&key);
            }
        }
        let key = key(service, identity, op_id);
        if let Some(e) = entries.by_key.get(&key)
            && now.duration_since(e.at) < self.ttl
        {
            return Claim::Retry(e.answer.clone());
        }
        let (tx, rx) = watch::channel(None);
        entries.order.push_back((now, key.clone()));
        entries.by_key.insert(
            key,
            Entry {
                at: now,
                answer: rx,
            },
        );
        Claim::First(tx)
    }

    /// Forgets `op_id`, so that the next claim runs the operation again.
    pub fn release(&self, service: &str, identity: &str, op_id: &str) {
        self.lock().by_key.remove(&key(service, identity, op_id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_retry_gets_the_first_answer_even_while_it_runs() {
        let cache = OpCache::new(Duration::from_secs(60), 100);
        let Claim::First(tx) = cache.claim("IS1", "alice", "op-1") else {
            panic!("first claim must run")
        };
        let Claim::Retry(mut rx) = cache.claim("IS1", "alice", "op-1") else {
            panic!("second claim must wait")
        };
        // Another identity's identical op_id is its own.
        assert!(matches!(cache.claim("IS1", "bob", "op-1"), Claim::First(_)));
        let done = Done::Answer(Ok(r#"{"index":3}"#.into()));
        tx.send_replace(Some(done.clone()));
        let answer = rx.wait_for(Option::is_some).await.unwrap().clone();
        assert_eq!(answer, Some(done));
    }

    #[test]
    fn a_released_op_id_runs_again() {
        let cache = OpCache::new(Duration::from_secs(60), 100);
        assert!(matches!(cache.claim("IS1", "a", "x"), Claim::First(_)));
        cache.release("IS1", "a", "x");
        assert!(matches!(cache.claim("IS1", "a", "x"), Claim::First(_)));
    }

    #[test]
    fn past_its_size_the_oldest_entries_go_first() {
        let cache = OpCache::new(Duration::from_secs(60), 3);
        for op in ["a", "b", "c", "d"] {
            assert!(matches!(cache.claim("IS1", "u", op), Claim::First(_)));
        }
        assert_eq!(cache.lock().by_key.len(), 3);
        assert!(
            matches!(cache.claim("IS1", "u", "d"), Claim::Retry(_)),
            "the newest is kept"
        );
        assert!(
            matches!(cache.claim("IS1", "u", "a"), Claim::First(_)),
            "the oldest went first"
        );
    }

    #[test]
    fn expired_entries_are_claimed_anew() {
        let cache = OpCache::new(Duration::ZERO, 100);
        assert!(matches!(cache.claim("IS1", "a", "x"), Claim::First(_)));
        assert!(matches!(cache.claim("IS1", "a", "x"), Claim::First(_)));
    }
}
