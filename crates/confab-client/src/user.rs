//! A user as the app holds it: one shared object per user the client follows (at most
//! [`crate::ClientOptions::cache_capacity`], least recently touched dropped first).

use std::sync::Arc;

use confab_protocol::entity::User;
use confab_protocol::event::UserInfo;
use serde_json::Value;

use crate::client::{ClientError, Link};
use crate::entity::{EventStream, Shared, same};

/// What changed in a user (the reference's `UserUpdateReason`s that Confab has).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserUpdateReason {
    /// Its friendly name changed.
    FriendlyName,
    /// Its attributes were replaced.
    Attributes,
    /// It came online or went offline.
    ReachabilityOnline,
}

impl UserUpdateReason {
    /// The reference's name (`friendlyName`, `attributes`, `reachabilityOnline`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserUpdateReason::FriendlyName => "friendlyName",
            UserUpdateReason::Attributes => "attributes",
            UserUpdateReason::ReachabilityOnline => "reachabilityOnline",
        }
    }

    /// Every reason: for a user the client did not follow, what changed is unknown.
    pub(crate) fn all() -> Vec<UserUpdateReason> {
        vec![
            UserUpdateReason::FriendlyName,
            UserUpdateReason::Attributes,
            UserUpdateReason::ReachabilityOnline,
        ]
    }

    /// The reasons `next` differs from `old` for.
    pub(crate) fn between(old: &UserInfo, next: &UserInfo) -> Vec<UserUpdateReason> {
        let mut r = vec![];
        if old.friendly_name != next.friendly_name {
            r.push(UserUpdateReason::FriendlyName);
        }
        if old.attributes != next.attributes {
            r.push(UserUpdateReason::Attributes);
        }
        if old.is_online != next.is_online {
            r.push(UserUpdateReason::ReachabilityOnline);
        }
        r
    }
}

/// An event of one user ([`UserHandle::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEvent {
    /// `updated`: it changed, for these reasons.
    Updated(Vec<UserUpdateReason>),
    /// `userUnsubscribed`: the client stopped following it (to make room for others); its
    /// handles keep the last state heard.
    Unsubscribed,
}

pub(crate) type UserShared = Shared<UserInfo, UserEvent>;

/// A user: the client's own or one sharing a conversation with it. Every handle on one user
/// is the same object while the client follows it. Cheap to clone.
#[derive(Clone)]
pub struct UserHandle {
    pub(crate) link: Link,
    pub(crate) identity: String,
    pub(crate) shared: Arc<UserShared>,
}

impl UserHandle {
    /// Its identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The user as the client last heard of it.
    pub fn snapshot(&self) -> UserInfo {
        self.shared.with(UserInfo::clone)
    }

    /// Its friendly name.
    pub fn friendly_name(&self) -> Option<String> {
        self.shared.with(|u| u.friendly_name.clone())
    }

    /// Whether it has a live session.
    pub fn is_online(&self) -> bool {
        self.shared.with(|u| u.is_online)
    }

    /// Whether the client still follows it (it stops to make room for others).
    pub fn is_subscribed(&self) -> bool {
        self.link.store.follows(&self.identity, &self.shared)
    }

    /// Its events from now on (each call makes a new, independent stream).
    pub fn events(&self) -> EventStream<UserEvent> {
        self.link.store.subscribe(&self.shared)
    }

    fn own(&self) -> Result<(), ClientError> {
        if self.link.store.identity().as_deref() == Some(self.identity.as_str()) {
            return Ok(());
        }
        // Confab lets a user change only its own profile; saying so beats renaming the caller.
        Err(ClientError {
            code: confab_protocol::ErrorCode::Forbidden.code(),
            message: format!(
                "{} is not the client's user: a user's profile is changed by the user, or by the app backend over REST",
                self.identity
            ),
        })
    }

    /// Changes its friendly name: the client's own user only (20403 for another's, with
    /// nothing written).
    pub async fn update_friendly_name(&self, name: &str) -> Result<User, ClientError> {
        self.own()?;
        self.link.update_user(Some(name), None).await
    }

    /// Replaces its attributes: the client's own user only (20403 for another's).
    pub async fn update_attributes(&self, attributes: Value) -> Result<User, ClientError> {
        self.own()?;
        self.link.update_user(None, Some(attributes)).await
    }
}

impl PartialEq for UserHandle {
    fn eq(&self, other: &Self) -> bool {
        same(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for UserHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("UserHandle").field(&self.snapshot()).finish()
    }
}
