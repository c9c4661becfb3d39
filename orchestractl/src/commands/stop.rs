//! `orchestractl stop <agent>|--all`.

use std::process::ExitCode;

use orchestra_proto::v1::StopRequest;

use crate::cli::StopArgs;
use crate::client::Ctx;
use crate::output;

/// Stops agents.
pub async fn run(ctx: &Ctx, args: StopArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .agents()
        .stop(StopRequest {
            id: args.agent.unwrap_or_default(),
            all: args.all,
        })
        .await?
        .into_inner();
    ctx.answer(&response.agents, || {
        if response.agents.is_empty() {
            println!("nothing to stop");
        } else {
            for agent in &response.agents {
                println!(
                    "{}  {}  {}",
                    agent.id,
                    agent.activity,
                    output::truncate(&agent.task, 50)
                );
            }
        }
        Ok(())
    })
}
