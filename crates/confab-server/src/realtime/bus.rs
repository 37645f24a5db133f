//! Nodes' notes to one another over NATS core pub/sub: what one node's hub hands its own
//! sessions (committed events, typing, read horizons, profile news) it also publishes on one
//! subject, and every other node hands it to its sessions (through [`Inbound`], which
//! `nodes` implements). One subscription per node, not per session.
//!
//! A note travels as a line of JSON (what it is about) followed by the frames it carries,
//! raw, one after another, their lengths in the JSON: a frame crosses nodes as the bytes its
//! sessions send, never escaped into a JSON string and read back.
//!
//! The bus is a hint and the log the truth: a publish can be lost (a node cut from NATS,
//! NATS restarting), and `nodes::reconcile` finds and fills what was.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use confab_protocol::event::UserInfo;
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{LogEvent, Stream};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::presence::{PresenceNotes, Who};

/// Messages waiting for the publisher task; past it a publish is dropped (the reconcile
/// loop fills what it carried).
const PUBLISH_QUEUE: usize = 65_536;

/// Users per heartbeat part: about 150 KiB of JSON at most, far under NATS's 1 MiB default.
const ALIVE_PART: usize = 2_000;

/// What nodes tell each other: the JSON line of a note.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Note {
    /// The events of one committed write, their frames after the line in the same order.
    Events {
        /// The node that committed them.
        node: u64,
        /// In commit order.
        events: Vec<WireEvent>,
    },
    /// An ephemeral event of a conversation (typing, a read horizon); its frame is all that
    /// follows the line.
    Ephemeral {
        node: u64,
        conversation: String,
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
struct WireEvent {
    /// A conversation SID, or (with `identity`) a service SID for a user stream.
    stream: String,
    /// Set for a user stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    seq: i64,
    /// The length of its frame, in bytes.
    len: usize,
}

/// A note as it goes on the wire: its line, a newline (never inside the line: JSON escapes
/// it in strings), then `frames`.
fn encode(note: &Note, frames: &[&[u8]]) -> Option<Bytes> {
    let line = serde_json::to_vec(note)
        .map_err(|e| tracing::error!(error = %e, "a bus note did not encode"))
        .ok()?;
    let mut out =
        BytesMut::with_capacity(line.len() + 1 + frames.iter().map(|f| f.len()).sum::<usize>());
    out.put_slice(&line);
    out.put_u8(b'\n');
    for frame in frames {
        out.put_slice(frame);
    }
    Some(out.freeze())
}

/// A note read back: its line and what follows it.
fn decode(payload: &Bytes) -> Option<(Note, Bytes)> {
    let end = payload.iter().position(|b| *b == b'\n')?;
    let note = serde_json::from_slice(&payload[..end]).ok()?;
    Some((note, payload.slice(end + 1..)))
}

/// Cuts `body` into frames of the lengths given, in order; `None` unless they fit exactly.
fn frames(body: &[u8], lens: impl Iterator<Item = usize>) -> Option<Vec<Arc<[u8]>>> {
    let mut at = 0usize;
    let mut out = vec![];
    for len in lens {
        let end = at.checked_add(len)?;
        out.push(Arc::from(body.get(at..end)?));
        at = end;
    }
    (at == body.len()).then_some(out)
}

/// What a node does with the other nodes' notes.
pub(crate) trait Inbound: Send + Sync + 'static {
    /// Another node committed these events (in its commit order).
    fn events(&self, events: Vec<LogEvent>);
    /// An ephemeral event for `conversation`'s sessions, except those of `skip`.
    fn ephemeral(&self, conversation: &Sid, frame: Arc<[u8]>, skip: Option<&str>);
    /// News about a user, for its conversations.
    fn news(&self, service: Sid, info: UserInfo, conversations: Vec<Sid>);
    /// A user came online or went offline on `node`.
    fn presence(&self, node: u64, who: Who, online: bool);
    /// Part `part` of `parts` of `node`'s heartbeat `beat`, with users online there.
    fn alive(&self, node: u64, beat: u64, part: (u32, u32), online: Vec<Who>);
}

/// This node's side of the bus: a queue to the publisher task.
pub(crate) struct Bus {
    node: u64,
    tx: mpsc::Sender<Bytes>,
    /// Heartbeats sent.
    beats: AtomicU64,
}

impl Bus {
    /// Connects to NATS at `url`, subscribes to `subject` (so that nothing published after
    /// the server starts is missed) and starts the publisher; [`run_subscriber`] then hands
    /// what arrives on.
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
                beats: AtomicU64::new(0),
            }),
            sub,
        ))
    }

    fn send(&self, note: &Note, frames: &[&[u8]]) {
        if let Some(payload) = encode(note, frames) {
            // Full: dropped; the other nodes' reconcile loops fill it from the log.
            let _ = self.tx.try_send(payload);
        }
    }

    /// Tells the other nodes about a committed write's events.
    pub(crate) fn events(&self, events: &[LogEvent]) {
        let wire = events
            .iter()
            .map(|e| {
                let (stream, identity) = match &e.stream {
                    Stream::Conversation(sid) => (sid.to_string(), None),
                    Stream::User { service, identity } => {
                        (service.to_string(), Some(identity.clone()))
                    }
                };
                WireEvent {
                    stream,
                    identity,
                    seq: e.seq,
                    len: e.frame.len(),
                }
            })
            .collect();
        let frames: Vec<&[u8]> = events.iter().map(|e| &e.frame[..]).collect();
        let note = Note::Events {
            node: self.node,
            events: wire,
        };
        self.send(&note, &frames);
    }

    /// Tells the other nodes about an ephemeral event.
    pub(crate) fn ephemeral(&self, conversation: &Sid, frame: &[u8], skip: Option<&str>) {
        let note = Note::Ephemeral {
            node: self.node,
            conversation: conversation.to_string(),
            skip: skip.map(str::to_owned),
        };
        self.send(&note, &[frame]);
    }

    /// Tells the other nodes the news about a user, for its `conversations`.
    pub(crate) fn news(&self, service: &Sid, info: &UserInfo, conversations: &[Sid]) {
        let note = Note::News {
            node: self.node,
            service: service.to_string(),
            info: info.clone(),
            conversations: conversations.iter().map(Sid::to_string).collect(),
        };
        self.send(&note, &[]);
    }
}

impl PresenceNotes for Bus {
    fn presence(&self, service: &Sid, identity: &str, online: bool) {
        let note = Note::Presence {
            node: self.node,
            service: service.to_string(),
            identity: identity.to_owned(),
            online,
        };
        self.send(&note, &[]);
    }

    fn alive(&self, online: Vec<Who>) {
        let beat = self.beats.fetch_add(1, Ordering::Relaxed);
        let parts = online.len().div_ceil(ALIVE_PART).max(1);
        let parts = u32::try_from(parts).unwrap_or(u32::MAX);
        let mut online = online.into_iter();
        for part in 0..parts {
            let note = Note::Alive {
                node: self.node,
                beat,
                part,
                parts,
                online: online
                    .by_ref()
                    .take(ALIVE_PART)
                    .map(|(service, identity)| (service.to_string(), identity))
                    .collect(),
            };
            self.send(&note, &[]);
        }
    }
}

/// Hands what the other nodes publish to `inbound`, until the subscription ends. A note that
/// does not read (another version, a broken payload) is skipped with a warning.
pub(crate) async fn run_subscriber(
    mut sub: async_nats::Subscriber,
    bus: Arc<Bus>,
    inbound: impl Inbound,
) {
    while let Some(msg) = sub.next().await {
        if receive(&bus, &msg.payload, &inbound).is_none() {
            tracing::warn!("an unreadable bus note was ignored");
        }
    }
}

/// Hands one note on, unless it is this node's own (back from NATS); `None` if it does not
/// read.
fn receive(bus: &Bus, payload: &Bytes, inbound: &impl Inbound) -> Option<()> {
    let (note, body) = decode(payload)?;
    match note {
        Note::Events { node, .. }
        | Note::Ephemeral { node, .. }
        | Note::News { node, .. }
        | Note::Presence { node, .. }
        | Note::Alive { node, .. }
            if node == bus.node => {}
        Note::Events { events, .. } => {
            let frames = frames(&body, events.iter().map(|e| e.len))?;
            let events = events
                .into_iter()
                .zip(frames)
                .map(|(e, frame)| {
                    let stream = match e.identity {
                        None => Stream::Conversation(Sid::parse(SidKind::Conversation, &e.stream)?),
                        Some(identity) => Stream::User {
                            service: Sid::parse(SidKind::Service, &e.stream)?,
                            identity,
                        },
                    };
                    Some(LogEvent {
                        stream,
                        seq: e.seq,
                        frame,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            inbound.events(events);
        }
        Note::Ephemeral {
            conversation, skip, ..
        } => {
            let sid = Sid::parse(SidKind::Conversation, &conversation)?;
            inbound.ephemeral(&sid, Arc::from(&body[..]), skip.as_deref());
        }
        Note::News {
            service,
            info,
            conversations,
            ..
        } => {
            let service = Sid::parse(SidKind::Service, &service)?;
            let conversations = conversations
                .iter()
                .filter_map(|c| Sid::parse(SidKind::Conversation, c))
                .collect();
            inbound.news(service, info, conversations);
        }
        Note::Presence {
            node,
            service,
            identity,
            online,
        } => {
            let service = Sid::parse(SidKind::Service, &service)?;
            inbound.presence(node, (service, identity), online);
        }
        Note::Alive {
            node,
            beat,
            part,
            parts,
            online,
        } => {
            let online = online
                .into_iter()
                .filter_map(|(service, identity)| {
                    Some((Sid::parse(SidKind::Service, &service)?, identity))
                })
                .collect();
            inbound.alive(node, beat, (part, parts), online);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// An ephemeral event as heard: conversation, frame, skip.
    type HeardEphemeral = (Sid, Arc<[u8]>, Option<String>);

    #[derive(Default)]
    struct Heard(Mutex<Vec<LogEvent>>, Mutex<Vec<HeardEphemeral>>);

    impl Inbound for Arc<Heard> {
        fn events(&self, events: Vec<LogEvent>) {
            self.0.lock().unwrap().extend(events);
        }
        fn ephemeral(&self, conversation: &Sid, frame: Arc<[u8]>, skip: Option<&str>) {
            let skip = skip.map(str::to_owned);
            self.1
                .lock()
                .unwrap()
                .push((conversation.clone(), frame, skip));
        }
        fn news(&self, _: Sid, _: UserInfo, _: Vec<Sid>) {}
        fn presence(&self, _: u64, _: Who, _: bool) {}
        fn alive(&self, _: u64, _: u64, _: (u32, u32), _: Vec<Who>) {}
    }

    fn bus(node: u64) -> (Bus, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(16);
        let beats = AtomicU64::new(0);
        (Bus { node, tx, beats }, rx)
    }

    #[test]
    fn frames_cross_raw_and_come_back_whole() {
        let (from, mut wire) = bus(1);
        let (to, _) = bus(2);
        let conversation = Sid::from_random(SidKind::Conversation, [3; 16]);
        let service = Sid::from_random(SidKind::Service, [4; 16]);
        // Quotes, a backslash, a newline and non-ASCII: what JSON would have escaped.
        let a: Arc<[u8]> = Arc::from(&b"{\"t\":\"event\",\"b\":\"a\\\"\\n \xc3\xa9\"}"[..]);
        let b: Arc<[u8]> = Arc::from(&b"{}"[..]);
        let events = vec![
            LogEvent {
                stream: Stream::Conversation(conversation.clone()),
                seq: 7,
                frame: a.clone(),
            },
            LogEvent {
                stream: Stream::User {
                    service: service.clone(),
                    identity: "ann\n".into(),
                },
                seq: 3,
                frame: b.clone(),
            },
        ];
        from.events(&events);
        from.ephemeral(&conversation, &a, Some("bob"));
        let heard = Arc::new(Heard::default());
        for _ in 0..2 {
            let payload = wire.try_recv().unwrap();
            assert!(
                payload.windows(a.len()).any(|w| w == &a[..]),
                "the frame travels as it is"
            );
            receive(&to, &payload, &heard).unwrap();
            // A node ignores its own notes.
            receive(&from, &payload, &Arc::new(Heard::default())).unwrap();
        }
        assert_eq!(*heard.0.lock().unwrap(), events);
        assert_eq!(
            *heard.1.lock().unwrap(),
            vec![(conversation, a, Some("bob".to_owned()))]
        );
    }

    #[test]
    fn a_note_whose_frames_do_not_fit_its_lengths_is_refused() {
        let (from, mut wire) = bus(1);
        let (to, _) = bus(2);
        let conversation = Sid::from_random(SidKind::Conversation, [3; 16]);
        from.events(&[LogEvent {
            stream: Stream::Conversation(conversation),
            seq: 1,
            frame: Arc::from(&b"{\"x\":1}"[..]),
        }]);
        let payload = wire.try_recv().unwrap();
        let heard = Arc::new(Heard::default());
        for cut in [payload.slice(..payload.len() - 1), {
            let mut longer = BytesMut::from(&payload[..]);
            longer.put_u8(b'x');
            longer.freeze()
        }] {
            assert!(receive(&to, &cut, &heard).is_none());
        }
        assert!(receive(&to, &Bytes::from_static(b"no line"), &heard).is_none());
        assert!(heard.0.lock().unwrap().is_empty());
    }
}
