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
use std::sync::Mutex;
use std::time::{Duration, Instant};

use confab_protocol::entity::{Conversation, Participant, RoleType};
use confab_protocol::sid::Sid;

use crate::error::{DomainError, DomainResult};
use crate::{Actor, Domain};

/// How long role permissions are cached.
const ROLE_TTL: Duration = Duration::from_secs(5);

/// Role permissions by role SID, with when they were read.
#[derive(Default)]
pub(crate) struct RoleCache {
    roles: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl RoleCache {
    fn get(&self, sid: &str) -> Option<Vec<String>> {
        let roles = self
            .roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        roles
            .get(sid)
            .filter(|(at, _)| at.elapsed() < ROLE_TTL)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, sid: &str, permissions: Vec<String>) {
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

/// What a caller may do in one conversation (or, without one, in its service).
#[derive(Debug, Clone)]
pub(crate) struct Access {
    /// `None`: an app backend, allowed everything.
    permissions: Option<Vec<String>>,
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
            .is_none_or(|p| p.iter().any(|x| x == permission))
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
        let c = self.find_conversation(actor, service, sid_or_name).await?;
        let access = self.access_in(actor, &c).await?;
        Ok((c, access))
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
        let mut permissions = self
            .service_permissions(&c.chat_service_sid, identity)
            .await?;
        permissions.extend(
            self.role_permissions(
                &c.chat_service_sid,
                participant.role_sid.as_ref().map(Sid::as_str),
                RoleType::Conversation,
            )
            .await?,
        );
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
            permissions: Some(self.service_permissions(service, identity).await?),
            participant: None,
        })
    }

    async fn service_permissions(
        &self,
        service: &Sid,
        identity: &str,
    ) -> DomainResult<Vec<String>> {
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
    ) -> DomainResult<Vec<String>> {
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
        if let Some(p) = self.roles_cache().get(&sid) {
            return Ok(p);
        }
        // A role deleted meanwhile grants nothing.
        let permissions = self
            .store()
            .role(service.as_str(), &sid)
            .await?
            .map(|r| r.permissions)
            .unwrap_or_default();
        self.roles_cache().put(&sid, permissions.clone());
        Ok(permissions)
    }
}
