//! Reachability: a user is online while it has a live session on this node or, with a bus
//! between nodes, on a node that said so and has been heard from lately (a node killed
//! without a word takes its users offline after `RealtimeConfig::node_silence`). This module
//! keeps the count; `news` announces the changes.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use confab_protocol::sid::Sid;

/// A user, as presence knows it.
pub(crate) type Who = (Sid, String);

/// Where presence tells the other nodes what changed here (the bus).
pub(crate) trait PresenceNotes {
    /// A user came online here (its first session) or went offline (its last).
    fn presence(&self, service: &Sid, identity: &str, online: bool);
    /// This node is alive, with these users online here.
    fn alive(&self, online: Vec<Who>);
}

/// What another node said of its users.
struct Remote {
    heard: Instant,
    online: HashSet<Who>,
    /// A heartbeat coming in parts: its number, the users so far, the parts so far.
    assembling: Option<(u64, HashSet<Who>, u32)>,
}

impl Remote {
    fn new() -> Remote {
        Remote {
            heard: Instant::now(),
            online: HashSet::new(),
            assembling: None,
        }
    }
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

    /// Tells the other nodes who is online here. Under the sessions lock, as the notes of
    /// [`Presence::opened`] and [`Presence::closed`] are: a heartbeat never overtakes a
    /// newer note about one user.
    pub fn tell_alive(&self, notes: &dyn PresenceNotes) {
        let sessions = self.lock();
        notes.alive(sessions.keys().cloned().collect());
    }

    /// Node `node` says `who` came online or went offline there.
    pub fn remote_changed(&self, node: u64, who: Who, online: bool) {
        let mut remote = self.remote();
        let r = remote.entry(node).or_insert_with(Remote::new);
        r.heard = Instant::now();
        if online {
            r.online.insert(who);
        } else {
            r.online.remove(&who);
        }
    }

    /// Part `part` of `parts` of node `node`'s heartbeat number `beat`, with users online
    /// there. Once every part of a beat is in, the node's users are replaced by them; returns
    /// the users whose standing there changed.
    pub fn remote_alive(
        &self,
        node: u64,
        beat: u64,
        (_part, parts): (u32, u32),
        online: Vec<Who>,
    ) -> Vec<Who> {
        let mut remote = self.remote();
        let r = remote.entry(node).or_insert_with(Remote::new);
        r.heard = Instant::now();
        let assembling = match &mut r.assembling {
            Some((b, set, got)) if *b == beat => {
                set.extend(online);
                *got += 1;
                (*got, std::mem::take(set))
            }
            // A new beat: whatever an older one left unfinished is dropped.
            _ => (1, online.into_iter().collect()),
        };
        let (got, set) = assembling;
        if got < parts {
            r.assembling = Some((beat, set, got));
            return vec![];
        }
        r.assembling = None;
        let old = std::mem::replace(&mut r.online, set);
        old.symmetric_difference(&r.online).cloned().collect()
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

    /// A session opened; true if it is the user's first (it just came online), which the
    /// other nodes are told.
    pub fn opened(&self, service: &Sid, identity: &str, notes: Option<&dyn PresenceNotes>) -> bool {
        let mut sessions = self.lock();
        let n = sessions
            .entry((service.clone(), identity.to_owned()))
            .or_default();
        *n += 1;
        if *n == 1
            && let Some(notes) = notes
        {
            notes.presence(service, identity, true);
        }
        *n == 1
    }

    /// A session ended; true if it was the user's last (it just went offline), which the
    /// other nodes are told.
    pub fn closed(&self, service: &Sid, identity: &str, notes: Option<&dyn PresenceNotes>) -> bool {
        let mut sessions = self.lock();
        let key = (service.clone(), identity.to_owned());
        match sessions.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                sessions.remove(&key);
                if let Some(notes) = notes {
                    notes.presence(service, identity, false);
                }
                true
            }
            None => false,
        }
    }

    /// The number of the next announcement made on this node.
    pub fn next_version(&self) -> u64 {
        self.version.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_protocol::sid::SidKind;

    fn who(name: &str) -> Who {
        (Sid::from_random(SidKind::Service, [1; 16]), name.to_owned())
    }

    #[test]
    fn a_heartbeat_in_parts_counts_once_all_are_in_and_a_newer_one_replaces_it() {
        let p = Presence::default();
        let (a, b, c) = (who("a"), who("b"), who("c"));
        assert!(p.remote_alive(7, 1, (0, 2), vec![a.clone()]).is_empty());
        assert!(!p.is_online(&a.0, "a"), "half a beat changes nothing");
        let mut changed = p.remote_alive(7, 1, (1, 2), vec![b.clone()]);
        changed.sort();
        assert_eq!(changed, vec![a.clone(), b.clone()]);
        assert!(p.is_online(&a.0, "a") && p.is_online(&b.0, "b"));
        // Beat 2's first part, then beat 3 whole: beat 2 is dropped unfinished.
        assert!(p.remote_alive(7, 2, (0, 2), vec![c.clone()]).is_empty());
        let mut changed = p.remote_alive(7, 3, (0, 1), vec![c.clone()]);
        changed.sort();
        assert_eq!(changed, vec![a.clone(), b.clone(), c.clone()]);
        assert!(!p.is_online(&a.0, "a") && p.is_online(&c.0, "c"));
        // Silence takes the node's users away.
        assert_eq!(p.expire_silent_nodes(Duration::ZERO), vec![c.clone()]);
        assert!(!p.is_online(&c.0, "c"));
    }
}
