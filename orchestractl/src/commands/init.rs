//! `orchestractl init`: prepare a repository for agents.
//!
//! The daemon makes the first commit, but only this command runs in the user's shell: it
//! reads who git would commit as there (`GIT_AUTHOR_*`, `GIT_COMMITTER_*`, `author.*`,
//! `committer.*` and `user.*` config, `EMAIL`) and sends it along.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use orchestra_proto::v1::{GitIdentity, InitRequest};

use crate::cli::RepoArgs;
use crate::client::{Ctx, repo_arg};

/// Prepares the repository.
pub async fn run(ctx: &Ctx, args: RepoArgs) -> anyhow::Result<ExitCode> {
    // A mistyped path must not quietly become a new folder and repository.
    if let Some(path) = args.repo.as_deref()
        && !path.is_dir()
    {
        anyhow::bail!(
            "{} is not a directory: create it first (`mkdir -p {}`), then run `orchestractl init --repo {}`",
            path.display(),
            path.display(),
            path.display()
        );
    }
    let repo = repo_arg(args.repo.as_deref())?;
    let config = git_identity_config(Path::new(&repo)).await;
    let env = |name: &str| std::env::var(name).unwrap_or_default();
    let clients = ctx.connect().await?;
    let report = clients
        .agents()
        .init(InitRequest {
            author: Some(identity("author", &config, &env)),
            committer: Some(identity("committer", &config, &env)),
            repo,
        })
        .await?
        .into_inner();
    if report.default_identity {
        // On stderr in both modes: `--json` callers get `default_identity` too.
        eprintln!(
            "orchestractl: no git identity is set (user.name and user.email, or \
             GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL), so the first commit is by {}; \
             set yours with `git config --global user.name \"Your Name\"` and \
             `git config --global user.email you@example.com`, then run \
             `git commit --amend --reset-author --no-edit` in {}",
            report.author, report.repo
        );
    }
    ctx.answer(&report, || {
        if report.created_repo {
            println!("created a git repository in {}", report.repo);
        }
        if report.created_commit {
            match report.committed_files.len() {
                0 => println!(
                    "made an empty first commit as {} (worktrees need one to branch from)",
                    report.author
                ),
                n => {
                    println!(
                        "made a first commit as {} of the {n} file(s) already here \
                         (.gitignore respected), so agents start with them:",
                        report.author
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

/// The identity `role` ("author" or "committer") as git takes it: `GIT_<ROLE>_NAME` and
/// `GIT_<ROLE>_EMAIL`, then `<role>.name`/`<role>.email`, then `user.name`/`user.email`,
/// then (email only) `EMAIL`. A part set nowhere is left empty for the daemon to fill.
fn identity(
    role: &str,
    config: &HashMap<String, String>,
    env: &dyn Fn(&str) -> String,
) -> GitIdentity {
    let upper = role.to_uppercase();
    let pick = |part: &str, last: Option<String>| {
        [
            Some(env(&format!("GIT_{upper}_{}", part.to_uppercase()))),
            config.get(&format!("{role}.{part}")).cloned(),
            config.get(&format!("user.{part}")).cloned(),
            last,
        ]
        .into_iter()
        .flatten()
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
        .unwrap_or_default()
    };
    GitIdentity {
        name: pick("name", None),
        email: pick("email", Some(env("EMAIL"))),
    }
}

/// The `user.*`, `author.*` and `committer.*` names and emails of git's config as seen
/// from `dir` (or its nearest existing parent: `init` may create it), in the user's
/// environment; empty when git is missing or nothing is set.
async fn git_identity_config(dir: &Path) -> HashMap<String, String> {
    let Some(cwd) = dir.ancestors().find(|d| d.is_dir()) else {
        return HashMap::new();
    };
    let output = tokio::process::Command::new("git")
        .args([
            "config",
            "--null",
            "--get-regexp",
            r"^(user|author|committer)\.(name|email)$",
        ])
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .await;
    let Ok(output) = output else {
        return HashMap::new();
    };
    // `key\nvalue\0` each, in the order git reads them: the last one wins, as in git.
    String::from_utf8_lossy(&output.stdout)
        .split('\0')
        .filter_map(|entry| entry.split_once('\n'))
        .map(|(key, value)| (key.to_lowercase(), value.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_is_taken_in_git_s_order() {
        let config: HashMap<String, String> = [
            ("user.name", "User"),
            ("user.email", "user@example.com"),
            ("committer.name", "Committer"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let env = |name: &str| match name {
            "GIT_AUTHOR_NAME" => "Env Author".to_owned(),
            "EMAIL" => "email@example.com".to_owned(),
            _ => String::new(),
        };
        let author = identity("author", &config, &env);
        assert_eq!(
            (author.name.as_str(), author.email.as_str()),
            ("Env Author", "user@example.com")
        );
        let committer = identity("committer", &config, &env);
        assert_eq!(
            (committer.name.as_str(), committer.email.as_str()),
            ("Committer", "user@example.com")
        );
        let none = identity("author", &HashMap::new(), &|_: &str| String::new());
        assert_eq!((none.name.as_str(), none.email.as_str()), ("", ""));
        let only_email_env = identity("author", &HashMap::new(), &env);
        assert_eq!(only_email_env.email, "email@example.com");
    }
}
