//! Every case of `testing/confab-testkit/vectors/access_tokens.json`: tokens minted by the
//! reference product's helper library and hand-made attacks, each with its expected outcome
//! and code.

use confab_token::{ApiKey, Verifier};
use serde_json::Value;

#[test]
fn token_vectors_verify_with_the_expected_outcome_and_code() {
    let text = include_str!("../../../testing/confab-testkit/vectors/access_tokens.json");
    let v: Value = serde_json::from_str(text).expect("vectors are JSON");
    let now = v["now"].as_i64().expect("now");
    let verifier = Verifier::new(
        v["account_sid"].as_str().expect("account_sid"),
        [ApiKey {
            sid: v["api_key_sid"].as_str().expect("sid").into(),
            secret: v["api_key_secret"].as_str().expect("secret").into(),
        }],
    );
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15, "expected the full vector set");
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let token = case["token"].as_str().expect("token");
        let expect = case["expect"].as_str().expect("expect");
        match verifier.verify(token, now) {
            Ok(t) => {
                assert_eq!(expect, "ok", "{name}: verified but expected {expect}");
                assert_eq!(
                    t.identity,
                    case["claims"]["identity"].as_str().expect("identity"),
                    "{name}"
                );
                assert_eq!(
                    t.service_sid.as_deref(),
                    case["claims"]["service_sid"].as_str(),
                    "{name}"
                );
            }
            Err(e) => {
                assert_eq!(e.outcome(), expect, "{name}: {e}");
                assert_eq!(
                    Some(u64::from(e.code().code())),
                    case["code"].as_u64(),
                    "{name}"
                );
            }
        }
    }
}
