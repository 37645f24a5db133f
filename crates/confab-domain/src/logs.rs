//! What live delivery reads: a stream's log after a cursor, where an identity's streams
//! stand, the heads the cross-node check compares with what a node heard, a user's profile
//! for the news about it, and retention.
//!
//! These are the system's own reads, on no caller's behalf: a realtime session checked its
//! identity when it opened, and reads only that identity's streams (its user log, and the
//! conversations the identity's own memberships name).

use confab_protocol::entity::User;
use confab_protocol::sid::Sid;
use confab_store::{LogEntry, Memberships, StoreResult, Stream};

use crate::Domain;

impl Domain {
    /// Rows of `stream`'s log after `after`, at most `limit`, in order.
    pub async fn log_after(
        &self,
        stream: &Stream,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        match stream {
            Stream::Conversation(sid) => {
                self.store()
                    .conversation_log(sid.as_str(), after, limit)
                    .await
            }
            Stream::User { service, identity } => {
                self.store()
                    .user_log(service.as_str(), identity, after, limit)
                    .await
            }
        }
    }

    /// Where `identity`'s streams stand in `service`: its user log's head, and each
    /// conversation it is in with that conversation's head.
    pub async fn memberships(&self, service: &Sid, identity: &str) -> StoreResult<Memberships> {
        self.store().memberships(service.as_str(), identity).await
    }

    /// Whether `service` exists (a token may name one the account lacks).
    pub async fn service_exists(&self, service: &Sid) -> StoreResult<bool> {
        Ok(self.store().service(service.as_str()).await?.is_some())
    }

    /// The head `seq` of each conversation (SIDs), in the order given.
    pub async fn conversation_heads(&self, sids: &[String]) -> StoreResult<Vec<(String, i64)>> {
        self.store().conversation_heads(sids).await
    }

    /// The head `seq` of each identity's user log in `service`, in the order given.
    pub async fn user_heads(
        &self,
        service: &Sid,
        identities: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        self.store().user_heads(service.as_str(), identities).await
    }

    /// A user and the conversations it is in, for news about it; `None` once deleted.
    pub async fn profile(
        &self,
        service: &Sid,
        identity: &str,
    ) -> StoreResult<Option<(User, Memberships)>> {
        let Some(user) = self.store().user(service.as_str(), identity).await? else {
            return Ok(None);
        };
        let memberships = self.store().memberships(service.as_str(), identity).await?;
        Ok(Some((user, memberships)))
    }

    /// Deletes conversation log rows written before `before` (unix ms), at most `limit`;
    /// returns how many went.
    pub async fn prune_logs(&self, before: i64, limit: u32) -> StoreResult<u64> {
        self.store().prune_conversation_logs(before, limit).await
    }
}
