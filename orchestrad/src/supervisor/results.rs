//! What agents produced: results with their branches' diff stats, the worktrees of a
//! repository, cleanup of finished ones, and pull requests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::agent::{AgentRecord, AgentState};
use super::{Supervisor, SupervisorError, repo_of};
use crate::worktree::{self, DiffStat};

/// One agent's result.
#[derive(Debug, Clone)]
pub struct AgentResult {
    /// The agent.
    pub agent: AgentRecord,
    /// Its branch against its base, when its worktree exists.
    pub diff: Option<DiffStat>,
}

/// An agent worktree.
#[derive(Debug, Clone)]
pub struct WorktreeInfo {
    /// The agent.
    pub agent: AgentRecord,
    /// Changes against the base.
    pub diff: Option<DiffStat>,
    /// The branch is in HEAD.
    pub merged: bool,
}

/// One cleanup decision.
#[derive(Debug, Clone, Default)]
pub struct CleanupAction {
    /// The agent.
    pub agent_id: String,
    /// Its worktree.
    pub worktree: PathBuf,
    /// Its branch.
    pub branch: String,
    /// The worktree goes.
    pub remove_worktree: bool,
    /// The branch goes.
    pub delete_branch: bool,
    /// Why nothing happens.
    pub skipped: String,
    /// Other agents that ran in this worktree (resumes of its session).
    pub sharing_agents: Vec<String>,
}

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

fn diff_of(agent: &AgentRecord) -> Option<DiffStat> {
    (agent.worktree && agent.cwd.is_dir() && !agent.base_commit.is_empty())
        .then(|| worktree::diff_stat(&agent.cwd, &agent.base_commit).ok())
        .flatten()
}

impl Supervisor {
    /// Agents of the repository containing `dir` (all agents for `None`).
    pub fn agents_of(&self, dir: Option<&Path>) -> Result<Vec<AgentRecord>, SupervisorError> {
        let repo = dir.map(repo_of).transpose()?;
        Ok(self
            .list()
            .into_iter()
            .filter(|a| repo.as_ref().is_none_or(|r| &a.repo == r))
            .collect())
    }

    /// Results of the agents (oldest first), after waiting for all to finish if `wait`.
    pub async fn collect(
        self: &Arc<Self>,
        dir: Option<&Path>,
        wait: bool,
    ) -> Result<Vec<AgentResult>, SupervisorError> {
        if wait {
            let mut events = self.bus.subscribe();
            loop {
                let busy = self
                    .agents_of(dir)?
                    .iter()
                    .any(|a| a.state == AgentState::Queued || a.state.is_active());
                if !busy || self.stopping() {
                    break;
                }
                // Any change may be the last one; a timeout guards against a missed event.
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(1), events.recv()).await;
            }
        }
        let mut agents = self.agents_of(dir)?;
        agents.reverse();
        super::blocking("reading the agents' diffs", move || {
            agents
                .into_iter()
                .map(|agent| AgentResult {
                    diff: diff_of(&agent),
                    agent,
                })
                .collect()
        })
        .await
    }

    /// The agent worktrees of the repository containing `dir`.
    pub async fn worktrees(
        &self,
        dir: &Path,
    ) -> Result<(PathBuf, Vec<WorktreeInfo>), SupervisorError> {
        let repo = repo_of(dir)?;
        let agents: Vec<AgentRecord> = self
            .agents_of(Some(dir))?
            .into_iter()
            .filter(|a| a.worktree && a.cwd.is_dir())
            .collect();
        let root = repo.clone();
        let infos = super::blocking("reading the worktrees", move || {
            agents
                .into_iter()
                .map(|agent| WorktreeInfo {
                    diff: diff_of(&agent),
                    merged: worktree::is_merged(&root, &agent.branch).unwrap_or(false),
                    agent,
                })
                .collect()
        })
        .await?;
        Ok((repo, infos))
    }

    /// Removes the worktrees of finished agents whose branch is merged (with `all`, of
    /// every finished agent, keeping unmerged branches unless `force`). Never touches a
    /// queued or running agent; keeps uncommitted work unless `force`.
    pub async fn cleanup(
        &self,
        dir: &Path,
        all: bool,
        dry_run: bool,
        force: bool,
    ) -> Result<Vec<CleanupAction>, SupervisorError> {
        let repo = repo_of(dir)?;
        let everyone = self.agents_of(Some(dir))?;
        let agents: Vec<AgentRecord> = everyone
            .iter()
            .filter(|a| a.worktree && a.cwd.exists())
            .cloned()
            .collect();
        // A `resume` of an agent's session runs in that agent's worktree without owning it.
        let sharing = move |owner: &AgentRecord| -> Vec<AgentRecord> {
            everyone
                .iter()
                .filter(|a| a.id != owner.id && !a.worktree && a.cwd == owner.cwd)
                .cloned()
                .collect()
        };
        let agents: Vec<(AgentRecord, Vec<AgentRecord>)> = agents
            .into_iter()
            .map(|a| {
                let sharers = sharing(&a);
                (a, sharers)
            })
            .collect();
        super::blocking("cleaning up worktrees", move || {
            let mut actions = Vec::new();
            for (agent, sharers) in agents {
                let mut action = CleanupAction {
                    agent_id: agent.id.clone(),
                    worktree: agent.cwd.clone(),
                    branch: agent.branch.clone(),
                    sharing_agents: sharers.iter().map(|a| a.id.clone()).collect(),
                    ..CleanupAction::default()
                };
                let diff = diff_of(&agent);
                let merged = worktree::is_merged(&repo, &agent.branch).unwrap_or(false);
                let busy_sharer = sharers.iter().find(|a| !a.state.is_finished());
                if !agent.state.is_finished() {
                    action.skipped = format!("agent is {}", agent.state.as_str());
                } else if let Some(other) = busy_sharer {
                    action.skipped = format!(
                        "agent {} (a resume of its session) is {} in this worktree",
                        other.id,
                        other.state.as_str()
                    );
                } else if diff.is_some_and(|d| d.uncommitted) && !force {
                    action.skipped = "uncommitted changes (commit them, or use --force)".to_owned();
                } else if merged {
                    action.remove_worktree = true;
                    action.delete_branch = true;
                } else if all {
                    action.remove_worktree = true;
                    action.delete_branch = force;
                } else {
                    action.skipped =
                        "branch not merged (use --all to remove the worktree anyway)".to_owned();
                }
                if action.remove_worktree
                    && !dry_run
                    && let Err(err) =
                        worktree::remove(&repo, &agent.slug, &agent.cwd, action.delete_branch)
                {
                    action.remove_worktree = false;
                    action.delete_branch = false;
                    action.skipped = err.to_string();
                }
                actions.push(action);
            }
            actions
        })
        .await
    }

    /// Commits what is uncommitted in the agent's worktree (the task as the message),
    /// pushes its branch and opens a PR with `gh` when it is installed.
    pub async fn pr(
        &self,
        id: &str,
        env: std::collections::BTreeMap<String, String>,
    ) -> Result<PrOutcome, SupervisorError> {
        let agent = self.resolve(id)?;
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
        super::blocking("opening the pull request", move || open_pr(&agent, &env)).await?
    }
}

/// Runs a command with the caller's environment; returns (success, stdout+stderr).
pub(super) fn run(
    program: &str,
    args: &[&str],
    cwd: &Path,
    env: &std::collections::BTreeMap<String, String>,
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
    env: &std::collections::BTreeMap<String, String>,
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
        let message = crate::text::truncate_chars(agent.task.trim(), 200);
        match git(&["commit", "-m", &message]) {
            Some((true, _)) => outcome.committed = true,
            Some((false, text)) => {
                return Err(SupervisorError::Precondition(format!(
                    "git commit failed: {text}"
                )));
            }
            None => {}
        }
    }
    let remote = git(&["remote", "get-url", "origin"])
        .filter(|(ok, _)| *ok)
        .map(|(_, url)| url);
    let Some(remote) = remote else {
        outcome.instructions = format!(
            "the repository has no `origin` remote; add one, then run: git -C {} push -u origin {}",
            cwd.display(),
            agent.branch
        );
        return Ok(outcome);
    };
    match git(&["push", "-u", "origin", &agent.branch]) {
        Some((true, _)) => outcome.pushed = true,
        Some((false, text)) => {
            outcome.instructions = format!(
                "push failed ({text}); run: git -C {} push -u origin {}",
                cwd.display(),
                agent.branch
            );
            return Ok(outcome);
        }
        None => {}
    }
    let title =
        crate::text::truncate_chars(agent.task.lines().next().unwrap_or("orchestra agent"), 70);
    let body = format!(
        "{}\n\n{}\n\nMade by claude-orchestra agent {}.",
        agent.task, agent.result, agent.id
    );
    match run(
        "gh",
        &[
            "pr",
            "create",
            "--head",
            &agent.branch,
            "--title",
            &title,
            "--body",
            &body,
        ],
        cwd,
        env,
    ) {
        Some((true, url)) => outcome.pr_url = url.lines().last().unwrap_or_default().to_owned(),
        _ => {
            outcome.instructions = match compare_url(&remote, &agent.branch) {
                Some(url) => format!("open a pull request at {url}"),
                None => format!(
                    "open a pull request for branch {} on your forge",
                    agent.branch
                ),
            };
        }
    }
    Ok(outcome)
}

/// The compare page of a GitHub remote for `branch`.
pub(super) fn compare_url(remote: &str, branch: &str) -> Option<String> {
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
