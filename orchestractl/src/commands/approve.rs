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
        let after = if approval.always {
            " (and from now on)".to_owned()
        } else if approval.kind == "budget" && approval.state == "allowed" {
            // The summary tells the cap that was reached; say what it is now.
            let by = if raise_usd > 0.0 {
                raise_usd
            } else {
                approval.budget_usd
            };
            format!(
                "\nthe {} cap is now {} (+{}); the agent goes on unless that is still below what \
                 was spent (then it asks again)",
                approval.budget_scope,
                crate::output::usd_text(approval.budget_usd + by),
                crate::output::usd_text(by)
            )
        } else {
            String::new()
        };
        println!(
            "{} {}: {}{after}",
            approval.state, approval.id, approval.summary
        );
        Ok(())
    })
}
