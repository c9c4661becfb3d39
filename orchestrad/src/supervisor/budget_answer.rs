//! Answers to budget approvals (see [`super::budget`]): allowing one raises its cap and
//! resumes the agent where it stopped, with the others paused at the same batch or day cap;
//! denying one stops the agent with `stop_reason: "budget"`.

use std::sync::Arc;

use super::Supervisor;
use super::agent::{AgentRecord, AgentState};
use super::budget::Scope;
use crate::approvals::{Approval, ApprovalError, ApprovalKind, Decision};
use crate::time::{local_day, now_ms};

/// What a resumed agent is told when it goes on after a raise.
const GO_ON: &str = "Continue from where you left off.";

impl Supervisor {
    /// Answers budget approval `id`: allowing raises its cap by `raise` (0: by the cap's
    /// own amount again) and resumes the agent where it stopped, and the other agents
    /// paused at the same batch or day cap with it; denying stops the agent with
    /// `stop_reason: "budget"`.
    pub(super) async fn decide_budget(
        self: &Arc<Self>,
        asked: &Approval,
        decision: Decision,
        raise: f64,
        decided_by: &str,
    ) -> Result<Approval, ApprovalError> {
        if matches!(decision, Decision::Always) {
            return Err(ApprovalError::Invalid(format!(
                "--always is for tool calls, and {} asks about a budget: raise the cap with \
                 `orchestractl approve {} --raise X`, or stop the agent with `orchestractl deny {}`",
                asked.id, asked.id, asked.id
            )));
        }
        if !raise.is_finite() || raise < 0.0 {
            return Err(ApprovalError::Invalid(format!(
                "--raise must be a number of US dollars above 0, like 1.50; got {raise}"
            )));
        }
        let allow = !matches!(decision, Decision::Deny(_));
        let approval = self
            .approvals
            .decide(&asked.id, decision, decided_by)
            .await?;
        let agent_id = approval.agent_id.clone();
        if !allow {
            super::logged(
                self.update(&agent_id, |a| {
                    if a.state != AgentState::Waiting {
                        return;
                    }
                    a.state = AgentState::Stopped;
                    a.stop_reason = "budget".to_owned();
                    a.budget_scope.clear();
                    a.ended_at_ms = now_ms();
                    a.activity = format!(
                        "stopped at the {} budget (${:.4} of ${:.4})",
                        approval.budget.scope,
                        approval.budget.spent_usd,
                        approval.budget.budget_usd
                    );
                })
                .await,
            );
            if approval.budget.scope == Scope::Batch.as_str() {
                self.end_held_batch(&agent_id, &format!("approval {} denied", approval.id))
                    .await;
            }
            self.schedule().await;
            return Ok(approval);
        }
        let scope = Scope::parse(&approval.budget.scope).unwrap_or(Scope::Agent);
        let by = if raise > 0.0 {
            raise
        } else {
            approval.budget.budget_usd
        };
        let batch = self
            .peek(&agent_id, |a| a.batch_id.clone())
            .unwrap_or_default();
        match scope {
            Scope::Agent => {
                super::logged(self.update(&agent_id, |a| a.max_budget_usd += by).await);
            }
            Scope::Batch => {
                let members: Vec<String> = self
                    .list()
                    .into_iter()
                    .filter(|a| a.batch_id == batch)
                    .map(|a| a.id)
                    .collect();
                for member in members {
                    super::logged(self.update(&member, |a| a.batch_max_budget_usd += by).await);
                }
            }
            Scope::Day => {
                let day = local_day(now_ms());
                let total = {
                    let mut raises = self.day_raises.lock();
                    let entry = raises.entry(day.clone()).or_default();
                    *entry += by;
                    *entry
                };
                if let Err(err) = self.day_raises_table.put_or_queue(&day, &total) {
                    tracing::error!(%err, "cannot record a raise of the daily cap");
                }
            }
        }
        tracing::info!(agent = %agent_id, scope = scope.as_str(), by, "budget raised");
        // Others paused at the same cap go on with this raise, without a raise of their own.
        let siblings: Vec<Approval> = self
            .approvals
            .list(false)
            .into_iter()
            .filter(|a| a.kind == ApprovalKind::Budget && a.budget.scope == scope.as_str())
            .filter(|a| match scope {
                Scope::Agent => false,
                Scope::Batch => self.peek(&a.agent_id, |r| r.batch_id == batch) == Some(true),
                Scope::Day => true,
            })
            .collect();
        for sibling in siblings {
            if let Ok(answered) = self
                .approvals
                .decide(&sibling.id, Decision::Allow, decided_by)
                .await
            {
                self.go_on(&answered.agent_id).await;
            }
        }
        self.go_on(&agent_id).await;
        self.schedule().await;
        Ok(approval)
    }

    /// After the batch cap was not raised (`why`: its approval denied, or the paused agent
    /// `asker` stopped): the batch's queued agents held back by that cap would wait for good
    /// (only a budget approval raises it), so they end as `stopped` with `stop_reason:
    /// "budget"`, unless another member still asks or still runs (it will ask at its turn,
    /// and a raise there lets them start).
    pub(super) async fn end_held_batch(self: &Arc<Self>, asker: &str, why: &str) {
        let Some(batch) = self.peek(asker, |a| a.batch_id.clone()) else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let members: Vec<_> = self
            .list()
            .into_iter()
            .filter(|a| a.batch_id == batch)
            .collect();
        let still_asks = self.approvals.list(false).into_iter().any(|a| {
            a.kind == ApprovalKind::Budget
                && a.budget.scope == Scope::Batch.as_str()
                && members.iter().any(|m| m.id == a.agent_id)
        });
        let still_runs = members
            .iter()
            .any(|m| m.id != asker && m.state.is_active() && !Supervisor::paused_at_cap(m));
        if still_asks || still_runs {
            return;
        }
        let held_by_batch = |a: &AgentRecord| {
            self.caps_of(a)
                .iter()
                .any(|c| c.scope == Scope::Batch && c.reached())
        };
        for held in members
            .iter()
            .filter(|a| a.state == AgentState::Queued && held_by_batch(a))
        {
            super::logged(
                self.update(&held.id, |a| {
                    if a.state != AgentState::Queued {
                        return;
                    }
                    a.state = AgentState::Stopped;
                    a.stop_reason = "budget".to_owned();
                    a.ended_at_ms = now_ms();
                    a.activity = format!("not started: its batch's cap was not raised ({why})");
                })
                .await,
            );
        }
    }

    /// Resumes agent `id`, paused at a cap, where it stopped; if it is still past a cap
    /// (another one, or a raise too small) it is paused again at once.
    async fn go_on(self: &Arc<Self>, id: &str) {
        let Some(agent) = self.peek(id, Clone::clone) else {
            return;
        };
        if agent.state != AgentState::Waiting || agent.budget_scope.is_empty() {
            return;
        }
        if let Some(cap) = self.reached(&agent) {
            self.pause_at(id, cap).await;
            return;
        }
        if agent.session_id.is_empty() || !agent.cwd.is_dir() {
            super::logged(
                self.update(id, |a| {
                    a.state = AgentState::Failed;
                    a.budget_scope.clear();
                    a.ended_at_ms = now_ms();
                    a.error = "cannot resume after the raise: its session or directory is gone"
                        .to_owned();
                    a.activity = "failed".to_owned();
                })
                .await,
            );
            return;
        }
        super::logged(
            self.update(id, |a| {
                a.budget_scope.clear();
                a.resume_session = a.session_id.clone();
                if a.pending_input.is_empty() {
                    a.pending_input = vec![GO_ON.to_owned()];
                }
                // Starting, not queued: the scheduler must not start it a second time.
                a.state = AgentState::Starting;
                a.activity = "going on after a raise of its budget".to_owned();
            })
            .await,
        );
        super::launch::start(self, id).await;
    }
}
