//! An agent as the daemon records it: its task, where it runs, its state and results.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::sessions::meta::Tokens;

/// The life of an agent:
/// `queued -> starting -> running <-> waiting -> done | failed | stopped | interrupted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// Accepted; waiting for a free slot.
    #[default]
    Queued,
    /// Its worktree and process are being set up.
    Starting,
    /// Claude Code is working.
    Running,
    /// Claude Code waits for input or a permission answer.
    Waiting,
    /// Finished without error.
    Done,
    /// Finished with an error, or could not start.
    Failed,
    /// Stopped on request.
    Stopped,
    /// Its process vanished without an exit record (a reboot, a kill of the shim).
    Interrupted,
}

impl AgentState {
    /// The name used on the wire and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Queued => "queued",
            AgentState::Starting => "starting",
            AgentState::Running => "running",
            AgentState::Waiting => "waiting",
            AgentState::Done => "done",
            AgentState::Failed => "failed",
            AgentState::Stopped => "stopped",
            AgentState::Interrupted => "interrupted",
        }
    }

    /// Has a process (or is getting one).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            AgentState::Starting | AgentState::Running | AgentState::Waiting
        )
    }

    /// Will not change again unless sent a follow-up.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            AgentState::Done | AgentState::Failed | AgentState::Stopped | AgentState::Interrupted
        )
    }
}

/// Everything the daemon keeps about one agent, persisted in the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentRecord {
    /// Short unique id.
    pub id: String,
    /// The task text as given.
    pub task: String,
    /// Slug of the task, naming its branch and worktree.
    pub slug: String,
    /// Where it is in its life.
    pub state: AgentState,
    /// The tool in use, or the last text.
    pub activity: String,
    /// Claude Code session id, once known.
    pub session_id: String,
    /// Pid of the Claude process (its process group id too) while it runs.
    pub pid: u32,
    /// Root of the repository.
    pub repo: PathBuf,
    /// Directory it runs in.
    pub cwd: PathBuf,
    /// Its branch, when it has a worktree.
    pub branch: String,
    /// The base ref as given.
    pub base_ref: String,
    /// The base commit.
    pub base_commit: String,
    /// Whether it runs in a worktree of its own.
    pub worktree: bool,
    /// Accepted at, ms since the epoch.
    pub created_at_ms: i64,
    /// Latest run started at.
    pub started_at_ms: i64,
    /// Finished at.
    pub ended_at_ms: i64,
    /// Exit code of the latest process.
    pub exit_code: Option<i32>,
    /// Latest `result` text.
    pub result: String,
    /// Whether that result was an error.
    pub is_error: bool,
    /// Cost reported by Claude Code, all runs.
    pub total_cost_usd: f64,
    /// Cost of the runs before the current one (a process reports its own total).
    pub cost_before_run: f64,
    /// The session's cost that the current run restored when it resumed the session
    /// (2.1.330 on: the last `cost-state` line; 0 for older CLIs, which count each run
    /// on its own). Its `total_cost_usd` includes this, which this agent did not spend,
    /// or already counted in `cost_before_run`.
    pub cost_restored_usd: f64,
    /// Tokens reported in `result` lines.
    pub tokens: Tokens,
    /// Refused tools, "Tool: input".
    pub permission_denials: Vec<String>,
    /// The stream-json log.
    pub log_path: PathBuf,
    /// Bytes of the log already applied to this record.
    pub log_offset: u64,
    /// `--model`, if asked for.
    pub model: String,
    /// The model Claude Code said it runs (`system/init`).
    #[serde(default)]
    pub model_used: String,
    /// `--permission-mode`, if asked for.
    pub permission_mode: String,
    /// `--allowedTools` patterns.
    pub allowed_tools: Vec<String>,
    /// Its own spending cap in USD (`--max-budget-usd`, or the config's
    /// `default_max_budget_usd`), raised by each `approve --raise`; 0 for none. The daemon
    /// enforces it (see [`super::budget`]).
    pub max_budget_usd: f64,
    /// The cap of its whole batch in USD (`--batch-max-budget-usd`), the same on every
    /// agent of the batch; 0 for none.
    pub batch_max_budget_usd: f64,
    /// While paused at a cap (or being paused): whose, `agent`, `batch` or `day`.
    pub budget_scope: String,
    /// The current run's CLI ended its turn at the `--max-budget-usd` the daemon gave it
    /// (`error_max_budget_usd`): a pause, not a failure.
    pub budget_hit: bool,
    /// What it spent per local day (`YYYY-MM-DD`), for the daily cap and `analytics`.
    pub spent_by_day: std::collections::BTreeMap<String, f64>,
    /// Why it stopped without a `stop`: `budget` when a budget approval was denied.
    pub stop_reason: String,
    /// Processes run so far.
    pub runs: u32,
    /// Why it failed, when known.
    pub error: String,
    /// The spawn call it came from.
    pub batch_id: String,
    /// At most this many of its batch at once.
    pub parallel: u32,
    /// Session to continue with `--resume` on the next run.
    pub resume_session: String,
    /// Messages to send at the start of the next run.
    pub pending_input: Vec<String>,
    /// A stop was asked for: the exit that follows means `stopped`.
    pub stop_requested: bool,
    /// Other agents of the repository that changed the same paths (the overlap radar).
    pub overlaps: Vec<Overlap>,
    /// The agent this one waits for (`spawn --after`): it starts from that agent's branch
    /// once it is done.
    pub after: String,
    /// The agent it followed was done and this one was set to start from its branch.
    pub after_released: bool,
    /// What `merge` did with its branch ("merged into B", or why it was left out).
    pub merge_status: String,
    /// Appended to Claude Code's system prompt (through a file, never the command line):
    /// the other tasks of its batch.
    pub system_prompt: String,
    /// Its shell commands run in Claude Code's sandbox (`spawn --sandbox`, config
    /// `sandbox`).
    pub sandbox: bool,
    /// A person's review of its change (`orchestractl review`).
    pub review: Review,
}

/// A person's review of an agent's change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Review {
    /// `none`, `commented`, `changes_requested` or `approved`.
    pub state: String,
    /// Line comments, oldest first.
    pub comments: Vec<ReviewComment>,
}

/// One line comment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewComment {
    /// The file.
    pub path: String,
    /// The line in the agent's version.
    pub line: u32,
    /// What the person says.
    pub text: String,
    /// When, ms since the epoch.
    pub at: i64,
    /// Sent to the agent.
    pub sent: bool,
}

/// Paths another agent changed too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overlap {
    /// The other agent.
    pub agent_id: String,
    /// The paths both changed against their base.
    pub paths: Vec<String>,
}

impl AgentRecord {
    /// How long it ran (or has been running), in ms.
    pub fn duration_ms(&self, now_ms: i64) -> u64 {
        if self.started_at_ms == 0 {
            return 0;
        }
        let end = if self.ended_at_ms > 0 {
            self.ended_at_ms
        } else {
            now_ms
        };
        (end - self.started_at_ms).max(0) as u64
    }
}

/// A change published on the agent bus.
#[derive(Debug, Clone)]
pub struct AgentChange {
    /// "created", "updated", or [`AgentChange::OVERLAP`].
    pub kind: &'static str,
    /// The agent after the change.
    pub agent: std::sync::Arc<AgentRecord>,
}

impl AgentChange {
    /// The kind of change published when an agent's `overlaps` gain a path another agent
    /// of its repository changed too (the overlap radar): the cue for a notification. The
    /// agent carries all its overlaps; an `updated` change with the same record precedes it.
    pub const OVERLAP: &'static str = "overlap";
}
