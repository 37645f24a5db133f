//! Realtime requests as a session runs them: each in a task of its own (so a slow one never
//! holds up the session), charged to the identity's rate, with `op_id` de-duplication
//! (`dedup`), and routed to its method in `dispatch`. The answer goes to the session's queue.

use std::sync::Arc;

use confab_domain::{Actor, DomainError};
use confab_protocol::ErrorCode;
use confab_protocol::frame::WireError;
use confab_protocol::method::Request;
use confab_server_core::{error_answer, result_answer};
use tokio::sync::mpsc;

use super::context::Realtime;
use super::dedup::{Answer, Claim, Done, MAX_OP_ID_CHARS, OpCache, valid_op_id};
use super::dispatch;
use super::outbound::Item;

fn wire(e: DomainError) -> WireError {
    WireError::new(e.code, e.message)
}

/// Runs one request and queues its answer. Runs to the end even if the session goes away, so
/// that a write that started is committed, published and remembered under its `op_id`.
pub(crate) async fn request(
    rt: Arc<Realtime>,
    actor: Actor,
    tx: mpsc::Sender<Item>,
    id: u64,
    op_id: Option<String>,
    request: Request,
) {
    let _active = rt.active();
    let sends = matches!(request, Request::MessageSend(_));
    // The identity's rate is charged by what runs: a resend of a request already answered
    // (or under way) gets that answer without being charged again.
    let run = |op_id: Option<String>, charge: bool| {
        let (rt, actor, request) = (rt.clone(), actor.clone(), request.clone());
        async move {
            if charge && !rt.admit(&actor) {
                return Err(too_many());
            }
            call(&rt, &actor, request, op_id, charge).await
        }
    };
    let answer = match (&op_id, &actor) {
        (Some(op), _) if !valid_op_id(op) => Err(WireError::new(
            ErrorCode::InvalidParameter,
            format!("op_id must be 1 to {MAX_OP_ID_CHARS} characters without control characters"),
        )),
        (Some(op), Actor::User { service, identity }) if request.mutates() => {
            match rt.ops.claim(service.as_str(), identity, op) {
                Claim::First(done) => {
                    // Forgets the op_id if this task is dropped or panics before answering,
                    // so that a retry runs instead of waiting on an answer that never comes.
                    let mut guard = Release(&rt.ops, service.as_str(), identity, op, true);
                    let answer = run(op_id.clone(), true).await;
                    done.send_replace(Some(match &answer {
                        Ok(_) if sends => Done::InStore,
                        _ => Done::Answer(answer.clone()),
                    }));
                    // A passing failure, or a refusal for the rate, is not the operation's
                    // answer: a retry runs again.
                    guard.4 = answer.as_ref().is_err_and(|e| {
                        e.status >= 500 || e.code == ErrorCode::TooManyRequests.code()
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
    let text = match answer {
        Ok(result) => result_answer(id, &result),
        Err(e) => error_answer(id, e),
    };
    // The session may be gone; its client will retry with the same op_id.
    let _ = tx.send(Item::Answer(text)).await;
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

/// Runs a method. Unless `charge`, a message does not spend its conversation's rate (a
/// retry of one sent).
async fn call(
    rt: &Realtime,
    actor: &Actor,
    request: Request,
    op_id: Option<String>,
    charge: bool,
) -> Answer {
    let live = dispatch::Live {
        hub: &rt.hub,
        typing: &rt.typing,
        horizons: &rt.horizons,
        presence: &rt.presence,
    };
    // A conversation's message rate is charged inside the domain, once the sender is known
    // to be a participant: an outsider cannot spend it, nor a second name double it.
    let admit = |sid: &confab_protocol::sid::Sid| !charge || rt.admit_message(sid);
    dispatch::call(&rt.domain, &live, actor, request, op_id, admit)
        .await
        .map_err(wire)
}

fn too_many() -> WireError {
    WireError::new(ErrorCode::TooManyRequests, "too many requests: slow down")
}

fn internal() -> WireError {
    WireError::new(ErrorCode::Internal, "internal error")
}
