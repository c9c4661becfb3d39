//! `orchestractl pr <agent>`: commit, push, open a pull request.

use std::process::ExitCode;

use orchestra_proto::v1::{IntegrationPrRequest, PrRequest};

use crate::cli::PrArgs;
use crate::client::{Ctx, repo_arg};

/// Turns an agent's branch into a pull request.
pub async fn run(ctx: &Ctx, args: PrArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let pr = match &args.integration {
        // An integration branch: its body is the batch report (`orchestractl report`).
        Some(branch) => clients
            .integration()
            .open_integration_pr(IntegrationPrRequest {
                repo: repo_arg(args.repo.as_deref())?,
                branch: branch.clone(),
                env: std::env::vars().collect(),
                force: args.force,
            })
            .await?
            .into_inner(),
        None => clients
            .agents()
            .pr(PrRequest {
                id: args.agent.clone().unwrap_or_default(),
                env: std::env::vars().collect(),
            })
            .await?
            .into_inner(),
    };
    // Nothing pushed means no pull request: a script must not take that for success.
    let code = if pr.pushed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    ctx.answer_with(code, &pr, || {
        if pr.committed {
            println!("committed the uncommitted changes on {}", pr.branch);
        }
        if pr.pushed {
            println!("pushed {}", pr.branch);
        }
        if !pr.pr_url.is_empty() {
            println!("pull request: {}", pr.pr_url);
        }
        if !pr.instructions.is_empty() {
            if pr.pushed {
                println!("{}", pr.instructions);
            } else {
                eprintln!("orchestractl: nothing was pushed: {}", pr.instructions);
            }
        }
        Ok(())
    })
}
