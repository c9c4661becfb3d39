//! `orchestractl hook permission-request`: run by Claude Code's `PermissionRequest` hook.
//!
//! It reads the hook's input on stdin, asks orchestrad and blocks until orchestrad
//! answers: someone decided (`orchestractl approve`, the dashboard), or nobody did within
//! `approval_timeout_s` and orchestrad denied it as `expired`. It never decides on its own:
//! without a daemon or on any error it prints nothing and exits 0, and Claude Code asks in
//! its own way. The only timer here is a safety limit, a little under the `timeout` that
//! Claude Code gives the hook, so the hook ends cleanly (and its request is cancelled)
//! rather than being killed.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use orchestra_proto::v1::AskRequest;

use crate::client::Ctx;

/// How much earlier than Claude Code's `timeout` the hook gives up by itself.
const MARGIN: Duration = Duration::from_secs(10);

/// The safety limit: the `timeout` our hook has in Claude Code's settings (600 s as
/// `hooks install` writes it, and when it cannot be read), less [`MARGIN`].
fn safety_limit() -> Duration {
    let timeout = crate::commands::hooks_install::permission_timeout_s()
        .unwrap_or(crate::commands::hooks_install::PERMISSION_TIMEOUT_S);
    Duration::from_secs(timeout)
        .saturating_sub(MARGIN)
        .max(Duration::from_secs(1))
}

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
    let limit = safety_limit();
    let answer = tokio::time::timeout(limit, ask)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "orchestrad did not answer within {} s, just under this hook's timeout",
                limit.as_secs()
            )
        })??
        .into_inner();
    if !answer.hook_output_json.is_empty() {
        println!("{}", answer.hook_output_json);
    }
    Ok(())
}
