//! The object store media bytes live in, and streaming into and out of it.

use std::path::Path as FsPath;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt as _, TryStreamExt as _};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer as _;
use object_store::{ObjectStore, WriteMultipart};

/// Uploads go in parts of 5 MiB (S3's smallest part), at most two in flight: an upload of any
/// size holds about three parts in memory.
const PART: usize = 5 * 1024 * 1024;
const IN_FLIGHT: usize = 2;

/// What went wrong with media storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The upload went past the size limit; nothing of it was kept.
    #[error("the upload is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// No object at that key.
    #[error("no such media content")]
    NotFound,
    /// The upload's body broke off (the client went away); nothing of it was kept.
    #[error("the upload broke off: {0}")]
    Body(String),
    /// The store failed.
    #[error("media storage: {0}")]
    Store(object_store::Error),
    /// The storage setting cannot be used.
    #[error("media storage setting: {0}")]
    Config(String),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            e => StorageError::Store(e),
        }
    }
}

/// Syncs `file` to disk, and each directory from its own up to `root` (one made for it
/// names it, and is named by its parent).
fn sync(root: &FsPath, file: &FsPath) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    for dir in file.ancestors().skip(1) {
        std::fs::File::open(dir)?.sync_all()?;
        if dir == root {
            break;
        }
    }
    Ok(())
}

/// Where media bytes are kept. Cheap to clone.
#[derive(Clone)]
pub struct MediaStorage {
    store: Arc<dyn ObjectStore>,
    /// The same store when it is S3-compatible, which presigns its own URLs.
    s3: Option<Arc<AmazonS3>>,
    /// Keys are put under this (an S3 URL's path).
    prefix: String,
    /// The directory, when the store is one: a finished upload is synced to its disk there.
    dir: Option<std::path::PathBuf>,
    /// Several nodes reach the same bytes (not a node's own directory).
    shared: bool,
    describe: String,
}

impl std::fmt::Debug for MediaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStorage")
            .field("where", &self.describe)
            .finish_non_exhaustive()
    }
}

impl MediaStorage {
    /// Media in directory `dir` (made if missing), on this node only.
    pub fn local(dir: &FsPath) -> Result<MediaStorage, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Config(format!("{}: {e}", dir.display())))?;
        // Empty directories left by deletions go too, so deleted media leaves no trace.
        let fs = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(MediaStorage {
            store: Arc::new(fs),
            s3: None,
            prefix: String::new(),
            dir: Some(dir.to_path_buf()),
            shared: false,
            describe: format!("the directory {}", dir.display()),
        })
    }

    /// Media in S3-compatible storage: `s3://BUCKET[/PREFIX][?KEY=VALUE&...]`, where the keys
    /// are `object_store`'s S3 settings (`endpoint`, `region`, `access_key_id`,
    /// `secret_access_key`, `aws_allow_http`, ...); what the URL leaves out comes from the
    /// environment (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, ...), as with the AWS tools.
    pub fn s3(url: &str) -> Result<MediaStorage, StorageError> {
        // Messages name the location only: the query may hold a secret key.
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(StorageError::Config(
                "the media store URL starts with s3:// (or file://)".into(),
            ));
        };
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() {
            return Err(StorageError::Config(format!("s3://{location}: no bucket")));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let key = AmazonS3ConfigKey::from_str(&key).map_err(|_| {
                StorageError::Config(format!("s3://{location}: unknown setting {key:?}"))
            })?;
            builder = builder.with_config(key, value);
        }
        let s3 = Arc::new(builder.build()?);
        Ok(MediaStorage {
            store: s3.clone(),
            s3: Some(s3),
            prefix: prefix.trim_matches('/').to_owned(),
            dir: None,
            shared: true,
            describe: format!("s3://{location}"),
        })
    }

    /// Media where `url` says: `s3://…` ([`MediaStorage::s3`]), or `file:///PATH` for a
    /// directory the operator says several nodes share (a network mount).
    pub fn from_url(url: &str) -> Result<MediaStorage, StorageError> {
        if let Some(path) = url.strip_prefix("file://") {
            let mut shared = MediaStorage::local(FsPath::new(path))?;
            shared.shared = true;
            return Ok(shared);
        }
        MediaStorage::s3(url)
    }

    /// Whether several nodes can share it (the data directory's own cannot; an S3 store or a
    /// directory given by URL can).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Where it is, for messages (no credentials).
    pub fn describe(&self) -> &str {
        &self.describe
    }

    fn path(&self, key: &str) -> Result<Path, StorageError> {
        let full = if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        };
        Path::parse(&full).map_err(|e| StorageError::Config(format!("key {key:?}: {e}")))
    }

    /// Streams `body` into the object at `key`; returns its size. Past `limit` bytes the
    /// upload is abandoned and nothing of it is kept ([`StorageError::TooLarge`]); so it is if
    /// the body breaks off. The object appears whole or not at all.
    pub async fn put<S, E>(&self, key: &str, mut body: S, limit: u64) -> Result<u64, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let path = self.path(key)?;
        let upload = self.store.put_multipart(&path).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let failed = match chunk {
                Err(e) => Some(StorageError::Body(e.to_string())),
                Ok(chunk) => {
                    size = size.saturating_add(chunk.len() as u64);
                    if size > limit {
                        Some(StorageError::TooLarge { limit })
                    } else {
                        match writer.wait_for_capacity(IN_FLIGHT).await {
                            Ok(()) => {
                                writer.put(chunk);
                                None
                            }
                            Err(e) => Some(e.into()),
                        }
                    }
                }
            };
            if let Some(e) = failed {
                // Parts already written go with the upload; a failed abort leaves only what
                // the store's own cleanup of abandoned uploads removes.
                let _ = writer.abort().await;
                return Err(e);
            }
        }
        // On failure `finish` abandons the upload itself.
        writer.finish().await?;
        if let Some(dir) = &self.dir {
            // The directory store renames a finished upload into place without syncing it:
            // its bytes, and the rename, reach the disk before the upload is acknowledged.
            let (root, file) = (dir.clone(), dir.join(path.as_ref()));
            let synced = match tokio::task::spawn_blocking(move || sync(&root, &file)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = synced {
                // Not acknowledged, so not kept.
                let _ = self.store.delete(&path).await;
                return Err(StorageError::Config(format!("syncing an upload: {e}")));
            }
        }
        Ok(size)
    }

    /// The object at `key`: its size and a stream of its bytes.
    pub async fn get(
        &self,
        key: &str,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes, StorageError>>), StorageError> {
        let got = self.store.get(&self.path(key)?).await?;
        let size = got.meta.size;
        Ok((size, got.into_stream().map_err(StorageError::from).boxed()))
    }

    /// The size of the object at `key`, if there is one.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self.store.head(&self.path(key)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the object at `key` (done already if there is none).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The keys of every object under `prefix`, in order (for sweeps and checks).
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let under = if prefix.is_empty() && self.prefix.is_empty() {
            None
        } else {
            Some(self.path(prefix)?)
        };
        let strip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let metas: Vec<_> = self.store.list(under.as_ref()).try_collect().await?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .map(|m| {
                m.location
                    .as_ref()
                    .get(strip..)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// The origin (`scheme://host:port`) the store's presigned URLs point at, for a page's
    /// content security policy; `None` for a directory (its content is served by the server).
    pub async fn content_origin(&self) -> Result<Option<String>, StorageError> {
        let Some(s3) = &self.s3 else {
            return Ok(None);
        };
        let url = s3
            .signed_url(
                reqwest::Method::GET,
                &self.path("origin")?,
                Duration::from_secs(1),
            )
            .await?;
        Ok(Some(url.origin().ascii_serialization()))
    }

    /// A URL the store itself signs for reading `key` during `ttl`, where it can (S3); `None`
    /// for a directory, whose content the server serves under its own signature.
    pub async fn presigned_get(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StorageError> {
        let Some(s3) = &self.s3 else {
            return Ok(None);
        };
        let url = s3
            .signed_url(reqwest::Method::GET, &self.path(key)?, ttl)
            .await?;
        Ok(Some(url.to_string()))
    }
}
