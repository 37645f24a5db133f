//! URLs the server signs itself, for stores that cannot presign (the local filesystem): an
//! HMAC-SHA256 over the media SID and the expiry, so a URL works for anyone holding it until it
//! expires, and for nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks `(media SID, expiry)` pairs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log.
        f.debug_struct("UrlSigner").finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// A signer with a secret key (the server's; at least 32 bytes of randomness).
    pub fn new(key: impl Into<Vec<u8>>) -> UrlSigner {
        UrlSigner { key: key.into() }
    }

    fn mac(&self, media: &str, expires: i64) -> HmacSha256 {
        // Any key length is accepted by HMAC.
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(media.as_bytes());
        mac.update(b"\n");
        mac.update(&expires.to_be_bytes());
        mac
    }

    /// The signature of `media` until `expires` (unix seconds), URL-safe.
    pub fn sign(&self, media: &str, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(media, expires).finalize().into_bytes())
    }

    /// Whether `signature` is this signer's for `media` until `expires`, and `now` (unix
    /// seconds) is before `expires`. The comparison takes the same time whatever it finds.
    pub fn verify(&self, media: &str, expires: i64, signature: &str, now: i64) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        now < expires && self.mac(media, expires).verify_slice(&given).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::UrlSigner;

    #[test]
    fn a_signature_holds_for_its_media_until_its_expiry_only() {
        let s = UrlSigner::new(b"k".repeat(32));
        let sig = s.sign("ME1", 1_000);
        assert!(s.verify("ME1", 1_000, &sig, 999));
        assert!(!s.verify("ME1", 1_000, &sig, 1_000), "expired");
        assert!(!s.verify("ME2", 1_000, &sig, 999), "another media");
        assert!(!s.verify("ME1", 2_000, &sig, 999), "another expiry");
        assert!(!s.verify("ME1", 1_000, "not base64!", 999));
        let other = UrlSigner::new(b"j".repeat(32));
        assert!(!other.verify("ME1", 1_000, &sig, 999), "another key");
    }
}
