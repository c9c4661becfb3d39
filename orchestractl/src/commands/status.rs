//! `orchestractl status [--watch]`: agents and what they are doing.

use std::process::ExitCode;

use orchestra_proto::v1::ListAgentsRequest;

use crate::cli::StatusArgs;
use crate::client::Ctx;
use crate::{output, scope};

/// Prints the agents (and keeps printing them with --watch): by default those of the
/// repository the user stands in, every agent with a REPO column elsewhere.
pub async fn run(ctx: &Ctx, args: StatusArgs) -> anyhow::Result<ExitCode> {
    if let Some(names) = crate::hosts::selected(ctx, &args.hosts)? {
        return merged(ctx, &args, &names).await;
    }
    let clients = ctx.connect().await?;
    // A path of this machine means nothing on another: there, every agent by default.
    let repo = if ctx.host.is_some() && args.repo.is_none() {
        String::new()
    } else {
        scope::repo_filter(args.repo.as_deref(), args.all)?
    };
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
        super::agent_table::print(&agents, response.repo.is_empty());
        print_pending(&clients).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `status --hosts`: every agent of every host asked (or those of `--repo`, a path that
/// each host reads as its own), each row with its `host`.
async fn merged(ctx: &Ctx, args: &StatusArgs, names: &[String]) -> anyhow::Result<ExitCode> {
    if args.watch {
        anyhow::bail!("--watch follows one daemon: use `--host NAME status --watch`");
    }
    let repo = match &args.repo {
        Some(path) => crate::client::repo_arg(Some(path))?,
        None => String::new(),
    };
    let answers = crate::hosts::each(ctx, names, |client| {
        let repo = repo.clone();
        async move {
            let mut agents = client
                .agents()
                .list(ListAgentsRequest { repo })
                .await?
                .into_inner()
                .agents;
            agents.sort_by_key(|a| a.state != "waiting");
            Ok(agents)
        }
    })
    .await?;
    crate::hosts::show(ctx, &answers, "no agents", |agents| {
        super::agent_table::print(agents, true)
    })
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
