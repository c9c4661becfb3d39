//! Acting on agents: stop, send a follow-up, resume a session as an agent.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::agent::{AgentRecord, AgentState};
use super::launch::start;
use super::{Supervisor, SupervisorError, new_id};
use crate::claude::stream_json::user_message;
use crate::sessions::SessionMeta;
use crate::time::now_ms;

/// How long a stopped agent has between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Supervisor {
    /// Stops agent `id`: a queued one at once; a running one by SIGTERM to its process
    /// group, then SIGKILL after a grace period. Returns the record after the request.
    pub async fn stop(self: &Arc<Self>, id: &str) -> Result<AgentRecord, SupervisorError> {
        let agent = self.resolve(id)?;
        if Supervisor::paused_at_cap(&agent) {
            return self.stop_paused(&agent.id).await;
        }
        match agent.state {
            AgentState::Queued => {
                self.update(&agent.id, |a| {
                    a.state = AgentState::Stopped;
                    a.activity = "stopped before it started".to_owned();
                    a.ended_at_ms = now_ms();
                })
                .await
            }
            state if state.is_active() => {
                self.cancel_approvals(&agent.id, "the agent was stopped")
                    .await;
                let agent = self
                    .update(&agent.id, |a| {
                        a.stop_requested = true;
                        a.activity = "stopping".to_owned();
                    })
                    .await?;
                let pid = self
                    .agent_dir(&agent.id)
                    .read_info()
                    .map(|info| info.child_pid)
                    .unwrap_or(agent.pid);
                if pid > 0 {
                    let group = Pid::from_raw(pid as i32);
                    let _ = killpg(group, Signal::SIGTERM);
                    let this = self.clone();
                    let agent_id = agent.id.clone();
                    tokio::spawn(async move {
                        let deadline = tokio::time::Instant::now() + STOP_GRACE;
                        while tokio::time::Instant::now() < deadline {
                            if this.resolve(&agent_id).is_ok_and(|a| !a.state.is_active()) {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        tracing::warn!(agent = %agent_id, "did not stop within the grace period; killing");
                        let _ = killpg(group, Signal::SIGKILL);
                    });
                }
                self.wake(&agent.id);
                Ok(agent)
            }
            _ => Ok(agent),
        }
    }

    /// Stops every queued or running agent.
    pub async fn stop_all(self: &Arc<Self>) -> Result<Vec<AgentRecord>, SupervisorError> {
        let targets: Vec<String> = self
            .list()
            .into_iter()
            .filter(|a| a.state == AgentState::Queued || a.state.is_active())
            .map(|a| a.id)
            .collect();
        // Queued ones first, so none of them grabs a slot freed by another's stop.
        let mut stopped = Vec::new();
        for id in targets.iter().filter(|id| {
            self.resolve(id)
                .is_ok_and(|a| a.state == AgentState::Queued)
        }) {
            stopped.push(self.stop(id).await?);
        }
        for id in &targets {
            if self.resolve(id).is_ok_and(|a| a.state.is_active()) {
                stopped.push(self.stop(id).await?);
            }
        }
        Ok(stopped)
    }

    /// Sends a follow-up message: to the live process when it takes input, else as a new
    /// run with `--resume`; a queued agent gets it with its first run. The message goes in
    /// the agent's thread (`orchestractl messages`) from `from` (`human` for a person's
    /// `send` or review, `orchestra` for the merge check's request), delivered once a process
    /// took it. Returns the record and whether a new run was started.
    pub async fn send(
        self: &Arc<Self>,
        id: &str,
        message: String,
        from: &str,
    ) -> Result<(AgentRecord, bool), SupervisorError> {
        if message.trim().is_empty() {
            return Err(SupervisorError::Invalid("the message is empty".to_owned()));
        }
        let agent = self.resolve(id)?;
        if Supervisor::paused_at_cap(&agent) {
            return Err(SupervisorError::Precondition(format!(
                "agent {} is paused at its {} budget: let it go on with `orchestractl approve \
                 <approval> --raise <USD>` (see `orchestractl approvals`), or stop it with \
                 `orchestractl deny <approval>`",
                agent.id, agent.budget_scope
            )));
        }
        if agent.state == AgentState::Queued {
            // Waiting in the mailbox, it goes with the first run's input and counts as
            // delivered only then (an agent stopped before it starts never got it). Not
            // sent live here: a start under way may have it in its input already, and the
            // start hands over what came meanwhile once its process takes input.
            self.record_sent(&agent, from, &message, false)
                .await
                .map_err(|err| SupervisorError::Precondition(err.to_string()))?;
            return Ok((self.resolve(&agent.id)?, false));
        }
        if agent.state.is_active() {
            let dir = self.agent_dir(&agent.id);
            let line = user_message(&message);
            let sent = super::blocking("sending to the agent", move || dir.send(&line)).await?;
            match sent {
                Ok(()) => {
                    self.record_delivered(&agent, from, &message).await;
                    let agent = self
                        .update(&agent.id, |a| {
                            a.activity = "received a follow-up message".to_owned();
                        })
                        .await?;
                    self.wake(&agent.id);
                    return Ok((agent, false));
                }
                Err(reason) => {
                    // It is finishing its last turn: wait for the exit, then resume.
                    tracing::info!(agent = %agent.id, %reason, "live send refused; resuming after exit");
                    self.wait_until_finished(&agent.id, Duration::from_secs(30))
                        .await;
                }
            }
        }
        let agent = self.resolve(&agent.id)?;
        if !agent.state.is_finished() {
            return Err(SupervisorError::Precondition(format!(
                "agent {} is {} and does not take input now; try again in a moment",
                agent.id,
                agent.state.as_str()
            )));
        }
        if agent.session_id.is_empty() {
            return Err(SupervisorError::Precondition(format!(
                "agent {} never started a Claude session, so there is nothing to resume; \
                 spawn the task again",
                agent.id
            )));
        }
        if !agent.cwd.is_dir() {
            return Err(SupervisorError::Precondition(format!(
                "the agent's directory {} is gone (cleaned up?), so its session cannot be resumed there",
                agent.cwd.display()
            )));
        }
        self.record_delivered(&agent, from, &message).await;
        self.update(&agent.id, |a| {
            a.resume_session = a.session_id.clone();
            a.pending_input = vec![message];
            // Starting, not queued: the scheduler must not start it a second time.
            a.state = AgentState::Starting;
        })
        .await?;
        start(self, &agent.id).await;
        Ok((self.resolve(&agent.id)?, true))
    }

    async fn wait_until_finished(&self, id: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.resolve(id).is_ok_and(|a| !a.state.is_active()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Continues a Claude Code session as an agent running `claude --resume` in the
    /// session's own directory. Refused while a live process writes the session, unless
    /// `force`.
    pub async fn resume(
        self: &Arc<Self>,
        session: &SessionMeta,
        prompt: String,
        force: bool,
        env: std::collections::BTreeMap<String, String>,
    ) -> Result<AgentRecord, SupervisorError> {
        if session.live && !force {
            return Err(SupervisorError::Precondition(format!(
                "session {} is being written by a live Claude process (pid {}): resuming now \
                 would interleave two conversations; wait for it to end, or pass --force",
                session.session_id, session.live_pid
            )));
        }
        let cwd = std::path::PathBuf::from(&session.project_path);
        if session.project_path.is_empty() || !cwd.is_dir() {
            return Err(SupervisorError::Precondition(format!(
                "the session's directory {:?} no longer exists, and Claude Code only resumes a \
                 session from its own project directory",
                session.project_path
            )));
        }
        self.claude_program(&env)?;
        // `sandbox: true` holds for a resumed session as for a spawn: refused where it
        // cannot run, never silently dropped.
        let sandbox = self.settings.config.sandbox;
        if sandbox
            && let Some(problem) =
                crate::sandbox::check(env.get("PATH").map(|p| p.as_ref())).problem()
        {
            return Err(SupervisorError::Precondition(format!(
                "cannot sandbox agents here (asked by sandbox in the config): {problem}"
            )));
        }
        let prompt = if prompt.trim().is_empty() {
            "Continue from where you left off.".to_owned()
        } else {
            prompt
        };
        let repo = crate::worktree::repo_root(&cwd).unwrap_or_else(|_| cwd.clone());
        let id = new_id();
        let record = AgentRecord {
            id: id.clone(),
            task: prompt.clone(),
            slug: crate::worktree::slugify(&prompt),
            // Starting, not queued: it runs now, outside any batch's limit.
            state: AgentState::Starting,
            activity: format!("resuming session {}", session.session_id),
            session_id: session.session_id.clone(),
            repo,
            cwd,
            base_ref: String::new(),
            created_at_ms: now_ms(),
            log_path: self.agent_dir(&id).output(),
            allowed_tools: self.settings.config.bypass_permissions.clone(),
            permission_mode: self.settings.config.agent_permission_mode.clone(),
            batch_id: new_id(),
            parallel: 1,
            // No cap of its own (`resume` takes none): the config's default, and the day's.
            max_budget_usd: self.settings.config.default_max_budget_usd,
            resume_session: session.session_id.clone(),
            pending_input: vec![prompt],
            sandbox,
            ..AgentRecord::default()
        };
        self.insert(record, env).await?;
        self.sessions.set_owner(&session.session_id, Some(&id));
        start(self, &id).await;
        self.resolve(&id)
    }
}
