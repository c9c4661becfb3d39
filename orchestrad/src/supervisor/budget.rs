//! Spending caps: per agent (`spawn --max-budget-usd`, config `default_max_budget_usd`),
//! per batch (`spawn --batch-max-budget-usd`) and per local day (config
//! `daily_max_budget_usd`), enforced by the daemon itself.
//!
//! Costs are what each agent's CLI reports (its `result` lines). A run is given the CLI's
//! own `--max-budget-usd` at the nearest cap (never below it), so a turn of many model
//! requests ends after the request that passes it; at every turn boundary of any agent
//! the others are checked too, and one past a batch or day cap is interrupted. Either way
//! the process ends with its session kept, and the agent shows `waiting` with a
//! [`ApprovalKind::Budget`] approval, answered in [`super::budget_answer`]. Queued agents
//! whose batch or day is over its cap are not started; their activity says why.

use std::sync::Arc;

use super::agent::{AgentRecord, AgentState};
use super::{Supervisor, SupervisorError};
use crate::approvals::{Approval, ApprovalKind, BudgetAsk};
use crate::time::{local_day, now_ms};

/// Store table of raises of the daily cap, keyed by local day.
pub(crate) const DAY_RAISES_TABLE: &str = "budget_day_raises";

/// Whose cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The agent's own.
    Agent,
    /// All agents of its batch together.
    Batch,
    /// All agents of the local day together.
    Day,
}

impl Scope {
    /// The name on the wire (`budget_scope`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Agent => "agent",
            Scope::Batch => "batch",
            Scope::Day => "day",
        }
    }

    /// The scope called `text`.
    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "agent" => Some(Scope::Agent),
            "batch" => Some(Scope::Batch),
            "day" => Some(Scope::Day),
            _ => None,
        }
    }
}

/// A cap and what was spent against it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    /// Whose.
    pub scope: Scope,
    /// Spent in its scope, USD.
    pub spent: f64,
    /// The cap, USD.
    pub cap: f64,
}

impl Cap {
    /// Reached: nothing more may be spent.
    pub fn reached(&self) -> bool {
        self.spent >= self.cap
    }

    fn ask(&self) -> BudgetAsk {
        BudgetAsk {
            spent_usd: self.spent,
            budget_usd: self.cap,
            scope: self.scope.as_str().to_owned(),
        }
    }
}

/// Checks a cap given by a person: a number of dollars, 0 or more.
pub fn check_cap(name: &str, value: f64) -> Result<(), SupervisorError> {
    if !value.is_finite() || value < 0.0 {
        return Err(SupervisorError::Invalid(format!(
            "{name} must be a number of US dollars, 0 or more (0 for no cap), like 2.50; got {value}"
        )));
    }
    Ok(())
}

impl Supervisor {
    /// What all agents spent on local day `day`.
    pub fn spent_on(&self, day: &str) -> f64 {
        self.agents
            .lock()
            .values()
            .filter_map(|a| a.spent_by_day.get(day))
            .sum()
    }

    /// What the agents of batch `batch` spent together.
    pub fn spent_by_batch(&self, batch: &str) -> f64 {
        self.agents
            .lock()
            .values()
            .filter(|a| a.batch_id == batch)
            .map(|a| a.total_cost_usd)
            .sum()
    }

    /// Today's cap: the config's `daily_max_budget_usd` plus today's raises; 0 for none.
    pub fn day_cap(&self) -> f64 {
        let base = self.settings.config.daily_max_budget_usd;
        if base <= 0.0 {
            return 0.0;
        }
        base + self
            .day_raises
            .lock()
            .get(&local_day(now_ms()))
            .copied()
            .unwrap_or(0.0)
    }

    /// The caps that apply to `agent`, with what was spent against each.
    pub fn caps_of(&self, agent: &AgentRecord) -> Vec<Cap> {
        let mut caps = Vec::new();
        if agent.max_budget_usd > 0.0 {
            caps.push(Cap {
                scope: Scope::Agent,
                spent: agent.total_cost_usd,
                cap: agent.max_budget_usd,
            });
        }
        if agent.batch_max_budget_usd > 0.0 {
            caps.push(Cap {
                scope: Scope::Batch,
                spent: self.spent_by_batch(&agent.batch_id),
                cap: agent.batch_max_budget_usd,
            });
        }
        let day = self.day_cap();
        if day > 0.0 {
            caps.push(Cap {
                scope: Scope::Day,
                spent: self.spent_on(&local_day(now_ms())),
                cap: day,
            });
        }
        caps
    }

    /// The first cap `agent` has reached, if any.
    pub fn reached(&self, agent: &AgentRecord) -> Option<Cap> {
        self.caps_of(agent).into_iter().find(Cap::reached)
    }

    /// The `--max-budget-usd` to give a run of `agent`: what is left before its nearest
    /// cap, plus the cost its CLI restores from the session (which the CLI counts against
    /// its own budget). Never below the cap; none when no cap applies.
    pub fn cli_budget(&self, agent: &AgentRecord) -> Option<f64> {
        let left = self
            .caps_of(agent)
            .iter()
            .map(|c| c.cap - c.spent)
            .reduce(f64::min)?;
        Some(left.max(0.0) + agent.cost_restored_usd)
    }

    /// Why queued `agent` may not start yet (its batch or the day is at its cap), for
    /// its activity line; none when it may.
    pub(super) fn held_back(&self, agent: &AgentRecord) -> Option<String> {
        let cap = self
            .caps_of(agent)
            .into_iter()
            .filter(|c| c.scope != Scope::Agent)
            .find(Cap::reached)?;
        let what = match cap.scope {
            Scope::Day => format!(
                "raise daily_max_budget_usd in {} and run `orchestractl daemon restart`, \
                 approve a pending budget approval with --raise, or wait for tomorrow",
                self.settings.config_path.display()
            ),
            _ => {
                let batch_asks = self.approvals.list(false).into_iter().any(|a| {
                    a.kind == ApprovalKind::Budget
                        && a.budget.scope == Scope::Batch.as_str()
                        && self.peek(&a.agent_id, |m| m.batch_id == agent.batch_id) == Some(true)
                });
                if batch_asks {
                    "approve a pending budget approval of its batch with --raise, or stop it"
                        .to_owned()
                } else {
                    // The agent that passed the cap ended its run first: nothing asks.
                    format!(
                        "no agent of the batch asks to raise it now, so it cannot start: stop it \
                         with `orchestractl stop {}` and spawn the task again with a cap that fits",
                        agent.id
                    )
                }
            }
        };
        Some(format!(
            "waiting for budget: the {} cap ${:.4} is spent (${:.4}); {what}",
            cap.scope.as_str(),
            cap.cap,
            cap.spent
        ))
    }

    /// Pauses agent `id` at `cap`: no process runs for it, it shows `waiting` and a
    /// budget approval asks whether to raise the cap. A repeated call for the same run
    /// (after a daemon restart) finds the approval already asked.
    pub(super) async fn pause_at(self: &Arc<Self>, id: &str, cap: Cap) {
        let Ok(agent) = self
            .update(id, |a| {
                a.state = AgentState::Waiting;
                a.pid = 0;
                a.budget_hit = false;
                a.budget_scope = cap.scope.as_str().to_owned();
                a.activity = format!(
                    "paused at the {} budget: ${:.4} spent of ${:.4}",
                    cap.scope.as_str(),
                    cap.spent,
                    cap.cap
                );
            })
            .await
        else {
            return;
        };
        let asked = self
            .approvals
            .add(Approval {
                kind: ApprovalKind::Budget,
                budget: cap.ask(),
                agent_id: agent.id.clone(),
                session_id: agent.session_id.clone(),
                project_path: agent.cwd.display().to_string(),
                tool_name: "budget".to_owned(),
                // One per pause (a raise too small pauses again in the same run).
                request_id: format!("budget-run-{}-at-{}", agent.runs, now_ms()),
                created_at_ms: now_ms(),
                ..Approval::default()
            })
            .await;
        if let Err(err) = asked {
            tracing::error!(agent = id, %err, "cannot record a budget approval");
        }
    }

    /// At start-up, for agent `id` paused at a cap: asks again if the daemon stopped
    /// between pausing it and recording its approval, so it never waits unasked.
    pub(super) async fn reask_if_unasked(self: &Arc<Self>, id: &str) {
        if !self.approvals.pending_of(id).is_empty() {
            return;
        }
        let Some(agent) = self.peek(id, Clone::clone) else {
            return;
        };
        let cap = self.reached(&agent).unwrap_or(Cap {
            scope: Scope::parse(&agent.budget_scope).unwrap_or(Scope::Agent),
            spent: agent.total_cost_usd,
            cap: agent.max_budget_usd,
        });
        tracing::info!(
            agent = id,
            "paused at a cap without an approval; asking again"
        );
        self.pause_at(id, cap).await;
    }

    /// After a run of `id` ended: whether it ended at a cap (its CLI stopped at the
    /// budget it was given, or the daemon interrupted it at a cap) and is paused rather
    /// than finished. A turn that finished on its own is never a pause.
    pub(super) async fn pause_if_at_cap(self: &Arc<Self>, id: &str) -> bool {
        let Some(agent) = self.peek(id, Clone::clone) else {
            return false;
        };
        let interrupted = !agent.budget_scope.is_empty() && agent.is_error;
        if agent.stop_requested || !(agent.budget_hit || interrupted) {
            if !agent.budget_scope.is_empty() {
                super::logged(self.update(id, |a| a.budget_scope.clear()).await);
            }
            return false;
        }
        let cap = self.reached(&agent).unwrap_or_else(|| {
            // The CLI stopped at the budget it was given, a hair before ours by its own
            // rounding: the nearest cap is the one it met.
            let nearest = self
                .caps_of(&agent)
                .into_iter()
                .min_by(|a, b| (a.cap - a.spent).total_cmp(&(b.cap - b.spent)));
            nearest.unwrap_or(Cap {
                scope: Scope::parse(&agent.budget_scope).unwrap_or(Scope::Agent),
                spent: agent.total_cost_usd,
                cap: agent.max_budget_usd,
            })
        });
        self.pause_at(id, cap).await;
        true
    }

    /// At a turn boundary: interrupts every running agent that is now past a cap (the
    /// batch's or the day's, by others' spending too). The interrupted turn ends, its
    /// process exits, and [`Self::pause_if_at_cap`] pauses it.
    pub(super) async fn enforce_caps(self: &Arc<Self>) {
        let capped = self.day_cap() > 0.0
            || self.agents.lock().values().any(|a| {
                a.state.is_active() && (a.max_budget_usd > 0.0 || a.batch_max_budget_usd > 0.0)
            });
        if !capped {
            return;
        }
        let running: Vec<AgentRecord> = self
            .list()
            .into_iter()
            .filter(|a| {
                a.state.is_active() && a.pid > 0 && a.budget_scope.is_empty() && !a.stop_requested
            })
            .collect();
        for agent in running {
            let Some(cap) = self.reached(&agent) else {
                continue;
            };
            tracing::info!(agent = %agent.id, scope = cap.scope.as_str(), spent = cap.spent, cap = cap.cap, "interrupting at a cap");
            super::logged(
                self.update(&agent.id, |a| {
                    a.budget_scope = cap.scope.as_str().to_owned();
                    a.activity = format!("pausing at the {} budget", cap.scope.as_str());
                })
                .await,
            );
            let line = crate::claude::stream_json::interrupt_request(&format!(
                "orchestra-budget-{}",
                agent.runs
            ));
            let dir = self.agent_dir(&agent.id);
            if let Ok(Err(reason)) = tokio::task::spawn_blocking(move || dir.respond(&line)).await {
                // Its turn is over already: the exit that follows is handled as usual.
                tracing::debug!(agent = %agent.id, %reason, "interrupt not taken");
            }
        }
    }

    /// Stops agent `id` paused at a cap (it has no process): `stopped` at once, its
    /// budget approval cancelled.
    pub(super) async fn stop_paused(
        self: &Arc<Self>,
        id: &str,
    ) -> Result<AgentRecord, SupervisorError> {
        self.cancel_approvals(id, "the agent was stopped").await;
        let at_batch_cap = self.peek(id, |a| a.budget_scope == Scope::Batch.as_str()) == Some(true);
        let agent = self
            .update(id, |a| {
                a.state = AgentState::Stopped;
                a.budget_scope.clear();
                a.ended_at_ms = now_ms();
                a.activity = "stopped while paused at its budget".to_owned();
            })
            .await?;
        if at_batch_cap {
            self.end_held_batch(id, &format!("agent {id} was stopped at it"))
                .await;
        }
        self.schedule().await;
        Ok(agent)
    }

    /// Looks at the queue again every minute while some agent waits for budget: a new
    /// local day lifts the daily cap with no event to say so.
    pub(super) fn recheck_held_agents(self: &Arc<Self>) {
        let this = self.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                let held = this.list().iter().any(|a| {
                    a.state == AgentState::Queued && a.activity.starts_with("waiting for budget")
                });
                if held {
                    this.schedule().await;
                }
            }
        });
    }

    /// Whether agent `a` is paused at a cap: `waiting` with no process.
    pub fn paused_at_cap(a: &AgentRecord) -> bool {
        a.state == AgentState::Waiting && !a.budget_scope.is_empty() && a.pid == 0
    }
}
