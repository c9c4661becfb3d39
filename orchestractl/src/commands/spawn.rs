//! `orchestractl spawn TASK...`: agents in parallel, each in its own worktree.

use std::process::ExitCode;

use orchestra_proto::v1::SpawnRequest;

use crate::cli::SpawnArgs;
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Spawns the agents and reports where each one runs.
pub async fn run(ctx: &Ctx, args: SpawnArgs) -> anyhow::Result<ExitCode> {
    if ctx.host.is_some() && args.repo.is_none() {
        anyhow::bail!(
            "with --host, name the repository by its path on that machine: \
             `orchestractl --host NAME spawn --repo /path/there \"a task\"`"
        );
    }
    let clients = ctx.connect().await?;
    let repo = match (&ctx.host, &args.repo) {
        // Another machine's path: sent as given, not made absolute against ours (nor
        // taken relative to that daemon's directory, which the user cannot see).
        (Some(host), Some(path)) if !path.is_absolute() => anyhow::bail!(
            "with --host, give the repository's absolute path on {host}, not {}",
            path.display()
        ),
        (Some(_), Some(path)) => path.display().to_string(),
        _ => repo_arg(args.repo.as_deref())?,
    };
    let response = clients
        .agents()
        .spawn(SpawnRequest {
            repo,
            tasks: args.tasks,
            parallel: args.parallel.unwrap_or(0),
            no_worktree: args.no_worktree,
            base: args.base.unwrap_or_default(),
            model: args.model.unwrap_or_default(),
            permission_mode: args.permission_mode.unwrap_or_default(),
            allowed_tools: args.allowed_tools,
            max_budget_usd: args.max_budget_usd.unwrap_or(0.0),
            batch_max_budget_usd: args.batch_max_budget_usd.unwrap_or(0.0),
            // The agents get the caller's environment (PATH, API keys, ...), as if
            // started from this shell. Not on another machine: there this shell's HOME
            // and PATH are wrong, and an empty map gives them that daemon's own.
            env: if ctx.host.is_some() {
                Default::default()
            } else {
                std::env::vars().collect()
            },
            after: args.after.unwrap_or_default(),
            no_siblings: args.no_siblings,
            sandbox: args.sandbox,
        })
        .await?
        .into_inner();
    for warning in &response.warnings {
        eprintln!("orchestractl: warning: {warning}");
    }
    ctx.answer(&response.agents, || {
        for agent in &response.agents {
            let place = if agent.branch.is_empty() {
                agent.cwd.clone()
            } else {
                format!("{} on {}", agent.cwd, agent.branch)
            };
            println!(
                "{}  {:<8}  {}  {}",
                agent.id,
                agent.state,
                output::truncate(&agent.task, 40),
                place
            );
        }
        let parallel = response.agents.first().map(|a| a.parallel).unwrap_or(1);
        eprintln!(
            "{} agent(s) accepted, at most {parallel} at once; follow with `orchestractl status --watch`",
            response.agents.len()
        );
        Ok(())
    })
}
