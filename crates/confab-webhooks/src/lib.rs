//! Webhooks (issue 24, first step): the signature every webhook request carries, as the
//! reference makes it, so that an app backend's check written for the reference (its helper
//! libraries' request validators) accepts Confab's requests unchanged.
//!
//! `X-Twilio-Signature` is the base64 of HMAC-SHA1, keyed by the account's auth token, over the
//! request's full URL followed by each POST parameter's name and value, in name order. A name
//! given several times counts each distinct value once, values in order.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use subtle::ConstantTimeEq as _;

/// The header that carries [`signature`].
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The signature of a request to `url` with form parameters `params`, keyed by `auth_token`.
///
/// Names and values are ordered by their UTF-8 bytes; the reference's helper libraries order
/// them by UTF-16 code units, which differs only between characters beyond U+FFFF and those
/// from U+E000 to U+FFFF in the same position (Confab's parameter names are ASCII).
pub fn signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        by_name.entry(name).or_default().insert(value);
    }
    // An HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(url.as_bytes());
    for (name, values) in by_name {
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `given` is the signature of that request (compared in constant time).
pub fn verify(auth_token: &str, given: &str, url: &str, params: &[(&str, &str)]) -> bool {
    signature(auth_token, url, params)
        .as_bytes()
        .ct_eq(given.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345678901234567890123456789012";

    /// Made by Twilio's own helper library (npm `twilio` 6.3.1,
    /// `getExpectedTwilioSignature`), which its `validateRequest` compares against.
    #[test]
    fn signatures_are_the_reference_helper_librarys() {
        assert_eq!(
            signature(TOKEN, "https://chat.example.com/hooks/post", &[]),
            "tyr12VyKfsrNIcCbu98RVKDWQgM="
        );
        assert_eq!(
            signature(
                TOKEN,
                "https://chat.example.com/hooks/post?x=1",
                &[
                    ("EventType", "onMessageAdded"),
                    ("AccountSid", "AC0a0a"),
                    ("Body", "héllo wörld ✓"),
                    ("Source", "SDK"),
                ]
            ),
            "JQTeghTQ1BBTq4eTRl2+ul4+NaA="
        );
        // A name given several times: each distinct value once, in order.
        assert_eq!(
            signature(
                TOKEN,
                "http://127.0.0.1:9000/pre",
                &[
                    ("EventType", "onMessageAdd"),
                    ("Media", "ME2"),
                    ("Media", "ME1"),
                    ("Media", "ME2"),
                    ("Attributes", "{\"a\":1}"),
                    ("Author", "alice"),
                ]
            ),
            "DDhjOTI4BfllqPYjusfLA354Or8="
        );
    }

    #[test]
    fn a_changed_request_or_key_does_not_verify() {
        let params = [("EventType", "onMessageAdded"), ("Body", "hi")];
        let url = "https://chat.example.com/hooks/post";
        let good = signature(TOKEN, url, &params);
        assert!(verify(TOKEN, &good, url, &params));
        assert!(!verify("another-token", &good, url, &params));
        assert!(!verify(TOKEN, &good, &format!("{url}?x=1"), &params));
        assert!(!verify(
            TOKEN,
            &good,
            url,
            &[("EventType", "onMessageAdded"), ("Body", "hi!")]
        ));
        assert!(!verify(TOKEN, "", url, &params));
    }
}
