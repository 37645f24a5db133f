//! The replay work of a [`Follower`]: a stack of jobs, each run until it needs a log read
//! (a job that needs another done first pushes its own rest, then that job), and the
//! catch-up after the first replay.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use confab_protocol::sid::Sid;
use confab_store::Stream;

use confab_protocol::frame::CloseReason;

use super::{Follow, Follower, Out};
use crate::types::{Action, Ending, Live, Row, Transmit};

/// Where the catch-up after the first replay stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CatchUp {
    /// Was anything dropped while replaying?
    Check,
    /// Nothing was: the queue is being drained (still forgiven), then replaying ends.
    Drained,
    /// Out of rounds: drain, end replaying, and close the session if it lagged again.
    Last,
}

/// A piece of replay work. Jobs form a stack: a job that needs another done first pushes
/// its own rest, then that job.
#[derive(Debug)]
pub(super) enum Job<P> {
    /// The user log after the cursor, to its end: a page's rows still to deliver, or `None`
    /// when the next page is to be read.
    User {
        follow: Follow,
        rows: Option<VecDeque<Row<P>>>,
        full: bool,
    },
    /// A conversation's log after its cursor, up to `target` (a reset if the log ends before
    /// it), or stopping after `stop_at`.
    Conversation {
        sid: Sid,
        target: i64,
        stop_at: Option<i64>,
    },
    /// A user event whose conversation was replayed up to the leave first: forget the
    /// conversation, then deliver it.
    AfterLeave { seq: i64, text: P, sid: Sid },
    /// A live user event held while the gap before it was read.
    UserEvent(Arc<Live<P>>),
    /// A live conversation event held while the gap before it was read.
    ConversationEvent(Arc<Live<P>>),
    /// After the first replay of the user log: the conversations behind their heads.
    StartConversations {
        heads: HashMap<Sid, i64>,
        unsure: Vec<Sid>,
    },
    /// After the first replay: live events dropped meanwhile are read again from the logs.
    CatchUp { round: usize, stage: CatchUp },
    /// The first replay is over: the node has heard every followed stream this far.
    FirstDone,
}

impl<P: Clone> Follower<P> {
    pub(super) fn step(&mut self, job: Job<P>, out: &mut Out<P>) {
        match job {
            Job::User {
                follow,
                rows: None,
                full,
            } => {
                let (stream, after) = (self.user_stream(), self.user_cursor);
                let job = Job::User {
                    follow,
                    rows: None,
                    full,
                };
                self.read(job, stream, after, out);
            }
            Job::User {
                follow,
                rows: Some(mut rows),
                full,
            } => {
                while let Some(row) = rows.pop_front() {
                    if row.seq <= self.user_cursor {
                        continue;
                    }
                    let first = self.user_event(row.seq, &row.frame, row.text, follow, out);
                    if !first.is_empty() {
                        // The rest of this page once those are done.
                        self.jobs.push(Job::User {
                            follow,
                            rows: Some(rows),
                            full,
                        });
                        self.jobs.extend(first);
                        return;
                    }
                }
                out.flush();
                if full {
                    self.jobs.push(self.user_job(follow));
                }
            }
            Job::Conversation {
                sid,
                target,
                stop_at,
            } => {
                let Some(&after) = self.conversations.get(&sid) else {
                    return;
                };
                if stop_at.is_some_and(|s| after >= s) {
                    return;
                }
                let stream = Stream::Conversation(sid.clone());
                let job = Job::Conversation {
                    sid,
                    target,
                    stop_at,
                };
                self.read(job, stream, after, out);
            }
            Job::AfterLeave { seq, text, sid } => {
                self.forget(&sid, out);
                out.write(Transmit::Shared(text));
                self.user_cursor = seq;
            }
            Job::UserEvent(live) => {
                if self.user_cursor < live.seq {
                    self.user_live(&live, out);
                }
            }
            Job::ConversationEvent(live) => {
                if let Stream::Conversation(sid) = &live.stream
                    && self.conversations.get(sid).is_some_and(|&c| c < live.seq)
                {
                    self.conversation_event(&live, out);
                }
            }
            Job::StartConversations { heads, unsure } => {
                self.departed.clear();
                // Only conversations behind their head need a read (a thousand idle ones need
                // none); ones joined during the replay, or subscribed late, are read to their
                // end.
                let mut due: Vec<(Sid, i64)> = self
                    .conversations
                    .iter()
                    .filter_map(|(sid, &cursor)| match heads.get(sid) {
                        Some(&head) if cursor < head || unsure.contains(sid) => {
                            Some((sid.clone(), head))
                        }
                        Some(_) => None,
                        None => Some((sid.clone(), cursor)),
                    })
                    .collect();
                due.sort();
                for (sid, head) in due.into_iter().rev() {
                    self.jobs.push(Job::Conversation {
                        sid,
                        target: head,
                        stop_at: None,
                    });
                }
            }
            Job::CatchUp { round, stage } => self.catch_up(round, stage, out),
            Job::FirstDone => {
                for (sid, &cursor) in &self.conversations {
                    out.actions
                        .push_back(Action::Heard(Stream::Conversation(sid.clone()), cursor));
                }
                out.actions
                    .push_back(Action::Heard(self.user_stream(), self.user_cursor));
                out.flush();
            }
        }
    }

    /// Live events that did not fit in the queue while the replay ran were dropped (see
    /// [`Lag`]); they are all in the logs, so every followed stream is read to its end once
    /// more, as often as it takes (each round reads only what came during the previous one,
    /// so a reader that keeps up converges; nothing is buffered meanwhile). A client that has
    /// not caught up after the configured rounds is a slow consumer.
    fn catch_up(&mut self, round: usize, stage: CatchUp, out: &mut Out<P>) {
        match stage {
            CatchUp::Check if round >= self.rounds => {
                self.drain_then(Job::CatchUp {
                    round,
                    stage: CatchUp::Last,
                });
            }
            CatchUp::Check if !self.lag.take_lagged() => {
                // What queued up during the replay goes out first, while a full queue is
                // still forgiven: else the first live event after the replay could find the
                // queue full of items about to be taken, and close a client that keeps up.
                self.drain_then(Job::CatchUp {
                    round,
                    stage: CatchUp::Drained,
                });
            }
            CatchUp::Check => self.read_everything_again(round),
            CatchUp::Drained => {
                self.lag.replay_done();
                if self.lag.take_lagged() {
                    // Lagged between the check and the end of the replay: read once more,
                    // now with a full queue counting as slow.
                    self.read_everything_again(round);
                }
            }
            CatchUp::Last => {
                self.lag.replay_done();
                if self.lag.take_lagged() {
                    out.end = Some(Ending::close(
                        CloseReason::SlowConsumer,
                        "the session fell behind while catching up: resume later",
                    ));
                }
            }
        }
    }

    fn drain_then(&mut self, job: Job<P>) {
        self.jobs.push(job);
        self.draining = true;
    }

    fn read_everything_again(&mut self, round: usize) {
        self.jobs.push(Job::CatchUp {
            round: round + 1,
            stage: CatchUp::Check,
        });
        let mut all: Vec<(Sid, i64)> = self
            .conversations
            .iter()
            .map(|(sid, &c)| (sid.clone(), c))
            .collect();
        all.sort();
        for (sid, cursor) in all.into_iter().rev() {
            self.jobs.push(Job::Conversation {
                sid,
                target: cursor,
                stop_at: None,
            });
        }
        self.jobs.push(self.user_job(Follow::Live));
    }
}
