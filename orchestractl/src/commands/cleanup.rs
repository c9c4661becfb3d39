//! `orchestractl cleanup [--all] [--dry-run] [--force]`.

use std::process::ExitCode;

use orchestra_proto::v1::CleanupRequest;

use crate::cli::CleanupArgs;
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Removes the worktrees of finished agents.
pub async fn run(ctx: &Ctx, args: CleanupArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .agents()
        .cleanup(CleanupRequest {
            repo: repo_arg(args.repo.as_deref())?,
            all: args.all,
            dry_run: args.dry_run,
            force: args.force,
        })
        .await?
        .into_inner();
    if ctx.json {
        output::json(&response)?;
        return Ok(ExitCode::SUCCESS);
    }
    if response.actions.is_empty() {
        println!("no agent worktrees to clean up");
    }
    let verb = if response.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for action in &response.actions {
        if action.remove_worktree {
            let branch = if action.delete_branch {
                format!(" and branch {}", action.branch)
            } else {
                format!(" (kept branch {})", action.branch)
            };
            println!("{}  {verb} {}{branch}", action.agent_id, action.worktree);
        } else {
            println!(
                "{}  kept {}: {}",
                action.agent_id,
                action.worktree,
                output::truncate(&action.skipped, 100)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
