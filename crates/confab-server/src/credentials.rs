//! The account's credentials: account SID + auth token (REST basic auth) and one API key
//! (REST basic auth and token signing). They come from the environment when set; otherwise
//! they are generated on first start and kept in the data directory, readable by the owner only.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use confab_protocol::sid::{Sid, SidKind};
use serde::{Deserialize, Serialize};

/// The file under the data directory that holds generated credentials.
pub const CREDENTIALS_FILE: &str = "credentials.json";

/// Environment variables read by [`Credentials::resolve`].
pub const ENV_VARS: [&str; 4] = [
    "CONFAB_ACCOUNT_SID",
    "CONFAB_AUTH_TOKEN",
    "CONFAB_API_KEY_SID",
    "CONFAB_API_KEY_SECRET",
];

/// Generated values in use, by environment variable name.
pub type Generated = Vec<(&'static str, String)>;

/// The account's credentials.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// `AC…`
    pub account_sid: String,
    /// The auth token (basic auth password with the account SID).
    pub auth_token: String,
    /// `SK…`
    pub api_key_sid: String,
    /// The API key's secret.
    pub api_key_secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.account_sid)
            .field("api_key_sid", &self.api_key_sid)
            .finish_non_exhaustive()
    }
}

/// Why credentials could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Reading or writing the credentials file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file or an environment variable holds something unusable.
    #[error("{0}")]
    Invalid(String),
}

fn random_secret() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Credentials {
    /// Fresh random credentials.
    pub fn generate() -> Credentials {
        Credentials {
            account_sid: Sid::from_random(SidKind::Account, rand::random()).into_string(),
            auth_token: random_secret(),
            api_key_sid: Sid::from_random(SidKind::ApiKey, rand::random()).into_string(),
            api_key_secret: random_secret(),
        }
    }

    /// Resolves the credentials: each value from `env` (a lookup such as `std::env::var`) when
    /// set, else from the data directory's file, which is created with generated values if it
    /// does not exist. Returns the credentials and, when the file was just created, the
    /// generated values actually in use (by environment variable name), for showing once;
    /// values the environment supplied are never among them.
    pub fn resolve(
        data_dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Credentials, Generated), CredentialsError> {
        let from_env: Vec<Option<String>> = ENV_VARS
            .iter()
            .map(|v| env(v).filter(|s| !s.is_empty()))
            .collect();
        let path = data_dir.join(CREDENTIALS_FILE);
        let (stored, created) = if from_env.iter().all(Option::is_some) {
            (None, false)
        } else {
            match Self::load(&path)? {
                Some(c) => (Some(c), false),
                None => {
                    let c = Self::generate();
                    c.store(&path)?;
                    (Some(c), true)
                }
            }
        };
        let pick = |i: usize, stored: Option<&String>| -> Result<String, CredentialsError> {
            from_env[i]
                .clone()
                .or_else(|| stored.cloned())
                .ok_or_else(|| CredentialsError::Invalid(format!("{} is not set", ENV_VARS[i])))
        };
        let c = Credentials {
            account_sid: pick(0, stored.as_ref().map(|s| &s.account_sid))?,
            auth_token: pick(1, stored.as_ref().map(|s| &s.auth_token))?,
            api_key_sid: pick(2, stored.as_ref().map(|s| &s.api_key_sid))?,
            api_key_secret: pick(3, stored.as_ref().map(|s| &s.api_key_secret))?,
        };
        c.check()?;
        let values = [
            &c.account_sid,
            &c.auth_token,
            &c.api_key_sid,
            &c.api_key_secret,
        ];
        let generated = if created {
            (0..ENV_VARS.len())
                .filter(|i| from_env[*i].is_none())
                .map(|i| (ENV_VARS[i], values[i].clone()))
                .collect()
        } else {
            vec![]
        };
        Ok((c, generated))
    }

    fn check(&self) -> Result<(), CredentialsError> {
        if Sid::parse(SidKind::Account, &self.account_sid).is_none() {
            return Err(CredentialsError::Invalid(
                "the account SID must be AC followed by 32 hex digits".into(),
            ));
        }
        if Sid::parse(SidKind::ApiKey, &self.api_key_sid).is_none() {
            return Err(CredentialsError::Invalid(
                "the API key SID must be SK followed by 32 hex digits".into(),
            ));
        }
        if self.auth_token.len() < 8 || self.api_key_secret.len() < 8 {
            return Err(CredentialsError::Invalid(
                "the auth token and API key secret need at least 8 characters".into(),
            ));
        }
        Ok(())
    }

    /// Reads the credentials file, if there is one.
    pub fn load(path: &Path) -> Result<Option<Credentials>, CredentialsError> {
        let io = |source| CredentialsError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| CredentialsError::Invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    fn store(&self, path: &Path) -> Result<(), CredentialsError> {
        let io = |source| CredentialsError::Io {
            path: path.to_owned(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(io)?;
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| CredentialsError::Invalid(e.to_string()))?;
        f.write_all(&text).map_err(io)?;
        f.sync_all().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let (a, generated) = Credentials::resolve(dir.path(), |_| None).unwrap();
        assert_eq!(generated.len(), 4);
        let (b, generated) = Credentials::resolve(dir.path(), |_| None).unwrap();
        assert!(generated.is_empty());
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(CREDENTIALS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let token = "t".repeat(32);
        let (c, _) = Credentials::resolve(dir.path(), |v| {
            (v == "CONFAB_AUTH_TOKEN").then(|| token.clone())
        })
        .unwrap();
        assert_eq!(c.auth_token, token);
        assert_eq!(c.account_sid, a.account_sid);
        assert!(
            !format!("{c:?}").contains(&token),
            "secrets stay out of Debug"
        );
    }
}
