//! `orchestractl diff AGENT [--stat] [--json]`: an agent's change against the commit it
//! started from, committed and uncommitted, as a reviewer reads it.

use std::process::ExitCode;

use orchestra_proto::v1::{DiffRequest, DiffResponse};
use serde_json::{Value, json};

use crate::cli::DiffArgs;
use crate::client::Ctx;

/// Prints the change.
pub async fn run(ctx: &Ctx, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let change = clients
        .integration()
        .diff(DiffRequest {
            id: args.agent,
            stat: args.stat,
        })
        .await?
        .into_inner();
    ctx.answer(&json_of(&change), || {
        print(&change, args.stat);
        Ok(())
    })
}

/// The JSON the issue names: optional fields left out when they do not apply.
fn json_of(change: &DiffResponse) -> Value {
    let files: Vec<Value> = change
        .files
        .iter()
        .map(|f| {
            let mut file = json!({
                "path": f.path,
                "status": f.status,
                "additions": f.additions,
                "deletions": f.deletions,
                "hunks": f.hunks.iter().map(|h| json!({
                    "old_start": h.old_start,
                    "old_lines": h.old_lines,
                    "new_start": h.new_start,
                    "new_lines": h.new_lines,
                    "lines": h.lines.iter().map(|l| {
                        let mut line = json!({"kind": l.kind, "text": l.text});
                        if let Some(n) = l.old_line {
                            line["old_line"] = json!(n);
                        }
                        if let Some(n) = l.new_line {
                            line["new_line"] = json!(n);
                        }
                        line
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            if !f.old_path.is_empty() {
                file["old_path"] = json!(f.old_path);
            }
            if f.lines_cut > 0 {
                file["lines_cut"] = json!(f.lines_cut);
            }
            file
        })
        .collect();
    json!({
        "agent_id": change.agent_id,
        "base": change.base,
        "head": change.head,
        "files": files,
    })
}

/// For people: a stat line per file, then (without --stat) a unified diff.
fn print(change: &DiffResponse, stat: bool) {
    if change.files.is_empty() {
        println!("agent {} has changed nothing yet", change.agent_id);
        return;
    }
    for f in &change.files {
        let name = if f.old_path.is_empty() {
            f.path.clone()
        } else {
            format!("{} -> {}", f.old_path, f.path)
        };
        println!(
            "{:>9}  +{:<5} -{:<5} {name}",
            f.status, f.additions, f.deletions
        );
    }
    if stat {
        return;
    }
    for f in &change.files {
        println!();
        if f.status == "binary" {
            println!("Binary file {} differs", f.path);
            continue;
        }
        let old = if f.status == "added" {
            "/dev/null".to_owned()
        } else {
            format!(
                "a/{}",
                if f.old_path.is_empty() {
                    &f.path
                } else {
                    &f.old_path
                }
            )
        };
        let new = if f.status == "deleted" {
            "/dev/null".to_owned()
        } else {
            format!("b/{}", f.path)
        };
        println!("--- {old}\n+++ {new}");
        for h in &f.hunks {
            println!(
                "@@ -{},{} +{},{} @@",
                h.old_start, h.old_lines, h.new_start, h.new_lines
            );
            for l in &h.lines {
                let sign = match l.kind.as_str() {
                    "add" => '+',
                    "del" => '-',
                    _ => ' ',
                };
                println!("{sign}{}", l.text);
            }
        }
        if f.lines_cut > 0 {
            println!(
                "[{} lines cut: run `git diff` in the worktree for all of it]",
                f.lines_cut
            );
        }
    }
}
