//! The domain service: every Confab operation, implemented once, over `Arc<dyn Store>`.
//!
//! The REST API and the realtime endpoint are thin adapters over [`Domain`]: they turn a
//! request into an [`Actor`] and an input struct, call one method, and render the result. So
//! authorization, validation, limits and persistence behave the same whichever door a request
//! came through. The realtime endpoint also reads the event logs through it (`logs`), never
//! the store itself.
//!
//! Each write is one store transaction that also appends the change's encoded event to the log.
//! The store hands each committed write's events, in commit order, to the domain's listener,
//! which passes them to its [`EventSink`] (the server's fan-out hub): right after the commit,
//! before the write is answered, and whether or not its caller is still there. The sink is a
//! hint for live delivery: sessions check every stream's `seq` and read the log for anything
//! missing, so the log stays the truth.

mod authz;
mod conversations;
mod error;
mod logs;
mod media;
mod messages;
mod participants;
mod roles;
mod services;
mod users;
mod validate;

use std::sync::{Arc, RwLock};

use confab_protocol::entity::{Millis, Service};
use confab_protocol::limits::Limits;
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{
    CommitListener, Configuration, ConfigurationUpdate, Cursor, LogEvent, NewService, Order,
    PageRequest, Store, Stream,
};

pub use conversations::{ConversationInput, UpdateConversation};
pub use error::{DomainError, DomainResult};
pub use media::{Upload, media_type};
pub use messages::{CreateMessage, UpdateMessage};
pub use participants::{CreateParticipant, ReadMode, ReadState, UpdateParticipant};
pub use roles::{CONVERSATION_PERMISSIONS, CreateRole, SERVICE_PERMISSIONS, default_roles};
pub use services::UpdateServiceConfiguration;
pub use users::{CreateUser, UpdateUser, UpdateUserConversation};

/// Who is calling. Every operation takes one; nothing is done on nobody's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An app backend through the REST API, authenticated with the account's credentials or an
    /// API key (its SID is kept for rate limiting and audit).
    Backend {
        /// The account SID or API key SID that authenticated.
        credential: String,
    },
    /// A user through the realtime endpoint, authenticated by an access token.
    User {
        /// The token's service.
        service: Sid,
        /// The token's identity.
        identity: String,
    },
}

/// Where committed events go for live delivery (the server's hub). Called once per committed
/// write with its events in `seq` order; it must not block.
pub trait EventSink: Send + Sync + 'static {
    /// Takes the events of one committed write.
    fn publish(&self, events: &[LogEvent]);

    /// A user's friendly name, attributes or role changed (through either door); the server
    /// tells the users who share a conversation with it. Users are not logged, so this is
    /// news, not an event.
    fn user_changed(&self, _service: &Sid, _identity: &str) {}
}

/// A sink that drops everything: for tools and tests without live delivery.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSink;

impl EventSink for NoSink {
    fn publish(&self, _: &[LogEvent]) {}
}

/// The source of time, injected so that tests control it.
pub trait Clock: Send + Sync + 'static {
    /// Unix time in milliseconds.
    fn now_millis(&self) -> Millis;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A page as asked for by a caller: size not yet checked, cursor from a page token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageParams {
    /// Requested page size.
    pub size: Option<u32>,
    /// Order (messages only; other lists are oldest first).
    pub order: Order,
    /// Where to start.
    pub cursor: Option<Cursor>,
}

/// The domain service. Cheap to clone.
#[derive(Clone)]
pub struct Domain {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn EventSink>,
    roles: authz::RoleCache,
    access: Arc<authz::AccessCache>,
    /// The default service, cached: unscoped REST paths and tokens without a service use it on
    /// every call, and it changes only through [`Domain::update_configuration`].
    default_service: RwLock<Sid>,
}

/// What the store tells of each committed write, in commit order: a change to a conversation
/// other than its messages (participants, roles, the conversation itself) makes the access
/// cache forget the conversation, and the events go to the sink for live delivery.
struct Commits {
    access: Arc<authz::AccessCache>,
    sink: Arc<dyn EventSink>,
}

impl CommitListener for Commits {
    fn committed(&self, events: &[LogEvent]) {
        for event in events {
            if let Stream::Conversation(sid) = &event.stream
                && !is_message_event(&event.frame)
            {
                self.access.forget(sid);
            }
        }
        self.sink.publish(events);
    }
}

/// Whether an encoded event is a message's (`messageAdded`, `messageUpdated`,
/// `messageRemoved`), by the type in its head (frames are encoded with `type` before `data`).
fn is_message_event(frame: &[u8]) -> bool {
    const MARK: &[u8] = br#""type":"message"#;
    let head = &frame[..frame.len().min(160)];
    head.windows(MARK.len()).any(|w| w == MARK)
}

/// A fresh SID of `kind`: the time in milliseconds (48 bits), then 80 random bits, as a
/// UUIDv7 is made. Time first puts each new row at the end of its table's SID index; a wholly
/// random SID dirtied a page somewhere in that index for every insert, and each dirty page is
/// 4 KiB of WAL at commit (`confab bench writes`). 80 random bits keep a SID unguessable.
pub fn new_sid(kind: SidKind) -> Sid {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut bytes: [u8; 16] = rand::random();
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Sid::from_random(kind, bytes)
}

impl Domain {
    /// Starts the domain over `store` without live delivery (see [`Domain::start_with_sink`]).
    pub async fn start(
        store: Arc<dyn Store>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> DomainResult<Domain> {
        Self::start_with_sink(store, limits, clock, Arc::new(NoSink)).await
    }

    /// Starts the domain over `store`, handing committed events to `sink`: creates the
    /// account's default service on first start.
    pub async fn start_with_sink(
        store: Arc<dyn Store>,
        limits: Limits,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn EventSink>,
    ) -> DomainResult<Domain> {
        let now = clock.now_millis();
        let sid = new_sid(SidKind::Service);
        let default = NewService {
            roles: default_roles(&sid, now),
            service: Service {
                sid,
                friendly_name: "Default Conversations Service".into(),
                date_created: now,
                date_updated: now,
            },
        };
        let cfg = store.init_account(default).await?;
        let access = Arc::new(authz::AccessCache::default());
        store.listen(Arc::new(Commits {
            access: access.clone(),
            sink: sink.clone(),
        }));
        Ok(Domain {
            inner: Arc::new(Inner {
                store,
                limits,
                clock,
                sink,
                roles: authz::RoleCache::default(),
                access,
                default_service: RwLock::new(cfg.default_chat_service_sid),
            }),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub(crate) fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    pub(crate) fn roles_cache(&self) -> &authz::RoleCache {
        &self.inner.roles
    }

    pub(crate) fn access_cache(&self) -> &authz::AccessCache {
        &self.inner.access
    }

    /// The clock in force.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub(crate) fn now(&self) -> Millis {
        self.inner.clock.now_millis()
    }

    /// The account's default service.
    pub fn default_service(&self) -> Sid {
        match self.inner.default_service.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Resolves the service a call addresses (`None`: the default) and checks the actor may
    /// use it: a user only ever acts within its token's service.
    pub(crate) fn service_for(&self, actor: &Actor, service: Option<&str>) -> DomainResult<Sid> {
        let sid = match service {
            Some(s) => Sid::parse(SidKind::Service, s)
                .ok_or_else(|| DomainError::not_found(format!("Service {s}")))?,
            None => self.default_service(),
        };
        match actor {
            Actor::User { service: own, .. } if *own != sid => {
                Err(DomainError::forbidden("not a member of this service"))
            }
            _ => Ok(sid),
        }
    }

    /// The page size in force for a request that asked for `requested` of a list whose
    /// largest page is `max` (see [`Limits`]). More than `max` gets `max`: the reference
    /// product's helper libraries send `list(limit=N)` as `PageSize=N` for any N, and the
    /// page says the size it used. 0 stays 0, for [`Domain::page_within`] to refuse.
    pub fn page_size(&self, requested: Option<u32>, max: u32) -> u32 {
        requested
            .map_or(self.inner.limits.default_page_size, |r| r.min(max))
            .min(max)
    }

    /// Like [`Domain::service_for`], and the service must exist.
    pub(crate) async fn existing_service(
        &self,
        actor: &Actor,
        service: Option<&str>,
    ) -> DomainResult<Sid> {
        let sid = self.service_for(actor, service)?;
        match self.store().service(sid.as_str()).await? {
            Some(_) => Ok(sid),
            None => Err(DomainError::not_found(format!("Service {sid}"))),
        }
    }

    /// Checks a page request against the limits and builds the store's request.
    pub(crate) fn page(&self, p: PageParams) -> DomainResult<PageRequest> {
        self.page_within(p, self.inner.limits.max_page_size)
    }

    /// Like [`Domain::page`] for lists with a smaller largest page.
    pub(crate) fn page_within(&self, p: PageParams, max: u32) -> DomainResult<PageRequest> {
        let size = self.page_size(p.size, max);
        if size == 0 {
            return Err(DomainError::invalid(format!(
                "PageSize must be between 1 and {max} (a larger one reads as {max})"
            )));
        }
        Ok(PageRequest {
            size,
            order: p.order,
            cursor: p.cursor,
        })
    }

    /// The account configuration.
    pub async fn configuration(&self, actor: &Actor) -> DomainResult<Configuration> {
        require_backend(actor)?;
        Ok(self.store().configuration().await?)
    }

    /// Changes the account configuration.
    pub async fn update_configuration(
        &self,
        actor: &Actor,
        update: ConfigurationUpdate,
    ) -> DomainResult<Configuration> {
        require_backend(actor)?;
        if let Some(s) = &update.default_chat_service_sid {
            validate::sid_param("DefaultChatServiceSid", SidKind::Service, s)?;
        }
        if let Some(s) = &update.default_messaging_service_sid {
            validate::messaging_service_sid("DefaultMessagingServiceSid", s)?;
        }
        if let Some(t) = &update.default_inactive_timer {
            validate::duration("DefaultInactiveTimer", t, 60)?;
        }
        if let Some(t) = &update.default_closed_timer {
            validate::duration("DefaultClosedTimer", t, 600)?;
        }
        let cfg = self.store().update_configuration(update).await?;
        if let Ok(mut g) = self.inner.default_service.write() {
            *g = cfg.default_chat_service_sid.clone();
        }
        Ok(cfg)
    }
}

/// Account-level operations are for app backends only.
pub(crate) fn require_backend(actor: &Actor) -> DomainResult<()> {
    match actor {
        Actor::Backend { .. } => Ok(()),
        Actor::User { .. } => Err(DomainError::forbidden("only an app backend may do this")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_sids_are_valid_distinct_and_ordered_by_time() {
        let first = new_sid(SidKind::Message);
        // The next millisecond, waited for on the clock itself (no sleep).
        let start = std::time::SystemTime::now();
        while start.elapsed().unwrap_or_default() < std::time::Duration::from_millis(2) {
            std::hint::spin_loop();
        }
        let second = new_sid(SidKind::Message);
        let third = new_sid(SidKind::Message);
        for sid in [&first, &second, &third] {
            assert!(confab_protocol::sid::is_sid(SidKind::Message, sid.as_str()));
        }
        assert!(first < second, "{first} was made before {second}");
        assert_ne!(
            second, third,
            "SIDs of one millisecond differ by their random part"
        );
    }
}
