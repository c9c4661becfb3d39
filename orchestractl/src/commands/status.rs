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
            print_table(&agents);
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
        print!("\x1b[2J\x1b[H");
        println!("agents (Ctrl-C to stop watching; the agents keep running)\n");
        print_table(&list);
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
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
            let activity = if a.error.is_empty() {
                &a.activity
            } else {
                &a.error
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
