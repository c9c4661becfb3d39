//! `merge`: bringing the branches of a batch (or of named agents) together in one
//! integration branch, or, as a dry run, the pairwise conflicts among them. The git work
//! is in [`crate::worktree::merge`]; this module chooses the agents, refuses running
//! ones, and records on each agent what became of its branch. It reads top to bottom:
//! [`Integration::merge`], then each of its steps.

use std::path::Path;

use super::Integration;
use crate::supervisor::agent::{AgentRecord, AgentState};
use crate::supervisor::{SupervisorError, repo_of};
use crate::worktree::merge::{self, Candidate, Side, Skipped};

/// What to merge.
#[derive(Debug, Clone, Default)]
pub struct MergeRequest {
    /// A directory inside the repository.
    pub dir: std::path::PathBuf,
    /// Agents by id or prefix, in merge order (empty: the batch).
    pub agents: Vec<String>,
    /// A batch id or prefix (empty with no agents: the latest batch of the repository).
    pub batch: String,
    /// The integration branch (empty: `orchestra/integrate-<batch>`).
    pub into: String,
    /// Only the pairwise conflicts, changing nothing.
    pub dry_run: bool,
    /// Only agents whose review is `approved`; the rest are left out, named.
    pub approved_only: bool,
}

/// Two agents whose work conflicts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// The two agents, in batch order.
    pub agents: [String; 2],
    /// The paths in conflict.
    pub paths: Vec<String>,
}

/// A branch left out, and why.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Left {
    /// Conflict details (empty paths when left out for another reason).
    pub skipped: Skipped,
    /// Why, in words.
    pub reason: String,
}

/// What merge did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MergeOutcome {
    /// The integration branch.
    pub branch: String,
    /// The batch.
    pub batch_id: String,
    /// Agents merged, in order.
    pub merged: Vec<String>,
    /// Agents left out.
    pub skipped: Vec<Left>,
    /// Dry run: conflicting pairs.
    pub conflicts: Vec<Conflict>,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// The integration worktree.
    pub worktree: String,
    /// The branch's commit after the merge.
    pub head: String,
    /// Agents whose uncommitted work was committed first.
    pub committed: Vec<String>,
}

/// The default integration branch of a batch.
pub fn default_branch(batch_id: &str) -> String {
    format!("orchestra/integrate-{batch_id}")
}

impl Integration {
    /// Merges (or, dry run, checks) the chosen agents' branches, in four steps: choose
    /// the agents, sort out those that cannot take part, merge the branches one by one
    /// into the integration branch, and record on each agent what became of its branch.
    pub async fn merge(&self, request: MergeRequest) -> Result<MergeOutcome, SupervisorError> {
        let repo = repo_of(&request.dir)?;
        let (batch_id, chosen, named) = self.choose(&request, &repo)?;
        let branch = if request.into.trim().is_empty() {
            default_branch(&batch_id)
        } else {
            request.into.trim().to_owned()
        };
        let mut outcome = MergeOutcome {
            branch: branch.clone(),
            batch_id,
            dry_run: request.dry_run,
            ..MergeOutcome::default()
        };
        let takers = takers(
            chosen,
            request.dry_run,
            named,
            request.approved_only,
            &mut outcome.skipped,
        )?;
        if request.dry_run {
            let root = repo.clone();
            let agents = takers.clone();
            outcome.conflicts =
                crate::supervisor::blocking("the dry run of the merge", move || {
                    dry_run(&root, &agents)
                })
                .await??;
            return Ok(outcome);
        }
        let worktree_dir = self.sup.config().worktree_dir.clone();
        let (agents, into) = (takers.clone(), branch.clone());
        let merged = crate::supervisor::blocking("merging the batch", move || {
            merge_branches(&repo, &worktree_dir, &into, &agents)
        })
        .await??;
        merged.into_outcome(&takers, &mut outcome);
        self.record(&outcome, &takers).await;
        Ok(outcome)
    }

    /// The agents to merge: the named ones (`named` true), or the batch's.
    fn choose(
        &self,
        request: &MergeRequest,
        repo: &Path,
    ) -> Result<(String, Vec<AgentRecord>, bool), SupervisorError> {
        if request.agents.is_empty() {
            let (id, members) = self.batch(Some(&request.dir), &request.batch)?;
            return Ok((id, members, false));
        }
        if !request.batch.is_empty() {
            return Err(SupervisorError::Invalid(
                "name agents or give --batch, not both".to_owned(),
            ));
        }
        let mut chosen: Vec<AgentRecord> = Vec::new();
        for id in &request.agents {
            let agent = self.sup.resolve(id)?;
            if agent.repo != repo {
                return Err(SupervisorError::Precondition(format!(
                    "agent {} works on {}, not on {}: run merge there",
                    agent.id,
                    agent.repo.display(),
                    repo.display()
                )));
            }
            if !chosen.iter().any(|a| a.id == agent.id) {
                chosen.push(agent);
            }
        }
        let batch = chosen[0].batch_id.clone();
        Ok((batch, chosen, true))
    }

    /// Records on each agent what became of its branch.
    async fn record(&self, outcome: &MergeOutcome, takers: &[AgentRecord]) {
        let branch = &outcome.branch;
        for id in &outcome.merged {
            let status = format!("merged into {branch}");
            crate::supervisor::logged(self.sup.update(id, |a| a.merge_status = status).await);
        }
        for left in &outcome.skipped {
            if takers.iter().any(|a| a.id == left.skipped.agent_id) {
                let status = format!("left out of {branch}: {}", left.reason);
                crate::supervisor::logged(
                    self.sup
                        .update(&left.skipped.agent_id, |a| a.merge_status = status)
                        .await,
                );
            }
        }
    }
}

/// Sorts the chosen agents into those that take part and those left out before any git
/// work (added to `left`); an unfinished agent is an error unless it is a dry run.
fn takers(
    chosen: Vec<AgentRecord>,
    dry_run: bool,
    named: bool,
    approved_only: bool,
    left: &mut Vec<Left>,
) -> Result<Vec<AgentRecord>, SupervisorError> {
    let mut takers = Vec::new();
    for agent in chosen {
        let unfinished = agent.state == AgentState::Queued || agent.state.is_active();
        let reason = if !agent.worktree {
            Some("it ran without a worktree, so it has no branch of its own".to_owned())
        } else if dry_run && unfinished {
            // The preview works while agents run: their work so far is compared.
            None
        } else if unfinished {
            return Err(SupervisorError::Precondition(format!(
                "agent {} is still {}: only finished agents are merged; wait for it \
                 (`orchestractl collect --wait`), stop it (`orchestractl stop {}`), \
                 or preview with `orchestractl merge --dry-run`",
                agent.id,
                agent.state.as_str(),
                agent.id
            )));
        } else if approved_only && agent.review.state != "approved" {
            Some(format!(
                "not approved yet: read it with `orchestractl diff {}`, approve it with \
                 `orchestractl review {} --approve`",
                agent.id, agent.id
            ))
        } else if !named && agent.state != AgentState::Done {
            Some(format!(
                "it is {} (name it to merge it anyway: `orchestractl merge {}`)",
                agent.state.as_str(),
                agent.id
            ))
        } else {
            None
        };
        match reason {
            Some(reason) => left.push(Left {
                skipped: Skipped {
                    agent_id: agent.id.clone(),
                    ..Skipped::default()
                },
                reason,
            }),
            None => takers.push(agent),
        }
    }
    Ok(takers)
}

/// What the git work of a merge did.
struct Merged {
    /// Agents whose uncommitted work was committed first.
    committed: Vec<String>,
    /// The integration branch's result.
    integration: merge::Integration,
    /// Agents whose branch no longer exists.
    gone: Vec<String>,
}

/// Commits each agent's uncommitted work, then merges the branches one by one into
/// `into` (in its own worktree).
fn merge_branches(
    repo: &Path,
    worktree_dir: &str,
    into: &str,
    agents: &[AgentRecord],
) -> Result<Merged, SupervisorError> {
    let mut committed = Vec::new();
    let mut candidates = Vec::new();
    let mut gone = Vec::new();
    for agent in agents {
        if merge::branch_tip(repo, &agent.branch).is_err() {
            gone.push(agent.id.clone());
            continue;
        }
        if agent.cwd.is_dir() {
            let message = agent.task.trim().to_owned();
            if merge::commit_all(&agent.cwd, &message)?.is_some() {
                committed.push(agent.id.clone());
            }
        }
        candidates.push(Candidate {
            agent_id: agent.id.clone(),
            branch: agent.branch.clone(),
            task: agent.task.clone(),
            base_commit: agent.base_commit.clone(),
        });
    }
    let worktree = merge::integration_worktree(repo, worktree_dir, into);
    let integration = merge::integrate(repo, into, &worktree, &candidates)?;
    Ok(Merged {
        committed,
        integration,
        gone,
    })
}

impl Merged {
    /// Fills `outcome` in: what was merged, and what was left out and why, in batch order.
    fn into_outcome(self, takers: &[AgentRecord], outcome: &mut MergeOutcome) {
        for id in self.gone {
            let branch_name = takers
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.branch.clone())
                .unwrap_or_default();
            outcome.skipped.push(Left {
                skipped: Skipped {
                    agent_id: id,
                    ..Skipped::default()
                },
                reason: format!("its branch {branch_name} no longer exists"),
            });
        }
        outcome.committed = self.committed;
        outcome.merged = self.integration.merged.clone();
        outcome.head = self.integration.head.clone();
        outcome.worktree = self.integration.worktree.display().to_string();
        for skipped in self.integration.skipped {
            let reason = format!(
                "conflicts with {} on {}",
                if skipped.conflicts_with.is_empty() {
                    "the merged work".to_owned()
                } else {
                    skipped.conflicts_with.join(", ")
                },
                skipped.paths.join(", ")
            );
            outcome.skipped.push(Left { skipped, reason });
        }
        // Keep the batch order in the report of what was left out.
        let order: Vec<&str> = takers.iter().map(|a| a.id.as_str()).collect();
        outcome.skipped.sort_by_key(|l| {
            order
                .iter()
                .position(|id| *id == l.skipped.agent_id)
                .unwrap_or(usize::MAX)
        });
    }
}

/// Every pair of `agents` whose work (uncommitted included) conflicts, computed in memory.
fn dry_run(repo: &Path, agents: &[AgentRecord]) -> Result<Vec<Conflict>, SupervisorError> {
    let mut sides = Vec::new();
    for agent in agents {
        let (head, tree) = if agent.cwd.is_dir() {
            merge::snapshot(&agent.cwd)?
        } else {
            // Its worktree was removed: its branch is all there is.
            let tip = merge::branch_tip(repo, &agent.branch)?;
            let repository = git2::Repository::open(repo).map_err(|_| {
                crate::worktree::WorktreeError::NotARepo {
                    path: repo.to_path_buf(),
                }
            })?;
            let oid = git2::Oid::from_str(&tip).expect("a commit id from git2 parses");
            let tree = repository
                .find_commit(oid)
                .map(|c| c.tree_id())
                .map_err(|_| crate::worktree::WorktreeError::UnknownRef {
                    repo: repo.to_path_buf(),
                    reference: agent.branch.clone(),
                })?;
            (oid, tree)
        };
        sides.push(Side {
            agent_id: agent.id.clone(),
            head,
            tree,
        });
    }
    let mut conflicts = Vec::new();
    for (i, a) in sides.iter().enumerate() {
        for b in &sides[i + 1..] {
            let paths = merge::conflicts_between(repo, a, b)?;
            if !paths.is_empty() {
                conflicts.push(Conflict {
                    agents: [a.agent_id.clone(), b.agent_id.clone()],
                    paths: paths.into_iter().collect(),
                });
            }
        }
    }
    Ok(conflicts)
}
