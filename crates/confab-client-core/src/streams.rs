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
    /// Cursors the client resumed with that `welcome` did not list: conversations left while
    /// away, whose events up to the leave the server replays. Kept (and sent on resume)
    /// until their `conversationLeft` or `conversationRemoved` is applied.
    departed: BTreeMap<String, i64>,
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
        self.started.then(|| {
            let mut conversations = self.departed.clone();
            conversations.extend(self.conversations.iter().map(|(k, v)| (k.clone(), *v)));
            Resume {
                user_seq: self.user_seq,
                conversations,
            }
        })
    }

    /// Takes the server's cursors from `welcome`: conversations it does not list are no
    /// longer the user's; ones it lists that the client did not watch are watched from now.
    ///
    /// Under the watch cap, the conversations the client was watching keep their place; new
    /// ones fill what room is left.
    pub fn welcome(&mut self, resumed: &Resumed) {
        let sent = self.resume();
        self.started = true;
        // A cursor is never below 0 (nothing delivered), whatever a server says.
        self.user_seq = resumed.user_seq.max(0);
        let mut next = BTreeMap::new();
        let mut departed = BTreeMap::new();
        if let Some(sent) = &sent {
            for (sid, cursor) in &sent.conversations {
                match resumed.conversations.get(sid) {
                    Some(seq) if next.len() < self.cap => {
                        next.insert(sid.clone(), (*seq).max(0));
                    }
                    Some(_) => {}
                    None => {
                        departed.insert(sid.clone(), *cursor);
                    }
                }
            }
        }
        for (sid, seq) in &resumed.conversations {
            if next.len() >= self.cap {
                break;
            }
            next.entry(sid.clone()).or_insert((*seq).max(0));
        }
        self.conversations = next;
        self.departed = departed;
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
        if seq < 1 {
            // Streams count from 1: no server sends this, and no cursor may move to it.
            return Verdict::Duplicate;
        }
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
                    self.departed.remove(m.conversation_sid.as_str());
                }
                _ => {}
            }
            return Verdict::Deliver;
        }
        if let Some(c) = self.departed.get_mut(&e.stream) {
            // Replayed up to the leave that follows on the user stream.
            if seq <= *c {
                return Verdict::Duplicate;
            }
            *c = seq;
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
