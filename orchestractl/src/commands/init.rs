//! `orchestractl init`: prepare a repository for agents.

use std::process::ExitCode;

use orchestra_proto::v1::InitRequest;

use crate::cli::RepoArgs;
use crate::client::{Ctx, repo_arg};

/// Prepares the repository.
pub async fn run(ctx: &Ctx, args: RepoArgs) -> anyhow::Result<ExitCode> {
    let clients = ctx.connect().await?;
    let report = clients
        .agents()
        .init(InitRequest {
            repo: repo_arg(args.repo.as_deref())?,
        })
        .await?
        .into_inner();
    ctx.answer(&report, || {
        if report.created_repo {
            println!("created a git repository in {}", report.repo);
        }
        if report.created_commit {
            match report.committed_files.len() {
                0 => println!("made an empty first commit (worktrees need one to branch from)"),
                n => {
                    println!(
                        "made a first commit of the {n} file(s) already here (.gitignore respected), \
                         so agents start with them:"
                    );
                    for file in report.committed_files.iter().take(20) {
                        println!("  {file}");
                    }
                    if n > 20 {
                        println!("  … and {} more (`git show --stat HEAD`)", n - 20);
                    }
                }
            }
        }
        if report.added_exclude {
            println!("added the worktree dir to .git/info/exclude");
        }
        println!(
            "{} is ready: agents will work in {}",
            report.repo, report.worktree_dir
        );
        Ok(())
    })
}
