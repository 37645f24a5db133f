//! Typing indicators: ephemeral, never stored, never queued for an offline client.
//!
//! A participant's `conversation.typing` starts (or extends) its indicator: the first one is
//! broadcast as `typingStarted` to the conversation's other sessions; `typingEnded` follows
//! when the participant sends a message or says nothing more for the typing timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use confab_protocol::event::{EventBody, Typing, encode_event};
use confab_protocol::sid::Sid;

use super::hub::Hub;

type Key = (Sid, String);

/// Who is typing where, with the generation of its last signal.
pub(crate) struct TypingTracker {
    timeout: Duration,
    active: Mutex<HashMap<Key, (u64, Typing)>>,
    next: AtomicU64,
}

impl TypingTracker {
    pub fn new(timeout: Duration) -> TypingTracker {
        TypingTracker {
            timeout,
            active: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (u64, Typing)>> {
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `t` is typing: tell the others if it just started, and end it after the timeout
    /// unless it types again.
    pub fn started(self: &Arc<Self>, hub: &Arc<Hub>, t: Typing) {
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        let key = (t.conversation_sid.clone(), t.identity.clone());
        let first = self
            .lock()
            .insert(key.clone(), (generation, t.clone()))
            .is_none();
        if first {
            broadcast(hub, &t, EventBody::TypingStarted(t.clone()));
        }
        let (me, hub) = (self.clone(), hub.clone());
        tokio::spawn(async move {
            tokio::time::sleep(me.timeout).await;
            let ended = {
                let mut active = me.lock();
                match active.get(&key) {
                    Some((g, _)) if *g == generation => active.remove(&key).map(|(_, t)| t),
                    _ => None,
                }
            };
            if let Some(t) = ended {
                broadcast(&hub, &t, EventBody::TypingEnded(t.clone()));
            }
        });
    }

    /// `identity` stopped typing in `conversation` (it sent a message).
    pub fn stopped(&self, hub: &Arc<Hub>, conversation: &Sid, identity: &str) {
        let ended = {
            let mut typing = self.lock();
            // Every message comes here: nobody typing costs no key.
            if typing.is_empty() {
                return;
            }
            typing.remove(&(conversation.clone(), identity.to_owned()))
        };
        if let Some((_, t)) = ended {
            broadcast(hub, &t, EventBody::TypingEnded(t.clone()));
        }
    }
}

fn broadcast(hub: &Hub, t: &Typing, body: EventBody) {
    let frame: Arc<[u8]> = encode_event(t.conversation_sid.as_str(), None, &body).into();
    hub.publish_ephemeral(&t.conversation_sid, frame, Some(&t.identity));
}
