//! Authorization: what a caller may do.
//!
//! An app backend (REST, with the account's credentials or an API key) may do everything in
//! its account. A user (realtime, with an access token) acts only in its token's service, and
//! inside a conversation only as one of its participants, with the permissions of its
//! service role (the user's `role_sid`) and of its conversation role (the participant's
//! `role_sid`) together, as the reference product's permission lists say (`roles.rs`).
//!
//! Role permissions are read through a small cache (a few seconds): every message a user
//! sends is checked, and roles change rarely. A role changed through this process is
//! forgotten at once; other nodes see the change within the cache's lifetime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confab_protocol::entity::{Conversation, Participant, RoleType};
use confab_protocol::sid::{Sid, SidKind, is_sid};
use confab_store::AccessFacts;

use crate::error::{DomainError, DomainResult};
use crate::{Actor, Domain, validate};

/// How long role permissions are cached.
const ROLE_TTL: Duration = Duration::from_secs(5);

/// A role's permissions, shared: a user's every message is checked against two of them.
type Permissions = Arc<[String]>;

/// Role permissions by role SID, with when they were read.
#[derive(Default)]
pub(crate) struct RoleCache {
    roles: Mutex<HashMap<String, (Instant, Permissions)>>,
}

impl RoleCache {
    fn get(&self, sid: &str) -> Option<Permissions> {
        let roles = self
            .roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        roles
            .get(sid)
            .filter(|(at, _)| at.elapsed() < ROLE_TTL)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, sid: &str, permissions: Permissions) {
        let mut roles = self
            .roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if roles.len() > 10_000 {
            roles.retain(|_, (at, _)| at.elapsed() < ROLE_TTL);
        }
        roles.insert(sid.to_owned(), (Instant::now(), permissions));
    }

    /// Forgets a role (after it changed).
    pub(crate) fn forget(&self, sid: &str) {
        self.roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(sid);
    }
}

/// How long the facts of a user's access to a conversation are reused for its messages.
const ACCESS_TTL: Duration = Duration::from_secs(2);
/// Entries past which the access cache starts over.
const ACCESS_MAX: usize = 100_000;

/// The facts of users' access to conversations (addressed by SID), reused for the messages
/// they send: reading them for every message was a store round trip (a hop to a reader
/// thread and back) per message. Safe to reuse for a moment because the membership itself is
/// checked again inside the message's write ([`confab_store::NewMessage::participant_only`]);
/// what may be up to [`ACCESS_TTL`] old is a role, as with [`RoleCache`]. Changes made
/// through this process forget what they touch at once (the domain's commit listener).
#[derive(Default)]
pub(crate) struct AccessCache {
    entries: Mutex<AccessEntries>,
}

/// Entries by conversation SID, then identity, and how many there are.
#[derive(Default)]
struct AccessEntries {
    count: usize,
    by_conversation: HashMap<Sid, HashMap<String, (Instant, Arc<AccessFacts>)>>,
}

impl AccessCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, AccessEntries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, conversation: &Sid, service: &Sid, identity: &str) -> Option<Arc<AccessFacts>> {
        let entries = self.lock();
        let (at, facts) = entries.by_conversation.get(conversation)?.get(identity)?;
        (at.elapsed() < ACCESS_TTL && facts.conversation.chat_service_sid == *service)
            .then(|| facts.clone())
    }

    fn put(&self, identity: &str, facts: Arc<AccessFacts>) {
        let mut entries = self.lock();
        if entries.count >= ACCESS_MAX {
            *entries = AccessEntries::default();
        }
        let previous = entries
            .by_conversation
            .entry(facts.conversation.sid.clone())
            .or_default()
            .insert(identity.to_owned(), (Instant::now(), facts));
        if previous.is_none() {
            entries.count += 1;
        }
    }

    /// Forgets what is known of a conversation (its participants or the conversation changed).
    pub(crate) fn forget(&self, conversation: &Sid) {
        let mut entries = self.lock();
        if let Some(gone) = entries.by_conversation.remove(conversation) {
            entries.count -= gone.len();
        }
    }

    /// Forgets everything (a user's role or a service's default roles changed).
    pub(crate) fn clear(&self) {
        *self.lock() = AccessEntries::default();
    }
}

/// What a caller may do in one conversation (or, without one, in its service).
#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// The permission sets of the caller's roles; `None`: an app backend, allowed everything.
    permissions: Option<Vec<Permissions>>,
    /// The caller's participant, for a user in a conversation.
    pub participant: Option<Participant>,
}

impl Access {
    fn backend() -> Access {
        Access {
            permissions: None,
            participant: None,
        }
    }

    /// Whether the caller holds `permission`.
    pub fn allows(&self, permission: &str) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|sets| sets.iter().any(|p| p.iter().any(|x| x == permission)))
    }

    /// Refuses (20403) unless the caller holds `permission`.
    pub fn require(&self, permission: &str) -> DomainResult<()> {
        if self.allows(permission) {
            Ok(())
        } else {
            Err(DomainError::forbidden(format!(
                "the caller's role lacks the {permission} permission"
            )))
        }
    }

    /// Whether the caller is this participant (by SID).
    pub fn is(&self, participant: &Participant) -> bool {
        self.participant
            .as_ref()
            .is_some_and(|p| p.sid == participant.sid)
    }
}

impl Domain {
    /// A conversation as `actor` may touch it: for a user, only as a participant (else
    /// 20403), with its permissions there.
    pub(crate) async fn access(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_name: &str,
    ) -> DomainResult<(Conversation, Access)> {
        let Actor::User { identity, .. } = actor else {
            let c = self.find_conversation(actor, service, sid_or_name).await?;
            return Ok((c, Access::backend()));
        };
        let (facts, mut access) = self
            .user_access(actor, identity, service, sid_or_name, false)
            .await?;
        access.participant = facts.participant.clone();
        Ok((facts.conversation.clone(), access))
    }

    /// [`Domain::access`] for a message: the conversation's SID and the caller's permissions
    /// (no participant). The facts of a user's access to a conversation named by SID may come
    /// from the [`AccessCache`], the write checking the membership again.
    pub(crate) async fn message_access(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_name: &str,
    ) -> DomainResult<(Sid, Access)> {
        let Actor::User { identity, .. } = actor else {
            let c = self.find_conversation(actor, service, sid_or_name).await?;
            return Ok((c.sid, Access::backend()));
        };
        let (facts, access) = self
            .user_access(actor, identity, service, sid_or_name, true)
            .await?;
        Ok((facts.conversation.sid.clone(), access))
    }

    /// A user's access to a conversation it must be a participant of: the facts it rests on,
    /// and its permissions (the participant left out, for the caller to add if it needs it).
    async fn user_access(
        &self,
        actor: &Actor,
        identity: &str,
        service: Option<&str>,
        sid_or_name: &str,
        cached: bool,
    ) -> DomainResult<(Arc<AccessFacts>, Access)> {
        validate::lookup_key(sid_or_name, "Conversation")?;
        let service = self.service_for(actor, service)?;
        let by_sid = Sid::parse(SidKind::Conversation, sid_or_name).filter(|_| cached);
        let hit = by_sid
            .as_ref()
            .and_then(|sid| self.access_cache().get(sid, &service, identity));
        let facts = match hit {
            Some(facts) => facts,
            None => {
                // One store call for the conversation, the participant, the user and the
                // service's default roles.
                let facts = Arc::new(
                    self.store()
                        .access_facts(service.as_str(), sid_or_name, identity)
                        .await?
                        .ok_or_else(|| {
                            DomainError::not_found(format!("Conversation {sid_or_name}"))
                        })?,
                );
                if by_sid.is_some() {
                    self.access_cache().put(identity, facts.clone());
                }
                facts
            }
        };
        let AccessFacts {
            participant,
            user,
            configuration,
            ..
        } = &*facts;
        // Participants are found by identity; a SID-shaped identity is never a participant's
        // (refused on creation), so it must not match another's SID here.
        let Some(participant) = participant
            .as_ref()
            .filter(|_| !is_sid(SidKind::Participant, identity))
        else {
            return Err(DomainError::forbidden(
                "not a participant of this conversation",
            ));
        };
        let service_role = user
            .as_ref()
            .and_then(|u| u.role_sid.as_ref())
            .or(configuration
                .as_ref()
                .map(|c| &c.default_chat_service_role_sid));
        let conversation_role = participant.role_sid.as_ref().or(configuration
            .as_ref()
            .map(|c| &c.default_conversation_role_sid));
        let (Some(service_role), Some(conversation_role)) = (service_role, conversation_role)
        else {
            return Err(DomainError::not_found(format!("Service {service}")));
        };
        let permissions = vec![
            self.permissions_of(&service, service_role.as_str()).await?,
            self.permissions_of(&service, conversation_role.as_str())
                .await?,
        ];
        Ok((
            facts.clone(),
            Access {
                permissions: Some(permissions),
                participant: None,
            },
        ))
    }

    /// `actor`'s access to `c`, which it must belong to.
    pub(crate) async fn access_in(&self, actor: &Actor, c: &Conversation) -> DomainResult<Access> {
        let Actor::User { identity, .. } = actor else {
            return Ok(Access::backend());
        };
        // Participants are found by SID or identity; a SID-shaped identity is never a
        // participant's (refused on creation), so it must not match another's SID here.
        let participant =
            if confab_protocol::sid::is_sid(confab_protocol::sid::SidKind::Participant, identity) {
                None
            } else {
                self.store()
                    .participant(c.chat_service_sid.as_str(), c.sid.as_str(), identity)
                    .await?
            };
        let Some(participant) = participant else {
            return Err(DomainError::forbidden(
                "not a participant of this conversation",
            ));
        };
        let permissions = vec![
            self.service_permissions(&c.chat_service_sid, identity)
                .await?,
            self.role_permissions(
                &c.chat_service_sid,
                participant.role_sid.as_ref().map(Sid::as_str),
                RoleType::Conversation,
            )
            .await?,
        ];
        Ok(Access {
            permissions: Some(permissions),
            participant: Some(participant),
        })
    }

    /// `actor`'s access to its service, outside any conversation (its service role).
    pub(crate) async fn service_access(
        &self,
        actor: &Actor,
        service: &Sid,
    ) -> DomainResult<Access> {
        let Actor::User { identity, .. } = actor else {
            return Ok(Access::backend());
        };
        Ok(Access {
            permissions: Some(vec![self.service_permissions(service, identity).await?]),
            participant: None,
        })
    }

    async fn service_permissions(
        &self,
        service: &Sid,
        identity: &str,
    ) -> DomainResult<Permissions> {
        let role = self
            .store()
            .user(service.as_str(), identity)
            .await?
            .and_then(|u| u.role_sid);
        self.role_permissions(service, role.as_ref().map(Sid::as_str), RoleType::Service)
            .await
    }

    /// A role's permissions; without a role, the service's default role of `kind`.
    async fn role_permissions(
        &self,
        service: &Sid,
        role: Option<&str>,
        kind: RoleType,
    ) -> DomainResult<Permissions> {
        let sid = match role {
            Some(r) => r.to_owned(),
            None => {
                let cfg = self
                    .store()
                    .service_configuration(service.as_str())
                    .await?
                    .ok_or_else(|| DomainError::not_found(format!("Service {service}")))?;
                match kind {
                    RoleType::Service => cfg.default_chat_service_role_sid.to_string(),
                    RoleType::Conversation => cfg.default_conversation_role_sid.to_string(),
                }
            }
        };
        self.permissions_of(service, &sid).await
    }

    /// A role's permissions, through the cache.
    async fn permissions_of(&self, service: &Sid, sid: &str) -> DomainResult<Permissions> {
        if let Some(p) = self.roles_cache().get(sid) {
            return Ok(p);
        }
        // A role deleted meanwhile grants nothing.
        let permissions: Permissions = self
            .store()
            .role(service.as_str(), sid)
            .await?
            .map(|r| r.permissions)
            .unwrap_or_default()
            .into();
        self.roles_cache().put(sid, permissions.clone());
        Ok(permissions)
    }
}
