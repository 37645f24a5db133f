//! Messages: add (gapless `index`), fetch, update, remove (text scrubbed from the log), list.

use confab_protocol::ErrorCode;
use confab_protocol::entity::{Message, Millis};
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{Committed, MessagePatch, NewMessage, Page};

use crate::authz::Access;
use crate::error::{DomainError, DomainResult};
use crate::validate;
use crate::{Actor, Domain, PageParams, new_sid};

/// The author an app backend's message gets when it names none.
pub const SYSTEM_AUTHOR: &str = "system";

/// A message to add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateMessage {
    /// `Author`; a user's messages are always authored by its identity.
    pub author: Option<String>,
    /// `Body`.
    pub body: Option<String>,
    /// `Attributes` (JSON text).
    pub attributes: Option<String>,
    /// `DateCreated`.
    pub date_created: Option<Millis>,
    /// `DateUpdated`.
    pub date_updated: Option<Millis>,
    /// Idempotency key: a retry with the same key returns the first message.
    pub op_id: Option<String>,
    /// `MediaSid`s: uploads to attach, in order. With any, the body may be left out.
    pub media: Vec<String>,
}

/// Changes to a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateMessage {
    /// `Author`.
    pub author: Option<String>,
    /// `Body`.
    pub body: Option<String>,
    /// `Attributes`.
    pub attributes: Option<String>,
    /// `DateCreated`.
    pub date_created: Option<Millis>,
    /// `DateUpdated`.
    pub date_updated: Option<Millis>,
}

impl Domain {
    fn check_message_fields(
        &self,
        author: Option<&str>,
        body: Option<&str>,
        attributes: Option<&str>,
    ) -> DomainResult<()> {
        let l = self.limits();
        if let Some(a) = author {
            validate::identity("Author", a, l.identity_chars)?;
        }
        if let Some(b) = body {
            validate::text("Body", b)?;
        }
        if let Some(b) = body
            && b.len() > l.message_body_bytes
        {
            return Err(DomainError::invalid(format!(
                "Body is larger than {} bytes",
                l.message_body_bytes
            )));
        }
        if let Some(a) = attributes {
            validate::attributes("Attributes", a, l.attributes_bytes)?;
        }
        Ok(())
    }

    /// Adds a message to a conversation.
    pub async fn add_message(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        input: CreateMessage,
    ) -> DomainResult<Committed<Message>> {
        self.add_message_admitted(actor, service, conversation, input, |_| true)
            .await
    }

    /// Adds a message as [`Domain::add_message`] does, asking `admit` with the conversation's
    /// SID once a user's message is known to be allowed and well formed, just before the
    /// write; refused, it is error 20429 and nothing is written. The realtime endpoint charges
    /// a conversation's message rate here: only a participant's message spends it, and the
    /// conversation is read once for both the permission and the rate.
    pub async fn add_message_admitted(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        input: CreateMessage,
        admit: impl FnOnce(&Sid) -> bool,
    ) -> DomainResult<Committed<Message>> {
        let service = self.service_for(actor, service)?;
        // A user must be a participant allowed to send; an app backend may write anywhere, so
        // for it the write transaction alone resolves the conversation (one store round trip
        // per message).
        let mut admitted_in = None;
        if let Actor::User { .. } = actor {
            let (sid, access) = self
                .message_access(actor, Some(service.as_str()), conversation)
                .await?;
            access.require("sendMessage")?;
            admitted_in = Some(sid);
        }
        let author = match actor {
            Actor::User { identity, .. } => identity.clone(),
            Actor::Backend { .. } => input.author.unwrap_or_else(|| SYSTEM_AUTHOR.into()),
        };
        self.check_message_fields(
            Some(&author),
            input.body.as_deref(),
            input.attributes.as_deref(),
        )?;
        // A user's own uploads only count: another's is the store's to refuse, and its size
        // is not for this user to learn.
        let own = match actor {
            Actor::User { identity, .. } => Some(identity.as_str()),
            Actor::Backend { .. } => None,
        };
        let media = self
            .check_attachments(service.as_str(), own, &input.media)
            .await?;
        if media.is_empty() && input.body.as_deref().is_none_or(str::is_empty) {
            return Err(DomainError::invalid("Body or MediaSid is required"));
        }
        if let Some(op) = &input.op_id {
            validate::identity("op_id", op, 128)?;
        }
        if let Some(sid) = &admitted_in
            && !admit(sid)
        {
            return Err(DomainError::new(
                ErrorCode::TooManyRequests,
                "too many messages in this conversation: slow down",
            ));
        }
        let now = self.now();
        let new = NewMessage {
            sid: new_sid(SidKind::Message),
            // A user's message goes to the conversation its permission and rate were checked
            // on, even if its unique name moves meanwhile.
            conversation: admitted_in
                .as_ref()
                .map_or_else(|| conversation.to_owned(), |sid| sid.to_string()),
            author,
            body: input.body,
            attributes: input.attributes.unwrap_or_else(|| "{}".into()),
            date_created: input.date_created.unwrap_or(now),
            date_updated: input.date_updated.or(input.date_created).unwrap_or(now),
            op_id: input.op_id,
            participant_only: admitted_in.is_some(),
            media,
            now,
        };
        Ok(self.store().add_message(service.as_str(), new).await?)
    }

    /// The uploads a new message names, checked against the limits: as many as
    /// [`confab_protocol::limits::Limits::media_per_message`], each once, together no larger
    /// than `media_bytes_per_message`. Whether each may be attached (it exists, is unattached,
    /// unexpired and, for a user, its own) the store checks in the write itself.
    async fn check_attachments(
        &self,
        service: &str,
        own: Option<&str>,
        sids: &[String],
    ) -> DomainResult<Vec<Sid>> {
        let l = self.limits();
        if sids.len() > l.media_per_message as usize {
            return Err(DomainError::invalid(format!(
                "a message carries at most {} media files",
                l.media_per_message
            )));
        }
        let mut out: Vec<Sid> = Vec::with_capacity(sids.len());
        let mut total: u64 = 0;
        for s in sids {
            let sid = Sid::parse(SidKind::Media, s).ok_or_else(|| {
                DomainError::invalid(format!("MediaSid {s:?} is not a media SID (ME…)"))
            })?;
            if out.contains(&sid) {
                return Err(DomainError::invalid(format!(
                    "MediaSid {sid} is given twice"
                )));
            }
            // Unknown media is the store's to refuse (20001, as for every unattachable one).
            if let Some(m) = self.store().media(service, sid.as_str()).await?
                && own.is_none_or(|who| m.author == who)
            {
                total = total.saturating_add(u64::try_from(m.size).unwrap_or(0));
            }
            out.push(sid);
        }
        if total > l.media_bytes_per_message {
            return Err(DomainError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the files of one message may be {} bytes together; these are {total}",
                    l.media_bytes_per_message
                ),
            ));
        }
        Ok(out)
    }

    /// Fetches a message.
    pub async fn message(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid: &str,
    ) -> DomainResult<Message> {
        Ok(self
            .message_with_access(actor, service, conversation, sid)
            .await?
            .0)
    }

    /// A message, and the caller's access to its conversation.
    async fn message_with_access(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid: &str,
    ) -> DomainResult<(Message, Access)> {
        let (c, access) = self.access(actor, service, conversation).await?;
        validate::sid_param("Sid", SidKind::Message, sid)
            .map_err(|_| DomainError::not_found(format!("Message {sid}")))?;
        let m = self
            .store()
            .message(c.chat_service_sid.as_str(), c.sid.as_str(), sid)
            .await?
            .ok_or_else(|| DomainError::not_found(format!("Message {sid}")))?;
        Ok((m, access))
    }

    /// Updates a message: its author with `editOwnMessage` / `editOwnMessageAttributes`,
    /// anyone with `editAnyMessage` / `editAnyMessageAttributes`.
    pub async fn update_message(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid: &str,
        input: UpdateMessage,
    ) -> DomainResult<Committed<Message>> {
        let (m, access) = self
            .message_with_access(actor, service, conversation, sid)
            .await?;
        if matches!(actor, Actor::User { .. }) && input.author.is_some() {
            return Err(DomainError::forbidden(
                "a user cannot change a message's author",
            ));
        }
        let own = is_author(actor, &m);
        let touches_text =
            input.body.is_some() || input.date_created.is_some() || input.date_updated.is_some();
        if matches!(actor, Actor::User { .. }) && !touches_text && input.attributes.is_none() {
            // Every change a user makes is checked against a permission; an empty one is none.
            return Err(DomainError::invalid(
                "nothing to update: give body or attributes",
            ));
        }
        if touches_text {
            access.require(if own {
                "editOwnMessage"
            } else {
                "editAnyMessage"
            })?;
        }
        if input.attributes.is_some() {
            access.require(if own {
                "editOwnMessageAttributes"
            } else {
                "editAnyMessageAttributes"
            })?;
        }
        self.check_message_fields(
            input.author.as_deref(),
            input.body.as_deref(),
            input.attributes.as_deref(),
        )?;
        if input.body.as_deref() == Some("") {
            return Err(DomainError::invalid("Body must not be empty"));
        }
        let patch = MessagePatch {
            body: input.body,
            attributes: input.attributes,
            author: input.author,
            date_created: input.date_created,
            date_updated: input.date_updated.unwrap_or_else(|| self.now()),
        };
        let service = self.service_for(actor, service)?;
        Ok(self
            .store()
            .update_message(service.as_str(), m.conversation_sid.as_str(), sid, patch)
            .await?)
    }

    /// Removes a message; its text is scrubbed from the log too.
    pub async fn remove_message(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        sid: &str,
    ) -> DomainResult<Committed<Message>> {
        let (m, access) = self
            .message_with_access(actor, service, conversation, sid)
            .await?;
        access.require(if is_author(actor, &m) {
            "deleteOwnMessage"
        } else {
            "deleteAnyMessage"
        })?;
        let service = self.service_for(actor, service)?;
        Ok(self
            .store()
            .remove_message(service.as_str(), m.conversation_sid.as_str(), sid)
            .await?)
    }

    /// Lists a conversation's messages by `index`, in either order.
    pub async fn list_messages(
        &self,
        actor: &Actor,
        service: Option<&str>,
        conversation: &str,
        page: PageParams,
    ) -> DomainResult<Page<Message>> {
        let c = self.conversation(actor, service, conversation).await?;
        let page = self.page(page)?;
        Ok(self
            .store()
            .list_messages(c.chat_service_sid.as_str(), c.sid.as_str(), &page)
            .await?)
    }
}

/// Whether the caller wrote `m` (an app backend counts as every author).
fn is_author(actor: &Actor, m: &Message) -> bool {
    match actor {
        Actor::User { identity, .. } => *identity == m.author,
        Actor::Backend { .. } => true,
    }
}
