//! Conversations: create, fetch (by SID or unique name), update, delete, list.

use confab_protocol::entity::{Conversation, ConversationState, Millis, Participant, Timers};
use confab_protocol::sid::SidKind;
use confab_store::{Committed, ConversationFilter, ConversationPatch, Page};

use crate::error::{DomainError, DomainResult};
use crate::messages::SYSTEM_AUTHOR;
use crate::validate;
use crate::{Actor, CreateParticipant, Domain, PageParams, new_sid};

/// Fields of a conversation as a caller gives them (create or update). `None` means "not
/// given"; on update, an empty `unique_name` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationInput {
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// `UniqueName`.
    pub unique_name: Option<String>,
    /// `Attributes` (JSON text).
    pub attributes: Option<String>,
    /// `State`: `active`, `inactive` or `closed`.
    pub state: Option<String>,
    /// `Timers.Inactive` (ISO 8601 duration, at least 1 minute).
    pub timers_inactive: Option<String>,
    /// `Timers.Closed` (ISO 8601 duration, at least 10 minutes).
    pub timers_closed: Option<String>,
    /// `MessagingServiceSid`.
    pub messaging_service_sid: Option<String>,
    /// `Bindings.Email.Address`.
    pub bindings_email_address: Option<String>,
    /// `Bindings.Email.Name`.
    pub bindings_email_name: Option<String>,
    /// `DateCreated`.
    pub date_created: Option<Millis>,
    /// `DateUpdated`.
    pub date_updated: Option<Millis>,
}

/// Most participants one `ConversationWithParticipants` request may add.
pub const MAX_INITIAL_PARTICIPANTS: usize = 10;

/// Updating takes the same fields as creating.
pub type UpdateConversation = ConversationInput;

/// 9999-12-31T23:59:59Z in unix millis: the last time an ISO 8601 date can show.
const LAST_ISO_DATE: Millis = 253_402_300_799_000;

struct Checked {
    state: Option<ConversationState>,
    timers: Option<Timers>,
    bindings: Option<serde_json::Value>,
}

impl Domain {
    fn check_conversation(&self, input: &ConversationInput, now: Millis) -> DomainResult<Checked> {
        let l = self.limits();
        if let Some(n) = &input.friendly_name {
            validate::name("FriendlyName", n, l.friendly_name_chars)?;
        }
        if let Some(n) = input.unique_name.as_deref().filter(|n| !n.is_empty()) {
            validate::unique_name("UniqueName", n, l.friendly_name_chars)?;
        }
        if let Some(a) = &input.attributes {
            validate::attributes("Attributes", a, l.conversation_attributes_bytes)?;
        }
        if let Some(m) = &input.messaging_service_sid {
            validate::messaging_service_sid("MessagingServiceSid", m)?;
        }
        let state = match input.state.as_deref() {
            None => None,
            Some(s) => Some(
                ConversationState::parse(s)
                    .filter(|s| *s != ConversationState::Initializing)
                    .ok_or_else(|| {
                        DomainError::invalid("State must be one of active, inactive, closed")
                    })?,
            ),
        };
        let inactive = input
            .timers_inactive
            .as_deref()
            .map(|t| validate::duration("Timers.Inactive", t, 60))
            .transpose()?;
        let closed = input
            .timers_closed
            .as_deref()
            .map(|t| validate::duration("Timers.Closed", t, 600))
            .transpose()?;
        // A timer must land on a date that can be written in ISO 8601 (year 9999 at most).
        let due = |field: &str, secs: Option<i64>| {
            secs.map(|s| {
                s.checked_mul(1000)
                    .and_then(|ms| now.checked_add(ms))
                    .filter(|t| *t <= LAST_ISO_DATE)
                    .ok_or_else(|| DomainError::invalid(format!("{field} is too long")))
            })
            .transpose()
        };
        let (date_inactive, date_closed) = (
            due("Timers.Inactive", inactive)?,
            due("Timers.Closed", closed)?,
        );
        let timers = (inactive.is_some() || closed.is_some()).then_some(Timers {
            date_inactive,
            date_closed,
        });
        let mut email = serde_json::Map::new();
        if let Some(a) = &input.bindings_email_address {
            validate::name("Bindings.Email.Address", a, l.friendly_name_chars)?;
            email.insert("address".into(), a.clone().into());
        }
        if let Some(n) = &input.bindings_email_name {
            validate::name("Bindings.Email.Name", n, l.friendly_name_chars)?;
            email.insert("name".into(), n.clone().into());
        }
        let bindings = (!email.is_empty()).then(|| serde_json::json!({ "email": email }));
        Ok(Checked {
            state,
            timers,
            bindings,
        })
    }

    /// Creates a conversation in `service` (`None`: the default service).
    pub async fn create_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        input: ConversationInput,
    ) -> DomainResult<Committed<Conversation>> {
        let conversation = self.new_conversation(actor, service, input).await?;
        Ok(self.store().create_conversation(conversation).await?)
    }

    /// Creates a conversation with up to [`MAX_INITIAL_PARTICIPANTS`] participants in one
    /// transaction: if any participant is refused, nothing is created.
    pub async fn create_conversation_with_participants(
        &self,
        actor: &Actor,
        service: Option<&str>,
        input: ConversationInput,
        participants: Vec<CreateParticipant>,
    ) -> DomainResult<Committed<(Conversation, Vec<Participant>)>> {
        if participants.len() > MAX_INITIAL_PARTICIPANTS {
            return Err(DomainError::invalid(format!(
                "at most {MAX_INITIAL_PARTICIPANTS} participants can be added in one request"
            )));
        }
        let conversation = self.new_conversation(actor, service, input).await?;
        let mut new = Vec::with_capacity(participants.len());
        for p in participants {
            new.push(
                self.new_participant(&conversation.chat_service_sid, &conversation.sid, p)
                    .await?,
            );
        }
        let limits = self.count_limits();
        Ok(self
            .store()
            .create_conversation_with_participants(conversation, new, &limits)
            .await?)
    }

    async fn new_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        input: ConversationInput,
    ) -> DomainResult<Conversation> {
        let service = self.existing_service(actor, service).await?;
        self.service_access(actor, &service)
            .await?
            .require("createConversation")?;
        let now = self.now();
        let checked = self.check_conversation(&input, now)?;
        let created_by = match actor {
            Actor::User { identity, .. } => identity.clone(),
            Actor::Backend { .. } => SYSTEM_AUTHOR.to_owned(),
        };
        Ok(Conversation {
            sid: new_sid(SidKind::Conversation),
            chat_service_sid: service,
            messaging_service_sid: input.messaging_service_sid,
            friendly_name: input.friendly_name,
            unique_name: input.unique_name.filter(|n| !n.is_empty()),
            attributes: input.attributes.unwrap_or_else(|| "{}".into()),
            state: checked.state.unwrap_or(ConversationState::Active),
            timers: checked.timers.unwrap_or_default(),
            bindings: checked.bindings,
            created_by: Some(created_by),
            date_created: input.date_created.unwrap_or(now),
            date_updated: input.date_updated.or(input.date_created).unwrap_or(now),
        })
    }

    /// Fetches a conversation by SID or unique name.
    pub async fn conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_name: &str,
    ) -> DomainResult<Conversation> {
        Ok(self.access(actor, service, sid_or_name).await?.0)
    }

    /// Finds a conversation of the actor's service without asking for membership (joining
    /// needs to find a conversation one is not in yet).
    pub(crate) async fn find_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_name: &str,
    ) -> DomainResult<Conversation> {
        validate::lookup_key(sid_or_name, "Conversation")?;
        let service = self.service_for(actor, service)?;
        self.store()
            .conversation(service.as_str(), sid_or_name)
            .await?
            .ok_or_else(|| DomainError::not_found(format!("Conversation {sid_or_name}")))
    }

    /// Updates a conversation.
    pub async fn update_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_name: &str,
        input: UpdateConversation,
    ) -> DomainResult<Committed<Conversation>> {
        let (c, access) = self.access(actor, service, sid_or_name).await?;
        if input.friendly_name.is_some() || input.unique_name.is_some() {
            access.require("editConversationName")?;
        }
        let other = input.attributes.is_some()
            || input.state.is_some()
            || input.timers_inactive.is_some()
            || input.timers_closed.is_some()
            || input.messaging_service_sid.is_some()
            || input.bindings_email_address.is_some()
            || input.bindings_email_name.is_some()
            || input.date_created.is_some()
            || input.date_updated.is_some();
        if other {
            access.require("editConversationAttributes")?;
        }
        let named = input.friendly_name.is_some() || input.unique_name.is_some();
        if matches!(actor, Actor::User { .. }) && !named && !other {
            return Err(DomainError::invalid("nothing to update"));
        }
        let now = self.now();
        let checked = self.check_conversation(&input, now)?;
        let patch = ConversationPatch {
            friendly_name: input.friendly_name.map(Some),
            unique_name: input.unique_name.map(|n| Some(n).filter(|n| !n.is_empty())),
            attributes: input.attributes,
            state: checked.state,
            timers: checked.timers,
            messaging_service_sid: input.messaging_service_sid,
            bindings: checked.bindings,
            date_created: input.date_created,
            date_updated: input.date_updated.unwrap_or(now),
        };
        Ok(self
            .store()
            .update_conversation(c.chat_service_sid.as_str(), c.sid.as_str(), patch)
            .await?)
    }

    /// Deletes a conversation with everything in it.
    pub async fn delete_conversation(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid_or_name: &str,
    ) -> DomainResult<Committed<Conversation>> {
        let (c, access) = self.access(actor, service, sid_or_name).await?;
        access.require("deleteConversation")?;
        Ok(self
            .store()
            .delete_conversation(c.chat_service_sid.as_str(), c.sid.as_str())
            .await?)
    }

    /// Lists the conversations of a service (app backends only: users list their own).
    pub async fn list_conversations(
        &self,
        actor: &Actor,
        service: Option<&str>,
        filter: ConversationFilter,
        page: PageParams,
    ) -> DomainResult<Page<Conversation>> {
        if !matches!(actor, Actor::Backend { .. }) {
            return Err(DomainError::forbidden(
                "only an app backend may list every conversation",
            ));
        }
        let service = self.service_for(actor, service)?;
        let page = self.page(page)?;
        // An unknown service has no empty list: it is not there.
        if self.store().service(service.as_str()).await?.is_none() {
            return Err(DomainError::not_found(format!("Service {service}")));
        }
        Ok(self
            .store()
            .list_conversations(service.as_str(), &filter, &page)
            .await?)
    }
}

impl Domain {
    /// A participant says it is typing: checked here (only a participant may, and only in its
    /// own name); the realtime endpoint broadcasts it, never stored.
    pub async fn typing(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
    ) -> DomainResult<confab_protocol::event::Typing> {
        let Actor::User { identity, .. } = actor else {
            return Err(DomainError::forbidden("only a user types"));
        };
        let (c, access) = self.access(actor, service, conversation).await?;
        Ok(confab_protocol::event::Typing {
            conversation_sid: c.sid,
            participant_sid: access.participant.map(|p| p.sid),
            identity: identity.clone(),
        })
    }
}
