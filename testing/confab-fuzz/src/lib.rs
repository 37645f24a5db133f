//! What each fuzz target checks, as plain functions of the fuzzer's bytes. The `cargo fuzz`
//! targets in `fuzz/` call these; `tests/corpus.rs` replays every committed input through
//! them as an ordinary test, so CI checks the corpora without a fuzzer. Each function panics
//! when an invariant breaks, which is what a fuzzer reports as a crash.

mod client;

pub use client::client;

use confab_protocol::event::encode_event;
use confab_protocol::frame::{ClientFrame, Incoming, ServerFrame, decode_incoming};
use confab_server::rest::params::Params;
use confab_token::{ApiKey, MAX_IDENTITY_CHARS, MAX_LIFETIME_SECS, Verifier};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A target's check of one input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name (their corpora are `fuzz/corpus/NAME/`).
pub const TARGETS: [(&str, Check); 4] = [
    ("frame", frame),
    ("token", token),
    ("form", form),
    ("client", client),
];

/// Frames as both ends read them: a client frame the server accepts encodes and decodes back
/// to itself, and so does every server frame and event a client accepts; nothing panics.
pub fn frame(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = serde_json::from_str::<ClientFrame>(&text) {
        let again = serde_json::to_string(&f).expect("a client frame encodes");
        let back: ClientFrame = serde_json::from_str(&again).expect("its encoding decodes");
        assert_eq!(back, f, "a client frame changed through encode and decode");
    }
    match decode_incoming(&text) {
        Ok(Incoming::Frame(f)) => {
            let again = f.encode();
            match decode_incoming(&again) {
                Ok(Incoming::Frame(back)) => {
                    assert_eq!(back, f, "a server frame changed through encode and decode");
                }
                other => panic!("{again} decoded as {other:?}"),
            }
        }
        Ok(Incoming::Event(e)) => {
            let again = encode_event(&e.stream, e.seq, &e.body);
            let again = String::from_utf8(again).expect("an event encodes as UTF-8");
            match decode_incoming(&again) {
                Ok(Incoming::Event(back)) => {
                    assert_eq!(back, e, "an event changed through encode and decode");
                }
                other => panic!("{again} decoded as {other:?}"),
            }
        }
        Err(_) => {}
    }
    // Server frames are only ever encoded by us; decoding them directly must not panic either.
    let _ = serde_json::from_str::<ServerFrame>(&text);
}

/// The account and key the `token` target's verifier knows.
pub const TOKEN_ACCOUNT: &str = "AC00000000000000000000000000000000";
/// The key's SID.
pub const TOKEN_KEY_SID: &str = "SK11111111111111111111111111111111";
/// The key's secret.
pub const TOKEN_KEY_SECRET: &str = "fuzz-secret";
/// The `token` target's clock, unless the input sets one (unix seconds).
pub const TOKEN_NOW: i64 = 1_800_000_000;

/// The token verifier: whatever it accepts is signed with its key over exactly the bytes it
/// read, for its account, inside its lifetime and clock bounds, with an acceptable identity;
/// and it decides the same way twice. Input: the token, optionally after a line `now=SECS`.
pub fn token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (now, token) = match text.strip_prefix("now=").and_then(|r| r.split_once('\n')) {
        Some((n, t)) => (n.trim().parse().unwrap_or(TOKEN_NOW), t),
        None => (TOKEN_NOW, text.as_ref()),
    };
    let verifier = Verifier::new(
        TOKEN_ACCOUNT,
        [ApiKey {
            sid: TOKEN_KEY_SID.into(),
            secret: TOKEN_KEY_SECRET.into(),
        }],
    );
    let first = verifier.verify(token, now);
    assert_eq!(verifier.verify(token, now), first, "verify decided twice");
    let Ok(v) = first else { return };
    let (signing_input, signature) = token.rsplit_once('.').expect("a verified token has parts");
    let mut mac = Hmac::<Sha256>::new_from_slice(TOKEN_KEY_SECRET.as_bytes()).expect("any key");
    mac.update(signing_input.as_bytes());
    let expected = confab_protocol::token::b64_encode(&mac.finalize().into_bytes());
    assert_eq!(
        signature.trim_end_matches('='),
        expected,
        "accepted a signature that is not the key's over the token's own bytes"
    );
    assert_eq!(v.api_key_sid, TOKEN_KEY_SID);
    let skew = verifier.skew_secs();
    assert!(
        now <= v.exp.saturating_add(skew),
        "accepted an expired token"
    );
    if let Some(nbf) = v.nbf {
        assert!(
            now >= nbf.saturating_sub(skew),
            "accepted a token before nbf"
        );
    }
    assert!(
        v.exp.saturating_sub(v.nbf.unwrap_or(now)) <= MAX_LIFETIME_SECS,
        "accepted a lifetime over 24 hours"
    );
    assert!(!v.identity.is_empty());
    assert!(v.identity.chars().count() <= MAX_IDENTITY_CHARS);
    assert!(!v.identity.chars().any(char::is_control));
}

/// Names whose getters the `form` target calls on every input, beside the first few the
/// input itself uses.
const FORM_NAMES: [&str; 5] = [
    "FriendlyName",
    "Attributes",
    "DateCreated",
    "PageSize",
    "Index",
];

/// How many of the input's own names get their getters called. Each getter scans every pair,
/// so calling them for every name made an input of n pairs cost n² (it held the target to
/// 5,000 runs a second); the getters' work on a value does not depend on how many names
/// there are, and the whole decoding is checked against the model below anyway.
const FORM_OWN_NAMES: usize = 16;

/// The REST form decoder: every getter answers or refuses without panicking; `str` and `all`
/// give the last and every value of a name, as the pairs read say; and re-encoding the pairs
/// reads back the same.
pub fn form(data: &[u8]) {
    let p = Params::parse(data);
    let pairs: Vec<(&str, &str)> = p.iter().collect();

    let mut again = form_urlencoded::Serializer::new(String::new());
    again.extend_pairs(&pairs);
    let back = Params::parse(again.finish().as_bytes());
    assert!(
        back.iter().eq(p.iter()),
        "the pairs changed through encode and decode"
    );

    let mut names: Vec<&str> = Vec::with_capacity(FORM_NAMES.len() + FORM_OWN_NAMES);
    names.extend(FORM_NAMES);
    for (k, _) in &pairs {
        if names.len() == FORM_NAMES.len() + FORM_OWN_NAMES {
            break;
        }
        if !names.contains(k) {
            names.push(k);
        }
    }
    for name in names {
        let all: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(p.all(name), all, "{name}");
        assert_eq!(p.str(name), all.last().copied(), "{name}");
        assert_eq!(p.string(name).as_deref(), all.last().copied(), "{name}");
        let _ = (p.i64(name), p.u32(name), p.date(name));
    }
}
