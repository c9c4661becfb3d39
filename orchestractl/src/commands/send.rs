//! `orchestractl send <agent> <message>`: a follow-up turn.

use std::process::ExitCode;

use orchestra_proto::v1::SendRequest;

use crate::cli::SendArgs;
use crate::client::Ctx;

/// Sends the message.
pub async fn run(ctx: &Ctx, args: SendArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .agents()
        .send(SendRequest {
            id: args.agent,
            message: args.message,
        })
        .await?
        .into_inner();
    ctx.answer(&response, || {
        if let Some(agent) = &response.agent {
            if response.resumed {
                println!(
                    "agent {} had finished; resumed its session with the message",
                    agent.id
                );
            } else {
                println!("sent to agent {} ({})", agent.id, agent.state);
            }
        }
        Ok(())
    })
}
