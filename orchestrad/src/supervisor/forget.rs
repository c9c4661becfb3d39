//! Forgetting agents: the record, its environment and its files go, so `status` and
//! `collect` stop showing old work. Worktrees and branches are git's business and stay
//! (`cleanup` removes them).

use std::sync::Arc;

use super::agent::{AgentChange, AgentRecord, AgentState};
use super::{Supervisor, SupervisorError};

impl Supervisor {
    /// Forgets the agents `ids` (ids or unique prefixes). Checks them all first: one
    /// unknown or still queued or running agent forgets none.
    pub async fn forget(&self, ids: &[String]) -> Result<Vec<AgentRecord>, SupervisorError> {
        if ids.is_empty() {
            return Err(SupervisorError::Invalid(
                "name the agents to forget (ids from `orchestractl status`)".to_owned(),
            ));
        }
        let mut agents: Vec<AgentRecord> = Vec::new();
        for id in ids {
            let agent = self.resolve(id)?;
            if agent.state == AgentState::Queued || agent.state.is_active() {
                return Err(SupervisorError::Precondition(format!(
                    "agent {} is {}: stop it first (`orchestractl stop {}`), then forget it",
                    agent.id,
                    agent.state.as_str(),
                    agent.id
                )));
            }
            if !agents.iter().any(|a| a.id == agent.id) {
                agents.push(agent);
            }
        }
        for agent in &agents {
            self.table.remove(&agent.id)?;
            self.env_table.remove(&agent.id)?;
        }
        // Gone on disk before anyone is told.
        self.store.flush().await?;
        for agent in &agents {
            self.agents.lock().remove(&agent.id);
            self.envs.lock().remove(&agent.id);
            self.wakers.lock().remove(&agent.id);
            if !agent.session_id.is_empty() {
                self.sessions.set_owner(&agent.session_id, None);
            }
            // Its log and exit records; a leftover file only costs disk space.
            let dir = self.agent_dir(&agent.id).0;
            if let Err(err) = std::fs::remove_dir_all(&dir)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(agent = %agent.id, %err, "cannot remove {}", dir.display());
            }
            tracing::info!(agent = %agent.id, "agent forgotten");
            self.bus.publish(AgentChange {
                kind: "removed",
                agent: Arc::new(agent.clone()),
            });
        }
        Ok(agents)
    }
}
