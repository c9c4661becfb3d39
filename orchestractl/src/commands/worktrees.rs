//! `orchestractl worktrees`: the agent worktrees of a repository.

use std::process::ExitCode;

use orchestra_proto::v1::WorktreesRequest;

use crate::cli::RepoArgs;
use crate::client::{Ctx, repo_arg};
use crate::output;

/// Lists worktrees.
pub async fn run(ctx: &Ctx, args: RepoArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let response = clients
        .agents()
        .worktrees(WorktreesRequest {
            repo: repo_arg(args.repo.as_deref())?,
        })
        .await?
        .into_inner();
    ctx.answer(&response, || {
        if response.worktrees.is_empty() {
            println!("no agent worktrees in {}", response.repo);
            return Ok(());
        }
        let rows: Vec<Vec<String>> = response
            .worktrees
            .iter()
            .map(|w| {
                let diff = w.diff.map_or("-".to_owned(), |d| {
                    format!(
                        "{} files +{} -{}{}",
                        d.files_changed,
                        d.insertions,
                        d.deletions,
                        if d.uncommitted { " *" } else { "" }
                    )
                });
                vec![
                    w.agent_id.clone(),
                    w.agent_state.clone(),
                    w.branch.clone(),
                    diff,
                    if w.merged {
                        "merged".into()
                    } else {
                        String::new()
                    },
                    w.path.clone(),
                ]
            })
            .collect();
        output::table(
            &["AGENT", "STATE", "BRANCH", "CHANGES", "MERGED", "PATH"],
            &rows,
        );
        Ok(())
    })
}
