//! The overlap radar: for the agents of one repository, which paths each has changed
//! against its base (committed and uncommitted), and which of those another agent has
//! changed too. It is refreshed after a file-changing tool (Write, Edit, Bash, ...)
//! returns and when an agent finishes: one diff of one worktree per refresh, which costs
//! less than watching every worktree's files. Both agents of an overlap carry it in
//! `overlaps`, and an `overlap` event is published for each when a path is new to it.
//! Each agent is told too, by a message from `orchestra` at its next turn (see
//! [`super::mail`]), so both sides of an overlap hear of it, not only the human.

use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::Supervisor;
use super::agent::{AgentChange, AgentRecord, Overlap};
use crate::worktree::merge;

/// The changed paths last seen per agent.
#[derive(Debug, Default)]
pub struct Radar {
    /// Agent id to the paths its worktree changed against its base.
    changed: Mutex<HashMap<String, BTreeSet<String>>>,
    /// One refresh at a time, so two agents writing at once see each other.
    refreshing: tokio::sync::Mutex<()>,
    /// (changer, path, holder) of claimed paths already told, so each is told once.
    told_claims: Mutex<std::collections::HashSet<(String, String, String)>>,
}

/// Whether `other` is watched together with `agent`: same repository, a worktree each,
/// and running now or of the same batch (whose branches will be merged together).
fn peers(agent: &AgentRecord, other: &AgentRecord) -> bool {
    other.id != agent.id
        && other.repo == agent.repo
        && other.worktree
        && agent.worktree
        && (other.state.is_active() || other.batch_id == agent.batch_id)
}

/// Paths the worktree of `agent` changed against its base; empty when it has none.
fn changed_of(agent: &AgentRecord) -> BTreeSet<String> {
    if !agent.worktree || agent.base_commit.is_empty() || !agent.cwd.is_dir() {
        return BTreeSet::new();
    }
    merge::changed_paths(&agent.cwd, &agent.base_commit).unwrap_or_default()
}

impl Supervisor {
    /// Recomputes the paths agent `id` changed and every overlap it has.
    pub async fn refresh_overlaps(self: &Arc<Self>, id: &str) {
        let _one_at_a_time = self.radar.refreshing.lock().await;
        let Some(agent) = self.peek(id, Clone::clone) else {
            return;
        };
        if !agent.worktree {
            return;
        }
        let others: Vec<AgentRecord> = self
            .list()
            .into_iter()
            .filter(|o| peers(&agent, o))
            .collect();
        let unknown: Vec<AgentRecord> = {
            let changed = self.radar.changed.lock();
            others
                .iter()
                .filter(|o| !changed.contains_key(&o.id))
                .cloned()
                .collect()
        };
        let measured = {
            let agent = agent.clone();
            tokio::task::spawn_blocking(move || {
                let mut measured = vec![(agent.id.clone(), changed_of(&agent))];
                measured.extend(unknown.iter().map(|o| (o.id.clone(), changed_of(o))));
                measured
            })
            .await
        };
        let Ok(measured) = measured else { return };
        let (mine, theirs): (BTreeSet<String>, Vec<(String, BTreeSet<String>)>) = {
            let mut changed = self.radar.changed.lock();
            for (agent_id, paths) in measured {
                changed.insert(agent_id, paths);
            }
            (
                changed.get(id).cloned().unwrap_or_default(),
                others
                    .iter()
                    .map(|o| {
                        (
                            o.id.clone(),
                            changed.get(&o.id).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
            )
        };
        self.tell_claimed(&agent, &mine).await;
        let mut overlaps = Vec::new();
        for (other, paths) in &theirs {
            let shared: Vec<String> = mine.intersection(paths).cloned().collect();
            self.set_overlap(other, id, shared.clone()).await;
            if !shared.is_empty() {
                overlaps.push(Overlap {
                    agent_id: other.clone(),
                    paths: shared,
                });
            }
        }
        self.set_overlaps(id, overlaps).await;
    }

    /// Sets agent `id`'s overlap with `other` to `paths` (none: removed).
    async fn set_overlap(self: &Arc<Self>, id: &str, other: &str, paths: Vec<String>) {
        let Some(mut overlaps) = self.peek(id, |a| a.overlaps.clone()) else {
            return;
        };
        overlaps.retain(|o| o.agent_id != other);
        if !paths.is_empty() {
            overlaps.push(Overlap {
                agent_id: other.to_owned(),
                paths,
            });
        }
        self.set_overlaps(id, overlaps).await;
    }

    /// Replaces agent `id`'s overlaps; publishes `overlap` when a path is new to them.
    async fn set_overlaps(self: &Arc<Self>, id: &str, mut overlaps: Vec<Overlap>) {
        overlaps.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        let before: BTreeSet<(String, String)> =
            self.peek(id, |a| pairs(&a.overlaps)).unwrap_or_default();
        let now = pairs(&overlaps);
        let Ok(after) = self.update(id, |a| a.overlaps = overlaps).await else {
            return;
        };
        if !now.is_subset(&before) {
            tracing::info!(agent = id, overlaps = ?after.overlaps, "overlap");
            self.tell_overlap(id, &now.difference(&before).cloned().collect())
                .await;
            self.bus.publish(AgentChange {
                kind: AgentChange::OVERLAP,
                agent: Arc::new(after),
            });
        }
    }

    /// Tells agent `id` (if it runs) which of its paths another agent changed too.
    async fn tell_overlap(self: &Arc<Self>, id: &str, new: &BTreeSet<(String, String)>) {
        if self.peek(id, |a| a.state.is_active()) != Some(true) {
            return;
        }
        let mut by_agent: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (other, path) in new {
            by_agent.entry(other).or_default().push(path);
        }
        for (other, paths) in by_agent {
            let branch = self.peek(other, |a| a.branch.clone()).unwrap_or_default();
            let text = format!(
                "agent {other} (branch {branch}) has changed the same files as you: {}. \
                 Coordinate with it through mcp__orchestra__send_message before you change \
                 them further, or claim the files you need with mcp__orchestra__claim.",
                paths.join(", ")
            );
            if let Err(err) = self
                .post_message("orchestra", &[id.to_owned()], &text)
                .await
            {
                tracing::warn!(agent = id, %err, "cannot tell an agent of its overlap");
            }
        }
    }

    /// Tells `agent` and the holder when `agent` changed a path another running agent
    /// claimed: claims are advice, so the radar checks them against what was done.
    async fn tell_claimed(self: &Arc<Self>, agent: &AgentRecord, changed: &BTreeSet<String>) {
        for path in changed {
            let Some(holder) = self.claims.holder(&agent.repo, path) else {
                continue;
            };
            let alive = self
                .peek(&holder.agent_id, |a| a.state.is_active())
                .unwrap_or(false);
            let key = (agent.id.clone(), path.clone(), holder.agent_id.clone());
            if holder.agent_id == agent.id || !alive || !self.radar.told_claims.lock().insert(key) {
                continue;
            }
            let branch = |id: &str| self.peek(id, |a| a.branch.clone()).unwrap_or_default();
            let to_changer = format!(
                "you changed {path}, which agent {} (branch {}) claimed: coordinate with it \
                 through mcp__orchestra__send_message before you change it further.",
                holder.agent_id,
                branch(&holder.agent_id)
            );
            let to_holder = format!(
                "agent {} (branch {}) changed {path}, which you claimed.",
                agent.id,
                branch(&agent.id)
            );
            for (to, text) in [
                (agent.id.clone(), to_changer),
                (holder.agent_id.clone(), to_holder),
            ] {
                if let Err(err) = self
                    .post_message("orchestra", std::slice::from_ref(&to), &text)
                    .await
                {
                    tracing::warn!(agent = %to, %err, "cannot tell an agent of a claimed path");
                }
            }
        }
    }

    /// The paths agent `id` changed, as the radar last measured them.
    pub fn changed_paths(&self, id: &str) -> Vec<String> {
        self.radar
            .changed
            .lock()
            .get(id)
            .map(|paths| paths.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets what the radar measured for agent `id` (its worktree is gone).
    pub fn forget_changes(&self, id: &str) {
        self.radar.changed.lock().remove(id);
    }
}

/// (agent, path) pairs of a list of overlaps.
fn pairs(overlaps: &[Overlap]) -> BTreeSet<(String, String)> {
    overlaps
        .iter()
        .flat_map(|o| o.paths.iter().map(|p| (o.agent_id.clone(), p.clone())))
        .collect()
}

/// Shared with the monitor: a refresh after a file-changing tool returned.
pub fn spawn_refresh(sup: &Arc<Supervisor>, id: &str) {
    let sup = sup.clone();
    let id = id.to_owned();
    tokio::spawn(async move { sup.refresh_overlaps(&id).await });
}
