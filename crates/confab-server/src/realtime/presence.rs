//! Reachability: a user is online while it has a live session on this node or, with a bus
//! between nodes, on a node that said so and has been heard from lately (a node killed
//! without a word takes its users offline after `RealtimeConfig::node_silence`). Coming online,
//! going offline and changing one's friendly name or attributes are announced as
//! `userUpdated` on the streams of the user's conversations, so that the users who share a
//! conversation with it hear it (each session once, however many conversations it shares).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use confab_protocol::event::{EventBody, UserInfo, encode_event};
use confab_protocol::sid::Sid;

use super::Realtime;

/// A user, as presence knows it.
pub(crate) type Who = (Sid, String);

/// What another node said of its users.
struct Remote {
    heard: Instant,
    online: HashSet<Who>,
}

/// Live sessions by (service, identity), what the other nodes said, and the announcement
/// counter.
#[derive(Default)]
pub(crate) struct Presence {
    sessions: Mutex<HashMap<Who, usize>>,
    remote: Mutex<HashMap<u64, Remote>>,
    version: AtomicU64,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Sid, String), usize>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Remote>> {
        self.remote
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the user has a live session here or on another node.
    pub fn is_online(&self, service: &Sid, identity: &str) -> bool {
        let who = (service.clone(), identity.to_owned());
        self.lock().get(&who).is_some_and(|n| *n > 0)
            || self.remote().values().any(|r| r.online.contains(&who))
    }

    /// The users with a live session on this node.
    pub fn online_here(&self) -> Vec<Who> {
        self.lock().keys().cloned().collect()
    }

    /// Node `node` says `who` came online or went offline there.
    pub fn remote_changed(&self, node: u64, who: Who, online: bool) {
        let mut remote = self.remote();
        let r = remote.entry(node).or_insert_with(|| Remote {
            heard: Instant::now(),
            online: HashSet::new(),
        });
        r.heard = Instant::now();
        if online {
            r.online.insert(who);
        } else {
            r.online.remove(&who);
        }
    }

    /// Node `node`'s heartbeat, with every user online there; returns the users whose
    /// standing there changed.
    pub fn remote_alive(&self, node: u64, online: HashSet<Who>) -> Vec<Who> {
        let mut remote = self.remote();
        let old = remote.insert(
            node,
            Remote {
                heard: Instant::now(),
                online: online.clone(),
            },
        );
        let old = old.map(|r| r.online).unwrap_or_default();
        old.symmetric_difference(&online).cloned().collect()
    }

    /// Forgets the nodes not heard from for `silence`; returns their users.
    pub fn expire_silent_nodes(&self, silence: Duration) -> Vec<Who> {
        let mut remote = self.remote();
        let silent: Vec<u64> = remote
            .iter()
            .filter(|(_, r)| r.heard.elapsed() >= silence)
            .map(|(node, _)| *node)
            .collect();
        let mut gone = vec![];
        for node in silent {
            if let Some(r) = remote.remove(&node) {
                tracing::warn!(
                    node,
                    users = r.online.len(),
                    "a node went silent: its users are offline"
                );
                gone.extend(r.online);
            }
        }
        gone
    }

    /// A session opened; true if it is the user's first (it just came online).
    pub fn opened(&self, service: &Sid, identity: &str) -> bool {
        let mut sessions = self.lock();
        let n = sessions
            .entry((service.clone(), identity.to_owned()))
            .or_default();
        *n += 1;
        *n == 1
    }

    /// A session ended; true if it was the user's last (it just went offline).
    pub fn closed(&self, service: &Sid, identity: &str) -> bool {
        let mut sessions = self.lock();
        let key = (service.clone(), identity.to_owned());
        match sessions.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                sessions.remove(&key);
                true
            }
            None => false,
        }
    }

    /// The number of the next announcement made on this node.
    pub fn next_version(&self) -> u64 {
        self.version.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Tells the user's conversations about it as it is now: this node's sessions and, with
    /// a bus, the other nodes' (the news goes whole, so that they read nothing).
    pub async fn announce(&self, rt: &Realtime, service: &Sid, identity: &str) {
        self.announce_to(rt, service, identity, true).await;
    }

    /// [`Presence::announce`] to this node's sessions only: for what every node finds out
    /// by itself (another node gone silent).
    pub async fn announce_here(&self, rt: &Realtime, service: &Sid, identity: &str) {
        self.announce_to(rt, service, identity, false).await;
    }

    async fn announce_to(&self, rt: &Realtime, service: &Sid, identity: &str, spread: bool) {
        // Numbered before reading, so that of two announcements the later read wins.
        let version = self.next_version();
        let store = rt.domain.store_handle();
        let (user, memberships) = match (
            store.user(service.as_str(), identity).await,
            store.memberships(service.as_str(), identity).await,
        ) {
            (Ok(Some(u)), Ok(m)) => (u, m),
            // Deleted meanwhile, or the store failed: nothing to say.
            _ => return,
        };
        let info = UserInfo {
            identity: identity.to_owned(),
            friendly_name: user.friendly_name,
            attributes: user.attributes,
            is_online: self.is_online(service, identity),
        };
        let conversations: Vec<Sid> = memberships
            .conversations
            .into_iter()
            .map(|(sid, _)| sid)
            .collect();
        if spread && let Some(bus) = rt.hub.bus() {
            bus.news(&info, &conversations);
        }
        publish(rt, &info, &conversations, version);
    }
}

/// Hands news about `info`'s user to this node's sessions in `conversations`, numbered
/// `version` (each session takes it once, through the first conversation it follows).
pub(crate) fn publish(rt: &Realtime, info: &UserInfo, conversations: &[Sid], version: u64) {
    let frame_for = |conversation: &Sid| -> std::sync::Arc<[u8]> {
        encode_event(
            conversation.as_str(),
            None,
            &EventBody::UserUpdated(info.clone()),
        )
        .into()
    };
    rt.hub
        .publish_news(conversations, frame_for, &info.identity, version);
}
