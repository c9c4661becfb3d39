//! `orchestractl hook permission-request`: run by Claude Code's `PermissionRequest` hook.
//!
//! It reads the hook's input on stdin, asks orchestrad and blocks until someone answers
//! (`orchestractl approve`, the dashboard), then prints the hook's decision JSON. It never
//! decides on its own: without a daemon, on any error, or when nobody answers before
//! [`WAIT`], it prints nothing and exits 0, and Claude Code asks in its own way.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use orchestra_proto::v1::AskRequest;

use crate::client::Ctx;

/// How long the hook waits for an answer: a little less than the `timeout` that
/// `hooks install` gives Claude Code (600 s), so that the hook ends by itself, cleanly,
/// and its approval is cancelled, before Claude Code kills it.
pub const WAIT: Duration = Duration::from_secs(590);

/// The environment variable set in our own agents (they ask over stdio already).
const AGENT_ENV: &str = "ORCHESTRA_AGENT_ID";

/// Runs `hook permission-request`; always exits 0 (a hook must not get in the way).
pub async fn run(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if let Err(err) = permission_request(ctx).await {
        // Stderr of a hook that exits 0 is only shown in Claude Code's debug output; the
        // user is asked in Claude Code's own way.
        eprintln!("orchestractl hook: no decision: {err:#}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn permission_request(ctx: &Ctx) -> anyhow::Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    if std::env::var_os(AGENT_ENV).is_some_and(|v| !v.is_empty()) {
        // One of our agents: its request reaches orchestrad over stdio; asking here too
        // would ask the user twice.
        return Ok(());
    }
    // Never start a daemon from a hook: nobody would be watching it.
    let Some(clients) = ctx.try_connect().await? else {
        anyhow::bail!("orchestrad is not running");
    };
    let mut approvals = clients.approvals();
    let ask = approvals.ask(AskRequest {
        hook_input_json: input,
    });
    let answer = tokio::time::timeout(WAIT, ask)
        .await
        .map_err(|_| anyhow::anyhow!("nobody answered within {} s", WAIT.as_secs()))??
        .into_inner();
    if !answer.hook_output_json.is_empty() {
        println!("{}", answer.hook_output_json);
    }
    Ok(())
}
