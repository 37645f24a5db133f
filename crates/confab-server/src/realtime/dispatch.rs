//! Realtime requests, routed from the method table (`confab_protocol::method`): each method
//! is a thin adapter that takes its typed params, calls one domain operation as the session's
//! identity, and encodes the method's typed result. Authorization, limits and persistence
//! are the domain's, exactly as for the REST door. The few methods that also touch the
//! endpoint's live state (typing, read horizons, reachability) reach it through [`Live`].

use std::sync::Arc;

use confab_domain::{
    Actor, ConversationInput, CreateMessage, CreateParticipant, Domain, DomainError, PageParams,
    ReadMode, UpdateMessage, UpdateParticipant, UpdateUser, UpdateUserConversation,
};
use confab_protocol::ErrorCode;
use confab_protocol::event::Horizon;
use confab_protocol::method::{
    ConversationPage, Empty, JoinedConversation, MessagePage, OnlineUser, Page, ReadState, Request,
};
use confab_protocol::sid::Sid;
use confab_store::{ActivityKey, Cursor, Order, UserConversation};
use serde::Serialize;
use serde_json::Value;

use super::horizons::Horizons;
use super::hub::Hub;
use super::presence::Presence;
use super::typing::TypingTracker;

/// The endpoint's live state that some methods touch beside the domain.
pub(crate) struct Live<'a> {
    pub hub: &'a Arc<Hub>,
    pub typing: &'a Arc<TypingTracker>,
    pub horizons: &'a Arc<Horizons>,
    pub presence: &'a Presence,
}

/// A method's result, encoded.
pub(crate) type Encoded = Result<String, DomainError>;

fn encode<T: Serialize>(value: &T) -> Encoded {
    serde_json::to_string(value)
        .map_err(|_| DomainError::new(ErrorCode::Internal, "a result did not encode"))
}

/// Attributes travel as JSON values over the realtime protocol; the domain keeps JSON text.
fn attributes(v: Option<Value>) -> Option<String> {
    v.map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

fn order(o: Option<&str>) -> Result<Order, DomainError> {
    match o {
        None | Some("asc") => Ok(Order::Asc),
        Some("desc") => Ok(Order::Desc),
        Some(o) => Err(DomainError::invalid(format!(
            "order {o:?}: asc or desc (conversations.list also takes recent)"
        ))),
    }
}

fn page_params(
    size: Option<u32>,
    token: Option<&str>,
    o: Option<&str>,
) -> Result<PageParams, DomainError> {
    let cursor = token
        .map(|t| {
            Cursor::from_token(t)
                .ok_or_else(|| DomainError::invalid("pageToken is not one this server issued"))
        })
        .transpose()?;
    Ok(PageParams {
        size,
        order: order(o)?,
        cursor,
    })
}

/// A message page: from a page token, or from an anchor index in a direction (messages are
/// keyed by their index, so the anchor is a cursor just past it, in the listing order).
fn message_page(p: &MessagePage) -> Result<PageParams, DomainError> {
    let direction = |d: &str| match d {
        "backwards" => Ok(Order::Desc),
        "forwards" => Ok(Order::Asc),
        d => Err(DomainError::invalid(format!(
            "direction {d:?}: backwards or forwards"
        ))),
    };
    let Some(anchor) = p.anchor else {
        // A later page of an anchored walk: its token with the walk's direction.
        let mut page = page_params(p.page_size, p.page_token.as_deref(), p.order.as_deref())?;
        if let Some(d) = p.direction.as_deref() {
            if p.order.is_some() {
                return Err(DomainError::invalid("give direction or order, not both"));
            }
            page.order = direction(d)?;
        }
        return Ok(page);
    };
    if p.page_token.is_some() || p.order.is_some() {
        return Err(DomainError::invalid(
            "anchor goes with direction, not with pageToken or order",
        ));
    }
    let order = direction(p.direction.as_deref().unwrap_or("backwards"))?;
    let cursor = match order {
        Order::Desc => Cursor::After(anchor.saturating_add(1)),
        Order::Asc => Cursor::After(anchor.saturating_sub(1)),
    };
    Ok(PageParams {
        size: p.page_size,
        order,
        cursor: Some(cursor),
    })
}

fn page<T, U>(page: &confab_store::Page<T>, item: impl Fn(&T) -> U) -> Page<U> {
    Page {
        items: page.items.iter().map(item).collect(),
        next_page_token: page
            .has_next
            .then_some(page.last_key)
            .flatten()
            .map(|k| Cursor::After(k).to_token()),
        previous_page_token: page
            .has_previous
            .then_some(page.first_key)
            .flatten()
            .map(|k| Cursor::Before(k).to_token()),
    }
}

/// A conversation as one of the user's: with its participant, counts and notification level.
fn joined(uc: &UserConversation) -> JoinedConversation {
    JoinedConversation {
        conversation: uc.conversation.clone(),
        participant: uc.participant.clone(),
        last_message_index: uc.last_message_index,
        unread_messages_count: uc.unread_messages_count(),
        notification_level: uc.participant.notification_level,
        messages_count: uc.messages_count,
        participants_count: uc.participants_count,
        last_activity: uc.last_activity,
    }
}

async fn conversations(
    domain: &Domain,
    actor: &Actor,
    service: Option<&str>,
    identity: &str,
    p: ConversationPage,
) -> Encoded {
    if p.order.as_deref() == Some("recent") {
        let page = domain
            .recent_conversations(actor, service, p.page_size, p.page_token.as_deref())
            .await?;
        return encode(&Page {
            items: page.items.iter().map(joined).collect(),
            next_page_token: page.next.map(ActivityKey::to_token),
            previous_page_token: None,
        });
    }
    let params = page_params(p.page_size, p.page_token.as_deref(), p.order.as_deref())?;
    let list = domain
        .user_conversations(actor, service, identity, params)
        .await?;
    encode(&page(&list, joined))
}

/// Moves the caller's read horizon (one change of a user's horizons at a time, so that the
/// one broadcast last is the one committed last) and broadcasts it, coalesced.
async fn read_horizon(
    domain: &Domain,
    live: &Live<'_>,
    actor: &Actor,
    conversation: &str,
    mode: ReadMode,
) -> Encoded {
    let Actor::User { service, identity } = actor else {
        return Err(DomainError::forbidden("realtime calls are made by users"));
    };
    let state = live
        .horizons
        .in_turn(service, identity, async {
            let state = domain
                .set_read_horizon(actor, Some(service.as_str()), conversation, mode)
                .await?;
            let p = &state.participant;
            if let Some(identity) = &p.identity {
                live.horizons.moved(
                    live.hub,
                    Horizon {
                        conversation_sid: p.conversation_sid.clone(),
                        participant_sid: p.sid.clone(),
                        identity: identity.clone(),
                        last_read_message_index: p.last_read_message_index,
                    },
                );
            }
            Ok::<_, DomainError>(state)
        })
        .await?;
    encode(&ReadState {
        last_read_message_index: state.participant.last_read_message_index,
        unread_messages_count: state.unread_messages_count,
    })
}

/// Runs one request for `actor` (always an [`Actor::User`]). `op_id` reaches the store for
/// `message.send`, whose de-duplication survives restarts; `admit_message` charges the
/// conversation's message rate once the sender is known to be a participant.
pub(crate) async fn call(
    domain: &Domain,
    live: &Live<'_>,
    actor: &Actor,
    request: Request,
    op_id: Option<String>,
    admit_message: impl FnOnce(&Sid) -> bool,
) -> Encoded {
    let Actor::User {
        service: service_sid,
        identity,
    } = actor
    else {
        return Err(DomainError::forbidden("realtime calls are made by users"));
    };
    let service = Some(service_sid.as_str());
    match request {
        Request::ConversationCreate(f) => {
            let input = ConversationInput {
                friendly_name: f.friendly_name,
                unique_name: f.unique_name,
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            encode(
                &domain
                    .create_conversation(actor, service, input)
                    .await?
                    .value,
            )
        }
        Request::ConversationGet(f) => {
            encode(&domain.conversation(actor, service, &f.conversation).await?)
        }
        Request::ConversationUpdate(f) => {
            let input = ConversationInput {
                friendly_name: f.fields.friendly_name,
                unique_name: f.fields.unique_name,
                attributes: attributes(f.fields.attributes),
                ..Default::default()
            };
            let c = domain
                .update_conversation(actor, service, &f.conversation, input)
                .await?;
            encode(&c.value)
        }
        Request::ConversationDelete(f) => {
            domain
                .delete_conversation(actor, service, &f.conversation)
                .await?;
            encode(&Empty {})
        }
        Request::ConversationJoin(f) => {
            let input = CreateParticipant {
                identity: Some(identity.clone()),
                ..Default::default()
            };
            let part = domain
                .add_participant(actor, service, &f.conversation, input)
                .await?;
            encode(&part.value)
        }
        Request::ConversationLeave(f) => {
            let part = domain
                .remove_participant(actor, service, &f.conversation, identity)
                .await?;
            encode(&part.value)
        }
        Request::ConversationsList(p) => conversations(domain, actor, service, identity, p).await,
        Request::ConversationSummary(f) => {
            // Checked as every read of a conversation (not a participant: 20403).
            domain.conversation(actor, service, &f.conversation).await?;
            let uc = domain
                .user_conversation(actor, service, identity, &f.conversation)
                .await?;
            encode(&joined(&uc))
        }
        Request::ConversationSetNotificationLevel(f) => {
            // Checked as every use of a conversation first (not a participant: 20403).
            domain.conversation(actor, service, &f.conversation).await?;
            let input = UpdateUserConversation {
                notification_level: Some(f.level),
                ..Default::default()
            };
            let uc = domain
                .update_user_conversation(actor, service, identity, &f.conversation, input)
                .await?;
            encode(&joined(&uc))
        }
        Request::ConversationTyping(f) => {
            let t = domain.typing(actor, service, &f.conversation).await?;
            live.typing.started(live.hub, t);
            encode(&Empty {})
        }
        Request::ConversationSetLastRead(f) => {
            read_horizon(domain, live, actor, &f.conversation, ReadMode::Set(f.index)).await
        }
        Request::ConversationAdvanceLastRead(f) => {
            let mode = ReadMode::Advance(f.index);
            read_horizon(domain, live, actor, &f.conversation, mode).await
        }
        Request::ConversationSetAllRead(f) => {
            read_horizon(domain, live, actor, &f.conversation, ReadMode::AllRead).await
        }
        Request::ConversationSetAllUnread(f) => {
            read_horizon(domain, live, actor, &f.conversation, ReadMode::AllUnread).await
        }
        Request::ParticipantAdd(f) => {
            let input = CreateParticipant {
                identity: Some(f.identity),
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let part = domain
                .add_participant(actor, service, &f.conversation, input)
                .await?;
            encode(&part.value)
        }
        Request::ParticipantGet(f) => encode(
            &domain
                .participant(actor, service, &f.conversation, &f.participant)
                .await?,
        ),
        Request::ParticipantUpdate(f) => {
            let input = UpdateParticipant {
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let part = domain
                .update_participant(actor, service, &f.conversation, &f.participant, input)
                .await?;
            encode(&part.value)
        }
        Request::ParticipantRemove(f) => {
            let part = domain
                .remove_participant(actor, service, &f.conversation, &f.participant)
                .await?;
            encode(&part.value)
        }
        Request::ParticipantList(p) => {
            let params = page_params(p.page_size, p.page_token.as_deref(), p.order.as_deref())?;
            let list = domain
                .list_participants(actor, service, &p.conversation, params)
                .await?;
            encode(&page(&list, Clone::clone))
        }
        Request::MessageSend(f) => {
            let input = CreateMessage {
                body: f.body,
                attributes: attributes(f.attributes),
                op_id,
                media: f.media,
                ..Default::default()
            };
            let m = domain
                .add_message_admitted(actor, service, &f.conversation, input, admit_message)
                .await?;
            // A message ends its author's typing indicator.
            live.typing
                .stopped(live.hub, &m.value.conversation_sid, identity);
            encode(&m.value)
        }
        Request::MessageGet(f) => encode(
            &domain
                .message(actor, service, &f.conversation, &f.message)
                .await?,
        ),
        Request::MessageUpdate(f) => {
            let input = UpdateMessage {
                body: f.body,
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let m = domain
                .update_message(actor, service, &f.conversation, &f.message, input)
                .await?;
            encode(&m.value)
        }
        Request::MessageRemove(f) => {
            let m = domain
                .remove_message(actor, service, &f.conversation, &f.message)
                .await?;
            encode(&m.value)
        }
        Request::MessageList(p) => {
            let params = message_page(&p)?;
            let list = domain
                .list_messages(actor, service, &p.conversation, params)
                .await?;
            encode(&page(&list, Clone::clone))
        }
        Request::UserGet(f) => {
            let who = f.identity.as_deref().unwrap_or(identity);
            let user = domain.visible_user(actor, service, who).await?;
            // Reachability is the realtime layer's to know.
            let is_online = live.presence.is_online(service_sid, &user.identity);
            encode(&OnlineUser { user, is_online })
        }
        Request::UserUpdate(f) => {
            if f.friendly_name.is_none() && f.attributes.is_none() {
                return Err(DomainError::invalid("give friendlyName or attributes"));
            }
            let input = UpdateUser {
                friendly_name: f.friendly_name,
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            encode(&domain.update_user(actor, service, identity, input).await?)
        }
        // The session renews its own token (`token.update` never reaches here).
        Request::TokenUpdate(_) => Err(DomainError::new(
            ErrorCode::UnknownMethod,
            "token.update is the session's own",
        )),
    }
}
