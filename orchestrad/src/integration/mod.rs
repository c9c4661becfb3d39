//! Bringing the finished work of a batch together: merge (and, next, verify), the batch
//! report, pull requests, results, worktrees and their cleanup.
//!
//! This room reads agents and records what became of their branches through the
//! supervisor's public methods ([`Supervisor::resolve`], [`Supervisor::update`], ...); the
//! git work is in [`crate::worktree`]. What it must not do: start, stop or watch agents'
//! processes, which is the supervisor's job.

pub mod bisect;
pub mod merge;
pub mod pr;
pub mod report;
pub mod results;
pub mod review;
pub mod run;
pub mod settings;
pub mod verify;

use parking_lot::Mutex;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::store::{Store, StoreError, Table};
use crate::supervisor::agent::AgentRecord;
use crate::supervisor::{Supervisor, SupervisorError};

/// Integration of agents' work. Shared as `Arc<Integration>`.
#[derive(Debug)]
pub struct Integration {
    /// The agents.
    sup: Arc<Supervisor>,
    /// Verified merge runs, by batch ([`run`]).
    runs: Table,
    /// Says which batch's run changed.
    run_changes: tokio::sync::broadcast::Sender<String>,
    /// Batches whose run is being driven now.
    driving: Mutex<HashSet<String>>,
    /// Where the checks' whole output goes.
    logs_dir: PathBuf,
    /// Tells the user how runs end (set once the notifier exists).
    notifier: OnceLock<Arc<crate::notify::Notifier>>,
}

impl Integration {
    /// Integration over the agents of `sup`, its runs in `store`, the checks' logs under
    /// `state_dir/merges`.
    pub fn new(
        sup: Arc<Supervisor>,
        store: &Store,
        state_dir: &Path,
    ) -> Result<Arc<Integration>, StoreError> {
        let logs_dir = state_dir.join("merges");
        // Made once here; a failure shows when a check's log cannot be written.
        let _ = std::fs::create_dir_all(&logs_dir);
        Ok(Arc::new(Integration {
            sup,
            runs: store.table(run::TABLE)?,
            run_changes: tokio::sync::broadcast::channel(64).0,
            driving: Mutex::default(),
            logs_dir,
            notifier: OnceLock::new(),
        }))
    }

    /// Tells `notifier` how verified merges end.
    pub fn set_notifier(&self, notifier: Arc<crate::notify::Notifier>) {
        let _ = self.notifier.set(notifier);
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
                    return Err(SupervisorError::Precondition(format!(
                        "no batch matches {batch:?} here: the batch ids are in \
                         `orchestractl status --json` (batch_id)"
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
