//! Resource identifiers: a two-letter prefix naming the kind, then 32 lowercase hex digits,
//! exactly as the reference product spells them so that backends can keep their validation.

use std::fmt;

/// The kinds of resource that carry a SID, each with its fixed prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SidKind {
    /// `AC`: the account.
    Account,
    /// `SK`: an API key.
    ApiKey,
    /// `IS`: a conversation service (tenant).
    Service,
    /// `CH`: a conversation.
    Conversation,
    /// `MB`: a participant.
    Participant,
    /// `IM`: a message.
    Message,
    /// `US`: a user.
    User,
    /// `RL`: a role.
    Role,
    /// `ME`: a media file.
    Media,
}

impl SidKind {
    /// The two-letter prefix of this kind.
    pub const fn prefix(self) -> &'static str {
        match self {
            SidKind::Account => "AC",
            SidKind::ApiKey => "SK",
            SidKind::Service => "IS",
            SidKind::Conversation => "CH",
            SidKind::Participant => "MB",
            SidKind::Message => "IM",
            SidKind::User => "US",
            SidKind::Role => "RL",
            SidKind::Media => "ME",
        }
    }
}

/// A validated SID. Construct with [`Sid::parse`] or [`Sid::from_random`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Sid(String);

impl Sid {
    /// Length of every SID: prefix plus 32 hex digits.
    pub const LEN: usize = 34;

    /// Accepts `s` if it is a SID of `kind` (hex digits in either case, kept as given).
    pub fn parse(kind: SidKind, s: &str) -> Option<Sid> {
        is_sid(kind, s).then(|| Sid(s.to_owned()))
    }

    /// Builds a SID of `kind` from 16 random bytes supplied by the caller (this crate has no
    /// randomness source so that it stays portable).
    pub fn from_random(kind: SidKind, bytes: [u8; 16]) -> Sid {
        let mut s = String::with_capacity(Self::LEN);
        s.push_str(kind.prefix());
        for b in bytes {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Sid(s)
    }

    /// The SID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a string already known to be a SID (read back from our own store).
    pub fn from_trusted(s: String) -> Sid {
        Sid(s)
    }

    /// Takes the string out.
    pub fn into_string(self) -> String {
        self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// True if `s` is a SID of `kind`.
pub fn is_sid(kind: SidKind, s: &str) -> bool {
    s.len() == Sid::LEN
        && s.starts_with(kind.prefix())
        && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_sid_parses_back_and_wrong_prefix_does_not() {
        let sid = Sid::from_random(SidKind::Conversation, [0xab; 16]);
        assert_eq!(sid.as_str(), format!("CH{}", "ab".repeat(16)));
        assert!(Sid::parse(SidKind::Conversation, sid.as_str()).is_some());
        assert!(Sid::parse(SidKind::Message, sid.as_str()).is_none());
        assert!(Sid::parse(SidKind::Conversation, "CH123").is_none());
        assert!(Sid::parse(SidKind::Conversation, &format!("CH{}", "zz".repeat(16))).is_none());
        // Multi-byte text of the right byte length must not panic on slicing.
        assert!(!is_sid(
            SidKind::Conversation,
            &format!("CH{}", "é".repeat(16))
        ));
    }
}
