//! `orchestractl status [--watch]`: agents and what they are doing.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use orchestra_proto::v1::{Agent, ListAgentsRequest, WatchAgentsRequest};
use tokio_stream::StreamExt;

use crate::cli::StatusArgs;
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Prints the agents (and keeps printing them with --watch).
pub async fn run(ctx: &Ctx, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let repo = match &args.repo {
        Some(path) => repo_arg(Some(path))?,
        None => String::new(),
    };
    if !args.watch {
        let agents = clients
            .agents()
            .list(ListAgentsRequest { repo })
            .await?
            .into_inner()
            .agents;
        if ctx.json {
            output::json(&agents)?;
        } else if agents.is_empty() {
            println!("no agents yet; start some with `orchestractl spawn \"a task\"`");
        } else {
            let mut agents = agents;
            // Agents waiting for you come first (the sort is stable: newest first within).
            agents.sort_by_key(|a| a.state != "waiting");
            print_table(&agents);
            print_pending(&clients).await?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut events = clients
        .agents()
        .watch(WatchAgentsRequest { snapshot: true })
        .await?
        .into_inner();
    let mut agents: BTreeMap<String, Agent> = BTreeMap::new();
    let mut stdout = std::io::stdout();
    while let Some(event) = events.next().await {
        let event = event?;
        if ctx.json {
            writeln!(stdout, "{}", serde_json::to_string(&event)?)?;
            stdout.flush()?;
            continue;
        }
        if let Some(agent) = event.agent {
            if !repo.is_empty() && !repo.starts_with(&agent.repo) {
                continue;
            }
            agents.insert(agent.id.clone(), agent);
        }
        // Redraw: clear the screen, then the table, newest first.
        let mut list: Vec<Agent> = agents.values().cloned().collect();
        list.sort_by_key(|a| std::cmp::Reverse(a.created_at_ms));
        list.sort_by_key(|a| a.state != "waiting");
        print!("\x1b[2J\x1b[H");
        println!("agents (Ctrl-C to stop watching; the agents keep running)\n");
        print_table(&list);
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The approvals agents wait for, with the command that answers them.
async fn print_pending(clients: &crate::client::Clients) -> anyhow::Result<()> {
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

fn print_table(agents: &[Agent]) {
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
            vec![
                a.id.clone(),
                a.state.clone(),
                duration,
                format!("${:.2}", a.total_cost_usd),
                output::truncate(&a.task, 30),
                output::truncate(activity, 50),
            ]
        })
        .collect();
    output::table(&["ID", "STATE", "TIME", "COST", "TASK", "ACTIVITY"], &rows);
}
