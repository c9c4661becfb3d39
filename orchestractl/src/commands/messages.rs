//! `orchestractl messages [AGENT | --batch B] [--watch] [--json]`: the thread of messages
//! between agents, with the ones people sent through `send`.

use std::io::Write as _;
use std::process::ExitCode;

use orchestra_proto::v1::{ListMessagesRequest, TalkMessage};
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;

use crate::cli::MessagesArgs;
use crate::client::Ctx;
use crate::output;

/// The JSON form of a message, as `--help` documents it: `delivered_at` is null while it
/// waits.
pub fn to_json(m: &TalkMessage) -> Value {
    json!({
        "id": m.id,
        "from": m.from,
        "to": m.to,
        "text": m.text,
        "at": m.at_ms,
        "delivered_at": (m.delivered_at_ms > 0).then_some(m.delivered_at_ms),
        "batch_id": m.batch_id,
    })
}

/// One line for people: when, who to whom, whether it arrived, the text.
fn line(m: &TalkMessage) -> String {
    let state = if m.delivered_at_ms > 0 {
        "delivered"
    } else {
        "waiting"
    };
    format!(
        "{}  {} -> {}  [{state}]  {}",
        output::clock(m.at_ms),
        m.from,
        m.to,
        output::truncate(
            &m.text.split_whitespace().collect::<Vec<_>>().join(" "),
            100
        )
    )
}

/// Lists messages, or follows them with --watch.
pub async fn run(ctx: &Ctx, args: MessagesArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let request = ListMessagesRequest {
        agent: args.agent.unwrap_or_default(),
        batch_id: args.batch.unwrap_or_default(),
    };
    if !args.watch {
        let messages = clients
            .talk()
            .list_messages(request)
            .await?
            .into_inner()
            .messages;
        let value: Vec<Value> = messages.iter().map(to_json).collect();
        return ctx.answer(&value, || {
            if messages.is_empty() {
                println!("no messages yet (agents send them with their send_message tool)");
            }
            for m in &messages {
                println!("{}", line(m));
            }
            Ok(())
        });
    }
    let mut events = clients.talk().watch_messages(request).await?.into_inner();
    if !ctx.json {
        println!("messages as they come (Ctrl-C to stop watching)");
    }
    let mut stdout = std::io::stdout();
    while let Some(event) = events.next().await {
        let event = event?;
        let Some(m) = event.message else { continue };
        if ctx.json {
            let mut value = to_json(&m);
            value["event"] = json!(event.kind);
            writeln!(stdout, "{value}")?;
        } else if event.kind == "delivered" {
            writeln!(
                stdout,
                "{}  message {} to {} delivered",
                output::clock(m.delivered_at_ms),
                m.id,
                m.to
            )?;
        } else {
            writeln!(stdout, "{}", line(&m))?;
        }
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
