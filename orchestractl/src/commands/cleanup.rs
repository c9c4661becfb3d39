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
    // The agents whose worktrees went are history (and so are the resumes that ran in
    // them): offer to forget them, or do it.
    let removed: Vec<String> = response
        .actions
        .iter()
        .filter(|a| a.remove_worktree)
        .flat_map(|a| std::iter::once(&a.agent_id).chain(&a.sharing_agents))
        .cloned()
        .collect();
    let forgotten = if args.forget && !response.dry_run && !removed.is_empty() {
        super::forget::forget(&clients, removed.clone()).await?
    } else {
        Vec::new()
    };
    if ctx.json {
        let mut value = serde_json::to_value(&response)?;
        value["forgotten"] = serde_json::to_value(&forgotten)?;
        output::json(&value)?;
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
    super::forget::print(&forgotten);
    if !args.forget && !response.dry_run && !removed.is_empty() {
        println!(
            "their agents still show in `orchestractl status`; forget them with `orchestractl forget {}` (or `cleanup --forget` next time)",
            removed.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
