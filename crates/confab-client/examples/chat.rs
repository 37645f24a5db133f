//! The standard integration flow, against a running `confab serve`:
//! create a client, wait for `initialized`, renew the token on `tokenAboutToExpire` from the
//! app's token endpoint, and make a new client on `tokenExpired`.
//!
//! ```sh
//! cargo run --release -p confab -- serve &          # in another terminal
//! cargo run -p confab-client --example chat -- alice "hello from the example"
//! ```

mod support;

use confab_client::{Client, ClientEvent, ClientOptions, ClientState};
use support::{server_url, token_endpoint};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let identity = args.next().unwrap_or_else(|| "alice".into());
    let text = args.next().unwrap_or_else(|| "hello".into());
    // Short-lived tokens, so the renewal shows within a minute.
    let ttl = 60;
    let mut options = ClientOptions::new(server_url());
    options.token_lead = std::time::Duration::from_secs(20);
    let (mut client, mut events) = Client::new(token_endpoint(&identity, ttl)?, options.clone());
    let mut sent = false;
    while let Some(event) = events.next().await {
        println!("{event:?}");
        match event {
            ClientEvent::StateChanged(ClientState::Initialized) if !sent => {
                sent = true;
                let conversation = client.create_conversation(Some("example")).await?;
                client.join(conversation.sid.as_str()).await?;
                let m = client
                    .send_message(conversation.sid.as_str(), &text)
                    .await?;
                println!("sent message #{} to {}", m.index, conversation.sid);
            }
            ClientEvent::StateChanged(ClientState::Failed) => {
                return Err("the client failed".into());
            }
            ClientEvent::TokenAboutToExpire { .. } => {
                client.update_token(token_endpoint(&identity, ttl)?).await?;
                println!("token renewed in place");
                client.shutdown().await;
            }
            ClientEvent::TokenExpired => {
                // Too late to renew in place: start over with a new client.
                client.shutdown().await;
                (client, events) = Client::new(token_endpoint(&identity, ttl)?, options.clone());
            }
            _ => {}
        }
    }
    Ok(())
}
