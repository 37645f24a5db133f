//! Events: what every durable change writes into the event log (already encoded, so that fan-out
//! and replay send the stored bytes as they are) and what ephemeral signals push live.
//!
//! A frame on the wire is `{"op":"event","stream":S,"seq":N,"type":T,"data":D}` where `stream`
//! is a conversation SID or `user` (the identity's membership stream), and `seq` is that
//! stream's gapless sequence number (absent for ephemeral events).

use serde::{Deserialize, Serialize};

use crate::entity::{Conversation, Message, Participant};
use crate::sid::Sid;

/// The stream name of an identity's own membership log.
pub const USER_STREAM: &str = "user";

/// The body of an event: its type and data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum EventBody {
    /// Conversation stream: the conversation was created (always `seq` 1).
    ConversationAdded(Conversation),
    /// Conversation stream: friendly name, unique name, attributes or state changed.
    ConversationUpdated(Conversation),
    /// Conversation stream: a participant was added.
    ParticipantJoined(Participant),
    /// Conversation stream: a participant changed.
    ParticipantUpdated(Participant),
    /// Conversation stream: a participant was removed.
    ParticipantLeft(Participant),
    /// Conversation stream: a message was added.
    MessageAdded(Message),
    /// Conversation stream: a message's body or attributes changed.
    MessageUpdated(Message),
    /// Conversation stream: a message was removed (its text scrubbed from the log).
    MessageRemoved(Message),
    /// User stream: this identity became a participant of a conversation.
    ConversationJoined(Membership),
    /// User stream: this identity stopped being a participant of a conversation.
    ConversationLeft(Membership),
    /// User stream: a conversation this identity belonged to was deleted.
    ConversationRemoved(Membership),
    /// Conversation stream, never logged and without a `seq` of its own: the client's cursor
    /// is older than the log keeps, so it must reload the conversation; events after
    /// [`Reset::seq`] follow.
    ConversationReset(Reset),
    /// Conversation stream, ephemeral (never logged, no `seq`): a participant is typing. Sent
    /// to the conversation's other participants.
    TypingStarted(Typing),
    /// Conversation stream, ephemeral: that participant stopped typing (it sent a message, or
    /// said nothing more for the typing timeout).
    TypingEnded(Typing),
    /// Conversation stream, ephemeral: a participant's read horizon moved (coalesced: at most
    /// one a second per participant, the latest value).
    ReadHorizon(Horizon),
    /// Ephemeral, on the streams of the conversations a user is in: the user's friendly name,
    /// attributes or reachability changed. A session hears it once, whatever the number of
    /// conversations it shares with the user.
    UserUpdated(UserInfo),
}

/// The data of `userUpdated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's identity.
    pub identity: String,
    /// Its friendly name.
    pub friendly_name: Option<String>,
    /// Its attributes (JSON text).
    pub attributes: String,
    /// Whether it has a live session.
    pub is_online: bool,
}

/// The data of `readHorizon`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Horizon {
    /// The conversation.
    pub conversation_sid: Sid,
    /// The participant.
    pub participant_sid: Sid,
    /// Its identity.
    pub identity: String,
    /// The last message it has read; `null`: none.
    pub last_read_message_index: Option<i64>,
}

/// The data of `typingStarted` and `typingEnded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    /// The conversation.
    pub conversation_sid: Sid,
    /// The participant typing.
    pub participant_sid: Option<Sid>,
    /// Its identity.
    pub identity: String,
}

/// The data of `conversationReset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// The conversation's `seq` the reload stands for: events after it follow.
    pub seq: i64,
}

impl EventBody {
    /// The wire name of the event type.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventBody::ConversationAdded(_) => "conversationAdded",
            EventBody::ConversationUpdated(_) => "conversationUpdated",
            EventBody::ParticipantJoined(_) => "participantJoined",
            EventBody::ParticipantUpdated(_) => "participantUpdated",
            EventBody::ParticipantLeft(_) => "participantLeft",
            EventBody::MessageAdded(_) => "messageAdded",
            EventBody::MessageUpdated(_) => "messageUpdated",
            EventBody::MessageRemoved(_) => "messageRemoved",
            EventBody::ConversationJoined(_) => "conversationJoined",
            EventBody::ConversationLeft(_) => "conversationLeft",
            EventBody::ConversationRemoved(_) => "conversationRemoved",
            EventBody::ConversationReset(_) => "conversationReset",
            EventBody::TypingStarted(_) => "typingStarted",
            EventBody::TypingEnded(_) => "typingEnded",
            EventBody::ReadHorizon(_) => "readHorizon",
            EventBody::UserUpdated(_) => "userUpdated",
        }
    }
}

/// A membership change in an identity's user stream. `conversation_seq` is the conversation's
/// `seq` at the moment of the change, so a client can start watching it from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The conversation.
    pub conversation_sid: Sid,
    /// The participant that joined or left.
    pub participant_sid: Option<Sid>,
    /// The conversation's `seq` after the change.
    pub conversation_seq: i64,
    /// The conversation as it was then (present when joining).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
}

#[derive(Serialize)]
struct FrameOut<'a> {
    op: &'static str,
    stream: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<i64>,
    #[serde(flatten)]
    body: &'a EventBody,
}

/// An event frame as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventFrame {
    /// A conversation SID or [`USER_STREAM`].
    pub stream: String,
    /// The stream's sequence number, for durable events.
    #[serde(default)]
    pub seq: Option<i64>,
    /// Type and data.
    #[serde(flatten)]
    pub body: EventBody,
}

/// Encodes an event frame once; the bytes are stored in the log and shared among recipients.
pub fn encode_event(stream: &str, seq: Option<i64>, body: &EventBody) -> Vec<u8> {
    let frame = FrameOut {
        op: "event",
        stream,
        seq,
        body,
    };
    // Serializing these types cannot fail: every map key is a string and no impl errors.
    serde_json::to_vec(&frame).unwrap_or_default()
}

/// Decodes an event frame (clients, tests, replay checks).
pub fn decode_event(bytes: &[u8]) -> Result<EventFrame, serde_json::Error> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sid::SidKind;

    #[test]
    fn a_message_names_media_only_when_it_has_some() {
        use crate::entity::MessageMedia;
        let mut m = Message {
            sid: Sid::from_random(SidKind::Message, [1; 16]),
            conversation_sid: Sid::from_random(SidKind::Conversation, [2; 16]),
            index: 0,
            author: "alice".into(),
            body: None,
            attributes: "{}".into(),
            participant_sid: None,
            date_created: 1,
            date_updated: 1,
            media: None,
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("media"), "{text}");
        m.media = Some(vec![MessageMedia {
            sid: Sid::from_random(SidKind::Media, [3; 16]),
            category: "media".into(),
            content_type: "image/png".into(),
            filename: Some("cat.png".into()),
            size: 1 << 40,
        }]);
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains(r#""sid":"ME03030303"#), "{text}");
        assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), m);
    }

    #[test]
    fn event_frame_round_trips() {
        let m = Message {
            sid: Sid::from_random(SidKind::Message, [1; 16]),
            conversation_sid: Sid::from_random(SidKind::Conversation, [2; 16]),
            index: 3,
            author: "alice".into(),
            body: Some("hi \"there\"".into()),
            attributes: "{}".into(),
            participant_sid: None,
            date_created: 1,
            date_updated: 2,
            media: None,
        };
        let body = EventBody::MessageAdded(m);
        let bytes = encode_event("CHx", Some(7), &body);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with(
                r#"{"op":"event","stream":"CHx","seq":7,"type":"messageAdded","data":{"#
            )
        );
        let back = decode_event(&bytes).unwrap();
        assert_eq!(back.seq, Some(7));
        assert_eq!(back.body, body);
    }
}
