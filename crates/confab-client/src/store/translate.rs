//! Turning what the core and the server's answers say into events on the client's objects:
//! each output updates the objects it touches and tells their own streams first, then the
//! app's.

use std::sync::{Arc, Weak};

use confab_client_core::Output;
use confab_protocol::ErrorCode;
use confab_protocol::entity::{NotificationLevel, Participant};
use confab_protocol::event::{EventBody, EventFrame, Typing};
use confab_protocol::method::{self as m, JoinedConversation};
use confab_protocol::sid::Sid;

use super::{Inner, Store, message_handle, participant_handle, user_handle};
use crate::client::{Link, Update};
use crate::events::ClientEvent;
use crate::message::MessageEvent;
use crate::participant::{
    ParticipantData, ParticipantEvent, ParticipantHandle, ParticipantShared,
    ParticipantUpdateReason,
};
use crate::snapshot::{ConversationShared, ConversationStatus, ConversationUpdateReason};
use crate::user::{UserEvent, UserShared, UserUpdateReason};

/// An event for the app, told first to the streams of its conversation.
fn tell(out: &mut Vec<ClientEvent>, conversation: &ConversationShared, e: ClientEvent) {
    conversation.emit(&e);
    out.push(e);
}

/// Unix time in ms.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A participant known only from an ephemeral event, until the client reads the rest.
fn partial_participant(conversation: &Sid, sid: Sid, identity: &str) -> Participant {
    Participant {
        sid,
        conversation_sid: conversation.clone(),
        identity: Some(identity.to_owned()),
        attributes: "{}".into(),
        messaging_binding: None,
        role_sid: None,
        last_read_message_index: None,
        last_read_timestamp: None,
        notification_level: NotificationLevel::Default,
        date_created: 0,
        date_updated: 0,
    }
}

/// The reasons naming every field a participant has, for one the client meets in an
/// update (what it was before is unknown).
fn present(p: &Participant) -> Vec<ParticipantUpdateReason> {
    use ParticipantUpdateReason as R;
    let mut r = vec![R::DateUpdated];
    if p.attributes != "{}" {
        r.push(R::Attributes);
    }
    if p.role_sid.is_some() {
        r.push(R::RoleSid);
    }
    if p.last_read_message_index.is_some() {
        r.push(R::LastReadMessageIndex);
    }
    if p.last_read_timestamp.is_some() {
        r.push(R::LastReadTimestamp);
    }
    r
}

impl Store {
    /// The events of what an answer told (the driver's, in turn with the core's outputs): a
    /// conversation read as the user's is listed (`ConversationAdded` the first time,
    /// `ConversationUpdated` after), a read horizon set moves the conversation's.
    pub fn apply(&self, link: &Link, update: Update) -> Vec<ClientEvent> {
        let mut out = vec![];
        let mut s = self.lock();
        match update {
            Update::Summaries(all) => {
                for j in &all {
                    s.listed(link, j, &mut out);
                }
            }
            Update::Read {
                conversation,
                index,
            } => {
                // By unique name, or one the client holds no object for: nothing to update.
                if let Some(c) = s.conversations.get(&conversation).and_then(Weak::upgrade) {
                    let r = c.update(|d| d.set_read(index));
                    s.updated(link, &c, r.into_iter().collect(), &mut out);
                }
            }
        }
        out
    }

    /// The app-facing events of a core output, with every object they touch updated and
    /// the objects' own streams told. Responses are the driver's.
    pub fn translate(&self, link: &Link, o: Output) -> Vec<ClientEvent> {
        let mut out = vec![];
        match o {
            Output::StateChanged(s) => out.push(ClientEvent::StateChanged(s)),
            Output::ConnectionStateChanged(s) => out.push(ClientEvent::ConnectionStateChanged(s)),
            Output::ConnectionError {
                terminal,
                code,
                message,
            } => out.push(ClientEvent::ConnectionError {
                terminal,
                code,
                message,
            }),
            Output::TokenAboutToExpire { remaining_ms } => {
                out.push(ClientEvent::TokenAboutToExpire {
                    remaining: std::time::Duration::from_millis(remaining_ms),
                });
            }
            Output::TokenExpired => out.push(ClientEvent::TokenExpired),
            Output::ConversationAdded(j) => self.lock().listed(link, &j, &mut out),
            Output::Event(e) => self.lock().event(link, *e, &mut out),
            Output::Response { .. } => {}
        }
        out
    }
}

impl Inner {
    /// The participant an ephemeral event names: known, or made from the event and read in
    /// full in the background.
    fn typist(
        &mut self,
        link: &Link,
        c: &Arc<ConversationShared>,
        sid: Option<&Sid>,
        identity: &str,
    ) -> Option<(Sid, Arc<ParticipantShared>)> {
        let known = c.with(|d| {
            d.participants
                .iter()
                .find(|(k, p)| {
                    sid.is_some_and(|s| s.as_str() == k.as_str())
                        || (sid.is_none()
                            && p.with(|p| p.participant.identity.as_deref() == Some(identity)))
                })
                .map(|(_, p)| p.clone())
        });
        if let Some(h) = known {
            let psid = h.with(|p| p.participant.sid.clone());
            return Some((psid, h));
        }
        // A typer with no participant (an operator, say) is no one the app could be shown.
        let sid = sid?.clone();
        let conversation = c.with(|d| d.snapshot.sid.clone());
        let h = self.made(
            &sid,
            ParticipantData {
                participant: partial_participant(&conversation, sid.clone(), identity),
                typing: false,
                partial: true,
            },
        );
        c.update(|d| d.participants.insert(sid.as_str().to_owned(), h.clone()));
        let (link, fill, participant) = (link.clone(), h.clone(), sid.as_str().to_owned());
        tokio::spawn(async move {
            let asked = m::ParticipantRef {
                conversation: conversation.as_str().to_owned(),
                participant,
            };
            match link.call::<m::ParticipantGet>(asked).await {
                Ok(full) => fill.update(|d| {
                    if d.partial {
                        d.participant = full;
                        d.partial = false;
                    }
                }),
                // A late event of a participant that has left: it is no one now.
                Err(e) if e.code == ErrorCode::NotFound.code() => {
                    link.store.forget_participant(&conversation, &fill);
                }
                Err(_) => {}
            }
        });
        Some((sid, h))
    }

    /// An item of the user's listing.
    fn listed(&mut self, link: &Link, j: &JoinedConversation, out: &mut Vec<ClientEvent>) {
        let c = self.conversation(&j.conversation.sid);
        let (fresh, reasons) = c.update(|d| {
            let fresh = !d.announced || d.snapshot.status != ConversationStatus::Joined;
            let r = d.apply_summary(j);
            d.announced = true;
            (fresh, r)
        });
        self.participant(&c, &j.participant);
        self.joined
            .insert(j.conversation.sid.as_str().to_owned(), c.clone());
        let h = self.handle(link, &c);
        if fresh {
            tell(out, &c, ClientEvent::ConversationAdded(h));
        } else if !reasons.is_empty() {
            let e = ClientEvent::ConversationUpdated {
                conversation: h,
                reasons,
            };
            tell(out, &c, e);
        }
    }

    fn updated(
        &self,
        link: &Link,
        c: &Arc<ConversationShared>,
        reasons: Vec<ConversationUpdateReason>,
        out: &mut Vec<ClientEvent>,
    ) {
        if reasons.is_empty() {
            return;
        }
        let e = ClientEvent::ConversationUpdated {
            conversation: self.handle(link, c),
            reasons,
        };
        tell(out, c, e);
    }

    /// A participant changed: its own event, and the conversation's when it is the user's
    /// (its read horizon and notification level are the conversation's too).
    fn participant_updated(
        &self,
        link: &Link,
        c: &Arc<ConversationShared>,
        (sid, p): (Sid, Arc<ParticipantShared>),
        reasons: Vec<ParticipantUpdateReason>,
        out: &mut Vec<ClientEvent>,
    ) {
        let (identity, index, level) = p.with(|d| {
            let level = (!d.partial).then_some(d.participant.notification_level);
            (
                d.participant.identity.clone(),
                d.participant.last_read_message_index,
                level,
            )
        });
        if identity.is_some() && identity == self.identity {
            let mine = c.update(|d| {
                let mut r: Vec<_> = d.set_read(index).into_iter().collect();
                r.extend(level.and_then(|l| d.set_level(l)));
                r
            });
            self.updated(link, c, mine, out);
        }
        if reasons.is_empty() {
            return;
        }
        p.emit(&ParticipantEvent::Updated(reasons.clone()));
        let participant = participant_handle(link, sid, c.with(|d| d.snapshot.sid.clone()), p);
        let e = ClientEvent::ParticipantUpdated {
            participant,
            reasons,
        };
        tell(out, c, e);
    }

    fn typing(&mut self, link: &Link, t: &Typing, started: bool, out: &mut Vec<ClientEvent>) {
        let c = self.conversation(&t.conversation_sid);
        let Some((sid, p)) = self.typist(link, &c, t.participant_sid.as_ref(), &t.identity) else {
            return;
        };
        p.update(|d| d.typing = started);
        let (own, e): (_, fn(ParticipantHandle) -> ClientEvent) = if started {
            (ParticipantEvent::TypingStarted, ClientEvent::TypingStarted)
        } else {
            (ParticipantEvent::TypingEnded, ClientEvent::TypingEnded)
        };
        p.emit(&own);
        let h = participant_handle(link, sid, t.conversation_sid.clone(), p);
        tell(out, &c, e(h));
    }

    fn event(&mut self, link: &Link, e: EventFrame, out: &mut Vec<ClientEvent>) {
        match e.body {
            EventBody::ConversationAdded(conv) | EventBody::ConversationUpdated(conv) => {
                let c = self.conversation(&conv.sid);
                let reasons = c.update(|d| d.apply(&conv));
                self.updated(link, &c, reasons, out);
            }
            EventBody::ConversationJoined(mem) => {
                let c = self.conversation(&mem.conversation_sid);
                let (fresh, reasons) = c.update(|d| {
                    let fresh = !d.announced || d.snapshot.status != ConversationStatus::Joined;
                    if fresh {
                        // A new participant: nothing read yet, notified by default, active now.
                        d.set_read(None);
                        d.set_level(NotificationLevel::Default);
                        d.last_activity = d.last_activity.max(unix_ms());
                    }
                    let mut r = mem
                        .conversation
                        .as_ref()
                        .map(|v| d.apply(v))
                        .unwrap_or_default();
                    r.extend(d.set_status(ConversationStatus::Joined));
                    d.announced = true;
                    (fresh, r)
                });
                self.joined
                    .insert(mem.conversation_sid.as_str().to_owned(), c.clone());
                if fresh {
                    let h = self.handle(link, &c);
                    tell(out, &c, ClientEvent::ConversationAdded(h.clone()));
                    tell(out, &c, ClientEvent::ConversationJoined(h));
                    // Its counts and last message are read at once, and come as an update.
                    let (link, sid) = (link.clone(), mem.conversation_sid.clone());
                    tokio::spawn(async move {
                        let _ = link.summary(sid.as_str()).await;
                    });
                } else {
                    self.updated(link, &c, reasons, out);
                }
            }
            EventBody::ConversationLeft(mem) | EventBody::ConversationRemoved(mem) => {
                let Some(c) = self.joined.remove(mem.conversation_sid.as_str()) else {
                    return;
                };
                let was = c.update(|d| {
                    d.announced = false;
                    let was = d.snapshot.status;
                    d.set_status(ConversationStatus::NotParticipating);
                    was
                });
                self.updated(link, &c, vec![ConversationUpdateReason::Status], out);
                // Nothing more comes of its participants either: their streams end, and a
                // return meets new objects.
                for p in c
                    .update(|d| std::mem::take(&mut d.participants))
                    .into_values()
                {
                    p.end();
                }
                let h = self.handle(link, &c);
                if was == ConversationStatus::Joined {
                    tell(out, &c, ClientEvent::ConversationLeft(h.clone()));
                }
                tell(out, &c, ClientEvent::ConversationRemoved(h));
                // Nothing more comes of a conversation the user is not in: its streams end.
                c.close();
            }
            EventBody::ConversationReset(r) => {
                let c = self.conversation(&Sid::from_trusted(e.stream));
                let e = ClientEvent::ConversationReset {
                    conversation: self.handle(link, &c),
                    seq: r.seq,
                };
                tell(out, &c, e);
            }
            EventBody::MessageAdded(msg) => {
                let c = self.conversation(&msg.conversation_sid);
                let (h, _) = self.message(&msg);
                let added = ClientEvent::MessageAdded(message_handle(link, &msg, h));
                tell(out, &c, added);
                let last = c.update(|d| d.set_last(msg.index, Some(msg.date_created)));
                self.updated(link, &c, last.into_iter().collect(), out);
            }
            EventBody::MessageUpdated(msg) => {
                let c = self.conversation(&msg.conversation_sid);
                let (h, reasons) = self.message(&msg);
                if !reasons.is_empty() {
                    h.emit(&MessageEvent::Updated(reasons.clone()));
                }
                let message = message_handle(link, &msg, h);
                tell(out, &c, ClientEvent::MessageUpdated { message, reasons });
            }
            EventBody::MessageRemoved(msg) => {
                let c = self.conversation(&msg.conversation_sid);
                let (h, _) = self.message(&msg);
                h.emit(&MessageEvent::Removed);
                // Nothing more comes of a removed message.
                h.end();
                tell(
                    out,
                    &c,
                    ClientEvent::MessageRemoved(message_handle(link, &msg, h)),
                );
            }
            EventBody::ParticipantJoined(p) => {
                let c = self.conversation(&p.conversation_sid);
                let (h, _) = self.participant(&c, &p);
                let h = participant_handle(link, p.sid.clone(), p.conversation_sid.clone(), h);
                tell(out, &c, ClientEvent::ParticipantJoined(h));
            }
            EventBody::ParticipantUpdated(p) => {
                let c = self.conversation(&p.conversation_sid);
                let (h, reasons) = self.participant(&c, &p);
                let reasons = reasons.unwrap_or_else(|| present(&p));
                self.participant_updated(link, &c, (p.sid.clone(), h), reasons, out);
            }
            EventBody::ParticipantLeft(p) => {
                let c = self.conversation(&p.conversation_sid);
                let (h, _) = self.participant(&c, &p);
                c.update(|d| d.participants.remove(p.sid.as_str()));
                h.emit(&ParticipantEvent::Left);
                // A participant that comes back is a new one, with a new SID.
                h.end();
                let h = participant_handle(link, p.sid.clone(), p.conversation_sid.clone(), h);
                tell(out, &c, ClientEvent::ParticipantLeft(h));
            }
            EventBody::ReadHorizon(hz) => {
                let c = self.conversation(&hz.conversation_sid);
                let Some(p) = self.typist(link, &c, Some(&hz.participant_sid), &hz.identity) else {
                    return;
                };
                let reasons = p.1.update(|d| {
                    if d.participant.last_read_message_index == hz.last_read_message_index {
                        return vec![];
                    }
                    d.participant.last_read_message_index = hz.last_read_message_index;
                    vec![ParticipantUpdateReason::LastReadMessageIndex]
                });
                self.participant_updated(link, &c, p, reasons, out);
            }
            EventBody::TypingStarted(t) => self.typing(link, &t, true, out),
            EventBody::TypingEnded(t) => self.typing(link, &t, false, out),
            EventBody::UserUpdated(u) => {
                let (h, reasons) = match self.users.get(&u.identity) {
                    Some(_) => self.user(&u),
                    // One the client does not follow is not taken in (strangers' presence
                    // would push out the users the app looked up); what changed is unknown.
                    None => (UserShared::new(u.clone()), UserUpdateReason::all()),
                };
                if reasons.is_empty() {
                    return;
                }
                h.emit(&UserEvent::Updated(reasons.clone()));
                out.push(ClientEvent::UserUpdated {
                    user: user_handle(link, &u.identity, h),
                    reasons,
                });
            }
        }
    }
}
