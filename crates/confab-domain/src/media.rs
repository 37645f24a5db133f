//! Media records: an upload's record once its bytes are stored, and who may see it. The bytes
//! themselves are the server's (`confab-media`); a message takes uploads by SID.

use confab_protocol::entity::Media;
use confab_protocol::sid::{Sid, SidKind};
use confab_store::{NewMedia, SweptMedia};

use crate::{Actor, Domain, DomainError, DomainResult, validate};

/// The categories of the reference's media: an attachment, or an email's body or history.
const CATEGORIES: [&str; 3] = ["media", "body", "history"];

/// An upload whose bytes are stored, to record ([`Domain::add_media`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// `ME…`, under which the bytes are stored.
    pub sid: Sid,
    /// `media` (the default), `body` or `history`.
    pub category: String,
    /// Its MIME type, as the uploader said.
    pub content_type: String,
    /// Its file name, if given.
    pub filename: Option<String>,
    /// Its size in bytes.
    pub size: i64,
}

impl Domain {
    /// Checks an upload's description before its bytes are taken: the actor may use the
    /// service, and the category, type and name are acceptable. Returns the service.
    pub async fn check_upload(
        &self,
        actor: &Actor,
        service: Option<&str>,
        category: &str,
        content_type: &str,
        filename: Option<&str>,
    ) -> DomainResult<Sid> {
        let sid = self.existing_service(actor, service).await?;
        if !CATEGORIES.contains(&category) {
            return Err(DomainError::invalid(format!(
                "Category must be media, body or history, not {category:?}"
            )));
        }
        validate::name("Content-Type", content_type, 255)?;
        if content_type.is_empty() {
            return Err(DomainError::invalid("a Content-Type is required"));
        }
        if let Some(f) = filename {
            validate::name("Filename", f, 255)?;
        }
        Ok(sid)
    }

    /// Records an upload by `actor` (its author: the identity, or `system` for the app
    /// backend). A message may take it until `ttl_ms` from now; after that it is swept.
    pub async fn add_media(
        &self,
        actor: &Actor,
        service: Option<&str>,
        upload: Upload,
        ttl_ms: i64,
    ) -> DomainResult<Media> {
        let sid = self
            .check_upload(
                actor,
                service,
                &upload.category,
                &upload.content_type,
                upload.filename.as_deref(),
            )
            .await?;
        let author = match actor {
            Actor::User { identity, .. } => identity.clone(),
            Actor::Backend { .. } => "system".into(),
        };
        let now = self.now();
        let new = NewMedia {
            sid: upload.sid,
            author,
            category: upload.category,
            content_type: upload.content_type,
            filename: upload.filename,
            size: upload.size,
            date_created: now,
            expires: now.saturating_add(ttl_ms),
        };
        Ok(self.store().add_media(sid.as_str(), new).await?)
    }

    /// A media record as `actor` may see it: the app backend any; a user its own uploads and
    /// the media of messages in conversations it takes part in. Anything else is 20404,
    /// saying nothing of what exists.
    pub async fn media(
        &self,
        actor: &Actor,
        service: Option<&str>,
        sid: &str,
    ) -> DomainResult<Media> {
        let not_found = || DomainError::not_found(format!("Media {sid}"));
        let service = self.service_for(actor, service)?;
        validate::sid_param("Sid", SidKind::Media, sid).map_err(|_| not_found())?;
        let media = self
            .store()
            .media(service.as_str(), sid)
            .await?
            .ok_or_else(not_found)?;
        if let Actor::User { identity, .. } = actor
            && media.author != *identity
        {
            let Some(conversation) = &media.conversation_sid else {
                return Err(not_found());
            };
            self.access(actor, Some(service.as_str()), conversation.as_str())
                .await
                .map_err(|_| not_found())?;
        }
        Ok(media)
    }

    /// Condemns the uploads that expired unattached and returns at most `limit` media whose
    /// bytes are to go (see [`confab_store::Store::condemn_media`]).
    pub async fn condemned_media(&self, limit: u32) -> DomainResult<Vec<SweptMedia>> {
        Ok(self.store().condemn_media(self.now(), limit).await?)
    }

    /// Forgets condemned media whose bytes are gone.
    pub async fn forget_media(&self, sids: &[Sid]) -> DomainResult<()> {
        Ok(self.store().forget_media(sids).await?)
    }
}
