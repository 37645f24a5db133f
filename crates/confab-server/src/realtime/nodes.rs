//! A node among others: what it does with their notes on the bus (`bus::Inbound`), its
//! heartbeat, and the check against the log for what the bus lost.
//!
//! The bus is a hint and the log the truth. A node that hears an event past a gap in a
//! stream's `seq` holds it a moment for the ones before it (the hub), then hands it on and
//! each session reads the gap from the log. A publish can still be lost outright (a node cut
//! from NATS, NATS restarting), so [`reconcile`] checks, for every stream this node's
//! sessions follow (conversations and users' membership logs) that has been quiet for a
//! while, whether the log moved past what the node heard; if so it hands the newest entry to
//! its sessions, whose gap check reads the rest. Every stream is checked within about ten
//! rounds, so no lost publish leaves an event stuck for longer.

use std::sync::Arc;
use std::time::Duration;

use confab_protocol::event::UserInfo;
use confab_protocol::sid::Sid;
use confab_store::{LogEvent, Stream};

use super::bus::{Bus, Inbound};
use super::context::Realtime;
use super::news;
use super::presence::Who;

/// The other nodes' notes, handed to this node's hub and presence.
pub(crate) struct FromNodes(pub Arc<Realtime>);

impl Inbound for FromNodes {
    fn events(&self, events: Vec<LogEvent>) {
        self.0.hub.deliver(&events);
    }

    fn ephemeral(&self, conversation: &Sid, frame: Arc<[u8]>, skip: Option<&str>) {
        self.0.hub.deliver_ephemeral(conversation, &frame, skip);
    }

    fn news(&self, service: Sid, mut info: UserInfo, conversations: Vec<Sid>) {
        let rt = &self.0;
        // Reachability as this node sees it: the sender's view may be older than a note from
        // a third node that came in meanwhile.
        info.is_online = rt.presence.is_online(&service, &info.identity);
        let version = rt.presence.next_version();
        news::publish(&rt.hub, &info, &conversations, version);
    }

    fn presence(&self, node: u64, who: Who, online: bool) {
        // The node's news about it follows (NATS keeps one publisher's order).
        self.0.presence.remote_changed(node, who, online);
    }

    fn alive(&self, node: u64, beat: u64, part: (u32, u32), online: Vec<Who>) {
        // Only after a lost note or a partition does a heartbeat change anything; every node
        // then finds out by itself.
        let changed = self.0.presence.remote_alive(node, beat, part, online);
        announce_here(&self.0, changed);
    }
}

/// How often [`reconcile`] looks, and how long a stream must have been quiet on this node
/// before it is checked against the log.
pub(crate) const RECONCILE_EVERY: Duration = Duration::from_secs(1);

/// Streams whose heads one query reads.
const RECONCILE_BATCH: usize = 200;

/// A node checks a tenth of the streams it follows each round (at least one batch), the
/// quietest first: every quiet stream is checked within about ten rounds however many a
/// node follows, and a node following many spreads the reads.
const RECONCILE_SWEEP_ROUNDS: usize = 10;

/// Checks the streams this node's sessions follow against the log, for events whose publish
/// was lost (see the module docs), until the server stops.
pub(crate) async fn reconcile(rt: Arc<Realtime>) {
    let mut shutdown = rt.shutdown.clone();
    let mut tick = tokio::time::interval(RECONCILE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        let due = rt
            .hub
            .followed_streams()
            .div_ceil(RECONCILE_SWEEP_ROUNDS)
            .max(RECONCILE_BATCH);
        let mut checked = 0;
        while checked < due {
            let quiet = rt.hub.quiet_streams(RECONCILE_EVERY, RECONCILE_BATCH);
            if quiet.is_empty() {
                break;
            }
            checked += quiet.len();
            if let Err(e) = check(&rt, quiet).await {
                tracing::debug!(error = %e, "reconcile could not read the log");
                break;
            }
        }
    }
}

/// One round of [`reconcile`]: the heads of `quiet` streams, and the newest entry of each
/// that moved past what was heard, handed to this node's sessions (a session behind it sees
/// a gap and reads the rest).
async fn check(rt: &Realtime, quiet: Vec<(Stream, i64)>) -> Result<(), confab_store::StoreError> {
    let domain = &rt.domain;
    let mut conversations = vec![];
    let mut users: std::collections::HashMap<Sid, Vec<(String, i64)>> = Default::default();
    for (stream, heard) in quiet {
        match stream {
            Stream::Conversation(sid) => conversations.push((sid, heard)),
            Stream::User { service, identity } => {
                users.entry(service).or_default().push((identity, heard));
            }
        }
    }
    let sids: Vec<String> = conversations.iter().map(|(s, _)| s.to_string()).collect();
    let heads = if sids.is_empty() {
        vec![]
    } else {
        domain.conversation_heads(&sids).await?
    };
    for ((sid, heard), (_, head)) in conversations.into_iter().zip(heads) {
        if head > heard {
            tracing::debug!(conversation = %sid, heard, head, "reconcile: a publish was lost");
            let stream = Stream::Conversation(sid);
            let entries = domain.log_after(&stream, head - 1, 1).await?;
            deliver(rt, stream, entries);
        }
    }
    for (service, identities) in users {
        let names: Vec<String> = identities.iter().map(|(i, _)| i.clone()).collect();
        let heads = domain.user_heads(&service, &names).await?;
        for ((identity, heard), (_, head)) in identities.into_iter().zip(heads) {
            if head > heard {
                tracing::debug!(%identity, heard, head, "reconcile: a publish was lost");
                let stream = Stream::User {
                    service: service.clone(),
                    identity,
                };
                let entries = domain.log_after(&stream, head - 1, 1).await?;
                deliver(rt, stream, entries);
            }
        }
    }
    Ok(())
}

fn deliver(rt: &Realtime, stream: Stream, entries: Vec<confab_store::LogEntry>) {
    let events: Vec<LogEvent> = entries
        .into_iter()
        .map(|e| LogEvent {
            stream: stream.clone(),
            seq: e.seq,
            frame: e.frame,
        })
        .collect();
    rt.hub.deliver(&events);
}

/// Says every `node_heartbeat` that this node is alive and who is online here, and takes
/// the users of nodes silent for `node_silence` offline, until the server stops.
pub(crate) async fn heartbeat(rt: Arc<Realtime>, bus: Arc<Bus>) {
    let mut shutdown = rt.shutdown.clone();
    let mut tick = tokio::time::interval(rt.config.node_heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tick.tick() => {}
        }
        rt.presence.tell_alive(&*bus);
        announce_here(&rt, rt.presence.expire_silent_nodes(rt.config.node_silence));
    }
}

/// Announces `who` to this node's sessions in a task of its own: each announcement reads the
/// store, and neither the subscriber (NATS drops what a slow reader leaves) nor the heartbeat
/// (a late heartbeat gets this node expired elsewhere) may wait for them.
fn announce_here(rt: &Arc<Realtime>, who: Vec<(Sid, String)>) {
    if who.is_empty() {
        return;
    }
    let rt = rt.clone();
    tokio::spawn(async move {
        for (service, identity) in who {
            news::announce_here(&rt, &service, &identity).await;
        }
    });
}
