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

use confab_client::{
    Client, ClientEvent, ClientOptions, ClientState, ConversationEvents, ConversationHandle,
    LogLevel, ParticipantHandle, ParticipantUpdateReason,
};
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
    // The conversation's own object, and its own stream of events, once entered.
    let mut conversation: Option<(ConversationHandle, ConversationEvents)> = None;
    let mut input_open = true;
    loop {
        tokio::select! {
            event = events.next() => {
                let Some(event) = event else { return Ok(()) };
                match event {
                    ClientEvent::ConnectionStateChanged(s) => say(&format!("[{}]", s.as_str())),
                    ClientEvent::StateChanged(ClientState::Failed) => {
                        return Err("could not connect (see the connection error above)".into());
                    }
                    ClientEvent::StateChanged(ClientState::Initialized) if conversation.is_none() => {
                        let here = enter(&client, &args.conversation).await?;
                        // Listening starts before the counts are read: nothing falls between.
                        let stream = here.events();
                        say(&format!("* in {} ({}) as {}", args.conversation, here.sid(), args.identity));
                        if let Ok(s) = here.summary().await {
                            say(&format!(
                                "* {} messages, {} unread, {} participants",
                                s.messages_count,
                                s.unread_messages_count.unwrap_or(s.messages_count),
                                s.participants_count
                            ));
                        }
                        conversation = Some((here, stream));
                    }
                    ClientEvent::ConnectionError { code, message, .. } => {
                        say(&format!("! {code}: {message}"));
                    }
                    _ => {}
                }
            }
            event = next_in(&mut conversation), if conversation.is_some() => {
                let Some(event) = event else {
                    say("* you are no longer in the conversation");
                    conversation = None;
                    continue;
                };
                show(&event, &args.identity);
                if let ClientEvent::MessageAdded(m) = event {
                    // Shown is read; in its own task, so the screen never waits on it.
                    tokio::spawn(async move { m.conversation().advance_last_read(m.index()).await });
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
                let Some((here, _)) = &conversation else {
                    say("! not in the conversation");
                    continue;
                };
                match line.trim() {
                    "" => {}
                    "/quit" => {
                        client.shutdown().await;
                        return Ok(());
                    }
                    "/typing" => here.typing(),
                    text => {
                        if let Err(e) = here.send_message(text).await {
                            say(&format!("! {e}"));
                        }
                    }
                }
            }
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// The next event of the conversation entered.
async fn next_in(
    conversation: &mut Option<(ConversationHandle, ConversationEvents)>,
) -> Option<ClientEvent> {
    match conversation {
        Some((_, events)) => events.next().await,
        None => std::future::pending().await,
    }
}

/// Prints an event of the conversation.
fn show(event: &ClientEvent, me: &str) {
    let who = |p: &ParticipantHandle| p.identity().unwrap_or_else(|| "someone".into());
    match event {
        ClientEvent::MessageAdded(m) => {
            let m = m.snapshot();
            say(&format!(
                "<{}> {}",
                m.author,
                m.body.as_deref().unwrap_or("")
            ));
        }
        ClientEvent::ParticipantUpdated {
            participant,
            reasons,
        } if reasons.contains(&ParticipantUpdateReason::LastReadMessageIndex)
            && participant.identity().as_deref() != Some(me) =>
        {
            match participant.last_read_message_index() {
                Some(i) => say(&format!("* {} read up to #{i}", who(participant))),
                None => say(&format!("* {} marked everything unread", who(participant))),
            }
        }
        ClientEvent::TypingStarted(p) => say(&format!("* {} is typing…", who(p))),
        ClientEvent::TypingEnded(p) => say(&format!("* {} stopped typing", who(p))),
        ClientEvent::ParticipantJoined(p) => say(&format!("* {} joined", who(p))),
        ClientEvent::ParticipantLeft(p) => say(&format!("* {} left", who(p))),
        _ => {}
    }
}

/// Finds the conversation by unique name (creating it if there is none) and joins it;
/// returns the client's object for it.
async fn enter(client: &Client, name: &str) -> Result<ConversationHandle, String> {
    match client.conversation_by_unique_name(name).await {
        // Ours already.
        Ok(here) => return Ok(here),
        // There but not ours: joining finds it.
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
        Ok(p) => Ok(client.handle(p.conversation_sid.as_str())),
        // Joined already (from another device, in the meantime).
        Err(e) if e.code == 50300 => client
            .conversation_by_unique_name(name)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
