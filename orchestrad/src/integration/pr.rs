//! Pull requests: an agent's branch (`orchestractl pr AGENT`), or an integration branch
//! with the batch's report as its body (`orchestractl pr --integration BRANCH`). Pushes
//! with the user's git and opens the PR with `gh` when installed; otherwise says what to
//! do by hand.

use std::collections::BTreeMap;
use std::path::Path;

use super::Integration;
use crate::supervisor::agent::AgentRecord;
use crate::supervisor::{SupervisorError, repo_of};

/// What `pr` did.
#[derive(Debug, Clone, Default)]
pub struct PrOutcome {
    /// The branch.
    pub branch: String,
    /// Uncommitted changes were committed.
    pub committed: bool,
    /// The branch was pushed.
    pub pushed: bool,
    /// The PR's URL.
    pub pr_url: String,
    /// What to do next by hand.
    pub instructions: String,
}

impl Integration {
    /// Commits what is uncommitted in the agent's worktree (the task as the message),
    /// pushes its branch and opens a PR with `gh` when it is installed.
    pub async fn pr(
        &self,
        id: &str,
        env: BTreeMap<String, String>,
    ) -> Result<PrOutcome, SupervisorError> {
        let agent = self.sup.resolve(id)?;
        if !agent.worktree {
            return Err(SupervisorError::Precondition(format!(
                "agent {} ran without a worktree, so it has no branch of its own",
                agent.id
            )));
        }
        if agent.state.is_active() {
            return Err(SupervisorError::Precondition(format!(
                "agent {} is still {}: wait for it (`orchestractl collect --wait`) or stop it",
                agent.id,
                agent.state.as_str()
            )));
        }
        if !agent.cwd.is_dir() {
            return Err(SupervisorError::Precondition(format!(
                "the worktree {} is gone",
                agent.cwd.display()
            )));
        }
        crate::supervisor::blocking("opening the pull request", move || open_pr(&agent, &env))
            .await?
    }

    /// Pushes integration branch `branch` and opens a pull request whose body is the
    /// report of the batch merged into it.
    pub async fn integration_pr(
        &self,
        dir: &Path,
        branch: &str,
        env: BTreeMap<String, String>,
        force: bool,
    ) -> Result<PrOutcome, SupervisorError> {
        let repo = repo_of(dir)?;
        let branch = branch.trim().to_owned();
        if branch.is_empty() {
            return Err(SupervisorError::Invalid(
                "name the integration branch: orchestractl pr --integration orchestra/integrate-<batch>"
                    .to_owned(),
            ));
        }
        let marker = format!("merged into {branch}");
        let batch = self
            .sup
            .agents_of(Some(dir))?
            .into_iter()
            .find(|a| a.merge_status == marker)
            .map(|a| a.batch_id)
            .ok_or_else(|| {
                SupervisorError::Precondition(format!(
                    "no agent was merged into {branch}: run `orchestractl merge --into {branch}` first"
                ))
            })?;
        if let Some(run) = self.run_of(&batch)?
            && run.state == super::run::RunState::Red
            && !force
        {
            let next = if run.verify.base_red {
                "fix the base, then merge again".to_owned()
            } else {
                format!(
                    "repair it with `orchestractl merge --batch {batch} --verify '{}' --repair 1`",
                    run.verify.command
                )
            };
            return Err(SupervisorError::Precondition(format!(
                "batch {batch}'s verified merge is red: {}. Then {next}, or open the pull \
                 request anyway with --force",
                run.reason
            )));
        }
        let report = self.report(Some(dir), &batch).await?;
        let merged = report
            .entries
            .iter()
            .filter(|e| e.merge_status == marker)
            .count();
        let title = format!(
            "Integrate batch {}: {merged} of {} task(s)",
            report.batch_id,
            report.entries.len()
        );
        crate::supervisor::blocking("opening the pull request", move || {
            open(
                &repo,
                &branch,
                &title,
                &report.markdown,
                ", with `orchestractl report --markdown` as its description",
                &env,
            )
        })
        .await?
    }
}

/// Pushes `branch` from `repo` and asks `gh` for a pull request titled `title` with
/// `body`; where that cannot be done, says what to run. `body_hint` names where a person
/// finds the body when they open the pull request by hand.
fn open(
    repo: &Path,
    branch: &str,
    title: &str,
    body: &str,
    body_hint: &str,
    env: &BTreeMap<String, String>,
) -> Result<PrOutcome, SupervisorError> {
    let mut outcome = PrOutcome {
        branch: branch.to_owned(),
        ..PrOutcome::default()
    };
    let git = |args: &[&str]| run("git", args, repo, env);
    if git(&["rev-parse", "--verify", &format!("refs/heads/{branch}")]).is_none_or(|(ok, _)| !ok) {
        return Err(SupervisorError::Precondition(format!(
            "there is no branch {branch} (for a batch: run `orchestractl merge` to make it)"
        )));
    }
    let remote = git(&["remote", "get-url", "origin"])
        .filter(|(ok, _)| *ok)
        .map(|(_, url)| url);
    let Some(remote) = remote else {
        outcome.instructions = format!(
            "the repository has no `origin` remote; add one, then run: git -C {} push -u origin {branch}{body_hint}",
            repo.display()
        );
        return Ok(outcome);
    };
    match git(&["push", "-u", "origin", branch]) {
        Some((true, _)) => outcome.pushed = true,
        other => {
            let text = other.map(|(_, t)| t).unwrap_or_default();
            outcome.instructions = format!(
                "push failed ({text}); run: git -C {} push -u origin {branch}",
                repo.display()
            );
            return Ok(outcome);
        }
    }
    let body = text_file(body)?;
    match run(
        "gh",
        &[
            "pr",
            "create",
            "--head",
            branch,
            "--title",
            title,
            "--body-file",
            &body.path().display().to_string(),
        ],
        repo,
        env,
    ) {
        Some((true, url)) => outcome.pr_url = url.lines().last().unwrap_or_default().to_owned(),
        _ => {
            outcome.instructions = match compare_url(&remote, branch) {
                Some(url) => format!("open a pull request at {url}{body_hint}"),
                None => format!("open a pull request for branch {branch} on your forge{body_hint}"),
            };
        }
    }
    Ok(outcome)
}

/// `text` in a private (0600) temporary file, for git and gh to read: tasks and reports go
/// to them as files, never on a command line where `ps` shows them to other users. The
/// file goes when the handle is dropped.
fn text_file(text: &str) -> Result<tempfile::NamedTempFile, SupervisorError> {
    use std::io::Write as _;
    let mut file = tempfile::Builder::new()
        .prefix("orchestra-pr-")
        .tempfile()
        .map_err(|err| {
            SupervisorError::Precondition(format!("cannot write a temporary file: {err}"))
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|err| {
            SupervisorError::Precondition(format!("cannot write a temporary file: {err}"))
        })?;
    Ok(file)
}

/// Runs a command with the caller's environment; returns (success, stdout+stderr).
fn run(
    program: &str,
    args: &[&str],
    cwd: &Path,
    env: &BTreeMap<String, String>,
) -> Option<(bool, String)> {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text.trim().to_owned()))
}

fn open_pr(
    agent: &AgentRecord,
    env: &BTreeMap<String, String>,
) -> Result<PrOutcome, SupervisorError> {
    let mut outcome = PrOutcome {
        branch: agent.branch.clone(),
        ..PrOutcome::default()
    };
    let cwd = &agent.cwd;
    let git = |args: &[&str]| run("git", args, cwd, env);
    let status = git(&["status", "--porcelain"])
        .ok_or_else(|| SupervisorError::Precondition("git is not installed".to_owned()))?;
    if !status.1.is_empty() {
        git(&["add", "-A"]);
        let message = text_file(&crate::text::truncate_chars(agent.task.trim(), 200))?;
        match git(&["commit", "-F", &message.path().display().to_string()]) {
            Some((true, _)) => outcome.committed = true,
            Some((false, text)) => {
                return Err(SupervisorError::Precondition(format!(
                    "git commit failed: {text}"
                )));
            }
            None => {}
        }
    }
    let title =
        crate::text::truncate_chars(agent.task.lines().next().unwrap_or("orchestra agent"), 70);
    let body = format!(
        "{}\n\n{}\n\nMade by claude-orchestra agent {}.",
        agent.task, agent.result, agent.id
    );
    let pushed = open(cwd, &agent.branch, &title, &body, "", env)?;
    Ok(PrOutcome {
        committed: outcome.committed,
        ..pushed
    })
}

/// The compare page of a GitHub remote for `branch`.
fn compare_url(remote: &str, branch: &str) -> Option<String> {
    let path = remote
        .strip_prefix("git@github.com:")
        .or_else(|| remote.strip_prefix("https://github.com/"))
        .or_else(|| remote.strip_prefix("ssh://git@github.com/"))?;
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    Some(format!(
        "https://github.com/{path}/compare/{branch}?expand=1"
    ))
}

#[cfg(test)]
mod tests {
    use super::compare_url;

    #[test]
    fn compare_urls_of_github_remotes() {
        assert_eq!(
            compare_url("git@github.com:me/repo.git", "orchestra/x").as_deref(),
            Some("https://github.com/me/repo/compare/orchestra/x?expand=1")
        );
        assert_eq!(compare_url("/srv/git/repo.git", "b"), None);
    }
}
