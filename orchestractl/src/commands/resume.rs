//! `orchestractl resume <id> [PROMPT]`: continue a session, run by the daemon.

use std::process::ExitCode;

use orchestra_proto::v1::ResumeSessionRequest;

use crate::cli::ResumeArgs;
use crate::client::Ctx;

/// Asks the daemon to resume a session.
pub async fn run(ctx: &Ctx, args: ResumeArgs) -> anyhow::Result<ExitCode> {
    if args.max_budget_usd.is_some() {
        // Refused before anything starts: a cap given here and silently dropped would
        // let a resumed session spend without the limit its user believes in.
        anyhow::bail!(
            "resume takes no --max-budget-usd: a resumed session runs under \
             default_max_budget_usd and daily_max_budget_usd from the config (`orchestractl \
             config show`); for a cap of its own, spawn the task with --max-budget-usd"
        );
    }
    let clients = ctx.connect().await?;
    let resumed = clients
        .sessions()
        .resume(ResumeSessionRequest {
            id: args.id,
            prompt: args.prompt.unwrap_or_default(),
            force: args.force,
            env: std::env::vars().collect(),
        })
        .await?
        .into_inner();
    ctx.answer(&resumed, || {
        println!(
            "resuming session {} in {} as agent {}",
            resumed.session_id, resumed.cwd, resumed.agent_id
        );
        println!("follow it with: orchestractl logs {} -f", resumed.agent_id);
        Ok(())
    })
}
