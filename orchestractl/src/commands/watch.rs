//! `orchestractl watch`: session changes as they happen.

use std::io::Write;
use std::process::ExitCode;

use orchestra_proto::v1::WatchSessionsRequest;
use tokio_stream::StreamExt;

use crate::cli::WatchArgs;
use crate::client::Ctx;
use crate::output;

/// Prints events until interrupted (or the daemon stops).
pub async fn run(ctx: &Ctx, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let mut events = clients
        .sessions()
        .watch(WatchSessionsRequest {
            snapshot: args.snapshot,
        })
        .await?
        .into_inner();
    // Said once the daemon has subscribed us, so scripts can wait for it before acting.
    eprintln!("watching sessions (Ctrl-C to stop)");
    let mut stdout = std::io::stdout();
    while let Some(event) = events.next().await {
        let event = event?;
        if ctx.json {
            // One JSON object per line, flushed at once, so `| jq` sees it live.
            writeln!(stdout, "{}", serde_json::to_string(&event)?)?;
        } else if let Some(s) = &event.session {
            writeln!(
                stdout,
                "{:<8}  {}  {}  {}",
                event.kind,
                output::short_id(&s.session_id),
                output::truncate(&s.project_path, 40),
                output::truncate(&s.last_prompt, 60)
            )?;
        }
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
