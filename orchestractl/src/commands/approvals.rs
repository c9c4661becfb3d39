//! `orchestractl approvals [--all] [--watch]`: tool calls waiting for an answer.

use std::io::Write;
use std::process::ExitCode;

use orchestra_proto::v1::{Approval, ListApprovalsRequest, WatchApprovalsRequest};
use serde_json::{Value, json};
use tokio_stream::StreamExt;

use crate::cli::ApprovalsArgs;
use crate::client::Ctx;
use crate::output;

/// The JSON form of an approval: the fields the README documents, with the tool input
/// as a JSON object rather than text. A question (`kind: "question"`) also carries its
/// `question`, `choices` and `answer`; a budget approval adds `budget`:
/// `{spent_usd, budget_usd, scope}`.
pub fn to_json(a: &Approval) -> Value {
    let mut value = json!({
        "id": a.id,
        "agent_id": a.agent_id,
        "session_id": a.session_id,
        "project_path": a.project_path,
        "tool_name": a.tool_name,
        "input": serde_json::from_str::<Value>(&a.input_json).unwrap_or(Value::Null),
        "description": a.description,
        "state": a.state,
        "created_at_ms": a.created_at_ms,
        "decided_at_ms": a.decided_at_ms,
        "decided_by": a.decided_by,
        "kind": if a.kind.is_empty() { "tool" } else { a.kind.as_str() },
    });
    if a.kind == "question" {
        value["question"] = json!(a.question);
        value["choices"] = json!(a.choices);
        value["answer"] = json!(a.answer);
    }
    if a.kind == "budget" {
        value["budget"] = json!({
            "spent_usd": a.spent_usd,
            "budget_usd": a.budget_usd,
            "scope": a.budget_scope,
        });
    }
    value
}

/// Who asks, for people: the agent and its task, or the session's project.
pub fn asker(a: &Approval) -> String {
    if a.agent_id.is_empty() {
        format!("session {}", a.project_path)
    } else {
        format!(
            "agent {} ({})",
            a.agent_id,
            output::truncate(&a.agent_task, 30)
        )
    }
}

/// Lists approvals, or follows them with --watch.
pub async fn run(ctx: &Ctx, args: ApprovalsArgs) -> anyhow::Result<ExitCode> {
    if let Some(names) = crate::hosts::selected(ctx, &args.hosts)? {
        return merged(ctx, &args, &names).await;
    }
    let clients = ctx.connect().await?;
    if !args.watch {
        let approvals = clients
            .approvals()
            .list(ListApprovalsRequest { all: args.all })
            .await?
            .into_inner()
            .approvals;
        if ctx.json {
            output::json(&approvals.iter().map(to_json).collect::<Vec<_>>())?;
        } else if approvals.is_empty() {
            println!(
                "{}",
                if args.all {
                    "no approvals yet"
                } else {
                    "nothing waits for you (see answered ones with --all)"
                }
            );
        } else {
            print_table(&approvals);
            let pending = |kind: &str| {
                approvals
                    .iter()
                    .any(|a| a.state == "pending" && a.kind == kind)
            };
            if pending("tool") {
                println!(
                    "\nanswer with `orchestractl approve ID [--always]` or `orchestractl deny ID [--message TEXT]`"
                );
            }
            if pending("budget") {
                println!(
                    "\na budget: `orchestractl approve ID [--raise USD]` goes on, `orchestractl deny ID` stops it"
                );
            }
            if let Some(q) = approvals
                .iter()
                .find(|a| a.state == "pending" && a.kind == "question")
            {
                let choices = if q.choices.is_empty() {
                    String::new()
                } else {
                    format!(" (choices: {})", q.choices.join(", "))
                };
                println!("\nanswer a question with `orchestractl answer ID TEXT`{choices}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut events = clients
        .approvals()
        .watch(WatchApprovalsRequest { snapshot: true })
        .await?
        .into_inner();
    let mut stdout = std::io::stdout();
    if !ctx.json {
        println!("approvals as they come (Ctrl-C to stop watching)");
    }
    while let Some(event) = events.next().await {
        let event = event?;
        let Some(a) = event.approval else { continue };
        if ctx.json {
            writeln!(stdout, "{}", to_json(&a))?;
        } else {
            writeln!(
                stdout,
                "{}  {:<9}  {}  {}  {}{}",
                output::clock(if a.decided_at_ms > 0 {
                    a.decided_at_ms
                } else {
                    a.created_at_ms
                }),
                a.state,
                a.id,
                output::truncate(&a.summary, 60),
                asker(&a),
                if a.decided_by.is_empty() {
                    String::new()
                } else {
                    format!("  by {}", a.decided_by)
                }
            )?;
        }
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `approvals --hosts`: one queue of every host's approvals, oldest first, each with its
/// `host` (and the command that answers it there).
async fn merged(ctx: &Ctx, args: &ApprovalsArgs, names: &[String]) -> anyhow::Result<ExitCode> {
    if args.watch {
        anyhow::bail!(
            "--watch follows one daemon: use `--host NAME approvals --watch`, or the dashboard for every host"
        );
    }
    let all = args.all;
    let answers = crate::hosts::each(ctx, names, |client| async move {
        Ok(client
            .approvals()
            .list(ListApprovalsRequest { all })
            .await?
            .into_inner()
            .approvals)
    })
    .await?;
    let mut queue: Vec<(&str, &Approval)> = answers
        .iter()
        .flat_map(|(host, list)| list.iter().map(move |a| (host.as_str(), a)))
        .collect();
    queue.sort_by_key(|(_, a)| a.created_at_ms);
    if ctx.json {
        let rows: Vec<Value> = queue
            .iter()
            .map(|(host, a)| {
                let mut row = to_json(a);
                row["host"] = Value::from(*host);
                row
            })
            .collect();
        output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if queue.is_empty() {
        // Only the hosts that answered can be said to have nothing waiting.
        let answered: Vec<&str> = answers.iter().map(|(host, _)| host.as_str()).collect();
        let missing: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|name| !answered.contains(name))
            .collect();
        if missing.is_empty() {
            println!("nothing waits for you on {}", answered.join(", "));
        } else {
            println!(
                "nothing waits for you on {}; not reached: {} (see the warnings above)",
                answered.join(", "),
                missing.join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = queue
        .iter()
        .map(|(host, a)| {
            let mut row = vec![(*host).to_owned()];
            row.extend(row_of(a));
            row
        })
        .collect();
    let mut headers = vec!["HOST"];
    headers.extend(HEADERS);
    output::table(&headers, &rows);
    if queue.iter().any(|(_, a)| a.state == "pending") {
        println!(
            "\nanswer with `orchestractl --host HOST approve ID` or `orchestractl --host HOST deny ID` (HOST `local` is this machine)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The columns of an approval's row.
const HEADERS: [&str; 6] = ["ID", "STATE", "ASKED", "WHAT", "WHO ASKS", "ANSWERED BY"];

/// An approval's row, under [`HEADERS`].
fn row_of(a: &Approval) -> Vec<String> {
    vec![
        a.id.clone(),
        a.state.clone(),
        output::clock(a.created_at_ms),
        output::truncate(&a.summary, 50),
        asker(a),
        a.decided_by.clone(),
    ]
}

fn print_table(approvals: &[Approval]) {
    let rows: Vec<Vec<String>> = approvals.iter().map(row_of).collect();
    output::table(&HEADERS, &rows);
}
