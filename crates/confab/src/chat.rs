//! `confab chat`: a terminal chat client on the Rust SDK, the first demo of the product.
//!
//! It signs in (minting its own token from the local server's credentials unless given one),
//! joins a conversation by unique name (creating it if needed), prints the connection state,
//! typing, read state (what the others have read; what it shows counts as read) and live
//! messages, and sends each line typed as a message. It works the same on a
//! terminal and on a pipe, which is how the tests drive two of them.
//!
//! Lines typed starting with `/` are commands: `/typing` (say you are typing), `/quit`.

use std::path::PathBuf;
use std::time::Duration;

use confab_client::{Client, ClientEvent, ClientOptions, ClientState, LogLevel};
use tokio::io::{AsyncBufReadExt, BufReader};

/// `confab chat` arguments.
#[derive(clap::Args)]
pub(crate) struct ChatArgs {
    /// Who to chat as.
    #[arg(long)]
    identity: String,
    /// The conversation's unique name; created if it does not exist.
    #[arg(long, default_value = "lobby")]
    conversation: String,
    /// The server, `ws://host:port`.
    #[arg(long, default_value = "ws://127.0.0.1:8080", env = "CONFAB_URL")]
    server: String,
    /// An access token; by default one is minted from the credentials in `--data-dir`.
    #[arg(long, env = "CONFAB_TOKEN")]
    token: Option<String>,
    /// Where `confab serve` keeps its generated credentials (for minting a token).
    #[arg(long, default_value = "./confab-data", env = "CONFAB_DATA_DIR")]
    data_dir: PathBuf,
}

/// How long a minted token lives; the client renews it in place before it ends.
const TOKEN_TTL_SECS: i64 = 3600;

pub(crate) fn chat(args: ChatArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(run(args))
}

fn say(line: &str) {
    // A closed stdout (the reader went away) is no reason to stop chatting.
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn run(args: ChatArgs) -> Result<(), String> {
    let minted = args.token.is_none();
    let mint = {
        let (dir, identity) = (args.data_dir.clone(), args.identity.clone());
        move || crate::mint_token(&dir, &identity, TOKEN_TTL_SECS, None)
    };
    let token = match &args.token {
        Some(t) => t.clone(),
        None => mint()?,
    };
    let mut options = ClientOptions::new(&args.server);
    options.log_level = LogLevel::Silent;
    options.reconnection_window = None;
    if minted {
        let mint = mint.clone();
        options = options.with_token_provider(move || {
            let token = mint();
            async move { token }
        });
    }
    let (client, mut events) = Client::new(token, options);
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut conversation: Option<String> = None;
    let mut input_open = true;
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { return Ok(()) };
                let here = |sid: &confab_client::Sid| conversation.as_deref() == Some(sid.as_str());
                match event {
                    ClientEvent::ConnectionStateChanged(s) => say(&format!("[{}]", s.as_str())),
                    ClientEvent::StateChanged(ClientState::Failed) => {
                        return Err("could not connect (see the connection error above)".into());
                    }
                    ClientEvent::StateChanged(ClientState::Initialized) if conversation.is_none() => {
                        let sid = enter(&client, &args.conversation).await?;
                        say(&format!("* in {} ({sid}) as {}", args.conversation, args.identity));
                        if let Ok(s) = client.handle(&sid).summary().await {
                            say(&format!(
                                "* {} messages, {} unread, {} participants",
                                s.messages_count,
                                s.unread_messages_count.unwrap_or(s.messages_count),
                                s.participants_count
                            ));
                        }
                        conversation = Some(sid);
                    }
                    ClientEvent::ConnectionError { code, message, .. } => {
                        say(&format!("! {code}: {message}"));
                    }
                    ClientEvent::MessageAdded(m) if here(&m.conversation_sid) => {
                        say(&format!("<{}> {}", m.author, m.body.as_deref().unwrap_or("")));
                        // Shown is read; in its own task, so the screen never waits on it.
                        let (client, sid, index) = (client.clone(), m.conversation_sid.to_string(), m.index);
                        tokio::spawn(async move { client.advance_last_read(sid, index).await });
                    }
                    ClientEvent::ReadHorizon(h) if here(&h.conversation_sid) && h.identity != args.identity => {
                        match h.last_read_message_index {
                            Some(i) => say(&format!("* {} read up to #{i}", h.identity)),
                            None => say(&format!("* {} marked everything unread", h.identity)),
                        }
                    }
                    ClientEvent::TypingStarted(t) if here(&t.conversation_sid) => {
                        say(&format!("* {} is typing…", t.identity));
                    }
                    ClientEvent::TypingEnded(t) if here(&t.conversation_sid) => {
                        say(&format!("* {} stopped typing", t.identity));
                    }
                    ClientEvent::ParticipantJoined(p) if here(&p.conversation_sid) => {
                        say(&format!("* {} joined", p.identity.as_deref().unwrap_or("someone")));
                    }
                    ClientEvent::ParticipantLeft(p) if here(&p.conversation_sid) => {
                        say(&format!("* {} left", p.identity.as_deref().unwrap_or("someone")));
                    }
                    _ => {}
                }
            }
            // Input waits until the conversation is entered.
            line = stdin.next_line(), if input_open && conversation.is_some() => {
                let line = match line {
                    Ok(Some(l)) => l,
                    // End of input: keep listening until interrupted.
                    Ok(None) | Err(_) => {
                        input_open = false;
                        continue;
                    }
                };
                let Some(sid) = conversation.clone() else {
                    say("! not connected yet");
                    continue;
                };
                match line.trim() {
                    "" => {}
                    "/quit" => {
                        client.shutdown().await;
                        return Ok(());
                    }
                    "/typing" => client.typing(&sid),
                    text => {
                        if let Err(e) = client.send_message(&sid, text).await {
                            say(&format!("! {e}"));
                        }
                    }
                }
            }
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// Finds the conversation by unique name (creating it if there is none) and joins it;
/// returns its SID.
async fn enter(client: &Client, name: &str) -> Result<String, String> {
    match client.conversation(name).await {
        // Ours already, or there but not ours (joining finds it).
        Ok(_) => {}
        Err(e) if e.code == 20403 => {}
        Err(e) if e.code == 20404 => {
            let create = serde_json::json!({ "uniqueName": name, "friendlyName": name });
            match client.request("conversation.create", create).await {
                // Someone else created it in the meantime: joining finds theirs.
                Ok(_) => {}
                Err(e) if e.code == 50300 => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(e) => return Err(e.to_string()),
    }
    match client.join(name).await {
        Ok(p) => Ok(p.conversation_sid.to_string()),
        Err(e) if e.code == 50300 => client
            .conversation(name)
            .await
            .map(|c| c.sid.to_string())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
