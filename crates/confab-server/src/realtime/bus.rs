//! Cross-node fan-out over NATS core pub/sub (DESIGN.md section 5): what one node's hub
//! hands its own sessions (committed events, typing, read horizons, profile news) it also
//! publishes on one subject, and every other node hands it to its sessions. One subscription
//! per node, not per session.
//!
//! The bus is a hint and the log the truth. A node that hears an event past a gap in a
//! stream's `seq` reads the gap from the log (each session's pump already does). A publish
//! can still be lost outright (a node cut from NATS, NATS restarting), so [`reconcile`]
//! checks, for every stream this node's sessions follow (conversations and users' membership
//! logs) that has been quiet for a while, whether the log moved past what the node heard; if
//! so it hands the newest entry to its sessions, whose gap check reads the rest. Every stream
//! is checked within about ten rounds, so no lost publish leaves an event stuck for longer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use confab_protocol::event::UserInfo;
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{LogEvent, Stream};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Realtime;

/// Messages waiting for the publisher task; past it a publish is dropped (the reconcile
/// loop fills what it carried).
const PUBLISH_QUEUE: usize = 65_536;

/// What nodes tell each other.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub(crate) enum Note {
    /// The events of one committed write.
    Events {
        /// The node that committed them.
        node: u64,
        /// In commit order.
        events: Vec<WireEvent>,
    },
    /// An ephemeral event of a conversation (typing, a read horizon).
    Ephemeral {
        node: u64,
        conversation: String,
        /// The encoded frame.
        frame: String,
        /// An identity whose sessions skip it (its sender).
        skip: Option<String>,
    },
    /// News about a user (reachability, profile), whole: each node hands it to its sessions
    /// in those conversations without reading anything.
    News {
        node: u64,
        /// The user's service.
        service: String,
        info: UserInfo,
        conversations: Vec<String>,
    },
    /// A user came online (its first session on that node) or went offline (its last).
    Presence {
        node: u64,
        service: String,
        identity: String,
        online: bool,
    },
    /// The node is alive, with users online there (every
    /// `RealtimeConfig::node_heartbeat`). A beat with many users comes in parts, each well
    /// under NATS's message size limit; the receiver takes the beat once all are in.
    Alive {
        node: u64,
        /// The heartbeat's number.
        beat: u64,
        /// This part's number, from 0.
        part: u32,
        /// How many parts the beat has.
        parts: u32,
        /// (service, identity) pairs.
        online: Vec<(String, String)>,
    },
}

/// A committed event on the bus.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireEvent {
    /// A conversation SID, or (with `identity`) a service SID for a user stream.
    stream: String,
    /// Set for a user stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    seq: i64,
    /// The encoded frame (UTF-8 JSON).
    frame: String,
}

/// This node's side of the bus: a queue to the publisher task.
pub(crate) struct Bus {
    node: u64,
    tx: mpsc::Sender<Bytes>,
    /// Heartbeats sent.
    beats: std::sync::atomic::AtomicU64,
}

/// Users per heartbeat part: about 150 KiB of JSON at most, far under NATS's 1 MiB default.
const ALIVE_PART: usize = 2_000;

impl Bus {
    /// Connects to NATS at `url`, subscribes to `subject` (so that nothing published after
    /// the server starts is missed) and starts the publisher; [`run_subscriber`] then hands
    /// what arrives to the hub.
    pub(crate) async fn connect(
        url: &str,
        subject: String,
    ) -> Result<(Arc<Bus>, async_nats::Subscriber), String> {
        let client = async_nats::ConnectOptions::new()
            .name("confab")
            // A node keeps serving while NATS is away; the client reconnects by itself
            // and the reconcile loop fills what was missed meanwhile.
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|e| e.to_string())?;
        let sub = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| e.to_string())?;
        let node = rand::random::<u64>();
        let (tx, mut rx) = mpsc::channel::<Bytes>(PUBLISH_QUEUE);
        tokio::spawn(async move {
            while let Some(payload) = rx.recv().await {
                if let Err(e) = client.publish(subject.clone(), payload).await {
                    tracing::warn!(error = %e, "a bus publish failed; the log fills it");
                }
            }
        });
        Ok((
            Arc::new(Bus {
                node,
                tx,
                beats: Default::default(),
            }),
            sub,
        ))
    }

    fn send(&self, note: &Note) {
        match serde_json::to_vec(note) {
            Ok(bytes) => {
                // Full: dropped; the other nodes' reconcile loops fill it from the log.
                let _ = self.tx.try_send(Bytes::from(bytes));
            }
            Err(e) => tracing::error!(error = %e, "a bus note did not encode"),
        }
    }

    /// Tells the other nodes about a committed write's events.
    pub(crate) fn events(&self, events: &[LogEvent]) {
        let events = events
            .iter()
            .filter_map(|e| {
                let frame = std::str::from_utf8(&e.frame).ok()?.to_owned();
                Some(match &e.stream {
                    Stream::Conversation(sid) => WireEvent {
                        stream: sid.to_string(),
                        identity: None,
                        seq: e.seq,
                        frame,
                    },
                    Stream::User { service, identity } => WireEvent {
                        stream: service.to_string(),
                        identity: Some(identity.clone()),
                        seq: e.seq,
                        frame,
                    },
                })
            })
            .collect();
        self.send(&Note::Events {
            node: self.node,
            events,
        });
    }

    /// Tells the other nodes about an ephemeral event.
    pub(crate) fn ephemeral(&self, conversation: &Sid, frame: &[u8], skip: Option<&str>) {
        let Ok(frame) = std::str::from_utf8(frame) else {
            return;
        };
        self.send(&Note::Ephemeral {
            node: self.node,
            conversation: conversation.to_string(),
            frame: frame.to_owned(),
            skip: skip.map(str::to_owned),
        });
    }

    /// Tells the other nodes that a user came online or went offline here.
    pub(crate) fn presence(&self, service: &Sid, identity: &str, online: bool) {
        self.send(&Note::Presence {
            node: self.node,
            service: service.to_string(),
            identity: identity.to_owned(),
            online,
        });
    }

    /// Tells the other nodes that this one is alive, and who is online here.
    pub(crate) fn alive(&self, online: Vec<(Sid, String)>) {
        let beat = self
            .beats
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let parts = online.len().div_ceil(ALIVE_PART).max(1);
        let parts_u32 = u32::try_from(parts).unwrap_or(u32::MAX);
        let mut online = online.into_iter();
        for part in 0..parts_u32 {
            self.send(&Note::Alive {
                node: self.node,
                beat,
                part,
                parts: parts_u32,
                online: online
                    .by_ref()
                    .take(ALIVE_PART)
                    .map(|(service, identity)| (service.to_string(), identity))
                    .collect(),
            });
        }
    }

    /// Tells the other nodes the news about a user, for its `conversations`.
    pub(crate) fn news(&self, service: &Sid, info: &UserInfo, conversations: &[Sid]) {
        self.send(&Note::News {
            node: self.node,
            service: service.to_string(),
            info: info.clone(),
            conversations: conversations.iter().map(Sid::to_string).collect(),
        });
    }
}

/// Hands what the other nodes publish to this node's sessions, until the subscription
/// ends.
pub(crate) async fn run_subscriber(
    mut sub: async_nats::Subscriber,
    bus: Arc<Bus>,
    rt: Arc<Realtime>,
) {
    let hub = rt.hub.clone();
    while let Some(msg) = sub.next().await {
        let note: Note = match serde_json::from_slice(&msg.payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "an unreadable bus note was ignored");
                continue;
            }
        };
        match note {
            Note::Events { node, events } if node != bus.node => {
                let events: Vec<LogEvent> = events
                    .into_iter()
                    .filter_map(|e| {
                        let stream = match e.identity {
                            None => {
                                Stream::Conversation(Sid::parse(SidKind::Conversation, &e.stream)?)
                            }
                            Some(identity) => Stream::User {
                                service: Sid::parse(SidKind::Service, &e.stream)?,
                                identity,
                            },
                        };
                        Some(LogEvent {
                            stream,
                            seq: e.seq,
                            frame: Arc::from(e.frame.into_bytes()),
                        })
                    })
                    .collect();
                hub.deliver(&events);
            }
            Note::Ephemeral {
                node,
                conversation,
                frame,
                skip,
            } if node != bus.node => {
                if let Some(sid) = Sid::parse(SidKind::Conversation, &conversation) {
                    hub.deliver_ephemeral(&sid, &Arc::from(frame.into_bytes()), skip.as_deref());
                }
            }
            Note::News {
                node,
                service,
                mut info,
                conversations,
            } if node != bus.node => {
                let Some(service) = Sid::parse(SidKind::Service, &service) else {
                    continue;
                };
                let conversations: Vec<Sid> = conversations
                    .iter()
                    .filter_map(|c| Sid::parse(SidKind::Conversation, c))
                    .collect();
                // Reachability as this node sees it: the sender's view may be older than a
                // note from a third node that came in meanwhile.
                info.is_online = rt.presence.is_online(&service, &info.identity);
                let version = rt.presence.next_version();
                super::presence::publish(&rt, &info, &conversations, version);
            }
            Note::Presence {
                node,
                service,
                identity,
                online,
            } if node != bus.node => {
                // The node's news about it follows (NATS keeps one publisher's order).
                if let Some(service) = Sid::parse(SidKind::Service, &service) {
                    rt.presence
                        .remote_changed(node, (service, identity), online);
                }
            }
            Note::Alive {
                node,
                beat,
                part,
                parts,
                online,
            } if node != bus.node => {
                let online = online
                    .into_iter()
                    .filter_map(|(service, identity)| {
                        Some((Sid::parse(SidKind::Service, &service)?, identity))
                    })
                    .collect();
                // Only after a lost note or a partition does a heartbeat change anything;
                // every node then finds out by itself.
                let changed = rt.presence.remote_alive(node, beat, (part, parts), online);
                announce_here(&rt, changed);
            }
            // Our own note, back from NATS.
            _ => {}
        }
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
        rt.presence.tell_alive(&bus);
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
            rt.presence.announce_here(&rt, &service, &identity).await;
        }
    });
}
