//! Bringing the finished work of a batch together: merge (and, next, verify), the batch
//! report, pull requests, results, worktrees and their cleanup.
//!
//! This room reads agents and records what became of their branches through the
//! supervisor's public methods ([`Supervisor::resolve`], [`Supervisor::update`], ...); the
//! git work is in [`crate::worktree`]. What it must not do: start, stop or watch agents'
//! processes, which is the supervisor's job.

pub mod merge;
pub mod pr;
pub mod report;
pub mod results;

use std::path::Path;
use std::sync::Arc;

use crate::supervisor::agent::AgentRecord;
use crate::supervisor::{Supervisor, SupervisorError};

/// Integration of agents' work. Shared as `Arc<Integration>`.
#[derive(Debug)]
pub struct Integration {
    /// The agents.
    sup: Arc<Supervisor>,
}

impl Integration {
    /// Integration over the agents of `sup`.
    pub fn new(sup: Arc<Supervisor>) -> Arc<Integration> {
        Arc::new(Integration { sup })
    }

    /// The agents of batch `batch` (id or unique prefix; empty for the latest batch) in
    /// the repository of `dir` (any repository for `None`), oldest first.
    pub fn batch(
        &self,
        dir: Option<&Path>,
        batch: &str,
    ) -> Result<(String, Vec<AgentRecord>), SupervisorError> {
        let agents = self.sup.agents_of(dir)?;
        let batch = batch.trim();
        let id = if batch.is_empty() {
            // Newest first: the first agent's batch is the latest.
            agents.first().map(|a| a.batch_id.clone()).ok_or_else(|| {
                SupervisorError::Precondition(
                    "no agents here yet: start a batch with `orchestractl spawn \"task\" ...`"
                        .to_owned(),
                )
            })?
        } else {
            let mut ids: Vec<&str> = agents
                .iter()
                .map(|a| a.batch_id.as_str())
                .filter(|b| b.starts_with(batch))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            match ids.as_slice() {
                [] => {
                    return Err(SupervisorError::NotFound(format!(
                        "batch {batch} (see the batch ids with `orchestractl status --json`)"
                    )));
                }
                [one] => (*one).to_owned(),
                many => {
                    return Err(SupervisorError::Ambiguous(
                        batch.to_owned(),
                        many.join(", "),
                    ));
                }
            }
        };
        let mut members: Vec<AgentRecord> =
            agents.into_iter().filter(|a| a.batch_id == id).collect();
        members.reverse();
        Ok((id, members))
    }
}
