//! Media: files uploaded to the server's media service and attached to a message, and the
//! temporary URLs their content is read from. The service's paths and limits come from the
//! server's `welcome` (`docs/PROTOCOL.md`, "Media").

use std::collections::HashMap;
use std::time::Duration;

use confab_protocol::ErrorCode;
use confab_protocol::entity::{Message, MessageMedia};
use confab_protocol::frame::MediaService;
use confab_protocol::method as m;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{ClientError, Link};

/// Statuses that say "not now": an upload is tried again after them. So is a connection that
/// could not be made or broke off (an upload that did arrive is then left unattached, and
/// swept within the hour).
const RETRIED: [u16; 4] = [429, 502, 503, 504];
/// How long making a connection to the media service, and then each read, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The HTTP client of the media service: a stalled connection fails (and is tried again)
/// instead of hanging; a large upload may take as long as it keeps moving.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .unwrap_or_default()
}
/// Tries of one upload in all.
const UPLOAD_TRIES: u32 = 5;
/// The first wait before trying again; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// The most media one temporary-URL request asks about (the server's limit).
const SET_MAX: usize = 100;

/// What a file is for: an attachment, or an email's body or history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaCategory {
    /// An attachment.
    Media,
    /// An email's body.
    Body,
    /// An email's history.
    History,
}

impl MediaCategory {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaCategory::Media => "media",
            MediaCategory::Body => "body",
            MediaCategory::History => "history",
        }
    }

    /// The category a listed file names (an unknown one reads as an attachment).
    pub fn of(media: &MessageMedia) -> MediaCategory {
        match media.category.as_str() {
            "body" => MediaCategory::Body,
            "history" => MediaCategory::History,
            _ => MediaCategory::Media,
        }
    }
}

/// Whether a message carries files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// Text only.
    Text,
    /// It carries files (and perhaps text).
    Media,
}

/// A file to upload and attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUpload {
    /// Its MIME type (`image/png`, ...).
    pub content_type: String,
    /// Its name, if it has one.
    pub filename: Option<String>,
    /// What it is for.
    pub category: MediaCategory,
    /// Its bytes.
    pub data: Vec<u8>,
}

impl MediaUpload {
    /// An attachment of `content_type`, without a name.
    pub fn new(content_type: impl Into<String>, data: impl Into<Vec<u8>>) -> MediaUpload {
        MediaUpload {
            content_type: content_type.into(),
            filename: None,
            category: MediaCategory::Media,
            data: data.into(),
        }
    }

    /// The same file, named.
    pub fn filename(mut self, name: impl Into<String>) -> MediaUpload {
        self.filename = Some(name.into());
        self
    }

    /// The same file, of another category.
    pub fn category(mut self, category: MediaCategory) -> MediaUpload {
        self.category = category;
        self
    }
}

/// The limits of what one message may carry, as the server told them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Files one message may carry.
    pub attachments_count_limit: u32,
    /// The largest file, in bytes.
    pub attachment_size_limit: u64,
    /// The files of one message together, in bytes.
    pub attachments_total_size_limit: u64,
}

impl From<&MediaService> for MediaLimits {
    fn from(m: &MediaService) -> MediaLimits {
        MediaLimits {
            attachments_count_limit: m.attachments_count_limit,
            attachment_size_limit: m.attachment_size_limit,
            attachments_total_size_limit: m.attachments_total_size_limit,
        }
    }
}

/// What the driver tells an upload: the media service, the token in use, the server's origin.
pub(crate) struct MediaAccess {
    pub(crate) service: Option<MediaService>,
    pub(crate) token: String,
    pub(crate) base: String,
}

fn http_error(e: &reqwest::Error) -> ClientError {
    ClientError {
        code: ErrorCode::Unavailable.code(),
        message: format!("the media service could not be reached: {e}"),
    }
}

/// The server's `{code, message}` in `body`, or one made of the status.
fn answer_error(status: u16, body: &[u8]) -> ClientError {
    #[derive(Deserialize)]
    struct Wire {
        code: u32,
        message: String,
    }
    match serde_json::from_slice::<Wire>(body) {
        Ok(w) => ClientError {
            code: w.code,
            message: w.message,
        },
        Err(_) => ClientError {
            code: 20_000 + u32::from(status),
            message: format!("the media service answered {status}"),
        },
    }
}

impl Link {
    async fn media_access(&self) -> Result<(MediaService, String, String), ClientError> {
        let access = self.media().await?;
        let service = access.service.ok_or_else(|| ClientError {
            code: ErrorCode::Unavailable.code(),
            message: "the server has not named its media service: media needs a first connection"
                .into(),
        })?;
        Ok((service, access.token, access.base))
    }

    /// The media limits, once a first connection has told them.
    pub(crate) async fn media_limits(&self) -> Result<MediaLimits, ClientError> {
        Ok(MediaLimits::from(&self.media_access().await?.0))
    }

    /// Uploads `files` (checked against the limits first, then one after another, each
    /// retried on 429/502/503/504 and lost connections with backoff) and sends a message
    /// carrying them, with `body` and `attributes`.
    pub(crate) async fn send_with_media(
        &self,
        conversation: &str,
        body: Option<String>,
        attributes: Option<Value>,
        files: Vec<MediaUpload>,
    ) -> Result<Message, ClientError> {
        let mut media = Vec::with_capacity(files.len());
        if !files.is_empty() {
            let (service, _, base) = self.media_access().await?;
            check_limits(&files, &service)?;
            let url = format!("{base}{}", service.service_url);
            for file in files {
                media.push(self.upload(&url, file).await?);
            }
        } else if body.as_deref().is_none_or(str::is_empty) {
            return Err(ClientError::invalid("a message needs a body or media"));
        }
        self.call::<m::MessageSend>(m::MessageSendParams {
            conversation: conversation.to_owned(),
            body,
            attributes,
            media,
        })
        .await
    }

    /// One upload; resolves with the new media's SID. Each try takes the token in use then (a
    /// renewal may come between them).
    async fn upload(&self, url: &str, file: MediaUpload) -> Result<String, ClientError> {
        let mut query = vec![("Category", file.category.as_str().to_owned())];
        if let Some(name) = &file.filename {
            query.push(("Filename", name.clone()));
        }
        // Shared by every try of the upload, not copied.
        let data = bytes::Bytes::from(file.data);
        let mut wait = BACKOFF_MIN;
        for attempt in 1..=UPLOAD_TRIES {
            let token = self.media().await?.token;
            let sent = self
                .http
                .post(url)
                .query(&query)
                .header("X-Twilio-Token", &token)
                .header(reqwest::header::CONTENT_TYPE, &file.content_type)
                .body(data.clone())
                .send()
                .await;
            let retry = match sent {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body = res.bytes().await.map_err(|e| http_error(&e))?;
                    if status == 201 || status == 200 {
                        #[derive(Deserialize)]
                        struct Record {
                            sid: String,
                        }
                        let r: Record = serde_json::from_slice(&body).map_err(|e| ClientError {
                            code: ErrorCode::Internal.code(),
                            message: format!("unexpected answer to an upload: {e}"),
                        })?;
                        return Ok(r.sid);
                    }
                    if !RETRIED.contains(&status) || attempt == UPLOAD_TRIES {
                        return Err(answer_error(status, &body));
                    }
                    format!("answered {status}")
                }
                // Only a connection that failed is worth another try; a request that could
                // not be made (a bad header value) never will be.
                Err(e)
                    if attempt == UPLOAD_TRIES
                        || e.is_builder()
                        || !(e.is_connect() || e.is_timeout() || e.is_request()) =>
                {
                    return Err(http_error(&e));
                }
                Err(e) => e.to_string(),
            };
            tracing::info!(%retry, ?wait, "upload: trying again");
            // Jittered, so that clients refused together do not come back together.
            tokio::time::sleep(wait.mul_f64(0.5 + rand::random::<f64>() / 2.0)).await;
            wait = (wait * 2).min(BACKOFF_MAX);
        }
        Err(ClientError::gone())
    }

    /// Temporary content URLs of media by SID (a few minutes each).
    pub(crate) async fn temporary_urls(
        &self,
        sids: &[String],
    ) -> Result<HashMap<String, String>, ClientError> {
        let (service, token, base) = self.media_access().await?;
        let mut urls = HashMap::with_capacity(sids.len());
        for chunk in sids.chunks(SET_MAX) {
            let list: Vec<Value> = chunk.iter().map(|s| json!({"media_sid": s})).collect();
            let res = self
                .http
                .post(format!("{base}{}", service.set_url))
                .header("X-Twilio-Token", &token)
                .json(&json!({"command": "get", "list": list}))
                .send()
                .await
                .map_err(|e| http_error(&e))?;
            let status = res.status().as_u16();
            let body = res.bytes().await.map_err(|e| http_error(&e))?;
            if status != 200 {
                return Err(answer_error(status, &body));
            }
            let items: Vec<Value> = serde_json::from_slice(&body).map_err(|e| ClientError {
                code: ErrorCode::Internal.code(),
                message: format!("unexpected answer to a media set: {e}"),
            })?;
            for item in items {
                let record = &item["media_record"];
                let sid = record["sid"].as_str().unwrap_or_default().to_owned();
                if item["code"] != 200 {
                    return Err(ClientError {
                        code: ErrorCode::NotFound.code(),
                        message: format!("media {sid} is not found"),
                    });
                }
                if let Some(url) = record["links"]["content_direct_temporary"].as_str() {
                    urls.insert(sid, url.to_owned());
                }
            }
        }
        Ok(urls)
    }
}

/// Refuses, before anything is uploaded, what the server would refuse after.
fn check_limits(files: &[MediaUpload], service: &MediaService) -> Result<(), ClientError> {
    // Every file counts, an email's body and history too, as the server counts them.
    if files.len() > service.attachments_count_limit as usize {
        return Err(ClientError::invalid(&format!(
            "a message carries at most {} media files",
            service.attachments_count_limit
        )));
    }
    let too_large = |what: String, limit: u64| ClientError {
        code: ErrorCode::PayloadTooLarge.code(),
        message: format!("{what}: the limit is {limit} bytes"),
    };
    let mut total: u64 = 0;
    for f in files {
        let size = f.data.len() as u64;
        if size > service.attachment_size_limit {
            return Err(too_large(
                format!(
                    "{} is {size} bytes",
                    f.filename.as_deref().unwrap_or("the file")
                ),
                service.attachment_size_limit,
            ));
        }
        total += size;
    }
    if total > service.attachments_total_size_limit {
        return Err(too_large(
            format!("the files are {total} bytes together"),
            service.attachments_total_size_limit,
        ));
    }
    Ok(())
}
