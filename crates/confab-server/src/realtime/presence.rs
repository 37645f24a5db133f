//! Reachability: a user is online while it has a live session on this node. Coming online,
//! going offline and changing one's friendly name or attributes are announced as
//! `userUpdated` on the streams of the user's conversations, so that the users who share a
//! conversation with it hear it (each session once, however many conversations it shares).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use confab_protocol::event::{EventBody, UserInfo, encode_event};
use confab_protocol::sid::Sid;

use super::Realtime;

/// Live sessions by (service, identity), and the announcement counter.
#[derive(Default)]
pub(crate) struct Presence {
    sessions: Mutex<HashMap<(Sid, String), usize>>,
    version: AtomicU64,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Sid, String), usize>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the user has a live session.
    pub fn is_online(&self, service: &Sid, identity: &str) -> bool {
        self.lock()
            .get(&(service.clone(), identity.to_owned()))
            .is_some_and(|n| *n > 0)
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

    /// Tells the user's conversations about it as it is now.
    pub async fn announce(&self, rt: &Realtime, service: &Sid, identity: &str) {
        // Numbered before reading, so that of two announcements the later read wins.
        let version = self.version.fetch_add(1, Ordering::Relaxed) + 1;
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
        let frame_for = |conversation: &Sid| -> std::sync::Arc<[u8]> {
            encode_event(
                conversation.as_str(),
                None,
                &EventBody::UserUpdated(info.clone()),
            )
            .into()
        };
        rt.hub
            .publish_news(&conversations, frame_for, identity, version);
    }
}
