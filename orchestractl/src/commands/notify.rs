//! `orchestractl notify test|list`: try the notification channels, and see what they did.

use std::process::ExitCode;

use orchestra_proto::v1::{ListNotifyRequest, TestNotifyRequest};

use crate::cli::NotifyCommand;
use crate::client::Ctx;
use crate::output;

/// Runs a `notify` subcommand.
pub async fn run(ctx: &Ctx, cmd: NotifyCommand) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let mut notify = clients.notify();
    match cmd {
        NotifyCommand::Test(args) => {
            let response = notify
                .test(TestNotifyRequest {
                    channel: args.channel.unwrap_or_default(),
                })
                .await?
                .into_inner();
            let all_ok = response.results.iter().all(|r| r.outcome != "failed");
            if ctx.json {
                output::json(&response)?;
            } else {
                let rows: Vec<Vec<String>> = response
                    .results
                    .iter()
                    .map(|r| {
                        vec![
                            r.channel_index.to_string(),
                            r.kind.clone(),
                            r.outcome.clone(),
                            r.answer.clone(),
                            r.url.clone(),
                        ]
                    })
                    .collect();
                output::table(&["#", "KIND", "OUTCOME", "ANSWER", "URL"], &rows);
            }
            // A script can tell a channel that did not take the test from the exit code.
            Ok(if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        NotifyCommand::List => {
            let response = notify.list(ListNotifyRequest {}).await?.into_inner();
            if ctx.json {
                output::json(&response)?;
                return Ok(ExitCode::SUCCESS);
            }
            if response.channels.is_empty() {
                println!(
                    "no notification channel is configured: add one under \"notifications\" in {} \
                     (see `orchestractl notify --help`)",
                    clients.status.config_path
                );
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = response
                .channels
                .iter()
                .map(|c| {
                    vec![
                        c.index.to_string(),
                        c.kind.clone(),
                        c.events.join(","),
                        c.sent.to_string(),
                        c.failed.to_string(),
                        (c.dropped + c.skipped).to_string(),
                        c.queued.to_string(),
                        match (c.url.is_empty(), c.device_id.is_empty()) {
                            (true, _) => "-".to_owned(),
                            (false, true) => c.url.clone(),
                            // A paired phone's push: which device, then where.
                            (false, false) => format!("device {} via {}", c.device_id, c.url),
                        },
                    ]
                })
                .collect();
            output::table(
                &[
                    "#",
                    "KIND",
                    "EVENTS",
                    "SENT",
                    "FAILED",
                    "DROPPED/SKIPPED",
                    "QUEUED",
                    "URL",
                ],
                &rows,
            );
            for c in response
                .channels
                .iter()
                .filter(|c| !c.last_error.is_empty())
            {
                println!(
                    "channel {} ({}) last failed {}: {}",
                    c.index,
                    c.kind,
                    output::age(c.last_error_at_ms),
                    c.last_error
                );
            }
            if response.recent.is_empty() {
                println!("\nno deliveries yet");
                return Ok(ExitCode::SUCCESS);
            }
            println!("\nrecent deliveries:");
            let rows: Vec<Vec<String>> = response
                .recent
                .iter()
                .map(|d| {
                    vec![
                        output::age(d.at_ms),
                        format!("{} {}", d.channel_index, d.channel_kind),
                        d.event.clone(),
                        d.outcome.clone(),
                        d.attempts.to_string(),
                        output::truncate(&format!("{}: {}", d.title, d.answer), 80),
                    ]
                })
                .collect();
            output::table(
                &[
                    "WHEN",
                    "CHANNEL",
                    "EVENT",
                    "OUTCOME",
                    "TRIES",
                    "TITLE: ANSWER",
                ],
                &rows,
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// "2 channels: 14 sent, 1 failed, 0 dropped (last error: webhook: ...)".
pub fn summary_line(n: &orchestra_proto::v1::NotifySummary) -> String {
    let mut line = format!(
        "{} channel{}: {} sent, {} failed, {} dropped",
        n.channels,
        if n.channels == 1 { "" } else { "s" },
        n.sent,
        n.failed,
        n.dropped
    );
    if !n.last_error.is_empty() {
        line.push_str(&format!(" (last error: {})", n.last_error));
    }
    line
}
