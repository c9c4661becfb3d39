//! Agents that ask: each `can_use_tool` control request of an agent becomes an
//! [`Approval`]; an answer goes back to the process through its shim as a
//! `control_response`; the agent is `waiting` while any of its approvals is pending.
//!
//! The shim holds the Claude process and its open request, so none of this depends on
//! the daemon staying up: a restarted daemon finds the approval in the store and the
//! process still waiting on its stdin. An answer the shim could not take (its socket did
//! not answer) stays owed in the store and is sent again until it is taken or the agent
//! ends.

use std::sync::Arc;
use std::time::Duration;

use super::Supervisor;
use super::agent::AgentState;
use crate::approvals::{Approval, ApprovalError, ApprovalKind, ApprovalState, Decision};
use crate::claude::stream_json::{self as stream, Control};
use crate::time::now_ms;

/// How often answers an agent could not take are sent again.
const REDELIVER_EVERY: Duration = Duration::from_secs(1);

impl Supervisor {
    /// The approvals, shared with the `Approvals` service.
    pub fn approvals(&self) -> &Arc<crate::approvals::Approvals> {
        &self.approvals
    }

    /// Answers approval `id`, of any kind: the one way an answer comes in, from the CLI, the
    /// page or a script. A tool call's or a question's answer is sent to the agent's process
    /// at once and the agent goes back to `running` (unless it still asks something else); a
    /// budget's raises its cap by `raise_usd` (0: by the cap again) and resumes, or stops the
    /// agent (see [`Self::decide_budget`]). `raise_usd` is refused for any other kind.
    pub async fn decide_approval(
        self: &Arc<Self>,
        id: &str,
        decision: Decision,
        raise_usd: f64,
        decided_by: &str,
    ) -> Result<Approval, ApprovalError> {
        let asked = self.approvals.resolve(id)?;
        if asked.kind == ApprovalKind::Budget {
            if matches!(decision, Decision::Answer(_)) {
                return Err(ApprovalError::Invalid(format!(
                    "{id} asks about a budget, not a question: raise the cap with \
                     `orchestractl approve {id} --raise X`, or stop the agent with \
                     `orchestractl deny {id}`",
                    id = asked.id
                )));
            }
            return self
                .decide_budget(&asked, decision, raise_usd, decided_by)
                .await;
        }
        if raise_usd != 0.0 {
            let id = &asked.id;
            let (what, instead) = match asked.kind {
                ApprovalKind::Question => (
                    "a question to you",
                    format!("`orchestractl answer {id} TEXT` or `orchestractl deny {id}`"),
                ),
                _ => (
                    "a tool call",
                    format!("`orchestractl approve {id}` or `orchestractl deny {id}`"),
                ),
            };
            return Err(ApprovalError::Invalid(format!(
                "--raise is only for budget approvals, and {id} asks about {what}: answer it \
                 with {instead}"
            )));
        }
        let approval = self
            .approvals
            .decide(&asked.id, decision, decided_by)
            .await?;
        self.deliver(&approval).await;
        Ok(approval)
    }

    /// Sends the answer of a resolved agent approval to its process and updates the agent.
    /// An answer the process could not take is kept and sent again (see [`Self::redeliver`]).
    async fn deliver(self: &Arc<Self>, approval: &Approval) {
        if approval.agent_id.is_empty() {
            return;
        }
        let taken = !approval.undelivered || self.send_answer(approval).await;
        let verb = match approval.state {
            ApprovalState::Allowed => "approved",
            ApprovalState::Denied => "denied",
            ApprovalState::Expired => "no answer in time, denied",
            ApprovalState::Answered => "answered",
            _ => "no longer asks",
        };
        let mut activity = format!("{verb}: {}", approval.summary());
        if !taken {
            activity.push_str(" (not taken yet: its shim does not answer; sending again)");
        }
        self.settle_waiting(&approval.agent_id, Some(activity))
            .await;
        self.wake(&approval.agent_id);
    }

    /// Sends the answer of `approval` to its agent's shim; true once the shim took it
    /// (and the approval no longer owes it).
    async fn send_answer(&self, approval: &Approval) -> bool {
        let line = stream::control_response(&approval.request_id, &approval.response());
        let dir = self.agent_dir(&approval.agent_id);
        match tokio::task::spawn_blocking(move || dir.respond(&line)).await {
            Ok(Ok(())) => {
                if let Err(err) = self.approvals.delivered(&approval.id) {
                    tracing::error!(approval = %approval.id, %err, "cannot record an answer as delivered");
                }
                true
            }
            Ok(Err(reason)) => {
                tracing::warn!(agent = %approval.agent_id, approval = %approval.id, %reason, "cannot deliver an answer yet; will send it again");
                false
            }
            Err(err) => {
                tracing::warn!(%err, "approval delivery task failed");
                false
            }
        }
    }

    /// Sends the answers agents have not taken yet, every [`REDELIVER_EVERY`] until each
    /// is taken or its agent ends. Runs from start-up, so answers owed when the daemon
    /// stopped are sent too.
    fn redeliver(self: &Arc<Self>) {
        let this = self.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(REDELIVER_EVERY) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                for approval in this.approvals.undelivered() {
                    let active = this
                        .peek(&approval.agent_id, |a| a.state.is_active())
                        .unwrap_or(false);
                    if !active {
                        // Nobody waits for it any more.
                        let _ = this.approvals.delivered(&approval.id);
                    } else if this.send_answer(&approval).await {
                        tracing::info!(approval = %approval.id, agent = %approval.agent_id, "answer delivered on a later try");
                        this.wake(&approval.agent_id);
                    }
                }
            }
        });
    }

    /// Makes agent `id`'s state agree with its pending approvals: `waiting` with what it
    /// asks while any is pending, else back to `running` (with `activity`, if given).
    pub(super) async fn settle_waiting(&self, id: &str, activity: Option<String>) {
        let pending = self.approvals.pending_of(id);
        // The common case, called after every read of output: nothing to change.
        if pending.is_empty() && self.peek(id, |a| a.state != AgentState::Waiting) != Some(false) {
            return;
        }
        let _ = self
            .update(id, |a| {
                if !a.state.is_active() {
                    return;
                }
                match pending.first() {
                    Some(first) => {
                        a.state = AgentState::Waiting;
                        a.activity = if first.kind == crate::approvals::ApprovalKind::Question {
                            format!("asks you: {}", first.question)
                        } else {
                            format!("needs approval: {}", first.summary())
                        };
                    }
                    None if a.state == AgentState::Waiting => {
                        a.state = AgentState::Running;
                        if let Some(activity) = activity {
                            a.activity = activity;
                        }
                    }
                    None => {}
                }
            })
            .await;
    }

    /// Records the approvals asked (and withdrawn) in new output `lines` of agent `id`.
    /// Called before the lines are applied to the record, so a request is on disk before
    /// the log offset moves past it.
    pub(super) async fn take_requests(self: &Arc<Self>, id: &str, lines: &[Vec<u8>]) {
        for line in lines {
            match stream::control(line) {
                Some(Control::CanUseTool {
                    request_id,
                    tool_name,
                    input,
                    description,
                    suggestions,
                    tool_use_id,
                }) => {
                    let Some((session_id, cwd)) =
                        self.peek(id, |a| (a.session_id.clone(), a.cwd.clone()))
                    else {
                        return;
                    };
                    let asked = self
                        .approvals
                        .add(Approval {
                            agent_id: id.to_owned(),
                            session_id,
                            project_path: cwd.display().to_string(),
                            tool_name,
                            input,
                            description,
                            suggestions,
                            request_id,
                            tool_use_id,
                            created_at_ms: now_ms(),
                            ..Approval::default()
                        })
                        .await;
                    match asked {
                        Ok(approval) => self.arm_timeout(&approval),
                        Err(err) => tracing::error!(agent = id, %err, "cannot record an approval"),
                    }
                }
                Some(Control::Cancel { request_id }) => {
                    if let Some(approval) = self.approvals.by_request(id, &request_id) {
                        let _ = self
                            .approvals
                            .close(
                                &approval.id,
                                ApprovalState::Cancelled,
                                "Claude Code withdrew the request",
                            )
                            .await;
                    }
                }
                None => {}
            }
        }
    }

    /// With `approval_timeout_s` set, denies `approval` when nobody answers in time (the
    /// model, or for a hook Claude Code, is told why). The same timer serves agents and
    /// hooks; agents' timers are re-armed at start-up from `created_at_ms` (a hook's
    /// approval does not outlive the daemon: its caller's connection went with it).
    pub fn arm_timeout(self: &Arc<Self>, approval: &Approval) {
        let limit = self.settings.config.approval_timeout_s;
        // A budget's pause costs nothing while it waits: it waits for a person. Tool
        // calls and agents' questions expire.
        if limit == 0
            || approval.state != ApprovalState::Pending
            || approval.kind == crate::approvals::ApprovalKind::Budget
        {
            return;
        }
        let due = approval.created_at_ms + (limit as i64) * 1000;
        let this = self.clone();
        let id = approval.id.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let wait = Duration::from_millis((due - now_ms()).max(0) as u64);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            let reason = format!(
                "Nobody answered this permission request within {limit} s \
                 (approval_timeout_s in the claude-orchestra config), so it was denied."
            );
            if let Ok(expired) = this
                .approvals
                .close(&id, ApprovalState::Expired, &reason)
                .await
            {
                this.deliver(&expired).await;
            }
        });
    }

    /// Cancels the pending approvals of agent `id` (its process ended, or it is stopped).
    pub(super) async fn cancel_approvals(&self, id: &str, reason: &str) {
        self.approvals.cancel_agent(id, reason).await;
    }

    /// At start-up: re-arms the timers of pending agent approvals, cancels those whose
    /// agent no longer runs, and starts sending the answers agents have not taken.
    pub(super) async fn reconcile_approvals(self: &Arc<Self>) {
        self.redeliver();
        for approval in self.approvals.list(false) {
            if approval.agent_id.is_empty() {
                continue;
            }
            let active = self
                .peek(&approval.agent_id, |a| a.state.is_active())
                .unwrap_or(false);
            if active {
                self.arm_timeout(&approval);
            } else {
                let _ = self
                    .approvals
                    .close(
                        &approval.id,
                        ApprovalState::Cancelled,
                        "the agent is no longer running",
                    )
                    .await;
            }
        }
    }
}
