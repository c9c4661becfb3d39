//! `orchestractl approve ID [--always | --raise X]`.

use std::process::ExitCode;

use orchestra_proto::v1::DecideRequest;

use crate::cli::ApproveArgs;
use crate::client::Ctx;

/// Allows a pending tool call.
pub async fn run(ctx: &Ctx, args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let decision = if args.always { "always" } else { "allow" };
    decide(
        ctx,
        &args.id,
        decision,
        String::new(),
        args.raise.unwrap_or(0.0),
    )
    .await
}

/// Sends one decision and prints the outcome; shared with `deny`.
pub async fn decide(
    ctx: &Ctx,
    id: &str,
    decision: &str,
    message: String,
    raise_usd: f64,
) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let approval = clients
        .approvals()
        .decide(DecideRequest {
            id: id.to_owned(),
            decision: decision.to_owned(),
            message,
            device_token: String::new(),
            client: String::new(),
            raise_usd,
        })
        .await
        .map_err(|status| {
            let verb = if decision == "deny" {
                "deny"
            } else {
                "approve"
            };
            crate::hosts::approval_elsewhere(ctx, status, verb)
        })?
        .into_inner()
        .approval
        .unwrap_or_default();
    ctx.answer(&super::approvals::to_json(&approval), || {
        println!(
            "{} {}: {}{}",
            approval.state,
            approval.id,
            approval.summary,
            if approval.always {
                " (and from now on)"
            } else {
                ""
            }
        );
        Ok(())
    })
}
