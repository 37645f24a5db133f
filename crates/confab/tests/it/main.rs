//! Tests of the real `confab` binary: start it as a child process, kill it, restart it.
#![allow(clippy::unwrap_used)]

mod bench_cli;
mod chat;
mod cluster;
mod crash;
mod dev_mode;
mod flood;
mod log_format;
mod process;
mod secrets_in_logs;
mod serve_cli;
mod sigkill;
mod sigterm;
mod token_cli;
mod two_processes;
