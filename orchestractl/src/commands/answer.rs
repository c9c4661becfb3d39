//! `orchestractl answer ID TEXT`: answers an agent's question (`ask_human`).

use std::process::ExitCode;

use orchestra_proto::v1::AnswerRequest;

use crate::cli::AnswerArgs;
use crate::client::Ctx;

/// Sends the answer and prints the question as answered.
pub async fn run(ctx: &Ctx, args: AnswerArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let approval = clients
        .talk()
        .answer(AnswerRequest {
            id: args.id,
            text: args.text,
            device_token: String::new(),
            client: String::new(),
        })
        .await
        .map_err(|status| crate::hosts::approval_elsewhere(ctx, status, "answer"))?
        .into_inner()
        .approval
        .unwrap_or_default();
    ctx.answer(&super::approvals::to_json(&approval), || {
        println!(
            "answered {}: {:?} -> {:?}",
            approval.id, approval.question, approval.answer
        );
        Ok(())
    })
}
