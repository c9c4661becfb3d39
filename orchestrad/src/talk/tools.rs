//! The tools of the `orchestra` MCP server. Each returns the text the model reads: Ok
//! for a result, Err for a refusal (`isError`), which always says what to do instead.

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{Caller, Talk};
use crate::approvals::{Approval, ApprovalState};
use crate::supervisor::agent::AgentRecord;

/// Longest question, in bytes.
const MAX_QUESTION: usize = 4 * 1024;
/// Most choices of a question, and the longest one.
const MAX_CHOICES: usize = 10;
const MAX_CHOICE: usize = 200;
/// Questions one agent may have pending at once.
const MAX_PENDING_QUESTIONS: usize = 3;

/// Runs tool `name` with `args` for `caller`.
pub async fn call(
    talk: &Talk,
    caller: &Caller,
    name: &str,
    args: &Value,
) -> Result<String, String> {
    match name {
        "siblings" => siblings(talk, caller),
        "send_message" => send_message(talk, caller, args).await,
        "ask_human" => ask_human(talk, caller, args).await,
        "claim" => claim(talk, caller, args, true),
        "release" => claim(talk, caller, args, false),
        other => Err(format!(
            "no tool {other:?}: the tools are siblings, send_message, ask_human, claim and release"
        )),
    }
}

/// The agents `caller` works with: its batch (for a hand-started session, every agent
/// that runs).
fn peers(talk: &Talk, caller: &Caller) -> Vec<AgentRecord> {
    let mut list: Vec<AgentRecord> = talk
        .supervisor
        .list()
        .into_iter()
        .filter(|a| match caller {
            Caller::Agent(me) => a.batch_id == me.batch_id && a.id != me.id,
            Caller::Session { .. } => a.state.is_active(),
        })
        .collect();
    list.sort_by(|a, b| a.created_at_ms.cmp(&b.created_at_ms).then(a.id.cmp(&b.id)));
    list
}

fn siblings(talk: &Talk, caller: &Caller) -> Result<String, String> {
    let list: Vec<Value> = peers(talk, caller)
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "branch": a.branch,
                "task": a.task,
                "state": a.state.as_str(),
                "files_changed": talk.supervisor.changed_paths(&a.id),
            })
        })
        .collect();
    if list.is_empty() {
        return Ok("You have no sibling agents: you are the only agent of your batch.".to_owned());
    }
    Ok(serde_json::to_string_pretty(&list).unwrap_or_default())
}

/// The agents `to` names for `caller`: "all" (its batch), an id or unique prefix, or a
/// branch.
fn recipients(talk: &Talk, caller: &Caller, to: &str) -> Result<Vec<AgentRecord>, String> {
    let to = to.trim();
    let me = caller.name();
    if to.is_empty() {
        return Err("say who the message is for: an agent id, its branch, or \"all\"".to_owned());
    }
    if to == "all" {
        let all = peers(talk, caller);
        if all.is_empty() {
            return Err("you have no sibling agents to send to".to_owned());
        }
        return Ok(all);
    }
    let peers = peers(talk, caller);
    let by_branch: Vec<AgentRecord> = peers.iter().filter(|a| a.branch == to).cloned().collect();
    let found = if let [one] = by_branch.as_slice() {
        one.clone()
    } else {
        talk.supervisor.resolve(to).map_err(|err| {
            format!("{err} (call mcp__orchestra__siblings for your siblings' ids and branches)")
        })?
    };
    if found.id == me {
        return Err("that is you: send to a sibling (see mcp__orchestra__siblings)".to_owned());
    }
    Ok(vec![found])
}

async fn send_message(talk: &Talk, caller: &Caller, args: &Value) -> Result<String, String> {
    let text = args["text"].as_str().unwrap_or_default();
    let to = recipients(talk, caller, args["to"].as_str().unwrap_or_default())?;
    let ids: Vec<String> = to.iter().map(|a| a.id.clone()).collect();
    let sent = talk
        .supervisor
        .post_message(&caller.name(), &ids, text)
        .await
        .map_err(|err| err.to_string())?;
    let lines: Vec<String> = sent
        .iter()
        .map(|m| {
            let state = to
                .iter()
                .find(|a| a.id == m.to)
                .map(|a| a.state.as_str())
                .unwrap_or("unknown");
            if m.delivered_at_ms > 0 {
                format!(
                    "sent to {} (message {}): it gets it at its next turn",
                    m.to, m.id
                )
            } else {
                format!(
                    "kept for {} (message {}): it is {state}, and gets it when it runs again",
                    m.to, m.id
                )
            }
        })
        .collect();
    Ok(lines.join("\n"))
}

async fn ask_human(talk: &Talk, caller: &Caller, args: &Value) -> Result<String, String> {
    let question = args["question"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if question.is_empty() {
        return Err("the question is empty: say what you need decided".to_owned());
    }
    if question.len() > MAX_QUESTION {
        return Err(format!(
            "the question is {} bytes, more than the {MAX_QUESTION} allowed: ask it shorter",
            question.len()
        ));
    }
    let choices: Vec<String> = match &args["choices"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|c| {
                c.as_str()
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_else(|| c.to_string())
            })
            .filter(|c| !c.is_empty())
            .collect(),
        _ => return Err("choices must be a list of strings".to_owned()),
    };
    if choices.len() > MAX_CHOICES || choices.iter().any(|c| c.len() > MAX_CHOICE) {
        return Err(format!(
            "give at most {MAX_CHOICES} choices of at most {MAX_CHOICE} bytes each"
        ));
    }
    let (agent_id, project) = match caller {
        Caller::Agent(agent) => (agent.id.clone(), agent.cwd.display().to_string()),
        Caller::Session { cwd } => (String::new(), cwd.clone()),
    };
    if !agent_id.is_empty() {
        let pending = talk
            .approvals
            .pending_of(&agent_id)
            .iter()
            .filter(|a| a.kind == crate::approvals::ApprovalKind::Question)
            .count();
        if pending >= MAX_PENDING_QUESTIONS {
            return Err(format!(
                "you already have {pending} questions waiting for the human: wait for their answers"
            ));
        }
    }
    // Subscribe before asking, so the answer cannot slip by.
    let mut events = talk.approvals.bus().subscribe();
    let asked = talk
        .supervisor
        .ask_question(&agent_id, &project, &question, choices)
        .await
        .map_err(|err| format!("could not ask: {err}"))?;
    let mut guard = CancelOnDrop {
        approvals: talk.approvals.clone(),
        id: Some(asked.id.clone()),
    };
    let resolved = loop {
        match events.recv().await {
            Ok(event) if event.event.approval.id == asked.id => {
                if event.event.approval.state != ApprovalState::Pending {
                    break (*event.event.approval).clone();
                }
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => {
                if let Ok(now) = talk.approvals.resolve(&asked.id)
                    && now.state != ApprovalState::Pending
                {
                    break now;
                }
            }
            Err(RecvError::Closed) => return Err("orchestrad is shutting down".to_owned()),
        }
    };
    guard.id = None;
    talk.supervisor
        .question_settled(
            &agent_id,
            format!("got an answer: {}", resolved.state.as_str()),
        )
        .await;
    answer_text(&resolved)
}

/// What the model reads for a question once it is no longer pending.
fn answer_text(question: &Approval) -> Result<String, String> {
    match question.state {
        ApprovalState::Answered => Ok(question.answer.clone()),
        ApprovalState::Expired => Ok(format!(
            "expired: nobody answered in time ({})",
            question.message
        )),
        ApprovalState::Denied => Err(format!(
            "The human declined to answer: {}",
            question.message
        )),
        _ => Err(format!("The question was withdrawn: {}", question.message)),
    }
}

/// Cancels a question whose caller went away (the agent ended, its bridge died) before
/// it was answered: the MCP call's future is dropped with this guard.
struct CancelOnDrop {
    /// The approval queue.
    approvals: std::sync::Arc<crate::approvals::Approvals>,
    /// The question; None once answered.
    id: Option<String>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let approvals = self.approvals.clone();
        tokio::spawn(async move {
            let _ = approvals
                .close(
                    &id,
                    ApprovalState::Cancelled,
                    "the agent stopped waiting for the answer",
                )
                .await;
        });
    }
}

fn claim(talk: &Talk, caller: &Caller, args: &Value, take: bool) -> Result<String, String> {
    let Caller::Agent(me) = caller else {
        return Err("claims are for agents run by orchestrad; this session is not one".to_owned());
    };
    let paths: Vec<&str> = args["paths"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if paths.is_empty() {
        return Err("give the paths as a list: {\"paths\": [\"src/auth.rs\"]}".to_owned());
    }
    if paths.len() > crate::supervisor::claims::MAX_PATHS {
        return Err(format!(
            "at most {} paths per call",
            crate::supervisor::claims::MAX_PATHS
        ));
    }
    let alive = |id: &str| {
        talk.supervisor
            .peek(id, |a| a.state.is_active())
            .unwrap_or(false)
    };
    // Who else works here, once for every path claimed.
    let peers = if take {
        peers(talk, caller)
    } else {
        Vec::new()
    };
    let mut lines = Vec::new();
    let mut refused = false;
    for given in paths {
        let path = match crate::supervisor::claims::normalize(&me.cwd, given) {
            Ok(path) => path,
            Err(err) => {
                refused = true;
                lines.push(err);
                continue;
            }
        };
        if !take {
            if talk.supervisor.claims().release(&me.repo, &path, &me.id) {
                lines.push(format!("released {path}"));
            } else {
                lines.push(format!("{path}: you did not hold it"));
            }
            continue;
        }
        match talk
            .supervisor
            .claims()
            .claim(&me.repo, &path, &me.id, alive)
        {
            Ok(()) => {
                let changed_by: Vec<String> = peers
                    .iter()
                    .filter(|a| talk.supervisor.changed_paths(&a.id).contains(&path))
                    .map(|a| a.id.clone())
                    .collect();
                if changed_by.is_empty() {
                    lines.push(format!("claimed {path}"));
                } else {
                    lines.push(format!(
                        "claimed {path}; note that agent {} changed it already",
                        changed_by.join(", ")
                    ));
                }
            }
            Err(holder) => {
                refused = true;
                let branch = talk
                    .supervisor
                    .peek(&holder.agent_id, |a| a.branch.clone())
                    .unwrap_or_default();
                lines.push(format!(
                    "{path} is held by agent {} (branch {branch}) for {}: coordinate with \
                     it through mcp__orchestra__send_message",
                    holder.agent_id,
                    crate::text::human_duration(
                        (crate::time::now_ms() - holder.at_ms).max(0) as u64
                    )
                ));
            }
        }
    }
    let text = lines.join("\n");
    if refused && take && lines.iter().all(|l| !l.starts_with("claimed")) {
        Err(text)
    } else {
        Ok(text)
    }
}
