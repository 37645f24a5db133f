//! Participants: chat identities and messaging bindings (SMS, WhatsApp) in a conversation.

use confab_protocol::entity::{Millis, NotificationLevel, Participant, RoleType};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{Committed, CountLimits, NewParticipant, Page, ParticipantPatch};

use crate::authz::Access;
use crate::error::{DomainError, DomainResult};
use crate::validate;
use crate::{Actor, Domain, PageParams, new_sid};

/// A participant to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateParticipant {
    /// `Identity`: a chat participant.
    pub identity: Option<String>,
    /// `MessagingBinding.Address`: a non-chat participant's address.
    pub address: Option<String>,
    /// `MessagingBinding.ProxyAddress`: the number the non-chat participant talks to.
    pub proxy_address: Option<String>,
    /// `MessagingBinding.ProjectedAddress`: a chat participant's address in group MMS.
    pub projected_address: Option<String>,
    /// `Attributes` (JSON text).
    pub attributes: Option<String>,
    /// `RoleSid`.
    pub role_sid: Option<String>,
    /// `DateCreated`.
    pub date_created: Option<Millis>,
    /// `DateUpdated`.
    pub date_updated: Option<Millis>,
}

/// Changes to a participant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateParticipant {
    /// `Attributes`.
    pub attributes: Option<String>,
    /// `RoleSid`.
    pub role_sid: Option<String>,
    /// `Identity` (only for a participant that has none).
    pub identity: Option<String>,
    /// `MessagingBinding.ProxyAddress`.
    pub proxy_address: Option<String>,
    /// `MessagingBinding.ProjectedAddress`.
    pub projected_address: Option<String>,
    /// `LastReadMessageIndex`.
    pub last_read_message_index: Option<i64>,
    /// `LastReadTimestamp`.
    pub last_read_timestamp: Option<String>,
    /// `DateCreated`.
    pub date_created: Option<Millis>,
    /// `DateUpdated`.
    pub date_updated: Option<Millis>,
}

fn binding_type(address: &str) -> &'static str {
    if address.starts_with("whatsapp:") {
        "whatsapp"
    } else {
        "sms"
    }
}

impl Domain {
    fn check_address(&self, field: &str, a: &Option<String>) -> DomainResult<()> {
        match a {
            Some(a) if a.is_empty() => {
                Err(DomainError::invalid(format!("{field} must not be empty")))
            }
            Some(a) => validate::name(field, a, self.limits().friendly_name_chars),
            None => Ok(()),
        }
    }

    /// Adds a participant to a conversation.
    pub async fn add_participant(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        input: CreateParticipant,
    ) -> DomainResult<Committed<Participant>> {
        if matches!(actor, Actor::User { .. }) && input.role_sid.is_some() {
            return Err(DomainError::forbidden(
                "only an app backend may choose a role",
            ));
        }
        // Joining takes the service role's `joinConversation`; adding someone else takes
        // membership and the `addParticipant` (or `addNonChatParticipant`) permission.
        let joining = matches!(actor, Actor::User { identity, .. } if input.identity.as_ref() == Some(identity));
        let c = if joining {
            let c = self.find_conversation(actor, service, conversation).await?;
            self.service_access(actor, &c.chat_service_sid)
                .await?
                .require("joinConversation")?;
            c
        } else {
            let (c, access) = self.access(actor, service, conversation).await?;
            access.require(if input.identity.is_some() {
                "addParticipant"
            } else {
                "addNonChatParticipant"
            })?;
            c
        };
        let new = self
            .new_participant(&c.chat_service_sid, &c.sid, input)
            .await?;
        Ok(self
            .store()
            .add_participant(c.chat_service_sid.as_str(), new, &self.count_limits())
            .await?)
    }

    /// The count limits the store enforces.
    pub(crate) fn count_limits(&self) -> CountLimits {
        let l = self.limits();
        CountLimits {
            participants_per_conversation: l.participants_per_conversation,
            conversations_per_identity: l.conversations_per_identity,
        }
    }

    /// Validates a participant to add to conversation `conversation` of `service`; without a
    /// `RoleSid` it gets the service's default conversation role.
    pub(crate) async fn new_participant(
        &self,
        service: &Sid,
        conversation: &Sid,
        input: CreateParticipant,
    ) -> DomainResult<NewParticipant> {
        let l = self.limits();
        if let Some(i) = &input.identity {
            validate::identity("Identity", i, l.identity_chars)?;
        }
        self.check_address("MessagingBinding.Address", &input.address)?;
        self.check_address("MessagingBinding.ProxyAddress", &input.proxy_address)?;
        self.check_address(
            "MessagingBinding.ProjectedAddress",
            &input.projected_address,
        )?;
        if let Some(a) = &input.attributes {
            validate::attributes("Attributes", a, l.attributes_bytes)?;
        }
        let messaging_binding = match (&input.identity, &input.address) {
            (Some(_), Some(_)) => {
                return Err(DomainError::invalid(
                    "give either Identity or MessagingBinding.Address, not both",
                ));
            }
            (None, None) => {
                return Err(DomainError::invalid(
                    "Identity or MessagingBinding.Address is required",
                ));
            }
            (Some(_), None) => {
                if input.proxy_address.is_some() {
                    return Err(DomainError::invalid(
                        "MessagingBinding.ProxyAddress is for non-chat participants",
                    ));
                }
                input
                    .projected_address
                    .as_ref()
                    .map(|p| serde_json::json!({"type": "sms", "projected_address": p}))
            }
            (None, Some(address)) => {
                let proxy = input.proxy_address.as_ref().ok_or_else(|| {
                    DomainError::invalid(
                        "MessagingBinding.ProxyAddress is required with MessagingBinding.Address",
                    )
                })?;
                Some(
                    serde_json::json!({"type": binding_type(address), "address": address, "proxy_address": proxy}),
                )
            }
        };
        let role_sid = match &input.role_sid {
            Some(r) => {
                self.require_role(service, "RoleSid", r, RoleType::Conversation)
                    .await?
            }
            None => {
                self.store()
                    .service_configuration(service.as_str())
                    .await?
                    .ok_or_else(|| DomainError::not_found(format!("Service {service}")))?
                    .default_conversation_role_sid
            }
        };
        let now = self.now();
        let participant = Participant {
            sid: new_sid(SidKind::Participant),
            conversation_sid: conversation.clone(),
            identity: input.identity,
            attributes: input.attributes.unwrap_or_else(|| "{}".into()),
            messaging_binding,
            role_sid: Some(role_sid),
            last_read_message_index: None,
            last_read_timestamp: None,
            notification_level: NotificationLevel::Default,
            date_created: input.date_created.unwrap_or(now),
            date_updated: input.date_updated.or(input.date_created).unwrap_or(now),
        };
        Ok(NewParticipant {
            participant,
            user_sid: new_sid(SidKind::User),
        })
    }

    /// Fetches a participant by SID or identity.
    pub async fn participant(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid_or_identity: &str,
    ) -> DomainResult<Participant> {
        Ok(self
            .participant_with_access(actor, service, conversation, sid_or_identity)
            .await?
            .0)
    }

    /// A participant, and the caller's access to its conversation.
    async fn participant_with_access(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid_or_identity: &str,
    ) -> DomainResult<(Participant, Access)> {
        validate::lookup_key(sid_or_identity, "Participant")?;
        let (c, access) = self.access(actor, service, conversation).await?;
        let p = self
            .store()
            .participant(c.chat_service_sid.as_str(), c.sid.as_str(), sid_or_identity)
            .await?
            .ok_or_else(|| DomainError::not_found(format!("Participant {sid_or_identity}")))?;
        Ok((p, access))
    }

    /// Updates a participant.
    pub async fn update_participant(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid_or_identity: &str,
        input: UpdateParticipant,
    ) -> DomainResult<Committed<Participant>> {
        let (p, access) = self
            .participant_with_access(actor, service, conversation, sid_or_identity)
            .await?;
        if matches!(actor, Actor::User { .. }) {
            if input.role_sid.is_some() || input.identity.is_some() {
                return Err(DomainError::forbidden(
                    "only an app backend may change a participant's role or identity",
                ));
            }
            let own = access.is(&p);
            let touches_others = input.attributes.is_some()
                || input.proxy_address.is_some()
                || input.projected_address.is_some()
                || input.date_created.is_some()
                || input.date_updated.is_some();
            if touches_others {
                access.require(if own {
                    "editOwnParticipantAttributes"
                } else {
                    "editAnyParticipantAttributes"
                })?;
            }
            let reads =
                input.last_read_message_index.is_some() || input.last_read_timestamp.is_some();
            if !touches_others && !reads {
                // Every change a user makes is checked against a permission; an empty one is
                // none.
                return Err(DomainError::invalid("nothing to update"));
            }
            if !own && reads {
                return Err(DomainError::forbidden(
                    "a read horizon is its participant's own",
                ));
            }
        }
        let l = self.limits();
        if let Some(a) = &input.attributes {
            validate::attributes("Attributes", a, l.attributes_bytes)?;
        }
        let service_sid = self.service_for(actor, service)?;
        let role_sid = match &input.role_sid {
            Some(r) => Some(
                self.require_role(&service_sid, "RoleSid", r, RoleType::Conversation)
                    .await?,
            ),
            None => None,
        };
        if let Some(i) = &input.identity {
            // Giving a participant an identity (or another one) would change whose user log
            // and limits it counts against; remove it and add it again instead.
            if p.identity.as_ref() != Some(i) {
                return Err(DomainError::invalid(
                    "Identity of a participant cannot be set or changed after it is added",
                ));
            }
        }
        self.check_address("MessagingBinding.ProxyAddress", &input.proxy_address)?;
        self.check_address(
            "MessagingBinding.ProjectedAddress",
            &input.projected_address,
        )?;
        if p.identity.is_some() && input.proxy_address.is_some() {
            return Err(DomainError::invalid(
                "MessagingBinding.ProxyAddress is for non-chat participants",
            ));
        }
        if input.last_read_message_index.is_some_and(|i| i < 0) {
            return Err(DomainError::invalid(
                "LastReadMessageIndex must not be negative",
            ));
        }
        if let Some(t) = &input.last_read_timestamp {
            validate::name("LastReadTimestamp", t, l.friendly_name_chars)?;
        }
        let mut binding = serde_json::Map::new();
        if let Some(a) = input.proxy_address {
            binding.insert("proxy_address".into(), a.into());
        }
        if let Some(a) = input.projected_address {
            binding.insert("projected_address".into(), a.into());
        }
        let patch = ParticipantPatch {
            attributes: input.attributes,
            role_sid,
            messaging_binding: (!binding.is_empty()).then_some(serde_json::Value::Object(binding)),
            last_read_message_index: input.last_read_message_index.map(Some),
            last_read_timestamp: input.last_read_timestamp,
            notification_level: None,
            date_created: input.date_created,
            date_updated: input.date_updated.unwrap_or_else(|| self.now()),
        };
        let conversation = p.conversation_sid.as_str();
        let service = self.service_for(actor, service)?;
        Ok(self
            .store()
            .update_participant(service.as_str(), conversation, p.sid.as_str(), patch)
            .await?)
    }

    /// Removes a participant.
    pub async fn remove_participant(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid_or_identity: &str,
    ) -> DomainResult<Committed<Participant>> {
        let (p, access) = self
            .participant_with_access(actor, service, conversation, sid_or_identity)
            .await?;
        access.require(if access.is(&p) {
            "leaveConversation"
        } else {
            "removeParticipant"
        })?;
        let service = self.service_for(actor, service)?;
        Ok(self
            .store()
            .remove_participant(
                service.as_str(),
                p.conversation_sid.as_str(),
                p.sid.as_str(),
            )
            .await?)
    }

    /// Lists a conversation's participants.
    pub async fn list_participants(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        page: PageParams,
    ) -> DomainResult<Page<Participant>> {
        let c = self.conversation(actor, service, conversation).await?;
        let page = self.page(PageParams {
            order: confab_store::Order::Asc,
            ..page
        })?;
        Ok(self
            .store()
            .list_participants(c.chat_service_sid.as_str(), c.sid.as_str(), &page)
            .await?)
    }
}

/// How a user moves its read horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// To this message index (clamped to the last message).
    Set(i64),
    /// Forward to this index; never back.
    Advance(i64),
    /// To the last message.
    AllRead,
    /// To nothing read.
    AllUnread,
}

/// A read horizon after a change, with the unread count it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadState {
    /// The user's participant, as it is now.
    pub participant: Participant,
    /// Messages after the horizon; `None` while there is no horizon.
    pub unread_messages_count: Option<i64>,
}

impl Domain {
    /// Moves the caller's own read horizon in a conversation. Not logged: the realtime
    /// endpoint broadcasts it coalesced.
    pub async fn set_read_horizon(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        mode: ReadMode,
    ) -> DomainResult<ReadState> {
        let (c, access) = self.access(actor, service, conversation).await?;
        let Some(me) = access.participant else {
            return Err(DomainError::forbidden(
                "only a participant has a read horizon",
            ));
        };
        let (index, advance_only) = match mode {
            ReadMode::Set(i) => (Some(i), false),
            ReadMode::Advance(i) => (Some(i), true),
            ReadMode::AllRead => (Some(i64::MAX), false),
            ReadMode::AllUnread => (None, false),
        };
        if index.is_some_and(|i| i < 0) {
            return Err(DomainError::invalid("index must not be negative"));
        }
        let horizon = confab_store::ReadHorizon {
            index,
            advance_only,
            timestamp: iso_now(self.now()),
        };
        let (participant, last) = self
            .store()
            .set_read_horizon(
                c.chat_service_sid.as_str(),
                c.sid.as_str(),
                me.sid.as_str(),
                horizon,
            )
            .await?;
        let unread = participant
            .last_read_message_index
            .map(|read| last.map_or(0, |l| (l - read).max(0)));
        Ok(ReadState {
            participant,
            unread_messages_count: unread,
        })
    }
}

/// ISO 8601 (UTC, seconds) of unix milliseconds.
fn iso_now(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
