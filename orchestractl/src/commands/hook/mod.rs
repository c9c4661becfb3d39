//! `orchestractl hook notification`: run by Claude Code as its `Notification` hook; hands
//! the hook's input to orchestrad, which tells the user the session waits for them.
//!
//! A hook must never get in Claude Code's way: it does not start the daemon, gives up
//! after a few seconds, prints nothing unless asked (`--json`), and exits 0 whatever
//! happens (problems go to stderr, which Claude Code shows only in its debug output).

pub mod permission_request;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

use orchestra_proto::v1::NotifyHookRequest;

use crate::cli::HookCommand;
use crate::client::Ctx;
use crate::output;

/// Largest hook input read (the real one is well under a kilobyte).
const MAX_INPUT: u64 = 1024 * 1024;

/// Longest the hook may take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs a `hook` subcommand.
pub async fn run(ctx: &Ctx, cmd: HookCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HookCommand::PermissionRequest => permission_request::run(ctx).await,
        HookCommand::Notification => {
            // Run by hand in a terminal, reading stdin would wait for input that never
            // comes (the timeout below only covers the daemon): say what it is for instead.
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "orchestractl hook notification reads Claude Code's hook JSON on stdin; \
                     it is run by Claude Code (see `orchestractl hook notification --help`), \
                     not by hand"
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut input = String::new();
            if let Err(err) = std::io::stdin().take(MAX_INPUT).read_to_string(&mut input) {
                eprintln!("orchestractl hook: cannot read the hook input: {err}");
                return Ok(ExitCode::SUCCESS);
            }
            match tokio::time::timeout(TIMEOUT, forward(ctx, input)).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => eprintln!("orchestractl hook: {err:#}"),
                Err(_) => eprintln!("orchestractl hook: orchestrad did not answer in time"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn forward(ctx: &Ctx, input_json: String) -> anyhow::Result<()> {
    let Some(clients) = ctx.try_connect().await? else {
        // No daemon, nobody to tell; starting one from a hook would surprise the user.
        return Ok(());
    };
    let response = clients
        .notify()
        .hook(NotifyHookRequest { input_json })
        .await?
        .into_inner();
    if ctx.json {
        output::json(&response)?;
    }
    Ok(())
}
