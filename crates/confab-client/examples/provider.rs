//! The same flow with a token provider: the client asks the app's token endpoint by itself
//! ahead of expiry, so the app has no token events to handle.
//!
//! ```sh
//! cargo run -p confab-client --example provider -- alice
//! ```

mod support;

use confab_client::{Client, ClientEvent, ClientOptions, ClientState};
use support::{server_url, token_endpoint};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let identity = std::env::args().nth(1).unwrap_or_else(|| "alice".into());
    let who = identity.clone();
    let mut options = ClientOptions::new(server_url()).with_token_provider(move || {
        let who = who.clone();
        async move { token_endpoint(&who, 60) }
    });
    options.token_lead = std::time::Duration::from_secs(20);
    let (client, mut events) = Client::new(token_endpoint(&identity, 60)?, options);
    let mut renewals = 0;
    while let Some(event) = events.next().await {
        println!("{event:?}");
        match event {
            ClientEvent::StateChanged(ClientState::Failed) => {
                return Err("the client failed".into());
            }
            ClientEvent::TokenAboutToExpire { .. } => {
                renewals += 1;
                if renewals == 2 {
                    // Two renewals by the provider, still connected: done.
                    println!(
                        "still {:?} after {renewals} renewals",
                        client.connection_state()
                    );
                    client.shutdown().await;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
