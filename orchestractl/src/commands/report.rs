//! `orchestractl report [--batch ID] [--markdown]`: one document for a batch.

use std::process::ExitCode;

use orchestra_proto::v1::ReportRequest;

use crate::cli::ReportArgs;
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Prints the report of a batch as a table, Markdown or JSON.
pub async fn run(ctx: &Ctx, args: ReportArgs) -> anyhow::Result<ExitCode> {
    if ctx.json && args.markdown {
        anyhow::bail!("choose one of --json and --markdown");
    }
    let request = ReportRequest {
        repo: match (
            &args.repo,
            ctx.host.is_some() || !args.hosts.names.is_empty(),
        ) {
            // Another machine's path (or, unnamed, its latest batch): ours means nothing there.
            (Some(path), true) => path.display().to_string(),
            (None, true) => String::new(),
            (_, false) => repo_arg(args.repo.as_deref())?,
        },
        batch_id: args.batch.clone().unwrap_or_default(),
    };
    if let Some(names) = crate::hosts::selected(ctx, &args.hosts)? {
        if args.markdown {
            anyhow::bail!(
                "--markdown is one batch's document: use `--host NAME report --markdown`"
            );
        }
        return merged(ctx, request, &names).await;
    }
    let clients = ctx.connect().await?;
    let report = clients.integration().report(request).await?.into_inner();
    ctx.answer(&report, || {
        if args.markdown {
            print!("{}", report.markdown);
            return Ok(());
        }
        print_report(&report);
        Ok(())
    })
}

/// `report --hosts`: each host's latest batch (or `--batch`, where it exists), one after
/// the other (`--json`: a list of reports, each with its `host`).
async fn merged(ctx: &Ctx, request: ReportRequest, names: &[String]) -> anyhow::Result<ExitCode> {
    let answers = crate::hosts::each(ctx, names, |client| {
        let request = request.clone();
        async move { Ok(client.integration().report(request).await?.into_inner()) }
    })
    .await?;
    if ctx.json {
        let rows = answers
            .iter()
            .map(|(host, report)| crate::hosts::tagged(host, report))
            .collect::<anyhow::Result<Vec<_>>>()?;
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (host, report) in &answers {
        println!("{}", crate::hosts::heading(host));
        print_report(report);
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// One report as a table, for people.
fn print_report(report: &orchestra_proto::v1::ReportResponse) {
    {
        println!(
            "batch {} in {}: {} task(s), ${:.2}\n",
            report.batch_id,
            report.repo,
            report.entries.len(),
            report.total_cost_usd
        );
        if let Some(run) = &report.verified_merge {
            let verify = run.verify.clone().unwrap_or_default();
            println!(
                "verified merge: {} ({}){}\n",
                run.state,
                verify.command,
                if verify.culprit_agent_id.is_empty() {
                    String::new()
                } else {
                    format!(", culprit {}", verify.culprit_agent_id)
                }
            );
        }
        let rows: Vec<Vec<String>> = report
            .entries
            .iter()
            .map(|e| {
                let agent = e.agent.clone().unwrap_or_default();
                let changes = e
                    .diff
                    .map(|d| {
                        format!(
                            "{} files +{} -{}",
                            d.files_changed, d.insertions, d.deletions
                        )
                    })
                    .unwrap_or_else(|| "-".to_owned());
                let result = if agent.result.is_empty() {
                    agent.error.clone()
                } else {
                    agent.result.clone()
                };
                vec![
                    agent.id.clone(),
                    agent.state.clone(),
                    format!("${:.2}", agent.total_cost_usd),
                    output::duration(e.duration_ms / 1000),
                    changes,
                    output::truncate(&e.merge_status, 40),
                    output::truncate(&agent.task, 30),
                    output::truncate(&result, 50),
                ]
            })
            .collect();
        output::table(
            &[
                "ID", "STATE", "COST", "TIME", "CHANGES", "MERGE", "TASK", "RESULT",
            ],
            &rows,
        );
    }
}
