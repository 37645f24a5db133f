//! Media records: an upload's record once its bytes are stored, and who may see it. The bytes
//! themselves are the server's (`confab-media`); a message takes uploads by SID.

use confab_protocol::ErrorCode;
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

/// A media type as stored and served: one `type/subtype` of token characters, lowercased,
/// with its parameters if any; anything else (a list, a stray comma, control characters) is
/// refused with 20001, since a browser reads `image/png, text/html` as HTML.
pub fn media_type(content_type: &str) -> DomainResult<String> {
    let bad = || {
        DomainError::invalid(format!(
            "Content-Type must be one media type (type/subtype), not {content_type:?}"
        ))
    };
    if content_type.len() > 255 || content_type.contains(',') {
        return Err(bad());
    }
    let (essence, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    let (kind, sub) = essence.trim().split_once('/').ok_or_else(bad)?;
    if !token(kind) || !token(sub) {
        return Err(bad());
    }
    if params
        .chars()
        .any(|c| !c.is_ascii() || c.is_ascii_control())
    {
        return Err(bad());
    }
    let essence = essence.trim().to_ascii_lowercase();
    Ok(match params.trim() {
        "" => essence,
        p => format!("{essence}; {p}"),
    })
}

impl Domain {
    /// Checks an upload's description before its bytes are taken: the actor may use the
    /// service, and the category, type ([`media_type`]) and name are acceptable. Returns the
    /// service.
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
        media_type(content_type)?;
        if let Some(f) = filename {
            validate::name("Filename", f, 255)?;
        }
        Ok(sid)
    }

    /// Records an upload by `actor` (its author: the identity, or the empty string for the
    /// app backend, which no identity can be: a user named `system` owns nothing of the
    /// backend's). A message may take it until `ttl_ms` from now; after that it is swept.
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
        let content_type = media_type(&upload.content_type)?;
        let author = match actor {
            Actor::User { identity, .. } => identity.clone(),
            Actor::Backend { .. } => String::new(),
        };
        let now = self.now();
        let new = NewMedia {
            sid: upload.sid,
            author,
            category: upload.category,
            content_type,
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
            // Refused as not there, saying nothing; a store failure stays one (a client
            // would take a 404 as final).
            self.access(actor, Some(service.as_str()), conversation.as_str())
                .await
                .map_err(|e| match e.code {
                    ErrorCode::NotFound | ErrorCode::Forbidden => not_found(),
                    _ => e,
                })?;
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

#[cfg(test)]
mod tests {
    use super::media_type;

    #[test]
    fn a_media_type_is_one_type_lowercased_and_a_list_is_refused() {
        assert_eq!(media_type("Image/PNG").unwrap(), "image/png");
        assert_eq!(
            media_type("text/plain;charset=utf-8").unwrap(),
            "text/plain; charset=utf-8"
        );
        for bad in [
            "image/png, text/html",
            "text/html,",
            "png",
            "image/",
            "/png",
            "a/b\nc",
            "ima ge/png",
        ] {
            assert_eq!(media_type(bad).unwrap_err().code.code(), 20001, "{bad:?}");
        }
    }
}
