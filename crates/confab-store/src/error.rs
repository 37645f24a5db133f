/// Why a store operation failed. Anything but [`StoreError::Backend`] is the caller's doing and
/// changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique constraint would be broken (unique name, participant identity).
    #[error("{0}")]
    Conflict(String),
    /// The conversation has the maximum number of participants.
    #[error("the conversation has the maximum of {0} participants")]
    TooManyParticipants(u32),
    /// The identity belongs to the maximum number of conversations.
    #[error("the identity belongs to the maximum of {0} conversations")]
    TooManyConversations(u32),
    /// A message that must come from a participant names an author who is none.
    #[error("{0} is not a participant of this conversation")]
    NotParticipant(String),
    /// A media file named for a message cannot go with it (unknown, named twice, attached
    /// already, expired or condemned, or another user's upload).
    #[error("{0}")]
    Unattachable(String),
    /// The database failed, or the store is shutting down. Details are for the log only.
    #[error("storage failure: {0}")]
    Backend(String),
}
