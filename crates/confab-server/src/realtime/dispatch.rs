//! Realtime requests: each `req` method is a thin adapter that reads its parameters, calls one
//! domain operation as the session's identity, and renders the result. Authorization, limits
//! and persistence are the domain's, exactly as for the REST door.
//!
//! Parameters are JSON objects with camelCase keys; results are the entities as the protocol
//! defines them (`confab_protocol::entity`). `docs/PROTOCOL.md` lists every method.

use confab_domain::{
    Actor, ConversationInput, CreateMessage, CreateParticipant, Domain, DomainError, PageParams,
    UpdateMessage, UpdateParticipant,
};
use confab_protocol::ErrorCode;
use confab_protocol::sid::Sid;
use confab_store::{ActivityKey, Cursor, Order, Page};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Every method [`call`] answers (besides `token.update`, which the session itself handles).
pub const METHODS: &[&str] = &[
    "conversation.create",
    "conversation.get",
    "conversation.update",
    "conversation.delete",
    "conversation.join",
    "conversation.leave",
    "conversations.list",
    "conversation.summary",
    "participant.add",
    "participant.get",
    "participant.update",
    "participant.remove",
    "participant.list",
    "message.send",
    "message.get",
    "message.update",
    "message.remove",
    "message.list",
    "user.get",
    "conversation.setNotificationLevel",
    "conversation.typing",
    "user.update",
    "conversation.setLastRead",
    "conversation.advanceLastRead",
    "conversation.setAllRead",
    "conversation.setAllUnread",
];

/// Whether a method changes something (and so takes part in `op_id` de-duplication).
pub fn is_mutation(method: &str) -> bool {
    matches!(
        method,
        "conversation.create"
            | "conversation.update"
            | "conversation.delete"
            | "conversation.join"
            | "conversation.leave"
            | "participant.add"
            | "participant.update"
            | "participant.remove"
            | "message.send"
            | "message.update"
            | "message.remove"
            | "conversation.setLastRead"
            | "conversation.advanceLastRead"
            | "conversation.setAllRead"
            | "conversation.setAllUnread"
            | "conversation.setNotificationLevel"
            | "user.update"
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConversationRef {
    conversation: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ConversationFields {
    conversation: Option<String>,
    friendly_name: Option<String>,
    unique_name: Option<String>,
    attributes: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantRef {
    conversation: String,
    participant: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantFields {
    conversation: String,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    participant: Option<String>,
    #[serde(default)]
    attributes: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRef {
    conversation: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageFields {
    conversation: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    attributes: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PageFields {
    conversation: Option<String>,
    page_size: Option<u32>,
    page_token: Option<String>,
    order: Option<String>,
    /// Messages only: the index to page from (included), with `direction`.
    anchor: Option<i64>,
    /// `backwards` (older, newest first; the default) or `forwards` (newer, oldest first).
    direction: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct UserRef {
    identity: Option<String>,
}

fn params<T: DeserializeOwned>(p: Value) -> Result<T, DomainError> {
    let p = if p.is_null() { json!({}) } else { p };
    serde_json::from_value(p).map_err(|e| DomainError::invalid(format!("params: {e}")))
}

/// Attributes travel as JSON values over the realtime protocol; the domain keeps JSON text.
fn attributes(v: Option<Value>) -> Option<String> {
    v.map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

fn page_params(p: &PageFields) -> Result<PageParams, DomainError> {
    let cursor = p
        .page_token
        .as_deref()
        .map(|t| {
            Cursor::from_token(t)
                .ok_or_else(|| DomainError::invalid("pageToken is not one this server issued"))
        })
        .transpose()?;
    let order = match p.order.as_deref() {
        None | Some("asc") => Order::Asc,
        Some("desc") => Order::Desc,
        Some(o) => {
            return Err(DomainError::invalid(format!(
                "order {o:?}: asc or desc (conversations.list also takes recent)"
            )));
        }
    };
    Ok(PageParams {
        size: p.page_size,
        order,
        cursor,
    })
}

/// A message page: from a page token, or from an anchor index in a direction (messages are
/// keyed by their index, so the anchor is a cursor just past it, in the listing order).
fn message_page(p: &PageFields) -> Result<PageParams, DomainError> {
    let Some(anchor) = p.anchor else {
        // A later page of an anchored walk: its token with the walk's direction.
        let mut page = page_params(p)?;
        if let Some(d) = p.direction.as_deref() {
            if p.order.is_some() {
                return Err(DomainError::invalid("give direction or order, not both"));
            }
            page.order = match d {
                "backwards" => Order::Desc,
                "forwards" => Order::Asc,
                d => {
                    return Err(DomainError::invalid(format!(
                        "direction {d:?}: backwards or forwards"
                    )));
                }
            };
        }
        return Ok(page);
    };
    if p.page_token.is_some() || p.order.is_some() {
        return Err(DomainError::invalid(
            "anchor goes with direction, not with pageToken or order",
        ));
    }
    let (order, cursor) = match p.direction.as_deref() {
        None | Some("backwards") => (Order::Desc, Cursor::After(anchor.saturating_add(1))),
        Some("forwards") => (Order::Asc, Cursor::After(anchor.saturating_sub(1))),
        Some(d) => {
            return Err(DomainError::invalid(format!(
                "direction {d:?}: backwards or forwards"
            )));
        }
    };
    Ok(PageParams {
        size: p.page_size,
        order,
        cursor: Some(cursor),
    })
}

fn page_json<T>(page: &Page<T>, item: impl Fn(&T) -> Value) -> Value {
    json!({
        "items": page.items.iter().map(item).collect::<Vec<_>>(),
        "next_page_token": page.has_next.then_some(page.last_key).flatten().map(|k| Cursor::After(k).to_token()),
        "previous_page_token": page.has_previous.then_some(page.first_key).flatten().map(|k| Cursor::Before(k).to_token()),
    })
}

/// A conversation as one of the user's: with its participant, counts and notification level.
fn user_conversation_json(uc: &confab_store::UserConversation) -> Value {
    json!({
        "conversation": to_json(&uc.conversation),
        "participant": to_json(&uc.participant),
        "last_message_index": uc.last_message_index,
        "unread_messages_count": uc.unread_messages_count(),
        "notification_level": uc.participant.notification_level,
        "messages_count": uc.messages_count,
        "participants_count": uc.participants_count,
        "last_activity": uc.last_activity,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn required(v: Option<String>, name: &str) -> Result<String, DomainError> {
    v.ok_or_else(|| DomainError::invalid(format!("params.{name} is required")))
}

/// Runs one method for `actor` (always an [`Actor::User`]). `op_id` reaches the store for
/// `message.send`, whose de-duplication survives restarts.
pub async fn call(
    domain: &Domain,
    actor: &Actor,
    method: &str,
    op_id: Option<String>,
    p: Value,
    admit_message: impl FnOnce(&Sid) -> bool,
) -> Result<Value, DomainError> {
    let Actor::User { service, identity } = actor else {
        return Err(DomainError::forbidden("realtime calls are made by users"));
    };
    let service = Some(service.as_str());
    match method {
        "conversation.create" => {
            let f: ConversationFields = params(p)?;
            let input = ConversationInput {
                friendly_name: f.friendly_name,
                unique_name: f.unique_name,
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let c = domain.create_conversation(actor, service, input).await?;
            Ok(to_json(&c.value))
        }
        "conversation.get" => {
            let f: ConversationRef = params(p)?;
            let c = domain.conversation(actor, service, &f.conversation).await?;
            Ok(to_json(&c))
        }
        "conversation.update" => {
            let f: ConversationFields = params(p)?;
            let conversation = required(f.conversation, "conversation")?;
            let input = ConversationInput {
                friendly_name: f.friendly_name,
                unique_name: f.unique_name,
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let c = domain
                .update_conversation(actor, service, &conversation, input)
                .await?;
            Ok(to_json(&c.value))
        }
        "conversation.delete" => {
            let f: ConversationRef = params(p)?;
            domain
                .delete_conversation(actor, service, &f.conversation)
                .await?;
            Ok(json!({}))
        }
        "conversation.join" => {
            let f: ConversationRef = params(p)?;
            let input = CreateParticipant {
                identity: Some(identity.clone()),
                ..Default::default()
            };
            let part = domain
                .add_participant(actor, service, &f.conversation, input)
                .await?;
            Ok(to_json(&part.value))
        }
        "conversation.leave" => {
            let f: ConversationRef = params(p)?;
            let part = domain
                .remove_participant(actor, service, &f.conversation, identity)
                .await?;
            Ok(to_json(&part.value))
        }
        "conversations.list" => {
            let f: PageFields = params(p)?;
            if f.order.as_deref() == Some("recent") {
                let page = domain
                    .recent_conversations(actor, service, f.page_size, f.page_token.as_deref())
                    .await?;
                return Ok(json!({
                    "items": page.items.iter().map(user_conversation_json).collect::<Vec<_>>(),
                    "next_page_token": page.next.map(ActivityKey::to_token),
                    "previous_page_token": null,
                }));
            }
            let page = domain
                .user_conversations(actor, service, identity, page_params(&f)?)
                .await?;
            Ok(page_json(&page, user_conversation_json))
        }
        "conversation.summary" => {
            let f: ConversationRef = params(p)?;
            // Checked as every read of a conversation (not a participant: 20403).
            domain.conversation(actor, service, &f.conversation).await?;
            let uc = domain
                .user_conversation(actor, service, identity, &f.conversation)
                .await?;
            Ok(user_conversation_json(&uc))
        }
        "conversation.setNotificationLevel" => {
            #[derive(Deserialize)]
            struct Level {
                conversation: String,
                level: String,
            }
            let f: Level = params(p)?;
            // Checked as every use of a conversation first (not a participant: 20403).
            domain.conversation(actor, service, &f.conversation).await?;
            let input = confab_domain::UpdateUserConversation {
                notification_level: Some(f.level),
                ..Default::default()
            };
            let uc = domain
                .update_user_conversation(actor, service, identity, &f.conversation, input)
                .await?;
            Ok(user_conversation_json(&uc))
        }
        "participant.add" => {
            let f: ParticipantFields = params(p)?;
            let input = CreateParticipant {
                identity: Some(required(f.identity, "identity")?),
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let part = domain
                .add_participant(actor, service, &f.conversation, input)
                .await?;
            Ok(to_json(&part.value))
        }
        "participant.get" => {
            let f: ParticipantRef = params(p)?;
            let part = domain
                .participant(actor, service, &f.conversation, &f.participant)
                .await?;
            Ok(to_json(&part))
        }
        "participant.update" => {
            let f: ParticipantFields = params(p)?;
            let participant = required(f.participant, "participant")?;
            let input = UpdateParticipant {
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let part = domain
                .update_participant(actor, service, &f.conversation, &participant, input)
                .await?;
            Ok(to_json(&part.value))
        }
        "participant.remove" => {
            let f: ParticipantRef = params(p)?;
            let part = domain
                .remove_participant(actor, service, &f.conversation, &f.participant)
                .await?;
            Ok(to_json(&part.value))
        }
        "participant.list" => {
            let f: PageFields = params(p)?;
            let conversation = required(f.conversation.clone(), "conversation")?;
            let page = domain
                .list_participants(actor, service, &conversation, page_params(&f)?)
                .await?;
            Ok(page_json(&page, to_json))
        }
        "message.send" => {
            let f: MessageFields = params(p)?;
            let input = CreateMessage {
                body: f.body,
                attributes: attributes(f.attributes),
                op_id,
                ..Default::default()
            };
            let m = domain
                .add_message_admitted(actor, service, &f.conversation, input, admit_message)
                .await?;
            Ok(to_json(&m.value))
        }
        "message.get" => {
            let f: MessageRef = params(p)?;
            let m = domain
                .message(actor, service, &f.conversation, &f.message)
                .await?;
            Ok(to_json(&m))
        }
        "message.update" => {
            let f: MessageFields = params(p)?;
            let message = required(f.message, "message")?;
            let input = UpdateMessage {
                body: f.body,
                attributes: attributes(f.attributes),
                ..Default::default()
            };
            let m = domain
                .update_message(actor, service, &f.conversation, &message, input)
                .await?;
            Ok(to_json(&m.value))
        }
        "message.remove" => {
            let f: MessageRef = params(p)?;
            let m = domain
                .remove_message(actor, service, &f.conversation, &f.message)
                .await?;
            Ok(to_json(&m.value))
        }
        "message.list" => {
            let f: PageFields = params(p)?;
            let conversation = required(f.conversation.clone(), "conversation")?;
            let page = domain
                .list_messages(actor, service, &conversation, message_page(&f)?)
                .await?;
            Ok(page_json(&page, to_json))
        }
        "user.get" => {
            let f: UserRef = params(p)?;
            let who = f.identity.as_deref().unwrap_or(identity);
            let u = domain.visible_user(actor, service, who).await?;
            Ok(to_json(&u))
        }
        other => Err(DomainError::new(
            ErrorCode::UnknownMethod,
            format!("unknown method {other:?}"),
        )),
    }
}
