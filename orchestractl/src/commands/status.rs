//! `orchestractl status [--watch]`: agents and what they are doing.

use std::process::ExitCode;

use orchestra_proto::v1::{Agent, ListAgentsRequest};

use crate::cli::StatusArgs;
use crate::client::Ctx;
use crate::{output, scope};

/// Prints the agents (and keeps printing them with --watch): by default those of the
/// repository the user stands in, every agent with a REPO column elsewhere.
pub async fn run(ctx: &Ctx, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let repo = scope::repo_filter(args.repo.as_deref(), args.all)?;
    if args.watch {
        return super::status_watch::run(ctx, &clients, repo).await;
    }
    let response = clients
        .agents()
        .list(ListAgentsRequest { repo })
        .await?
        .into_inner();
    let agents = response.agents;
    if !ctx.json {
        for line in &clients.status.conditions {
            println!("{line}");
        }
    }
    if ctx.json {
        output::json(&agents)?;
    } else if agents.is_empty() && !response.repo.is_empty() {
        println!(
            "no agents in {}; start some with `orchestractl spawn \"a task\"` (`--all` shows every repository's)",
            scope::repo_label(&response.repo)
        );
    } else if agents.is_empty() {
        println!("no agents yet; start some with `orchestractl spawn \"a task\"`");
    } else {
        let mut agents = agents;
        // Agents waiting for you come first (the sort is stable: newest first within).
        agents.sort_by_key(|a| a.state != "waiting");
        print_table(&agents, response.repo.is_empty());
        print_pending(&clients).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The approvals agents wait for, with the command that answers them.
async fn print_pending(clients: &crate::client::Client) -> anyhow::Result<()> {
    let pending = clients
        .approvals()
        .list(orchestra_proto::v1::ListApprovalsRequest { all: false })
        .await?
        .into_inner()
        .approvals;
    let pending: Vec<_> = pending.iter().filter(|a| !a.agent_id.is_empty()).collect();
    if pending.is_empty() {
        return Ok(());
    }
    println!("\nwaiting for you:");
    for a in pending {
        println!(
            "  {}  agent {}  {}    orchestractl approve {} | deny {}",
            a.id,
            a.agent_id,
            output::truncate(&a.summary, 60),
            a.id,
            a.id
        );
    }
    Ok(())
}

/// The agents as a table; `show_repo` adds a REPO column (when they come from several).
/// Columns have fixed least widths so a redrawn table does not shift as values change.
pub fn print_table(agents: &[Agent], show_repo: bool) {
    let now = chrono::Utc::now().timestamp_millis();
    let rows: Vec<Vec<String>> = agents
        .iter()
        .map(|a| {
            let duration = if a.started_at_ms > 0 {
                let end = if a.ended_at_ms > 0 {
                    a.ended_at_ms
                } else {
                    now
                };
                output::duration(((end - a.started_at_ms).max(0) / 1000) as u64)
            } else {
                "-".to_owned()
            };
            let refused;
            let activity = if !a.error.is_empty() {
                &a.error
            } else if !a.permission_denials.is_empty() && a.state != "waiting" {
                // A refusal explains a run that "succeeded" with the work half done.
                refused = format!(
                    "{} refused: {}",
                    a.permission_denials.len(),
                    a.permission_denials.join("; ")
                );
                &refused
            } else {
                &a.activity
            };
            let mut row = vec![
                a.id.clone(),
                a.state.clone(),
                duration,
                format!("${:.2}", a.total_cost_usd),
            ];
            if show_repo {
                row.push(output::truncate_left(
                    &crate::scope::repo_label(&a.repo),
                    28,
                ));
            }
            row.push(output::truncate(&a.task, 30));
            row.push(output::truncate(activity, 50));
            row
        })
        .collect();
    // id, "interrupted", "23h 59m", "$999.99", [repo,] task.
    if show_repo {
        output::table_min(
            &["ID", "STATE", "TIME", "COST", "REPO", "TASK", "ACTIVITY"],
            &rows,
            &[8, 11, 7, 7, 28, 30],
        );
    } else {
        output::table_min(
            &["ID", "STATE", "TIME", "COST", "TASK", "ACTIVITY"],
            &rows,
            &[8, 11, 7, 7, 30],
        );
    }
    print_relations(agents);
}

/// Below the table: the overlap radar's findings and the `--after` chains.
fn print_relations(agents: &[Agent]) {
    let mut lines = Vec::new();
    for a in agents {
        for overlap in &a.overlaps {
            lines.push(format!(
                "{}  also changed by {}: {}",
                a.id,
                overlap.agent_id,
                overlap.paths.join(", ")
            ));
        }
        if !a.after.is_empty() {
            lines.push(format!("{}  runs after {}", a.id, a.after));
        }
    }
    if !lines.is_empty() {
        println!();
        for line in lines {
            println!("{line}");
        }
    }
}
