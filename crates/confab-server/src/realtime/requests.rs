//! Realtime requests as a session runs them: each `req` in a task of its own (so a slow one
//! never holds up the session's reading), with `op_id` de-duplication, and the methods that
//! need the endpoint's live state beside the domain (typing, read horizons, profiles).

use std::sync::Arc;

use confab_domain::{Actor, DomainError, ReadMode};
use confab_protocol::event::Horizon;
use confab_protocol::frame::{ServerFrame, WireError};
use confab_protocol::sid::Sid;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Realtime;
use super::dedup::{Answer, Claim, Done, MAX_OP_ID_CHARS, OpCache, valid_op_id};
use super::dispatch;
use super::session::Outbound;

/// A `res` frame.
pub(crate) fn res(id: u64, answer: Answer) -> String {
    match answer {
        Ok(result) => ServerFrame::Res {
            id,
            result: Some(result),
            error: None,
        },
        Err(error) => ServerFrame::Res {
            id,
            result: None,
            error: Some(error),
        },
    }
    .encode()
}

fn wire(e: DomainError) -> WireError {
    WireError::new(e.code, e.message)
}

/// Runs one request and queues its answer. Runs to the end even if the session goes away, so
/// that a write that started is committed, published and remembered under its `op_id`.
pub(crate) async fn request(
    rt: Arc<Realtime>,
    actor: Actor,
    tx: mpsc::Sender<Outbound>,
    id: u64,
    op_id: Option<String>,
    method: String,
    params: Value,
) {
    let _active = rt.active();
    // The identity's rate is charged by what runs: a resend of a request already answered
    // (or under way) gets that answer without being charged again.
    let run = |op_id: Option<String>, charge: bool| {
        let (rt, actor, method, params) = (rt.clone(), actor.clone(), method.clone(), &params);
        async move {
            if charge && !rt.admit(&actor) {
                return Err(too_many());
            }
            call(&rt, &actor, &method, op_id, params.clone(), charge).await
        }
    };
    let answer = match (&op_id, &actor) {
        (Some(op), _) if !valid_op_id(op) => Err(WireError::new(
            confab_protocol::ErrorCode::InvalidParameter,
            format!("op_id must be 1 to {MAX_OP_ID_CHARS} characters without control characters"),
        )),
        (Some(op), Actor::User { service, identity }) if dispatch::is_mutation(&method) => {
            match rt.ops.claim(service.as_str(), identity, op) {
                Claim::First(done) => {
                    // Forgets the op_id if this task is dropped or panics before answering,
                    // so that a retry runs instead of waiting on an answer that never comes.
                    let mut guard = Release(&rt.ops, service.as_str(), identity, op, true);
                    let answer = run(op_id.clone(), true).await;
                    done.send_replace(Some(match &answer {
                        Ok(_) if method == "message.send" => Done::InStore,
                        _ => Done::Answer(answer.clone()),
                    }));
                    // A passing failure, or a refusal for the rate, is not the operation's
                    // answer: a retry runs again.
                    guard.4 = answer.as_ref().is_err_and(|e| {
                        e.status >= 500
                            || e.code == confab_protocol::ErrorCode::TooManyRequests.code()
                    });
                    drop(guard);
                    answer
                }
                Claim::Retry(mut first) => {
                    let done = first.wait_for(Option::is_some).await.map(|d| d.clone());
                    match done {
                        Ok(Some(Done::Answer(a))) => a,
                        // Runs again, uncharged: the store answers with the first message.
                        Ok(Some(Done::InStore)) => run(op_id.clone(), false).await,
                        _ => Err(internal()),
                    }
                }
            }
        }
        _ => run(op_id.clone(), true).await,
    };
    if method == "message.send"
        && let (Ok(m), Actor::User { identity, .. }) = (&answer, &actor)
        && let Some(conv) = m["conversation_sid"].as_str()
    {
        // A message ends its author's typing indicator.
        rt.typing
            .stopped(&rt.hub, &Sid::from_trusted(conv.to_owned()), identity);
    }
    // The session may be gone; its client will retry with the same op_id.
    let _ = tx.send(Outbound::Text(res(id, answer))).await;
}

/// Releases an `op_id` when dropped, if its flag says so.
struct Release<'a>(&'a OpCache, &'a str, &'a str, &'a str, bool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        if self.4 {
            self.0.release(self.1, self.2, self.3);
        }
    }
}

/// Runs a method: those that need the endpoint's live state here, the rest in `dispatch`.
/// Unless `charge`, a message does not spend its conversation's rate (a retry of one sent).
async fn call(
    rt: &Realtime,
    actor: &Actor,
    method: &str,
    op_id: Option<String>,
    params: Value,
    charge: bool,
) -> Answer {
    let Actor::User {
        service: service_sid,
        ..
    } = actor
    else {
        return Err(internal());
    };
    let service = Some(service_sid.as_str());
    let conversation = || {
        params
            .get("conversation")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                WireError::new(
                    confab_protocol::ErrorCode::InvalidParameter,
                    "params.conversation is required",
                )
            })
    };
    if method == "conversation.typing" {
        let t = rt
            .domain
            .typing(actor, service, &conversation()?)
            .await
            .map_err(wire)?;
        rt.typing.started(&rt.hub, t);
        return Ok(json!({}));
    }
    if method == "user.update" {
        return update_user(rt, actor, &params).await;
    }
    if let Some(mode) = read_mode(method, &params) {
        let (conversation, mode) = (conversation()?, mode?);
        let Actor::User { identity, .. } = actor else {
            return Err(internal());
        };
        let state = rt
            .horizons
            .in_turn(service_sid, identity, async {
                let state = rt
                    .domain
                    .set_read_horizon(actor, service, &conversation, mode)
                    .await?;
                let p = &state.participant;
                if let Some(identity) = &p.identity {
                    rt.horizons.moved(
                        &rt.hub,
                        Horizon {
                            conversation_sid: p.conversation_sid.clone(),
                            participant_sid: p.sid.clone(),
                            identity: identity.clone(),
                            last_read_message_index: p.last_read_message_index,
                        },
                    );
                }
                Ok::<_, confab_domain::DomainError>(state)
            })
            .await
            .map_err(wire)?;
        let p = &state.participant;
        return Ok(json!({
            "last_read_message_index": p.last_read_message_index,
            "unread_messages_count": state.unread_messages_count,
        }));
    }
    // A conversation's message rate is charged inside the domain, once the sender is known
    // to be a participant: an outsider cannot spend it, nor a second name double it.
    // A retry of a message already sent is not charged again.
    let admit = |sid: &confab_protocol::sid::Sid| !charge || rt.admit_message(sid);
    let mut answer = dispatch::call(&rt.domain, actor, method, op_id, params, admit)
        .await
        .map_err(wire)?;
    if method == "user.get" {
        // Reachability is the realtime layer's to know.
        let online = answer["identity"]
            .as_str()
            .is_some_and(|who| rt.presence.is_online(service_sid, who));
        answer["is_online"] = json!(online);
    }
    Ok(answer)
}

/// `user.update`: the caller's own friendly name and attributes (the domain reports the change,
/// and `announce_profiles` tells the users who share a conversation with it).
async fn update_user(rt: &Realtime, actor: &Actor, params: &Value) -> Answer {
    let Actor::User { service, identity } = actor else {
        return Err(internal());
    };
    let text = |k: &str| match params.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let input = confab_domain::UpdateUser {
        friendly_name: text("friendlyName"),
        attributes: text("attributes"),
        ..Default::default()
    };
    if input.friendly_name.is_none() && input.attributes.is_none() {
        return Err(WireError::new(
            confab_protocol::ErrorCode::InvalidParameter,
            "give friendlyName or attributes",
        ));
    }
    let user = rt
        .domain
        .update_user(actor, Some(service.as_str()), identity, input)
        .await
        .map_err(wire)?;
    Ok(serde_json::to_value(&user).unwrap_or(Value::Null))
}

/// The read-horizon methods and their mode; `None` for other methods.
fn read_mode(method: &str, params: &Value) -> Option<Result<ReadMode, WireError>> {
    let index = || {
        params.get("index").and_then(Value::as_i64).ok_or_else(|| {
            WireError::new(
                confab_protocol::ErrorCode::InvalidParameter,
                "params.index is required (a message index)",
            )
        })
    };
    Some(match method {
        "conversation.setLastRead" => index().map(ReadMode::Set),
        "conversation.advanceLastRead" => index().map(ReadMode::Advance),
        "conversation.setAllRead" => Ok(ReadMode::AllRead),
        "conversation.setAllUnread" => Ok(ReadMode::AllUnread),
        _ => return None,
    })
}

fn too_many() -> WireError {
    WireError::new(
        confab_protocol::ErrorCode::TooManyRequests,
        "too many requests: slow down",
    )
}

fn internal() -> WireError {
    WireError::new(confab_protocol::ErrorCode::Internal, "internal error")
}
