//! Size and count limits (DESIGN.md section 5), taken from the reference product. The server
//! reads them from [`Limits`], so a deployment can change them; these are the defaults.

use serde::{Deserialize, Serialize};

/// Limits the domain service enforces on every door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Friendly names and unique names, in characters.
    pub friendly_name_chars: usize,
    /// Identities, in characters.
    pub identity_chars: usize,
    /// Message bodies, in bytes of UTF-8.
    pub message_body_bytes: usize,
    /// Conversation attributes, in bytes.
    pub conversation_attributes_bytes: usize,
    /// Message and participant attributes, in bytes.
    pub attributes_bytes: usize,
    /// Participants in one conversation.
    pub participants_per_conversation: u32,
    /// Conversations one identity may belong to.
    pub conversations_per_identity: u32,
    /// Largest page of a list.
    pub max_page_size: u32,
    /// Largest page of the user and role lists (the reference product's limit).
    pub max_user_page_size: u32,
    /// Page size when none is asked for.
    pub default_page_size: u32,
    /// Files attached to one message.
    #[serde(default = "default_media_per_message")]
    pub media_per_message: u32,
    /// The files attached to one message together, in bytes.
    #[serde(default = "default_media_bytes_per_message")]
    pub media_bytes_per_message: u64,
}

fn default_media_per_message() -> u32 {
    Limits::default().media_per_message
}

fn default_media_bytes_per_message() -> u64 {
    Limits::default().media_bytes_per_message
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            friendly_name_chars: 256,
            identity_chars: 256,
            message_body_bytes: 32 * 1024,
            conversation_attributes_bytes: 16 * 1024,
            attributes_bytes: 4 * 1024,
            participants_per_conversation: 1000,
            conversations_per_identity: 1000,
            max_page_size: 100,
            max_user_page_size: 50,
            default_page_size: 50,
            media_per_message: 10,
            // As much as one file may be (the media service's default), whatever their number:
            // what a reader of one message may have to fetch stays bounded by one file's size.
            media_bytes_per_message: 100 * 1024 * 1024,
        }
    }
}
