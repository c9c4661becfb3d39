//! `orchestractl merge [AGENT... | --batch ID] [--into BRANCH] [--dry-run] [--verify CMD
//! [--repair N] [--verify-timeout S] [--no-wait]]`: one integration branch from the
//! agents' branches (checked, with the culprit found and sent back to repair), or the
//! conflicts among them; `merge status [BATCH] [--watch]`: where verified merges are.

use std::process::ExitCode;

use orchestra_proto::v1::{MergeRequest, MergeResponse, MergeStatusRequest};
use serde_json::json;

use crate::cli::{MergeArgs, MergeCommand};
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Exit code when some branch was left out (or, dry run, some pair conflicts): the
/// command did its job, but a script should look.
const EXIT_CONFLICTS: u8 = 2;

/// Merges (or previews) and prints what happened.
pub async fn run(ctx: &Ctx, args: MergeArgs) -> anyhow::Result<ExitCode> {
    if let Some(MergeCommand::Status { batch, watch, repo }) = args.command {
        return status(ctx, batch.unwrap_or_default(), watch, repo).await;
    }
    let clients = ctx.connect().await?;
    let verifying = args.verify.is_some();
    if verifying && !args.no_wait && !ctx.json {
        eprintln!(
            "merging and checking; this runs in the daemon (Ctrl-C does not stop it: follow it with `orchestractl merge status --watch`)"
        );
    }
    let response = clients
        .integration()
        .merge(MergeRequest {
            repo: repo_arg(args.repo.as_deref())?,
            agents: args.agents,
            batch_id: args.batch.unwrap_or_default(),
            into: args.into.unwrap_or_default(),
            dry_run: args.dry_run,
            verify: args.verify.unwrap_or_default(),
            no_verify: args.no_verify,
            repair_rounds: args.repair,
            verify_timeout_s: args.verify_timeout,
            no_wait: args.no_wait,
            approved_only: args.approved_only,
            env: std::env::vars().collect(),
        })
        .await?
        .into_inner();
    if response.verify.is_some() {
        return ctx.answer_with(run_exit(&response), &json_of(&response), || {
            print_run(&response);
            Ok(())
        });
    }
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
    let mut value = json!({
        "branch": r.branch,
        "merged": r.merged,
        "skipped": skipped_json(r),
        "batch_id": r.batch_id,
        "worktree": r.worktree,
        "head": r.head,
        "committed": r.committed,
        "state": r.state,
    });
    if let Some(verify) = &r.verify {
        value["verify"] = json!({
            "state": r.state,
            "check_state": verify.state,
            "command": verify.command,
            "exit_code": verify.exit_code,
            "duration_s": verify.duration_s,
            "culprit_agent_id": verify.culprit_agent_id,
            "output_tail": verify.output_tail,
            "base_red": verify.base_red,
            "reason": verify.reason,
            "log_path": verify.log_path,
            "verifications": verify.verifications,
        });
        value["rounds"] = json!(
            r.rounds
                .iter()
                .map(|round| json!({
                    "round": round.round,
                    "culprit_agent_id": round.culprit_agent_id,
                    "action": round.action,
                    "result": round.result,
                }))
                .collect::<Vec<_>>()
        );
        value["reason"] = json!(r.reason);
        value["started_at_ms"] = json!(r.started_at_ms);
        value["updated_at_ms"] = json!(r.updated_at_ms);
    }
    value
}

/// Whether a verified merge's state is final.
fn is_final(state: &str) -> bool {
    matches!(state, "green" | "red" | "conflicted")
}

/// Exit 0 when green (or still going, with --no-wait), 1 when red or conflicted.
fn run_exit(r: &MergeResponse) -> ExitCode {
    match r.state.as_str() {
        "red" | "conflicted" => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// One verified merge, for people.
fn print_run(r: &MergeResponse) {
    let verify = r.verify.clone().unwrap_or_default();
    println!("batch {}: {}", r.batch_id, r.state);
    if !r.reason.is_empty() {
        println!("  {}", r.reason);
    }
    if !r.merged.is_empty() {
        println!("  merged into {}: {}", r.branch, r.merged.join(", "));
    }
    for s in &r.skipped {
        println!("  left out: {} ({})", s.agent_id, s.reason);
    }
    println!(
        "  check: {} (last {}; {} check{} run in all)",
        verify.command,
        verify.state,
        verify.verifications,
        if verify.verifications == 1 { "" } else { "s" }
    );
    if !verify.culprit_agent_id.is_empty() {
        println!("  culprit: agent {}", verify.culprit_agent_id);
    }
    for round in &r.rounds {
        println!(
            "  round {}: {} sent to {}: {}",
            round.round,
            round.action.replace('_', " "),
            round.culprit_agent_id,
            round.result
        );
    }
    if verify.state == "red" && !verify.output_tail.trim().is_empty() {
        println!("  end of its output:");
        let lines: Vec<&str> = verify.output_tail.lines().collect();
        for line in &lines[lines.len().saturating_sub(15)..] {
            println!("    {line}");
        }
        if !verify.log_path.is_empty() {
            println!("  whole output: {}", verify.log_path);
        }
    }
    if !is_final(&r.state) {
        eprintln!(
            "follow it: orchestractl merge status {} --watch",
            r.batch_id
        );
    } else if r.state == "red" && !verify.base_red && !verify.culprit_agent_id.is_empty() {
        eprintln!(
            "next: send agent {} the failure and merge again with `orchestractl merge --batch {} --verify '{}' --repair 1`, or fix it by hand in its worktree",
            verify.culprit_agent_id, r.batch_id, verify.command
        );
    } else if r.state == "red" && verify.base_red {
        eprintln!("next: fix the base (its check fails before any agent's work), then merge again");
    } else if r.state == "green" {
        eprintln!(
            "next: `orchestractl pr --integration {}` or `git merge {}`",
            r.branch, r.branch
        );
    }
}

/// `merge status [BATCH] [--watch]`.
async fn status(
    ctx: &Ctx,
    batch: String,
    watch: bool,
    repo: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let repo = crate::scope::repo_filter(repo.as_deref(), false)?;
    // None until the first answer is printed (an empty list is printed too).
    let mut last_seen: Option<String> = None;
    loop {
        let runs = clients
            .integration()
            .merge_status(MergeStatusRequest {
                repo: repo.clone(),
                batch_id: batch.clone(),
            })
            .await?
            .into_inner()
            .runs;
        let shown: Vec<&MergeResponse> = if watch {
            runs.iter().take(1).collect()
        } else {
            runs.iter().collect()
        };
        let seen = shown
            .iter()
            .map(|r| format!("{}:{}:{}", r.batch_id, r.state, r.updated_at_ms))
            .collect::<Vec<_>>()
            .join(",");
        if last_seen.as_deref() != Some(seen.as_str()) {
            if ctx.json {
                let docs: Vec<serde_json::Value> = shown.iter().map(|r| json_of(r)).collect();
                output::json(&if watch {
                    docs.into_iter().next().unwrap_or_default()
                } else {
                    serde_json::Value::Array(docs)
                })?;
            } else if shown.is_empty() {
                println!(
                    "no verified merges here yet; start one with `orchestractl merge --verify CMD`"
                );
            } else {
                for r in &shown {
                    print_run(r);
                }
            }
            last_seen = Some(seen);
        }
        let done = shown.iter().all(|r| is_final(&r.state));
        if !watch || done {
            return Ok(shown.first().map_or(ExitCode::SUCCESS, |r| run_exit(r)));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
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
