//! The PostgreSQL backend of [`confab_store::Store`]: the backend for teams that already run
//! PostgreSQL and for every deployment of more than one node.
//!
//! Same rules as the embedded store, across processes:
//! - Each operation is one transaction; a write returns only after `COMMIT`.
//! - Writers of one conversation lock its row (`SELECT … FOR UPDATE`, or the counter `UPDATE`)
//!   before taking `seq`/`index`, so the counters are gapless and unique whatever the number of
//!   writers and nodes. Joins of one identity lock its user row, so its count limit holds too.
//! - A transaction that fails on a serialization failure or a deadlock is run again, whole.
//! - Migrations live in `migrations/` and run on connect under an advisory lock, so nodes
//!   starting together migrate once.

mod common;
mod conversations;
mod media;
mod messages;
mod participants;
mod rows;
mod services;
mod users;

use std::future::Future;
use std::str::FromStr;

use async_trait::async_trait;
use confab_protocol::entity::{
    Conversation, Media, Message, Millis, Participant, Role, Service, User,
};
use confab_protocol::sid::Sid;
use confab_store::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};

use crate::rows::{RETRY, backend};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_log_retention.sql"),
    include_str!("../migrations/0003_activity.sql"),
    include_str!("../migrations/0004_append_order.sql"),
    include_str!("../migrations/0005_media.sql"),
];

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://user@host:port/database`
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// A schema to keep every table in (created if missing); `None` uses the URL's default
    /// `search_path`. Tests give each run its own.
    pub schema: Option<String>,
}

impl PgOptions {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            max_connections: 32,
            schema: None,
        }
    }
}

/// Drops `schema` and everything in it, and waits for that to be done: for tests and tools
/// that gave a store a schema of its own ([`PgOptions::schema`]). Safe to call from `Drop`,
/// inside a runtime or not (it runs on a thread of its own). Failures are ignored: there is
/// nothing left to clean up then, or nobody to tell.
pub fn drop_schema_blocking(url: &str, schema: &str) {
    if schema.is_empty()
        || !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return;
    }
    let (url, schema) = (url.to_owned(), schema.to_owned());
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        });
    })
    .join();
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    listener: confab_store::ListenerSlot,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool).finish()
    }
}

/// Runs a write transaction, again from the start if PostgreSQL asks for a retry.
async fn retry<T, F, Fut>(mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(StoreError::Backend(m)) if m.starts_with(RETRY) && tries < 10 => tries += 1,
            other => return other,
        }
    }
}

/// One write transaction: `$body` runs with `$c: &mut PgConnection` inside it; the result is
/// returned after `COMMIT`. Captured values must be references (the body may run again).
macro_rules! write_tx {
    ($self:ident, |$c:ident| $body:expr) => {
        retry(|| async {
            let mut tx = $self.pool.begin().await.map_err(backend)?;
            let $c: &mut sqlx::PgConnection = &mut tx;
            let out = $body.await?;
            tx.commit().await.map_err(backend)?;
            Ok(out)
        })
        .await
    };
}

/// [`write_tx!`] for a write that logs events (its result a [`Committed`]): the commit and the
/// hand-off of its events to the listener run in a task of their own, so that a caller gone
/// while it commits leaves no commit unpublished. Writers of one stream are serialized by the
/// stream's row lock up to their commits; the node's hub puts what one writer's hand-off
/// overtakes back in `seq` order.
macro_rules! write_logged_tx {
    ($self:ident, |$c:ident| $body:expr) => {
        retry(|| async {
            let mut tx = $self.pool.begin().await.map_err(backend)?;
            let $c: &mut sqlx::PgConnection = &mut tx;
            let out: Committed<_> = $body.await?;
            let listener = $self.listener.clone();
            tokio::spawn(async move {
                tx.commit().await.map_err(backend)?;
                if let Some(l) = listener.get()
                    && !out.events.is_empty()
                {
                    l.committed(&out.events);
                }
                Ok(out)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("a commit task failed: {e}")))?
        })
        .await
    };
}

/// A read on a pooled connection.
macro_rules! read {
    ($self:ident, |$c:ident| $body:expr) => {{
        let mut conn = $self.pool.acquire().await.map_err(backend)?;
        let $c: &mut sqlx::PgConnection = &mut conn;
        $body.await
    }};
}

impl PgStore {
    /// Connects, creates the schema if asked, and migrates.
    pub async fn connect(opts: &PgOptions) -> StoreResult<PgStore> {
        let mut connect = PgConnectOptions::from_str(&opts.url)
            .map_err(|e| StoreError::Backend(format!("database URL: {e}")))?;
        if let Some(schema) = &opts.schema {
            let valid = !schema.is_empty()
                && schema
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(StoreError::Backend(format!(
                    "schema name {schema:?}: use letters, digits and _"
                )));
            }
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(connect.clone())
                .await
                .map_err(backend)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&admin)
                .await
                .map_err(backend)?;
            admin.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .connect_with(connect)
            .await
            .map_err(backend)?;
        let store = PgStore {
            pool,
            listener: Default::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query("SELECT pg_advisory_xact_lock(7243000000)")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS confab_migrations (version INTEGER PRIMARY KEY)")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let applied: i32 = sqlx::query("SELECT COALESCE(max(version), 0) FROM confab_migrations")
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(backend)?;
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(applied).unwrap_or(0))
        {
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("INSERT INTO confab_migrations (version) VALUES ($1)")
                .bind(i32::try_from(i + 1).unwrap_or(i32::MAX))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    /// The pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[async_trait]
impl Store for PgStore {
    fn listen(&self, listener: std::sync::Arc<dyn confab_store::CommitListener>) {
        let _ = self.listener.set(listener);
    }

    async fn init_account(&self, default_service: NewService) -> StoreResult<Configuration> {
        let d = &default_service;
        write_tx!(self, |c| conversations::init_account(c, d))
    }

    async fn configuration(&self) -> StoreResult<Configuration> {
        read!(self, |c| async {
            conversations::configuration(c)
                .await?
                .ok_or_else(|| StoreError::NotFound("Configuration".into()))
        })
    }

    async fn update_configuration(
        &self,
        update: ConfigurationUpdate,
    ) -> StoreResult<Configuration> {
        let u = &update;
        write_tx!(self, |c| conversations::update_configuration(c, u.clone()))
    }

    async fn create_service(&self, service: NewService) -> StoreResult<Service> {
        let s = &service;
        write_tx!(self, |c| services::create(c, s))
    }

    async fn service(&self, sid: &str) -> StoreResult<Option<Service>> {
        read!(self, |c| conversations::service(c, sid))
    }

    async fn list_services(&self, page: &PageRequest) -> StoreResult<Page<Service>> {
        read!(self, |c| services::list(c, page))
    }

    async fn delete_service(&self, sid: &str) -> StoreResult<()> {
        write_tx!(self, |c| services::delete(c, sid))
    }

    async fn service_configuration(
        &self,
        service: &str,
    ) -> StoreResult<Option<ServiceConfiguration>> {
        read!(self, |c| services::configuration(c, service))
    }

    async fn update_service_configuration(
        &self,
        service: &str,
        update: ServiceConfigurationUpdate,
    ) -> StoreResult<ServiceConfiguration> {
        let u = &update;
        write_tx!(self, |c| services::update_configuration(
            c,
            service,
            u.clone()
        ))
    }

    async fn create_role(&self, role: Role) -> StoreResult<Role> {
        let r = &role;
        write_tx!(self, |c| async {
            services::insert_role(c, r).await.map(|()| r.clone())
        })
    }

    async fn role(&self, service: &str, sid: &str) -> StoreResult<Option<Role>> {
        read!(self, |c| services::role(c, service, sid))
    }

    async fn update_role(
        &self,
        service: &str,
        sid: &str,
        permissions: Vec<String>,
        now: i64,
    ) -> StoreResult<Role> {
        let p = &permissions;
        write_tx!(self, |c| services::update_role(
            c,
            service,
            sid,
            p.clone(),
            now
        ))
    }

    async fn delete_role(&self, service: &str, sid: &str) -> StoreResult<()> {
        write_tx!(self, |c| services::delete_role(c, service, sid))
    }

    async fn list_roles(&self, service: &str, page: &PageRequest) -> StoreResult<Page<Role>> {
        read!(self, |c| services::list_roles(c, service, page))
    }

    async fn create_user(&self, user: User) -> StoreResult<User> {
        let u = &user;
        write_tx!(self, |c| users::create(c, u))
    }

    async fn user(&self, service: &str, sid_or_identity: &str) -> StoreResult<Option<User>> {
        read!(self, |c| async {
            Ok(users::find(c, service, sid_or_identity).await?.map(|r| r.1))
        })
    }

    async fn update_user(&self, service: &str, sid: &str, patch: UserPatch) -> StoreResult<User> {
        let p = &patch;
        write_tx!(self, |c| users::update(c, service, sid, p.clone()))
    }

    async fn delete_user(&self, service: &str, sid: &str) -> StoreResult<Committed<User>> {
        let now = now_millis();
        write_logged_tx!(self, |c| users::delete(c, service, sid, now))
    }

    async fn list_users(&self, service: &str, page: &PageRequest) -> StoreResult<Page<User>> {
        read!(self, |c| users::list(c, service, page))
    }

    async fn user_conversations(
        &self,
        service: &str,
        user: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<UserConversation>> {
        read!(self, |c| users::conversations_of_user(
            c, service, user, page
        ))
    }

    async fn recent_conversations(
        &self,
        service: &str,
        identity: &str,
        size: u32,
        after: Option<ActivityKey>,
    ) -> StoreResult<RecentPage> {
        read!(self, |c| users::recent_conversations(
            c, service, identity, size, after
        ))
    }

    async fn user_conversation(
        &self,
        service: &str,
        user: &str,
        conversation: &str,
    ) -> StoreResult<Option<UserConversation>> {
        read!(self, |c| users::conversation_of_user(
            c,
            service,
            user,
            conversation
        ))
    }

    async fn participant_conversations(
        &self,
        service: &str,
        query: &ParticipantQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<ParticipantConversation>> {
        read!(self, |c| users::conversations_of_participant(
            c, service, query, page
        ))
    }

    async fn create_conversation(
        &self,
        conversation: Conversation,
    ) -> StoreResult<Committed<Conversation>> {
        let conv = &conversation;
        write_logged_tx!(self, |c| conversations::create(c, conv.clone()))
    }

    async fn create_conversation_with_participants(
        &self,
        conversation: Conversation,
        participants: Vec<NewParticipant>,
        limits: &CountLimits,
    ) -> StoreResult<Committed<(Conversation, Vec<Participant>)>> {
        let (conv, ps) = (&conversation, &participants);
        write_logged_tx!(self, |c| conversations::create_with_participants(
            c,
            conv.clone(),
            ps.clone(),
            limits
        ))
    }

    async fn conversation(
        &self,
        service: &str,
        sid_or_name: &str,
    ) -> StoreResult<Option<Conversation>> {
        read!(self, |c| async {
            Ok(common::find_conversation(c, service, sid_or_name, false)
                .await?
                .map(|r| r.conversation))
        })
    }

    async fn update_conversation(
        &self,
        service: &str,
        sid: &str,
        patch: ConversationPatch,
    ) -> StoreResult<Committed<Conversation>> {
        let p = &patch;
        write_logged_tx!(self, |c| conversations::update(c, service, sid, p.clone()))
    }

    async fn delete_conversation(
        &self,
        service: &str,
        sid: &str,
    ) -> StoreResult<Committed<Conversation>> {
        let now = now_millis();
        write_logged_tx!(self, |c| conversations::delete(c, service, sid, now))
    }

    async fn list_conversations(
        &self,
        service: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Conversation>> {
        read!(self, |c| conversations::list(c, service, filter, page))
    }

    async fn add_participant(
        &self,
        service: &str,
        participant: NewParticipant,
        limits: &CountLimits,
    ) -> StoreResult<Committed<Participant>> {
        let p = &participant;
        write_logged_tx!(self, |c| participants::add(c, service, p.clone(), limits))
    }

    async fn access_facts(
        &self,
        service: &str,
        conversation: &str,
        identity: &str,
    ) -> StoreResult<Option<AccessFacts>> {
        read!(self, |c| async {
            let Some(conv) = common::find_conversation(c, service, conversation, false).await?
            else {
                return Ok(None);
            };
            let participant = participants::find_in(c, &conv, "identity", identity).await?;
            let user = users::find(c, service, identity).await?;
            let configuration = services::configuration(c, service).await?;
            Ok(Some(AccessFacts {
                participant: participant.map(|(_, p)| p),
                user: user.map(|(_, u)| u),
                configuration,
                conversation: conv.conversation,
            }))
        })
    }

    async fn participant(
        &self,
        service: &str,
        conversation: &str,
        sid_or_identity: &str,
    ) -> StoreResult<Option<Participant>> {
        read!(self, |c| async {
            Ok(
                participants::find(c, service, conversation, sid_or_identity, false)
                    .await?
                    .map(|r| r.2),
            )
        })
    }

    async fn set_read_horizon(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        horizon: ReadHorizon,
    ) -> StoreResult<(Participant, Option<i64>)> {
        let h = &horizon;
        write_tx!(self, |c| participants::set_read_horizon(
            c,
            service,
            conversation,
            sid,
            h
        ))
    }

    async fn update_participant(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        patch: ParticipantPatch,
    ) -> StoreResult<Committed<Participant>> {
        let p = &patch;
        write_logged_tx!(self, |c| participants::update(
            c,
            service,
            conversation,
            sid,
            p.clone()
        ))
    }

    async fn remove_participant(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Committed<Participant>> {
        let now = now_millis();
        write_logged_tx!(self, |c| participants::remove(
            c,
            service,
            conversation,
            sid,
            now
        ))
    }

    async fn list_participants(
        &self,
        service: &str,
        conversation: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Participant>> {
        read!(self, |c| participants::list(c, service, conversation, page))
    }

    async fn add_message(&self, service: &str, new: NewMessage) -> StoreResult<Committed<Message>> {
        let n = &new;
        write_logged_tx!(self, |c| messages::add(c, service, n.clone()))
    }

    async fn message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Option<Message>> {
        read!(self, |c| async {
            Ok(messages::find(c, service, conversation, sid, false)
                .await?
                .map(|r| r.2))
        })
    }

    async fn update_message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        patch: MessagePatch,
    ) -> StoreResult<Committed<Message>> {
        let p = &patch;
        write_logged_tx!(self, |c| messages::update(
            c,
            service,
            conversation,
            sid,
            p.clone()
        ))
    }

    async fn remove_message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Committed<Message>> {
        let now = now_millis();
        write_logged_tx!(self, |c| messages::remove(
            c,
            service,
            conversation,
            sid,
            now
        ))
    }

    async fn list_messages(
        &self,
        service: &str,
        conversation: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Message>> {
        read!(self, |c| messages::list(c, service, conversation, page))
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn conversation_heads(
        &self,
        conversations: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        read!(self, |c| common::conversation_heads(c, conversations))
    }

    async fn user_heads(
        &self,
        service: &str,
        identities: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        read!(self, |c| common::user_heads(c, service, identities))
    }

    async fn add_media(&self, service: &str, new: NewMedia) -> StoreResult<Media> {
        let n = &new;
        write_tx!(self, |c| media::add(c, service, n.clone()))
    }

    async fn media(&self, service: &str, sid: &str) -> StoreResult<Option<Media>> {
        read!(self, |c| media::find(c, service, sid))
    }

    async fn condemn_media(&self, now: Millis, limit: u32) -> StoreResult<Vec<SweptMedia>> {
        write_tx!(self, |c| media::condemn(c, now, limit))
    }

    async fn forget_media(&self, sids: &[Sid]) -> StoreResult<()> {
        write_tx!(self, |c| media::forget(c, sids))
    }

    async fn conversation_log(
        &self,
        conversation: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        read!(self, |c| common::conversation_log(
            c,
            conversation,
            after_seq,
            limit
        ))
    }

    async fn memberships(&self, service: &str, identity: &str) -> StoreResult<Memberships> {
        read!(self, |c| common::memberships(c, service, identity))
    }

    async fn prune_conversation_logs(&self, before: i64, limit: u32) -> StoreResult<u64> {
        read!(self, |c| common::prune_conversation_logs(c, before, limit))
    }

    async fn user_log(
        &self,
        service: &str,
        identity: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        read!(self, |c| common::user_log(
            c, service, identity, after_seq, limit
        ))
    }
}
