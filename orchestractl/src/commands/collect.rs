//! `orchestractl collect [--wait]`: what the agents produced.

use std::process::ExitCode;

use orchestra_proto::v1::{CollectRequest, ListAgentsRequest};

use crate::cli::CollectArgs;
use crate::client::Ctx;
use crate::{output, scope};

/// Prints each agent's result and branch changes.
pub async fn run(ctx: &Ctx, args: CollectArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    // By default the agents of the repository the user stands in (see `scope`).
    let repo = scope::repo_filter(args.repo.as_deref(), args.all)?;
    if args.wait && !ctx.json {
        let listing = clients
            .agents()
            .list(ListAgentsRequest { repo: repo.clone() })
            .await?
            .into_inner();
        let busy = listing
            .agents
            .iter()
            .filter(|a| {
                matches!(
                    a.state.as_str(),
                    "queued" | "starting" | "running" | "waiting"
                )
            })
            .count();
        if busy > 0 {
            let place = if listing.repo.is_empty() {
                String::new()
            } else {
                format!(" in {}", scope::repo_label(&listing.repo))
            };
            eprintln!("waiting for {busy} agent(s){place} to finish…");
        }
    }
    let response = clients
        .agents()
        .collect(CollectRequest {
            wait: args.wait,
            repo,
        })
        .await?
        .into_inner();
    ctx.answer(&response.results, || {
        if response.results.is_empty() {
            if response.repo.is_empty() {
                println!("no agents yet");
            } else {
                println!(
                    "no agents in {} (`--all` shows every repository's)",
                    scope::repo_label(&response.repo)
                );
            }
        }
        let mut total = 0.0;
        for result in &response.results {
            let Some(agent) = &result.agent else { continue };
            total += agent.total_cost_usd;
            println!(
                "{}  {}  {}  ${:.4}  {}{}",
                agent.id,
                agent.state,
                output::duration(result.duration_ms / 1000),
                agent.total_cost_usd,
                // Results from every repository name theirs.
                if response.repo.is_empty() {
                    format!("{}  ", scope::repo_label(&agent.repo))
                } else {
                    String::new()
                },
                output::truncate(&agent.task, 60)
            );
            if !agent.branch.is_empty() {
                match &result.diff {
                    Some(d) => println!(
                        "    {}: {} file(s) changed, +{} -{}, {} commit(s){}",
                        agent.branch,
                        d.files_changed,
                        d.insertions,
                        d.deletions,
                        d.commits,
                        if d.uncommitted {
                            ", uncommitted changes"
                        } else {
                            ""
                        }
                    ),
                    None => println!("    {} (worktree removed)", agent.branch),
                }
            }
            let text = if agent.error.is_empty() {
                &agent.result
            } else {
                &agent.error
            };
            if !text.is_empty() {
                println!("    {}", output::truncate(text, 200));
            }
            // Refused tools explain a run that "succeeded" with the work half done.
            for denial in &agent.permission_denials {
                println!("    refused: {}", output::truncate(denial, 120));
            }
        }
        if response.results.len() > 1 {
            println!("total cost: ${total:.4}");
        }
        Ok(())
    })
}
