use super::*;

fn key() -> ApiKey {
    ApiKey {
        sid: format!("SK{}", "1".repeat(32)),
        secret: "secret".into(),
    }
}
const ACCOUNT: &str = "AC00000000000000000000000000000000";

fn verifier() -> Verifier {
    Verifier::new(ACCOUNT, [key()])
}

fn spec(identity: &str) -> TokenSpec<'_> {
    TokenSpec {
        account_sid: ACCOUNT,
        identity,
        service_sid: None,
        now: 1_000_000,
        ttl_secs: 3600,
    }
}

#[test]
fn minted_token_verifies() {
    let t = mint(&key(), &spec("alice"));
    let v = verifier().verify(&t, 1_000_010).unwrap();
    assert_eq!(v.identity, "alice");
    assert_eq!(v.service_sid, None);
    assert_eq!(v.exp, 1_003_600);
}

#[test]
fn skew_is_applied_on_both_ends() {
    let t = mint(&key(), &spec("alice"));
    assert!(verifier().verify(&t, 1_003_600 + 60).is_ok());
    assert_eq!(
        verifier().verify(&t, 1_003_600 + 61),
        Err(TokenError::Expired)
    );
    assert!(verifier().verify(&t, 1_000_000 - 60).is_ok());
    assert_eq!(
        verifier().verify(&t, 1_000_000 - 61),
        Err(TokenError::NotYetValid)
    );
    let strict = verifier().with_skew_secs(0);
    assert_eq!(strict.verify(&t, 1_003_601), Err(TokenError::Expired));
}

#[test]
fn identity_with_control_characters_or_too_long_is_refused() {
    let t = mint(&key(), &spec("bad\nname"));
    assert!(matches!(
        verifier().verify(&t, 1_000_000),
        Err(TokenError::BadIdentity(_))
    ));
    let long = "x".repeat(257);
    let t = mint(&key(), &spec(&long));
    assert_eq!(
        verifier().verify(&t, 1_000_000).unwrap_err().code(),
        ErrorCode::TokenBadGrant
    );
    let t = mint(&key(), &spec(""));
    assert_eq!(
        verifier().verify(&t, 1_000_000),
        Err(TokenError::NoIdentity)
    );
}

#[test]
fn a_bad_algorithm_is_refused_before_the_claims_are_read() {
    let header = b64_encode(br#"{"alg":"none","typ":"JWT","cty":"twilio-fpa;v=1"}"#);
    let claims = b64_encode(b"{}");
    let err = verifier()
        .verify(&format!("{header}.{claims}."), 1_000_000)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenBadAlgorithm, "{err}");
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let text = format!("{:?} {:?}", key(), verifier());
    assert!(!text.contains("secret\""), "{text}");
    assert!(!text.contains("[115, 101"), "{text}");
}

#[test]
fn sign_json_signs_the_bytes_it_is_given() {
    let header = br#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#;
    let claims = format!(
        r#"{{"iss":"{}","sub":"{ACCOUNT}","exp":1003600,"nbf":1000000,"grants":{{"identity":"alice","chat":{{}}}}}}"#,
        key().sid
    );
    let t = sign_json(&key().secret, header, claims.as_bytes());
    assert_eq!(verifier().verify(&t, 1_000_010).unwrap().identity, "alice");
    let other = sign_json("not-the-secret", header, claims.as_bytes());
    assert_eq!(
        verifier().verify(&other, 1_000_010),
        Err(TokenError::BadSignature)
    );
}
