//! Approvals: a Claude Code tool call waiting for a person's yes or no.
//!
//! What is asked is an [`ApprovalKind`]: a tool call (yes or no) or an agent's question
//! (`ask_human` of the `orchestra` MCP server, answered with text); both are the same
//! record with the same queue, timeout and notifications.
//!
//! Two kinds of asker: an agent of ours, whose `can_use_tool` control request arrives
//! on its stream-json output (the shim keeps the request open and carries the answer
//! back on stdin), and a hand-started session, whose `PermissionRequest` hook runs
//! `orchestractl hook permission-request`, which asks here and blocks.
//!
//! Every approval is persisted before anyone is told about it, so a pending one survives
//! a daemon restart. The first answer wins: the change from `pending` happens under one
//! lock, and every later answer is refused with who answered and when. Changes are
//! published on the approvals bus (`approval_needed`, `approval_resolved`).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::Bus;
use crate::store::{Store, StoreError, Table};
use crate::time::now_ms;

/// Store table of approvals, keyed by approval id.
pub(crate) const TABLE: &str = "approvals";

/// Answered approvals older than this are forgotten at start-up.
const KEEP_ANSWERED_MS: i64 = 7 * 24 * 3600 * 1000;

/// Where an approval is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    /// Waiting for an answer.
    #[default]
    Pending,
    /// Allowed (once, or always).
    Allowed,
    /// Denied; the model sees the message.
    Denied,
    /// The request went away: withdrawn, the process ended, the agent was stopped.
    Cancelled,
    /// Nobody answered within `approval_timeout_s`; denied, and the model told why.
    Expired,
    /// A question was answered with text (see [`Approval::answer`]).
    Answered,
}

impl ApprovalState {
    /// The name on the wire and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Allowed => "allowed",
            ApprovalState::Denied => "denied",
            ApprovalState::Cancelled => "cancelled",
            ApprovalState::Expired => "expired",
            ApprovalState::Answered => "answered",
        }
    }
}

/// What an approval asks. One record for every kind, with the same store, bus, timeout
/// and first-answer-wins rule; only the way the answer travels differs (a tool's answer
/// goes to the process on stdin, a question's back as its MCP call's result, a budget's
/// raises the cap and resumes the agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalKind {
    /// A Claude Code tool call waiting for a yes or no.
    #[default]
    Tool,
    /// An agent's question to the human (`ask_human`), answered with text.
    Question,
    /// An agent paused at a spending cap, waiting to be let go on (raise) or stopped.
    Budget,
}

impl ApprovalKind {
    /// The name on the wire and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Tool => "tool",
            ApprovalKind::Question => "question",
            ApprovalKind::Budget => "budget",
        }
    }
}

/// A cap that was reached: what a budget approval carries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BudgetAsk {
    /// Spent in the cap's scope, USD.
    pub spent_usd: f64,
    /// The cap, USD.
    pub budget_usd: f64,
    /// `agent`, `batch` or `day`.
    pub scope: String,
}

/// What a person answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the tool this once.
    Allow,
    /// Run it, and apply the request's permission suggestions so that the same call is
    /// not asked again.
    Always,
    /// Do not run it; the model sees the message. For a question: declined.
    Deny(String),
    /// A question's answer (questions only).
    Answer(String),
}

/// One thing waiting for (or given) an answer: a tool call, a question or a budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Approval {
    /// Short unique id (8 hex digits); any unique prefix names it.
    pub id: String,
    /// What is asked: a tool call, a question or a budget.
    pub kind: ApprovalKind,
    /// For a budget approval: the cap reached and what was spent.
    pub budget: BudgetAsk,
    /// The agent that asks; empty for a hand-started session.
    pub agent_id: String,
    /// The Claude Code session that asks, when known.
    pub session_id: String,
    /// The directory it runs in.
    pub project_path: String,
    /// The tool, like `Bash` or `Write`.
    pub tool_name: String,
    /// The tool's input, as Claude Code sent it.
    pub input: Value,
    /// Claude Code's own description of the call, if any.
    pub description: String,
    /// `permission_suggestions` of the request, sent back as `updatedPermissions` on
    /// "always".
    pub suggestions: Value,
    /// The control request id to answer (agents only).
    pub request_id: String,
    /// The tool use it is about.
    pub tool_use_id: String,
    /// Where it is in its life.
    pub state: ApprovalState,
    /// Asked at, ms since the epoch.
    pub created_at_ms: i64,
    /// Answered (or cancelled, or expired) at.
    pub decided_at_ms: i64,
    /// Who answered: `cli`, a device's name, or `orchestrad` for cancels and timeouts.
    pub decided_by: String,
    /// A deny's message, or why it was cancelled or expired.
    pub message: String,
    /// Allowed with the permission suggestions applied.
    pub always: bool,
    /// An agent's answer not yet taken by its process (its shim could not be reached):
    /// set with the answer, in the same write, and cleared once the shim takes it or the
    /// agent ends, so neither a failed send nor a restart loses it.
    pub undelivered: bool,
    /// A question's text.
    pub question: String,
    /// A question's suggested answers (may be empty: any text).
    pub choices: Vec<String>,
    /// A question's answer (or `expired`).
    pub answer: String,
}

impl Approval {
    /// A short text of what is asked: `Bash rm -rf build`.
    pub fn summary(&self) -> String {
        if self.kind == ApprovalKind::Question {
            let text = self
                .question
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            return format!("Question: {text}");
        }
        if self.kind == ApprovalKind::Budget {
            return format!(
                "budget: ${:.4} spent of the {} cap ${:.4}",
                self.budget.spent_usd, self.budget.scope, self.budget.budget_usd
            );
        }
        let detail = ["command", "file_path", "path", "pattern", "url"]
            .iter()
            .find_map(|key| self.input.get(key).and_then(Value::as_str))
            .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| self.description.clone());
        format!("{} {detail}", self.tool_name).trim().to_owned()
    }

    /// The answer Claude Code expects in a `control_response` (and, for hooks, in the
    /// hook's `decision`).
    pub fn response(&self) -> Value {
        match self.state {
            ApprovalState::Allowed => {
                let mut answer =
                    serde_json::json!({"behavior": "allow", "updatedInput": self.input});
                if self.always && self.suggestions.as_array().is_some_and(|s| !s.is_empty()) {
                    answer["updatedPermissions"] = self.suggestions.clone();
                }
                answer
            }
            _ => serde_json::json!({"behavior": "deny", "message": self.message}),
        }
    }
}

/// A change published on the approvals bus.
#[derive(Debug, Clone)]
pub struct ApprovalEvent {
    /// `approval_needed` (a new pending approval) or `approval_resolved` (answered,
    /// cancelled or expired).
    pub kind: &'static str,
    /// The approval after the change.
    pub approval: Arc<Approval>,
}

/// Errors of approval operations; each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// No approval has this id or prefix.
    #[error("no approval matches {0:?}: list them with `orchestractl approvals --all`")]
    NotFound(String),
    /// Several approvals share this prefix.
    #[error("{0:?} matches several approvals ({1}): give more characters")]
    Ambiguous(String, String),
    /// Someone answered first (or it was cancelled or expired).
    #[error("already answered ({0})")]
    AlreadyAnswered(String),
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every approval, persisted, with the bus that announces changes.
#[derive(Debug)]
pub struct Approvals {
    /// Every approval kept, by id.
    all: Mutex<HashMap<String, Approval>>,
    /// Persistence.
    table: Table,
    /// For flushing new approvals and answers before they are reported.
    store: Store,
    /// Approvals whose answer is being written: a second answer meanwhile is refused.
    deciding: Mutex<std::collections::HashSet<String>>,
    /// Where changes are published.
    bus: Bus<ApprovalEvent>,
}

impl Approvals {
    /// Loads the approvals: answered ones older than a week are dropped, and pending hook
    /// approvals are cancelled (the hook that asked lost its connection with the old daemon
    /// and has fallen back to Claude Code's own prompt).
    pub fn load(store: &Store) -> Result<Approvals, StoreError> {
        let table = store.table(TABLE)?;
        let now = now_ms();
        let mut all = HashMap::new();
        for (id, mut approval) in table.all::<Approval>()? {
            if approval.state != ApprovalState::Pending
                && now - approval.decided_at_ms > KEEP_ANSWERED_MS
            {
                table.remove(&id)?;
                continue;
            }
            // A hook's caller, and an agent's question's MCP call, both went with the old
            // daemon's connections; nobody waits for their answer any more.
            let gone = if approval.kind == ApprovalKind::Question {
                Some("the daemon restarted while the agent asked; a running agent asks again")
            } else if approval.agent_id.is_empty() {
                Some("the daemon restarted while the hook waited")
            } else {
                None
            };
            if approval.state == ApprovalState::Pending
                && let Some(reason) = gone
            {
                resolve(
                    &mut approval,
                    ApprovalState::Cancelled,
                    "orchestrad",
                    reason,
                );
                table.put(&id, &approval)?;
            }
            all.insert(id, approval);
        }
        Ok(Approvals {
            all: Mutex::new(all),
            table,
            store: store.clone(),
            deciding: Mutex::default(),
            bus: Bus::new(),
        })
    }

    /// The bus of approval changes.
    pub fn bus(&self) -> &Bus<ApprovalEvent> {
        &self.bus
    }

    /// Pending approvals (or every approval kept, with `all`), oldest first.
    pub fn list(&self, all: bool) -> Vec<Approval> {
        let mut list: Vec<Approval> = self
            .all
            .lock()
            .values()
            .filter(|a| all || a.state == ApprovalState::Pending)
            .cloned()
            .collect();
        list.sort_by(|a, b| a.created_at_ms.cmp(&b.created_at_ms).then(a.id.cmp(&b.id)));
        list
    }

    /// Pending approvals of agent `agent_id`, oldest first.
    pub fn pending_of(&self, agent_id: &str) -> Vec<Approval> {
        let mut list: Vec<Approval> = self
            .all
            .lock()
            .values()
            .filter(|a| a.state == ApprovalState::Pending && a.agent_id == agent_id)
            .cloned()
            .collect();
        list.sort_by_key(|a| a.created_at_ms);
        list
    }

    /// The approval with this id, or the only one whose id starts with it.
    pub fn resolve(&self, id: &str) -> Result<Approval, ApprovalError> {
        let all = self.all.lock();
        find(&all, id).cloned()
    }

    /// Records a new pending approval (flushed to disk), then announces it. An agent's
    /// request already recorded (the same control request read again after a restart)
    /// is returned as it is.
    pub async fn add(&self, mut approval: Approval) -> Result<Approval, ApprovalError> {
        {
            let all = self.all.lock();
            if !approval.request_id.is_empty()
                && let Some(existing) = all.values().find(|a| {
                    a.agent_id == approval.agent_id && a.request_id == approval.request_id
                })
            {
                return Ok(existing.clone());
            }
            approval.id = loop {
                let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
                if !all.contains_key(&id) {
                    break id;
                }
            };
        }
        approval.state = ApprovalState::Pending;
        if approval.created_at_ms == 0 {
            approval.created_at_ms = now_ms();
        }
        // The request was made whatever the disk says: queued when the store cannot
        // take it now, so the person can still see it and answer.
        self.table.put_or_queue(&approval.id, &approval)?;
        self.store.flush_or_queue().await?;
        self.all
            .lock()
            .insert(approval.id.clone(), approval.clone());
        tracing::info!(approval = %approval.id, agent = %approval.agent_id, what = %approval.summary(), "approval needed");
        self.bus.publish(ApprovalEvent {
            kind: "approval_needed",
            approval: Arc::new(approval.clone()),
        });
        Ok(approval)
    }

    /// Answers approval `id` (or a unique prefix). The first answer wins; a later one
    /// fails with who answered and when. Flushed before it is announced.
    pub async fn decide(
        &self,
        id: &str,
        decision: Decision,
        decided_by: &str,
    ) -> Result<Approval, ApprovalError> {
        let kind = self.resolve(id)?.kind;
        let mut answer = String::new();
        let (state, message, always) = match decision {
            Decision::Allow | Decision::Always if kind == ApprovalKind::Question => {
                return Err(ApprovalError::Invalid(format!(
                    "{id} is a question, not a tool call: answer it with \
                     `orchestractl answer {id} TEXT` (or decline with `orchestractl deny {id}`)"
                )));
            }
            Decision::Answer(_) if kind != ApprovalKind::Question => {
                return Err(ApprovalError::Invalid(format!(
                    "{id} is a tool call, not a question: answer it with \
                     `orchestractl approve {id}` or `orchestractl deny {id}`"
                )));
            }
            Decision::Answer(text) => {
                if text.trim().is_empty() {
                    return Err(ApprovalError::Invalid(
                        "the answer is empty: give the text the agent should get".to_owned(),
                    ));
                }
                answer = text;
                (ApprovalState::Answered, String::new(), false)
            }
            Decision::Allow => (ApprovalState::Allowed, String::new(), false),
            Decision::Always => (ApprovalState::Allowed, String::new(), true),
            Decision::Deny(message) => {
                let message = if message.trim().is_empty() && kind == ApprovalKind::Question {
                    format!("no reason given (declined by {decided_by}); decide yourself")
                } else if message.trim().is_empty() {
                    format!(
                        "The user denied this tool call (answered by {decided_by} through claude-orchestra)."
                    )
                } else {
                    message
                };
                (ApprovalState::Denied, message, false)
            }
        };
        self.transition(id, true, |approval| {
            resolve(approval, state, decided_by, &message);
            approval.always = always;
            approval.answer = answer;
        })
        .await
    }

    /// Resolves a pending approval as `cancelled` (or `expired`) with `reason`; an
    /// approval already answered stays as it is.
    pub async fn close(
        &self,
        id: &str,
        state: ApprovalState,
        reason: &str,
    ) -> Result<Approval, ApprovalError> {
        self.transition(id, false, |approval| {
            resolve(approval, state, "orchestrad", reason)
        })
        .await
    }

    /// Cancels every pending approval of `agent_id` (it ended or was stopped). Returns
    /// those cancelled.
    pub async fn cancel_agent(&self, agent_id: &str, reason: &str) -> Vec<Approval> {
        let mut cancelled = Vec::new();
        for approval in self.pending_of(agent_id) {
            if let Ok(done) = self
                .close(&approval.id, ApprovalState::Cancelled, reason)
                .await
            {
                cancelled.push(done);
            }
        }
        cancelled
    }

    /// Answers that agents have not taken yet (see [`Approval::undelivered`]).
    pub fn undelivered(&self) -> Vec<Approval> {
        self.all
            .lock()
            .values()
            .filter(|a| a.undelivered)
            .cloned()
            .collect()
    }

    /// Records that the answer of approval `id` needs no more sending: its agent took it,
    /// or ended.
    pub fn delivered(&self, id: &str) -> Result<(), ApprovalError> {
        let mut all = self.all.lock();
        let Some(approval) = all.get_mut(id) else {
            return Err(ApprovalError::NotFound(id.to_owned()));
        };
        if approval.undelivered {
            // A fact: the agent took the answer. Queued when the store cannot take it.
            let mut after = approval.clone();
            after.undelivered = false;
            self.table.put_or_queue(&after.id, &after)?;
            *approval = after;
        }
        Ok(())
    }

    /// The pending approval of `agent_id` for control request `request_id`, if any.
    pub fn by_request(&self, agent_id: &str, request_id: &str) -> Option<Approval> {
        self.all
            .lock()
            .values()
            .find(|a| a.agent_id == agent_id && a.request_id == request_id)
            .cloned()
    }

    /// Moves a pending approval on with `change`. A person's answer (`strict`) is on
    /// disk before memory changes and anyone is told; if the store cannot take it the
    /// answer fails with the reason and the approval stays pending. A fact the daemon
    /// observed (the process ended, the time ran out) is not undone by a full disk: it is
    /// queued for the store's recovery.
    async fn transition(
        &self,
        id: &str,
        strict: bool,
        change: impl FnOnce(&mut Approval),
    ) -> Result<Approval, ApprovalError> {
        let (before, after) = {
            let all = self.all.lock();
            let approval = find(&all, id)?;
            if approval.state != ApprovalState::Pending {
                return Err(ApprovalError::AlreadyAnswered(answered_by(approval)));
            }
            let mut deciding = self.deciding.lock();
            if deciding.contains(&approval.id) {
                return Err(ApprovalError::AlreadyAnswered(
                    "another answer is being recorded just now".to_owned(),
                ));
            }
            let mut after = approval.clone();
            change(&mut after);
            // Written while the lock is held, so no later answer can be persisted first.
            if strict {
                self.table.put(&after.id, &after)?;
            } else {
                self.table.put_or_queue(&after.id, &after)?;
            }
            deciding.insert(after.id.clone());
            (approval.clone(), after)
        };
        let flushed = self.store.flush().await;
        self.deciding.lock().remove(&after.id);
        if let Err(err) = flushed
            && (strict || !err.is_unavailable())
        {
            // What the store must end up with is what memory still says.
            self.table.queue_put(&before.id, &before);
            return Err(err.into());
        }
        self.all.lock().insert(after.id.clone(), after.clone());
        tracing::info!(approval = %after.id, state = after.state.as_str(), by = %after.decided_by, "approval resolved");
        self.bus.publish(ApprovalEvent {
            kind: "approval_resolved",
            approval: Arc::new(after.clone()),
        });
        Ok(after)
    }
}

fn resolve(approval: &mut Approval, state: ApprovalState, by: &str, message: &str) {
    // An agent's process waits for every answer to a tool call but a cancel (its request
    // went away). A question's answer travels back as the MCP call's result, not through
    // the shim, and a budget's answer is acted on by the daemon itself.
    approval.undelivered = !approval.agent_id.is_empty()
        && approval.kind == ApprovalKind::Tool
        && state != ApprovalState::Cancelled;
    if approval.kind == ApprovalKind::Question && state == ApprovalState::Expired {
        approval.answer = "expired".to_owned();
    }
    approval.state = state;
    approval.decided_at_ms = now_ms();
    approval.decided_by = by.to_owned();
    approval.message = message.to_owned();
}

fn find<'a>(all: &'a HashMap<String, Approval>, id: &str) -> Result<&'a Approval, ApprovalError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(ApprovalError::Invalid(
            "name an approval: see `orchestractl approvals`".to_owned(),
        ));
    }
    if let Some(approval) = all.get(id) {
        return Ok(approval);
    }
    let matches: Vec<&Approval> = all.values().filter(|a| a.id.starts_with(id)).collect();
    match matches.as_slice() {
        [] => Err(ApprovalError::NotFound(id.to_owned())),
        [one] => Ok(one),
        many => Err(ApprovalError::Ambiguous(
            id.to_owned(),
            many.iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// "allowed by cli at 14:03:07" and the like, for the error a late answer gets.
fn answered_by(approval: &Approval) -> String {
    let at = chrono::DateTime::from_timestamp_millis(approval.decided_at_ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default();
    format!(
        "{} by {} at {at}",
        approval.state.as_str(),
        approval.decided_by
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_answer_wins_and_survives_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let approvals = Approvals::load(&store).expect("load");
        let asked = approvals
            .add(Approval {
                agent_id: "a1".into(),
                request_id: "r1".into(),
                tool_name: "Bash".into(),
                input: serde_json::json!({"command": "rm -rf build"}),
                ..Approval::default()
            })
            .await
            .expect("add");
        assert_eq!(asked.summary(), "Bash rm -rf build");
        let again = approvals
            .add(Approval {
                agent_id: "a1".into(),
                request_id: "r1".into(),
                ..Approval::default()
            })
            .await
            .expect("add again");
        assert_eq!(again.id, asked.id, "the same request is one approval");
        let won = approvals
            .decide(&asked.id[..4], Decision::Allow, "cli")
            .await
            .expect("first");
        assert_eq!(won.state, ApprovalState::Allowed);
        let late = approvals
            .decide(&asked.id, Decision::Deny(String::new()), "phone")
            .await
            .expect_err("second");
        assert!(
            late.to_string()
                .starts_with("already answered (allowed by cli at "),
            "{late}"
        );
        drop(approvals);
        let reloaded = Approvals::load(&store).expect("reload");
        assert_eq!(
            reloaded.resolve(&asked.id).expect("kept").state,
            ApprovalState::Allowed
        );
    }
}
