//! What agents produced: results with their branches' diff stats, the worktrees of a
//! repository, and cleanup of finished ones.

use std::path::{Path, PathBuf};

use super::Integration;
use crate::supervisor::agent::{AgentRecord, AgentState};
use crate::supervisor::{SupervisorError, repo_of};
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

/// An agent's branch against its base, when its worktree exists.
pub(super) fn diff_of(agent: &AgentRecord) -> Option<DiffStat> {
    (agent.worktree && agent.cwd.is_dir() && !agent.base_commit.is_empty())
        .then(|| worktree::diff_stat(&agent.cwd, &agent.base_commit).ok())
        .flatten()
}

impl Integration {
    /// Agent `id`'s change against the commit it started from (see
    /// [`crate::worktree::diff`]), or why there is none to show.
    pub async fn diff(
        &self,
        id: &str,
        stat_only: bool,
    ) -> Result<(String, crate::worktree::diff::Change), SupervisorError> {
        let agent = self.sup.resolve(id)?;
        if !agent.worktree {
            return Err(SupervisorError::Precondition(format!(
                "agent {} ran without a worktree (in the repository itself), so it has no \
                 change of its own to show; use `git diff` in {}",
                agent.id,
                agent.cwd.display()
            )));
        }
        if !agent.cwd.is_dir() {
            return Err(SupervisorError::Precondition(format!(
                "agent {}'s worktree {} is gone (cleaned up?); its branch {} may still be \
                 there: `git diff {}...{}`",
                agent.id,
                agent.cwd.display(),
                agent.branch,
                agent.base_commit,
                agent.branch
            )));
        }
        if agent.base_commit.is_empty() {
            return Err(SupervisorError::Precondition(format!(
                "agent {} has not started yet: nothing to compare",
                agent.id
            )));
        }
        let id = agent.id.clone();
        let change = crate::supervisor::blocking("reading the agent's change", move || {
            worktree::diff::change(&agent.cwd, &agent.base_commit, stat_only)
        })
        .await??;
        Ok((id, change))
    }

    /// Results of the agents (oldest first), after waiting for all to finish if `wait`.
    pub async fn collect(
        &self,
        dir: Option<&Path>,
        wait: bool,
    ) -> Result<Vec<AgentResult>, SupervisorError> {
        if wait {
            let mut events = self.sup.bus().subscribe();
            loop {
                let busy = self
                    .sup
                    .agents_of(dir)?
                    .iter()
                    .any(|a| a.state == AgentState::Queued || a.state.is_active());
                if !busy || self.sup.stopping() {
                    break;
                }
                // Any change may be the last one; a timeout guards against a missed event.
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(1), events.recv()).await;
            }
        }
        let mut agents = self.sup.agents_of(dir)?;
        agents.reverse();
        crate::supervisor::blocking("reading the agents' diffs", move || {
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
            .sup
            .agents_of(Some(dir))?
            .into_iter()
            .filter(|a| a.worktree && a.cwd.is_dir())
            .collect();
        let root = repo.clone();
        let infos = crate::supervisor::blocking("reading the worktrees", move || {
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
        let everyone = self.sup.agents_of(Some(dir))?;
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
        crate::supervisor::blocking("cleaning up worktrees", move || {
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
}
