//! `orchestractl diff AGENT [--stat] [--json]`: an agent's change against the commit it
//! started from, committed and uncommitted, as a reviewer reads it.

use std::process::ExitCode;

use orchestra_proto::v1::{DiffRequest, DiffResponse};

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
    // The message as it is: its optional fields are left out when they do not apply.
    ctx.answer(&change, || {
        print(&change, args.stat);
        Ok(())
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
