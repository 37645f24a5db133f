//! The backend-independent parts of writes: applying patches to entities and building the
//! encoded events, so that SQLite and PostgreSQL produce byte-identical logs.

use std::sync::Arc;

use confab_protocol::entity::{Conversation, Message, Participant, User};
use confab_protocol::event::{EventBody, Membership, USER_STREAM, encode_event};
use confab_protocol::sid::Sid;

use crate::types::{
    ConversationPatch, LogEvent, MessagePatch, ParticipantPatch, Stream, UserPatch,
};

impl ConversationPatch {
    /// Applies the patch.
    pub fn apply(self, c: &mut Conversation) {
        if let Some(v) = self.friendly_name {
            c.friendly_name = v;
        }
        if let Some(v) = self.unique_name {
            c.unique_name = v;
        }
        if let Some(v) = self.attributes {
            c.attributes = v;
        }
        if let Some(v) = self.state {
            c.state = v;
        }
        if let Some(v) = self.timers {
            // A timer not given is kept.
            if v.date_inactive.is_some() {
                c.timers.date_inactive = v.date_inactive;
            }
            if v.date_closed.is_some() {
                c.timers.date_closed = v.date_closed;
            }
        }
        if let Some(v) = self.messaging_service_sid {
            c.messaging_service_sid = Some(v);
        }
        if let Some(v) = self.bindings {
            c.bindings = Some(merge_bindings(c.bindings.take(), v));
        }
        if let Some(v) = self.date_created {
            c.date_created = v;
        }
        c.date_updated = self.date_updated;
    }
}

/// Merges bindings per channel and field (`{"email": {"name": …}}` keeps the email address).
fn merge_bindings(old: Option<serde_json::Value>, new: serde_json::Value) -> serde_json::Value {
    use serde_json::Value::Object;
    match (old, new) {
        (Some(Object(mut merged)), Object(new)) => {
            for (channel, fields) in new {
                match (merged.get_mut(&channel), fields) {
                    (Some(Object(have)), Object(fields)) => have.extend(fields),
                    (_, fields) => {
                        merged.insert(channel, fields);
                    }
                }
            }
            Object(merged)
        }
        (_, new) => new,
    }
}

impl ParticipantPatch {
    /// Applies the patch.
    pub fn apply(self, p: &mut Participant) {
        if let Some(v) = self.attributes {
            p.attributes = v;
        }
        if let Some(v) = self.role_sid {
            p.role_sid = Some(v);
        }
        if let Some(serde_json::Value::Object(new)) = self.messaging_binding {
            let mut merged = match p.messaging_binding.take() {
                Some(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            merged.extend(new);
            p.messaging_binding = Some(serde_json::Value::Object(merged));
        }
        if let Some(v) = self.last_read_message_index {
            p.last_read_message_index = v;
        }
        if let Some(v) = self.last_read_timestamp {
            p.last_read_timestamp = Some(v);
        }
        if let Some(v) = self.notification_level {
            p.notification_level = v;
        }
        if let Some(v) = self.date_created {
            p.date_created = v;
        }
        p.date_updated = self.date_updated;
    }
}

impl UserPatch {
    /// Applies the patch.
    pub fn apply(self, u: &mut User) {
        if let Some(v) = self.friendly_name {
            u.friendly_name = Some(v);
        }
        if let Some(v) = self.attributes {
            u.attributes = v;
        }
        if let Some(v) = self.role_sid {
            u.role_sid = Some(v);
        }
        u.date_updated = self.date_updated;
    }
}

impl MessagePatch {
    /// Applies the patch.
    pub fn apply(self, m: &mut Message) {
        if let Some(v) = self.body {
            m.body = Some(v);
        }
        if let Some(v) = self.attributes {
            m.attributes = v;
        }
        if let Some(v) = self.author {
            m.author = v;
        }
        if let Some(v) = self.date_created {
            m.date_created = v;
        }
        m.date_updated = self.date_updated;
    }
}

/// Builds a conversation-stream event.
pub fn conversation_event(conversation: &Sid, seq: i64, body: &EventBody) -> LogEvent {
    LogEvent {
        stream: Stream::Conversation(conversation.clone()),
        seq,
        frame: Arc::from(encode_event(conversation.as_str(), Some(seq), body)),
    }
}

/// Builds a user-stream event.
pub fn user_event(service: &Sid, identity: &str, seq: i64, body: &EventBody) -> LogEvent {
    LogEvent {
        stream: Stream::User {
            service: service.clone(),
            identity: identity.to_owned(),
        },
        seq,
        frame: Arc::from(encode_event(USER_STREAM, Some(seq), body)),
    }
}

/// The membership record of a participant at conversation `seq`.
pub fn membership(
    p: &Participant,
    conversation_seq: i64,
    conversation: Option<Conversation>,
) -> Membership {
    Membership {
        conversation_sid: p.conversation_sid.clone(),
        participant_sid: Some(p.sid.clone()),
        conversation_seq,
        conversation,
    }
}

/// Rewrites a logged frame without the text of a removed message: body `null`, attributes
/// `{}`. Frames that do not parse are replaced by an empty object so that no text survives.
pub fn scrub_message_frame(frame: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(frame) else {
        return b"{}".to_vec();
    };
    if let Some(data) = v.get_mut("data").and_then(|d| d.as_object_mut()) {
        data.insert("body".into(), serde_json::Value::Null);
        data.insert("attributes".into(), serde_json::Value::String("{}".into()));
        // Its files go with it: their names and types are the sender's words too.
        data.remove("media");
    }
    serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec())
}

/// The read horizon a participant ends up with: `wanted` clamped to the last message
/// (`None` when there is none), never behind `current` when only advancing.
pub fn next_read_horizon(
    current: Option<i64>,
    wanted: Option<i64>,
    last_message_index: Option<i64>,
    advance_only: bool,
) -> Option<i64> {
    let wanted = match (wanted, last_message_index) {
        (Some(w), Some(last)) => Some(w.clamp(0, last)),
        (Some(_), None) => None,
        (None, _) => None,
    };
    match (advance_only, current, wanted) {
        (true, Some(c), Some(w)) => Some(c.max(w)),
        (true, Some(c), None) => Some(c),
        _ => wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::scrub_message_frame;

    #[test]
    fn a_scrubbed_frame_keeps_nothing_the_sender_wrote() {
        let frame = br#"{"op":"event","seq":3,"type":"messageAdded","data":{"sid":"IM1","body":"secret","attributes":"{\"k\":1}","media":[{"sid":"ME1","filename":"secret.png"}]}}"#;
        let scrubbed: serde_json::Value =
            serde_json::from_slice(&scrub_message_frame(frame)).unwrap();
        let data = &scrubbed["data"];
        assert_eq!(data["body"], serde_json::Value::Null);
        assert_eq!(data["attributes"], "{}");
        assert!(data.get("media").is_none(), "{scrubbed}");
        assert_eq!(
            (data["sid"].as_str(), scrubbed["seq"].as_i64()),
            (Some("IM1"), Some(3))
        );
    }
}
