//! Rendering resources as the reference product does: snake_case JSON, ISO 8601 times,
//! `attributes` as JSON text, absolute `url` and `links` built from the request's own host, and
//! `meta` pagination whose URLs work when followed verbatim.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use confab_domain::PageParams;
use confab_protocol::entity::{Conversation, Message, Millis, Participant, Role, Service, User};
use confab_store::{
    Configuration, Cursor, Order, Page, ParticipantConversation, ServiceConfiguration,
    UserConversation,
};
use serde_json::{Value, json};

use super::error::ApiError;
use super::params::Params;

/// Formats unix millis as `2015-12-16T22:18:37Z`.
pub fn iso(ms: Millis) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

/// `scheme://host` of the request, for absolute URLs.
#[derive(Debug, Clone)]
pub struct Origin(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        let scheme = match parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
        {
            Some("https") => "https",
            _ => "http",
        };
        Ok(Origin(format!("{scheme}://{host}")))
    }
}

/// Where a resource's URLs point: origin plus the path family (`/v1` or
/// `/v1/Services/{ChatServiceSid}`).
pub struct Urls {
    base: String,
    account_sid: String,
    /// On the service-scoped family, the service: its resources also carry `chat_service_sid`.
    scoped: Option<String>,
}

impl Urls {
    /// URLs for a request on `origin`, on the service-scoped family when `service` is given.
    pub fn new(origin: &Origin, service: Option<&str>, account_sid: &str) -> Urls {
        let base = match service {
            Some(s) => format!("{}/v1/Services/{s}", origin.0),
            None => format!("{}/v1", origin.0),
        };
        Urls {
            base,
            account_sid: account_sid.to_owned(),
            scoped: service.map(str::to_owned),
        }
    }

    /// A conversation.
    pub fn conversation(&self, c: &Conversation) -> Value {
        let url = format!("{}/Conversations/{}", self.base, c.sid);
        json!({
            "sid": c.sid,
            "account_sid": self.account_sid,
            "chat_service_sid": c.chat_service_sid,
            "messaging_service_sid": c.messaging_service_sid,
            "friendly_name": c.friendly_name,
            "unique_name": c.unique_name,
            "attributes": c.attributes,
            "date_created": iso(c.date_created),
            "date_updated": iso(c.date_updated),
            "state": c.state.as_str(),
            "timers": timers(c),
            "bindings": c.bindings,
            "url": url,
            "links": {
                "participants": format!("{url}/Participants"),
                "messages": format!("{url}/Messages"),
                "webhooks": format!("{url}/Webhooks"),
                "export": format!("{url}/Export"),
            },
        })
    }

    /// A participant.
    pub fn participant(&self, p: &Participant) -> Value {
        let v = json!({
            "account_sid": self.account_sid,
            "conversation_sid": p.conversation_sid,
            "sid": p.sid,
            "identity": p.identity,
            "attributes": p.attributes,
            "messaging_binding": p.messaging_binding,
            "role_sid": p.role_sid,
            "date_created": iso(p.date_created),
            "date_updated": iso(p.date_updated),
            "url": format!("{}/Conversations/{}/Participants/{}", self.base, p.conversation_sid, p.sid),
            "last_read_message_index": p.last_read_message_index,
            "last_read_timestamp": p.last_read_timestamp,
        });
        self.with_service(v)
    }

    /// A message.
    pub fn message(&self, m: &Message) -> Value {
        let url = format!(
            "{}/Conversations/{}/Messages/{}",
            self.base, m.conversation_sid, m.sid
        );
        let v = json!({
            "sid": m.sid,
            "account_sid": self.account_sid,
            "conversation_sid": m.conversation_sid,
            "body": m.body,
            "media": m.media.as_ref().map(|list| {
                list.iter()
                    .map(|f| json!({
                        "sid": f.sid,
                        "category": f.category,
                        "content_type": f.content_type,
                        "filename": f.filename,
                        "size": f.size,
                    }))
                    .collect::<Vec<_>>()
            }),
            "author": m.author,
            "participant_sid": m.participant_sid,
            "attributes": m.attributes,
            "date_created": iso(m.date_created),
            "date_updated": iso(m.date_updated),
            "index": m.index,
            "delivery": null,
            "content_sid": null,
            "url": url,
            "links": {
                "delivery_receipts": format!("{url}/Receipts"),
                "channel_metadata": format!("{url}/ChannelMetadata"),
            },
        });
        self.with_service(v)
    }

    fn with_service(&self, mut v: Value) -> Value {
        if let Some(service) = &self.scoped {
            v["chat_service_sid"] = json!(service);
        }
        v
    }

    /// A conversation created with its participants (no `export` link, as the reference).
    pub fn conversation_with_participants(&self, c: &Conversation) -> Value {
        let mut v = self.conversation(c);
        if let Some(links) = v["links"].as_object_mut() {
            links.remove("export");
        }
        v
    }

    /// A service.
    pub fn service(&self, origin: &Origin, s: &Service) -> Value {
        let url = format!("{}/v1/Services/{}", origin.0, s.sid);
        let link = |part: &str| format!("{url}/{part}");
        json!({
            "sid": s.sid,
            "account_sid": self.account_sid,
            "friendly_name": s.friendly_name,
            "date_created": iso(s.date_created),
            "date_updated": iso(s.date_updated),
            "url": url,
            "links": {
                "conversations": link("Conversations"),
                "users": link("Users"),
                "roles": link("Roles"),
                "bindings": link("Bindings"),
                "configuration": link("Configuration"),
                "participant_conversations": link("ParticipantConversations"),
                "conversation_with_participants": link("ConversationWithParticipants"),
            },
        })
    }

    /// A service's configuration.
    pub fn service_configuration(&self, c: &ServiceConfiguration) -> Value {
        let url = format!("{}/Configuration", self.base);
        json!({
            "chat_service_sid": c.chat_service_sid,
            "default_conversation_creator_role_sid": c.default_conversation_creator_role_sid,
            "default_conversation_role_sid": c.default_conversation_role_sid,
            "default_chat_service_role_sid": c.default_chat_service_role_sid,
            "reachability_enabled": c.reachability_enabled,
            "url": url,
            "links": {
                "notifications": format!("{url}/Notifications"),
                "webhooks": format!("{url}/Webhooks"),
            },
        })
    }

    /// A role.
    pub fn role(&self, r: &Role) -> Value {
        json!({
            "sid": r.sid,
            "account_sid": self.account_sid,
            "chat_service_sid": r.chat_service_sid,
            "friendly_name": r.friendly_name,
            "type": r.role_type.as_str(),
            "permissions": r.permissions,
            "date_created": iso(r.date_created),
            "date_updated": iso(r.date_updated),
            "url": format!("{}/Roles/{}", self.base, r.sid),
        })
    }

    /// A user. Reachability is not reported yet (`is_online` null, as with it disabled).
    pub fn user(&self, u: &User) -> Value {
        let url = format!("{}/Users/{}", self.base, u.sid);
        json!({
            "sid": u.sid,
            "account_sid": self.account_sid,
            "chat_service_sid": u.chat_service_sid,
            "role_sid": u.role_sid,
            "identity": u.identity,
            "friendly_name": u.friendly_name,
            "attributes": u.attributes,
            "is_online": null,
            "is_notifiable": null,
            "date_created": iso(u.date_created),
            "date_updated": iso(u.date_updated),
            "url": url,
            "links": { "user_conversations": format!("{url}/Conversations") },
        })
    }

    /// A user's view of one conversation.
    pub fn user_conversation(&self, uc: &UserConversation) -> Value {
        let (c, p) = (&uc.conversation, &uc.participant);
        let conv_url = format!("{}/Conversations/{}", self.base, c.sid);
        json!({
            "account_sid": self.account_sid,
            "chat_service_sid": c.chat_service_sid,
            "conversation_sid": c.sid,
            "unread_messages_count": uc.unread_messages_count(),
            "last_read_message_index": p.last_read_message_index,
            "participant_sid": p.sid,
            "user_sid": uc.user_sid,
            "friendly_name": c.friendly_name,
            "conversation_state": c.state.as_str(),
            "timers": timers(c),
            "attributes": c.attributes,
            "date_created": iso(c.date_created),
            "date_updated": iso(c.date_updated),
            "created_by": c.created_by,
            "notification_level": p.notification_level.as_str(),
            "unique_name": c.unique_name,
            "url": format!("{}/Users/{}/Conversations/{}", self.base, uc.user_sid, c.sid),
            "links": {
                "participant": format!("{conv_url}/Participants/{}", p.sid),
                "conversation": conv_url,
            },
        })
    }

    /// A conversation found through a participant.
    pub fn participant_conversation(&self, pc: &ParticipantConversation) -> Value {
        let (c, p) = (&pc.conversation, &pc.participant);
        let conv_url = format!("{}/Conversations/{}", self.base, c.sid);
        json!({
            "account_sid": self.account_sid,
            "chat_service_sid": c.chat_service_sid,
            "participant_sid": p.sid,
            "participant_user_sid": pc.user_sid,
            "participant_identity": p.identity,
            "participant_messaging_binding": p.messaging_binding,
            "conversation_sid": c.sid,
            "conversation_unique_name": c.unique_name,
            "conversation_friendly_name": c.friendly_name,
            "conversation_attributes": c.attributes,
            "conversation_date_created": iso(c.date_created),
            "conversation_date_updated": iso(c.date_updated),
            "conversation_created_by": c.created_by,
            "conversation_state": c.state.as_str(),
            "conversation_timers": timers(c),
            "links": {
                "participant": format!("{conv_url}/Participants/{}", p.sid),
                "conversation": conv_url,
            },
        })
    }

    /// The account configuration.
    pub fn configuration(&self, origin: &Origin, c: &Configuration) -> Value {
        json!({
            "account_sid": self.account_sid,
            "default_chat_service_sid": c.default_chat_service_sid,
            "default_messaging_service_sid": c.default_messaging_service_sid,
            "default_inactive_timer": c.default_inactive_timer,
            "default_closed_timer": c.default_closed_timer,
            "url": format!("{}/v1/Configuration", origin.0),
            "links": {
                "service": format!("{}/v1/Services/{}/Configuration", origin.0, c.default_chat_service_sid),
                "webhooks": format!("{}/v1/Configuration/Webhooks", origin.0),
            },
        })
    }
}

fn timers(c: &Conversation) -> Value {
    let mut t = serde_json::Map::new();
    if let Some(d) = c.timers.date_inactive {
        t.insert("date_inactive".into(), iso(d).into());
    }
    if let Some(d) = c.timers.date_closed {
        t.insert("date_closed".into(), iso(d).into());
    }
    Value::Object(t)
}

/// The paging parameters of a list request.
pub struct ListQuery {
    /// For the domain.
    pub page: PageParams,
    /// `Page`, echoed back in `meta`.
    pub number: u32,
    /// Filters to carry into every page URL (`Order`, `State`, ...).
    pub carry: Vec<(String, String)>,
}

impl ListQuery {
    /// Reads `PageSize`, `Page`, `PageToken` and the named filter parameters; `Order` only
    /// where it is one of them.
    pub fn read(q: &Params, filters: &[&str]) -> Result<ListQuery, ApiError> {
        let cursor = q
            .str("PageToken")
            .filter(|t| !t.is_empty())
            .map(parse_token)
            .transpose()?;
        if q.str("Order").is_some() && !filters.contains(&"Order") {
            return Err(ApiError::invalid("Order is not a parameter of this list"));
        }
        let order = match q.str("Order") {
            None | Some("asc") => Order::Asc,
            Some("desc") => Order::Desc,
            Some(_) => return Err(ApiError::invalid("Order must be asc or desc")),
        };
        let carry = filters
            .iter()
            .filter_map(|f| q.str(f).map(|v| ((*f).to_owned(), v.to_owned())))
            .collect();
        Ok(ListQuery {
            page: PageParams {
                size: page_size(q)?,
                order,
                cursor,
            },
            number: q.u32("Page")?.unwrap_or(0),
            carry,
        })
    }
}

/// `PageSize`: digits, however many. One past 32 bits reads as the largest, which the domain
/// then takes as the list's largest page, as it does any size above that.
fn page_size(q: &Params) -> Result<Option<u32>, ApiError> {
    q.str("PageSize")
        .map(|v| {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::invalid("PageSize must be a positive integer"));
            }
            Ok(v.parse().unwrap_or(u32::MAX))
        })
        .transpose()
}

fn parse_token(t: &str) -> Result<Cursor, ApiError> {
    Cursor::from_token(t)
        .ok_or_else(|| ApiError::invalid("PageToken is not one this server issued"))
}

/// A list answer: the items under `key` and the `meta` block.
/// `size` is the page size in force (the caller's or the default).
pub fn list<T>(
    origin: &Origin,
    path: &str,
    key: &str,
    q: &ListQuery,
    size: u32,
    page: &Page<T>,
    item: impl Fn(&T) -> Value,
) -> Value {
    let url_for = |number: u32, token: Option<String>| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        ser.append_pair("PageSize", &size.to_string());
        ser.append_pair("Page", &number.to_string());
        for (k, v) in &q.carry {
            ser.append_pair(k, v);
        }
        if let Some(t) = token {
            ser.append_pair("PageToken", &t);
        }
        format!("{}{path}?{}", origin.0, ser.finish())
    };
    let current_token = q.page.cursor.map(Cursor::to_token);
    let next = page
        .has_next
        .then(|| {
            page.last_key.map(|k| {
                url_for(
                    q.number.saturating_add(1),
                    Some(Cursor::After(k).to_token()),
                )
            })
        })
        .flatten();
    let previous = page
        .has_previous
        .then(|| {
            page.first_key.map(|k| {
                url_for(
                    q.number.saturating_sub(1),
                    Some(Cursor::Before(k).to_token()),
                )
            })
        })
        .flatten();
    json!({
        key: page.items.iter().map(item).collect::<Vec<_>>(),
        "meta": {
            "page": q.number,
            "page_size": size,
            "first_page_url": url_for(0, None),
            "previous_page_url": previous,
            "url": url_for(q.number, current_token),
            "next_page_url": next,
            "key": key,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_render_as_the_reference_does() {
        assert_eq!(iso(1_450_304_317_000), "2015-12-16T22:18:37Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn page_tokens_round_trip_and_junk_is_refused() {
        assert_eq!(parse_token("PA12").unwrap(), Cursor::After(12));
        assert_eq!(parse_token("PB-3").unwrap(), Cursor::Before(-3));
        for junk in ["", "P", "XX1", "PAx", "é1"] {
            assert!(parse_token(junk).is_err(), "{junk}");
        }
    }
}
