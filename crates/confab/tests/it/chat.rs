//! `confab chat`: two instances against a real `confab serve`, driven through their
//! standard input and read from their standard output, line by line.

use std::process::Stdio;
use std::time::Duration;

use confab_testkit::test_credentials;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::process::ServeProcess;

struct Chat {
    child: Child,
    input: ChildStdin,
    output: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Chat {
    /// Starts `confab chat` as `identity` in `conversation`, minting its token from the
    /// credentials in the environment, and waits until it is in the conversation.
    async fn start(server: &ServeProcess, identity: &str, conversation: &str) -> Chat {
        let c = test_credentials();
        let ws = server.url.replacen("http://", "ws://", 1);
        let mut child = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args([
                "chat",
                "--identity",
                identity,
                "--conversation",
                conversation,
            ])
            .args(["--server", &ws])
            .env("CONFAB_ACCOUNT_SID", &c.account_sid)
            .env("CONFAB_API_KEY_SID", &c.api_key_sid)
            .env("CONFAB_API_KEY_SECRET", &c.api_key_secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn confab chat");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut chat = Chat {
            child,
            input,
            output,
            seen: vec![],
        };
        chat.wait_for(&format!("* in {conversation} (")).await;
        chat
    }

    /// Reads lines until one contains `text`.
    async fn wait_for(&mut self, text: &str) -> String {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(20), self.output.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {text:?} within 20 s; seen {:?}", self.seen))
                .unwrap()
                .unwrap_or_else(|| panic!("output ended before {text:?}; seen {:?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(text) {
                return line;
            }
        }
    }

    async fn type_line(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.input.flush().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chat_clients_talk_and_see_each_other_typing_and_reading() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(dir.path()).await;
    let mut bob = Chat::start(&server, "bob", "support").await;
    assert!(
        bob.seen.contains(&"[connected]".to_owned()),
        "{:?}",
        bob.seen
    );
    let mut alice = Chat::start(&server, "alice", "support").await;
    bob.wait_for("* alice joined").await;

    alice.type_line("/typing").await;
    bob.wait_for("* alice is typing").await;
    alice.type_line("hello bob").await;
    // The message and the end of typing, in either order.
    let first = bob.wait_for("alice").await;
    let second = bob.wait_for("alice").await;
    let mut both = [first, second];
    both.sort();
    assert_eq!(both, ["* alice stopped typing", "<alice> hello bob"]);
    alice.wait_for("<alice> hello bob").await;
    // Bob has shown it, so he has read it; alice sees that.
    alice.wait_for("* bob read up to #0").await;

    bob.type_line("hi alice").await;
    assert_eq!(alice.wait_for("<bob>").await, "<bob> hi alice");
    bob.type_line("/quit").await;
    let status = tokio::time::timeout(Duration::from_secs(20), bob.child.wait())
        .await
        .expect("/quit ends the client")
        .unwrap();
    assert!(status.success());
}
