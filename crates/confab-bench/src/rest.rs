//! Setting up a scenario over REST, as an app backend would: conversations and participants.

use futures_util::StreamExt;
use serde_json::Value;

use crate::target::Target;

/// REST requests in flight at once during setup.
const IN_FLIGHT: usize = 32;

/// A REST client of the target's account.
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    base: String,
    user: String,
    password: String,
}

impl Rest {
    /// A client for `target`.
    pub fn new(target: &Target) -> Rest {
        Rest {
            client: reqwest::Client::new(),
            base: target.http.clone(),
            user: target.credentials.account_sid.clone(),
            password: target.credentials.auth_token.clone(),
        }
    }

    /// POSTs a form; the answer's JSON, or an error naming the path and status.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = self
            .client
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("POST {path}: {e}: {text}"))
    }

    /// Creates `n` conversations, the `i`th with `members(i)` as participants; their SIDs in
    /// order. Runs [`IN_FLIGHT`] requests at a time.
    pub async fn conversations(
        &self,
        n: usize,
        members: impl Fn(usize) -> Vec<String>,
    ) -> Result<Vec<String>, String> {
        let created: Vec<Result<String, String>> = futures_util::stream::iter(0..n)
            .map(|_| async move {
                let c = self.post("/v1/Conversations", &[]).await?;
                c["sid"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("no sid in {c}"))
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let sids = created.into_iter().collect::<Result<Vec<_>, _>>()?;
        let adds: Vec<(String, String)> = sids
            .iter()
            .enumerate()
            .flat_map(|(i, sid)| members(i).into_iter().map(move |m| (sid.clone(), m)))
            .collect();
        let added: Vec<Result<Value, String>> = futures_util::stream::iter(adds)
            .map(|(sid, identity)| async move {
                self.post(
                    &format!("/v1/Conversations/{sid}/Participants"),
                    &[("Identity", &identity)],
                )
                .await
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        added.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(sids)
    }
}
