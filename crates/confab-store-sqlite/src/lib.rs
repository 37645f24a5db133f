//! The embedded SQLite backend of [`confab_store::Store`], the default of `confab serve`.
//!
//! - WAL journal, `synchronous=FULL` by default: a write is acknowledged after its commit is on
//!   disk and survives power loss. `NORMAL` is an option (survives a process crash only).
//! - One writer thread owns the only read-write connection and group-commits every write queued
//!   while the previous batch was committing ([`writer`]).
//! - A pool of reader threads with read-only connections serves every read ([`reader`]).
//! - Migrations live in `migrations/` and run on open ([`schema`]).

mod checkpoint;
mod common;
mod conversations;
mod handoff;
mod media;
mod messages;
mod participants;
mod reader;
mod rows;
mod schema;
mod services;
mod users;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use confab_protocol::entity::{
    Conversation, Media, Message, Millis, Participant, Role, Service, User,
};
use confab_protocol::sid::Sid;
use confab_store::*;
use rusqlite::{Connection, OpenFlags};

use crate::reader::Readers;
use crate::writer::Writer;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync on every commit: acknowledged writes survive power loss (the default).
    #[default]
    Full,
    /// fsync at checkpoints only: acknowledged writes survive a process crash, not power loss.
    Normal,
}

/// Options for opening the store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// The database file.
    pub path: PathBuf,
    /// Commit durability.
    pub synchronous: Synchronous,
    /// Reader threads (connections).
    pub readers: usize,
    /// Most writes committed in one transaction.
    pub max_batch: usize,
    /// Writes that may wait for the writer before callers are held back.
    pub queue_capacity: usize,
}

impl SqliteOptions {
    /// Defaults for a database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            synchronous: Synchronous::Full,
            readers: 4,
            max_batch: 512,
            queue_capacity: 8192,
        }
    }
}

/// The SQLite store.
pub struct SqliteStore {
    // Field order matters on drop: the writer finishes its queue before readers close.
    writer: Writer,
    listener: handoff::HandoffSlot,
    readers: Readers,
    /// Taken (and stopped) by `close`, so that a closed store holds no connection.
    checkpointer: std::sync::Mutex<Option<checkpoint::Checkpointer>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// WAL pages after which the writer checkpoints itself (64 MiB of 4 KiB pages); SQLite's
/// default is 1,000. See `checkpoint` for why checkpoints are rare.
const WRITER_CHECKPOINT_PAGES: i64 = 16_384;

fn open_conn(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A larger page cache: with a thousand busy conversations every message touches its own
    // index pages. No memory map: the file grows under load, every connection then maps it
    // anew, and each unmapping flushed the TLBs of both cores (with a 1 GiB map, `confab bench
    // fanout` spent 21.7 us of server CPU per delivery, 17 us without).
    conn.pragma_update(None, "mmap_size", 0i64)?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    // Each write in a batch runs in a savepoint (a failing one is undone alone), whose
    // journal of page copies went to a temp file: a tenth of the server's time in `pwrite`.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database and migrates it.
    pub fn open(opts: &SqliteOptions) -> Result<SqliteStore, StoreError> {
        let e = |e: rusqlite::Error| StoreError::Backend(format!("{}: {e}", opts.path.display()));
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = open_conn(&opts.path, rw).map_err(e)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(e)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "could not enable WAL (journal_mode is {mode})"
            )));
        }
        let sync = match opts.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).map_err(e)?;
        schema::migrate(&mut conn).map_err(e)?;
        // Most checkpoint work runs on its own thread (see `checkpoint`). The writer keeps its
        // automatic checkpoint, at a high threshold: only a checkpoint between its own commits
        // can finish the WAL, and only a finished WAL starts over (without it the file grew
        // by 160 MB a second under load). It then finds most pages copied already. A WAL that
        // grew in a burst is cut back to 64 MiB when it starts over.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
            .map_err(e)?;
        conn.pragma_update(None, "journal_size_limit", 64i64 << 20)
            .map_err(e)?;
        let checkpointer = open_conn(&opts.path, rw).map_err(e)?;
        checkpointer
            .pragma_update(None, "synchronous", sync)
            .map_err(e)?;
        let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let readers = (0..opts.readers.max(1))
            .map(|_| open_conn(&opts.path, ro))
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        let io = |err: std::io::Error| StoreError::Backend(format!("start store threads: {err}"));
        let listener = handoff::HandoffSlot::default();
        Ok(SqliteStore {
            writer: Writer::start(
                conn,
                opts.queue_capacity.max(1),
                opts.max_batch.max(1),
                listener.clone(),
            )
            .map_err(io)?,
            listener,
            readers: Readers::start(readers).map_err(io)?,
            checkpointer: std::sync::Mutex::new(Some(
                checkpoint::Checkpointer::start(checkpointer, &opts.path).map_err(io)?,
            )),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn listen(&self, listener: std::sync::Arc<dyn confab_store::CommitListener>) {
        let _ = self.listener.set(handoff::Handoff::new(listener));
    }

    async fn init_account(&self, default_service: NewService) -> StoreResult<Configuration> {
        self.writer
            .write(move |c| conversations::init_account(c, &default_service))
            .await
    }

    async fn configuration(&self) -> StoreResult<Configuration> {
        self.readers
            .read(|c| {
                conversations::configuration(c)?
                    .ok_or_else(|| StoreError::NotFound("Configuration".into()))
            })
            .await
    }

    async fn update_configuration(
        &self,
        update: ConfigurationUpdate,
    ) -> StoreResult<Configuration> {
        self.writer
            .write(move |c| conversations::update_configuration(c, update))
            .await
    }

    async fn create_service(&self, service: NewService) -> StoreResult<Service> {
        self.writer
            .write(move |c| services::create(c, &service))
            .await
    }

    async fn service(&self, sid: &str) -> StoreResult<Option<Service>> {
        let sid = sid.to_owned();
        self.readers
            .read(move |c| conversations::service(c, &sid))
            .await
    }

    async fn list_services(&self, page: &PageRequest) -> StoreResult<Page<Service>> {
        let page = *page;
        self.readers.read(move |c| services::list(c, &page)).await
    }

    async fn delete_service(&self, sid: &str) -> StoreResult<()> {
        let sid = sid.to_owned();
        self.writer.write(move |c| services::delete(c, &sid)).await
    }

    async fn service_configuration(
        &self,
        service: &str,
    ) -> StoreResult<Option<ServiceConfiguration>> {
        let service = service.to_owned();
        self.readers
            .read(move |c| services::configuration(c, &service))
            .await
    }

    async fn update_service_configuration(
        &self,
        service: &str,
        update: ServiceConfigurationUpdate,
    ) -> StoreResult<ServiceConfiguration> {
        let service = service.to_owned();
        self.writer
            .write(move |c| services::update_configuration(c, &service, update))
            .await
    }

    async fn create_role(&self, role: Role) -> StoreResult<Role> {
        self.writer
            .write(move |c| services::insert_role(c, &role).map(|()| role))
            .await
    }

    async fn role(&self, service: &str, sid: &str) -> StoreResult<Option<Role>> {
        let (s, sid) = (service.to_owned(), sid.to_owned());
        self.readers
            .read(move |c| services::role(c, &s, &sid))
            .await
    }

    async fn update_role(
        &self,
        service: &str,
        sid: &str,
        permissions: Vec<String>,
        now: i64,
    ) -> StoreResult<Role> {
        let (s, sid) = (service.to_owned(), sid.to_owned());
        self.writer
            .write(move |c| services::update_role(c, &s, &sid, permissions, now))
            .await
    }

    async fn delete_role(&self, service: &str, sid: &str) -> StoreResult<()> {
        let (s, sid) = (service.to_owned(), sid.to_owned());
        self.writer
            .write(move |c| services::delete_role(c, &s, &sid))
            .await
    }

    async fn list_roles(&self, service: &str, page: &PageRequest) -> StoreResult<Page<Role>> {
        let (s, page) = (service.to_owned(), *page);
        self.readers
            .read(move |c| services::list_roles(c, &s, &page))
            .await
    }

    async fn create_user(&self, user: User) -> StoreResult<User> {
        self.writer.write(move |c| users::create(c, &user)).await
    }

    async fn user(&self, service: &str, sid_or_identity: &str) -> StoreResult<Option<User>> {
        let (s, key) = (service.to_owned(), sid_or_identity.to_owned());
        self.readers
            .read(move |c| Ok(users::find(c, &s, &key)?.map(|r| r.1)))
            .await
    }

    async fn update_user(&self, service: &str, sid: &str, patch: UserPatch) -> StoreResult<User> {
        let (s, sid) = (service.to_owned(), sid.to_owned());
        self.writer
            .write(move |c| users::update(c, &s, &sid, patch))
            .await
    }

    async fn delete_user(&self, service: &str, sid: &str) -> StoreResult<Committed<User>> {
        let (s, sid) = (service.to_owned(), sid.to_owned());
        let now = now_millis();
        self.writer
            .write_logged(move |c| users::delete(c, &s, &sid, now))
            .await
    }

    async fn list_users(&self, service: &str, page: &PageRequest) -> StoreResult<Page<User>> {
        let (s, page) = (service.to_owned(), *page);
        self.readers.read(move |c| users::list(c, &s, &page)).await
    }

    async fn user_conversations(
        &self,
        service: &str,
        user: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<UserConversation>> {
        let (s, u, page) = (service.to_owned(), user.to_owned(), *page);
        self.readers
            .read(move |c| users::conversations_of_user(c, &s, &u, &page))
            .await
    }

    async fn recent_conversations(
        &self,
        service: &str,
        identity: &str,
        size: u32,
        after: Option<ActivityKey>,
    ) -> StoreResult<RecentPage> {
        let (s, i) = (service.to_owned(), identity.to_owned());
        self.readers
            .read(move |c| users::recent_conversations(c, &s, &i, size, after))
            .await
    }

    async fn user_conversation(
        &self,
        service: &str,
        user: &str,
        conversation: &str,
    ) -> StoreResult<Option<UserConversation>> {
        let (s, u, conv) = (service.to_owned(), user.to_owned(), conversation.to_owned());
        self.readers
            .read(move |c| users::conversation_of_user(c, &s, &u, &conv))
            .await
    }

    async fn participant_conversations(
        &self,
        service: &str,
        query: &ParticipantQuery,
        page: &PageRequest,
    ) -> StoreResult<Page<ParticipantConversation>> {
        let (s, q, page) = (service.to_owned(), query.clone(), *page);
        self.readers
            .read(move |c| users::conversations_of_participant(c, &s, &q, &page))
            .await
    }

    async fn create_conversation_with_participants(
        &self,
        conversation: Conversation,
        participants: Vec<NewParticipant>,
        limits: &CountLimits,
    ) -> StoreResult<Committed<(Conversation, Vec<Participant>)>> {
        let limits = *limits;
        self.writer
            .write_logged(move |c| {
                conversations::create_with_participants(c, conversation, participants, &limits)
            })
            .await
    }

    async fn create_conversation(
        &self,
        conversation: Conversation,
    ) -> StoreResult<Committed<Conversation>> {
        self.writer
            .write_logged(move |c| conversations::create(c, conversation))
            .await
    }

    async fn conversation(
        &self,
        service: &str,
        sid_or_name: &str,
    ) -> StoreResult<Option<Conversation>> {
        let (service, key) = (service.to_owned(), sid_or_name.to_owned());
        self.readers
            .read(
                move |c| Ok(common::find_conversation(c, &service, &key)?.map(|r| r.conversation)),
            )
            .await
    }

    async fn update_conversation(
        &self,
        service: &str,
        sid: &str,
        patch: ConversationPatch,
    ) -> StoreResult<Committed<Conversation>> {
        let (service, sid) = (service.to_owned(), sid.to_owned());
        self.writer
            .write_logged(move |c| conversations::update(c, &service, &sid, patch))
            .await
    }

    async fn delete_conversation(
        &self,
        service: &str,
        sid: &str,
    ) -> StoreResult<Committed<Conversation>> {
        let (service, sid) = (service.to_owned(), sid.to_owned());
        let now = now_millis();
        self.writer
            .write_logged(move |c| conversations::delete(c, &service, &sid, now))
            .await
    }

    async fn list_conversations(
        &self,
        service: &str,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Conversation>> {
        let (service, filter, page) = (service.to_owned(), filter.clone(), *page);
        self.readers
            .read(move |c| conversations::list(c, &service, &filter, &page))
            .await
    }

    async fn add_participant(
        &self,
        service: &str,
        participant: NewParticipant,
        limits: &CountLimits,
    ) -> StoreResult<Committed<Participant>> {
        let (service, limits) = (service.to_owned(), *limits);
        self.writer
            .write_logged(move |c| participants::add(c, &service, participant, &limits))
            .await
    }

    async fn access_facts(
        &self,
        service: &str,
        conversation: &str,
        identity: &str,
    ) -> StoreResult<Option<AccessFacts>> {
        let (s, key, identity) = (
            service.to_owned(),
            conversation.to_owned(),
            identity.to_owned(),
        );
        self.readers
            .read(move |c| {
                let Some(conv) = common::find_conversation(c, &s, &key)? else {
                    return Ok(None);
                };
                let participant = participants::find_in(c, &conv, "identity", &identity)?;
                Ok(Some(AccessFacts {
                    participant: participant.map(|(_, p)| p),
                    user: users::find(c, &s, &identity)?.map(|(_, u)| u),
                    configuration: services::configuration(c, &s)?,
                    conversation: conv.conversation,
                }))
            })
            .await
    }

    async fn participant(
        &self,
        service: &str,
        conversation: &str,
        sid_or_identity: &str,
    ) -> StoreResult<Option<Participant>> {
        let (s, conv, key) = (
            service.to_owned(),
            conversation.to_owned(),
            sid_or_identity.to_owned(),
        );
        self.readers
            .read(move |c| Ok(participants::find(c, &s, &conv, &key)?.map(|r| r.2)))
            .await
    }

    async fn set_read_horizon(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        horizon: ReadHorizon,
    ) -> StoreResult<(Participant, Option<i64>)> {
        let (s, conv, sid) = (service.to_owned(), conversation.to_owned(), sid.to_owned());
        self.writer
            .write(move |c| participants::set_read_horizon(c, &s, &conv, &sid, &horizon))
            .await
    }

    async fn update_participant(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        patch: ParticipantPatch,
    ) -> StoreResult<Committed<Participant>> {
        let (s, conv, sid) = (service.to_owned(), conversation.to_owned(), sid.to_owned());
        self.writer
            .write_logged(move |c| participants::update(c, &s, &conv, &sid, patch))
            .await
    }

    async fn remove_participant(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Committed<Participant>> {
        let (s, conv, sid) = (service.to_owned(), conversation.to_owned(), sid.to_owned());
        let now = now_millis();
        self.writer
            .write_logged(move |c| participants::remove(c, &s, &conv, &sid, now))
            .await
    }

    async fn list_participants(
        &self,
        service: &str,
        conversation: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Participant>> {
        let (s, conv, page) = (service.to_owned(), conversation.to_owned(), *page);
        self.readers
            .read(move |c| participants::list(c, &s, &conv, &page))
            .await
    }

    async fn add_message(&self, service: &str, new: NewMessage) -> StoreResult<Committed<Message>> {
        let service = service.to_owned();
        // Every check comes before its first change (see `messages::add`).
        self.writer
            .write_logged_checked_first(move |c| messages::add(c, &service, new))
            .await
    }

    async fn message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Option<Message>> {
        let (s, conv, sid) = (service.to_owned(), conversation.to_owned(), sid.to_owned());
        self.readers
            .read(move |c| Ok(messages::find(c, &s, &conv, &sid)?.map(|r| r.2)))
            .await
    }

    async fn update_message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
        patch: MessagePatch,
    ) -> StoreResult<Committed<Message>> {
        let (s, conv, sid) = (service.to_owned(), conversation.to_owned(), sid.to_owned());
        self.writer
            .write_logged(move |c| messages::update(c, &s, &conv, &sid, patch))
            .await
    }

    async fn remove_message(
        &self,
        service: &str,
        conversation: &str,
        sid: &str,
    ) -> StoreResult<Committed<Message>> {
        let (s, conv, sid) = (service.to_owned(), conversation.to_owned(), sid.to_owned());
        let now = now_millis();
        self.writer
            .write_logged(move |c| messages::remove(c, &s, &conv, &sid, now))
            .await
    }

    async fn list_messages(
        &self,
        service: &str,
        conversation: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<Message>> {
        let (s, conv, page) = (service.to_owned(), conversation.to_owned(), *page);
        self.readers
            .read(move |c| messages::list(c, &s, &conv, &page))
            .await
    }

    async fn close(&self) {
        self.writer.close().await;
        let checkpointer = self
            .checkpointer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        // Stopping it waits for a checkpoint under way: not on the async threads.
        let _ = tokio::task::spawn_blocking(move || drop(checkpointer)).await;
    }

    async fn conversation_heads(
        &self,
        conversations: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        let sids = conversations.to_vec();
        self.readers
            .read(move |c| common::conversation_heads(c, &sids))
            .await
    }

    async fn user_heads(
        &self,
        service: &str,
        identities: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        let (service, identities) = (service.to_owned(), identities.to_vec());
        self.readers
            .read(move |c| common::user_heads(c, &service, &identities))
            .await
    }

    async fn add_media(&self, service: &str, new: NewMedia) -> StoreResult<Media> {
        let service = service.to_owned();
        self.writer
            .write(move |c| media::add(c, &service, new))
            .await
    }

    async fn media(&self, service: &str, sid: &str) -> StoreResult<Option<Media>> {
        let (s, sid) = (service.to_owned(), sid.to_owned());
        self.readers.read(move |c| media::find(c, &s, &sid)).await
    }

    async fn condemn_media(&self, now: Millis, limit: u32) -> StoreResult<Vec<SweptMedia>> {
        self.writer
            .write(move |c| media::condemn(c, now, limit))
            .await
    }

    async fn forget_media(&self, sids: &[Sid]) -> StoreResult<()> {
        let sids = sids.to_vec();
        self.writer.write(move |c| media::forget(c, &sids)).await
    }

    async fn conversation_log(
        &self,
        conversation: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        let conv = conversation.to_owned();
        self.readers
            .read(move |c| common::conversation_log(c, &conv, after_seq, limit))
            .await
    }

    async fn memberships(&self, service: &str, identity: &str) -> StoreResult<Memberships> {
        let (s, identity) = (service.to_owned(), identity.to_owned());
        self.readers
            .read(move |c| common::memberships(c, &s, &identity))
            .await
    }

    async fn prune_conversation_logs(&self, before: i64, limit: u32) -> StoreResult<u64> {
        self.writer
            .write(move |c| common::prune_conversation_logs(c, before, limit))
            .await
    }

    async fn user_log(
        &self,
        service: &str,
        identity: &str,
        after_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<LogEntry>> {
        let (s, identity) = (service.to_owned(), identity.to_owned());
        self.readers
            .read(move |c| common::user_log(c, &s, &identity, after_seq, limit))
            .await
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
