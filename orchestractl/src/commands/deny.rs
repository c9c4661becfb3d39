//! `orchestractl deny ID [--message TEXT]`.

use std::process::ExitCode;

use crate::cli::DenyArgs;
use crate::client::Ctx;

/// Denies a pending tool call; the model sees the message.
pub async fn run(ctx: &Ctx, args: DenyArgs) -> anyhow::Result<ExitCode> {
    super::approve::decide(ctx, &args.id, "deny", args.message.unwrap_or_default(), 0.0).await
}
