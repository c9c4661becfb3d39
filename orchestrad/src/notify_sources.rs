//! Where notifications come from: the agent bus (finishes, failures, finished spawns), the
//! session bus with the CLI's registry status (a hand-started session waiting), and the
//! CLI's `Notification` hook, forwarded by `orchestractl hook notification`.
//!
//! Each follower remembers what it has told, so an occurrence is told once: an agent's
//! finish once per run, a spawn once, a session's wait once until it is busy again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use tokio::sync::watch;

use crate::approvals::Approvals;
use crate::events::Sequenced;
use crate::notify::{Notifier, NotifyInput};
use crate::sessions::SessionIndex;
use crate::sessions::index::SessionChange;
use crate::supervisor::Supervisor;
use crate::supervisor::agent::{AgentChange, AgentRecord, AgentState};
use crate::time::now_ms;

/// What the followers read: the owners of the buses they follow, the notifier they tell,
/// and the daemon's shutdown flag.
#[derive(Debug)]
pub struct Sources {
    /// Tells the user.
    pub notifier: Arc<Notifier>,
    /// The agents and their bus.
    pub supervisor: Arc<Supervisor>,
    /// The session index and its bus.
    pub sessions: Arc<SessionIndex>,
    /// The approvals and their bus.
    pub approvals: Arc<Approvals>,
    /// The state directory's disk.
    pub disk: Arc<crate::disk::DiskWatch>,
    /// Becomes true when the daemon shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Starts the followers of the agent and session buses.
pub fn spawn(ctx: Sources) {
    let ctx = Arc::new(ctx);
    // Subscribed here, before the caller goes on to re-adopt agents, so no change is
    // published before someone listens.
    let agents = ctx.supervisor.bus().subscribe();
    let sessions = ctx.sessions.bus().subscribe();
    tokio::spawn(follow_agents(ctx.clone(), agents));
    tokio::spawn(follow_sessions(ctx.clone(), sessions));
    let approvals = ctx.approvals.bus().subscribe();
    tokio::spawn(follow_approvals(ctx.clone(), approvals));
    let disk = ctx.disk.subscribe();
    tokio::spawn(follow_disk(ctx.clone(), disk));
}

/// Tells `disk_full` once when the state directory's disk fills, and `disk_ok` once when
/// it has room again.
async fn follow_disk(ctx: Arc<Sources>, mut rx: watch::Receiver<crate::store::DiskState>) {
    let mut shutdown = ctx.shutdown.clone();
    let mut told_full = rx.borrow_and_update().is_full();
    if told_full {
        let message = rx.borrow().describe();
        ctx.notifier.notify(NotifyInput::Disk {
            full: true,
            message,
        });
    }
    loop {
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let disk = rx.borrow_and_update().clone();
        if disk.is_full() != told_full {
            told_full = disk.is_full();
            ctx.notifier.notify(NotifyInput::Disk {
                full: told_full,
                message: disk.describe(),
            });
        }
    }
}

/// Tells each new pending approval (an agent's over stdio, or a hand-started session's
/// through the `PermissionRequest` hook) as `approval_needed`, and an agent paused at a
/// spending cap as `budget_reached`.
async fn follow_approvals(
    ctx: Arc<Sources>,
    mut rx: broadcast::Receiver<Sequenced<crate::approvals::ApprovalEvent>>,
) {
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let change = tokio::select! {
            change = rx.recv() => change,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let approval = match change {
            Ok(change) if change.event.kind == "approval_needed" => change.event.approval,
            Ok(_) | Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        if approval.kind == crate::approvals::ApprovalKind::Budget {
            ctx.notifier.notify(NotifyInput::BudgetReached {
                agent_id: approval.agent_id.clone(),
                session_id: approval.session_id.clone(),
                project_path: approval.project_path.clone(),
                scope: approval.budget.scope.clone(),
                spent_usd: approval.budget.spent_usd,
                budget_usd: approval.budget.budget_usd,
            });
            continue;
        }
        let summary = approval.summary();
        let detail = summary
            .strip_prefix(approval.tool_name.as_str())
            .unwrap_or(&summary)
            .trim()
            .to_owned();
        ctx.notifier.notify(NotifyInput::ApprovalNeeded {
            request_id: approval.id.clone(),
            agent_id: approval.agent_id.clone(),
            session_id: approval.session_id.clone(),
            project_path: approval.project_path.clone(),
            tool: approval.tool_name.clone(),
            detail,
        });
    }
}

/// What was last seen of an agent: its state in which run.
type Seen = (AgentState, u32);

/// Tells finishes, failures and finished spawns.
async fn follow_agents(ctx: Arc<Sources>, mut rx: broadcast::Receiver<Sequenced<AgentChange>>) {
    // `rx` was subscribed before the list is read, so no change falls between the two.
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut batches_told: HashSet<String> = HashSet::new();
    let seed = |seen: &mut HashMap<String, Seen>, batches_told: &mut HashSet<String>| {
        let agents = ctx.supervisor.list();
        for agent in &agents {
            seen.insert(agent.id.clone(), (agent.state, agent.runs));
        }
        // Spawns that had ended before we looked are not news.
        for agent in &agents {
            if batch_state(&agents, &agent.batch_id).is_some() {
                batches_told.insert(agent.batch_id.clone());
            }
        }
    };
    seed(&mut seen, &mut batches_told);
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let change = tokio::select! {
            change = rx.recv() => change,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let agent = match change {
            Ok(change) if change.event.kind == AgentChange::OVERLAP => {
                if let Some(input) = overlap_input(&change.event.agent) {
                    ctx.notifier.notify(input);
                }
                continue;
            }
            Ok(change) => change.event.agent,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "notifier fell behind the agent bus; some changes are not told"
                );
                seed(&mut seen, &mut batches_told);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let now = (agent.state, agent.runs);
        let before = seen.insert(agent.id.clone(), now);
        let newly_finished = agent.state.is_finished()
            && before.is_none_or(|(state, runs)| !state.is_finished() || runs != agent.runs);
        if !newly_finished {
            continue;
        }
        if let Some(input) = finish_input(&agent) {
            ctx.notifier.notify(input);
        }
        if !agent.batch_id.is_empty() && !batches_told.contains(&agent.batch_id) {
            let agents = ctx.supervisor.list();
            if let Some((done, not_done)) = batch_state(&agents, &agent.batch_id)
                && done + not_done > 1
            {
                batches_told.insert(agent.batch_id.clone());
                ctx.notifier.notify(NotifyInput::BatchDone {
                    batch_id: agent.batch_id.clone(),
                    project_path: agent.repo.display().to_string(),
                    done,
                    not_done,
                });
            }
        }
    }
}

/// The notification for an overlap the radar found. Both agents of a pair publish the
/// event; only the one with the smaller id tells it, so a pair is told once.
fn overlap_input(agent: &AgentRecord) -> Option<NotifyInput> {
    let others: Vec<&crate::supervisor::agent::Overlap> = agent
        .overlaps
        .iter()
        .filter(|o| o.agent_id.as_str() > agent.id.as_str())
        .collect();
    if others.is_empty() {
        return None;
    }
    let mut agent_ids = vec![agent.id.clone()];
    let mut paths: Vec<String> = Vec::new();
    for overlap in others {
        agent_ids.push(overlap.agent_id.clone());
        for path in &overlap.paths {
            if !paths.contains(path) {
                paths.push(path.clone());
            }
        }
    }
    Some(NotifyInput::Overlap {
        agent_ids,
        project_path: agent.repo.display().to_string(),
        paths,
    })
}

/// (done, not done) when every agent of `batch_id` has ended, else `None`.
fn batch_state(agents: &[AgentRecord], batch_id: &str) -> Option<(usize, usize)> {
    if batch_id.is_empty() {
        return None;
    }
    let mut counts = (0, 0);
    for agent in agents.iter().filter(|a| a.batch_id == batch_id) {
        match agent.state {
            AgentState::Done => counts.0 += 1,
            state if state.is_finished() => counts.1 += 1,
            _ => return None,
        }
    }
    (counts != (0, 0)).then_some(counts)
}

/// The notification for an agent that just ended (none for a stop the user asked for).
fn finish_input(agent: &AgentRecord) -> Option<NotifyInput> {
    let project_path = agent.cwd.display().to_string();
    match agent.state {
        AgentState::Done => Some(NotifyInput::AgentDone {
            agent_id: agent.id.clone(),
            session_id: agent.session_id.clone(),
            project_path,
            batch_id: agent.batch_id.clone(),
            task: agent.task.clone(),
            cost_usd: agent.total_cost_usd,
            duration_ms: agent.duration_ms(now_ms()),
        }),
        AgentState::Failed | AgentState::Interrupted => {
            let reason = if agent.state == AgentState::Interrupted {
                agent.activity.clone()
            } else if agent.max_budget_usd > 0.0 && agent.total_cost_usd >= agent.max_budget_usd {
                format!(
                    "budget reached (${:.2} of ${:.2})",
                    agent.total_cost_usd, agent.max_budget_usd
                )
            } else if !agent.error.is_empty() {
                agent.error.clone()
            } else {
                "failed".to_owned()
            };
            Some(NotifyInput::AgentFailed {
                agent_id: agent.id.clone(),
                session_id: agent.session_id.clone(),
                project_path,
                batch_id: agent.batch_id.clone(),
                task: agent.task.clone(),
                reason,
            })
        }
        _ => None,
    }
}

/// The registry status of a session waiting for its user.
const WAITING: &str = "waiting";

/// Tells when a session the user started by hand waits for them, as the CLI's registry
/// (`~/.claude/sessions/<pid>.json`, `status: "waiting"`, `waitingFor`) says.
async fn follow_sessions(ctx: Arc<Sources>, mut rx: broadcast::Receiver<Sequenced<SessionChange>>) {
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let change = tokio::select! {
            change = rx.recv() => change,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let session = match change {
            Ok(change) => change.event.session,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        // Our own agents ask through the approvals queue, not this way.
        if !session.agent_id.is_empty() {
            continue;
        }
        match ctx.sessions.live_process(&session.session_id) {
            Some(process) if process.status == WAITING => {
                if ctx.notifier.tell_wait(&session.session_id, false) {
                    ctx.notifier.notify(NotifyInput::SessionWaiting {
                        session_id: session.session_id.clone(),
                        project_path: session.project_path.clone(),
                        waiting_for: process.waiting_for,
                    });
                }
            }
            _ => ctx.notifier.end_wait(&session.session_id),
        }
    }
}

/// Why a hook call told nothing (or `Ok` when it did).
pub type HookOutcome = Result<(), &'static str>;

/// Turns a `Notification` hook's input into a `session_waiting`, unless the wait was told.
pub fn hook(
    sessions: &SessionIndex,
    notifier: &Notifier,
    input_json: &str,
) -> Result<HookOutcome, String> {
    let input = crate::claude::hooks::Notification::parse(input_json)?;
    if !input.hook_event_name.is_empty() && input.hook_event_name != "Notification" {
        return Ok(Err("not a Notification hook"));
    }
    if input.session_id.is_empty() {
        return Err("the hook input has no session_id".to_owned());
    }
    let session = sessions.resolve(&input.session_id).ok();
    if session.as_ref().is_some_and(|s| !s.agent_id.is_empty()) {
        return Ok(Err("the session belongs to an agent"));
    }
    if !notifier.tell_wait(&input.session_id, true) {
        return Ok(Err("this wait was already told"));
    }
    let project_path = session
        .map(|s| s.project_path)
        .filter(|p| !p.is_empty())
        .unwrap_or(input.cwd);
    notifier.notify(NotifyInput::SessionWaiting {
        session_id: input.session_id,
        project_path,
        waiting_for: input.message,
    });
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, batch: &str, state: AgentState) -> AgentRecord {
        AgentRecord {
            id: id.into(),
            batch_id: batch.into(),
            state,
            task: format!("task {id}"),
            ..AgentRecord::default()
        }
    }

    #[test]
    fn a_batch_is_done_when_every_agent_of_it_ended() {
        let mut agents = vec![
            agent("a", "b", AgentState::Done),
            agent("b", "b", AgentState::Running),
            agent("c", "other", AgentState::Queued),
        ];
        assert_eq!(batch_state(&agents, "b"), None);
        agents[1].state = AgentState::Interrupted;
        assert_eq!(batch_state(&agents, "b"), Some((1, 1)));
        assert_eq!(batch_state(&agents, ""), None);
    }

    #[test]
    fn failures_say_why_and_stops_are_not_told() {
        let mut a = agent("a", "b", AgentState::Failed);
        a.max_budget_usd = 0.05;
        a.total_cost_usd = 0.06;
        a.error = "Reached maximum budget".into();
        let Some(NotifyInput::AgentFailed { reason, .. }) = finish_input(&a) else {
            panic!("a failure is told");
        };
        assert_eq!(reason, "budget reached ($0.06 of $0.05)");
        a.state = AgentState::Interrupted;
        a.activity = "interrupted: its process vanished".into();
        let Some(NotifyInput::AgentFailed { reason, .. }) = finish_input(&a) else {
            panic!("an interruption is told as a failure");
        };
        assert!(reason.starts_with("interrupted"));
        a.state = AgentState::Stopped;
        assert_eq!(finish_input(&a), None);
    }
}
