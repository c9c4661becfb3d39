//! `orchestractl merge [AGENT... | --batch ID] [--into BRANCH] [--dry-run]`: one
//! integration branch from the agents' branches, or the conflicts among them.

use std::process::ExitCode;

use orchestra_proto::v1::{MergeRequest, MergeResponse};
use serde_json::json;

use crate::cli::MergeArgs;
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Exit code when some branch was left out (or, dry run, some pair conflicts): the
/// command did its job, but a script should look.
const EXIT_CONFLICTS: u8 = 2;

/// Merges (or previews) and prints what happened.
pub async fn run(ctx: &Ctx, args: MergeArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .integration()
        .merge(MergeRequest {
            repo: repo_arg(args.repo.as_deref())?,
            agents: args.agents,
            batch_id: args.batch.unwrap_or_default(),
            into: args.into.unwrap_or_default(),
            dry_run: args.dry_run,
        })
        .await?
        .into_inner();
    let trouble = if response.dry_run {
        !response.conflicts.is_empty()
    } else {
        !response.skipped.is_empty()
    };
    if ctx.json {
        output::json(&json_of(&response))?;
    } else if response.dry_run {
        print_dry_run(&response);
    } else {
        print_merge(&response);
    }
    Ok(if trouble {
        ExitCode::from(EXIT_CONFLICTS)
    } else {
        ExitCode::SUCCESS
    })
}

/// The JSON the issue promises: `{branch, merged, skipped}` or, dry run, `{conflicts}`;
/// a few more fields beside them for scripts that want them.
fn json_of(r: &MergeResponse) -> serde_json::Value {
    if r.dry_run {
        return json!({
            "batch_id": r.batch_id,
            "branch": r.branch,
            "conflicts": r.conflicts.iter().map(|c| json!({
                "agents": c.agents,
                "paths": c.paths,
            })).collect::<Vec<_>>(),
            "not_checked": skipped_json(r),
        });
    }
    json!({
        "branch": r.branch,
        "merged": r.merged,
        "skipped": skipped_json(r),
        "batch_id": r.batch_id,
        "worktree": r.worktree,
        "head": r.head,
        "committed": r.committed,
    })
}

fn skipped_json(r: &MergeResponse) -> Vec<serde_json::Value> {
    r.skipped
        .iter()
        .map(|s| {
            json!({
                "agent_id": s.agent_id,
                "paths": s.paths,
                "conflicts_with": s.conflicts_with,
                "reason": s.reason,
            })
        })
        .collect()
}

fn print_dry_run(r: &MergeResponse) {
    if r.conflicts.is_empty() {
        println!(
            "no conflicts: every branch of batch {} merges cleanly with every other",
            r.batch_id
        );
    } else {
        println!("conflicting pairs in batch {}:", r.batch_id);
        for c in &r.conflicts {
            println!("  {}  {}", c.agents.join(" <> "), c.paths.join(", "));
        }
    }
    for s in &r.skipped {
        println!("  not checked: {} ({})", s.agent_id, s.reason);
    }
    eprintln!(
        "nothing was changed; merge for real with `orchestractl merge{}`",
        if r.batch_id.is_empty() {
            String::new()
        } else {
            format!(" --batch {}", r.batch_id)
        }
    );
}

fn print_merge(r: &MergeResponse) {
    for id in &r.committed {
        println!("committed the uncommitted work of {id} on its branch");
    }
    if r.merged.is_empty() {
        println!("nothing merged into {}", r.branch);
    } else {
        println!("merged into {}: {}", r.branch, r.merged.join(", "));
        println!("  worktree: {}", r.worktree);
    }
    for s in &r.skipped {
        println!("left out: {} ({})", s.agent_id, s.reason);
    }
    if !r.merged.is_empty() {
        eprintln!(
            "next: review it in {}, then `orchestractl pr --integration {}` or `git merge {}`",
            r.worktree, r.branch, r.branch
        );
    }
}
