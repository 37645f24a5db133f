//! Read horizons, live: not in the conversation log (DESIGN.md section 4). The latest value
//! per participant is broadcast to the conversation's sessions at most once a second: a
//! reader scrolling through a hundred messages causes one or two events, not a hundred.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_protocol::event::{EventBody, Horizon, encode_event};
use confab_protocol::sid::Sid;

use super::hub::Hub;

/// The shortest time between two broadcasts of one participant's horizon.
const INTERVAL: Duration = Duration::from_secs(1);

struct Entry {
    sent_at: Option<Instant>,
    latest: Horizon,
    scheduled: bool,
}

/// The last broadcast and latest value of each participant's horizon.
#[derive(Default)]
pub(crate) struct Horizons {
    entries: Mutex<HashMap<(Sid, String), Entry>>,
    /// One turn at a time per (service, identity), see [`Horizons::in_turn`].
    turns: Mutex<HashMap<(Sid, String), Turn>>,
}

/// Held while one change of a user's read horizons runs.
type Turn = Arc<tokio::sync::Mutex<()>>;

/// Forgets a user's turn once nobody holds or waits for it, also when the request that held
/// it was dropped half way.
struct TurnDone<'a> {
    turns: &'a Mutex<HashMap<(Sid, String), Turn>>,
    key: (Sid, String),
    turn: Turn,
}

impl Drop for TurnDone<'_> {
    fn drop(&mut self) {
        let mut turns = lock(self.turns);
        // Only the map and this call hold it: nobody waits, so it can go.
        if Arc::strong_count(&self.turn) == 2 {
            turns.remove(&self.key);
        }
    }
}

impl Horizons {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Sid, String), Entry>> {
        lock(&self.entries)
    }

    /// Runs one change of `identity`'s read horizons, after any other under way: so the
    /// changes reach [`Horizons::moved`] in the order they committed, and two devices moving
    /// the horizon at once cannot leave the older value as the one broadcast last (on one
    /// node; sessions on other nodes hear of horizons with the multi-node work).
    pub async fn in_turn<T>(
        &self,
        service: &Sid,
        identity: &str,
        change: impl std::future::Future<Output = T>,
    ) -> T {
        let key = (service.clone(), identity.to_owned());
        let turn = lock(&self.turns).entry(key.clone()).or_default().clone();
        let done = TurnDone {
            turns: &self.turns,
            key,
            turn,
        };
        let _mine = done.turn.lock().await;
        change.await
    }

    /// A participant's horizon moved: broadcast now, or once the interval since the last
    /// broadcast has passed (then with whatever the latest value is).
    pub fn moved(self: &Arc<Self>, hub: &Arc<Hub>, h: Horizon) {
        let key = (h.conversation_sid.clone(), h.identity.clone());
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() > 100_000 {
            entries.retain(|_, e| e.scheduled || e.sent_at.is_some_and(|t| now - t < INTERVAL));
        }
        let entry = entries.entry(key.clone()).or_insert(Entry {
            sent_at: None,
            latest: h.clone(),
            scheduled: false,
        });
        entry.latest = h.clone();
        match entry.sent_at {
            Some(t) if now - t < INTERVAL => {
                if !entry.scheduled {
                    entry.scheduled = true;
                    let (me, hub, at) = (self.clone(), hub.clone(), t + INTERVAL);
                    tokio::spawn(async move {
                        tokio::time::sleep_until(at.into()).await;
                        let latest = {
                            let mut entries = me.lock();
                            entries.get_mut(&key).map(|e| {
                                e.scheduled = false;
                                e.sent_at = Some(Instant::now());
                                e.latest.clone()
                            })
                        };
                        if let Some(h) = latest {
                            broadcast(&hub, &h);
                        }
                    });
                }
            }
            _ => {
                entry.sent_at = Some(now);
                drop(entries);
                broadcast(hub, &h);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn broadcast(hub: &Hub, h: &Horizon) {
    let frame: Arc<[u8]> = encode_event(
        h.conversation_sid.as_str(),
        None,
        &EventBody::ReadHorizon(h.clone()),
    )
    .into();
    hub.publish_ephemeral(&h.conversation_sid, frame, None);
}
