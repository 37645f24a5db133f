//! `confab token` mints a token the server's own verifier accepts.

use confab_testkit::test_credentials;
use confab_token::{ApiKey, Verifier};

#[test]
fn token_command_prints_a_token_for_the_configured_key() {
    let c = test_credentials();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["token", "--identity", "alice", "--ttl", "600"])
        .env("CONFAB_ACCOUNT_SID", &c.account_sid)
        .env("CONFAB_API_KEY_SID", &c.api_key_sid)
        .env("CONFAB_API_KEY_SECRET", &c.api_key_secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let verifier = Verifier::new(
        &c.account_sid,
        [ApiKey {
            sid: c.api_key_sid.clone(),
            secret: c.api_key_secret.clone(),
        }],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let v = verifier.verify(token.trim(), now).unwrap();
    assert_eq!(v.identity, "alice");
    assert!(v.exp - now <= 600);
}

#[test]
fn token_command_without_credentials_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["token", "--identity", "alice", "--data-dir"])
        .arg(dir.path())
        .env_remove("CONFAB_ACCOUNT_SID")
        .env_remove("CONFAB_API_KEY_SID")
        .env_remove("CONFAB_API_KEY_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONFAB_ACCOUNT_SID"));
}
