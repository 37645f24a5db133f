//! Media storage for Confab.
//!
//! Media bytes live in an object store (`object_store`): a directory under the server's data
//! directory by default, or S3-compatible storage (S3, MinIO, R2, ...) given by URL, which
//! several nodes can share. [`MediaStorage::put`] streams an upload into it part by part, so a
//! file of any size takes a few parts' worth of memory, and refuses one over the limit without
//! leaving anything behind; [`MediaStorage::get`] streams it back; content is reached by URLs
//! that expire: presigned by the store where it can ([`MediaStorage::presigned_get`]), else
//! signed by the server ([`UrlSigner`], an HMAC over the media SID and the expiry).
//!
//! Media records (who uploaded what, to which message it belongs) are the stores' business;
//! this crate only keeps bytes.

mod signing;
mod storage;

pub use signing::UrlSigner;
pub use storage::{MediaStorage, StorageError};
