//! The media service, at the paths the client configuration names (the reference keeps media
//! in a service of its own): uploads streamed into storage and recorded, records, and content
//! behind URLs that expire. An upload is authenticated by an access token (`X-Twilio-Token`,
//! as the reference's SDKs send it) or by the REST credentials; content by its URL's
//! signature alone, so that an `<img src>` works.
//!
//! Paths: `POST /media/v1/Services/{IS}/Media` (the body is the file's bytes, `Content-Type`
//! its type, `?Filename=` and `?Category=` optional), `GET …/Media/{ME}` (the record, with a
//! temporary content URL), `GET …/Media/{ME}/Content` (the bytes: by `Expires` and
//! `Signature`, or redirected there for an authenticated caller).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use confab_domain::{Actor, Domain, Upload, new_sid};
use confab_media::{MediaStorage, StorageError, UrlSigner};
use confab_protocol::ErrorCode;
use confab_protocol::entity::Media;
use confab_protocol::sid::{Sid, SidKind};
use confab_token::Verifier;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use serde::Deserialize;
use serde_json::json;

use crate::credentials::Credentials;
use crate::rest::error::{ApiError, ApiResult};
use crate::rest::render::{Origin, iso};

/// Media settings.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Where bytes go: an `s3://` URL, or `None` for the `media` directory under the data
    /// directory (one node's own: several nodes need shared storage).
    pub store: Option<String>,
    /// The largest file, in bytes (default 100 MiB).
    pub max_file_size: u64,
    /// How long an upload waits for a message to take it before it is swept (default 1 h).
    pub unattached_ttl: Duration,
    /// How long a temporary content URL works (default 5 min).
    pub url_ttl: Duration,
    /// How often the sweep runs (default 1 min).
    pub sweep_every: Duration,
    /// How long an upload may go without a byte before it is abandoned (default 30 s), so
    /// that a trickle cannot hold a connection and an upload open.
    pub upload_idle: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            store: None,
            max_file_size: 100 * 1024 * 1024,
            unattached_ttl: Duration::from_secs(3600),
            url_ttl: Duration::from_secs(300),
            sweep_every: Duration::from_secs(60),
            upload_idle: Duration::from_secs(30),
        }
    }
}

/// What the media handlers share.
#[derive(Clone)]
pub struct MediaState {
    pub(crate) domain: Domain,
    pub(crate) storage: MediaStorage,
    pub(crate) signer: UrlSigner,
    pub(crate) verifier: Verifier,
    pub(crate) credentials: Arc<Credentials>,
    pub(crate) config: MediaConfig,
    /// Where the store's presigned URLs point (S3), if not at this server: the web page may
    /// show pictures from there.
    pub(crate) content_origin: Option<String>,
}

/// Where a media file's bytes are kept.
fn key(service: &Sid, media: &Sid) -> String {
    format!("{service}/{media}")
}

/// The media routes.
pub fn router(state: MediaState) -> Router {
    Router::new()
        .route("/media/v1/Services/{ChatServiceSid}/Media", post(upload))
        .route(
            "/media/v1/Services/{ChatServiceSid}/Media/{Sid}",
            get(fetch),
        )
        .route(
            "/media/v1/Services/{ChatServiceSid}/Media/{Sid}/Content",
            get(content),
        )
        .route(
            "/media/v1/Services/{ChatServiceSid}/MediaSet",
            post(media_set),
        )
        // Uploads are streamed and limited by the media settings, not by the REST body cap.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

impl MediaState {
    /// Who calls: a user by access token, or the app backend by its credentials.
    async fn actor(&self, headers: &HeaderMap) -> ApiResult<Actor> {
        if let Some(token) = headers.get("x-twilio-token") {
            let token = token
                .to_str()
                .map_err(|_| ApiError::new(ErrorCode::AuthenticationFailed, "malformed token"))?;
            let now = self.domain.clock().now_millis() / 1000;
            let v = self
                .verifier
                .verify(token, now)
                .map_err(|e| ApiError::new(e.code(), e.to_string()))?;
            let service = match &v.service_sid {
                None => self.domain.default_service(),
                Some(s) => Sid::parse(SidKind::Service, s).ok_or_else(|| {
                    ApiError::new(ErrorCode::AuthenticationFailed, "the token's service")
                })?,
            };
            return Ok(Actor::User {
                service,
                identity: v.identity,
            });
        }
        crate::rest::auth::authenticate(
            &self.credentials,
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )
    }

    fn now_secs(&self) -> i64 {
        self.domain.clock().now_millis() / 1000
    }

    /// A URL anyone may read the content from until it expires: the store's own where it
    /// presigns (S3), else [`MediaState::signed_url`].
    async fn temporary_url(&self, origin: &Origin, m: &Media) -> ApiResult<String> {
        let k = key(&m.service_sid, &m.sid);
        if let Some(url) = self
            .storage
            .presigned_get(&k, self.config.url_ttl)
            .await
            .map_err(storage_error)?
        {
            return Ok(url);
        }
        Ok(self.signed_url(origin, m))
    }

    /// A URL of this server's, signed by it, that serves the content until it expires.
    fn signed_url(&self, origin: &Origin, m: &Media) -> String {
        let ttl = i64::try_from(self.config.url_ttl.as_secs()).unwrap_or(i64::MAX);
        let expires = self.now_secs().saturating_add(ttl);
        let signature = self.signer.sign(m.sid.as_str(), expires);
        format!(
            "{}/media/v1/Services/{}/Media/{}/Content?Expires={expires}&Signature={signature}",
            origin.0, m.service_sid, m.sid
        )
    }

    /// The record as the reference renders it.
    async fn render(&self, origin: &Origin, m: &Media) -> ApiResult<serde_json::Value> {
        let url = format!(
            "{}/media/v1/Services/{}/Media/{}",
            origin.0, m.service_sid, m.sid
        );
        Ok(json!({
            "sid": m.sid,
            "service_sid": m.service_sid,
            "channel_sid": m.conversation_sid,
            "message_sid": m.message_sid,
            "author": if m.author.is_empty() { "system" } else { m.author.as_str() },
            "category": m.category,
            "content_type": m.content_type,
            "filename": m.filename,
            "size": m.size,
            "date_created": iso(m.date_created),
            "date_upload_updated": iso(m.date_created),
            "date_updated": iso(m.date_updated),
            "url": url,
            "links": {
                "content": format!("{url}/Content"),
                "content_direct_temporary": self.temporary_url(origin, m).await?,
            },
        }))
    }
}

fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::TooLarge { limit } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the file is larger than the limit of {limit} bytes"),
        ),
        StorageError::NotFound => ApiError::new(ErrorCode::NotFound, "the media's content is gone"),
        StorageError::Body(m) => ApiError::invalid(format!("the upload broke off: {m}")),
        e => {
            tracing::error!(error = %e, "media storage failed");
            ApiError::new(ErrorCode::Unavailable, "media storage failed; retry")
        }
    }
}

/// What a form may hold besides its file: the parts before it (their headers and any text
/// fields), its boundaries. Read before the file's part is found, it is held in memory (by the
/// form parser), so it is bounded on its own, not by the file's limit.
const FORM_OVERHEAD: u64 = 1024 * 1024;

/// A form that could not be read: too large, or malformed.
fn form_error(e: multer::Error, limit: u64) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => storage_error(StorageError::TooLarge { limit }),
        multer::Error::StreamReadFailed(e) => {
            ApiError::invalid(format!("a multipart upload broke off: {e}"))
        }
        e => ApiError::invalid(format!("a multipart upload: {e}")),
    }
}

/// `?Filename=&Category=` of an upload.
#[derive(Deserialize)]
struct UploadQuery {
    #[serde(rename = "Filename")]
    filename: Option<String>,
    #[serde(rename = "Category")]
    category: Option<String>,
}

async fn upload(
    State(s): State<MediaState>,
    Path(service): Path<String>,
    Query(q): Query<UploadQuery>,
    origin: Origin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let actor = s.actor(&headers).await?;
    let raw_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let category = q.category.unwrap_or_else(|| "media".into());
    // Who may upload where, refused before a byte is read (a form's file part says its own
    // type and name; they are checked again once read).
    s.domain
        .check_upload(
            &actor,
            Some(&service),
            &category,
            "application/octet-stream",
            q.filename.as_deref(),
        )
        .await?;
    let limit = s.config.max_file_size;
    let multipart = raw_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data");
    // A form's own parts (boundaries, headers) are allowed for beyond the file's limit.
    let declared_limit = if multipart {
        limit.saturating_add(FORM_OVERHEAD)
    } else {
        limit
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > declared_limit) {
        return Err(storage_error(StorageError::TooLarge { limit }));
    }
    let idle = s.config.upload_idle;
    let timed = futures_util::stream::unfold(body.into_data_stream(), move |mut body| async move {
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(|e| e.to_string()), body)),
            Ok(None) => None,
            Err(_) => Some((Err(format!("no data for {} s", idle.as_secs())), body)),
        }
    });
    // The file: the body itself, or the first part of a form that is a file (as the
    // reference's media service takes either).
    let (content_type, filename, bytes): (
        String,
        Option<String>,
        BoxStream<'static, Result<Bytes, String>>,
    ) = if multipart {
        let boundary = multer::parse_boundary(&raw_type)
            .map_err(|e| ApiError::invalid(format!("a multipart upload: {e}")))?;
        // Bytes the parser has taken before the file's part was found: over FORM_OVERHEAD,
        // the form is refused (it would hold them all in memory).
        let found = Arc::new(AtomicBool::new(false));
        let counted = {
            let found = found.clone();
            let mut read: u64 = 0;
            timed.map(move |chunk| {
                let chunk = chunk?;
                read = read.saturating_add(chunk.len() as u64);
                if !found.load(Ordering::Relaxed) && read > FORM_OVERHEAD {
                    return Err(format!(
                        "the form holds more than {FORM_OVERHEAD} bytes before its file"
                    ));
                }
                Ok(chunk)
            })
        };
        let mut form = multer::Multipart::with_constraints(
            counted,
            boundary,
            multer::Constraints::new()
                .size_limit(multer::SizeLimit::new().whole_stream(declared_limit)),
        );
        let field = loop {
            match form.next_field().await {
                Ok(Some(f)) if f.file_name().is_some() => {
                    found.store(true, Ordering::Relaxed);
                    break f;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(ApiError::invalid("the form holds no file"));
                }
                Err(e) => return Err(form_error(e, limit)),
            }
        };
        // The part's own header, as written: checked as a body's Content-Type is.
        let content_type = field
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let filename = q
            .filename
            .clone()
            .or_else(|| field.file_name().map(str::to_owned));
        // The form is kept alive with its field (the field reads through it).
        let bytes = futures_util::stream::unfold((form, field), |(form, mut field)| async move {
            let chunk = field.next().await?;
            Some((chunk.map_err(|e| e.to_string()), (form, field)))
        });
        (content_type, filename, bytes.boxed())
    } else {
        (raw_type, q.filename.clone(), timed.boxed())
    };
    // Everything that can be refused is, before a byte of the file is taken.
    let service = s
        .domain
        .check_upload(
            &actor,
            Some(&service),
            &category,
            &content_type,
            filename.as_deref(),
        )
        .await?;
    let sid = new_sid(SidKind::Media);
    let k = key(&service, &sid);
    let size = s
        .storage
        .put(&k, bytes, limit)
        .await
        .map_err(storage_error)?;
    let upload = Upload {
        sid,
        category,
        content_type,
        filename,
        size: i64::try_from(size).unwrap_or(i64::MAX),
    };
    let ttl = i64::try_from(s.config.unattached_ttl.as_millis()).unwrap_or(i64::MAX);
    let media = match s
        .domain
        .add_media(&actor, Some(service.as_str()), upload, ttl)
        .await
    {
        Ok(m) => m,
        Err(e) => {
            // Not recorded: its bytes go now (a crash here leaves them to a store check).
            if let Err(gone) = s.storage.delete(&k).await {
                tracing::warn!(error = %gone, key = %k, "media: deleting an unrecorded upload failed");
            }
            return Err(e.into());
        }
    };
    let body = s.render(&origin, &media).await?;
    Ok(no_store(
        (StatusCode::CREATED, axum::Json(body)).into_response(),
    ))
}

async fn fetch(
    State(s): State<MediaState>,
    Path((service, sid)): Path<(String, String)>,
    origin: Origin,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let actor = s.actor(&headers).await?;
    let media = s.domain.media(&actor, Some(&service), &sid).await?;
    Ok(no_store(
        axum::Json(s.render(&origin, &media).await?).into_response(),
    ))
}

/// The most media one set request may ask about.
const SET_MAX: usize = 100;

/// `{"command":"get","list":[{"media_sid":"ME…"}]}`
#[derive(Deserialize)]
struct SetRequest {
    command: String,
    list: Vec<SetItem>,
}

#[derive(Deserialize)]
struct SetItem {
    media_sid: String,
}

/// `POST …/MediaSet`: the records (with temporary URLs) of several media at once, in the order
/// asked, each as `{"code":200,"media_record":{…}}`, or `{"code":404,"media_record":{"sid":…}}`
/// for one the caller may not see, as the reference answers.
async fn media_set(
    State(s): State<MediaState>,
    Path(service): Path<String>,
    origin: Origin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let actor = s.actor(&headers).await?;
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|_| {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            "a media set request may be 64 KiB at most",
        )
    })?;
    let req: SetRequest = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::invalid(format!(
            "a media set request is {{\"command\":\"get\",\"list\":[{{\"media_sid\":\"ME…\"}}]}}: {e}"
        ))
    })?;
    if req.command != "get" {
        return Err(ApiError::invalid(format!(
            "the media set's command is get, not {:?}",
            req.command
        )));
    }
    if req.list.len() > SET_MAX {
        return Err(ApiError::invalid(format!(
            "a media set request asks about {SET_MAX} media at most"
        )));
    }
    let mut out = Vec::with_capacity(req.list.len());
    for item in req.list {
        match s
            .domain
            .media(&actor, Some(&service), &item.media_sid)
            .await
        {
            Ok(m) => out.push(json!({"code": 200, "media_record": s.render(&origin, &m).await?})),
            Err(e) if e.code == ErrorCode::NotFound => {
                out.push(json!({"code": 404, "media_record": {"sid": item.media_sid}}));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(no_store(axum::Json(out).into_response()))
}

/// An answer carrying a fresh temporary URL is for its caller alone, and for now.
fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `?Expires=&Signature=` of a temporary content URL.
#[derive(Deserialize)]
struct Signed {
    #[serde(rename = "Expires")]
    expires: Option<i64>,
    #[serde(rename = "Signature")]
    signature: Option<String>,
}

/// Types a browser may show in the page; anything else is a download, so that an upload
/// claiming to be HTML or script never runs as the server's own.
fn shown_inline(content_type: &str) -> bool {
    let t = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    (t.starts_with("image/") && t != "image/svg+xml")
        || t.starts_with("audio/")
        || t.starts_with("video/")
        || t == "application/pdf"
        || t == "text/plain"
}

async fn content(
    State(s): State<MediaState>,
    Path((service, sid)): Path<(String, String)>,
    Query(signed): Query<Signed>,
    origin: Origin,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (Some(expires), Some(signature)) = (signed.expires, signed.signature) else {
        // An authenticated caller is sent to a temporary URL of this server's own, so that its
        // token (a header a client keeps across redirects) never goes to a storage host.
        let actor = s.actor(&headers).await?;
        let media = s.domain.media(&actor, Some(&service), &sid).await?;
        let url = s.signed_url(&origin, &media);
        return Ok(no_store(Redirect::temporary(&url).into_response()));
    };
    let now = s.now_secs();
    if !s.signer.verify(&sid, expires, &signature, now) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this content URL is not valid, or has expired: ask for a new one",
        ));
    }
    let backend = Actor::Backend {
        credential: "media-url".into(),
    };
    let media = s.domain.media(&backend, Some(&service), &sid).await?;
    let (size, bytes) = s
        .storage
        .get(&key(&media.service_sid, &media.sid))
        .await
        .map_err(storage_error)?;
    let mut res = Response::new(Body::from_stream(bytes));
    let h = res.headers_mut();
    let content_type = HeaderValue::from_str(&media.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Whatever it is, it runs nothing on this origin.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    let disposition = if shown_inline(&media.content_type) {
        "inline"
    } else {
        "attachment"
    };
    // The file name, reduced to what is safe in a quoted header value.
    let name: String = media
        .filename
        .as_deref()
        .unwrap_or("file")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // The name as given, for browsers (RFC 6266's `filename*`, UTF-8 percent-encoded).
    let full = media.filename.as_deref().map_or(String::new(), |f| {
        let encoded: String = f
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("; filename*=UTF-8''{encoded}")
    });
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"{full}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Cached no longer than the URL lives, and never by shared caches.
    let left = expires.saturating_sub(now).max(0);
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={left}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    Ok(res)
}

/// One pass of the sweep: condemns expired unattached uploads, deletes the bytes of every
/// condemned media, then forgets their records. Returns how many went.
pub async fn sweep_once(domain: &Domain, storage: &MediaStorage) -> Result<usize, String> {
    let mut gone = 0;
    loop {
        let batch = domain
            .condemned_media(500)
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            return Ok(gone);
        }
        let mut done = Vec::with_capacity(batch.len());
        for m in &batch {
            match storage.delete(&key(&m.service_sid, &m.sid)).await {
                Ok(()) => done.push(m.sid.clone()),
                // Kept condemned: the next pass tries again.
                Err(e) => {
                    tracing::warn!(error = %e, media = %m.sid, "media: deleting bytes failed")
                }
            }
        }
        domain
            .forget_media(&done)
            .await
            .map_err(|e| e.to_string())?;
        gone += done.len();
        if done.len() < batch.len() {
            return Ok(gone);
        }
    }
}

/// Sweeps every `every` (the first time `every` after start), until the server shuts down:
/// never in the middle of a start or a stop, whose store may be going.
pub async fn sweep(
    domain: Domain,
    storage: MediaStorage,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(e) = sweep_once(&domain, &storage).await {
            tracing::warn!(error = %e, "media sweep failed; next time");
        }
    }
}
