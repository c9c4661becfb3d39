//! `orchestractl notify test|list`: try the notification channels, and see what they did.

use std::process::ExitCode;

use orchestra_proto::v1::test_notify_update::Update;
use orchestra_proto::v1::{ListNotifyRequest, NotifyTestTry, TestNotifyRequest};

use crate::cli::NotifyCommand;
use crate::client::Ctx;
use crate::output;

/// Runs a `notify` subcommand.
pub async fn run(ctx: &Ctx, cmd: NotifyCommand) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let mut notify = clients.notify();
    match cmd {
        NotifyCommand::Test(args) => {
            let mut updates = notify
                .test_stream(TestNotifyRequest {
                    channel: args.channel.unwrap_or_default(),
                })
                .await?
                .into_inner();
            // Each try as it goes (a channel that retries or hangs takes seconds), on
            // stderr; the answers follow on stdout.
            let response = loop {
                match updates.message().await?.and_then(|u| u.update) {
                    Some(Update::Attempt(attempt)) if !ctx.json => {
                        eprintln!("{}", try_line(&attempt));
                    }
                    Some(Update::Attempt(_)) => {}
                    Some(Update::Result(result)) => break result,
                    None => anyhow::bail!("the daemon ended the test without an answer: try again"),
                }
            };
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

/// "#0 webhook: try 1 of 3" as a try starts; "#0 webhook: try 1 of 3 failed: cannot
/// connect: ...; next try in 0.5 s" as it fails.
fn try_line(t: &NotifyTestTry) -> String {
    let what = format!(
        "#{} {}: try {} of {}",
        t.channel_index, t.kind, t.attempt, t.max_attempts
    );
    match (t.state.as_str(), t.retry_in_ms) {
        ("failed", 0) => format!("{what} failed: {}; giving up", t.error),
        ("failed", wait) => format!(
            "{what} failed: {}; next try in {:.1} s",
            t.error,
            f64::from(wait) / 1000.0
        ),
        _ => format!("{what}…"),
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
