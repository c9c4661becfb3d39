//! `orchestractl logs <agent> [-f] [--raw]`: an agent's transcript.

use std::io::Write;
use std::process::ExitCode;

use orchestra_proto::v1::LogsRequest;
use serde_json::Value;
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
        if args.raw || ctx.json {
            writeln!(stdout, "{}", line.line)?;
        } else if let Some(text) = readable(&line.line) {
            writeln!(stdout, "{text}")?;
        }
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One stream-json line as a person would want to read it; `None` to leave it out.
fn readable(line: &str) -> Option<String> {
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return Some(line.to_owned());
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    match value.get("type").and_then(Value::as_str)? {
        "system" if value.get("subtype").and_then(Value::as_str) == Some("init") => Some(format!(
            "● session {} started ({}) in {}",
            text(value.get("session_id")),
            text(value.get("model")),
            text(value.get("cwd"))
        )),
        "assistant" => {
            let blocks = value.pointer("/message/content")?.as_array()?;
            let parts: Vec<String> = blocks
                .iter()
                .filter_map(|b| match b.get("type").and_then(Value::as_str) {
                    Some("text") => Some(text(b.get("text"))),
                    Some("tool_use") => Some(format!(
                        "→ {} {}",
                        text(b.get("name")),
                        output::truncate(
                            &b.get("input").map(Value::to_string).unwrap_or_default(),
                            150
                        )
                    )),
                    _ => None,
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        // A message sent to the agent (its task, `send`, a resume): the user's turn.
        "user" if value.get("orchestra").and_then(Value::as_str) == Some("sent") => {
            let text = match value.pointer("/message/content")? {
                Value::String(text) => text.clone(),
                Value::Array(blocks) => blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => return None,
            };
            Some(format!("» you: {text}"))
        }
        "user" => {
            let blocks = value.pointer("/message/content")?.as_array()?;
            let parts: Vec<String> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
                .map(|b| {
                    let error = b.get("is_error").and_then(Value::as_bool).unwrap_or(false);
                    let content = match b.get("content") {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    format!(
                        "← {}{}",
                        if error { "error: " } else { "" },
                        output::truncate(&content, 200)
                    )
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        "control_request" => Some(format!(
            "? waiting for approval: {} {}",
            text(value.pointer("/request/tool_name")),
            output::truncate(
                &value
                    .pointer("/request/input")
                    .map(Value::to_string)
                    .unwrap_or_default(),
                150
            )
        )),
        "result" => {
            let error = value
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let cost = value
                .get("total_cost_usd")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            let ms = value
                .get("duration_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            Some(format!(
                "{} turn finished in {}, ${cost:.4}: {}",
                if error { "✗" } else { "✓" },
                output::duration(ms / 1000),
                output::truncate(&text(value.get("result")), 300)
            ))
        }
        _ => None,
    }
}
