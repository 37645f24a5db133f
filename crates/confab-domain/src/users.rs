//! Users, the conversations a user is in (User Conversations), and the conversations of an
//! identity or address (Participant Conversations).

use confab_protocol::ErrorCode;
use confab_protocol::entity::{NotificationLevel, RoleType, User};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{
    ActivityKey, Committed, Page, ParticipantConversation, ParticipantPatch, ParticipantQuery,
    RecentPage, UserConversation, UserPatch,
};

use crate::error::{DomainError, DomainResult};
use crate::validate;
use crate::{Actor, Domain, PageParams, new_sid, require_backend};

/// A user to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateUser {
    /// `Identity` (required).
    pub identity: Option<String>,
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// `Attributes` (JSON text).
    pub attributes: Option<String>,
    /// `RoleSid` (a service role); default: the service's default user role.
    pub role_sid: Option<String>,
}

/// Changes to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateUser {
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// `Attributes`.
    pub attributes: Option<String>,
    /// `RoleSid`.
    pub role_sid: Option<String>,
}

/// Changes to a user's view of one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateUserConversation {
    /// `NotificationLevel`: `default` or `muted`.
    pub notification_level: Option<String>,
    /// `LastReadTimestamp`.
    pub last_read_timestamp: Option<String>,
    /// `LastReadMessageIndex`.
    pub last_read_message_index: Option<i64>,
}

impl Domain {
    fn check_user_fields(
        &self,
        friendly_name: Option<&str>,
        attributes: Option<&str>,
    ) -> DomainResult<()> {
        let l = self.limits();
        if let Some(n) = friendly_name {
            validate::name("FriendlyName", n, l.friendly_name_chars)?;
        }
        if let Some(a) = attributes {
            validate::attributes("Attributes", a, l.conversation_attributes_bytes)?;
        }
        Ok(())
    }

    /// Creates a user.
    pub async fn create_user(
        &self,
        actor: &Actor,
        service: Option<&str>,
        input: CreateUser,
    ) -> DomainResult<User> {
        require_backend(actor)?;
        let service = self.existing_service(actor, service).await?;
        let identity = input
            .identity
            .ok_or_else(|| DomainError::invalid("Identity is required"))?;
        validate::identity("Identity", &identity, self.limits().identity_chars)?;
        self.check_user_fields(input.friendly_name.as_deref(), input.attributes.as_deref())?;
        let role_sid = match &input.role_sid {
            Some(r) => {
                self.require_role(&service, "RoleSid", r, RoleType::Service)
                    .await?
            }
            None => {
                self.service_configuration(actor, Some(service.as_str()))
                    .await?
                    .default_chat_service_role_sid
            }
        };
        let now = self.now();
        let user = User {
            sid: new_sid(SidKind::User),
            chat_service_sid: service,
            identity,
            friendly_name: input.friendly_name,
            attributes: input.attributes.unwrap_or_else(|| "{}".into()),
            role_sid: Some(role_sid),
            date_created: now,
            date_updated: now,
        };
        Ok(self.store().create_user(user).await?)
    }

    /// The user behind a realtime session: fetched, or created with the service's default
    /// role on its first sign-in, as the reference product does.
    pub async fn sign_in(&self, service: &Sid, identity: &str) -> DomainResult<User> {
        // Users are found by SID or identity: an identity shaped like a SID could stand for
        // somebody else's user (and its role).
        if confab_protocol::sid::is_sid(SidKind::User, identity)
            || confab_protocol::sid::is_sid(SidKind::Participant, identity)
        {
            return Err(DomainError::invalid(
                "an identity may not be shaped like a user or participant SID",
            ));
        }
        if let Some(u) = self.store().user(service.as_str(), identity).await? {
            return Ok(u);
        }
        let system = Actor::Backend {
            credential: "realtime sign-in".into(),
        };
        let input = CreateUser {
            identity: Some(identity.to_owned()),
            ..Default::default()
        };
        match self
            .create_user(&system, Some(service.as_str()), input)
            .await
        {
            Err(e) if e.code == ErrorCode::Conflict => self
                .store()
                .user(service.as_str(), identity)
                .await?
                .ok_or_else(|| DomainError::not_found(format!("User {identity}"))),
            other => other,
        }
    }

    /// Fetches a user by SID or identity. A user may fetch itself.
    pub async fn user(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_identity: &str,
    ) -> DomainResult<User> {
        validate::lookup_key(sid_or_identity, "User")?;
        let service = self.service_for(actor, service)?;
        let user = self
            .store()
            .user(service.as_str(), sid_or_identity)
            .await?
            .ok_or_else(|| DomainError::not_found(format!("User {sid_or_identity}")))?;
        match actor {
            Actor::User { identity, .. } if *identity != user.identity => Err(
                DomainError::forbidden("a user may read only its own user resource here"),
            ),
            _ => Ok(user),
        }
    }

    /// Changes a user.
    pub async fn update_user(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_identity: &str,
        input: UpdateUser,
    ) -> DomainResult<User> {
        let user = match actor {
            Actor::Backend { .. } => self.user(actor, service, sid_or_identity).await?,
            Actor::User { identity, .. } => {
                // A user edits its own info (`editOwnUserInfo`), or anyone's with
                // `editAnyUserInfo`; roles are an app backend's to give.
                if input.role_sid.is_some() {
                    return Err(DomainError::forbidden(
                        "only an app backend may choose a role",
                    ));
                }
                let service = self.service_for(actor, service)?;
                let user = self
                    .store()
                    .user(service.as_str(), sid_or_identity)
                    .await?
                    .ok_or_else(|| DomainError::not_found(format!("User {sid_or_identity}")))?;
                let access = self.service_access(actor, &service).await?;
                access.require(if user.identity == *identity {
                    "editOwnUserInfo"
                } else {
                    "editAnyUserInfo"
                })?;
                user
            }
        };
        self.check_user_fields(input.friendly_name.as_deref(), input.attributes.as_deref())?;
        let role_sid = match &input.role_sid {
            Some(r) => Some(
                self.require_role(&user.chat_service_sid, "RoleSid", r, RoleType::Service)
                    .await?,
            ),
            None => None,
        };
        let patch = UserPatch {
            friendly_name: input.friendly_name,
            attributes: input.attributes,
            role_sid,
            date_updated: self.now(),
        };
        let user = self
            .store()
            .update_user(user.chat_service_sid.as_str(), user.sid.as_str(), patch)
            .await?;
        // Its role may have changed.
        self.access_cache().clear();
        self.inner
            .sink
            .user_changed(&user.chat_service_sid, &user.identity);
        Ok(user)
    }

    /// Another user, as a user sees it: only one it shares a conversation with (anyone else
    /// is unknown, 20404, so that users cannot probe who exists). Its own user resource, or
    /// any user for an app backend, as [`Domain::user`].
    pub async fn visible_user(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_identity: &str,
    ) -> DomainResult<User> {
        let Actor::User { identity, .. } = actor else {
            return self.user(actor, service, sid_or_identity).await;
        };
        validate::lookup_key(sid_or_identity, "User")?;
        let service = self.service_for(actor, service)?;
        let not_found = || DomainError::not_found(format!("User {sid_or_identity}"));
        let user = self
            .store()
            .user(service.as_str(), sid_or_identity)
            .await?
            .ok_or_else(not_found)?;
        if user.identity == *identity {
            return Ok(user);
        }
        let (mine, theirs) = (
            self.store().memberships(service.as_str(), identity).await?,
            self.store()
                .memberships(service.as_str(), &user.identity)
                .await?,
        );
        let mine: std::collections::HashSet<&Sid> =
            mine.conversations.iter().map(|(sid, _)| sid).collect();
        if theirs
            .conversations
            .iter()
            .any(|(sid, _)| mine.contains(sid))
        {
            Ok(user)
        } else {
            Err(not_found())
        }
    }

    /// The caller's conversations by last activity, newest first (`docs/PROTOCOL.md`,
    /// `conversations.list` with `order` `recent`). `token` continues a walk.
    pub async fn recent_conversations(
        &self,
        actor: &Actor,
        service: Option<&str>,
        size: Option<u32>,
        token: Option<&str>,
    ) -> DomainResult<RecentPage> {
        let Actor::User { identity, .. } = actor else {
            return Err(DomainError::forbidden(
                "only a user has conversations of its own",
            ));
        };
        let service = self.service_for(actor, service)?;
        let size = self
            .page_within(
                PageParams {
                    size,
                    ..Default::default()
                },
                self.limits().max_user_page_size,
            )?
            .size;
        let after = token
            .map(|t| {
                ActivityKey::from_token(t)
                    .ok_or_else(|| DomainError::invalid("pageToken is not one this server issued"))
            })
            .transpose()?;
        Ok(self
            .store()
            .recent_conversations(service.as_str(), identity, size, after)
            .await?)
    }

    /// Deletes a user; it leaves every conversation it was in.
    pub async fn delete_user(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_identity: &str,
    ) -> DomainResult<Committed<User>> {
        require_backend(actor)?;
        let user = self.user(actor, service, sid_or_identity).await?;
        Ok(self
            .store()
            .delete_user(user.chat_service_sid.as_str(), user.sid.as_str())
            .await?)
    }

    /// Lists a service's users.
    pub async fn list_users(
        &self,
        actor: &Actor,
        service: Option<&str>,
        page: PageParams,
    ) -> DomainResult<Page<User>> {
        require_backend(actor)?;
        let service = self.existing_service(actor, service).await?;
        let page = self.page_within(page, self.limits().max_user_page_size)?;
        Ok(self.store().list_users(service.as_str(), &page).await?)
    }

    /// The conversations a user is in, in the order joined.
    pub async fn user_conversations(
        &self,
        actor: &Actor,
        service: Option<&str>,
        user: &str,
        page: PageParams,
    ) -> DomainResult<Page<UserConversation>> {
        let user = self.user(actor, service, user).await?;
        let page = self.page_within(page, self.limits().max_user_page_size)?;
        Ok(self
            .store()
            .user_conversations(user.chat_service_sid.as_str(), user.sid.as_str(), &page)
            .await?)
    }

    /// One of a user's conversations.
    pub async fn user_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        user: &str,
        conversation: &str,
    ) -> DomainResult<UserConversation> {
        validate::lookup_key(conversation, "User Conversation")?;
        let user = self.user(actor, service, user).await?;
        self.store()
            .user_conversation(
                user.chat_service_sid.as_str(),
                user.sid.as_str(),
                conversation,
            )
            .await?
            .ok_or_else(|| DomainError::not_found(format!("User Conversation {conversation}")))
    }

    /// Changes a user's notification level or read horizon in one conversation.
    pub async fn update_user_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        user: &str,
        conversation: &str,
        input: UpdateUserConversation,
    ) -> DomainResult<UserConversation> {
        let uc = self
            .user_conversation(actor, service, user, conversation)
            .await?;
        if input.notification_level.is_some() {
            self.access_in(actor, &uc.conversation)
                .await?
                .require("editNotificationLevel")?;
        }
        let notification_level = input
            .notification_level
            .as_deref()
            .map(|n| {
                NotificationLevel::parse(n).ok_or_else(|| {
                    DomainError::invalid("NotificationLevel must be default or muted")
                })
            })
            .transpose()?;
        if input.last_read_message_index.is_some_and(|i| i < 0) {
            return Err(DomainError::invalid(
                "LastReadMessageIndex must not be negative",
            ));
        }
        if let Some(t) = &input.last_read_timestamp {
            validate::name("LastReadTimestamp", t, self.limits().friendly_name_chars)?;
        }
        let patch = ParticipantPatch {
            last_read_message_index: input.last_read_message_index.map(Some),
            last_read_timestamp: input.last_read_timestamp,
            notification_level,
            date_updated: self.now(),
            ..Default::default()
        };
        let service = uc.conversation.chat_service_sid.as_str();
        let conv = uc.conversation.sid.as_str();
        self.store()
            .update_participant(service, conv, uc.participant.sid.as_str(), patch)
            .await?;
        self.user_conversation(actor, Some(service), uc.user_sid.as_str(), conv)
            .await
    }

    /// Takes a user out of a conversation.
    pub async fn delete_user_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        user: &str,
        conversation: &str,
    ) -> DomainResult<()> {
        let uc = self
            .user_conversation(actor, service, user, conversation)
            .await?;
        let service = uc.conversation.chat_service_sid.as_str();
        self.store()
            .remove_participant(
                service,
                uc.conversation.sid.as_str(),
                uc.participant.sid.as_str(),
            )
            .await?;
        Ok(())
    }

    /// The conversations of a chat identity or a non-chat address (exactly one of them).
    pub async fn participant_conversations(
        &self,
        actor: &Actor,
        service: Option<&str>,
        identity: Option<String>,
        address: Option<String>,
        page: PageParams,
    ) -> DomainResult<Page<ParticipantConversation>> {
        require_backend(actor)?;
        for (field, v) in [("Identity", &identity), ("Address", &address)] {
            if let Some(v) = v {
                validate::name(field, v, self.limits().identity_chars)?;
            }
        }
        let query = match (identity, address) {
            (Some(i), None) => ParticipantQuery::Identity(i),
            (None, Some(a)) => ParticipantQuery::Address(a),
            _ => {
                return Err(DomainError::invalid(
                    "give exactly one of Identity and Address",
                ));
            }
        };
        let service = self.existing_service(actor, service).await?;
        let page = self.page_within(page, self.limits().max_user_page_size)?;
        Ok(self
            .store()
            .participant_conversations(service.as_str(), &query, &page)
            .await?)
    }
}
