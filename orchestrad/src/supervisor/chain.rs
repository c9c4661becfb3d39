//! How the agents of a batch relate: siblings told of each other's tasks (an appended
//! system prompt), and tasks that follow a task (`spawn --after`), which wait until it
//! is done, then start from its branch with its result as context, or are stopped with
//! the reason when it fails or is stopped.

use std::path::Path;
use std::sync::Arc;

use super::agent::{AgentRecord, AgentState};
use super::{Supervisor, SupervisorError};
use crate::time::now_ms;
use crate::worktree::merge;

/// Whether a queued agent may be started by the scheduler: it follows nobody, or the
/// agent it follows is done and it has been pointed at that agent's branch.
pub fn may_start(agent: &AgentRecord) -> bool {
    agent.after.is_empty() || agent.after_released
}

/// Gives each agent of a batch of several an appended system prompt naming the other
/// tasks and their branches, so it can leave their work to them.
pub fn tell_siblings(records: &mut [AgentRecord]) {
    if records.len() < 2 {
        return;
    }
    let lines: Vec<String> = records
        .iter()
        .map(|r| {
            let task = crate::text::truncate_chars(
                &r.task.split_whitespace().collect::<Vec<_>>().join(" "),
                300,
            );
            if r.branch.is_empty() {
                format!("- {task:?}")
            } else {
                format!("- {task:?} on branch {}", r.branch)
            }
        })
        .collect();
    for (i, record) in records.iter_mut().enumerate() {
        let others: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, l)| l.as_str())
            .collect();
        let place = if record.branch.is_empty() {
            "all in the same directory, so you see each other's changes as they happen"
        } else {
            "each in its own git worktree and branch; the branches will be merged together \
             afterwards"
        };
        record.system_prompt = format!(
            "You are one of {} Claude Code agents working at the same time on this repository, \
             each on its own task, {place}. The other tasks are:\n{}\n\
             Do only your own task. Leave the other tasks to their agents, and avoid changing \
             the files their tasks are clearly about, so the work merges cleanly.",
            lines.len(),
            others.join("\n")
        );
    }
}

/// The message a follower starts with: the task before it, that task's result, the
/// branch it starts from, then its own task.
fn with_context(before: &AgentRecord, task: &str) -> String {
    let result = if before.result.trim().is_empty() {
        "(it gave no result text)".to_owned()
    } else {
        before.result.trim().to_owned()
    };
    let place = if before.branch.is_empty() {
        String::new()
    } else {
        format!(
            " You start from its branch {}, with its work committed.",
            before.branch
        )
    };
    format!(
        "This task follows an earlier one, which is done.\n\nEarlier task (agent {}): {}\n\n\
         Its result:\n{result}\n{place}\n\nYour task: {task}",
        before.id,
        before.task.trim()
    )
}

impl Supervisor {
    /// Checks `--after`: the agent (id or prefix) must exist and work on `repo`. Returns
    /// its full id, or "" when none was given.
    pub(super) fn predecessor(&self, after: &str, repo: &Path) -> Result<String, SupervisorError> {
        if after.trim().is_empty() {
            return Ok(String::new());
        }
        let before = self.resolve(after)?;
        if before.repo != repo {
            return Err(SupervisorError::Precondition(format!(
                "agent {} works on {}, not on {}: a task can only follow an agent of its own repository",
                before.id,
                before.repo.display(),
                repo.display()
            )));
        }
        Ok(before.id)
    }

    /// Lets queued followers go once the agent they follow is done (their branch starts
    /// at its branch head, its work committed first), and stops them with the reason
    /// when it ended otherwise.
    pub(super) async fn release_followers(self: &Arc<Self>) {
        let waiting: Vec<(String, String, String)> = {
            let agents = self.agents.lock();
            agents
                .values()
                .filter(|a| a.state == AgentState::Queued && !may_start(a))
                .map(|a| (a.id.clone(), a.after.clone(), a.task.clone()))
                .collect()
        };
        for (id, after, task) in waiting {
            let before = self.peek(&after, Clone::clone);
            let Some(before) = before else {
                let reason = format!("not started: agent {after}, which it followed, is gone");
                let _ = self.stop_follower(&id, reason).await;
                continue;
            };
            match before.state {
                AgentState::Done => {
                    let start = if before.worktree && !before.branch.is_empty() {
                        let b = before.clone();
                        tokio::task::spawn_blocking(move || {
                            if b.cwd.is_dir() {
                                merge::commit_all(&b.cwd, b.task.trim())?;
                            }
                            merge::branch_tip(&b.repo, &b.branch)
                        })
                        .await
                        .map_err(|err| err.to_string())
                        .and_then(|r| r.map_err(|err| err.to_string()))
                    } else {
                        Ok(String::new())
                    };
                    match start {
                        Ok(tip) => {
                            let message = with_context(&before, &task);
                            super::logged(
                                self.update(&id, |a| {
                                    if !tip.is_empty() {
                                        a.base_commit = tip;
                                        a.base_ref = before.branch.clone();
                                    }
                                    a.pending_input = vec![message];
                                    a.after_released = true;
                                    a.activity = format!("queued after {} (done)", before.id);
                                })
                                .await,
                            );
                        }
                        Err(err) => {
                            let reason = format!(
                                "not started: cannot start from the branch of {}: {err}",
                                before.id
                            );
                            let _ = self.stop_follower(&id, reason).await;
                        }
                    }
                }
                state if state.is_finished() => {
                    let why = if before.error.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", before.error)
                    };
                    let reason = format!(
                        "not started: agent {}, which it followed, is {}{why}",
                        before.id,
                        state.as_str()
                    );
                    let _ = self.stop_follower(&id, reason).await;
                }
                _ => {
                    let activity = format!("waiting for {} ({})", before.id, before.state.as_str());
                    super::logged(self.update(&id, |a| a.activity = activity).await);
                }
            }
        }
    }

    async fn stop_follower(&self, id: &str, reason: String) -> Result<(), SupervisorError> {
        self.update(id, |a| {
            a.state = AgentState::Stopped;
            a.activity = reason.clone();
            a.error = reason;
            a.ended_at_ms = now_ms();
        })
        .await
        .map(|_| ())
    }
}
