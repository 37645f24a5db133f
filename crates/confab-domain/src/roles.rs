//! Roles and permissions: the two scopes' permission names, the four default roles every
//! service starts with, and the role operations.
//!
//! The default lists follow the reference product's defaults (service admin, service user,
//! conversation admin, conversation user). `authz.rs` enforces them on every operation a user
//! makes (app backends are always allowed).

use confab_protocol::entity::{Millis, Role, RoleType};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{DefaultRoles, Page};

use crate::error::{DomainError, DomainResult};
use crate::validate;
use crate::{Actor, Domain, PageParams, new_sid, require_backend};

/// Permissions a service role may hold.
pub const SERVICE_PERMISSIONS: &[&str] = &[
    "addNonChatParticipant",
    "addParticipant",
    "createConversation",
    "deleteAnyMessage",
    "deleteConversation",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "editAnyParticipantAttributes",
    "editAnyUserInfo",
    "editConversationAttributes",
    "editConversationName",
    "editOwnUserInfo",
    "joinConversation",
    "removeParticipant",
];

/// Permissions a conversation role may hold.
pub const CONVERSATION_PERMISSIONS: &[&str] = &[
    "addNonChatParticipant",
    "addParticipant",
    "deleteAnyMessage",
    "deleteConversation",
    "deleteOwnMessage",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "editAnyParticipantAttributes",
    "editConversationAttributes",
    "editConversationName",
    "editNotificationLevel",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "editOwnParticipantAttributes",
    "leaveConversation",
    "removeParticipant",
    "sendMediaMessage",
    "sendMessage",
];

const SERVICE_ADMIN: &[&str] = &[
    "createConversation",
    "joinConversation",
    "editAnyUserInfo",
    "deleteConversation",
    "editConversationName",
    "editConversationAttributes",
    "addParticipant",
    "removeParticipant",
    "editAnyParticipantAttributes",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "deleteAnyMessage",
];

const SERVICE_USER: &[&str] = &["createConversation", "joinConversation", "editOwnUserInfo"];

const CONVERSATION_ADMIN: &[&str] = &[
    "sendMessage",
    "sendMediaMessage",
    "leaveConversation",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "deleteOwnMessage",
    "editOwnParticipantAttributes",
    "editNotificationLevel",
    "editConversationName",
    "editConversationAttributes",
    "addParticipant",
    "addNonChatParticipant",
    "removeParticipant",
    "editAnyParticipantAttributes",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "deleteAnyMessage",
    "deleteConversation",
];

const CONVERSATION_USER: &[&str] = &[
    "sendMessage",
    "sendMediaMessage",
    "leaveConversation",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "deleteOwnMessage",
    "editOwnParticipantAttributes",
    "editNotificationLevel",
];

fn role(service: &Sid, name: &str, role_type: RoleType, permissions: &[&str], now: Millis) -> Role {
    Role {
        sid: new_sid(SidKind::Role),
        chat_service_sid: service.clone(),
        friendly_name: name.to_owned(),
        role_type,
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        date_created: now,
        date_updated: now,
    }
}

/// The four roles a new service starts with.
pub fn default_roles(service: &Sid, now: Millis) -> DefaultRoles {
    DefaultRoles {
        service_admin: role(
            service,
            "service admin",
            RoleType::Service,
            SERVICE_ADMIN,
            now,
        ),
        service_user: role(
            service,
            "service user",
            RoleType::Service,
            SERVICE_USER,
            now,
        ),
        conversation_admin: role(
            service,
            "conversation admin",
            RoleType::Conversation,
            CONVERSATION_ADMIN,
            now,
        ),
        conversation_user: role(
            service,
            "conversation user",
            RoleType::Conversation,
            CONVERSATION_USER,
            now,
        ),
    }
}

/// Longest role name (the reference product's limit).
const ROLE_NAME_CHARS: usize = 64;

/// A role to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRole {
    /// `FriendlyName` (required).
    pub friendly_name: Option<String>,
    /// `Type`: `service` or `conversation` (required).
    pub role_type: Option<String>,
    /// `Permission`, repeated (at least one).
    pub permissions: Vec<String>,
}

fn check_permissions(role_type: RoleType, permissions: &[String]) -> DomainResult<Vec<String>> {
    if permissions.is_empty() {
        return Err(DomainError::invalid(
            "Permission is required (repeat it for each permission)",
        ));
    }
    let allowed = match role_type {
        RoleType::Service => SERVICE_PERMISSIONS,
        RoleType::Conversation => CONVERSATION_PERMISSIONS,
    };
    let mut out: Vec<String> = vec![];
    for p in permissions {
        if !allowed.contains(&p.as_str()) {
            return Err(DomainError::invalid(format!(
                "Permission {p:?} is not a {} permission",
                role_type.as_str()
            )));
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

impl Domain {
    /// Creates a custom role.
    pub async fn create_role(
        &self,
        actor: &Actor,
        service: Option<&str>,
        input: CreateRole,
    ) -> DomainResult<Role> {
        require_backend(actor)?;
        let service = self.existing_service(actor, service).await?;
        let name = input
            .friendly_name
            .ok_or_else(|| DomainError::invalid("FriendlyName is required"))?;
        if name.is_empty() {
            return Err(DomainError::invalid("FriendlyName must not be empty"));
        }
        validate::name("FriendlyName", &name, ROLE_NAME_CHARS)?;
        let role_type = input
            .role_type
            .as_deref()
            .ok_or_else(|| DomainError::invalid("Type is required"))
            .and_then(|t| {
                RoleType::parse(t)
                    .ok_or_else(|| DomainError::invalid("Type must be service or conversation"))
            })?;
        let permissions = check_permissions(role_type, &input.permissions)?;
        let now = self.now();
        let role = Role {
            sid: new_sid(SidKind::Role),
            chat_service_sid: service,
            friendly_name: name,
            role_type,
            permissions,
            date_created: now,
            date_updated: now,
        };
        Ok(self.store().create_role(role).await?)
    }

    /// Fetches a role.
    pub async fn role(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid: &str,
    ) -> DomainResult<Role> {
        validate::lookup_key(sid, "Role")?;
        let service = self.service_for(actor, service)?;
        self.store()
            .role(service.as_str(), sid)
            .await?
            .ok_or_else(|| DomainError::not_found(format!("Role {sid}")))
    }

    /// Replaces a role's permissions.
    pub async fn update_role(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid: &str,
        permissions: Vec<String>,
    ) -> DomainResult<Role> {
        require_backend(actor)?;
        let role = self.role(actor, service, sid).await?;
        let permissions = check_permissions(role.role_type, &permissions)?;
        let updated = self
            .store()
            .update_role(role.chat_service_sid.as_str(), sid, permissions, self.now())
            .await?;
        self.roles_cache().forget(role.sid.as_str());
        Ok(updated)
    }

    /// Deletes a role that nothing uses.
    pub async fn delete_role(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid: &str,
    ) -> DomainResult<()> {
        require_backend(actor)?;
        let role = self.role(actor, service, sid).await?;
        self.store()
            .delete_role(role.chat_service_sid.as_str(), sid)
            .await?;
        self.roles_cache().forget(role.sid.as_str());
        Ok(())
    }

    /// Lists a service's roles.
    pub async fn list_roles(
        &self,
        actor: &Actor,
        service: Option<&str>,
        page: PageParams,
    ) -> DomainResult<Page<Role>> {
        let service = self.existing_service(actor, service).await?;
        let page = self.page_within(page, self.limits().max_user_page_size)?;
        Ok(self.store().list_roles(service.as_str(), &page).await?)
    }

    /// Checks that `sid` names a role of `role_type` in `service`.
    pub(crate) async fn require_role(
        &self,
        service: &Sid,
        field: &str,
        sid: &str,
        role_type: RoleType,
    ) -> DomainResult<Sid> {
        let sid = validate::sid_param(field, SidKind::Role, sid)?;
        match self.store().role(service.as_str(), sid.as_str()).await? {
            Some(r) if r.role_type == role_type => Ok(sid),
            Some(_) => Err(DomainError::invalid(format!(
                "{field} must name a {} role",
                role_type.as_str()
            ))),
            None => Err(DomainError::invalid(format!(
                "{field} names no role of this service"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_roles_hold_only_permissions_of_their_scope() {
        let roles = default_roles(&new_sid(SidKind::Service), 0);
        for r in [&roles.service_admin, &roles.service_user] {
            assert!(
                r.permissions
                    .iter()
                    .all(|p| SERVICE_PERMISSIONS.contains(&p.as_str())),
                "{}",
                r.friendly_name
            );
        }
        for r in [&roles.conversation_admin, &roles.conversation_user] {
            assert!(
                r.permissions
                    .iter()
                    .all(|p| CONVERSATION_PERMISSIONS.contains(&p.as_str())),
                "{}",
                r.friendly_name
            );
        }
    }

    #[test]
    fn permissions_are_checked_against_the_scope_and_deduplicated() {
        let p = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(check_permissions(RoleType::Service, &p(&["sendMessage"])).is_err());
        assert!(check_permissions(RoleType::Conversation, &p(&[])).is_err());
        assert_eq!(
            check_permissions(RoleType::Conversation, &p(&["sendMessage", "sendMessage"])).unwrap(),
            p(&["sendMessage"])
        );
    }
}
