//! Resume cursors: the last `seq` applied of the user stream and of each watched
//! conversation, and the check that makes every event reach the app exactly once and in order.

use std::collections::BTreeMap;

use confab_protocol::event::{EventBody, EventFrame, USER_STREAM};
use confab_protocol::frame::{Resume, Resumed};

/// What to do with an incoming event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// New: hand it to the app.
    Deliver,
    /// Seen already (a replay overlapping what was delivered): drop it.
    Duplicate,
}

/// The cursors of one client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streams {
    user_seq: i64,
    conversations: BTreeMap<String, i64>,
    /// Whether a `welcome` was ever applied (only then is there anything to resume).
    started: bool,
    cap: usize,
}

impl Streams {
    /// Cursors for a client watching at most `cap` conversations.
    pub fn new(cap: usize) -> Streams {
        Streams {
            cap,
            ..Default::default()
        }
    }

    /// What `hello` says: nothing on a first connection, the cursors afterwards.
    pub fn resume(&self) -> Option<Resume> {
        self.started.then(|| Resume {
            user_seq: self.user_seq,
            conversations: self.conversations.clone(),
        })
    }

    /// Takes the server's cursors from `welcome`: conversations it does not list are no
    /// longer the user's; ones it lists that the client did not watch are watched from now.
    pub fn welcome(&mut self, resumed: &Resumed) {
        self.started = true;
        self.user_seq = resumed.user_seq;
        let mut next = BTreeMap::new();
        for (sid, seq) in &resumed.conversations {
            if next.len() < self.cap {
                next.insert(sid.clone(), *seq);
            }
        }
        self.conversations = next;
    }

    /// Checks an event against its stream's cursor and moves the cursor.
    pub fn accept(&mut self, e: &EventFrame) -> Verdict {
        if let EventBody::ConversationReset(r) = &e.body {
            if let Some(c) = self.conversations.get_mut(&e.stream) {
                *c = r.seq;
            }
            return Verdict::Deliver;
        }
        let Some(seq) = e.seq else {
            return Verdict::Deliver;
        };
        if e.stream == USER_STREAM {
            if seq <= self.user_seq {
                return Verdict::Duplicate;
            }
            self.user_seq = seq;
            match &e.body {
                EventBody::ConversationJoined(m) => {
                    let sid = m.conversation_sid.as_str().to_owned();
                    if self.conversations.len() < self.cap || self.conversations.contains_key(&sid)
                    {
                        self.conversations.insert(sid, m.conversation_seq);
                    }
                }
                EventBody::ConversationLeft(m) | EventBody::ConversationRemoved(m) => {
                    self.conversations.remove(m.conversation_sid.as_str());
                }
                _ => {}
            }
            return Verdict::Deliver;
        }
        match self.conversations.get_mut(&e.stream) {
            Some(c) if seq <= *c => Verdict::Duplicate,
            Some(c) => {
                *c = seq;
                Verdict::Deliver
            }
            None => {
                // A conversation past the watch cap: delivered, not resumed.
                if self.conversations.len() < self.cap {
                    self.conversations.insert(e.stream.clone(), seq);
                }
                Verdict::Deliver
            }
        }
    }

    /// The user stream's cursor.
    pub fn user_seq(&self) -> i64 {
        self.user_seq
    }

    /// A conversation's cursor, if watched.
    pub fn conversation(&self, sid: &str) -> Option<i64> {
        self.conversations.get(sid).copied()
    }
}
