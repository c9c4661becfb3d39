//! `orchestractl logs <agent> [-f] [--raw|--events]`: an agent's transcript, rendered from
//! the typed events the daemon read from its stream-json (this file never parses a line).

use std::io::Write;
use std::process::ExitCode;

use orchestra_proto::v1::transcript_event::Event;
use orchestra_proto::v1::{LogsRequest, TranscriptEvent};
use tokio_stream::StreamExt;

use crate::cli::LogsArgs;
use crate::client::Ctx;
use crate::output;

/// Prints the agent's output, readable (or raw), following it with -f.
pub async fn run(ctx: &Ctx, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let mut lines = clients
        .agents()
        .logs(LogsRequest {
            id: args.agent,
            follow: args.follow,
        })
        .await?
        .into_inner();
    let mut stdout = std::io::stdout();
    while let Some(line) = lines.next().await {
        let line = line?;
        if line.sent && args.raw {
            // Raw is what Claude Code wrote; the messages sent to it are ours.
            continue;
        }
        if args.events {
            for event in &line.events {
                writeln!(stdout, "{}", serde_json::to_string(event)?)?;
            }
        } else if args.raw || ctx.json {
            writeln!(stdout, "{}", line.line)?;
        } else {
            for text in line.events.iter().filter_map(readable) {
                writeln!(stdout, "{text}")?;
            }
        }
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One transcript event as a person would want to read it (the daemon read the line).
fn readable(event: &TranscriptEvent) -> Option<String> {
    Some(match event.event.as_ref()? {
        Event::SessionStarted(s) => format!(
            "● session {} started ({}) in {}",
            s.session_id, s.model, s.cwd
        ),
        Event::Text(t) => t.text.clone(),
        Event::ToolUse(t) => format!("→ {} {}", t.name, output::truncate(&t.input_json, 150)),
        Event::ToolResult(t) => format!(
            "← {}{}",
            if t.is_error { "error: " } else { "" },
            output::truncate(&t.content, 200)
        ),
        Event::PermissionRequest(p) => format!(
            "? waiting for approval: {} {}",
            p.tool_name,
            output::truncate(&p.input_json, 150)
        ),
        Event::Result(r) => format!(
            // Claude Code's figure is the session's running total (a resumed session
            // counts its earlier runs too), not this turn's cost.
            "{} turn finished in {} (session so far ${:.4}): {}",
            if r.is_error { "✗" } else { "✓" },
            output::duration(r.duration_ms / 1000),
            r.total_cost_usd,
            output::truncate(&r.text, 300)
        ),
        Event::UserMessage(m) => {
            let from = if m.from.is_empty() { "you" } else { &m.from };
            format!("» {from}: {}", m.text)
        }
        Event::Output(o) => o.text.clone(),
    })
}
