//! `orchestractl forget AGENT...`: drop finished agents from `status` and `collect`.

use std::process::ExitCode;

use orchestra_proto::v1::ForgetRequest;

use crate::cli::ForgetArgs;
use crate::client::{Client, Ctx};
use crate::output;

/// Forgets the agents named.
pub async fn run(ctx: &Ctx, args: ForgetArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let forgotten = forget(&clients, args.agents).await?;
    ctx.answer(&forgotten, || {
        print(&forgotten);
        Ok(())
    })
}

/// Asks the daemon to forget `ids`; returns the agents forgotten.
pub async fn forget(
    clients: &Client,
    ids: Vec<String>,
) -> anyhow::Result<Vec<orchestra_proto::v1::Agent>> {
    Ok(clients
        .agents()
        .forget(ForgetRequest { ids })
        .await?
        .into_inner()
        .agents)
}

/// One line per agent forgotten.
pub fn print(agents: &[orchestra_proto::v1::Agent]) {
    for agent in agents {
        println!(
            "{}  forgotten ({}: {})",
            agent.id,
            agent.state,
            output::truncate(&agent.task, 60)
        );
    }
}
