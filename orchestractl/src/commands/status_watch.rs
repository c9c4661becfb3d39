//! `orchestractl status --watch`: the agents table, kept up to date.
//!
//! The first frame is drawn once from a listing (not once per agent); then every change
//! redraws it (changes that arrive together, once), and so does a one-second tick, so the
//! TIME of running agents moves even when nothing else happens. Into a pipe or a file it
//! writes a new table, under a time stamp, only when something changed, and never the
//! terminal's clear-screen codes.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use orchestra_proto::v1::{Agent, AgentEvent, ListAgentsRequest, WatchAgentsRequest};
use tokio_stream::StreamExt;

use crate::client::{Client, Ctx};

/// Watches the agents of `repo` (every agent when empty) until the daemon goes away or
/// the user stops it.
pub async fn run(ctx: &Ctx, clients: &Client, repo: String) -> anyhow::Result<ExitCode> {
    // Subscribe before listing, so no change falls between the two.
    let mut events = clients
        .agents()
        .watch(WatchAgentsRequest { snapshot: ctx.json })
        .await?
        .into_inner();
    let listing = clients
        .agents()
        .list(ListAgentsRequest { repo })
        .await?
        .into_inner();
    // The repository's root as the daemon resolved it: events match it exactly.
    let root = listing.repo;
    let wanted = |agent: &Agent| root.is_empty() || agent.repo == root;
    let mut stdout = std::io::stdout();
    if ctx.json {
        while let Some(event) = events.next().await {
            let event = event?;
            if event.agent.as_ref().is_some_and(wanted) {
                writeln!(stdout, "{}", serde_json::to_string(&event)?)?;
                stdout.flush()?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut agents: BTreeMap<String, Agent> = listing
        .agents
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    let on_terminal = std::io::IsTerminal::is_terminal(&stdout);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first frame now; a tick comes at once, which the first frame stands for.
    tick.tick().await;
    draw(&agents, root.is_empty(), on_terminal, &mut stdout)?;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !on_terminal {
                    continue;
                }
            }
            event = events.next() => {
                let Some(event) = event else { break };
                apply(&mut agents, event?, &wanted);
                // Changes already here are drawn together: one frame, not one each.
                while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, events.next()).await {
                    apply(&mut agents, event?, &wanted);
                }
            }
        }
        draw(&agents, root.is_empty(), on_terminal, &mut stdout)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn apply(
    agents: &mut BTreeMap<String, Agent>,
    event: AgentEvent,
    wanted: &impl Fn(&Agent) -> bool,
) {
    let Some(agent) = event.agent else { return };
    if event.kind == "removed" || !wanted(&agent) {
        agents.remove(&agent.id);
    } else {
        agents.insert(agent.id.clone(), agent);
    }
}

/// One frame: clear the screen (or, into a pipe, a time stamp), then the table, newest
/// first.
fn draw(
    agents: &BTreeMap<String, Agent>,
    show_repo: bool,
    on_terminal: bool,
    stdout: &mut std::io::Stdout,
) -> anyhow::Result<()> {
    let mut list: Vec<Agent> = agents.values().cloned().collect();
    list.sort_by_key(|a| std::cmp::Reverse(a.created_at_ms));
    list.sort_by_key(|a| a.state != "waiting");
    if on_terminal {
        print!("\x1b[H\x1b[2J");
        println!("agents (Ctrl-C to stop watching; the agents keep running)\n");
    } else {
        println!("-- {}", chrono::Local::now().format("%Y-%m-%d %H:%M:%S"));
    }
    if list.is_empty() {
        println!("no agents yet; start some with `orchestractl spawn \"a task\"`");
    } else {
        super::agent_table::print(&list, show_repo);
    }
    stdout.flush()?;
    Ok(())
}
